/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Exit codes, secret input, unlocking, progress and output helpers shared by all subcommands. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
	case BD_ERR_NOT_FOUND: return EXIT_NOT_FOUND;
	case BD_ERR_AUTH: return EXIT_AUTH;
	case BD_ERR_DENIED: return EXIT_DENIED;
	}
	return EXIT_FAILURE_OTHER;
}

/* Length of the UTF-8 sequence at p if it is a well-formed printable character (not a C1
 * control), else 0. */
static size_t utf8_printable(const unsigned char *p)
{
	size_t n = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 && p[0] < 0xE0 ? 2 : 0;

	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	if (n == 2 && p[0] == 0xC2 && p[1] < 0xA0)
		return 0;  /* U+0080..U+009F: C1 controls (0x9B is CSI on some terminals) */
	return n;
}

const char *cli_safe(const char *in, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	while (*s && o + 5 < outlen) {
		size_t n;
		if (*s >= 0x20 && *s < 0x7F) {
			out[o++] = (char)*s++;
		} else if (*s >= 0x80 && (n = utf8_printable(s))) {
			memcpy(out + o, s, n);
			o += n;
			s += n;
		} else {
			out[o++] = '?';  /* control character, DEL, C1 control or broken UTF-8 */
			s++;
		}
	}
	out[o] = 0;
	return out;
}

/* "bdkit: <prefix><message>": every message passes cli_safe, since it may carry text from the
 * volume (description, labels) or a server (LDAP diagnostics, Graph errors). */
static void emit_line(const char *prefix, const char *fmt, va_list ap)
{
	char msg[4096], safe[4096];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "bdkit: %s%s\n", prefix, cli_safe(msg, safe, sizeof(safe)));
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit_line("", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	if (cli_quiet)
		return;
	va_start(ap, fmt);
	emit_line("warning: ", fmt, ap);
	va_end(ap);
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
	"      --fvek-file FILE         raw full-volume encryption key (hex text or raw bytes, as\n"
	"                               cryptsetup dumps it, or a bdkit memkeys key file)\n"
	"      --vmk-file FILE          raw volume master key (32 bytes; hex text, raw bytes, or a\n"
	"                               bdkit memkeys key file)\n"
	"      --clear-key              use the clear key of a suspended volume (no secret)\n"
	"      --private-key FILE       private key of a certificate protector (PEM or DER, PKCS#8\n"
	"                               encrypted or not, PKCS#1); its password is asked for\n"
	"      --pkcs12 FILE            the key from a PKCS#12 (.pfx/.p12) file; password asked for\n"
	"      --pkcs11 URI             the key on a smart card or token ('pkcs11:token=...;object=...');\n"
	"                               the PIN is asked for once and never retried (a card locks)\n"
	"      --pkcs11-module SO       PKCS#11 module (default: the URI's module-path, else p11-kit's)\n"
	"      --key-password-file FILE password of --private-key/--pkcs12 ('-' = stdin)\n"
	"      --pin-file FILE          PIN of the --pkcs11 token ('-' = stdin)\n"
	"      --ignore-integrity       salvage: unlock although no metadata copy passes its SHA-256\n"
	"                               check or a raw FVEK cannot be checked; the metadata's state,\n"
	"                               watermark and offsets (and the key) are then trusted as they are\n"
	"      --recovery-password RP   on the command line (visible to other users: avoid)\n"
	"      --password PW            on the command line (visible to other users: avoid)\n"
	"      --fvek HEX, --vmk HEX    on the command line (visible to other users: avoid)\n"
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
		cli_secret_free(*s, strlen(*s));
		*s = NULL;
	}
}

/* A copy of a secret in locked memory (never strdup: the heap copy would outlive its wipe). */
static char *secret_strdup(const char *arg)
{
	size_t n = strlen(arg);
	char *s = calloc(1, n + 1);

	if (s) {
		mlock(s, n + 1);
		memcpy(s, arg, n);
	}
	return s;
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
	free(u->fvek_file);
	free(u->vmk_file);
	u->recovery_password_file = u->password_file = u->bek = u->bek_dir = u->fvek_file = u->vmk_file = NULL;
	free(u->private_key);
	free(u->pkcs12);
	free(u->pkcs11);
	free(u->pkcs11_module);
	free(u->key_password_file);
	free(u->pin_file);
	u->private_key = u->pkcs12 = u->pkcs11 = u->pkcs11_module = u->key_password_file = u->pin_file = NULL;
}

bool cli_unlock_has_secret(const struct cli_unlock *u)
{
	return u->recovery_password || u->recovery_password_file || u->password || u->password_file || u->bek ||
	       u->bek_dir || u->fvek || u->fvek_file || u->vmk || u->vmk_file || u->clear_key || cli_cert_given(u);
}

/* Is the value of this option a secret itself (not the name of a file holding one)? */
static bool secret_on_command_line(int opt, const char *arg)
{
	switch (opt) {
	case OPT_RECOVERY_PASSWORD: case OPT_PASSWORD:
		return true;
	case OPT_FVEK: case OPT_VMK:  /* HEX, or (older form) a file name */
		return access(arg, F_OK) != 0;
	}
	return false;
}

int cli_unlock_option(struct cli_unlock *u, int opt, char *arg)
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
	case OPT_FVEK_FILE: slot = &u->fvek_file; break;
	case OPT_VMK: slot = &u->vmk; break;
	case OPT_VMK_FILE: slot = &u->vmk_file; break;
	case OPT_PRIVATE_KEY: slot = &u->private_key; break;
	case OPT_PKCS12: slot = &u->pkcs12; break;
	case OPT_PKCS11: slot = &u->pkcs11; break;
	case OPT_PKCS11_MODULE: slot = &u->pkcs11_module; break;
	case OPT_KEY_PASSWORD_FILE: slot = &u->key_password_file; break;
	case OPT_PIN_FILE: slot = &u->pin_file; break;
	case OPT_CLEAR_KEY: u->clear_key = true; return 1;
	case OPT_NO_PROMPT: u->no_prompt = true; return 1;
	case OPT_IGNORE_INTEGRITY: u->ignore_integrity = true; return 1;
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
	bool secret = secret_on_command_line(opt, arg);
	if (secret)
		cli_warn("a secret on the command line is visible to other users (ps, shell history); "
			 "prefer --%s-file%s", opt == OPT_PASSWORD ? "password" : opt == OPT_FVEK ? "fvek" :
			 opt == OPT_VMK ? "vmk" : "recovery-password",
			 opt == OPT_FVEK || opt == OPT_VMK ? "" : " or the prompt");
	if (*slot && (opt == OPT_RECOVERY_PASSWORD || opt == OPT_PASSWORD || opt == OPT_FVEK || opt == OPT_VMK))
		wipe_str(slot);
	free(*slot);
	*slot = opt == OPT_RECOVERY_PASSWORD || opt == OPT_PASSWORD || opt == OPT_FVEK || opt == OPT_VMK ?
		secret_strdup(arg) : strdup(arg);
	/* gone from ps and /proc/PID/cmdline from now on (the process keeps its own copy) */
	if (secret)
		explicit_bzero(arg, strlen(arg));
	if (!*slot) {
		cli_error("out of memory");
		return -1;
	}
	return 1;
}

int cli_unlock_getopt(struct cli_unlock *u, int opt, char *arg, void (*usage)(FILE *))
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

static int read_secret(const char *path, bool strip_nl, bool whole, char **out, size_t *len);

int cli_read_secret(const char *path, bool strip_nl, char **out, size_t *len)
{
	return read_secret(path, strip_nl, false, out, len);
}

/* whole: read stdin to its end (a key file piped in), not just one line (unless typed on a terminal) */
static int read_secret(const char *path, bool strip_nl, bool whole, char **out, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0, rc = EXIT_IO;
	size_t cap = 4096, n = 0;
	char *buf;

	*out = NULL;
	if (fd < 0) {
		cli_error("cannot open %s: %s", path, strerror(errno));
		return EXIT_IO;
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
			rc = EXIT_BAD_SECRET;
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
	*out = buf;
	return 0;
fail:
	if (fd > 0)
		close(fd);
	if (buf)
		cli_secret_free(buf, cap);
	return rc;
}

char *cli_read_secret_file(const char *path, size_t *len, bool strip_nl)
{
	char *s;

	return cli_read_secret(path, strip_nl, &s, len) ? NULL : s;
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

/* A raw key: hex text (file_only: never), else the name of a file holding hex text, raw bytes or
 * (label "fvek"/"vmk") a bdkit memkeys key file. 0 or an exit code (message printed). */
static int read_key(const char *arg, bool file_only, uint8_t *out, size_t max, size_t *outlen, const char *label)
{
	size_t n = strlen(arg), i;
	bool hex = !file_only && n && n % 2 == 0 && n / 2 <= max;

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
	char *buf;
	int rc = cli_read_secret(arg, false, &buf, &len);
	if (rc)
		return rc;
	/* a bdkit memkeys key file, a file with hex text, or raw bytes */
	if (len >= 7 && !memcmp(buf, "# bdkit", 7)) {
		if (!keyfile_line(buf, label)) {
			cli_secret_free(buf, len);
			cli_error("%s holds no %s line (a bdkit memkeys key file with %s keys only?)", arg, label,
				  !strcmp(label, "vmk") ? "FVEK" : "VMK");
			return EXIT_BAD_SECRET;
		}
		size_t k = strlen(buf);
		int r = k && k % 2 == 0 && k / 2 <= max ? read_key(buf, false, out, max, outlen, label) : EXIT_BAD_SECRET;
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
		int r = read_key(buf, false, out, max, outlen, label);
		cli_secret_free(buf, len);
		return r;
	}
	if (len > max) {
		cli_secret_free(buf, len);
		cli_error("%s: %zu bytes is too long for a key", arg, len);
		return EXIT_BAD_SECRET;
	}
	memcpy(out, buf, len);
	*outlen = len;
	cli_secret_free(buf, len);
	return 0;
}

/* ---- locking a source ---- */

#define MAX_LOCKS 8
static struct { int fd; dev_t dev; ino_t ino; } locks[MAX_LOCKS];  /* fd 0 = free (never stdin's) */

int cli_lock_source(const char *path, bool exclusive)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), slot = -1;

	if (fd < 0)
		return 0;  /* opening the source itself reports the error */
	if (fstat(fd, &st)) {
		close(fd);
		return 0;
	}
	for (int i = 0; i < MAX_LOCKS; i++) {
		if (locks[i].fd > 0 && locks[i].dev == st.st_dev && locks[i].ino == st.st_ino) {
			close(fd);  /* held already (by this process) */
			fd = locks[i].fd;
			slot = i;
			break;
		}
		if (locks[i].fd <= 0 && slot < 0)
			slot = i;
	}
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
		cli_error("%s is in use%s by bdkit (a mount, an NBD export or another command that changes it); "
			  "stop that first", path, exclusive ? "" : " read-write");
		if (slot < 0 || locks[slot].fd != fd)
			close(fd);
		return EXIT_REFUSED;
	}
	if (slot >= 0 && locks[slot].fd != fd) {
		locks[slot].fd = fd;
		locks[slot].dev = st.st_dev;
		locks[slot].ino = st.st_ino;
	}
	/* with no free slot the descriptor stays open (and locked) until the process exits */
	return 0;
}

void cli_unlock_source(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return;
	for (int i = 0; i < MAX_LOCKS; i++)
		if (locks[i].fd > 0 && locks[i].dev == st.st_dev && locks[i].ino == st.st_ino) {
			close(locks[i].fd);
			locks[i].fd = 0;
		}
}

int cli_open(const char *path, const struct cli_unlock *u, bool writable, bd_volume **out)
{
	int rc;

	/* one writer at a time, and none while bdkit mounts or exports the volume */
	if (writable && (rc = cli_lock_source(path, true)))
		return rc;

	struct bd_open_opts o = BD_OPEN_OPTS_INIT(.offset = u ? u->offset : -1, .writable = writable,
				  .ignore_integrity = u && u->ignore_integrity);
	int r = bd_volume_open(path, &o, out);

	if (r)
		return cli_fail(r, path);
	return 0;
}

void cli_guid(const uint8_t g[16], char *out, bool braces)
{
	char *t = out + (braces ? 1 : 0);

	bd_guid_format(g, t);
	for (char *c = t; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	if (braces) {
		out[0] = '{';
		out[37] = '}';
		out[38] = 0;
	}
}

void cli_key_id(const uint8_t g[16], char out[9])
{
	char t[37];

	cli_guid(g, t, false);
	memcpy(out, t, 8);
	out[8] = 0;
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
		cli_guid(p.guid, g, false);
		fprintf(stderr, "  %-20s ID {%s}%s%s\n", p.type_name, g,
			p.type == BD_PROT_RECOVERY_PASSWORD ? "  recovery screen key ID: " : "",
			p.type == BD_PROT_RECOVERY_PASSWORD ? p.key_id : "");
	}
}

/* What cli_unlock_volume hands to bd_unlock, and the buffers holding it (wiped after). */
#define MAX_KEY_FILES 32
struct gathered {
	const char *rp[2], *pw[2];
	size_t n_rp, n_pw;
	struct bd_blob kf[MAX_KEY_FILES], fvek[2], vmk[2];
	size_t n_kf, n_fvek, n_vmk;
	char kf_path[MAX_KEY_FILES][4096];   /* --bek-dir: the file each key came from ("" otherwise) */
	uint8_t kf_guid[MAX_KEY_FILES][16];  /* --bek-dir: the protector it was named after */
	char *buf[MAX_KEY_FILES + 4];        /* secrets read from files (cli_secret_free) */
	size_t buflen[MAX_KEY_FILES + 4], n_buf;
	struct bd_recovery_key_file rkf;     /* a Windows recovery key file, parsed */
	uint8_t key[4][64];                  /* raw FVEKs and VMKs */
	struct bd_privkey *pk[1];            /* a certificate's private key (cert_unlock.c) */
	size_t n_pk;
};

static void gathered_free(struct gathered *g)
{
	for (size_t i = 0; i < g->n_buf; i++)
		cli_secret_free(g->buf[i], g->buflen[i]);
	for (size_t i = 0; i < g->n_pk; i++)
		bd_privkey_free(g->pk[i]);
	explicit_bzero(g, sizeof(*g));
}

static int keep(struct gathered *g, char *s, size_t len)
{
	if (g->n_buf == sizeof(g->buf) / sizeof(g->buf[0])) {
		cli_secret_free(s, len);
		cli_error("too many secrets");
		return EXIT_USAGE;
	}
	g->buf[g->n_buf] = s;
	g->buflen[g->n_buf++] = len;
	return 0;
}

/*
 * --recovery-password-file: Windows' recovery key file (UTF-16 or UTF-8, its identifier checked
 * against the volume's protectors), or a file holding the password alone (text, owned by g).
 * 0 with the password in g, or an exit code (message printed): EXIT_WRONG_KEY when the file names
 * a protector this volume lacks, EXIT_BAD_SECRET for a UTF-16 file without a password.
 */
static int recovery_key_file(bd_volume *v, const char *path, char *text, size_t len, struct gathered *g)
{
	struct bd_recovery_key_file *kf = &g->rkf;
	struct bd_info in;
	int r = bd_recovery_key_file_parse((const uint8_t *)text, len, kf);

	if (r) {
		/* not a key file: the password alone, as typed (the library names a bad block) */
		int bom = len >= 2 && (((uint8_t)text[0] == 0xFF && (uint8_t)text[1] == 0xFE) ||
				       ((uint8_t)text[0] == 0xFE && (uint8_t)text[1] == 0xFF));
		if (bom) {
			cli_error("%s: %s", path, bd_last_error());
			return EXIT_BAD_SECRET;
		}
		size_t n = strlen(text);
		while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
			text[--n] = 0;
		g->rp[g->n_rp++] = text;
		return 0;
	}
	bd_volume_info(v, &in);
	if (kf->has_key_id) {
		size_t match = 0, i;
		for (i = 0; i < in.n_protectors; i++) {
			struct bd_protector_info p;
			if (bd_volume_protector(v, i, &p))
				continue;
			if (kf->has_guid ? !memcmp(p.guid, kf->guid, 16) : !strcasecmp(p.key_id, kf->key_id))
				match++;
		}
		if (!match) {
			char gs[37] = "";
			if (kf->has_guid)
				cli_guid(kf->guid, gs, false);
			cli_error("%s is the recovery key of protector %s%s%s (key ID %s), which this volume does not have: "
				  "it belongs to another volume (the recovery screen shows the key ID to look for)", path,
				  kf->has_guid ? "{" : "", kf->has_guid ? gs : kf->key_id, kf->has_guid ? "}" : "...",
				  kf->key_id);
			list_protectors(v);
			return EXIT_WRONG_KEY;
		}
	}
	g->rp[g->n_rp++] = kf->password;
	return 0;
}

/* --bek-dir: each external-key protector's <ID>.BEK (any case, as a FAT stick shows it), read into
 * g. 0, or an exit code after printing why. */
static int bek_dir(bd_volume *v, const char *dir, struct gathered *g)
{
	struct bd_info in;
	DIR *d;
	int files = 0, keys = 0, rc;
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
		char gs[37];
		if (bd_volume_protector(v, i, &p) || bd_protector_kind(p.type) != BD_PROT_STARTUP_KEY)
			continue;
		keys++;
		bd_guid_format(p.guid, gs);
		snprintf(want, sizeof(want), "%s.BEK", gs);
		rewinddir(d);
		while ((e = readdir(d))) {
			if (strcasecmp(e->d_name, want) || g->n_kf == MAX_KEY_FILES)
				continue;
			size_t len;
			char *s;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (!(s = cli_read_secret_file(path, &len, false)))
				continue;
			if ((rc = keep(g, s, len))) {
				closedir(d);
				return rc;
			}
			files++;
			snprintf(g->kf_path[g->n_kf], sizeof(g->kf_path[0]), "%s", path);
			memcpy(g->kf_guid[g->n_kf], p.guid, 16);
			g->kf[g->n_kf++] = (struct bd_blob){ (const uint8_t *)s, len };
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
	return 0;
}

/* Read every secret the options name into g (files, key files, raw keys). 0 or an exit code. */
static int gather(bd_volume *v, const struct cli_unlock *u, struct gathered *g)
{
	char *s;
	size_t len;
	int rc;

	if (u->recovery_password)
		g->rp[g->n_rp++] = u->recovery_password;
	if (u->recovery_password_file) {
		if ((rc = read_secret(u->recovery_password_file, false, true, &s, &len)) || (rc = keep(g, s, len)))
			return rc;
		if ((rc = recovery_key_file(v, u->recovery_password_file, s, len, g)))
			return rc;
	}
	if (u->password)
		g->pw[g->n_pw++] = u->password;
	if (u->password_file) {
		if ((rc = cli_read_secret(u->password_file, true, &s, &len)) || (rc = keep(g, s, len)))
			return rc;
		g->pw[g->n_pw++] = s;
	}
	if (u->bek) {
		if ((rc = cli_read_secret(u->bek, false, &s, &len)) || (rc = keep(g, s, len)))
			return rc;
		g->kf[g->n_kf++] = (struct bd_blob){ (const uint8_t *)s, len };
	}
	if (u->bek_dir && (rc = bek_dir(v, u->bek_dir, g)))
		return rc;
	for (int k = 0; k < 4; k++) {
		const char *arg = k == 0 ? u->fvek : k == 1 ? u->fvek_file : k == 2 ? u->vmk : u->vmk_file;
		size_t keylen;
		if (!arg)
			continue;
		if ((rc = read_key(arg, k & 1, g->key[k], sizeof(g->key[k]), &keylen, k < 2 ? "fvek" : "vmk")))
			return rc;
		if (k < 2)
			g->fvek[g->n_fvek++] = (struct bd_blob){ g->key[k], keylen };
		else
			g->vmk[g->n_vmk++] = (struct bd_blob){ g->key[k], keylen };
	}
	/* the certificate kind: the key is loaded (and its PIN presented) once, here */
	if (cli_cert_given(u)) {
		if ((rc = cli_cert_load(u, &g->pk[0])))
			return rc;
		g->n_pk = 1;
	}
	return 0;
}

int cli_unlock_volume(bd_volume *v, const struct cli_unlock *u)
{
	struct gathered *g = calloc(1, sizeof(*g));
	struct bd_secrets sec = BD_SECRETS_INIT;
	struct bd_info in;
	int rc, r;

	if (!g) {
		cli_error("out of memory");
		return EXIT_IO;
	}
	mlock(g, sizeof(*g));
	if ((rc = gather(v, u, g)))
		goto out;
	sec.recovery_passwords = g->rp;
	sec.n_recovery_passwords = g->n_rp;
	sec.passwords = g->pw;
	sec.n_passwords = g->n_pw;
	sec.key_files = g->kf;
	sec.n_key_files = g->n_kf;
	sec.fveks = g->fvek;
	sec.n_fveks = g->n_fvek;
	sec.vmks = g->vmk;
	sec.n_vmks = g->n_vmk;
	sec.clear_key = u->clear_key;
	sec.private_keys = g->pk;
	sec.n_private_keys = g->n_pk;
	r = bd_unlock(v, &sec);   /* the policy (which secret, which protector, when to stop) is the library's */
	if (r == BD_ERR_NO_PROTECTOR && !cli_unlock_has_secret(u)) {
		/* no secret given and no clear key: ask for one */
		char *s = NULL;
		size_t len = 0;
		if (!u->no_prompt) {
			s = isatty(0) ? cli_prompt_secret("Recovery password or password: ") : NULL;
			if (s)
				len = strlen(s);
			else if (!isatty(0))
				s = cli_read_secret_file("-", &len, true);
		}
		if (s && *s) {
			const char *typed = s;
			struct bd_secrets t = BD_SECRETS_INIT;
			t.typed = &typed;
			t.n_typed = 1;
			r = bd_unlock(v, &t);
			cli_secret_free(s, len);
		} else {
			if (s)
				cli_secret_free(s, len);
			cli_error("no secret given: use --recovery-password-file, --password-file, --bek, --fvek-file, "
				  "or pipe the recovery password on stdin");
			list_protectors(v);
			rc = EXIT_NO_PROTECTOR;
			goto out;
		}
	}
	if (r) {
		cli_fail(r, "unlock failed");
		if (r == BD_ERR_WRONG_KEY || r == BD_ERR_NO_PROTECTOR)
			list_protectors(v);
		rc = cli_exit_code(r);
		goto out;
	}
	rc = EXIT_OK;
	if (!bd_volume_info(v, &in) && !in.unlocked && !cli_unlock_has_secret(u)) {
		/* a fully decrypted volume that still carries metadata: nothing to unlock */
		if (!cli_quiet)
			fprintf(stderr, "bdkit: the volume is fully decrypted: no secret is needed\n");
	} else if (cli_verbose && in.unlocked_with == BD_UNLOCKED_PROTECTOR) {
		/* --bek-dir: which file it was */
		for (size_t i = 0; i < g->n_kf; i++) {
			if (g->kf_path[i][0] && !memcmp(g->kf_guid[i], in.unlock_protector, 16)) {
				cli_warn("unlocked with %s", g->kf_path[i]);
				break;
			}
		}
	}
out:
	gathered_free(g);
	munlock(g, sizeof(*g));
	free(g);
	return rc;
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

/* ---- output files ---- */

int cli_output_open(struct cli_output *o, const char *path, bool force, unsigned flags)
{
	struct stat ls, st;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (!strcmp(path, "-")) {
		o->fd = 1;
		return 0;
	}
	if (!(o->path = strdup(path)))
		goto nomem;
	if (lstat(path, &ls)) {
		if (errno != ENOENT) {
			cli_error("%s: %s", path, strerror(errno));
			goto fail_io;
		}
		goto create;
	}
	/* devices: written as they are (a symlink to one, like /dev/disk/by-id/..., is followed) */
	if (!stat(path, &st) && (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))) {
		o->fd = open(path, O_WRONLY | O_CLOEXEC | (S_ISBLK(st.st_mode) ? O_EXCL : 0));
		if (o->fd < 0) {
			cli_error("cannot open %s: %s%s", path, strerror(errno),
				  errno == EBUSY ? " (mounted or in use)" : "");
			goto fail;
		}
		return 0;
	}
	if (flags & CLI_OUT_RESUME) {
		o->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (o->fd < 0 || fstat(o->fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
			cli_error("%s: not a regular file of yours (%s); refusing to continue writing it", path,
				  o->fd < 0 ? strerror(errno) : "another owner, a link or a special file");
			goto fail;
		}
		o->regular = true;
		return 0;
	}
	if (S_ISDIR(ls.st_mode)) {
		cli_error("%s is a directory", path);
		goto fail_usage;
	}
	if (!force) {
		cli_error("%s exists; use --force to replace it", path);
		cli_output_abort(o);
		return EXIT_REFUSED;
	}
	if (flags & CLI_OUT_IN_PLACE) {
		if (unlink(path)) {
			cli_error("cannot replace %s: %s", path, strerror(errno));
			goto fail;
		}
		goto create;
	}
	/* replace: a temporary beside it, renamed over it once complete */
	char *dir = strdup(path);
	if (!dir || asprintf(&o->tmp, "%s/.bdkit-XXXXXX", dirname(dir)) < 0) {
		free(dir);
		o->tmp = NULL;
		goto nomem;
	}
	free(dir);
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		cli_error("cannot create a file beside %s: %s", path, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		goto fail;
	}
	o->regular = o->created = true;
	return 0;
create:
	o->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (o->fd < 0) {
		cli_error("cannot create %s: %s", path, strerror(errno));
		goto fail;
	}
	o->regular = o->created = true;
	return 0;
nomem:
	cli_error("out of memory");
fail:
	cli_output_abort(o);
	return EXIT_FAILURE_OTHER;
fail_io:
	cli_output_abort(o);
	return EXIT_IO;
fail_usage:
	cli_output_abort(o);
	return EXIT_USAGE;
}

int cli_output_commit(struct cli_output *o)
{
	int rc = 0;

	if (o->fd > 1 && o->regular && fsync(o->fd)) {
		cli_error("writing %s failed: %s", o->path, strerror(errno));
		rc = EXIT_IO;
	}
	if (o->fd > 1 && close(o->fd) && !rc) {
		cli_error("writing %s failed: %s", o->path, strerror(errno));
		rc = EXIT_IO;
	}
	o->fd = -1;
	if (!rc && o->tmp) {
		if (rename(o->tmp, o->path)) {
			cli_error("cannot replace %s: %s", o->path, strerror(errno));
			rc = EXIT_IO;
		} else {
			free(o->tmp);
			o->tmp = NULL;
		}
	}
	cli_output_abort(o);  /* frees (and removes a temporary left by a failure) */
	return rc;
}

void cli_output_abort(struct cli_output *o)
{
	if (o->fd > 1)
		close(o->fd);
	o->fd = -1;
	if (o->tmp)
		unlink(o->tmp);  /* gone already when it was renamed */
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
}

int cli_write_all(int fd, const void *buf, size_t len, uint64_t off, bool seekable)
{
	const uint8_t *p = buf;

	errno = 0;
	while (len) {
		ssize_t n = seekable ? pwrite(fd, p, len, (off_t)off) : write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int cli_write_file(const char *path, const void *buf, size_t len, bool force)
{
	struct cli_output o;
	const uint8_t *p = buf;
	int rc = cli_output_open(&o, path, force, 0);

	if (rc)
		return rc;
	if (cli_write_all(o.fd, p, len, 0, false)) {
		cli_error("writing %s failed: %s", path, errno ? strerror(errno) : "no progress");
		cli_output_abort(&o);
		return EXIT_IO;
	}
	return cli_output_commit(&o);
}

/* ---- output ---- */

void cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7F)
			fprintf(f, "\\u%04x", c);
		else if (c == 0xC2 && p[1] >= 0x80 && p[1] < 0xA0)
			fprintf(f, "\\u%04x", *++p);  /* C1 controls escaped too: JSON often ends up on a terminal */
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

	unsigned shift = 0;

	errno = 0;
	if (*s == '-')
		return -1;  /* strtoull would wrap it */
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 0: break;
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	case 'S': shift = 9; end++; break; /* 512-byte sectors */
	default: return -1;
	}
	if (v > (ULLONG_MAX >> shift))
		return -1;  /* would overflow */
	v <<= shift;
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
			return EXIT_NOT_FOUND;
		}
		*index = k - 1;
		return 0;
	}
	if (!bd_guid_parse(text, g)) {
		if (bd_protector_find(v, g, index)) {
			cli_error("the volume has no protector %s (see 'bdkit protector list')", text);
			return EXIT_NOT_FOUND;
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
	return hits ? EXIT_USAGE : EXIT_NOT_FOUND;
}
