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
	struct bd_ldap_opts o = BD_LDAP_OPTS_INIT(.uri = d->ldap_uri, .base = d->base, .bind_dn = d->bind_dn, .sasl_mech = d->sasl,
		.starttls = d->starttls, .timeout = d->timeout, .ca_file = d->ca_file, .insecure = d->insecure);
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

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
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
		if (sparse && all_zero(buf, (size_t)n)) {
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
	for (int i = 0; i < 8; i++)
		kid[i] = (char)toupper((unsigned char)g[i]);
	kid[8] = 0;
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

static int cmd_lookup(int argc, char **argv)
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
	struct dir d = { 0 };
	struct cli_unlock u;
	const char *kp_out = NULL;
	bool show = false, force = false, unlock_test = false;
	const char *output = NULL, *volume = NULL, *decrypt_out = NULL, *device_id = NULL, *computer = NULL;
	struct bd_escrow_key_id ids[MAX_QUERIES];
	bd_escrow_list *lists[MAX_QUERIES] = { 0 };
	struct found *found = NULL;
	size_t n_ids = 0, n_found = 0;
	bd_volume *v = NULL;
	bd_ldap *l = NULL;
	bd_graph *g = NULL;
	int c, rc = 0, r;

	cli_unlock_init(&u);
	while ((c = getopt_long(argc, argv, "ho:f", opts, NULL)) != -1) {
		switch (c) {
		case 'h': case OPT_HELP: lookup_usage(stdout); goto out;
		case OPT_SHOW: show = true; break;
		case 'o': output = optarg; break;
		case 'f': force = true; break;
		case OPT_VOLUME: volume = optarg; break;
		case OPT_UNLOCK_TEST: unlock_test = true; break;
		case OPT_DECRYPT_TO: decrypt_out = optarg; unlock_test = true; break;
		case OPT_DEVICE_ID: device_id = optarg; break;
		case OPT_COMPUTER: computer = optarg; break;
		case OPT_KP_OUT: kp_out = optarg; break;
		case OPT_OFFSET:
			if (cli_unlock_option(&u, c, optarg) < 0) {
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		default:
			r = dir_option(&d, c, optarg);
			if (r == 1)
				break;
			if (r == 0)
				lookup_usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if ((rc = dir_check(&d)))
		goto out;
	if ((optind < argc) + !!volume + (device_id && optind == argc) + !!computer != 1 || optind + 1 < argc) {
		cli_error("give one key ID, or --volume VOLUME, or %s", d.graph ? "--device-id ID" : "--computer NAME");
		lookup_usage(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	if (decrypt_out && !strcmp(decrypt_out, "-") && (d.json || show)) {
		cli_error("--decrypt-to - writes the volume to stdout: --json and --show cannot share it");
		rc = EXIT_USAGE;
		goto out;
	}
	if (kp_out && d.graph) {
		cli_error("--key-package-out: Entra ID keeps no key packages (only Active Directory does)");
		rc = EXIT_USAGE;
		goto out;
	}
	if (unlock_test && !volume) {
		cli_error("--unlock-test and --decrypt-to need --volume VOLUME");
		rc = EXIT_USAGE;
		goto out;
	}
	if (device_id && !d.graph) {
		cli_error("--device-id is an Entra ID device: use it with --graph (AD: --computer NAME)");
		rc = EXIT_USAGE;
		goto out;
	}
	if (computer && d.graph) {
		cli_error("--computer is an AD computer object: use it with --ldap (Entra ID: --device-id ID)");
		rc = EXIT_USAGE;
		goto out;
	}
	if (output && !strcmp(output, "-")) {
		cli_error("--output needs a file; use --show to print the password");
		rc = EXIT_USAGE;
		goto out;
	}
	/* what to look for */
	if (volume) {
		struct bd_info in;
		if ((rc = cli_open(volume, &u, false, &v)))
			goto out;
		bd_volume_info(v, &in);
		for (size_t i = 0; i < in.n_protectors && n_ids < MAX_QUERIES; i++) {
			struct bd_protector_info p;
			if (bd_volume_protector(v, i, &p) || bd_protector_kind(p.type) != BD_PROT_RECOVERY_PASSWORD)
				continue;
			char t[39];
			cli_guid(p.guid, t, true);
			bd_escrow_key_id_parse(t, &ids[n_ids++]);
		}
		if (!n_ids) {
			cli_error("%s has no recovery-password protector: nothing to look up", volume);
			rc = EXIT_NO_PROTECTOR;
			goto out;
		}
	} else if (optind < argc) {
		if ((r = bd_escrow_key_id_parse(argv[optind], &ids[0]))) {
			cli_fail(r, NULL);
			rc = EXIT_USAGE;
			goto out;
		}
		n_ids = 1;
	}
	/* ask */
	if (d.graph ? (rc = graph_open(&d, &g)) : (rc = ldap_open(&d, &l)))
		goto out;
	if (!n_ids) {
		r = l ? bd_ldap_find_computer(l, computer, &lists[0]) : bd_graph_find(g, device_id, NULL, 1, &lists[0]);
		if (r) {
			rc = cli_fail(r, NULL);
			goto out;
		}
	}
	for (size_t i = 0; i < n_ids; i++) {
		if (l)
			r = bd_ldap_find(l, &ids[i], &lists[i]);
		else if (ids[i].full && !device_id)
			r = bd_graph_get_key(g, ids[i].guid, &lists[i]);
		else
			r = bd_graph_find(g, device_id, &ids[i], 1, &lists[i]);
		if (r == BD_ERR_NOT_FOUND && n_ids > 1) {
			/* Graph 404 for one of several protectors: others may be there */
			if (cli_verbose)
				fprintf(stderr, "bdkit: %s\n", bd_last_error());
			continue;
		}
		if (r) {
			rc = cli_fail(r, NULL);
			goto out;
		}
	}
	for (size_t i = 0; i < MAX_QUERIES; i++)
		n_found += bd_escrow_list_count(lists[i]);
	found = calloc(n_found ? n_found : 1, sizeof(*found));
	if (!found) {
		rc = cli_fail(BD_ERR_NOMEM, NULL);
		goto out;
	}
	n_found = 0;
	for (size_t i = 0; i < MAX_QUERIES; i++)
		for (size_t k = 0; k < bd_escrow_list_count(lists[i]); k++) {
			found[n_found].e = bd_escrow_list_get(lists[i], k);
			found[n_found++].unlocks = -1;
		}
	/* check against the volume: each distinct password once, stop at the first that opens it */
	int opened = -1;
	if (unlock_test) {
		for (size_t i = 0; i < n_found && opened < 0; i++) {
			const struct bd_escrow_entry *e = found[i].e;
			if (!e->has_password || !e->password_valid || found[i].unlocks >= 0)
				continue;
			r = bd_unlock_recovery_password(v, e->recovery_password);
			for (size_t k = i; k < n_found; k++)
				if (found[k].e->has_password && !strcmp(found[k].e->recovery_password, e->recovery_password))
					found[k].unlocks = r == 0;
			if (!r)
				opened = (int)i;
			else if (r != BD_ERR_WRONG_KEY && r != BD_ERR_NO_PROTECTOR) {
				rc = cli_fail(r, "unlock");
				goto out;
			}
		}
	}
	/* report */
	const char *where = l ? d.ldap_uri : "Entra ID";
	char what[128];
	if (volume)
		snprintf(what, sizeof(what), "the %zu recovery-password protector(s) of %s", n_ids, volume);
	else if (n_ids)
		snprintf(what, sizeof(what), "key ID %s", ids[0].text);
	else if (computer)
		snprintf(what, sizeof(what), "computer %s", computer);
	else
		snprintf(what, sizeof(what), "device %s", device_id);
	size_t with_pw = 0, distinct = 0;
	const char *chosen = NULL;
	for (size_t i = 0; i < n_found; i++) {
		if (!found[i].e->has_password)
			continue;
		with_pw++;
		bool dup = false;
		for (size_t k = 0; k < i; k++)
			dup |= found[k].e->has_password && !strcmp(found[k].e->recovery_password,
								    found[i].e->recovery_password);
		if (!dup) {
			distinct++;
			chosen = found[i].e->recovery_password;
		}
	}
	if (opened >= 0)
		chosen = found[opened].e->recovery_password;
	/* the decrypted volume owns stdout when it goes there: the report then goes to stderr */
	FILE *rep = decrypt_out && !strcmp(decrypt_out, "-") ? stderr : stdout;
	if (d.json) {
		printf("{\n  \"source\": \"%s\",\n  \"server\": ", l ? "ldap" : "graph");
		cli_json_string(stdout, where);
		if (l) {
			printf(",\n  \"base\": ");
			cli_json_string(stdout, bd_ldap_base(l));
		}
		printf(",\n  \"query\": ");
		cli_json_string(stdout, what);
		printf(",\n  \"found\": [");
		for (size_t i = 0; i < n_found; i++)
			print_entry_json(&found[i], show, i == 0);
		printf("%s]", n_found ? "\n  " : "");
		if (volume) {
			printf(",\n  \"volume\": ");
			cli_json_string(stdout, volume);
			if (unlock_test)
				printf(",\n  \"unlocked\": %s", opened >= 0 ? "true" : "false");
		}
		printf("\n}\n");
	} else if (!cli_quiet || rep == stdout) {
		if (n_found)
			fprintf(rep, "Found %zu recovery password object%s for %s in %s%s%s:\n", n_found,
				n_found == 1 ? "" : "s", what, where, l ? " under " : "", l ? bd_ldap_base(l) : "");
		for (size_t i = 0; i < n_found; i++)
			print_entry_text(rep, &found[i], show);
	}
	fflush(stdout);
	if (!n_found) {
		cli_error("no recovery information for %s in %s%s%s", what, where, l ? " under " : "",
			  l ? bd_ldap_base(l) : "");
		rc = EXIT_NOT_FOUND;
		goto out;
	}
	if (!with_pw) {
		cli_error("the directory holds %s but withheld the recovery password: the account needs the "
			  "right to read it (AD: Control Access on the confidential attribute msFVE-RecoveryPassword, "
			  "e.g. Domain Admins or a delegated help-desk group; Graph: BitLockerKey.Read.All)", what);
		rc = EXIT_DENIED;
		goto out;
	}
	if (unlock_test && opened < 0) {
		cli_error("none of the recovery passwords found opens %s", volume);
		rc = EXIT_WRONG_KEY;
		goto out;
	}
	if (unlock_test && !d.json && !cli_quiet)
		fprintf(stderr, "bdkit: the recovery password of %s opens %s\n",
			found[opened].e->dn[0] ? found[opened].e->dn : "Entra ID", volume);
	if (output) {
		if (opened < 0 && distinct > 1) {
			cli_error("%zu different recovery passwords match; not writing %s: use the full GUID or --volume "
				  "with --unlock-test to pick one", distinct, output);
			rc = EXIT_REFUSED;
			goto out;
		}
		if ((rc = write_secret_file(output, chosen, force)))
			goto out;
		if (!cli_quiet && !d.json)
			fprintf(stderr, "bdkit: recovery password saved to %s (mode 0600); unlock with: bdkit decrypt "
				"--recovery-password-file %s VOLUME -o OUT\n", output, output);
	}
	if (kp_out) {
		/* the key package of the object whose password opened the volume, else the only one found */
		const struct bd_escrow_entry *kpe = NULL;
		size_t with_kp = 0;
		for (size_t i = 0; i < n_found; i++)
			if (found[i].e->key_package_len && found[i].e->key_package) {
				with_kp++;
				if (!kpe || (int)i == opened)
					kpe = found[i].e;
			}
		if (!kpe) {
			cli_error("no msFVE-KeyPackage among the objects found: Windows saves it only when policy says "
				  "\"Backup recovery passwords and key packages\" (or the account may not read it)");
			rc = EXIT_NOT_FOUND;
			goto out;
		}
		if (with_kp > 1 && opened < 0) {
			cli_error("%zu objects carry a key package; not writing %s: use the full GUID, or --volume with "
				  "--unlock-test to pick one", with_kp, kp_out);
			rc = EXIT_REFUSED;
			goto out;
		}
		if ((rc = cli_write_file(kp_out, kpe->key_package, kpe->key_package_len, force)))
			goto out;
		struct bd_keypackage_info ki;
		int kr = bd_keypackage_parse(kpe->key_package, kpe->key_package_len, &ki);
		if (!cli_quiet && !d.json)
			fprintf(stderr, "bdkit: key package (%zu bytes) saved to %s (mode 0600): %s\n", kpe->key_package_len,
				kp_out, kr ? "its format is not known to bdkit (no FVE metadata block inside); keep it for "
				"Microsoft's repair-bde" : "it holds a metadata block bdkit repair --key-package can use");
	}
	if (decrypt_out)
		rc = decrypt_to(v, decrypt_out, force);
out:
	for (size_t i = 0; i < MAX_QUERIES; i++)
		bd_escrow_list_free(lists[i]);
	free(found);
	bd_ldap_close(l);
	bd_graph_close(g);
	bd_volume_close(v);
	cli_unlock_free(&u);
	dir_free(&d);
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

static int cmd_backup(int argc, char **argv)
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
	struct dir d = { 0 };
	struct cli_unlock u;
	const char *computer = NULL, *id = NULL;
	bool dry_run = false, show = false;
	struct backup_item *items = NULL;
	size_t n_items = 0, n_alloc = 0, only = (size_t)-1;
	struct bd_info in;
	bd_volume *v = NULL;
	bd_ldap *l = NULL;
	int c, rc = 0, r;

	cli_unlock_init(&u);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': case OPT_HELP: backup_usage(stdout); goto out;
		case OPT_COMPUTER_DN: computer = optarg; break;
		case OPT_DRY_RUN: dry_run = true; break;
		case OPT_SHOW: show = true; break;
		case OPT_ID: id = optarg; break;
		default:
			r = dir_option(&d, c, optarg);
			if (r == 0)
				r = cli_unlock_option(&u, c, optarg);
			if (r == 1)
				break;
			if (r == 0)
				backup_usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (d.graph) {
		cli_error("Entra ID cannot be written from outside: Microsoft Graph only reads BitLocker recovery "
			  "keys. Back up from the device itself (manage-bde -protectors -aadbackup C: -id {ID}, or "
			  "BackupToAAD-BitLockerKeyProtector)");
		rc = EXIT_UNSUPPORTED;
		goto out;
	}
	if ((rc = dir_check(&d)))
		goto out;
	if (!computer || optind != argc - 1) {
		cli_error("give --computer-dn DN and one VOLUME");
		backup_usage(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	if (u.fvek || u.fvek_file) {
		cli_error("--fvek does not give the recovery passwords (they are encrypted with the VMK): unlock "
			  "with a password, recovery password, startup key, --vmk or the clear key");
		rc = EXIT_USAGE;
		goto out;
	}
	if ((rc = cli_open(argv[optind], &u, false, &v)))
		goto out;
	if (id && (rc = cli_find_protector(v, id, &only)))
		goto out;
	if ((rc = cli_unlock_volume(v, &u)))
		goto out;
	bd_volume_info(v, &in);
	n_alloc = in.n_protectors ? in.n_protectors : 1;
	if (!(items = calloc(n_alloc, sizeof(*items)))) {
		rc = cli_fail(BD_ERR_NOMEM, NULL);
		goto out;
	}
	/* Reveal every password first: nothing is written unless all of them can be backed up. */
	for (size_t i = 0; i < in.n_protectors; i++) {
		struct bd_protector_info p;
		struct backup_item *it = &items[n_items];
		if ((only != (size_t)-1 && i != only) || bd_volume_protector(v, i, &p))
			continue;
		if (bd_protector_kind(p.type) != BD_PROT_RECOVERY_PASSWORD) {
			if (only == i) {
				cli_error("protector %s is a %s protector, not a recovery password: only recovery "
					  "passwords are backed up to AD", id, p.type_name);
				rc = EXIT_NO_PROTECTOR;
				goto out;
			}
			continue;
		}
		if ((r = bd_volume_recovery_password(v, i, it->rp))) {
			rc = cli_fail(r, argv[optind]);
			goto out;
		}
		memcpy(it->rec.recovery_guid, p.guid, 16);
		memcpy(it->rec.volume_guid, in.guid, 16);
		memcpy(it->key_id, p.key_id, sizeof(it->key_id));
		it->rec.has_volume_guid = 1;
		it->rec.recovery_password = it->rp;
		it->rec.when = (int64_t)time(NULL);
		bd_escrow_cn(&it->rec, it->cn, sizeof(it->cn));
		if ((r = bd_escrow_dn(&it->rec, computer, it->dn, sizeof(it->dn)))) {
			rc = cli_fail(r, NULL);
			goto out;
		}
		n_items++;
	}
	if (!n_items) {
		cli_error("%s has no recovery-password protector: nothing to back up (add one with "
			  "'bdkit protector add VOLUME recovery-password')", argv[optind]);
		rc = EXIT_NO_PROTECTOR;
		goto out;
	}
	if (!dry_run) {
		if ((rc = ldap_open(&d, &l)))
			goto out;
		for (size_t k = 0; k < n_items; k++) {
			if ((r = bd_ldap_backup(l, computer, &items[k].rec, items[k].dn, sizeof(items[k].dn)))) {
				rc = cli_fail(r, NULL);
				if (k)
					fprintf(stderr, "bdkit: %zu of %zu recovery passwords were backed up before "
						"this error (listed on stdout)\n", k, n_items);
				break;
			}
			items[k].written = true;
		}
	}
	char vg[39];
	cli_guid(in.guid, vg, true);
	if (d.json) {
		printf("{\n  \"computer\": ");
		cli_json_string(stdout, computer);
		printf(",\n  \"volume_guid\": \"%.36s\",\n  \"objects\": [", vg + 1);
	}
	for (size_t k = 0, shown = 0; k < n_items; k++) {
		struct backup_item *it = &items[k];
		char rg[39];
		if (!dry_run && !it->written)
			continue;
		cli_guid(it->rec.recovery_guid, rg, true);
		if (d.json) {
			printf("%s\n    {\"dn\": ", shown++ ? "," : "");
			cli_json_string(stdout, it->dn);
			printf(", \"cn\": ");
			cli_json_string(stdout, it->cn);
			printf(", \"recovery_guid\": \"%.36s\", \"key_id\": \"%s\"", rg + 1, it->key_id);
			if (show)
				printf(", \"recovery_password\": \"%s\"", it->rp);
			printf(", \"written\": %s}", dry_run ? "false" : "true");
		} else {
			char s[1024];
			printf("%s %s\n", dry_run ? "Would add" : "Added", cli_safe(it->dn, s, sizeof(s)));
			printf("  msFVE-RecoveryGuid:     %s (recovery-password protector, key ID %s)\n", rg, it->key_id);
			printf("  msFVE-VolumeGuid:       %s\n", vg);
			if (show)
				printf("  msFVE-RecoveryPassword: %s\n", it->rp);
			else
				printf("  msFVE-RecoveryPassword: (read from the volume; --show prints it)\n");
		}
	}
	if (d.json)
		printf("\n  ]\n}\n");
out:
	if (items) {
		explicit_bzero(items, n_alloc * sizeof(*items));
		free(items);
	}
	bd_ldap_close(l);
	bd_volume_close(v);
	cli_unlock_free(&u);
	dir_free(&d);
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
