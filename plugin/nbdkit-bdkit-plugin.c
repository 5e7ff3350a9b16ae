/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbdkit-bdkit-plugin: export the decrypted view of a BitLocker volume over NBD.
 *
 *   nbdkit bdkit volume=DISK recovery-password-file=FILE [rw=true] [offset=BYTES]
 *
 * Read-only unless rw=true, and rw=true is refused (nbdkit does not start)
 * unless the volume is fully encrypted or fully decrypted (bd_volume_can_write).
 * Secrets are read while nbdkit parses its configuration (before it forks into
 * the background), used once in .get_ready to unlock, and wiped right after;
 * from then on only the library holds the keys, and .unload closes the volume,
 * which wipes them. Requests run in parallel (bd_volume_pread/pwrite are
 * thread-safe); all connections share one volume, so flush covers every
 * connection and multi-conn is safe.
 */
#define NBDKIT_API_VERSION 2
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <nbdkit-plugin.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bdkit.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL
#define SECRET_MAX 4096

/* A secret in locked memory. */
struct secret {
	char *data;
	size_t len;
};

static char *volume_path;
static int64_t volume_offset = -1;
static bool rw;
static bool clear_key;
static bool ignore_integrity;
static struct secret recovery_password, password, bek, fvek, vmk;
/* a certificate's private key: where it is, and the password or PIN (key_password) */
static char *private_key_path, *pkcs12_path, *pkcs11_uri, *pkcs11_module;
static struct secret key_password;
static bd_volume *vol;
static int lock_fd = -1;

static void secret_wipe(struct secret *s)
{
	if (!s->data)
		return;
	explicit_bzero(s->data, SECRET_MAX + 1);
	munlock(s->data, SECRET_MAX + 1);
	free(s->data);
	s->data = NULL;
	s->len = 0;
}

static void wipe_all(void)
{
	secret_wipe(&recovery_password);
	secret_wipe(&password);
	secret_wipe(&bek);
	secret_wipe(&fvek);
	secret_wipe(&vmk);
	secret_wipe(&key_password);
}

static int secret_alloc(struct secret *s, const char *key)
{
	if (s->data) {
		nbdkit_error("%s given twice", key);
		return -1;
	}
	s->data = calloc(1, SECRET_MAX + 1);
	if (!s->data) {
		nbdkit_error("out of memory");
		return -1;
	}
	mlock(s->data, SECRET_MAX + 1);
	return 0;
}

/* Read a secret file whole; text secrets lose their trailing newline. */
static int secret_from_file(struct secret *s, const char *key, const char *path, bool text)
{
	int fd;
	ssize_t n;

	if (secret_alloc(s, key))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		nbdkit_error("%s: cannot open %s: %m", key, path);
		return -1;
	}
	while (s->len < SECRET_MAX) {
		n = read(fd, s->data + s->len, SECRET_MAX - s->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			nbdkit_error("%s: cannot read %s: %m", key, path);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		s->len += (size_t)n;
	}
	close(fd);
	if (s->len == SECRET_MAX) {
		nbdkit_error("%s: %s is larger than %d bytes; not a key or password file", key, path,
			     SECRET_MAX);
		return -1;
	}
	if (text)
		while (s->len && (s->data[s->len - 1] == '\n' || s->data[s->len - 1] == '\r'))
			s->data[--s->len] = 0;
	return 0;
}

/* password=/recovery-password=: nbdkit's own rules (literal, "-" prompt, "+FILE", "-FD"). */
static int secret_from_nbdkit(struct secret *s, const char *key, const char *value)
{
	char *pw = NULL;

	if (secret_alloc(s, key))
		return -1;
	if (nbdkit_read_password(value, &pw) == -1)
		return -1;
	s->len = strlen(pw);
	if (s->len >= SECRET_MAX) {
		explicit_bzero(pw, s->len);
		free(pw);
		nbdkit_error("%s: too long", key);
		return -1;
	}
	memcpy(s->data, pw, s->len);
	explicit_bzero(pw, s->len);
	free(pw);
	return 0;
}

/* fvek=/vmk=: hex on the command line is visible in ps, so a FILE (hex text or raw bytes) is preferred. */
static int key_from_arg(struct secret *s, const char *key, const char *value)
{
	size_t n = strlen(value), i;
	bool hex = n && n % 2 == 0 && n <= 128;

	for (i = 0; hex && i < n; i++)
		hex = isxdigit((unsigned char)value[i]);
	if (!hex)
		return secret_from_file(s, key, value, false);
	if (secret_alloc(s, key))
		return -1;
	memcpy(s->data, value, n);
	s->len = n;
	return 0;
}

/* Turn a hex text secret into bytes in place (raw binary files are left alone). */
static int key_bytes(struct secret *s, const char *key)
{
	size_t t = s->len, i;
	bool hex;

	while (t && isspace((unsigned char)s->data[t - 1]))
		t--;
	hex = t && t % 2 == 0;
	for (i = 0; hex && i < t; i++)
		hex = isxdigit((unsigned char)s->data[i]);
	if (!hex)
		return 0;
	for (i = 0; i < t / 2; i++) {
		char pair[3] = { s->data[2 * i], s->data[2 * i + 1], 0 };
		s->data[i] = (char)strtoul(pair, NULL, 16);
		explicit_bzero(pair, sizeof(pair));
	}
	explicit_bzero(s->data + t / 2, SECRET_MAX - t / 2);
	s->len = t / 2;
	if (s->len > 64) {
		nbdkit_error("%s: %zu bytes is too long for a key", key, s->len);
		return -1;
	}
	return 0;
}

static void bdkit_log(int level, const char *msg, void *ud)
{
	(void)ud;
	if (level == BD_LOG_ERROR)
		nbdkit_error("%s", msg);
	else
		nbdkit_debug("%s", msg);
}

static void bdkit_load(void)
{
	bd_set_log(bdkit_log, NULL);
}

static void bdkit_unload(void)
{
	wipe_all();
	if (vol) {
		if (rw && bd_volume_sync(vol))
			nbdkit_error("final sync failed: %s", bd_last_error());
		bd_volume_close(vol);  /* wipes the keys */
		vol = NULL;
	}
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
	free(volume_path);
	free(private_key_path);
	free(pkcs12_path);
	free(pkcs11_uri);
	free(pkcs11_module);
	volume_path = NULL;
}

static int bdkit_config(const char *key, const char *value)
{
	if (!strcmp(key, "volume") || !strcmp(key, "file")) {
		free(volume_path);
		volume_path = nbdkit_realpath(value);
		return volume_path ? 0 : -1;
	}
	if (!strcmp(key, "recovery-password"))
		return secret_from_nbdkit(&recovery_password, key, value);
	if (!strcmp(key, "recovery-password-file"))
		return secret_from_file(&recovery_password, key, value, true);
	if (!strcmp(key, "password"))
		return secret_from_nbdkit(&password, key, value);
	if (!strcmp(key, "password-file"))
		return secret_from_file(&password, key, value, true);
	if (!strcmp(key, "bek"))
		return secret_from_file(&bek, key, value, false);
	if (!strcmp(key, "fvek"))
		return key_from_arg(&fvek, key, value);
	if (!strcmp(key, "fvek-file"))
		return secret_from_file(&fvek, key, value, false);
	if (!strcmp(key, "vmk"))
		return key_from_arg(&vmk, key, value);
	if (!strcmp(key, "vmk-file"))
		return secret_from_file(&vmk, key, value, false);
	if (!strcmp(key, "private-key") || !strcmp(key, "pkcs12") || !strcmp(key, "pkcs11") ||
	    !strcmp(key, "pkcs11-module")) {
		char **slot = !strcmp(key, "private-key") ? &private_key_path : !strcmp(key, "pkcs12") ? &pkcs12_path :
			      !strcmp(key, "pkcs11") ? &pkcs11_uri : &pkcs11_module;
		free(*slot);
		*slot = strncmp(value, "pkcs11:", 7) && strcmp(key, "pkcs11-module") ? nbdkit_realpath(value)
										       : strdup(value);
		return *slot ? 0 : -1;
	}
	if (!strcmp(key, "key-password-file") || !strcmp(key, "pin-file"))
		return secret_from_file(&key_password, key, value, true);
	if (!strcmp(key, "key-password") || !strcmp(key, "pin"))
		return secret_from_nbdkit(&key_password, key, value);
	if (!strcmp(key, "ignore-integrity")) {
		int b = nbdkit_parse_bool(value);
		if (b < 0)
			return -1;
		ignore_integrity = b;
		return 0;
	}
	if (!strcmp(key, "clear-key")) {
		int b = nbdkit_parse_bool(value);
		if (b < 0)
			return -1;
		clear_key = b;
		return 0;
	}
	if (!strcmp(key, "rw")) {
		int b = nbdkit_parse_bool(value);
		if (b < 0)
			return -1;
		rw = b;
		return 0;
	}
	if (!strcmp(key, "offset")) {
		int64_t o = nbdkit_parse_size(value);
		if (o < 0)
			return -1;
		volume_offset = o;
		return 0;
	}
	nbdkit_error("unknown parameter '%s' (see nbdkit-bdkit-plugin(1))", key);
	return -1;
}

static int bdkit_config_complete(void)
{
	if (!volume_path) {
		nbdkit_error("volume=DISK is required: the BitLocker volume, partition or whole-disk image");
		return -1;
	}
	if (!!private_key_path + !!pkcs12_path + !!pkcs11_uri > 1) {
		nbdkit_error("give one of private-key=, pkcs12= and pkcs11=");
		return -1;
	}
	/* no secret at all: bd_unlock tries the clear key of a suspended volume */
	return 0;
}

#define bdkit_config_help \
	"volume=DISK                 (required) BitLocker volume, partition or disk image\n" \
	"recovery-password-file=FILE 48-digit recovery password read from FILE\n" \
	"recovery-password=-|+FILE   ... or from the terminal ('-'), a file, or -FD\n" \
	"password-file=FILE          user password read from FILE\n" \
	"password=-|+FILE            ... or from the terminal ('-'), a file, or -FD\n" \
	"bek=FILE                    startup/recovery key file (.BEK)\n" \
	"fvek-file=FILE              raw full-volume encryption key (hex text or raw bytes)\n" \
	"vmk-file=FILE               raw volume master key (hex text or raw bytes)\n" \
	"fvek=HEX, vmk=HEX           ... on the command line (visible to other users)\n" \
	"private-key=FILE            private key of a certificate protector (PEM or DER)\n" \
	"pkcs12=FILE                 ... from a PKCS#12 (.pfx/.p12) file\n" \
	"pkcs11=URI                  ... on a smart card or token (PKCS#11 URI, RFC 7512)\n" \
	"pkcs11-module=SO            the PKCS#11 module (default: module-path, else p11-kit's)\n" \
	"key-password-file=FILE      password of the key / PKCS#12 file (pin-file=FILE: the PIN)\n" \
	"key-password=-|+FILE, pin=  ... or from the terminal ('-'), a file, or -FD; the PIN is\n" \
	"                            presented once, never retried\n" \
	"clear-key=true              use the clear key (default when no secret is given)\n" \
	"ignore-integrity=true       salvage: unlock although no metadata copy passes its\n" \
	"                            SHA-256 check or a raw FVEK cannot be checked\n" \
	"offset=BYTES                the BitLocker volume starts here (default: detect)\n" \
	"rw=true                     allow writes (fully encrypted or decrypted volumes only)"

/* Hand every secret given to the library's door (bd_unlock owns the try policy). */
static int unlock(void)
{
	struct bd_secrets sec = BD_SECRETS_INIT;
	struct bd_recovery_key_file kf;
	struct bd_blob kb = { (const uint8_t *)bek.data, bek.len }, fb, vb;
	const char *rp = recovery_password.data, *pw = password.data;
	int r;

	memset(&kf, 0, sizeof(kf));
	if (recovery_password.data) {
		/* Windows' recovery key file (UTF-16 or UTF-8, its identifier checked) or the password alone */
		size_t idx;
		if (!bd_recovery_key_file_parse((const uint8_t *)recovery_password.data, recovery_password.len, &kf)) {
			if (kf.has_guid && bd_protector_find(vol, kf.guid, &idx)) {
				nbdkit_error("the recovery key file is for protector key ID %s, which this volume does not "
					     "have: it belongs to another volume", kf.key_id);
				explicit_bzero(&kf, sizeof(kf));
				return BD_ERR_WRONG_KEY;
			}
			rp = kf.password;
		}
		sec.recovery_passwords = &rp;
		sec.n_recovery_passwords = 1;
	}
	if (password.data) {
		sec.passwords = &pw;
		sec.n_passwords = 1;
	}
	if (bek.data) {
		sec.key_files = &kb;
		sec.n_key_files = 1;
	}
	if (fvek.data) {
		if (key_bytes(&fvek, "fvek"))
			return BD_ERR_INVALID;
		fb = (struct bd_blob){ (const uint8_t *)fvek.data, fvek.len };
		sec.fveks = &fb;
		sec.n_fveks = 1;
	}
	if (vmk.data) {
		if (key_bytes(&vmk, "vmk"))
			return BD_ERR_INVALID;
		vb = (struct bd_blob){ (const uint8_t *)vmk.data, vmk.len };
		sec.vmks = &vb;
		sec.n_vmks = 1;
	}
	sec.clear_key = clear_key;
	struct bd_privkey *pk = NULL;
	if (private_key_path || pkcs12_path || pkcs11_uri) {
		/* the certificate kind: the key is loaded once (one PIN presentation, never retried) */
		const char *kpw = key_password.data;
		r = pkcs11_uri ? bd_privkey_from_pkcs11(pkcs11_uri, kpw, pkcs11_module, &pk) :
		    pkcs12_path ? bd_privkey_from_pkcs12(pkcs12_path, kpw, &pk) :
		    bd_privkey_from_file(private_key_path, kpw, &pk);
		if (r) {
			explicit_bzero(&kf, sizeof(kf));
			return r;
		}
		sec.private_keys = &pk;
		sec.n_private_keys = 1;
	}
	r = bd_unlock(vol, &sec);
	bd_privkey_free(pk);
	explicit_bzero(&kf, sizeof(kf));
	return r;
}

/* Before nbdkit forks: open and unlock, so errors reach the user and nbdkit does not start. */
static int bdkit_get_ready(void)
{
	struct bd_open_opts o = BD_OPEN_OPTS_INIT(.offset = volume_offset, .writable = rw, .ignore_integrity = ignore_integrity);
	int r;

	/* The lock `bdkit mount` takes too: one writer, or any number of readers, per volume. */
	lock_fd = open(volume_path, O_RDONLY | O_CLOEXEC);
	if (lock_fd >= 0 && flock(lock_fd, (rw ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
		nbdkit_error("%s is in use %sby bdkit (a mount or another export); stop that first", volume_path,
			     rw ? "" : "read-write ");
		wipe_all();
		return -1;
	}
	r = bd_volume_open(volume_path, &o, &vol);
	if (r) {
		nbdkit_error("%s: %s", volume_path, bd_last_error()[0] ? bd_last_error() : bd_strerror(r));
		wipe_all();
		return -1;
	}
	r = unlock();   /* a fully decrypted volume needs no secret: 0 */
	wipe_all();  /* the library holds the keys now */
	if (r) {
		nbdkit_error("unlock failed: %s", bd_last_error()[0] ? bd_last_error() : bd_strerror(r));
		return -1;
	}
	if (rw && (r = bd_volume_can_write(vol))) {
		nbdkit_error("cannot export read-write: %s (reading is still possible without rw=true)",
			     bd_last_error()[0] ? bd_last_error() : bd_strerror(r));
		return -1;
	}
	return 0;
}

static void *bdkit_open(int readonly)
{
	return vol;  /* every connection shares the one thread-safe volume */
}

static int64_t bdkit_get_size(void *handle)
{
	return (int64_t)bd_volume_size(vol);
}

static int bdkit_can_write(void *handle)
{
	return rw;
}

static int bdkit_can_flush(void *handle)
{
	return rw;
}

static int bdkit_can_fua(void *handle)
{
	return rw ? NBDKIT_FUA_EMULATE : NBDKIT_FUA_NONE;
}

static int bdkit_can_multi_conn(void *handle)
{
	return 1;
}

static int bdkit_can_cache(void *handle)
{
	return NBDKIT_CACHE_NONE;
}

static int bdkit_block_size(void *handle, uint32_t *minimum, uint32_t *preferred, uint32_t *maximum)
{
	uint32_t ss = bd_volume_sector_size(vol);

	*minimum = 1;                         /* unaligned requests work (read-modify-write) */
	*preferred = ss > 4096 ? ss : 4096;
	*maximum = 0xffffffff;
	return 0;
}

static int set_error(int code, const char *what, uint64_t offset, uint32_t count)
{
	nbdkit_error("%s of %u bytes at offset %llu failed: %s", what, count, (unsigned long long)offset,
		     bd_last_error()[0] ? bd_last_error() : bd_strerror(code));
	nbdkit_set_error(bd_errno(code));
	return -1;
}

static int bdkit_pread(void *handle, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	uint8_t *p = buf;

	while (count) {
		ssize_t n = bd_volume_pread(vol, p, count, offset);
		if (n < 0)
			return set_error((int)n, "read", offset, count);
		if (n == 0) {
			nbdkit_error("read beyond the end of the volume at %llu", (unsigned long long)offset);
			nbdkit_set_error(EIO);
			return -1;
		}
		p += n;
		offset += (uint64_t)n;
		count -= (uint32_t)n;
	}
	return 0;
}

static int bdkit_flush(void *handle, uint32_t flags)
{
	int r = bd_volume_sync(vol);

	return r ? set_error(r, "flush", 0, 0) : 0;
}

static int bdkit_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	const uint8_t *p = buf;

	while (count) {
		ssize_t n = bd_volume_pwrite(vol, p, count, offset);
		if (n <= 0)
			return set_error(n ? (int)n : BD_ERR_IO, "write", offset, count);
		p += n;
		offset += (uint64_t)n;
		count -= (uint32_t)n;
	}
	return (flags & NBDKIT_FLAG_FUA) ? bdkit_flush(handle, 0) : 0;
}

static struct nbdkit_plugin plugin = {
	.name = "bdkit",
	.longname = "bdkit BitLocker plugin",
	.version = BDKIT_VERSION,
	.description = "Export the decrypted view of a BitLocker volume (read-only unless rw=true)",
	.load = bdkit_load,
	.unload = bdkit_unload,
	.config = bdkit_config,
	.config_complete = bdkit_config_complete,
	.config_help = bdkit_config_help,
	.magic_config_key = "volume",
	.get_ready = bdkit_get_ready,
	.open = bdkit_open,
	.get_size = bdkit_get_size,
	.can_write = bdkit_can_write,
	.can_flush = bdkit_can_flush,
	.can_fua = bdkit_can_fua,
	.can_multi_conn = bdkit_can_multi_conn,
	.can_cache = bdkit_can_cache,
	.block_size = bdkit_block_size,
	.pread = bdkit_pread,
	.pwrite = bdkit_pwrite,
	.flush = bdkit_flush,
	.errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN(plugin)
