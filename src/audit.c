/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --audit FILE: a JSON record of one run for evidence handling (chain of custody): the tool,
 * the command (secret option values masked), the input's identity (path, size, container,
 * where the volume sits), the metadata copy and the protector used (ID and kind, never a
 * secret), the output's size and SHA-256, unreadable ranges, the outcome, and the times.
 * Written when the command ends, whatever the outcome, to a new file (mode 0600).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "audit.h"

static void iso_time(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000) % 1000);
}

static bool secret_option(const char *arg)
{
	static const char *const opts[] = { "--recovery-password", "--password", "--fvek", "--vmk" };

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		size_t n = strlen(opts[i]);
		if (!strncmp(arg, opts[i], n) && (arg[n] == 0 || arg[n] == '='))
			return true;
	}
	return false;
}

int cli_audit_open(struct cli_audit *a, const char *path, int argc, char **argv)
{
	char t[64];
	json_object *args;

	memset(a, 0, sizeof(*a));
	if (!path)
		return 0;
	/* created now, so that a run never starts when its record cannot be kept */
	a->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		cli_error("--audit %s: %s%s", path, strerror(errno), errno == EEXIST ? " (audit records are never replaced)" : "");
		return errno == EEXIST ? EXIT_REFUSED : EXIT_FAILURE_OTHER;
	}
	a->path = path;
	a->root = json_object_new_object();
	a->unreadable = json_object_new_array();
	iso_time(t, sizeof(t));
	json_object_object_add(a->root, "tool", json_object_new_string("bdkit"));
	json_object_object_add(a->root, "version", json_object_new_string(BDKIT_VERSION));
	json_object_object_add(a->root, "command", json_object_new_string(argc ? argv[0] : ""));
	args = json_object_new_array();
	for (int i = 1; i < argc; i++) {
		bool masked = false;
		if (secret_option(argv[i])) {
			/* "--password X" or "--password=X": keep the option, not its value */
			const char *eq = strchr(argv[i], '=');
			if (eq) {
				char o[64];
				snprintf(o, sizeof(o), "%.*s=(secret)", (int)(eq - argv[i]), argv[i]);
				json_object_array_add(args, json_object_new_string(o));
				continue;
			}
			/* a file name is no secret; a hex key or a password is */
			masked = i + 1 < argc && (strncmp(argv[i], "--fvek", 6) && strncmp(argv[i], "--vmk", 5) ?
						   true : access(argv[i + 1], F_OK) != 0);
			json_object_array_add(args, json_object_new_string(argv[i]));
			if (i + 1 < argc) {
				json_object_array_add(args, json_object_new_string(masked ? "(secret)" : argv[i + 1]));
				i++;
			}
			continue;
		}
		json_object_array_add(args, json_object_new_string(argv[i]));
	}
	json_object_object_add(a->root, "arguments", args);
	json_object_object_add(a->root, "start", json_object_new_string(t));
	a->t0 = cli_now();
	return 0;
}

void cli_audit_set(struct cli_audit *a, const char *key, const char *value)
{
	if (a->root && value)
		json_object_object_add(a->root, key, json_object_new_string(value));
}

void cli_audit_set_obj(struct cli_audit *a, const char *key, void *obj)
{
	if (a->root)
		json_object_object_add(a->root, key, obj);
	else
		json_object_put(obj);
}

void cli_audit_input(struct cli_audit *a, const char *path, bd_volume *v)
{
	struct bd_info in;
	struct stat st;
	char g[37];
	json_object *o;

	if (!a->root)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(path));
	if (!stat(path, &st)) {
		json_object_object_add(o, "file_size", json_object_new_int64((int64_t)st.st_size));
		json_object_object_add(o, "mtime", json_object_new_int64((int64_t)st.st_mtime));
		json_object_object_add(o, "inode", json_object_new_int64((int64_t)st.st_ino));
	}
	if (v && !bd_volume_info(v, &in)) {
		json_object_object_add(o, "container", json_object_new_string(in.container));
		json_object_object_add(o, "size", json_object_new_int64((int64_t)in.container_size));
		json_object_object_add(o, "volume_offset", json_object_new_int64((int64_t)in.offset));
		json_object_object_add(o, "where", json_object_new_string(in.where));
		bd_guid_format(in.guid, g);
		json_object_object_add(o, "volume_guid", json_object_new_string(g));
		json_object_object_add(o, "method", json_object_new_string(in.method_name));
		json_object_object_add(o, "state", json_object_new_string(in.state_name));
		json_object_object_add(o, "volume_size", json_object_new_int64((int64_t)in.volume_size));
		json_object_object_add(o, "truncated", json_object_new_boolean(in.truncated));
	}
	json_object_object_add(a->root, "input", o);
}

void cli_audit_volume(struct cli_audit *a, bd_volume *v)
{
	struct bd_info in;
	char g[37];
	json_object *m, *u;

	if (!a->root || !v || bd_volume_info(v, &in))
		return;
	m = json_object_new_object();
	json_object_object_add(m, "copy_used", json_object_new_int(in.copy_used + 1));
	json_object_object_add(m, "copy_offset", json_object_new_int64((int64_t)in.copy_offset[in.copy_used]));
	json_object_object_add(m, "hash_verified", json_object_new_boolean(in.hash_verified));
	json_object *st = json_object_new_array();
	for (int i = 0; i < 3; i++)
		json_object_array_add(st, json_object_new_string(bd_copy_status_name(in.copy_status[i])));
	json_object_object_add(m, "copies", st);
	json_object_object_add(a->root, "metadata", m);
	u = json_object_new_object();
	switch (in.unlocked_with) {
	case BD_UNLOCKED_PROTECTOR: {
		struct bd_protector_info p;
		size_t idx;
		bd_guid_format(in.unlock_protector, g);
		json_object_object_add(u, "with", json_object_new_string("protector"));
		json_object_object_add(u, "protector_id", json_object_new_string(g));
		if (!bd_protector_find(v, in.unlock_protector, &idx) && !bd_volume_protector(v, idx, &p)) {
			json_object_object_add(u, "kind", json_object_new_string(p.type_name));
			json_object_object_add(u, "key_id", json_object_new_string(p.key_id));
		}
		json_object_object_add(u, "type", json_object_new_int(in.unlock_protector_type));
		break;
	}
	case BD_UNLOCKED_VMK: json_object_object_add(u, "with", json_object_new_string("raw VMK")); break;
	case BD_UNLOCKED_FVEK: json_object_object_add(u, "with", json_object_new_string("raw FVEK")); break;
	default:
		json_object_object_add(u, "with", json_object_new_string(in.method ? "nothing (locked)" :
									   "nothing needed (decrypted volume)"));
	}
	json_object_object_add(a->root, "unlock", u);
}

void cli_audit_unreadable(struct cli_audit *a, uint64_t start, uint64_t len)
{
	json_object *r;

	if (!a->root)
		return;
	r = json_object_new_object();
	json_object_object_add(r, "offset", json_object_new_int64((int64_t)start));
	json_object_object_add(r, "length", json_object_new_int64((int64_t)len));
	json_object_array_add(a->unreadable, r);
}

void cli_audit_output(struct cli_audit *a, const char *path, uint64_t size, const uint8_t *sha256, const char *what)
{
	json_object *o;
	char hex[65];

	if (!a->root)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	if (sha256) {
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", sha256[i]);
		json_object_object_add(o, "sha256", json_object_new_string(hex));
		if (what)
			json_object_object_add(o, "sha256_of", json_object_new_string(what));
	}
	json_object_object_add(a->root, "output", o);
}

int cli_sha256_file(const char *path, uint64_t limit, uint8_t out[32], uint64_t *size)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = malloc(1u << 20);
	unsigned n = 0;
	int rc = -1;

	*size = 0;
	if (!c || fd < 0 || !buf || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		goto out;
	for (;;) {
		size_t want = 1u << 20;
		if (limit && limit - *size < want)
			want = (size_t)(limit - *size);
		if (!want)
			break;
		ssize_t r = read(fd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		EVP_DigestUpdate(c, buf, (size_t)r);
		*size += (uint64_t)r;
	}
	rc = EVP_DigestFinal_ex(c, out, &n) ? 0 : -1;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	EVP_MD_CTX_free(c);
	return rc;
}

int cli_audit_close(struct cli_audit *a, int exit_code)
{
	char t[64];
	const char *text;
	size_t len, n = 0;
	int rc = 0;

	if (!a->root)
		return 0;
	iso_time(t, sizeof(t));
	json_object_object_add(a->root, "unreadable", a->unreadable);
	json_object_object_add(a->root, "end", json_object_new_string(t));
	json_object_object_add(a->root, "seconds", json_object_new_double(cli_now() - a->t0));
	json_object_object_add(a->root, "exit_code", json_object_new_int(exit_code));
	json_object_object_add(a->root, "result", json_object_new_string(exit_code ? "failed" : "success"));
	text = json_object_to_json_string_ext(a->root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	if (cli_write_all(a->fd, text, len, 0, false))
		n = 0;
	else
		n = len;
	if (n < len || write(a->fd, "\n", 1) != 1 || fsync(a->fd) || close(a->fd)) {
		cli_error("writing the audit record %s failed: %s", a->path, strerror(errno));
		rc = EXIT_FAILURE_OTHER;
	}
	json_object_put(a->root);
	memset(a, 0, sizeof(*a));
	return rc;
}
