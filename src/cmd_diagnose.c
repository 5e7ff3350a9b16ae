/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit diagnose: explain why a machine fell into BitLocker recovery from its measured-boot logs. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "eventlog_cli.h"

int cmd_diagnose_predict(int argc, char **argv);

#define WRAP 100

struct names {
	char **v;
	size_t n;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A MeasuredBoot folder: every *.log in name order (<boot>-<resume>.log sorts by time). */
static int list_dir(struct names *out, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t first = out->n;

	if (!d) {
		cli_error("cannot read folder %s: %s", dir, strerror(errno));
		return EXIT_IO;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **p;
		if (len < 5 || strcasecmp(de->d_name + len - 4, ".log"))
			continue;
		p = realloc(out->v, (out->n + 1) * sizeof(*p));
		if (!p)
			break;
		out->v = p;
		if (asprintf(&out->v[out->n], "%s/%s", dir, de->d_name) < 0)
			break;
		out->n++;
	}
	closedir(d);
	qsort(out->v + first, out->n - first, sizeof(*out->v), cmp_name);
	if (out->n == first)
		cli_warn("%s holds no *.log files", dir);
	return 0;
}

static void print_mask(FILE *f, uint32_t mask, bool json)
{
	bool first = true;

	for (unsigned i = 0; i < BD_PCR_COUNT; i++) {
		if (!(mask & (1u << i)))
			continue;
		fprintf(f, "%s%u", first ? "" : json ? "," : ", ", i);
		first = false;
	}
	if (first && !json)
		fprintf(f, "none");
}

/* PCR profile and protector kinds from the volume's metadata (read through the public API). */
static int volume_profile(const char *path, int64_t offset, struct bd_diag_opts *o, uint32_t *mask,
			  char *src, size_t srclen)
{
	struct bd_open_opts oo = BD_OPEN_OPTS_INIT(.offset = offset, .writable = 0);
	bd_volume *v;
	struct bd_info info;
	int r = bd_volume_open(path, &oo, &v);

	if (r)
		return cli_fail(r, path);
	if ((r = bd_volume_info(v, &info))) {
		bd_volume_close(v);
		return cli_fail(r, path);
	}
	o->protector_known = 1;
	for (size_t i = 0; i < info.n_protectors; i++) {
		struct bd_protector_info p;
		if (bd_volume_protector(v, i, &p))
			continue;
		uint16_t kind = bd_protector_kind(p.type);
		bool tpm = kind >= BD_PROT_TPM && kind <= BD_PROT_TPM_PIN_STARTUP_KEY_2;
		if (!tpm)
			continue;
		o->has_tpm_protector = 1;
		o->tpm_protector_type = p.type;
		if (p.has_pcrs && !*mask) {
			*mask = p.pcr_mask;
			snprintf(src, srclen, "TPM protector (%s) of %s", p.type_name ? p.type_name : "TPM", path);
		}
	}
	bd_volume_close(v);
	return 0;
}

/* ---- output ---- */

static void put_text(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		putchar(p[i] == '\x01' ? ' ' : p[i]);
}

/* Print text wrapped at WRAP columns: first line after `first`, the others after `cont`.
 * '\x01' is a space that does not break (event references stay on one line). */
static void wrapped(const char *first, const char *cont, const char *text)
{
	size_t col = strlen(first), indent = strlen(cont);
	const char *p = text;

	fputs(first, stdout);
	while (*p) {
		size_t room = WRAP > col ? WRAP - col : 20, len = strlen(p);
		if (len <= room) {
			put_text(p, len);
			break;
		}
		/* break at the last space (or '/' of a long path) within the room */
		size_t cut = room;
		while (cut > room / 3 && p[cut] != ' ' && p[cut - 1] != '/' && p[cut - 1] != ',')
			cut--;
		if (cut <= room / 3)
			cut = room;
		put_text(p, cut);
		p += cut;
		while (*p == ' ')
			p++;
		printf("\n%s", cont);
		col = indent;
	}
	printf("\n");
}

static void evidence_ref(const struct bd_evidence *e, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = 0;
	if (e->good_index >= 0)
		o += (size_t)snprintf(out + o, outlen - o, "good\x01#%ld\x01@%" PRIu64, e->good_index, e->good_offset);
	if (e->bad_index >= 0 && o < outlen)
		o += (size_t)snprintf(out + o, outlen - o, "%sbad\x01#%ld\x01@%" PRIu64, o ? ",\x01" : "", e->bad_index,
				      e->bad_offset);
}

static void json_finding(const struct bd_finding *f)
{
	printf("{\"cause\":\"%s\",\"title\":", bd_cause_id(f->cause));
	cli_json_string(stdout, bd_cause_title(f->cause));
	printf(",\"confidence\":\"%s\",\"bound\":%s,\"pcrs\":[", bd_confidence_name(f->confidence),
	       f->bound ? "true" : "false");
	print_mask(stdout, f->pcrs, true);
	printf("],\"evidence\":[");
	for (size_t k = 0; k < f->n_evidence; k++) {
		const struct bd_evidence *e = &f->evidence[k];
		printf("%s", k ? "," : "");
		elc_evidence_json_open(e);
		printf(",\"good_event\":");
		elc_event_ref_json(e->good_index, e->good_offset);
		printf(",\"bad_event\":");
		elc_event_ref_json(e->bad_index, e->bad_offset);
		printf("}");
	}
	printf("],\"evidence_omitted\":%zu,\"advice\":", f->evidence_dropped);
	cli_json_string(stdout, bd_cause_advice(f->cause));
	printf("}");
}

struct side {
	const char *path;
	bd_eventlog *log;
	struct bd_eventlog_info info;
	struct bd_quote_check quote;
	long resume;
};

static void describe_boot(const struct side *e, char *out, size_t outlen)
{
	char flags[128];
	size_t n = 0;

	out[0] = 0;
	if (!e)
		return;
	if (e->info.has_boot_count)
		n = (size_t)snprintf(out, outlen, "boot %" PRIu64 "%s, ", e->info.boot_count,
				     e->resume > 0 ? " (resume from hibernation)" : "");
	if (e->info.has_unlock) {
		bd_unlock_flags_format(e->info.unlock_flags, flags, sizeof(flags));
		snprintf(out + n, outlen - n, "unlocked by %s", flags);
	} else {
		snprintf(out + n, outlen - n, "%s", e->info.windows ? "no BitLocker unlock logged" : "no Windows events");
	}
}

static void json_side(const char *key, const struct side *s)
{
	printf("\"%s\":", key);
	if (!s) {
		printf("null");
		return;
	}
	cli_json_string(stdout, s->path);
}

static void json_diagnosis(const struct bd_diagnosis *d, const char *profile_src)
{
	printf("\"bank\":\"%s\",\"bound_pcrs\":[", d->bank && bd_hash_alg_name(d->bank) ? bd_hash_alg_name(d->bank) : "");
	print_mask(stdout, d->bound_pcrs, true);
	printf("],\"profile_source\":");
	cli_json_string(stdout, profile_src);
	printf(",\"compared\":%s,\"differing_pcrs\":[", d->compared ? "true" : "false");
	print_mask(stdout, d->differing_pcrs, true);
	printf("],\"differing_bound_pcrs\":[");
	print_mask(stdout, d->differing_pcrs & d->bound_pcrs, true);
	printf("],\"volatile_pcrs\":[");
	print_mask(stdout, d->volatile_pcrs, true);
	printf("],\"good_boots_seen\":%zu,\"same_machine\":%s,\"different_platform\":%s,\"identity\":[", d->good_boots_seen,
	       d->same_machine < 0 ? "null" : d->same_machine ? "true" : "false", d->different_platform ? "true" : "false");
	for (size_t i = 0; i < d->n_identity; i++) {
		if (i)
			printf(",");
		cli_json_string(stdout, d->identity[i]);
	}
	printf("],\"findings\":[");
	for (size_t i = 0; i < d->n_findings; i++) {
		if (i)
			printf(",");
		json_finding(&d->findings[i]);
	}
	printf("]");
}

static void text_findings(const struct bd_diagnosis *d, bool compared)
{
	size_t nb = 0, nv = 0;

	for (size_t i = 0; i < d->n_findings; i++) {
		if (d->findings[i].cause == BD_CAUSE_VOLATILE)
			nv++;
		else
			nb += d->findings[i].bound;
	}
	if (!nb)
		printf("No cause of recovery found: %s\n\n",
		       compared ? "the bound PCRs are equal (or differ only in volatile measurements) and the bad boot "
				  "shows no recovery evidence"
				: "the bad boot shows no recovery evidence, and without a good boot no PCR change can be seen");
	for (size_t i = 0, k = 0; i < d->n_findings; i++) {
		const struct bd_finding *f = &d->findings[i];
		char head[64], ref[96];
		if (!f->bound || f->cause == BD_CAUSE_VOLATILE)
			continue;
		char *title;
		snprintf(head, sizeof(head), "Cause %zu [%s confidence]: ", ++k, bd_confidence_name(f->confidence));
		if (asprintf(&title, "%s  (%s)", bd_cause_title(f->cause), bd_cause_id(f->cause)) < 0)
			continue;
		wrapped(head, "    ", title);
		free(title);
		for (size_t e = 0; e < f->n_evidence; e++) {
			char *line;
			evidence_ref(&f->evidence[e], ref, sizeof(ref));
			if (asprintf(&line, "%s%s%s%s", f->evidence[e].text, ref[0] ? " [" : "", ref, ref[0] ? "]" : "") < 0)
				continue;
			wrapped("  - ", "      ", line);
			free(line);
		}
		if (f->evidence_dropped)
			printf("  - ... and %zu more (--json lists up to %d)\n", f->evidence_dropped, BD_FINDING_MAX_EVIDENCE);
		wrapped("  Advice: ", "    ", bd_cause_advice(f->cause));
		printf("\n");
	}
	if (nv) {
		printf("Volatile measurements (they differ between good boots too; not blamed for this recovery):\n");
		for (size_t i = 0; i < d->n_findings; i++) {
			const struct bd_finding *f = &d->findings[i];
			char ref[96];
			if (f->cause != BD_CAUSE_VOLATILE)
				continue;
			for (size_t e = 0; e < f->n_evidence; e++) {
				char *line;
				evidence_ref(&f->evidence[e], ref, sizeof(ref));
				if (asprintf(&line, "%s [%s]", f->evidence[e].text, ref) < 0)
					continue;
				wrapped("  - ", "      ", line);
				free(line);
			}
		}
		wrapped("  Note: ", "    ", bd_cause_advice(BD_CAUSE_VOLATILE));
		printf("\n");
	}
	if (nb + nv < d->n_findings) {
		printf("Changes in PCRs the protector is not bound to (they do not cause recovery by themselves):\n");
		for (size_t i = 0; i < d->n_findings; i++) {
			const struct bd_finding *f = &d->findings[i];
			char ref[96];
			if (f->bound)
				continue;
			printf("  %s [%s]:\n", bd_cause_id(f->cause), bd_confidence_name(f->confidence));
			for (size_t e = 0; e < f->n_evidence; e++) {
				char *line;
				evidence_ref(&f->evidence[e], ref, sizeof(ref));
				if (asprintf(&line, "%s%s%s%s", f->evidence[e].text, ref[0] ? " [" : "", ref, ref[0] ? "]" : "") < 0)
					continue;
				wrapped("    - ", "        ", line);
				free(line);
			}
		}
	}
}

static void report(const struct bd_diagnosis *const *d, size_t nd, const char *const *profile_src,
		   const struct side *good, const struct side *bad, bool json)
{
	char gdesc[200], bdesc[200];

	describe_boot(good, gdesc, sizeof(gdesc));
	describe_boot(bad, bdesc, sizeof(bdesc));
	if (json) {
		printf("{");
		json_side("good", good);
		printf(",");
		json_side("bad", bad);
		printf(",\"good_unlock_flags\":");
		if (d[0]->good_unlock >= 0)
			printf("%d", d[0]->good_unlock);
		else
			printf("null");
		printf(",\"bad_unlock_flags\":");
		if (d[0]->bad_unlock >= 0)
			printf("%d", d[0]->bad_unlock);
		else
			printf("null");
		printf(",\"good_quote\":");
		if (good)
			elc_quote_json(&good->quote);
		else
			printf("null");
		printf(",\"bad_quote\":");
		elc_quote_json(&bad->quote);
		printf(",\"good_digest_mismatches\":%d,\"bad_digest_mismatches\":%d,", good ? good->info.digest_mismatches : 0,
		       bad->info.digest_mismatches);
		json_diagnosis(d[0], profile_src[0]);
		printf(",\"readings\":[");
		for (size_t i = 0; i < nd; i++) {
			printf("%s{", i ? "," : "");
			json_diagnosis(d[i], profile_src[i]);
			printf("}");
		}
		printf("]}\n");
		return;
	}
	printf("Good boot:      %s%s%s%s\n", good ? good->path : "(none: only the bad boot is examined)",
	       good ? " (" : "", gdesc, good ? ")" : "");
	printf("Bad boot:       %s (%s)\n", bad->path, bdesc);
	for (int s = 0; s < 2; s++) {
		const struct side *x = s ? bad : good;
		if (!x)
			continue;
		if (x->quote.present)
			printf("%s TPM quote: %s (event %zu)\n", s ? "Bad boot's " : "Good boot's", elc_quote_verdict(&x->quote),
			       x->quote.index);
		if (x->info.digest_mismatches)
			printf("%s log:  %d event(s) whose digest is not the hash of their data: the log was edited or is "
			       "damaged there\n", s ? "Bad boot's " : "Good boot's", x->info.digest_mismatches);
	}
	if (good) {
		const struct bd_diagnosis *x = d[0];
		printf("Compared bank:  %s\n", x->bank && bd_hash_alg_name(x->bank) ? bd_hash_alg_name(x->bank)
		       : "none in common (events compared by their data)");
		printf("Same machine:   %s\n", x->same_machine == 1 ? "yes" : x->same_machine == 0
		       ? "NO: the logs come from different machines (events compared anyway)"
		       : "unsure (events compared anyway; see the identity evidence)");
		for (size_t i = 0; i < x->n_identity; i++)
			wrapped("                - ", "                  ", x->identity[i]);
		if (x->volatile_pcrs) {
			printf("Volatile PCRs:  ");
			print_mask(stdout, x->volatile_pcrs, false);
			printf(" (differ between the %zu good boots of the folder)\n", x->good_boots_seen);
		}
	}
	for (size_t i = 0; i < nd; i++) {
		const struct bd_diagnosis *x = d[i];
		if (nd > 1)
			printf("\n=== Reading %zu of %zu: if the protector is bound to PCRs ", i + 1, nd);
		else
			printf("PCR profile:    ");
		print_mask(stdout, x->bound_pcrs, false);
		printf(nd > 1 ? " ===\n" : "  [%s]\n", profile_src[i]);
		if (good) {
			printf("Differing PCRs: bound: ");
			print_mask(stdout, x->differing_pcrs & x->bound_pcrs, false);
			printf("; not bound: ");
			print_mask(stdout, x->differing_pcrs & ~x->bound_pcrs, false);
			printf("\n");
		}
		printf("\n");
		text_findings(x, good != NULL);
	}
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bdkit diagnose [OPTIONS] [LOG|FOLDER ...]\n"
		"       bdkit diagnose predict LOG|FOLDER (--volume V | --pcrs LIST) CHANGE...   (see --help there)\n"
		"Explain why a machine fell into BitLocker recovery, from its measured-boot logs\n"
		"(C:\\Windows\\Logs\\MeasuredBoot\\*.log; a folder is read as a whole, one log at a time).\n"
		"The newest log whose BitLocker unlock used the recovery key is the bad boot; the newest\n"
		"earlier clean boot unlocked by the TPM (a cold boot before a resume) the good one. Their\n"
		"PCRs are compared on the PCRs the TPM protector is bound to, the events of each differing PCR\n"
		"are aligned by content and every difference is named with a confidence and advice; PCRs\n"
		"that differ between the folder's good boots too are reported as volatile, not blamed.\n\n"
		"Options:\n"
		"      --good LOG       the last boot that unlocked normally\n"
		"      --bad LOG        the boot that went into recovery\n"
		"      --volume VOLUME  read the TPM protector's PCR profile (and protector kinds) from the\n"
		"                       BitLocker volume (no secret needed)\n"
		"      --offset BYTES   the BitLocker volume starts here inside VOLUME\n"
		"      --pcrs LIST      bound PCRs, e.g. 7,11 or 0,2,4,11 (default: from --volume, else the\n"
		"                       Windows default for the good boot's Secure Boot state; with no good\n"
		"                       boot both profiles are read)\n"
		"      --bank ALG       compare this digest bank (sha1, sha256...; default sha256, else sha1)\n"
		"      --aik FILE       AIK public key (PEM/DER) to verify the TPM quote in Windows logs\n"
		"      --json           machine-readable output for fleet scripts\n"
		"  -h, --help           this help\n\n"
		"Each evidence line names the events it is about (good #INDEX @OFFSET, bad #...); show one\n"
		"with 'bdkit eventlog show LOG --index INDEX'.\n\n"
		"Exit status: 0 when a diagnosis was made (whatever it found), 2 bad usage, 5 a log is not\n"
		"an event log or is corrupt, 7 a log is truncated (the message names the offset), see bdkit(1).\n");
}

static int open_side(struct side *s, const char *path, const uint8_t *aik, size_t aik_len)
{
	int r = bd_eventlog_open(path, &s->log);

	s->path = path;
	if (r)
		return cli_fail(r, NULL);
	bd_eventlog_info(s->log, &s->info);
	if (!s->info.complete) {
		cli_error("%s: the log stops short at offset %" PRIu64 ": %s; it is truncated (or not the log of a "
			  "whole boot): no diagnosis", path, s->info.incomplete_offset, s->info.incomplete);
		return EXIT_TRUNCATED;
	}
	bd_eventlog_quote(s->log, aik, aik_len, &s->quote);
	s->resume = -1;
	return 0;
}

/* One diagnosis: the options, then the boots read and the diagnoses made. */
struct diag {
	const char *good_path, *bad_path, *volume, *aik_path;
	struct bd_diag_opts o;
	struct names names;
	bd_bootset *set;
	size_t good_id, bad_id;
	struct side good, bad;
	struct bd_diagnosis *d[2];
	char profile_src[2][512];
	uint8_t *aik;
	size_t aik_len, nd;
	uint32_t mask;
	bool json, have_good;
	int64_t offset;
};

/* -1 to go on, else the exit code to return. */
static int parse_options(struct diag *D, int argc, char **argv)
{
	enum { OPT_JSON = OPT_CLI_LAST + 1, OPT_GOOD, OPT_BAD, OPT_VOLUME, OPT_PCRS, OPT_BANK, OPT_OFF, OPT_AIK };
	static const struct option opts[] = {
		{ "json", no_argument, 0, OPT_JSON }, { "good", required_argument, 0, OPT_GOOD },
		{ "bad", required_argument, 0, OPT_BAD }, { "volume", required_argument, 0, OPT_VOLUME },
		{ "pcrs", required_argument, 0, OPT_PCRS }, { "bank", required_argument, 0, OPT_BANK },
		{ "offset", required_argument, 0, OPT_OFF }, { "aik", required_argument, 0, OPT_AIK },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: D->json = true; break;
		case OPT_GOOD: D->good_path = optarg; break;
		case OPT_BAD: D->bad_path = optarg; break;
		case OPT_VOLUME: D->volume = optarg; break;
		case OPT_AIK: D->aik_path = optarg; break;
		case OPT_PCRS:
			if (elc_parse_pcr_list(optarg, &D->mask)) {
				cli_error("--pcrs: '%s' is not a list of PCR numbers 0-23 (e.g. 7,11 or 0,2,4,11)", optarg);
				return EXIT_USAGE;
			}
			snprintf(D->profile_src[0], sizeof(D->profile_src[0]), "--pcrs");
			break;
		case OPT_BANK: {
			int a = bd_hash_alg_parse(optarg);
			if (a < 0) {
				cli_error("--bank: %s", bd_last_error());
				return EXIT_USAGE;
			}
			D->o.bank = (uint16_t)a;
			break;
		}
		case OPT_OFF: {
			uint64_t v;
			if (cli_parse_size(optarg, &v)) {
				cli_error("--offset: '%s' is not a byte count", optarg);
				return EXIT_USAGE;
			}
			D->offset = (int64_t)v;
			break;
		}
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc && !D->bad_path) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

/* The logs named on the command line (folders: every log in them). 0 or an exit code. */
static int gather_names(struct names *names, int argc, char **argv)
{
	int r = 0;

	for (int i = optind; i < argc && !r; i++) {
		struct stat st;
		if (!stat(argv[i], &st) && S_ISDIR(st.st_mode)) {
			r = list_dir(names, argv[i]);
		} else {
			char **p = realloc(names->v, (names->n + 1) * sizeof(*p));
			if (!p)
				return EXIT_FAILURE_OTHER;
			names->v = p;
			if (!(p[names->n] = strdup(argv[i])))
				return EXIT_FAILURE_OTHER;
			names->n++;
		}
	}
	return r;
}

/* Every boot, one log at a time: only a summary of each is kept; the boots named by --bad and
 * --good join the set too (for volatility and counters). 0 or an exit code. */
static int read_boots(struct diag *D)
{
	int r;

	if ((r = bd_bootset_new(&D->set)))
		return cli_fail(r, NULL);
	for (size_t i = 0; i < D->names.n; i++) {
		bd_eventlog *log;
		int e = bd_eventlog_open(D->names.v[i], &log);
		if (e) {
			if (D->names.n > 1 || D->bad_path || D->good_path) {
				cli_warn("skipping %s", bd_last_error());
				continue;
			}
			return cli_fail(e, NULL);
		}
		e = bd_bootset_add(D->set, D->names.v[i], log, NULL);
		bd_eventlog_free(log);
		if (e)
			return cli_fail(e, NULL);
	}
	const char *p2[2] = { D->bad_path, D->good_path };
	for (int k = 0; k < 2; k++) {
		bd_eventlog *log;
		size_t id;
		if (!p2[k])
			continue;
		if ((r = bd_eventlog_open(p2[k], &log)))
			return cli_fail(r, NULL);
		r = bd_bootset_add(D->set, p2[k], log, &id);
		bd_eventlog_free(log);
		if (r)
			return cli_fail(r, NULL);
		if (k == 0)
			D->bad_id = id;
		else
			D->good_id = id;
	}
	return 0;
}

/* The bad boot to explain and the good boot to compare with: as named, else a single log, else
 * the set's own pick; with only --bad, the newest clean boot other than it. 0 or an exit code. */
static int pick_boots(struct diag *D)
{
	bd_bootset *set = D->set;

	if (D->bad_id == (size_t)-1) {
		size_t gi, bi;
		if (bd_bootset_count(set) == 1 && !D->good_path) {
			D->bad_id = 0;   /* a single log: it is the boot to examine */
		} else if (bd_bootset_pick(set, &gi, &bi)) {
			cli_error("%s", bd_last_error());
			return EXIT_USAGE;
		} else {
			D->bad_id = bi;
			if (D->good_id == (size_t)-1)
				D->good_id = gi;
		}
	} else if (D->good_id == (size_t)-1) {
		/* --bad given: the newest clean boot other than it */
		size_t n = bd_bootset_count(set), *ids = malloc((n + 1) * sizeof(*ids));
		if (ids) {
			bd_bootset_order(set, ids);
			for (int pass = 0; pass < 2 && D->good_id == (size_t)-1; pass++)
				for (size_t i = n; i-- > 0;) {
					struct bd_boot_info bi;
					bd_bootset_boot(set, ids[i], &bi);
					if (ids[i] != D->bad_id && bi.clean && (pass || bi.resume_count <= 0)) {
						D->good_id = ids[i];
						break;
					}
				}
			free(ids);
		}
	}
	struct bd_boot_info bi;
	int r;
	bd_bootset_boot(set, D->bad_id, &bi);
	if ((r = open_side(&D->bad, bi.name, D->aik, D->aik_len)))
		return r;
	D->bad.resume = bi.resume_count;
	if (D->good_id != (size_t)-1) {
		bd_bootset_boot(set, D->good_id, &bi);
		if ((r = open_side(&D->good, bi.name, D->aik, D->aik_len)))
			return r;
		D->good.resume = bi.resume_count;
		D->have_good = true;
	}
	return 0;
}

/* Diagnose the bad boot (under both Windows defaults when nothing tells the profile) and report. */
static int diagnose_and_report(struct diag *D)
{
	struct bd_diag_opts *o = &D->o;
	int r;

	if (!D->have_good && !D->json)
		cli_warn("no good boot (unlocked by the TPM) among the logs: only causes visible in the bad boot are reported");
	o->boots = D->set;
	o->good_id = D->good_id;
	o->bad_id = D->bad_id;
	o->pcr_mask = D->mask;
	D->nd = 1;
	if (!D->mask && !D->have_good) {
		/* nothing tells the profile: read the bad boot under both Windows defaults */
		D->nd = 2;
		snprintf(D->profile_src[0], sizeof(D->profile_src[0]), "PCR 7 binding (7,11), the default with Secure Boot");
		snprintf(D->profile_src[1], sizeof(D->profile_src[1]), "0,2,4,11, the default without PCR 7 binding");
	}
	for (size_t i = 0; i < D->nd; i++) {
		o->pcr_mask = D->nd == 2 ? (i == 0 ? 0x880u : 0x815u) : D->mask;
		if ((r = bd_diagnose(D->have_good ? D->good.log : NULL, D->bad.log, o, &D->d[i])))
			return cli_fail(r, "diagnosis failed");
	}
	if (!D->profile_src[0][0])
		snprintf(D->profile_src[0], sizeof(D->profile_src[0]), "Windows default for UEFI %s Secure Boot in the good boot "
			 "(assumed; give --volume or --pcrs)", D->d[0]->bound_pcrs == 0x880 ? "with" : "without");
	const char *srcs[2] = { D->profile_src[0], D->profile_src[1] };
	report((const struct bd_diagnosis *const *)D->d, D->nd, srcs, D->have_good ? &D->good : NULL, &D->bad, D->json);
	return EXIT_OK;
}

int cmd_diagnose(int argc, char **argv)
{
	struct diag D = { .good_id = (size_t)-1, .bad_id = (size_t)-1, .offset = -1, .o = BD_DIAG_OPTS_INIT() };
	int r;

	if (argc > 1 && !strcmp(argv[1], "predict"))
		return cmd_diagnose_predict(argc - 1, argv + 1);
	if ((r = parse_options(&D, argc, argv)) >= 0)
		return r;
	if (D.aik_path && !(D.aik = elc_read_file(D.aik_path, 1 << 20, &D.aik_len)))
		return EXIT_IO;
	r = 0;
	if (D.volume) {
		char *src = D.profile_src[0];
		if ((r = volume_profile(D.volume, D.offset, &D.o, &D.mask, src, sizeof(D.profile_src[0]))))
			goto out;
		if (!D.o.has_tpm_protector && !src[0])
			snprintf(src, sizeof(D.profile_src[0]), "%s has no TPM protector; Windows default assumed",
				 D.volume);
	}
	if (!(r = gather_names(&D.names, argc, argv)) && !(r = read_boots(&D)) && !(r = pick_boots(&D)))
		r = diagnose_and_report(&D);
out:
	for (size_t i = 0; i < 2; i++)
		bd_diagnosis_free(D.d[i]);
	bd_eventlog_free(D.good.log);
	bd_eventlog_free(D.bad.log);
	bd_bootset_free(D.set);
	for (size_t i = 0; i < D.names.n; i++)
		free(D.names.v[i]);
	free(D.names.v);
	free(D.aik);
	return r;
}
