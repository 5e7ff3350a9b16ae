/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared pieces of the bdkit command: exit codes, secret options, progress, JSON output.
 * The CLI holds no format knowledge: it only calls the public API in bdkit.h. */
#ifndef BDKIT_CLI_H
#define BDKIT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bdkit.h"

/* Documented exit codes (man/bdkit.1, README). */
enum cli_exit {
	EXIT_OK = 0,
	EXIT_FAILURE_OTHER = 1,  /* anything not below (out of memory, output file errors) */
	EXIT_USAGE = 2,          /* bad command line */
	EXIT_NOT_BITLOCKER = 3,  /* the input holds no BitLocker volume */
	EXIT_WRONG_KEY = 4,      /* the secret did not unlock any protector */
	EXIT_CORRUPT = 5,        /* metadata damaged beyond use (see bdkit repair) */
	EXIT_IO = 6,             /* read or write error */
	EXIT_TRUNCATED = 7,      /* the input is shorter than the volume */
	EXIT_UNSUPPORTED = 8,    /* a feature bdkit does not implement */
	EXIT_NO_PROTECTOR = 9,   /* no protector of the kind given (or no secret and no clear key) */
	EXIT_BAD_SECRET = 10,    /* malformed secret (bad recovery password block, bad hex) */
	EXIT_REFUSED = 11,       /* refused for safety: read-only, state, target not empty */
	EXIT_INTERRUPTED = 12,
	EXIT_NOT_FOUND = 13,     /* no such object: protector ID, directory entry, computer, Graph 404 */
	EXIT_AUTH = 14,          /* authentication failed: directory bind, sign-in, token rejected */
	EXIT_DENIED = 15,        /* authenticated but not allowed (LDAP insufficient access, HTTP 403) */
};
int cli_exit_code(int bd_error);
/* Print "bdkit: <what>: <bd_last_error() or bd_strerror(code)>" to stderr; return the exit code. */
int cli_fail(int code, const char *what);
/* printf-style error line "bdkit: ..." on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Text from a volume or a server made safe for a terminal: control characters (C0, DEL, C1) and
 * broken UTF-8 become '?'. Returns out. cli_error, cli_warn and cli_fail apply it themselves. */
const char *cli_safe(const char *in, char *out, size_t outlen);
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

extern int cli_verbose;  /* -v count */
extern int cli_quiet;

/* ---- secrets and unlocking ---- */

/* Long options every unlocking subcommand accepts; append them with CLI_UNLOCK_OPTIONS. */
enum {
	OPT_RECOVERY_PASSWORD = 1000, OPT_RECOVERY_PASSWORD_FILE, OPT_PASSWORD, OPT_PASSWORD_FILE,
	OPT_BEK, OPT_FVEK, OPT_VMK, OPT_CLEAR_KEY, OPT_OFFSET, OPT_NO_PROMPT, OPT_FVEK_FILE, OPT_VMK_FILE,
	OPT_IGNORE_INTEGRITY, OPT_BEK_DIR,
	OPT_PRIVATE_KEY, OPT_PKCS12, OPT_PKCS11, OPT_PKCS11_MODULE, OPT_KEY_PASSWORD_FILE, OPT_PIN_FILE,
	OPT_CLI_LAST = 1100, /* subcommands number their own options above this */
};
#define CLI_UNLOCK_OPTIONS \
	{ "recovery-password", required_argument, 0, OPT_RECOVERY_PASSWORD }, \
	{ "recovery-password-file", required_argument, 0, OPT_RECOVERY_PASSWORD_FILE }, \
	{ "password", required_argument, 0, OPT_PASSWORD }, \
	{ "password-file", required_argument, 0, OPT_PASSWORD_FILE }, \
	{ "bek", required_argument, 0, OPT_BEK }, \
	{ "bek-dir", required_argument, 0, OPT_BEK_DIR }, \
	{ "fvek", required_argument, 0, OPT_FVEK }, \
	{ "fvek-file", required_argument, 0, OPT_FVEK_FILE }, \
	{ "vmk", required_argument, 0, OPT_VMK }, \
	{ "vmk-file", required_argument, 0, OPT_VMK_FILE }, \
	{ "clear-key", no_argument, 0, OPT_CLEAR_KEY }, \
	{ "ignore-integrity", no_argument, 0, OPT_IGNORE_INTEGRITY }, \
	{ "offset", required_argument, 0, OPT_OFFSET }, \
	{ "no-prompt", no_argument, 0, OPT_NO_PROMPT }, \
	{ "private-key", required_argument, 0, OPT_PRIVATE_KEY }, \
	{ "pkcs12", required_argument, 0, OPT_PKCS12 }, \
	{ "pkcs11", required_argument, 0, OPT_PKCS11 }, \
	{ "pkcs11-module", required_argument, 0, OPT_PKCS11_MODULE }, \
	{ "key-password-file", required_argument, 0, OPT_KEY_PASSWORD_FILE }, \
	{ "pin-file", required_argument, 0, OPT_PIN_FILE }

/* Help text for those options, for each subcommand's --help. */
extern const char cli_unlock_help[];

/* What the user gave to unlock with. Secrets given on the command line are copied here and wiped
 * from argv at once (ps, /proc/PID/cmdline); every way of reading a secret lives in common.c. */
struct cli_unlock {
	char *recovery_password;       /* from the command line (warned about) */
	char *recovery_password_file;  /* "-" = stdin */
	char *password;
	char *password_file;
	char *bek;
	char *bek_dir;                 /* directory of <protector ID>.BEK files (a USB stick) */
	char *fvek;                    /* hex (command line, warned about) or a file */
	char *fvek_file;               /* hex text or raw bytes (or a bdkit memkeys key file) */
	char *vmk;
	char *vmk_file;
	bool clear_key;
	bool no_prompt;
	bool ignore_integrity;         /* salvage: trust unverifiable metadata and raw keys (bd_open_opts) */
	int64_t offset;                /* -1 = detect */
	/* a certificate's private key (public-key protectors; cert_unlock.c) */
	char *private_key;             /* PEM or DER key file */
	char *pkcs12;                  /* .p12/.pfx */
	char *pkcs11;                  /* RFC 7512 URI */
	char *pkcs11_module;
	char *key_password_file;       /* password of the key file / PKCS#12 (also a PIN) */
	char *pin_file;                /* the token's PIN */
};
void cli_unlock_init(struct cli_unlock *u);
/* Handle one getopt result; returns 1 if it was an unlock option, 0 if not, -1 on a bad value.
 * A secret in arg is copied and arg (argv memory) is wiped. */
int cli_unlock_option(struct cli_unlock *u, int opt, char *arg);
void cli_unlock_free(struct cli_unlock *u);
/* Did the user give any secret (or --clear-key)? */
bool cli_unlock_has_secret(const struct cli_unlock *u);
/* The default: branch of a subcommand's getopt loop: 0 when opt was an unlock option (stored);
 * else prints usage(stderr) for an unknown option (a bad value has its own message), frees u
 * and returns EXIT_USAGE for the subcommand to return. */
int cli_unlock_getopt(struct cli_unlock *u, int opt, char *arg, void (*usage)(FILE *));
/* Bad operands: usage(stderr), free u, return EXIT_USAGE. */
int cli_usage_error(struct cli_unlock *u, void (*usage)(FILE *));

/* bdkit's lock on a source (flock(2) on the file or device, the lock `bdkit mount` and the nbdkit
 * plugin take): shared for readers, exclusive for writers, never waiting. 0 (the lock is held until
 * the process exits, or until cli_unlock_source) or EXIT_REFUSED after saying who holds it. */
int cli_lock_source(const char *path, bool exclusive);
void cli_unlock_source(const char *path);
/* Open the volume read-only (or writable: after taking the exclusive lock) honouring u->offset;
 * prints errors. Returns exit code. */
int cli_open(const char *path, const struct cli_unlock *u, bool writable, bd_volume **out);
/*
 * Unlock with what the user gave; with nothing given: clear key if the volume has
 * one, else a no-echo prompt on the terminal (a recovery password or a password,
 * told apart by shape), else one line from stdin. Prints a helpful error listing
 * the protectors and key IDs. Returns an exit code (0 = unlocked).
 */
int cli_unlock_volume(bd_volume *v, const struct cli_unlock *u);
/* A GUID as Windows shows it: upper case (out: 37 bytes), in braces when braces (39 bytes). */
void cli_guid(const uint8_t g[16], char *out, bool braces);
/* The protector's key ID as the recovery screen shows it: the GUID's first 8 digits, upper case. */
void cli_key_id(const uint8_t g[16], char out[9]);

/* The certificate secret kind (cert_unlock.c): was a private key given? cli_cert_load: 0 or an exit code
 * (message printed); the password/PIN comes from its file or is asked for once. */
bool cli_cert_given(const struct cli_unlock *u);
int cli_cert_load(const struct cli_unlock *u, struct bd_privkey **k);

/* Read a whole small file ("-" = stdin) into locked memory; strips one trailing newline
 * when strip_nl. Caller frees with cli_secret_free. 0, EXIT_IO (cannot read) or EXIT_BAD_SECRET
 * (too large to be a secret); the message is printed. */
int cli_read_secret(const char *path, bool strip_nl, char **out, size_t *len);
/* The same, NULL on any error. */
char *cli_read_secret_file(const char *path, size_t *len, bool strip_nl);
void cli_secret_free(char *s, size_t len);
/* Prompt on /dev/tty without echo. NULL when there is no terminal. */
char *cli_prompt_secret(const char *prompt);

/* Protector index from "{GUID}", a GUID, an 8-digit key ID or a number from 'bdkit protector list';
 * 0, or an exit code after printing why. */
int cli_find_protector(bd_volume *v, const char *text, size_t *index);

/* ---- progress ---- */
struct cli_progress {
	uint64_t total;
	double start, last;
	bool enabled;     /* only on a terminal (stderr) and not quiet */
	const char *label;
};
void cli_progress_start(struct cli_progress *p, const char *label, uint64_t total);
void cli_progress_update(struct cli_progress *p, uint64_t done);
void cli_progress_done(struct cli_progress *p, uint64_t done);
double cli_now(void);

/* ---- output files ---- */
/*
 * A file the user names for output (-o). A new file is created with O_CREAT|O_EXCL|O_NOFOLLOW,
 * mode 0600: never through a symlink, never into a file someone else made. An existing one is
 * refused unless force: it is then replaced by a new file (a temporary made with mkstemp in the
 * same directory, renamed over it by cli_output_commit), so the old file and any symlink stay
 * untouched until the data is complete. Block devices are opened O_EXCL (not mounted or in use),
 * character devices as they are; "-" is stdout.
 */
enum {
	CLI_OUT_IN_PLACE = 1,  /* force: remove the old file and create the new one at once (no rename) */
	CLI_OUT_RESUME = 2,    /* reopen an existing regular file of ours (no symlink) to continue it */
};
struct cli_output {
	int fd;
	bool regular;          /* a regular file: sparse writes, ftruncate */
	bool created;          /* made by us (removed by cli_output_abort when made through a temporary) */
	char *path;            /* as given */
	char *tmp;             /* the temporary while replacing, else NULL */
};
/* 0 or an exit code (message printed). */
int cli_output_open(struct cli_output *o, const char *path, bool force, unsigned flags);
/* fsync (regular files), rename the temporary over the path, close. 0 or an exit code. */
int cli_output_commit(struct cli_output *o);
/* Close; a temporary is removed (the old file stays as it was). */
void cli_output_abort(struct cli_output *o);
/* Write a small file (a secret, a key package) whole through cli_output_*. 0 or an exit code. */
/* Write all of buf (pwrite at off when seekable, else write), through EINTR and short writes:
 * 0, or -1 with errno set (0: no progress). The one writer of decrypted data and files. */
int cli_write_all(int fd, const void *buf, size_t len, uint64_t off, bool seekable);
int cli_write_file(const char *path, const void *buf, size_t len, bool force);

/* ---- output helpers ---- */
void cli_json_string(FILE *f, const char *s);   /* quoted and escaped */
void cli_human_size(uint64_t bytes, char *out, size_t outlen);
/* Parse "123", "0x1000", "1M", "4G" etc. Returns 0 or -1. */
int cli_parse_size(const char *s, uint64_t *out);

/* ---- subcommands: int cmd_NAME(int argc, char **argv), argv[0] = subcommand name;
 * an underscore in NAME is a dash on the command line (recover_password: recover-password) ---- */
#define CLI_COMMANDS(X) \
	X(info, "show a volume's metadata, state and protectors") \
	X(decrypt, "write the decrypted volume to a file or stdout") \
	X(mount, "FUSE-mount the decrypted volume (read-only unless --rw)") \
	X(umount, "unmount a bdkit mount") \
	X(format, "create a new BitLocker volume") \
	X(encrypt, "make a BitLocker volume from a plain file-system image") \
	X(protector, "list, add, remove, rotate or reveal protectors") \
	X(suspend, "suspend protection (add a clear key)") \
	X(resume, "resume protection (remove the clear key)") \
	X(metadata, "check, repair, back up or restore metadata") \
	X(keypackage, "export or inspect a key package") \
	X(repair, "salvage the decrypted data of a damaged volume") \
	X(eventlog, "show or verify a TPM measured-boot log") \
	X(diagnose, "explain why a machine fell into BitLocker recovery") \
	X(escrow, "look up or back up recovery passwords in Active Directory or Entra ID") \
	X(recover_password, "find a mistyped or partly lost recovery password") \
	X(memkeys, "find a volume's FVEK or VMK in a memory image or process core")

#define X(name, help) int cmd_##name(int argc, char **argv) __attribute__((weak));
CLI_COMMANDS(X)
#undef X

#endif /* BDKIT_CLI_H */
