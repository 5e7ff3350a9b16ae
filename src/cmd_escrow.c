/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bdkit escrow: find recovery passwords escrowed in Active Directory (LDAP) or Entra ID
 * (Microsoft Graph) by key ID or for a volume, check them against the volume and decrypt it
 * in one step; back a volume's recovery password up to AD as Windows does.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "repair_cli.h"

enum {
	OPT_LDAP = OPT_CLI_LAST + 1, OPT_BASE, OPT_BIND_DN, OPT_BIND_PW_FILE, OPT_SASL, OPT_STARTTLS,
	OPT_GRAPH, OPT_GRAPH_URL, OPT_LOGIN_URL, OPT_TENANT, OPT_CLIENT_ID, OPT_CLIENT_SECRET_FILE,
	OPT_TOKEN_FILE, OPT_SCOPE, OPT_DEVICE_ID, OPT_TIMEOUT, OPT_VOLUME, OPT_SHOW, OPT_UNLOCK_TEST,
	OPT_DECRYPT_TO, OPT_COMPUTER_DN, OPT_COMPUTER, OPT_CA_FILE, OPT_DRY_RUN, OPT_JSON, OPT_FORCE, OPT_HELP, OPT_OUTPUT,
	OPT_KP_OUT,
	OPT_ID, OPT_INSECURE,
};

#define DIRECTORY_OPTIONS \
	{ "ldap", required_argument, 0, OPT_LDAP }, \
	{ "base", required_argument, 0, OPT_BASE }, \
	{ "bind-dn", required_argument, 0, OPT_BIND_DN }, \
	{ "bind-password-file", required_argument, 0, OPT_BIND_PW_FILE }, \
	{ "sasl", required_argument, 0, OPT_SASL }, \
	{ "starttls", no_argument, 0, OPT_STARTTLS }, \
	{ "graph", no_argument, 0, OPT_GRAPH }, \
	{ "graph-url", required_argument, 0, OPT_GRAPH_URL }, \
	{ "login-url", required_argument, 0, OPT_LOGIN_URL }, \
	{ "tenant", required_argument, 0, OPT_TENANT }, \
	{ "client-id", required_argument, 0, OPT_CLIENT_ID }, \
	{ "client-secret-file", required_argument, 0, OPT_CLIENT_SECRET_FILE }, \
	{ "token-file", required_argument, 0, OPT_TOKEN_FILE }, \
	{ "scope", required_argument, 0, OPT_SCOPE }, \
	{ "timeout", required_argument, 0, OPT_TIMEOUT }, \
	{ "ca-file", required_argument, 0, OPT_CA_FILE }, \
	{ "insecure", no_argument, 0, OPT_INSECURE }, \
	{ "json", no_argument, 0, OPT_JSON }, \
	{ "help", no_argument, 0, OPT_HELP }

static const char directory_help[] =
	"Active Directory (LDAP):\n"
	"      --ldap URI               ldap://dc.corp.example, ldaps://..., ldapi://...\n"
	"      --base DN                search base (default: the server's defaultNamingContext)\n"
	"      --bind-dn DN             simple bind as DN or user@domain (password: --bind-password-file,\n"
	"                               else a prompt); none: anonymous\n"
	"      --bind-password-file F   the bind password from F ('-' = stdin)\n"
	"      --sasl MECH              SASL bind instead: GSSAPI (Kerberos ticket from kinit), EXTERNAL\n"
	"      --starttls               require StartTLS on ldap:// (CA: LDAPTLS_CACERT or ldap.conf)\n"
	"Entra ID (Microsoft Graph):\n"
	"      --graph                  ask Microsoft Graph instead of LDAP\n"
	"      --token-file F           bearer token from F (else: sign in with a device code)\n"
	"      --tenant T               tenant ID or domain (default: organizations)\n"
	"      --client-id ID           app registration to sign in with (default: Microsoft Graph\n"
	"                               Command Line Tools, 14d82eec-204b-4c2f-b7e8-296a70dab67e)\n"
	"      --client-secret-file F   sign in as the application (client credentials) with this secret\n"
	"      --scope S                OAuth scope (default: <graph>/BitLockerKey.Read.All offline_access)\n"
	"      --graph-url URL          Graph base (default: $BDKIT_GRAPH_URL or\n"
	"                               https://graph.microsoft.com/v1.0)\n"
	"      --login-url URL          sign-in base (default: $BDKIT_LOGIN_URL or\n"
	"                               https://login.microsoftonline.com)\n"
	"Both:\n"
	"      --timeout SECONDS        per connection and request (default 30 LDAP, 60 Graph)\n"
	"      --ca-file FILE           trust these PEM CA certificates for TLS (ldaps://, StartTLS, https)\n"
	"      --insecure               allow what is refused by default: a password bind over plain\n"
	"                               ldap:// (no TLS), LDAPTLS_REQCERT=never, plain http:// to a host\n"
	"                               other than the loopback address (secrets travel in clear)\n"
	"      --json                   machine-readable output\n"
	"  -h, --help                   this help\n";

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit escrow lookup (--ldap URI | --graph) [OPTIONS] (KEYID | --volume VOLUME)\n"
		   "       bdkit escrow backup --ldap URI --computer-dn DN [OPTIONS] VOLUME [UNLOCK OPTIONS]\n"
		   "Find BitLocker recovery passwords escrowed in Active Directory or Entra ID, check them\n"
		   "against a volume and decrypt it in one step; back a recovery password up to AD.\n"
		   "'bdkit escrow lookup --help' and 'bdkit escrow backup --help' say more.\n");
}

static void lookup_usage(FILE *f)
{
	fprintf(f, "Usage: bdkit escrow lookup (--ldap URI | --graph) [OPTIONS] KEYID\n"
		   "       bdkit escrow lookup (--ldap URI | --graph) [OPTIONS] --volume VOLUME\n"
		   "       bdkit escrow lookup --ldap URI [OPTIONS] --computer NAME|DN\n"
		   "       bdkit escrow lookup --graph [OPTIONS] --device-id ID\n"
		   "Look recovery passwords up by key ID: the 8 hex digits the recovery screen shows\n"
		   "(\"Key ID: 1F9DA098\") or the full protector GUID; with --volume, by the IDs of the\n"
		   "volume's recovery-password protectors. The password is a secret: by default bdkit only\n"
		   "reports that and where it was found.\n\n"
		   "      --show                   print the recovery password(s) on stdout\n"
		   "  -o, --output FILE            save the recovery password to FILE (mode 0600), for\n"
		   "                               bdkit decrypt --recovery-password-file FILE\n"
		   "  -f, --force                  overwrite FILE / OUT\n"
		   "      --volume VOLUME          look up the volume's recovery-password protectors\n"
		   "      --offset BYTES           the BitLocker volume starts here (default: detect)\n"
		   "      --unlock-test            check that the password found opens VOLUME\n"
		   "      --decrypt-to OUT         ... and write the decrypted volume to OUT ('-' = stdout;\n"
		   "                               the report then goes to stderr)\n"
		   "      --key-package-out FILE   AD: save the msFVE-KeyPackage found (mode 0600), for\n"
		   "                               bdkit repair --key-package FILE\n"
		   "      --computer NAME|DN       AD: every recovery password of this computer (by cn,\n"
		   "                               sAMAccountName or dNSHostName, or its DN)\n"
		   "      --device-id ID           Graph: the keys of this Entra device ID\n\n%s",
		directory_help);
}

static void backup_usage(FILE *f)
{
	fprintf(f, "Usage: bdkit escrow backup --ldap URI --computer-dn DN [OPTIONS] VOLUME [UNLOCK OPTIONS]\n"
		   "Unlock the volume with any secret it accepts, read its recovery passwords out of it and\n"
		   "store each in Active Directory as Windows does (manage-bde -protectors -adbackup): one\n"
		   "msFVE-RecoveryInformation object CN=<local time>{GUID} under the computer object per\n"
		   "recovery-password protector, with msFVE-RecoveryPassword, msFVE-RecoveryGuid (the\n"
		   "protector ID) and msFVE-VolumeGuid. Nothing is written unless the volume unlocks and\n"
		   "every password can be read. Entra ID has no API for this: only the device itself backs\n"
		   "up to Entra ID.\n\n"
		   "      --computer-dn DN         the computer object (CN=PC01,OU=...,DC=corp,DC=example)\n"
		   "      --id ID                  only this recovery-password protector: {GUID}, 8-digit key\n"
		   "                               ID, or number from 'bdkit protector list' (default: all)\n"
		   "      --show                   also print the recovery passwords (default: never printed)\n"
		   "      --dry-run                unlock and show what would be written; write nothing\n\n"
		   "%s\n%s(--fvek cannot be used: the recovery passwords are encrypted with the VMK.)\n",
		directory_help, cli_unlock_help);
}

struct dir {
	char *ldap_uri, *base, *bind_dn, *bind_pw_file, *sasl;
	bool starttls, graph, insecure;
	char *graph_url, *login_url, *tenant, *client_id, *client_secret_file, *token_file, *scope, *ca_file;
	int timeout;
	bool json;
};

/* 1: consumed, 0: not a directory option, -1: bad value. */
static int dir_option(struct dir *d, int c, const char *arg)
{
	char **slot = NULL;

	switch (c) {
	case OPT_LDAP: slot = &d->ldap_uri; break;
	case OPT_BASE: slot = &d->base; break;
	case OPT_BIND_DN: slot = &d->bind_dn; break;
	case OPT_BIND_PW_FILE: slot = &d->bind_pw_file; break;
	case OPT_SASL: slot = &d->sasl; break;
	case OPT_GRAPH_URL: slot = &d->graph_url; break;
	case OPT_LOGIN_URL: slot = &d->login_url; break;
	case OPT_TENANT: slot = &d->tenant; break;
	case OPT_CLIENT_ID: slot = &d->client_id; break;
	case OPT_CLIENT_SECRET_FILE: slot = &d->client_secret_file; break;
	case OPT_TOKEN_FILE: slot = &d->token_file; break;
	case OPT_SCOPE: slot = &d->scope; break;
	case OPT_CA_FILE: slot = &d->ca_file; break;
	case OPT_STARTTLS: d->starttls = true; return 1;
	case OPT_GRAPH: d->graph = true; return 1;
	case OPT_INSECURE: d->insecure = true; return 1;
	case OPT_JSON: d->json = true; return 1;
	case OPT_TIMEOUT: {
		char *end;
		long t = strtol(arg, &end, 10);
		if (*end || t < 1 || t > 3600) {
			cli_error("--timeout: '%s' is not a number of seconds (1-3600)", arg);
			return -1;
		}
		d->timeout = (int)t;
		return 1;
	}
	default:
		return 0;
	}
	free(*slot);
	*slot = strdup(arg);
	return 1;
}

static void dir_free(struct dir *d)
{
	char **all[] = { &d->ldap_uri, &d->base, &d->bind_dn, &d->bind_pw_file, &d->sasl, &d->graph_url,
			 &d->login_url, &d->tenant, &d->client_id, &d->client_secret_file, &d->token_file, &d->scope,
			 &d->ca_file };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		free(*all[i]);
		*all[i] = NULL;
	}
}

static int dir_check(const struct dir *d)
{
	if (!!d->ldap_uri == d->graph) {
		cli_error("say where to look: --ldap URI (Active Directory) or --graph (Entra ID), one of them");
		return EXIT_USAGE;
	}
	return 0;
}

/* A secret from a file, or a no-echo prompt; NULL (message printed) when neither works. */
static char *get_secret(const char *file, const char *prompt, size_t *len)
{
	char *s;

	if (file)
		return cli_read_secret_file(file, len, true);
	s = isatty(0) ? cli_prompt_secret(prompt) : NULL;
	if (!s)
		return NULL;
	*len = strlen(s);
	return s;
}

static int ldap_open(const struct dir *d, bd_ldap **out)
{
	struct bd_ldap_opts o = BD_LDAP_OPTS_INIT(.uri = d->ldap_uri, .base = d->base, .bind_dn = d->bind_dn,
		.sasl_mech = d->sasl, .starttls = d->starttls, .timeout = d->timeout, .ca_file = d->ca_file,
		.insecure = d->insecure);
	char *pw = NULL;
	size_t len = 0;
	int r;

	if (d->bind_dn && !d->sasl) {
		char prompt[600];
		snprintf(prompt, sizeof(prompt), "LDAP password for %s: ", d->bind_dn);
		if (!(pw = get_secret(d->bind_pw_file, prompt, &len))) {
			if (!d->bind_pw_file)
				cli_error("--bind-dn needs a password: give --bind-password-file (no terminal to ask on)");
			return EXIT_USAGE;
		}
		o.bind_password = pw;
	} else if (d->bind_pw_file) {
		cli_error("--bind-password-file needs --bind-dn");
		return EXIT_USAGE;
	}
	r = bd_ldap_connect(&o, out);
	cli_secret_free(pw, len);
	return r ? cli_fail(r, NULL) : 0;
}

static void show_device_code(const char *uri, const char *code, const char *message, void *ud)
{
	(void)ud;
	fprintf(stderr, "To sign in to Entra ID, open %s and enter the code %s\n", uri, code);
	if (message && *message && !cli_quiet)
		fprintf(stderr, "(%s)\n", message);
	fprintf(stderr, "Waiting for the sign-in...\n");
}

static int graph_open(const struct dir *d, bd_graph **out)
{
	const char *env_graph = getenv("BDKIT_GRAPH_URL"), *env_login = getenv("BDKIT_LOGIN_URL");
	struct bd_graph_opts o = BD_GRAPH_OPTS_INIT(.graph_url = d->graph_url ? d->graph_url : env_graph,
		.login_url = d->login_url ? d->login_url : env_login,
		.tenant = d->tenant, .client_id = d->client_id, .scope = d->scope, .timeout = d->timeout,
		.ca_file = d->ca_file, .insecure = d->insecure);
	char *tok = NULL, *sec = NULL;
	size_t tlen = 0, slen = 0;
	int r;

	if (d->token_file) {
		if (!(tok = cli_read_secret_file(d->token_file, &tlen, true)))
			return EXIT_IO;
		while (tlen && isspace((unsigned char)tok[tlen - 1]))
			tok[--tlen] = 0;
		/* accept "Bearer eyJ..." as copied from a browser's developer tools */
		o.token = !strncasecmp(tok, "Bearer ", 7) ? tok + 7 : tok;
	}
	if (d->client_secret_file) {
		if (!(sec = cli_read_secret_file(d->client_secret_file, &slen, true))) {
			cli_secret_free(tok, tlen);
			return EXIT_IO;
		}
		o.client_secret = sec;
		if (!d->client_id) {
			cli_error("--client-secret-file needs --client-id (the application's ID)");
			cli_secret_free(tok, tlen);
			cli_secret_free(sec, slen);
			return EXIT_USAGE;
		}
	}
	r = bd_graph_open(&o, out);
	cli_secret_free(tok, tlen);
	cli_secret_free(sec, slen);
	if (r)
		return cli_fail(r, NULL);
	if (d->token_file)
		return 0;
	r = d->client_secret_file ? bd_graph_login_client_secret(*out)
				  : bd_graph_login_device_code(*out, show_device_code, NULL);
	if (r) {
		bd_graph_close(*out);
		*out = NULL;
		return cli_fail(r, "Entra ID sign-in");
	}
	return 0;
}

/* ---- lookup ---- */

#define MAX_QUERIES 64

struct found {
	const struct bd_escrow_entry *e;
	int unlocks;      /* -1 untested, 0 no, 1 yes */
};

static int write_secret_file(const char *path, const char *text, bool force)
{
	size_t n = strlen(text);
	char *buf = malloc(n + 2);
	int rc;

	if (!buf)
		return cli_fail(BD_ERR_NOMEM, NULL);
	mlock(buf, n + 2);
	memcpy(buf, text, n);
	buf[n] = '\n';
	rc = cli_write_file(path, buf, n + 1, force);
	explicit_bzero(buf, n + 2);
	munlock(buf, n + 2);
	free(buf);
	return rc;
}

/* Write the unlocked volume to out (sparse for regular files). */
static int decrypt_to(bd_volume *v, const char *out, bool force)
{
	const size_t chunk = 1u << 20;
	uint64_t size = bd_volume_size(v), off = 0;
	struct cli_progress pr;
	struct cli_output o;
	int fd, rc = 0;
	bool sparse;
	uint8_t *buf;

	if (!strcmp(out, "-") && isatty(1)) {
		cli_error("refusing to write a binary volume to a terminal; redirect stdout or give a file");
		return EXIT_USAGE;
	}
	if ((rc = cli_output_open(&o, out, force, 0)))
		return rc;
	fd = o.fd;
	sparse = o.regular;
	if (!(buf = malloc(chunk))) {
		cli_output_abort(&o);
		return cli_fail(BD_ERR_NOMEM, NULL);
	}
	cli_progress_start(&pr, "decrypting", size);
	while (off < size) {
		size_t len = (size_t)(size - off < chunk ? size - off : chunk);
		ssize_t n = bd_volume_pread(v, buf, len, off);
		if (n < 0) {
			rc = cli_fail((int)n, "read");
			break;
		}
		if (n == 0) {
			rc = cli_fail(BD_ERR_TRUNCATED, "read");
			break;
		}
		if (sparse && bd_is_zero(buf, (size_t)n)) {
			off += (uint64_t)n;
			continue;
		}
		if (cli_write_all(fd, buf, (size_t)n, off, sparse)) {   /* a regular file: pwrite at off (holes skipped) */
			cli_error("cannot write %s: %s", out, strerror(errno));
			rc = EXIT_IO;
			break;
		}
		off += (uint64_t)n;
		cli_progress_update(&pr, off);
	}
	if (!rc && sparse && ftruncate(fd, (off_t)size)) {
		cli_error("cannot size %s: %s", out, strerror(errno));
		rc = EXIT_IO;
	}
	cli_progress_done(&pr, off);
	free(buf);
	if (rc)
		cli_output_abort(&o);
	else
		rc = cli_output_commit(&o);
	return rc;
}

static void print_entry_text(FILE *o, const struct found *f, bool show)
{
	const struct bd_escrow_entry *e = f->e;
	char g[39], s[1024];

	/* every text here comes from the directory: made safe for the terminal */
	cli_guid(e->recovery_guid, g, true);
	fprintf(o, "  %s  created %s\n", g, e->created[0] ? cli_safe(e->created, s, sizeof(s)) : "(unknown)");
	if (e->dn[0])
		fprintf(o, "    object:    %s\n", cli_safe(e->dn, s, sizeof(s)));
	if (e->computer[0])
		fprintf(o, "    %s %s\n", e->dn[0] ? "computer: " : "device ID:", cli_safe(e->computer, s, sizeof(s)));
	if (e->has_volume_guid) {
		cli_guid(e->volume_guid, g, true);
		fprintf(o, "    volume:    %s\n", g);
	}
	if (e->volume_type[0])
		fprintf(o, "    volume type: %s\n", cli_safe(e->volume_type, s, sizeof(s)));
	if (e->key_package_len)
		fprintf(o, "    key package: %zu bytes\n", e->key_package_len);
	if (!e->has_password)
		fprintf(o, "    password:  withheld by the directory (no right to read it)\n");
	else if (show)
		fprintf(o, "    password:  %s%s\n", e->recovery_password, e->password_valid ? "" : "  (MALFORMED)");
	else
		fprintf(o, "    password:  found%s (--show prints it, --output FILE saves it)\n",
		       e->password_valid ? "" : ", but MALFORMED");
	if (f->unlocks >= 0)
		fprintf(o, "    unlocks the volume: %s\n", f->unlocks ? "yes" : "no");
}

static void print_entry_json(const struct found *f, bool show, bool first)
{
	const struct bd_escrow_entry *e = f->e;
	char g[37], kid[9];

	bd_guid_format(e->recovery_guid, g);
	cli_key_id(e->recovery_guid, kid);
	printf("%s\n    {\"recovery_guid\": \"%s\", \"key_id\": \"%s\", ", first ? "" : ",", g, kid);
	printf("\"created\": ");
	cli_json_string(stdout, e->created);
	printf(", \"dn\": ");
	cli_json_string(stdout, e->dn);
	printf(", \"%s\": ", e->dn[0] ? "computer" : "device_id");
	cli_json_string(stdout, e->computer);
	if (e->has_volume_guid) {
		bd_guid_format(e->volume_guid, g);
		printf(", \"volume_guid\": \"%s\"", g);
	}
	if (e->volume_type[0]) {
		printf(", \"volume_type\": ");
		cli_json_string(stdout, e->volume_type);
	}
	printf(", \"key_package_bytes\": %zu, \"has_password\": %s, \"password_valid\": %s", e->key_package_len,
	       e->has_password ? "true" : "false", e->password_valid ? "true" : "false");
	if (show && e->has_password) {
		printf(", \"recovery_password\": ");
		cli_json_string(stdout, e->recovery_password);
	}
	if (f->unlocks >= 0)
		printf(", \"unlocks\": %s", f->unlocks ? "true" : "false");
	printf("}");
}

/* One lookup: the options, then what the steps below open and find. */
struct lookup {
	struct dir d;
	struct cli_unlock u;
	const char *kp_out, *output, *volume, *decrypt_out, *device_id, *computer, *key_id_arg;
	bool show, force, unlock_test;
	struct bd_escrow_key_id ids[MAX_QUERIES];
	bd_escrow_list *lists[MAX_QUERIES];
	struct found *found;
	size_t n_ids, n_found;
	bd_volume *v;
	bd_ldap *l;
	bd_graph *g;
	int opened;                    /* index in found of the password that opened the volume, or -1 */
	char what[128];
	const char *where;
};

/* The options and their combinations: -1 to go on, else the exit code to return. */
static int lookup_options(struct lookup *L, int argc, char **argv)
{
	static const struct option opts[] = {
		DIRECTORY_OPTIONS,
		{ "show", no_argument, 0, OPT_SHOW },
		{ "output", required_argument, 0, 'o' },
		{ "force", no_argument, 0, 'f' },
		{ "volume", required_argument, 0, OPT_VOLUME },
		{ "offset", required_argument, 0, OPT_OFFSET },
		{ "unlock-test", no_argument, 0, OPT_UNLOCK_TEST },
		{ "decrypt-to", required_argument, 0, OPT_DECRYPT_TO },
		{ "device-id", required_argument, 0, OPT_DEVICE_ID },
		{ "computer", required_argument, 0, OPT_COMPUTER },
		{ "key-package-out", required_argument, 0, OPT_KP_OUT },
		{ 0, 0, 0, 0 },
	};
	const struct dir *d = &L->d;
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "ho:f", opts, NULL)) != -1) {
		switch (c) {
		case 'h': case OPT_HELP: lookup_usage(stdout); return 0;
		case OPT_SHOW: L->show = true; break;
		case 'o': L->output = optarg; break;
		case 'f': L->force = true; break;
		case OPT_VOLUME: L->volume = optarg; break;
		case OPT_UNLOCK_TEST: L->unlock_test = true; break;
		case OPT_DECRYPT_TO: L->decrypt_out = optarg; L->unlock_test = true; break;
		case OPT_DEVICE_ID: L->device_id = optarg; break;
		case OPT_COMPUTER: L->computer = optarg; break;
		case OPT_KP_OUT: L->kp_out = optarg; break;
		case OPT_OFFSET:
			if (cli_unlock_option(&L->u, c, optarg) < 0)
				return EXIT_USAGE;
			break;
		default:
			r = dir_option(&L->d, c, optarg);
			if (r == 1)
				break;
			if (r == 0)
				lookup_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if ((rc = dir_check(&L->d)))
		return rc;
	if ((optind < argc) + !!L->volume + (L->device_id && optind == argc) + !!L->computer != 1 ||
	    optind + 1 < argc) {
		cli_error("give one key ID, or --volume VOLUME, or %s", d->graph ? "--device-id ID" : "--computer NAME");
		lookup_usage(stderr);
		return EXIT_USAGE;
	}
	L->key_id_arg = optind < argc ? argv[optind] : NULL;
	const char *bad = NULL;
	if (L->decrypt_out && !strcmp(L->decrypt_out, "-") && (d->json || L->show))
		bad = "--decrypt-to - writes the volume to stdout: --json and --show cannot share it";
	else if (L->kp_out && d->graph)
		bad = "--key-package-out: Entra ID keeps no key packages (only Active Directory does)";
	else if (L->unlock_test && !L->volume)
		bad = "--unlock-test and --decrypt-to need --volume VOLUME";
	else if (L->device_id && !d->graph)
		bad = "--device-id is an Entra ID device: use it with --graph (AD: --computer NAME)";
	else if (L->computer && d->graph)
		bad = "--computer is an AD computer object: use it with --ldap (Entra ID: --device-id ID)";
	else if (L->output && !strcmp(L->output, "-"))
		bad = "--output needs a file; use --show to print the password";
	if (bad) {
		cli_error("%s", bad);
		return EXIT_USAGE;
	}
	return -1;
}

/* What to look for: the volume's recovery-password protectors, or the key ID given. */
static int lookup_targets(struct lookup *L)
{
	int rc, r;

	if (L->volume) {
		struct bd_info in;
		if ((rc = cli_open(L->volume, &L->u, false, &L->v)))
			return rc;
		bd_volume_info(L->v, &in);
		for (size_t i = 0; i < in.n_protectors && L->n_ids < MAX_QUERIES; i++) {
			struct bd_protector_info p;
			if (bd_volume_protector(L->v, i, &p) || bd_protector_kind(p.type) != BD_PROT_RECOVERY_PASSWORD)
				continue;
			char t[39];
			cli_guid(p.guid, t, true);
			bd_escrow_key_id_parse(t, &L->ids[L->n_ids++]);
		}
		if (!L->n_ids) {
			cli_error("%s has no recovery-password protector: nothing to look up", L->volume);
			return EXIT_NO_PROTECTOR;
		}
	} else if (L->key_id_arg) {
		if ((r = bd_escrow_key_id_parse(L->key_id_arg, &L->ids[0]))) {
			cli_fail(r, NULL);
			return EXIT_USAGE;
		}
		L->n_ids = 1;
	}
	return 0;
}

/* Ask the directory (AD or Entra ID) and gather every object found into L->found. */
static int lookup_ask(struct lookup *L)
{
	int rc, r;

	if (L->d.graph ? (rc = graph_open(&L->d, &L->g)) : (rc = ldap_open(&L->d, &L->l)))
		return rc;
	if (!L->n_ids) {
		r = L->l ? bd_ldap_find_computer(L->l, L->computer, &L->lists[0])
			 : bd_graph_find(L->g, L->device_id, NULL, 1, &L->lists[0]);
		if (r)
			return cli_fail(r, NULL);
	}
	for (size_t i = 0; i < L->n_ids; i++) {
		if (L->l)
			r = bd_ldap_find(L->l, &L->ids[i], &L->lists[i]);
		else if (L->ids[i].full && !L->device_id)
			r = bd_graph_get_key(L->g, L->ids[i].guid, &L->lists[i]);
		else
			r = bd_graph_find(L->g, L->device_id, &L->ids[i], 1, &L->lists[i]);
		if (r == BD_ERR_NOT_FOUND && L->n_ids > 1) {
			/* Graph 404 for one of several protectors: others may be there */
			if (cli_verbose)
				fprintf(stderr, "bdkit: %s\n", bd_last_error());
			continue;
		}
		if (r)
			return cli_fail(r, NULL);
	}
	for (size_t i = 0; i < MAX_QUERIES; i++)
		L->n_found += bd_escrow_list_count(L->lists[i]);
	L->found = calloc(L->n_found ? L->n_found : 1, sizeof(*L->found));
	if (!L->found)
		return cli_fail(BD_ERR_NOMEM, NULL);
	L->n_found = 0;
	for (size_t i = 0; i < MAX_QUERIES; i++)
		for (size_t k = 0; k < bd_escrow_list_count(L->lists[i]); k++) {
			L->found[L->n_found].e = bd_escrow_list_get(L->lists[i], k);
			L->found[L->n_found++].unlocks = -1;
		}
	return 0;
}

/* Check against the volume: each distinct password once, stop at the first that opens it. */
static int lookup_unlock_test(struct lookup *L)
{
	struct found *found = L->found;

	for (size_t i = 0; i < L->n_found && L->opened < 0; i++) {
		const struct bd_escrow_entry *e = found[i].e;
		if (!e->has_password || !e->password_valid || found[i].unlocks >= 0)
			continue;
		int r = bd_unlock_recovery_password(L->v, e->recovery_password);
		for (size_t k = i; k < L->n_found; k++)
			if (found[k].e->has_password && !strcmp(found[k].e->recovery_password, e->recovery_password))
				found[k].unlocks = r == 0;
		if (!r)
			L->opened = (int)i;
		else if (r != BD_ERR_WRONG_KEY && r != BD_ERR_NO_PROTECTOR)
			return cli_fail(r, "unlock");
	}
	return 0;
}

/* The report of what was found, as JSON or text (to stderr when the volume goes to stdout). */
static void lookup_report(struct lookup *L)
{
	const struct dir *d = &L->d;
	bd_ldap *l = L->l;

	L->where = l ? d->ldap_uri : "Entra ID";
	if (L->volume)
		snprintf(L->what, sizeof(L->what), "the %zu recovery-password protector(s) of %s", L->n_ids, L->volume);
	else if (L->n_ids)
		snprintf(L->what, sizeof(L->what), "key ID %s", L->ids[0].text);
	else if (L->computer)
		snprintf(L->what, sizeof(L->what), "computer %s", L->computer);
	else
		snprintf(L->what, sizeof(L->what), "device %s", L->device_id);
	/* the decrypted volume owns stdout when it goes there: the report then goes to stderr */
	FILE *rep = L->decrypt_out && !strcmp(L->decrypt_out, "-") ? stderr : stdout;
	if (d->json) {
		printf("{\n  \"source\": \"%s\",\n  \"server\": ", l ? "ldap" : "graph");
		cli_json_string(stdout, L->where);
		if (l) {
			printf(",\n  \"base\": ");
			cli_json_string(stdout, bd_ldap_base(l));
		}
		printf(",\n  \"query\": ");
		cli_json_string(stdout, L->what);
		printf(",\n  \"found\": [");
		for (size_t i = 0; i < L->n_found; i++)
			print_entry_json(&L->found[i], L->show, i == 0);
		printf("%s]", L->n_found ? "\n  " : "");
		if (L->volume) {
			printf(",\n  \"volume\": ");
			cli_json_string(stdout, L->volume);
			if (L->unlock_test)
				printf(",\n  \"unlocked\": %s", L->opened >= 0 ? "true" : "false");
		}
		printf("\n}\n");
	} else if (!cli_quiet || rep == stdout) {
		if (L->n_found)
			fprintf(rep, "Found %zu recovery password object%s for %s in %s%s%s:\n", L->n_found,
				L->n_found == 1 ? "" : "s", L->what, L->where, l ? " under " : "", l ? bd_ldap_base(l) : "");
		for (size_t i = 0; i < L->n_found; i++)
			print_entry_text(rep, &L->found[i], L->show);
	}
	fflush(stdout);
}

/* --output: the password that opened the volume, else the only distinct one found. */
static int lookup_write_password(struct lookup *L)
{
	size_t distinct = 0;
	const char *chosen = NULL;

	for (size_t i = 0; i < L->n_found; i++) {
		if (!L->found[i].e->has_password)
			continue;
		bool dup = false;
		for (size_t k = 0; k < i; k++)
			dup |= L->found[k].e->has_password && !strcmp(L->found[k].e->recovery_password,
								       L->found[i].e->recovery_password);
		if (!dup) {
			distinct++;
			chosen = L->found[i].e->recovery_password;
		}
	}
	if (L->opened >= 0)
		chosen = L->found[L->opened].e->recovery_password;
	if (L->opened < 0 && distinct > 1) {
		cli_error("%zu different recovery passwords match; not writing %s: use the full GUID or --volume "
			  "with --unlock-test to pick one", distinct, L->output);
		return EXIT_REFUSED;
	}
	int rc = write_secret_file(L->output, chosen, L->force);
	if (rc)
		return rc;
	if (!cli_quiet && !L->d.json)
		fprintf(stderr, "bdkit: recovery password saved to %s (mode 0600); unlock with: bdkit decrypt "
			"--recovery-password-file %s VOLUME -o OUT\n", L->output, L->output);
	return 0;
}

/* --key-package-out: the key package of the object whose password opened the volume, else the
 * only one found. */
static int lookup_write_key_package(struct lookup *L)
{
	const struct bd_escrow_entry *kpe = NULL;
	size_t with_kp = 0;
	int rc;

	for (size_t i = 0; i < L->n_found; i++)
		if (L->found[i].e->key_package_len && L->found[i].e->key_package) {
			with_kp++;
			if (!kpe || (int)i == L->opened)
				kpe = L->found[i].e;
		}
	if (!kpe) {
		cli_error("no msFVE-KeyPackage among the objects found: Windows saves it only when policy says "
			  "\"Backup recovery passwords and key packages\" (or the account may not read it)");
		return EXIT_NOT_FOUND;
	}
	if (with_kp > 1 && L->opened < 0) {
		cli_error("%zu objects carry a key package; not writing %s: use the full GUID, or --volume with "
			  "--unlock-test to pick one", with_kp, L->kp_out);
		return EXIT_REFUSED;
	}
	if ((rc = cli_write_file(L->kp_out, kpe->key_package, kpe->key_package_len, L->force)))
		return rc;
	struct bd_keypackage_info ki;
	int kr = bd_keypackage_parse(kpe->key_package, kpe->key_package_len, &ki);
	if (!cli_quiet && !L->d.json)
		fprintf(stderr, "bdkit: key package (%zu bytes) saved to %s (mode 0600): %s\n", kpe->key_package_len,
			L->kp_out, kr ? "its format is not known to bdkit (no FVE metadata block inside); keep it for "
			"Microsoft's repair-bde" : "it holds a metadata block bdkit repair --key-package can use");
	return 0;
}

/* After the report: what was asked for is there (a password the account may read, one that
 * opens the volume), then the files and the decrypted volume. */
static int lookup_deliver(struct lookup *L)
{
	bd_ldap *l = L->l;
	size_t with_pw = 0;
	int rc;

	for (size_t i = 0; i < L->n_found; i++)
		with_pw += L->found[i].e->has_password;
	if (!L->n_found) {
		cli_error("no recovery information for %s in %s%s%s", L->what, L->where, l ? " under " : "",
			  l ? bd_ldap_base(l) : "");
		return EXIT_NOT_FOUND;
	}
	if (!with_pw) {
		cli_error("the directory holds %s but withheld the recovery password: the account needs the "
			  "right to read it (AD: Control Access on the confidential attribute msFVE-RecoveryPassword, "
			  "e.g. Domain Admins or a delegated help-desk group; Graph: BitLockerKey.Read.All)", L->what);
		return EXIT_DENIED;
	}
	if (L->unlock_test && L->opened < 0) {
		cli_error("none of the recovery passwords found opens %s", L->volume);
		return EXIT_WRONG_KEY;
	}
	if (L->unlock_test && !L->d.json && !cli_quiet)
		fprintf(stderr, "bdkit: the recovery password of %s opens %s\n",
			L->found[L->opened].e->dn[0] ? L->found[L->opened].e->dn : "Entra ID", L->volume);
	if (L->output && (rc = lookup_write_password(L)))
		return rc;
	if (L->kp_out && (rc = lookup_write_key_package(L)))
		return rc;
	if (L->decrypt_out)
		return decrypt_to(L->v, L->decrypt_out, L->force);
	return 0;
}

static int cmd_lookup(int argc, char **argv)
{
	struct lookup L = { .opened = -1 };
	int rc;

	cli_unlock_init(&L.u);
	rc = lookup_options(&L, argc, argv);
	if (rc < 0 && !(rc = lookup_targets(&L)) && !(rc = lookup_ask(&L)) &&
	    !(rc = L.unlock_test ? lookup_unlock_test(&L) : 0)) {
		lookup_report(&L);
		rc = lookup_deliver(&L);
	}
	for (size_t i = 0; i < MAX_QUERIES; i++)
		bd_escrow_list_free(L.lists[i]);
	free(L.found);
	bd_ldap_close(L.l);
	bd_graph_close(L.g);
	bd_volume_close(L.v);
	cli_unlock_free(&L.u);
	dir_free(&L.d);
	return rc;
}

/* ---- backup ---- */

struct backup_item {
	struct bd_escrow_record rec;
	char rp[56];                   /* secret */
	char key_id[9];
	char dn[1024], cn[80];
	bool written;
};

/* One backup: the options, then the volume and the objects to write. */
struct backup {
	struct dir d;
	struct cli_unlock u;
	const char *computer, *id, *path;
	bool dry_run, show;
	struct backup_item *items;
	size_t n_items, n_alloc, only;
	struct bd_info in;
	bd_volume *v;
	bd_ldap *l;
};

/* -1 to go on, else the exit code to return. */
static int backup_options(struct backup *B, int argc, char **argv)
{
	static const struct option opts[] = {
		DIRECTORY_OPTIONS,
		{ "computer-dn", required_argument, 0, OPT_COMPUTER_DN },
		{ "dry-run", no_argument, 0, OPT_DRY_RUN },
		{ "show", no_argument, 0, OPT_SHOW },
		{ "id", required_argument, 0, OPT_ID },
		CLI_UNLOCK_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': case OPT_HELP: backup_usage(stdout); return 0;
		case OPT_COMPUTER_DN: B->computer = optarg; break;
		case OPT_DRY_RUN: B->dry_run = true; break;
		case OPT_SHOW: B->show = true; break;
		case OPT_ID: B->id = optarg; break;
		default:
			r = dir_option(&B->d, c, optarg);
			if (r == 0)
				r = cli_unlock_option(&B->u, c, optarg);
			if (r == 1)
				break;
			if (r == 0)
				backup_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (B->d.graph) {
		cli_error("Entra ID cannot be written from outside: Microsoft Graph only reads BitLocker recovery "
			  "keys. Back up from the device itself (manage-bde -protectors -aadbackup C: -id {ID}, or "
			  "BackupToAAD-BitLockerKeyProtector)");
		return EXIT_UNSUPPORTED;
	}
	if ((rc = dir_check(&B->d)))
		return rc;
	if (!B->computer || optind != argc - 1) {
		cli_error("give --computer-dn DN and one VOLUME");
		backup_usage(stderr);
		return EXIT_USAGE;
	}
	if (B->u.fvek || B->u.fvek_file) {
		cli_error("--fvek does not give the recovery passwords (they are encrypted with the VMK): unlock "
			  "with a password, recovery password, startup key, --vmk or the clear key");
		return EXIT_USAGE;
	}
	B->path = argv[optind];
	return -1;
}

/* Reveal every password first (all, or --id's): nothing is written unless all of them can be
 * backed up. 0 or an exit code. */
static int backup_reveal(struct backup *B)
{
	const struct bd_info *in = &B->in;
	int r;

	for (size_t i = 0; i < in->n_protectors; i++) {
		struct bd_protector_info p;
		struct backup_item *it = &B->items[B->n_items];
		if ((B->only != (size_t)-1 && i != B->only) || bd_volume_protector(B->v, i, &p))
			continue;
		if (bd_protector_kind(p.type) != BD_PROT_RECOVERY_PASSWORD) {
			if (B->only == i) {
				cli_error("protector %s is a %s protector, not a recovery password: only recovery "
					  "passwords are backed up to AD", B->id, p.type_name);
				return EXIT_NO_PROTECTOR;
			}
			continue;
		}
		if ((r = bd_volume_recovery_password(B->v, i, it->rp)))
			return cli_fail(r, B->path);
		memcpy(it->rec.recovery_guid, p.guid, 16);
		memcpy(it->rec.volume_guid, in->guid, 16);
		memcpy(it->key_id, p.key_id, sizeof(it->key_id));
		it->rec.has_volume_guid = 1;
		it->rec.recovery_password = it->rp;
		it->rec.when = (int64_t)time(NULL);
		bd_escrow_cn(&it->rec, it->cn, sizeof(it->cn));
		if ((r = bd_escrow_dn(&it->rec, B->computer, it->dn, sizeof(it->dn))))
			return cli_fail(r, NULL);
		B->n_items++;
	}
	if (!B->n_items) {
		cli_error("%s has no recovery-password protector: nothing to back up (add one with "
			  "'bdkit protector add VOLUME recovery-password')", B->path);
		return EXIT_NO_PROTECTOR;
	}
	return 0;
}

/* Write the objects; a failure says how many were written before it. */
static int backup_write(struct backup *B)
{
	int rc = 0, r;

	for (size_t k = 0; k < B->n_items; k++) {
		if ((r = bd_ldap_backup(B->l, B->computer, &B->items[k].rec, B->items[k].dn, sizeof(B->items[k].dn)))) {
			rc = cli_fail(r, NULL);
			if (k)
				fprintf(stderr, "bdkit: %zu of %zu recovery passwords were backed up before "
					"this error (listed on stdout)\n", k, B->n_items);
			break;
		}
		B->items[k].written = true;
	}
	return rc;
}

/* The objects written (or that would be), as text or JSON. */
static void backup_report(const struct backup *B)
{
	char vg[39];

	cli_guid(B->in.guid, vg, true);
	if (B->d.json) {
		printf("{\n  \"computer\": ");
		cli_json_string(stdout, B->computer);
		printf(",\n  \"volume_guid\": \"%.36s\",\n  \"objects\": [", vg + 1);
	}
	for (size_t k = 0, shown = 0; k < B->n_items; k++) {
		const struct backup_item *it = &B->items[k];
		char rg[39];
		if (!B->dry_run && !it->written)
			continue;
		cli_guid(it->rec.recovery_guid, rg, true);
		if (B->d.json) {
			printf("%s\n    {\"dn\": ", shown++ ? "," : "");
			cli_json_string(stdout, it->dn);
			printf(", \"cn\": ");
			cli_json_string(stdout, it->cn);
			printf(", \"recovery_guid\": \"%.36s\", \"key_id\": \"%s\"", rg + 1, it->key_id);
			if (B->show)
				printf(", \"recovery_password\": \"%s\"", it->rp);
			printf(", \"written\": %s}", B->dry_run ? "false" : "true");
		} else {
			char s[1024];
			printf("%s %s\n", B->dry_run ? "Would add" : "Added", cli_safe(it->dn, s, sizeof(s)));
			printf("  msFVE-RecoveryGuid:     %s (recovery-password protector, key ID %s)\n", rg, it->key_id);
			printf("  msFVE-VolumeGuid:       %s\n", vg);
			if (B->show)
				printf("  msFVE-RecoveryPassword: %s\n", it->rp);
			else
				printf("  msFVE-RecoveryPassword: (read from the volume; --show prints it)\n");
		}
	}
	if (B->d.json)
		printf("\n  ]\n}\n");
}

/* Open and unlock the volume, reveal its recovery passwords, write them, report. */
static int backup_run(struct backup *B)
{
	int rc;

	if ((rc = cli_open(B->path, &B->u, false, &B->v)))
		return rc;
	if (B->id && (rc = cli_find_protector(B->v, B->id, &B->only)))
		return rc;
	if ((rc = cli_unlock_volume(B->v, &B->u)))
		return rc;
	bd_volume_info(B->v, &B->in);
	B->n_alloc = B->in.n_protectors ? B->in.n_protectors : 1;
	if (!(B->items = calloc(B->n_alloc, sizeof(*B->items))))
		return cli_fail(BD_ERR_NOMEM, NULL);
	if ((rc = backup_reveal(B)))
		return rc;
	if (!B->dry_run) {
		if ((rc = ldap_open(&B->d, &B->l)))
			return rc;
		rc = backup_write(B);
	}
	backup_report(B);
	return rc;
}

static int cmd_backup(int argc, char **argv)
{
	struct backup B = { .only = (size_t)-1 };
	int rc;

	cli_unlock_init(&B.u);
	rc = backup_options(&B, argc, argv);
	if (rc < 0)
		rc = backup_run(&B);
	if (B.items) {
		explicit_bzero(B.items, B.n_alloc * sizeof(*B.items));
		free(B.items);
	}
	bd_ldap_close(B.l);
	bd_volume_close(B.v);
	cli_unlock_free(&B.u);
	dir_free(&B.d);
	return rc;
}

int cmd_escrow(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	optind = 1;
	if (!strcmp(argv[1], "lookup"))
		return cmd_lookup(argc - 1, argv + 1);
	if (!strcmp(argv[1], "backup"))
		return cmd_backup(argc - 1, argv + 1);
	cli_error("unknown escrow command '%s' (lookup or backup)", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
