/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit diagnose predict: will this change send the machine into BitLocker recovery? */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "eventlog_cli.h"

int cmd_diagnose_predict(int argc, char **argv);

#define MAX_CHANGES 16
#define MAX_FILE (64u << 20)
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bdkit diagnose predict LOG|FOLDER [--volume VOLUME | --pcrs LIST] CHANGE... [OPTIONS]\n"
		"Will a planned change send this machine into BitLocker recovery? The current boot's log (a\n"
		"MeasuredBoot folder: its newest clean boot) is replayed with the changes applied as the\n"
		"firmware will measure them on the next boot; every PCR the TPM protector is bound to is\n"
		"compared: if one changes, the TPM will not unseal the key (\"recovery: yes\").\n\n"
		"Changes (one or more, applied in order):\n"
		"      --dbx-update FILE   a dbx update (authenticated variable as Windows and fwupd ship it,\n"
		"                          e.g. DBXUpdate.bin, or bare EFI_SIGNATURE_LISTs); appended as the\n"
		"                          firmware appends (entries already there are not added twice)\n"
		"      --db-update FILE    the same for db (e.g. the Windows UEFI CA 2023 update)\n"
		"      --kek-update FILE   the same for KEK (e.g. the Microsoft KEK CA 2023 update)\n"
		"      --pk-update FILE    a new platform key (replaces PK)\n"
		"      --replace           the previous db/dbx/KEK update replaces the variable (no append)\n"
		"      --boot-app FILE     a new boot manager, shim or loader (PE/EFI file): its Authenticode hash\n"
		"                          in PCR 4 and the db certificate that signs it in PCR 7\n"
		"      --target NAME       the boot application the previous --boot-app replaces (a part of its\n"
		"                          path, e.g. bootmgfw.efi; default: the first one loaded from a disk)\n"
		"      --boot-order LIST   a new BootOrder, e.g. 0001,0000 (hex boot option numbers)\n"
		"      --secure-boot on|off\n\n"
		"Options:\n"
		"      --volume VOLUME     read the TPM protector's PCR profile from the BitLocker volume\n"
		"      --offset BYTES      the BitLocker volume starts here inside VOLUME\n"
		"      --pcrs LIST         bound PCRs, e.g. 7,11 or 0,2,4,11 (without --volume/--pcrs: both\n"
		"                          Windows defaults are answered)\n"
		"      --bank ALG          the bank the TPM seals to (default sha256, else sha1)\n"
		"      --json              machine-readable output\n"
		"  -h, --help              this help\n\n"
		"Exit status: 0 when a prediction was made (recovery or not: see \"recovery\"), 2 bad usage,\n"
		"5 an update file or the log is corrupt, 7 the log is truncated.\n");
}

static const char *kind_name(int kind)
{
	switch (kind) {
	case BD_CHANGE_DB: return "db-update";
	case BD_CHANGE_DBX: return "dbx-update";
	case BD_CHANGE_KEK: return "kek-update";
	case BD_CHANGE_PK: return "pk-update";
	case BD_CHANGE_BOOT_APP: return "boot-app";
	case BD_CHANGE_BOOT_ORDER: return "boot-order";
	case BD_CHANGE_SECURE_BOOT: return "secure-boot";
	}
	return "?";
}

static int parse_boot_order(const char *s, struct bd_change *c)
{
	char *end;

	c->n_boot_order = 0;
	while (*s) {
		unsigned long v = strtoul(s, &end, 16);
		if (end == s || v > 0xFFFF || c->n_boot_order == BD_MAX_BOOT_ORDER)
			return -1;
		c->boot_order[c->n_boot_order++] = (uint16_t)v;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return c->n_boot_order ? 0 : -1;
}

/* The current boot of a folder: its newest clean boot (else its newest complete log). */
static char *current_of_folder(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bd_bootset *set = NULL;
	char **names = NULL, *pick = NULL;
	size_t n = 0;

	if (!d) {
		cli_error("cannot read folder %s: %s", dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **p;
		if (len < 5 || strcasecmp(de->d_name + len - 4, ".log"))
			continue;
		if (!(p = realloc(names, (n + 1) * sizeof(*p))))
			break;
		names = p;
		if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	if (bd_bootset_new(&set))
		goto out;
	for (size_t i = 0; i < n; i++) {
		bd_eventlog *log;
		if (bd_eventlog_open(names[i], &log)) {
			cli_warn("skipping %s", bd_last_error());
			continue;
		}
		bd_bootset_add(set, names[i], log, NULL);
		bd_eventlog_free(log);
	}
	size_t m = bd_bootset_count(set), *ids = malloc((m + 1) * sizeof(*ids));
	if (ids) {
		bd_bootset_order(set, ids);
		for (int pass = 0; pass < 2 && !pick; pass++)
			for (size_t i = m; i-- > 0 && !pick;) {
				struct bd_boot_info bi;
				bd_bootset_boot(set, ids[i], &bi);
				if (pass ? bi.complete : bi.clean)
					pick = strdup(bi.name);
			}
		free(ids);
	}
	if (!pick)
		cli_error("%s holds no complete measured-boot log", dir);
out:
	bd_bootset_free(set);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return pick;
}

static void print_mask(uint32_t mask)
{
	char t[96];

	elc_pcr_list(mask, t, sizeof(t));
	printf("%s", t);
}

/* The image's Authenticode hashes and signatures (as judges like pesign/sbverify list them). */
static void boot_app_facts(const bd_eventlog *log, const struct bd_change *c, const char *file, bool json)
{
	static const uint16_t algs[] = { BD_ALG_SHA1, BD_ALG_SHA256, BD_ALG_SHA384, BD_ALG_SHA512 };
	struct bd_pe_signature sig[8];
	size_t nsig = 0, db_len = 0;
	const uint8_t *db = NULL;

	bd_eventlog_variable(log, "db", &db, &db_len, NULL);
	if (bd_pe_signatures(c->data, c->len, db, db_len, sig, 8, &nsig))
		nsig = 0;
	if (json) {
		printf(",\"file\":");
		cli_json_string(stdout, file);
		printf(",\"authenticode\":{");
		for (size_t i = 0; i < 4; i++) {
			uint8_t h[64];
			size_t hl;
			if (bd_authenticode_hash(c->data, c->len, algs[i], h, &hl))
				continue;
			printf("%s\"%s\":\"", i ? "," : "", bd_hash_alg_name(algs[i]));
			elc_hex(stdout, h, hl);
			printf("\"");
		}
		printf("},\"signatures\":[");
		for (size_t i = 0; i < nsig; i++) {
			printf("%s{\"signer\":", i ? "," : "");
			cli_json_string(stdout, sig[i].signer);
			printf(",\"issuer\":");
			cli_json_string(stdout, sig[i].issuer);
			printf(",\"digest_alg\":\"%s\",\"digest\":\"", bd_hash_alg_name(sig[i].digest_alg) ?
			       bd_hash_alg_name(sig[i].digest_alg) : "");
			elc_hex(stdout, sig[i].digest, sig[i].digest_len);
			printf("\",\"digest_matches\":%s,\"signature_valid\":%s,\"db_entry\":", sig[i].digest_matches ? "true" : "false",
			       sig[i].signature_valid ? "true" : "false");
			if (sig[i].db_index >= 0)
				printf("%ld", sig[i].db_index);
			else
				printf("null");
			printf(",\"db_subject\":");
			cli_json_string(stdout, sig[i].db_subject);
			printf(",\"problem\":");
			cli_json_string(stdout, sig[i].problem);
			printf("}");
		}
		printf("]");
		return;
	}
	for (size_t i = 0; i < 4; i++) {
		uint8_t h[64];
		size_t hl;
		if (bd_authenticode_hash(c->data, c->len, algs[i], h, &hl))
			continue;
		printf("    Authenticode %-7s ", bd_hash_alg_name(algs[i]));
		elc_hex(stdout, h, hl);
		printf("\n");
	}
	if (!nsig)
		printf("    not signed\n");
	for (size_t i = 0; i < nsig; i++) {
		printf("    signature %zu: %s\n      issued by %s\n      %s%s; ", i + 1, sig[i].signer, sig[i].issuer,
		       sig[i].digest_matches ? "covers this image" : "does NOT cover this image",
		       sig[i].signature_valid ? ", valid" : ", signature invalid");
		if (sig[i].db_index >= 0)
			printf("authorised by db entry %ld \"%s\"\n", sig[i].db_index, sig[i].db_subject);
		else
			printf("no certificate in db vouches for it%s%s\n", sig[i].problem[0] ? ": " : "", sig[i].problem);
	}
}

enum { OPT_JSON = OPT_CLI_LAST + 1, OPT_VOLUME, OPT_PCRS, OPT_BANK, OPT_OFF, OPT_DB, OPT_DBX, OPT_KEK, OPT_PK,
       OPT_REPLACE, OPT_APP, OPT_TARGET, OPT_ORDER, OPT_SB };

static const char advice[] =
	"Before making the change, suspend BitLocker so that the next boot unlocks with a clear key "
	"and re-seals to the new values: Windows: Suspend-BitLocker -MountPoint C: -RebootCount N "
	"(or manage-bde -protectors -disable C: -RebootCount N); offline: bdkit suspend --reboot-count N. "
	"N is the number of reboots the change takes: 1 for a db/dbx/KEK update or a new boot manager, "
	"2 when an update is applied on one reboot and measured on the next.";

/* One prediction: the planned changes and options, then the log and the predictions made. */
struct pred {
	struct bd_change ch[MAX_CHANGES];
	const char *files[MAX_CHANGES];  /* each change's argument as given */
	size_t n;
	const char *volume;
	uint32_t mask;
	uint16_t bank;
	int64_t offset;
	bool json;
	char profile_src[512], *current;
	bd_eventlog *log;
	struct bd_prediction *p[2];
	size_t np;
};

/* A planned-change option (--db-update ... --secure-boot, and --replace/--target on the change
 * before): 0 or an exit code. */
static int change_option(struct pred *P, int c, const char *arg)
{
	struct bd_change *ch = P->ch;
	size_t n = P->n;

	if ((c == OPT_DB || c == OPT_DBX || c == OPT_KEK || c == OPT_PK || c == OPT_APP || c == OPT_ORDER || c == OPT_SB) &&
	    n == MAX_CHANGES) {
		cli_error("at most %d changes at a time", MAX_CHANGES);
		return EXIT_USAGE;
	}
	switch (c) {
	case OPT_DB: case OPT_DBX: case OPT_KEK: case OPT_PK: case OPT_APP: {
		size_t len;
		uint8_t *d = elc_read_file(arg, MAX_FILE, &len);
		if (!d)
			return EXIT_IO;
		ch[n].kind = c == OPT_DB ? BD_CHANGE_DB : c == OPT_DBX ? BD_CHANGE_DBX : c == OPT_KEK ? BD_CHANGE_KEK
			     : c == OPT_PK ? BD_CHANGE_PK : BD_CHANGE_BOOT_APP;
		ch[n].data = d;
		ch[n].len = len;
		P->files[P->n++] = arg;
		break;
	}
	case OPT_REPLACE:
		if (!n || (ch[n - 1].kind != BD_CHANGE_DB && ch[n - 1].kind != BD_CHANGE_DBX && ch[n - 1].kind != BD_CHANGE_KEK)) {
			cli_error("--replace follows a --db-update, --dbx-update or --kek-update");
			return EXIT_USAGE;
		}
		ch[n - 1].replace = 1;
		break;
	case OPT_TARGET:
		if (!n || ch[n - 1].kind != BD_CHANGE_BOOT_APP) {
			cli_error("--target follows a --boot-app");
			return EXIT_USAGE;
		}
		ch[n - 1].target = arg;
		break;
	case OPT_ORDER:
		ch[n].kind = BD_CHANGE_BOOT_ORDER;
		if (parse_boot_order(arg, &ch[n])) {
			cli_error("--boot-order: '%s' is not a list of hex boot option numbers (e.g. 0001,0000)", arg);
			return EXIT_USAGE;
		}
		P->files[P->n++] = arg;
		break;
	case OPT_SB:
		if (strcmp(arg, "on") && strcmp(arg, "off")) {
			cli_error("--secure-boot: 'on' or 'off'");
			return EXIT_USAGE;
		}
		ch[n].kind = BD_CHANGE_SECURE_BOOT;
		ch[n].secure_boot = !strcmp(arg, "on");
		P->files[P->n++] = arg;
		break;
	}
	return 0;
}

/* -1 to go on, else the exit code to return. */
static int parse_options(struct pred *P, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, OPT_JSON }, { "volume", required_argument, 0, OPT_VOLUME },
		{ "pcrs", required_argument, 0, OPT_PCRS }, { "bank", required_argument, 0, OPT_BANK },
		{ "offset", required_argument, 0, OPT_OFF }, { "db-update", required_argument, 0, OPT_DB },
		{ "dbx-update", required_argument, 0, OPT_DBX }, { "kek-update", required_argument, 0, OPT_KEK },
		{ "pk-update", required_argument, 0, OPT_PK }, { "replace", no_argument, 0, OPT_REPLACE },
		{ "boot-app", required_argument, 0, OPT_APP }, { "target", required_argument, 0, OPT_TARGET },
		{ "boot-order", required_argument, 0, OPT_ORDER }, { "secure-boot", required_argument, 0, OPT_SB },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	int c, r;

	P->offset = -1;
	optind = 0;   /* getopt starts over on the predict arguments */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: P->json = true; break;
		case OPT_VOLUME: P->volume = optarg; break;
		case OPT_PCRS:
			if (elc_parse_pcr_list(optarg, &P->mask)) {
				cli_error("--pcrs: '%s' is not a list of PCR numbers 0-23 (e.g. 7,11 or 0,2,4,11)", optarg);
				return EXIT_USAGE;
			}
			snprintf(P->profile_src, sizeof(P->profile_src), "--pcrs");
			break;
		case OPT_BANK: {
			int a = bd_hash_alg_parse(optarg);
			if (a < 0) {
				cli_error("--bank: %s", bd_last_error());
				return EXIT_USAGE;
			}
			P->bank = (uint16_t)a;
			break;
		}
		case OPT_OFF: {
			uint64_t v;
			if (cli_parse_size(optarg, &v)) {
				cli_error("--offset: '%s' is not a byte count", optarg);
				return EXIT_USAGE;
			}
			P->offset = (int64_t)v;
			break;
		}
		case OPT_DB: case OPT_DBX: case OPT_KEK: case OPT_PK: case OPT_APP:
		case OPT_REPLACE: case OPT_TARGET: case OPT_ORDER: case OPT_SB:
			if ((r = change_option(P, c, optarg)))
				return r;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !P->n) {
		if (!P->n)
			cli_error("diagnose predict: name at least one planned change (--dbx-update, --boot-app ...)");
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

/* --volume: the PCR profile of its TPM protector (none: both Windows defaults). 0 or an exit code. */
static int profile_of_volume(struct pred *P)
{
	struct bd_open_opts oo = BD_OPEN_OPTS_INIT(.offset = P->offset, .writable = 0);
	bd_volume *v;
	struct bd_info info;
	int r;

	if ((r = bd_volume_open(P->volume, &oo, &v)))
		return cli_fail(r, P->volume);
	if (!bd_volume_info(v, &info))
		for (size_t i = 0; i < info.n_protectors && !P->mask; i++) {
			struct bd_protector_info pi;
			if (!bd_volume_protector(v, i, &pi) && pi.has_pcrs) {
				P->mask = pi.pcr_mask;
				snprintf(P->profile_src, sizeof(P->profile_src), "TPM protector of %s", P->volume);
			}
		}
	bd_volume_close(v);
	if (!P->mask)
		cli_warn("%s has no TPM protector with a PCR profile: answering for both Windows defaults", P->volume);
	return 0;
}

/* The current boot's log (a file, or the newest of a folder of logs), whole. 0 or an exit code. */
static int open_log(struct pred *P, const char *arg)
{
	struct stat st;
	const char *src = arg;
	int r;

	if (!stat(src, &st) && S_ISDIR(st.st_mode)) {
		if (!(P->current = current_of_folder(src)))
			return EXIT_USAGE;
		src = P->current;
	}
	if ((r = bd_eventlog_open(src, &P->log)))
		return cli_fail(r, NULL);
	struct bd_eventlog_info in;
	bd_eventlog_info(P->log, &in);
	if (!in.complete) {
		cli_error("%s: the log stops short at offset %" PRIu64 ": %s; a prediction needs the log of a whole "
			  "boot", src, in.incomplete_offset, in.incomplete);
		return EXIT_TRUNCATED;
	}
	if (!P->current && !(P->current = strdup(src)))
		return EXIT_FAILURE_OTHER;
	return 0;
}

static void print_pcr_list(uint32_t mask)
{
	for (unsigned q = 0, k = 0; q < BD_PCR_COUNT; q++)
		if (mask & (1u << q))
			printf("%s%u", k++ ? "," : "", q);
}

static void report_json(const struct pred *P)
{
	struct bd_prediction *const *p = P->p;
	size_t np = P->np;

	printf("{\"log\":");
	cli_json_string(stdout, P->current);
	printf(",\"bank\":\"%s\",\"changes\":[", bd_hash_alg_name(p[0]->bank) ? bd_hash_alg_name(p[0]->bank) : "");
	for (size_t k = 0; k < P->n; k++) {
		printf("%s{\"kind\":\"%s\"", k ? "," : "", kind_name(P->ch[k].kind));
		if (P->ch[k].kind == BD_CHANGE_BOOT_APP) {
			boot_app_facts(P->log, &P->ch[k], P->files[k], true);
		} else {
			printf(",\"argument\":");
			cli_json_string(stdout, P->files[k]);
		}
		printf("}");
	}
	printf("],\"notes\":[");
	for (size_t i = 0; i < p[0]->n_notes; i++) {
		const struct bd_evidence *e = &p[0]->notes[i];
		printf("%s", i ? "," : "");
		elc_evidence_json_open(e);
		printf(",\"event\":");
		elc_event_ref_json(e->good_index, e->good_offset);
		printf("}");
	}
	printf("],\"changed_pcrs\":[");
	print_pcr_list(p[0]->changed_pcrs);
	printf("],\"will_not_boot\":%s,\"profiles\":[", p[0]->will_not_boot ? "true" : "false");
	for (size_t i = 0; i < np; i++) {
		printf("%s{\"bound_pcrs\":[", i ? "," : "");
		print_pcr_list(p[i]->bound_pcrs);
		printf("],\"source\":");
		cli_json_string(stdout, np == 2 ? (i ? "0,2,4,11, the default without PCR 7 binding"
						  : "PCR 7 binding (7,11), the default with Secure Boot") : P->profile_src);
		printf(",\"recovery\":%s,\"pcrs\":[", p[i]->recovery ? "true" : "false");
		for (unsigned q = 0, k = 0; q < BD_PCR_COUNT; q++) {
			if (!(p[i]->bound_pcrs & (1u << q)))
				continue;
			printf("%s{\"pcr\":%u,\"changes\":%s,\"current\":\"", k++ ? "," : "", q,
			       p[i]->changed_pcrs & (1u << q) ? "true" : "false");
			elc_hex(stdout, p[i]->current[q], p[i]->digest_len);
			printf("\",\"predicted\":\"");
			elc_hex(stdout, p[i]->predicted[q], p[i]->digest_len);
			printf("\"}");
		}
		printf("]}");
	}
	printf("],\"recovery\":%s,\"advice\":", p[0]->recovery || (np == 2 && p[1]->recovery) ? "true" : "false");
	cli_json_string(stdout, p[0]->recovery || (np == 2 && p[1]->recovery) ? advice : "");
	printf("}\n");
}

static void report_text(const struct pred *P)
{
	struct bd_prediction *const *p = P->p;
	size_t np = P->np;

	printf("Current boot:  %s (bank %s)\n", P->current,
	       bd_hash_alg_name(p[0]->bank) ? bd_hash_alg_name(p[0]->bank) : "?");
	for (size_t k = 0; k < P->n; k++) {
		printf("Change %zu:      %s %s\n", k + 1, kind_name(P->ch[k].kind), P->files[k]);
		if (P->ch[k].kind == BD_CHANGE_BOOT_APP)
			boot_app_facts(P->log, &P->ch[k], P->files[k], false);
	}
	printf("\nWhat the next boot measures differently:\n");
	for (size_t i = 0; i < p[0]->n_notes; i++) {
		const struct bd_evidence *e = &p[0]->notes[i];
		char ref[64] = "";
		if (e->good_index >= 0)
			snprintf(ref, sizeof(ref), " [#%ld @%" PRIu64 "]", e->good_index, e->good_offset);
		printf("  - %s%s\n", e->text, ref);
	}
	printf("  PCRs that change: ");
	print_mask(p[0]->changed_pcrs);
	printf("\n");
	if (p[0]->will_not_boot)
		printf("\nWARNING: Secure Boot will refuse part of this boot path: the machine will not boot it at all (no "
		       "BitLocker prompt); see above.\n");
	for (size_t i = 0; i < np; i++) {
		printf("\nProfile ");
		print_mask(p[i]->bound_pcrs);
		printf(" [%s]:\n", np == 2 ? (i ? "0,2,4,11, the default without PCR 7 binding"
					     : "PCR 7 binding, the default with Secure Boot") : P->profile_src);
		for (unsigned q = 0; q < BD_PCR_COUNT; q++) {
			if (!(p[i]->bound_pcrs & (1u << q)))
				continue;
			printf("  PCR %2u: %s", q, p[i]->changed_pcrs & (1u << q) ? "CHANGES   " : "unchanged ");
			elc_hex(stdout, p[i]->current[q], MIN(p[i]->digest_len, (size_t)8));
			if (p[i]->changed_pcrs & (1u << q)) {
				printf("... -> ");
				elc_hex(stdout, p[i]->predicted[q], MIN(p[i]->digest_len, (size_t)8));
			}
			printf("...\n");
		}
		printf("  recovery: %s\n", p[i]->recovery ? "YES - the TPM will not unseal the key after this change"
			       : "no - the TPM still unseals the key");
	}
	if (p[0]->recovery || (np == 2 && p[1]->recovery))
		printf("\nAdvice: %s\n", advice);
}

/* Predict the PCRs after the changes: for the profile given or found, else for both Windows
 * defaults. 0 or an exit code. */
static int predict(struct pred *P)
{
	int r;

	P->np = P->mask ? 1 : 2;
	for (size_t i = 0; i < P->np; i++) {
		uint32_t m = P->np == 2 ? (i ? 0x815u : 0x880u) : P->mask;
		if ((r = bd_predict(P->log, P->ch, P->n, m, P->bank, &P->p[i])))
			return cli_fail(r, "prediction failed");
	}
	return 0;
}

int cmd_diagnose_predict(int argc, char **argv)
{
	struct pred P;
	int r;

	memset(&P, 0, sizeof(P));
	r = parse_options(&P, argc, argv);
	if (r < 0 && !(r = P.volume ? profile_of_volume(&P) : 0) && !(r = open_log(&P, argv[optind])) &&
	    !(r = predict(&P))) {
		if (P.json)
			report_json(&P);
		else
			report_text(&P);
	}
	for (size_t k = 0; k < P.n; k++)
		if (P.ch[k].kind != BD_CHANGE_BOOT_ORDER && P.ch[k].kind != BD_CHANGE_SECURE_BOOT)
			free((void *)P.ch[k].data);
	bd_prediction_free(P.p[0]);
	bd_prediction_free(P.p[1]);
	bd_eventlog_free(P.log);
	free(P.current);
	return r;
}
