/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Exit codes, secret input, unlocking, progress and output helpers shared by all subcommands. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_verbose;
int cli_quiet;

int cli_exit_code(int e)
{
	switch (e) {
	case BD_OK: return EXIT_OK;
	case BD_ERR_NOT_BITLOCKER: return EXIT_NOT_BITLOCKER;
	case BD_ERR_WRONG_KEY: return EXIT_WRONG_KEY;
	case BD_ERR_CORRUPT: return EXIT_CORRUPT;
	case BD_ERR_IO: return EXIT_IO;
	case BD_ERR_TRUNCATED: return EXIT_TRUNCATED;
	case BD_ERR_UNSUPPORTED: return EXIT_UNSUPPORTED;
	case BD_ERR_NO_PROTECTOR: return EXIT_NO_PROTECTOR;
	case BD_ERR_INVALID: return EXIT_BAD_SECRET;
	case BD_ERR_LOCKED: case BD_ERR_READONLY: case BD_ERR_EXISTS: case BD_ERR_STATE:
		return EXIT_REFUSED;
	case BD_ERR_INTERRUPTED: return EXIT_INTERRUPTED;
	}
	return EXIT_FAILURE_OTHER;
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bdkit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	if (cli_quiet)
		return;
	fputs("bdkit: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_fail(int code, const char *what)
{
	const char *msg = bd_last_error();

	if (!msg || !*msg)
		msg = bd_strerror(code);
	/* "x: x is not BitLocker": the library's message often names the path already */
	if (what && !strncmp(msg, what, strlen(what)) && (msg[strlen(what)] == ' ' || msg[strlen(what)] == ':'))
		what = NULL;
	if (what)
		cli_error("%s: %s", what, msg);
	else
		cli_error("%s", msg);
	return cli_exit_code(code);
}

/* ---- secrets ---- */

const char cli_unlock_help[] =
	"Unlocking (with none given: the clear key of a suspended volume, else a no-echo prompt,\n"
	"else one line from stdin; a recovery password and a password are told apart by shape):\n"
	"      --recovery-password-file FILE  48-digit recovery password from FILE ('-' = stdin), also\n"
	"                               Windows' \"BitLocker Recovery Key <ID>.TXT\" (its ID is checked)\n"
	"      --password-file FILE     user password from FILE ('-' = stdin), UTF-8\n"
	"      --bek FILE               startup/recovery key file (.BEK)\n"
	"      --bek-dir DIR            the .BEK file named after one of the volume's key protectors\n"
	"      --fvek HEX|FILE          raw full-volume encryption key (as dumped by cryptsetup)\n"
	"      --vmk HEX|FILE           raw volume master key (32 bytes)\n"
	"      --clear-key              use the clear key of a suspended volume (no secret)\n"
	"      --recovery-password RP   on the command line (visible to other users: avoid)\n"
	"      --password PW            on the command line (visible to other users: avoid)\n"
	"      --no-prompt              never prompt; fail if no secret was given\n"
	"      --offset BYTES           the BitLocker volume starts here (default: detect partitions)\n";

void cli_unlock_init(struct cli_unlock *u)
{
	memset(u, 0, sizeof(*u));
	u->offset = -1;
}

static void wipe_str(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void cli_unlock_free(struct cli_unlock *u)
{
	wipe_str(&u->recovery_password);
	wipe_str(&u->password);
	wipe_str(&u->fvek);
	wipe_str(&u->vmk);
	free(u->recovery_password_file);
	free(u->password_file);
	free(u->bek);
	free(u->bek_dir);
	u->recovery_password_file = u->password_file = u->bek = u->bek_dir = NULL;
}

int cli_unlock_option(struct cli_unlock *u, int opt, const char *arg)
{
	char **slot = NULL;

	switch (opt) {
	case OPT_RECOVERY_PASSWORD: slot = &u->recovery_password; break;
	case OPT_RECOVERY_PASSWORD_FILE: slot = &u->recovery_password_file; break;
	case OPT_PASSWORD: slot = &u->password; break;
	case OPT_PASSWORD_FILE: slot = &u->password_file; break;
	case OPT_BEK: slot = &u->bek; break;
	case OPT_BEK_DIR: slot = &u->bek_dir; break;
	case OPT_FVEK: slot = &u->fvek; break;
	case OPT_VMK: slot = &u->vmk; break;
	case OPT_CLEAR_KEY: u->clear_key = true; return 1;
	case OPT_NO_PROMPT: u->no_prompt = true; return 1;
	case OPT_OFFSET: {
		uint64_t off;
		if (cli_parse_size(arg, &off)) {
			cli_error("--offset: '%s' is not a byte count", arg);
			return -1;
		}
		u->offset = (int64_t)off;
		return 1;
	}
	default:
		return 0;
	}
	if (opt == OPT_RECOVERY_PASSWORD || opt == OPT_PASSWORD)
		cli_warn("a secret on the command line is visible to other users (ps, shell history); "
			 "prefer --%s-file or the prompt", opt == OPT_PASSWORD ? "password" : "recovery-password");
	free(*slot);
	*slot = strdup(arg);
	return 1;
}

int cli_unlock_getopt(struct cli_unlock *u, int opt, const char *arg, void (*usage)(FILE *))
{
	int r = cli_unlock_option(u, opt, arg);

	if (r == 1)
		return 0;
	if (r == 0)
		usage(stderr);
	cli_unlock_free(u);
	return EXIT_USAGE;
}

int cli_usage_error(struct cli_unlock *u, void (*usage)(FILE *))
{
	usage(stderr);
	cli_unlock_free(u);
	return EXIT_USAGE;
}

static char *read_secret(const char *path, size_t *len, bool strip_nl, bool whole);

char *cli_read_secret_file(const char *path, size_t *len, bool strip_nl)
{
	return read_secret(path, len, strip_nl, false);
}

static char *read_secret(const char *path, size_t *len, bool strip_nl, bool whole)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	size_t cap = 4096, n = 0;
	char *buf;

	if (fd < 0) {
		cli_error("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = calloc(1, cap + 1);
	if (!buf)
		goto fail;
	mlock(buf, cap + 1);
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_error("cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			cli_error("%s is larger than %zu bytes; not a key or password file", path, cap);
			goto fail;
		}
		/* stdin: one line is enough (a whole key file when asked, unless typed on a terminal) */
		if (fd == 0 && memchr(buf, '\n', n) && (!whole || isatty(0)))
			break;
	}
	if (fd)
		close(fd);
	if (strip_nl) {
		char *nl = memchr(buf, '\n', n);
		if (nl && fd == 0)
			n = (size_t)(nl - buf);
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			n--;
	}
	buf[n] = 0;
	*len = n;
	return buf;
fail:
	if (fd > 0)
		close(fd);
	if (buf)
		cli_secret_free(buf, cap);
	return NULL;
}

void cli_secret_free(char *s, size_t len)
{
	if (!s)
		return;
	explicit_bzero(s, len + 1);
	munlock(s, len + 1);
	free(s);
}

char *cli_prompt_secret(const char *prompt)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	struct termios old, noecho;
	char *buf;
	size_t n = 0;

	if (fd < 0)
		return NULL;
	buf = calloc(1, 1025);
	if (!buf) {
		close(fd);
		return NULL;
	}
	mlock(buf, 1025);
	if (write(fd, prompt, strlen(prompt)) < 0) { /* nothing to do */ }
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &noecho);
	}
	while (n < 1024) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r <= 0 || c == '\n' || c == '\r')
			break;
		buf[n++] = c;
	}
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) { /* ignore */ }
	close(fd);
	return buf;
}

/* Does s look like a 48-digit recovery password (dashes and spaces allowed)? */
static bool looks_like_recovery_password(const char *s)
{
	int digits = 0;

	for (; *s; s++) {
		if (isdigit((unsigned char)*s))
			digits++;
		else if (*s != '-' && *s != ' ')
			return false;
	}
	return digits == 48;
}

/* A bdkit memkeys key file: the hex of the line "LABEL [METHOD] HEX", put in place of buf. */
static bool keyfile_line(char *buf, const char *label)
{
	size_t ll = strlen(label);

	for (char *line = buf; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!strncmp(line, label, ll) && line[ll] == ' ') {
			char *h = strrchr(line, ' ') + 1;
			size_t n = strspn(h, "0123456789abcdefABCDEF");
			memmove(buf, h, n);
			buf[n] = 0;
			return true;
		}
		line = next;
	}
	return false;
}

static int hex_or_file(const char *arg, uint8_t *out, size_t max, size_t *outlen, const char *label)
{
	size_t n = strlen(arg), i;
	bool hex = n && n % 2 == 0 && n / 2 <= max;

	for (i = 0; hex && i < n; i++)
		hex = isxdigit((unsigned char)arg[i]);
	if (hex) {
		for (i = 0; i < n / 2; i++) {
			unsigned v;
			sscanf(arg + 2 * i, "%2x", &v);
			out[i] = (uint8_t)v;
		}
		*outlen = n / 2;
		return 0;
	}
	size_t len;
	char *buf = cli_read_secret_file(arg, &len, false);
	if (!buf)
		return -1;
	/* a bdkit memkeys key file, a file with hex text, or raw bytes */
	if (len >= 7 && !memcmp(buf, "# bdkit", 7)) {
		if (!keyfile_line(buf, label)) {
			cli_secret_free(buf, len);
			cli_error("%s holds no %s line (a bdkit memkeys key file with %s keys only?)", arg, label,
				  !strcmp(label, "vmk") ? "FVEK" : "VMK");
			return -1;
		}
		size_t k = strlen(buf);
		int r = k && k % 2 == 0 && k / 2 <= max ? hex_or_file(buf, out, max, outlen, label) : -1;
		cli_secret_free(buf, len);
		return r;
	}
	size_t t = len;
	while (t && isspace((unsigned char)buf[t - 1]))
		t--;
	bool texthex = t && t % 2 == 0 && t / 2 <= max;
	for (i = 0; texthex && i < t; i++)
		texthex = isxdigit((unsigned char)buf[i]);
	if (texthex) {
		buf[t] = 0;
		int r = hex_or_file(buf, out, max, outlen, label);
		cli_secret_free(buf, len);
		return r;
	}
	if (len > max) {
		cli_secret_free(buf, len);
		cli_error("%s: %zu bytes is too long for a key", arg, len);
		return -1;
	}
	memcpy(out, buf, len);
	*outlen = len;
	cli_secret_free(buf, len);
	return 0;
}

int cli_open(const char *path, const struct cli_unlock *u, bool writable, bd_volume **out)
{
	struct bd_open_opts o = { .offset = u ? u->offset : -1, .writable = writable };
	int r = bd_volume_open(path, &o, out);

	if (r)
		return cli_fail(r, path);
	return 0;
}

static void list_protectors(bd_volume *v)
{
	struct bd_info info;

	if (bd_volume_info(v, &info))
		return;
	fprintf(stderr, "Protectors on this volume:\n");
	for (size_t i = 0; i < info.n_protectors; i++) {
		struct bd_protector_info p;
		char g[37];
		if (bd_volume_protector(v, i, &p))
			continue;
		bd_guid_format(p.guid, g);
		for (char *c = g; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		fprintf(stderr, "  %-20s ID {%s}%s%s\n", p.type_name, g,
			p.type == BD_PROT_RECOVERY_PASSWORD ? "  recovery screen key ID: " : "",
			p.type == BD_PROT_RECOVERY_PASSWORD ? p.key_id : "");
	}
}

static int has_protector(bd_volume *v, uint16_t type)
{
	struct bd_info info;

	if (bd_volume_info(v, &info))
		return 0;
	for (size_t i = 0; i < info.n_protectors; i++) {
		struct bd_protector_info p;
		if (!bd_volume_protector(v, i, &p) && (p.type & 0xFF00) == type)
			return 1;
	}
	return 0;
}

static int try_typed(bd_volume *v, const char *secret)
{
	if (looks_like_recovery_password(secret))
		return bd_unlock_recovery_password(v, secret);
	return bd_unlock_password(v, secret);
}

/*
 * --recovery-password-file: Windows' recovery key file (UTF-16 or UTF-8, its identifier checked
 * against the volume's protectors), or a file holding the password alone. 0, a BD_ERR_* code, or
 * an exit code (message printed): EXIT_WRONG_KEY when the file names a protector this volume
 * lacks, EXIT_BAD_SECRET for a UTF-16 file without a password.
 */
static int unlock_recovery_key_file(bd_volume *v, const char *path, const char *text, size_t len)
{
	struct bd_recovery_key_file kf;
	struct bd_info in;
	int r = bd_recovery_key_file_parse((const uint8_t *)text, len, &kf);

	if (r) {
		/* not a key file: the password alone, as typed (the library names a bad block) */
		char *t = strndup(text, len);
		int bom = len >= 2 && (((uint8_t)text[0] == 0xFF && (uint8_t)text[1] == 0xFE) ||
				       ((uint8_t)text[0] == 0xFE && (uint8_t)text[1] == 0xFF));
		if (!t)
			return BD_ERR_NOMEM;
		size_t n = strlen(t);
		while (n && (t[n - 1] == '\n' || t[n - 1] == '\r'))
			t[--n] = 0;
		if (bom) {
			cli_error("%s: %s", path, bd_last_error());
			r = EXIT_BAD_SECRET;
		} else {
			r = bd_unlock_recovery_password(v, t);
		}
		explicit_bzero(t, n);
		free(t);
		return r;
	}
	bd_volume_info(v, &in);
	if (kf.has_key_id) {
		size_t match = 0, i;
		for (i = 0; i < in.n_protectors; i++) {
			struct bd_protector_info p;
			if (bd_volume_protector(v, i, &p))
				continue;
			if (kf.has_guid ? !memcmp(p.guid, kf.guid, 16) : !strcasecmp(p.key_id, kf.key_id))
				match++;
		}
		if (!match) {
			char g[37] = "";
			if (kf.has_guid) {
				bd_guid_format(kf.guid, g);
				for (char *c = g; *c; c++)
					*c = (char)toupper((unsigned char)*c);
			}
			cli_error("%s is the recovery key of protector %s%s%s (key ID %s), which this volume does not have: "
				  "it belongs to another volume (the recovery screen shows the key ID to look for)", path,
				  kf.has_guid ? "{" : "", kf.has_guid ? g : kf.key_id, kf.has_guid ? "}" : "...", kf.key_id);
			explicit_bzero(&kf, sizeof(kf));
			list_protectors(v);
			return EXIT_WRONG_KEY;
		}
	}
	r = bd_unlock_recovery_password(v, kf.password);
	explicit_bzero(&kf, sizeof(kf));
	return r;
}

/* --bek-dir: each external-key protector's <ID>.BEK (any case, as a FAT stick shows it). 0, a
 * BD_ERR_* code, or an exit code (> 0) after printing why. */
static int unlock_bek_dir(bd_volume *v, const char *dir)
{
	struct bd_info in;
	DIR *d;
	int r = BD_ERR_NO_PROTECTOR, files = 0, keys = 0;
	char want[64], path[4096];

	bd_volume_info(v, &in);
	d = opendir(dir);
	if (!d) {
		cli_error("cannot read the directory %s: %s", dir, strerror(errno));
		return EXIT_IO;
	}
	for (size_t i = 0; i < in.n_protectors; i++) {
		struct bd_protector_info p;
		struct dirent *e;
		char g[37];
		if (bd_volume_protector(v, i, &p) || (p.type & 0xFF00) != BD_PROT_STARTUP_KEY)
			continue;
		keys++;
		bd_guid_format(p.guid, g);
		snprintf(want, sizeof(want), "%s.BEK", g);
		rewinddir(d);
		while ((e = readdir(d))) {
			if (strcasecmp(e->d_name, want))
				continue;
			size_t len;
			char *s;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (!(s = cli_read_secret_file(path, &len, false)))
				continue;
			files++;
			r = bd_unlock_bek(v, (const uint8_t *)s, len);
			cli_secret_free(s, len);
			if (!r) {
				closedir(d);
				if (cli_verbose)
					cli_warn("unlocked with %s", path);
				return 0;
			}
		}
	}
	closedir(d);
	if (!keys) {
		cli_error("the volume has no startup or recovery key (.BEK) protector; --bek-dir cannot open it");
		list_protectors(v);
		return EXIT_NO_PROTECTOR;
	}
	if (!files) {
		cli_error("%s holds no .BEK file named after one of this volume's key protectors", dir);
		list_protectors(v);
		return EXIT_NO_PROTECTOR;
	}
	return r;
}

int cli_unlock_volume(bd_volume *v, const struct cli_unlock *u)
{
	int r = BD_ERR_NO_PROTECTOR;
	bool tried = false;
	char *s;
	size_t len;
	uint8_t key[64];
	size_t keylen;

	/* a fully decrypted volume that still carries metadata: nothing to unlock */
	struct bd_info in;
	if (!bd_volume_info(v, &in) && !in.method && in.state == 1 && in.next_state == 1 && !u->recovery_password &&
	    !u->recovery_password_file && !u->password && !u->password_file && !u->bek && !u->bek_dir && !u->fvek &&
	    !u->vmk && !u->clear_key) {
		if (!cli_quiet)
			fprintf(stderr, "bdkit: the volume is fully decrypted: no secret is needed\n");
		return EXIT_OK;
	}

#define TRY(expr) do { tried = true; r = (expr); if (r == 0) goto done; \
	if (r != BD_ERR_WRONG_KEY && r != BD_ERR_NO_PROTECTOR) goto failed; } while (0)

	if (u->recovery_password)
		TRY(bd_unlock_recovery_password(v, u->recovery_password));
	if (u->recovery_password_file) {
		if (!(s = read_secret(u->recovery_password_file, &len, false, true)))
			return EXIT_IO;
		r = unlock_recovery_key_file(v, u->recovery_password_file, s, len);
		cli_secret_free(s, len);
		if (r > 0)
			return r;
		TRY(r);
	}
	if (u->password)
		TRY(bd_unlock_password(v, u->password));
	if (u->password_file) {
		if (!(s = cli_read_secret_file(u->password_file, &len, true)))
			return EXIT_IO;
		r = bd_unlock_password(v, s);
		cli_secret_free(s, len);
		TRY(r);
	}
	if (u->bek) {
		if (!(s = cli_read_secret_file(u->bek, &len, false)))
			return EXIT_IO;
		r = bd_unlock_bek(v, (const uint8_t *)s, len);
		cli_secret_free(s, len);
		TRY(r);
	}
	if (u->bek_dir) {
		tried = true;
		r = unlock_bek_dir(v, u->bek_dir);
		if (r == 0)
			goto done;
		if (r > 0)
			return r;
		if (r != BD_ERR_WRONG_KEY && r != BD_ERR_NO_PROTECTOR)
			goto failed;
	}
	if (u->fvek) {
		if (hex_or_file(u->fvek, key, sizeof(key), &keylen, "fvek"))
			return EXIT_BAD_SECRET;
		r = bd_unlock_fvek(v, key, keylen);
		explicit_bzero(key, sizeof(key));
		TRY(r);
	}
	if (u->vmk) {
		if (hex_or_file(u->vmk, key, sizeof(key), &keylen, "vmk"))
			return EXIT_BAD_SECRET;
		r = bd_unlock_vmk(v, key, keylen);
		explicit_bzero(key, sizeof(key));
		TRY(r);
	}
	if (u->clear_key || (!tried && has_protector(v, BD_PROT_CLEAR_KEY)))
		TRY(bd_unlock_clear_key(v));
	if (!tried && !u->no_prompt) {
		s = isatty(0) ? cli_prompt_secret("Recovery password or password: ") : NULL;
		if (s) {
			len = strlen(s);
		} else if (!isatty(0)) {
			s = cli_read_secret_file("-", &len, true);
		}
		if (s && *s) {
			r = try_typed(v, s);
			cli_secret_free(s, len);
			TRY(r);
		} else if (s) {
			cli_secret_free(s, len);
		}
	}
	if (!tried) {
		cli_error("no secret given: use --recovery-password-file, --password-file, --bek, --fvek, "
			  "or pipe the recovery password on stdin");
		list_protectors(v);
		return EXIT_NO_PROTECTOR;
	}
failed:
	cli_fail(r, "unlock failed");
	if (r == BD_ERR_WRONG_KEY || r == BD_ERR_NO_PROTECTOR)
		list_protectors(v);
	return cli_exit_code(r);
done:
	return EXIT_OK;
#undef TRY
}

/* ---- progress ---- */

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_start(struct cli_progress *p, const char *label, uint64_t total)
{
	p->total = total;
	p->start = p->last = cli_now();
	p->enabled = !cli_quiet && isatty(2);
	p->label = label;
}

void cli_progress_update(struct cli_progress *p, uint64_t done)
{
	double now = cli_now(), el, rate;
	char a[32], b[32];

	if (!p->enabled || now - p->last < 0.2)
		return;
	p->last = now;
	el = now - p->start;
	rate = el > 0 ? (double)done / el : 0;
	cli_human_size(done, a, sizeof(a));
	cli_human_size((uint64_t)rate, b, sizeof(b));
	int pct = p->total ? (int)(100.0 * (double)done / (double)p->total) : 0;
	double eta = rate > 0 ? (double)(p->total - done) / rate : 0;
	int bar = pct / 5;
	fprintf(stderr, "\r%s [%.*s%*s] %3d%% %s %s/s ETA %d:%02d ", p->label ? p->label : "",
		bar, "####################", 20 - bar, "", pct, a, b, (int)eta / 60, (int)eta % 60);
}

void cli_progress_done(struct cli_progress *p, uint64_t done)
{
	char a[32], b[32];
	double el = cli_now() - p->start;

	if (!p->enabled)
		return;
	cli_human_size(done, a, sizeof(a));
	cli_human_size(el > 0 ? (uint64_t)((double)done / el) : 0, b, sizeof(b));
	fprintf(stderr, "\r%s done: %s in %.1f s (%s/s)%*s\n", p->label ? p->label : "", a, el, b, 20, "");
}

/* ---- output ---- */

void cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void cli_human_size(uint64_t bytes, char *out, size_t outlen)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(out, outlen, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

int cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 0: break;
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	case 'T': v <<= 40; end++; break;
	case 'S': v <<= 9; end++; break; /* 512-byte sectors */
	default: return -1;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* A protector named by "{GUID}", a GUID, its 8-digit key ID or its number in 'bdkit protector list'. */
int cli_find_protector(bd_volume *v, const char *text, size_t *index)
{
	struct bd_info in;
	uint8_t g[16];
	size_t n = strlen(text), hits = 0;

	bd_volume_info(v, &in);
	if (n && n <= 3 && strspn(text, "0123456789") == n) {
		size_t k = (size_t)atoi(text);
		if (k < 1 || k > in.n_protectors) {
			cli_error("there is no protector number %s (the volume has %zu)", text, in.n_protectors);
			return EXIT_USAGE;
		}
		*index = k - 1;
		return 0;
	}
	if (!bd_guid_parse(text, g)) {
		if (bd_protector_find(v, g, index)) {
			cli_error("the volume has no protector %s (see 'bdkit protector list')", text);
			return EXIT_USAGE;
		}
		return 0;
	}
	for (size_t i = 0; n == 8 && i < in.n_protectors; i++) {
		struct bd_protector_info p;
		if (!bd_volume_protector(v, i, &p) && !strcasecmp(p.key_id, text)) {
			*index = i;
			hits++;
		}
	}
	if (hits == 1)
		return 0;
	cli_error("'%s' names %s protector: give the full ID ({GUID}), its key ID or its number from "
		  "'bdkit protector list'", text, hits ? "more than one" : "no");
	return EXIT_USAGE;
}
