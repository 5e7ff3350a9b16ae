/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit protector: list, add, remove, rotate and reveal the protectors of an existing volume. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "protector_cli.h"
#ifdef BDKIT_TEST_HOOKS
#include "fault_io.h"
#endif
#include "pubkey_cli.h"

/* ---- shared with suspend/resume (protector_cli.h) ---- */

int pcli_open(const char *path, const struct cli_unlock *u, bool writable, bool unlock, bd_volume **v)
{
	struct bd_open_opts o = BD_OPEN_OPTS_INIT(.offset = u->offset, .writable = writable, .ignore_integrity = u->ignore_integrity);
	struct bd_io *io;
	int r, rc;

	*v = NULL;
	/* the lock `bdkit mount` and the nbdkit plugin take: no change while the volume is served */
	if (writable && (rc = cli_lock_source(path, true)))
		return rc;
	r = bd_io_open(path, writable ? BD_IO_RDWR : BD_IO_RDONLY, &io);
	if (r)
		return cli_fail(r, path);
#ifdef BDKIT_TEST_HOOKS
	/* test builds only (bdkit-test): writes after the first N fail (crash tests) */
	const char *fail = getenv("BDKIT_FAIL_WRITES_AFTER");
	if (fail && *fail) {
		cli_warn("test-only fault injection: writes after the first %s fail (BDKIT_FAIL_WRITES_AFTER)", fail);
		r = bd_io_fault_wrap(io, NULL, 0, strtol(fail, NULL, 10), &io);
		if (r)
			return cli_fail(r, path);
	}
#endif
	r = bd_volume_open_io(io, &o, v);
	if (r)
		return cli_fail(r, path);
	if (!unlock)
		return 0;
	rc = cli_unlock_volume(*v, u);
	if (rc) {
		bd_volume_close(*v);
		*v = NULL;
	}
	return rc;
}

void pcli_backup_name(const char *path, const char *given, int attempt, char *out, size_t len)
{
	struct stat st;
	char ts[32];
	time_t now = time(NULL);
	const char *base = strrchr(path, '/');

	if (given) {
		snprintf(out, len, "%s", given);
		return;
	}
	strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", gmtime(&now));
	base = base ? base + 1 : path;
	char suffix[16] = "";
	if (attempt % 100)
		snprintf(suffix, sizeof(suffix), "-%d", attempt % 100);
	if (attempt < 100 && !stat(path, &st) && S_ISREG(st.st_mode))
		snprintf(out, len, "%s.bdkit-backup-%s%s.bdkp", path, ts, suffix);
	else
		snprintf(out, len, "%s.bdkit-backup-%s%s.bdkp", base, ts, suffix);
}

int pcli_change(bd_volume *v, const char *path, const char *backup, int force,
		int (*fn)(bd_volume *, const struct bd_change_opts *, void *), void *data, int *written,
		char *backup_used, size_t blen)
{
	struct bd_change_opts o = BD_CHANGE_OPTS_INIT(.force = force, .written = written);
	int r = BD_ERR_EXISTS;

	/* beside the image (attempts 0-99), else in the working directory (100-199) */
	for (int attempt = 0; attempt < 200; attempt++) {
		pcli_backup_name(path, backup, attempt, backup_used, blen);
		o.backup_path = backup_used;
		*written = 0;
		r = fn(v, &o, data);
		if (backup || *written || (r != BD_ERR_EXISTS && r != BD_ERR_IO))
			break;
		if (r == BD_ERR_IO) {
			if (attempt >= 100 || !strchr(path, '/'))
				break;
			cli_warn("%s; trying the working directory", bd_last_error());
			attempt = 99;
		}
	}
	if (!r && !cli_quiet)
		fprintf(stderr, "bdkit: metadata backup (before the change): %s\n"
			"bdkit: the three metadata copies were rewritten, read back and verified\n", backup_used);
	return r;
}

void pcli_failed(int r, const char *what, int written, const char *path, const char *backup)
{
	cli_fail(r, what);
	if (written == 1)
		cli_error("the write stopped part-way: the volume opens with the old or the new protectors; to go "
			  "back to the old metadata run: bdkit metadata restore %s %s", path, backup);
	else if (written == 2)
		cli_error("the metadata was written; only the check afterwards failed; the old metadata is in %s",
			  backup);
	else if (r != BD_ERR_EXISTS)
		cli_error("nothing was written to %s", path);
}

/* ---- protector selection ---- */

/* ---- output ---- */

static void list(bd_volume *v, bool json)
{
	struct bd_info in;
	unsigned rc;
	int susp = bd_volume_suspended(v, &rc);

	bd_volume_info(v, &in);
	if (json)
		printf("{\"suspended\":%s,\"reboot_count\":%u,\"protectors\":[", susp ? "true" : "false", rc);
	else
		printf("Protectors (%zu)%s:\n", in.n_protectors, susp ? " - protection SUSPENDED (clear key present)" : "");
	for (size_t i = 0; i < in.n_protectors; i++) {
		struct bd_protector_info p;
		char g[39], t[40];
		if (bd_volume_protector(v, i, &p))
			continue;
		cli_guid(p.guid, g, true);
		bd_filetime_format(p.mtime, t, sizeof(t));
		if (json) {
			printf("%s{\"number\":%zu,\"id\":\"%s\",\"key_id\":\"%s\",\"type\":", i ? "," : "", i + 1, g,
			       p.key_id);
			cli_json_string(stdout, p.type_name);
			printf(",\"type_code\":%u,\"label\":", p.type);
			cli_json_string(stdout, p.label);
			printf(",\"modified\":\"%s\",\"usable_by_bdkit\":%s", t, p.usable ? "true" : "false");
			cli_pubkey_json(v, i);
			printf("}");
		} else {
			char safe[256];
			printf("  %zu. %-20s %s  key ID %s  %s%s%s\n", i + 1, p.type_name, g, p.key_id, t,
			       *p.label ? "  " : "", cli_safe(p.label, safe, sizeof(safe)));
			cli_pubkey_text(v, i, "     ");
		}
	}
	if (json)
		printf("]}\n");
}

static void print_new(const struct bd_protector_new *n, uint16_t type, bool json)
{
	char g[39];

	cli_guid(n->guid, g, true);
	if (json) {
		printf("{\"id\":\"%s\",\"type\":", g);
		cli_json_string(stdout, type == BD_PROT_RECOVERY_PASSWORD ? "recovery password" :
				type == BD_PROT_PASSWORD ? "password" : type == BD_PROT_PUBLIC_KEY ? "public key" :
				"startup key");
		if (type == BD_PROT_RECOVERY_PASSWORD)
			printf(",\"recovery_password\":\"%s\"", n->recovery_password);
		printf("}\n");
		return;
	}
	printf("Protector ID:      %s\n", g);
	if (type == BD_PROT_PUBLIC_KEY && !cli_quiet)
		fprintf(stderr, "bdkit: certificate protector added (RSA-OAEP SHA-1); it opens with the certificate's "
			"private key: --private-key, --pkcs12 or --pkcs11\n");
	if (type == BD_PROT_RECOVERY_PASSWORD)
		printf("Recovery password: %s\n", n->recovery_password);
}

/* ---- the library calls behind pcli_change ---- */

struct add_args {
	uint16_t type;             /* of the new protector (rotate: recovery password) */
	const char *password;
	struct bd_protector_new *out;
	const uint8_t *guid;
	bool json;
	const char *rkf;           /* --recovery-key-file DIR */
	const char *bekdir;
	const char *cert;          /* add certificate: --certificate FILE */
	bool dra;
	bool shown;                /* the new secret was printed and its files saved */
};

/*
 * Called by the library once the new metadata is built, checked and backed up, before the first
 * write to the volume: the new secret is printed and its files saved (0600) now, so that an
 * interruption during the writes (a kill in an fsync) cannot leave a live protector nobody has.
 * A file that cannot be saved stops the change: nothing is written.
 */
static int show_and_save(const struct bd_protector_new *n, void *ud)
{
	struct add_args *a = ud;
	char path[4096];
	int r;

	if (a->shown)
		return 0;
	if (a->type == BD_PROT_STARTUP_KEY) {
		if ((r = bd_save_bek_file(a->bekdir, n->guid, n->bek, n->bek_len, path, sizeof(path)))) {
			cli_fail(r, "saving the startup key");
			return r;
		}
		if (!cli_quiet)
			fprintf(stderr, "bdkit: startup key saved to %s (keep it apart from the volume)\n", path);
	}
	if (a->type == BD_PROT_RECOVERY_PASSWORD && a->rkf) {
		if ((r = bd_save_recovery_key_file(a->rkf, n->guid, n->recovery_password, path, sizeof(path)))) {
			cli_fail(r, "saving the recovery key file");
			return r;
		}
		if (!cli_quiet)
			fprintf(stderr, "bdkit: recovery key file saved to %s\n", path);
	}
	print_new(n, a->type, a->json);
	fflush(stdout);
	a->shown = true;
	return 0;
}

static int do_add(bd_volume *v, const struct bd_change_opts *o, void *d)
{
	struct add_args *a = d;
	struct bd_change_opts oo = *o;

	oo.before_write = show_and_save;
	oo.userdata = a;
	if (a->type == BD_PROT_PUBLIC_KEY)
		return bd_protector_add_certificate(v, a->cert, a->dra, &oo, a->out);
	return bd_protector_add(v, a->type, a->password, &oo, a->out);
}

static int do_remove(bd_volume *v, const struct bd_change_opts *o, void *d)
{
	struct add_args *a = d;
	return bd_protector_remove(v, a->guid, o);
}

static int do_rotate(bd_volume *v, const struct bd_change_opts *o, void *d)
{
	struct add_args *a = d;
	struct bd_change_opts oo = *o;

	oo.before_write = show_and_save;
	oo.userdata = a;
	return bd_protector_rotate(v, a->guid, &oo, a->out);
}

/* ---- new password ---- */

static char *new_password(const char *file, size_t *len)
{
	char *a, *b;

	if (file)
		return cli_read_secret_file(file, len, true);
	a = cli_prompt_secret("New password: ");
	if (!a) {
		cli_error("no terminal to ask for the new password: give --new-password-file FILE");
		return NULL;
	}
	b = cli_prompt_secret("Repeat the new password: ");
	if (!b || strcmp(a, b)) {
		cli_error("the passwords differ");
		cli_secret_free(a, strlen(a));
		if (b)
			cli_secret_free(b, strlen(b));
		return NULL;
	}
	cli_secret_free(b, strlen(b));
	*len = strlen(a);
	return a;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit protector list   [OPTIONS] VOLUME\n"
		   "       bdkit protector add    recovery-password|password|startup-key [OPTIONS] VOLUME\n"
		   "       bdkit protector add    certificate [OPTIONS] VOLUME --certificate CERT [--dra]\n"
		   "       bdkit protector remove [OPTIONS] VOLUME --id ID\n"
		   "       bdkit protector rotate [OPTIONS] VOLUME [--id ID]\n"
		   "       bdkit protector reveal [OPTIONS] VOLUME [--id ID]\n"
		   "Manage the protectors of an existing BitLocker volume offline. add/remove/rotate unlock the\n"
		   "volume with any secret that works, save the metadata as it was to a backup file, then\n"
		   "rewrite the three metadata copies one at a time (the ones not in use first), each synced,\n"
		   "read back and verified: a crash leaves a volume that opens with the old or the new protectors.\n"
		   "A change that would leave no password, recovery password or startup key is refused.\n"
		   "rotate replaces a recovery password (the one you unlocked with, or --id) by a new one: do it\n"
		   "after every recovery. reveal prints recovery passwords from their VMK-encrypted backups.\n"
		   "New recovery passwords are printed once, on stdout.\n\n"
		   "      --id ID                  protector: {GUID}, 8-digit key ID, or number from 'list'\n"
		   "      --new-password-file FILE add password: the new password (default: asked twice)\n"
		   "      --bek-dir DIR            add startup-key: where to save <ID>.BEK (default: .);\n"
		   "                               other subcommands: where to find a .BEK that unlocks\n"
		   "      --certificate CERT       add certificate: the X.509 certificate (PEM or DER) whose private\n"
		   "                               key (file, PKCS#12, smart card) will open the volume; it needs\n"
		   "                               key encipherment (as Windows checks); the key is wrapped with\n"
		   "                               RSA-OAEP SHA-1 (man bdkit-protector)\n"
		   "      --dra                    add certificate: as a Data Recovery Agent (the certificate needs\n"
		   "                               the BitLocker DRA EKU 1.3.6.1.4.1.311.67.1.2)\n"
		   "      --recovery-key-file DIR  add/rotate: also save Windows' 'BitLocker Recovery Key <ID>.TXT'\n"
		   "      --backup FILE            metadata backup (default: VOLUME.bdkit-backup-<time>.bdkp)\n"
		   "  -f, --force                  remove even when only TPM/smart-card protectors remain\n"
		   "      --json                   machine-readable output\n"
		   "  -h, --help                   this help\n\n%s", cli_unlock_help);
}

/* One run: the subcommand, its options, and the volume. */
struct prot {
	struct cli_unlock u;
	const char *id, *newpw, *bekdir, *rkf, *backup, *sub, *kind, *cert, *path;
	bool json, force, dra;
	uint16_t type;                 /* add: the kind to add */
	bd_volume *v;
};

/* The subcommand (and add's kind) and options: -1 to go on, else the exit code to return. */
static int parse_options(struct prot *P, int argc, char **argv)
{
	enum { OPT_JSON = OPT_CLI_LAST + 1, OPT_ID, OPT_NEWPW, OPT_BEKDIR, OPT_RKF, OPT_BACKUP, OPT_CERT, OPT_DRA };
	static const struct option opts[] = {
		{ "json", no_argument, 0, OPT_JSON },
		{ "id", required_argument, 0, OPT_ID },
		{ "new-password-file", required_argument, 0, OPT_NEWPW },
		{ "bek-dir", required_argument, 0, OPT_BEKDIR },
		{ "recovery-key-file", required_argument, 0, OPT_RKF },
		{ "backup", required_argument, 0, OPT_BACKUP },
		{ "certificate", required_argument, 0, OPT_CERT },
		{ "dra", no_argument, 0, OPT_DRA },
		{ "force", no_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' },
		CLI_UNLOCK_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	int c, rc;

	P->bekdir = ".";
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	P->sub = argv[1];
	argc--;
	argv++;
	if (!strcmp(P->sub, "add")) {
		if (argc < 2 || argv[1][0] == '-') {
			cli_error("protector add: say what to add: recovery-password, password, startup-key or certificate");
			return EXIT_USAGE;
		}
		P->kind = argv[1];
		argc--;
		argv++;
	}
	cli_unlock_init(&P->u);
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: P->json = true; break;
		case OPT_ID: P->id = optarg; break;
		case OPT_NEWPW: P->newpw = optarg; break;
		case OPT_BEKDIR:
			/* add startup-key: where to save the new .BEK; elsewhere: where to find one to unlock */
			P->bekdir = optarg;
			if (!P->kind || (strcmp(P->kind, "startup-key") && strcmp(P->kind, "bek")))
				cli_unlock_option(&P->u, OPT_BEK_DIR, optarg);
			break;
		case OPT_RKF: P->rkf = optarg; break;
		case OPT_BACKUP: P->backup = optarg; break;
		case OPT_CERT: P->cert = optarg; break;
		case OPT_DRA: P->dra = true; break;
		case 'f': P->force = true; break;
		case 'h': usage(stdout); cli_unlock_free(&P->u); return EXIT_OK;
		default:
			if ((rc = cli_unlock_getopt(&P->u, c, optarg, usage)))
				return rc;
			break;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(&P->u, usage);
	P->path = argv[optind];
	return -1;
}

/* The subcommand and add's kind make sense together (a certificate is checked before the volume
 * is opened: nothing is written when it is unfit). 0 or an exit code. */
static int check_request(struct prot *P, bool is_list, bool is_reveal)
{
	const char *kind = P->kind, *sub = P->sub;
	int r;

	if (!is_list && !is_reveal && strcmp(sub, "add") && strcmp(sub, "remove") && strcmp(sub, "rotate")) {
		cli_error("protector: unknown subcommand '%s' (list, add, remove, rotate, reveal)", sub);
		return EXIT_USAGE;
	}
	if (!strcmp(sub, "remove") && !P->id) {
		cli_error("protector remove: name the protector with --id (see 'bdkit protector list')");
		return EXIT_USAGE;
	}
	if (kind) {
		if (!strcmp(kind, "recovery-password") || !strcmp(kind, "recovery") || !strcmp(kind, "rp"))
			P->type = BD_PROT_RECOVERY_PASSWORD;
		else if (!strcmp(kind, "password") || !strcmp(kind, "pw"))
			P->type = BD_PROT_PASSWORD;
		else if (!strcmp(kind, "startup-key") || !strcmp(kind, "bek"))
			P->type = BD_PROT_STARTUP_KEY;
		else if (!strcmp(kind, "certificate") || !strcmp(kind, "cert") || !strcmp(kind, "public-key"))
			P->type = BD_PROT_PUBLIC_KEY;
		else {
			cli_error("protector add: '%s' is not recovery-password, password, startup-key or certificate",
				  kind);
			return EXIT_USAGE;
		}
	}
	if ((P->cert || P->dra) && P->type != BD_PROT_PUBLIC_KEY) {
		cli_error("protector %s: --certificate and --dra belong to 'protector add certificate'", sub);
		return EXIT_USAGE;
	}
	if (P->type == BD_PROT_PUBLIC_KEY) {
		if (!P->cert) {
			cli_error("protector add certificate: name the certificate with --certificate FILE (PEM or DER)");
			return EXIT_USAGE;
		}
		if ((r = bd_certificate_check(P->cert, P->dra, NULL))) {
			int rc = cli_fail(r, P->cert);
			cli_error("nothing was written to %s", P->path);
			return rc;
		}
	}
	return 0;
}

/* reveal: the recovery passwords (all, or --id's) from their VMK-encrypted backups. */
static int reveal(struct prot *P)
{
	bd_volume *v = P->v;
	struct bd_info in;
	size_t only = (size_t)-1, shown = 0;
	int rc, r;

	bd_volume_info(v, &in);
	if (P->id && (rc = cli_find_protector(v, P->id, &only)))
		return rc;
	if (P->json)
		printf("[");
	for (size_t i = 0; i < in.n_protectors; i++) {
		struct bd_protector_info p;
		char rp[56], g[39];
		if ((only != (size_t)-1 && i != only) || bd_volume_protector(v, i, &p) ||
		    (only == (size_t)-1 && bd_protector_kind(p.type) != BD_PROT_RECOVERY_PASSWORD))
			continue;
		r = bd_volume_recovery_password(v, i, rp);
		if (r) {
			if (P->json)
				printf("]\n");
			return cli_fail(r, "reveal");
		}
		cli_guid(p.guid, g, true);
		if (P->json)
			printf("%s{\"id\":\"%s\",\"recovery_password\":\"%s\"}", shown ? "," : "", g, rp);
		else if (only != (size_t)-1)
			printf("%s\n", rp);
		else
			printf("%s  %s\n", g, rp);
		explicit_bzero(rp, sizeof(rp));
		shown++;
	}
	if (P->json)
		printf("]\n");
	if (!shown) {
		cli_error("the volume has no recovery-password protector");
		return EXIT_NO_PROTECTOR;
	}
	return 0;
}

/* remove/rotate: the protector to change: --id, else (rotate) the recovery-password protector that
 * unlocked the volume, else the only one. 0 or an exit code. */
static int pick_target(struct prot *P, size_t *ti)
{
	struct bd_info in;
	size_t n = 0, used = (size_t)-1;

	if (P->id)
		return cli_find_protector(P->v, P->id, ti);
	bd_volume_info(P->v, &in);
	for (size_t i = 0; i < in.n_protectors; i++) {
		struct bd_protector_info p;
		if (bd_volume_protector(P->v, i, &p) || bd_protector_kind(p.type) != BD_PROT_RECOVERY_PASSWORD)
			continue;
		n++;
		*ti = i;
		if (in.unlocked_with == BD_UNLOCKED_PROTECTOR && !memcmp(p.guid, in.unlock_protector, 16))
			used = i;
	}
	if (used != (size_t)-1) {
		*ti = used;
	} else if (!n) {
		cli_error("protector rotate: the volume has no recovery password to rotate; add one with "
			  "'bdkit protector add recovery-password %s'", P->path);
		return EXIT_NO_PROTECTOR;
	} else if (n != 1) {
		cli_error("protector rotate: the volume has %zu recovery passwords and none unlocked it; name "
			  "the one to replace with --id (see 'bdkit protector list')", n);
		return EXIT_USAGE;
	}
	return 0;
}

/* add/remove/rotate: the metadata change (backup first, copies one at a time), then what it did. */
static int change(struct prot *P, struct bd_protector_new *nw)
{
	const char *sub = P->sub;
	char bpath[4096] = "", g[39];
	struct add_args a = { .type = !strcmp(sub, "rotate") ? BD_PROT_RECOVERY_PASSWORD : P->type, .out = nw,
			      .json = P->json, .rkf = P->rkf, .bekdir = P->bekdir, .cert = P->cert, .dra = P->dra };
	struct bd_protector_info target;
	size_t ti = 0;
	int rc, r, written = 0;

	if (!strcmp(sub, "add")) {
		char *pw = NULL;
		size_t pwlen = 0;
		if (P->type == BD_PROT_PASSWORD && !(pw = new_password(P->newpw, &pwlen)))
			return EXIT_USAGE;
		a.password = pw;
		r = pcli_change(P->v, P->path, P->backup, P->force, do_add, &a, &written, bpath, sizeof(bpath));
		if (pw)
			cli_secret_free(pw, pwlen);
	} else {
		if ((rc = pick_target(P, &ti)))
			return rc;
		bd_volume_protector(P->v, ti, &target);
		a.guid = target.guid;
		r = pcli_change(P->v, P->path, P->backup, P->force, !strcmp(sub, "remove") ? do_remove : do_rotate,
				&a, &written, bpath, sizeof(bpath));
	}
	if (r) {
		/* a partly written new protector may be live: its secret was shown (and saved) before the
		 * first write */
		if (written && a.shown)
			cli_error("the new protector's secret was shown above before the write began: keep it, the "
				  "volume may open with it");
		pcli_failed(r, sub, written, P->path, bpath);
		return cli_exit_code(r);
	}
	if (!strcmp(sub, "remove")) {
		cli_guid(target.guid, g, true);
		if (!cli_quiet)
			fprintf(stderr, "bdkit: removed the %s protector %s\n", target.type_name, g);
		return EXIT_OK;
	}
	if (!strcmp(sub, "rotate")) {
		cli_guid(target.guid, g, true);
		if (!cli_quiet)
			fprintf(stderr, "bdkit: recovery password %s replaced; the old one no longer opens the volume\n", g);
	}
	if (!a.shown)  /* (the library calls show_and_save before writing: this is not reached) */
		return show_and_save(nw, &a) ? EXIT_FAILURE_OTHER : EXIT_OK;
	return EXIT_OK;
}

int cmd_protector(int argc, char **argv)
{
	struct prot P = { 0 };
	struct bd_protector_new nw;
	int rc = parse_options(&P, argc, argv);

	if (rc >= 0)
		return rc;
	memset(&nw, 0, sizeof(nw));
	bool is_list = !strcmp(P.sub, "list"), is_reveal = !strcmp(P.sub, "reveal");
	if (!(rc = check_request(&P, is_list, is_reveal)) &&
	    !(rc = pcli_open(P.path, &P.u, !is_list && !is_reveal, !is_list, &P.v))) {
		if (is_list)
			list(P.v, P.json);
		else if (is_reveal)
			rc = reveal(&P);
		else
			rc = change(&P, &nw);
	}
	bd_protector_new_wipe(&nw);
	bd_volume_close(P.v);
	cli_unlock_free(&P.u);
	return rc;
}
