/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit diagnose: explain why a machine fell into BitLocker recovery from its measured-boot logs. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"

struct logent {
	char *path;
	bd_eventlog *log;
	struct bd_eventlog_info info;
	size_t order;
};

struct logset {
	struct logent *v;
	size_t n, cap;
};

static int add_log(struct logset *s, const char *path, bool from_dir)
{
	bd_eventlog *log;
	int r = bd_eventlog_open(path, &log);

	if (r) {
		if (from_dir) {
			cli_warn("skipping %s", bd_last_error());
			return 0;
		}
		return cli_fail(r, NULL);
	}
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		void *p = realloc(s->v, ncap * sizeof(*s->v));
		if (!p) {
			bd_eventlog_free(log);
			cli_error("out of memory");
			return EXIT_FAILURE_OTHER;
		}
		s->v = p;
		s->cap = ncap;
	}
	s->v[s->n].path = strdup(path);
	s->v[s->n].log = log;
	bd_eventlog_info(log, &s->v[s->n].info);
	s->v[s->n].order = s->n;
	s->n++;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A MeasuredBoot folder: every *.log in name order (<boot>-<resume>.log sorts by time). */
static int add_dir(struct logset *s, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int r = 0;

	if (!d) {
		cli_error("cannot read folder %s: %s", dir, strerror(errno));
		return EXIT_IO;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcasecmp(de->d_name + len - 4, ".log"))
			continue;
		char **p = realloc(names, (n + 1) * sizeof(*names));
		if (!p)
			break;
		names = p;
		if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		if (!r)
			r = add_log(s, names[i], true);
		free(names[i]);
	}
	free(names);
	if (!r && !n)
		cli_warn("%s holds no *.log files", dir);
	return r;
}

static int cmp_boot(const void *a, const void *b)
{
	const struct logent *x = a, *y = b;

	if (x->info.boot_count != y->info.boot_count)
		return x->info.boot_count < y->info.boot_count ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int parse_pcr_list(const char *s, uint32_t *mask)
{
	char *end;

	*mask = 0;
	while (*s) {
		unsigned long a = strtoul(s, &end, 10), b = a;
		if (end == s)
			return -1;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s)
				return -1;
		}
		if (a > 23 || b > 23 || b < a)
			return -1;
		for (unsigned long i = a; i <= b; i++)
			*mask |= 1u << i;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return *mask ? 0 : -1;
}

static void print_mask(FILE *f, uint32_t mask, bool json)
{
	bool first = true;

	for (unsigned i = 0; i < BD_PCR_COUNT; i++) {
		if (!(mask & (1u << i)))
			continue;
		fprintf(f, json ? "%s%u" : "%s%u", first ? "" : json ? "," : ", ", i);
		first = false;
	}
	if (first && !json)
		fprintf(f, "none");
}

/* PCR profile and protector kinds from the volume's metadata (read through the public API). */
static int volume_profile(const char *path, int64_t offset, struct bd_diag_opts *o, uint32_t *mask,
			  char *src, size_t srclen)
{
	struct bd_open_opts oo = { .offset = offset, .writable = 0 };
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
		bool tpm = (p.type & BD_PROT_TPM) || (p.type & 0xFF00) == BD_PROT_TPM_PIN;
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

static void json_finding(const struct bd_finding *f)
{
	printf("{\"cause\":\"%s\",\"title\":", bd_cause_id(f->cause));
	cli_json_string(stdout, bd_cause_title(f->cause));
	printf(",\"confidence\":\"%s\",\"bound\":%s,\"pcrs\":[", bd_confidence_name(f->confidence),
	       f->bound ? "true" : "false");
	print_mask(stdout, f->pcrs, true);
	printf("],\"evidence\":[");
	for (size_t k = 0; k < f->n_evidence; k++) {
		if (k)
			printf(",");
		cli_json_string(stdout, f->evidence[k]);
	}
	printf("],\"advice\":");
	cli_json_string(stdout, bd_cause_advice(f->cause));
	printf("}");
}

static void describe_boot(const struct logent *e, char *out, size_t outlen)
{
	char flags[128];
	size_t n = 0;

	out[0] = 0;
	if (!e)
		return;
	if (e->info.has_boot_count)
		n = (size_t)snprintf(out, outlen, "boot %" PRIu64 ", ", e->info.boot_count);
	if (e->info.has_unlock) {
		bd_unlock_flags_format(e->info.unlock_flags, flags, sizeof(flags));
		snprintf(out + n, outlen - n, "unlocked by %s", flags);
	} else {
		snprintf(out + n, outlen - n, "%s", e->info.windows ? "no BitLocker unlock logged" : "no Windows events");
	}
}

static void report(const struct bd_diagnosis *d, const struct logent *good, const struct logent *bad,
		   const char *profile_src, bool json)
{
	char gdesc[200], bdesc[200];

	describe_boot(good, gdesc, sizeof(gdesc));
	describe_boot(bad, bdesc, sizeof(bdesc));
	if (json) {
		printf("{\"good\":");
		if (good)
			cli_json_string(stdout, good->path);
		else
			printf("null");
		printf(",\"bad\":");
		cli_json_string(stdout, bad->path);
		printf(",\"good_unlock_flags\":");
		if (d->good_unlock >= 0)
			printf("%d", d->good_unlock);
		else
			printf("null");
		printf(",\"bad_unlock_flags\":");
		if (d->bad_unlock >= 0)
			printf("%d", d->bad_unlock);
		else
			printf("null");
		printf(",\"bank\":\"%s\",\"bound_pcrs\":[", d->bank && bd_hash_alg_name(d->bank) ? bd_hash_alg_name(d->bank) : "");
		print_mask(stdout, d->bound_pcrs, true);
		printf("],\"profile_source\":");
		cli_json_string(stdout, profile_src);
		printf(",\"differing_pcrs\":[");
		print_mask(stdout, d->differing_pcrs, true);
		printf("],\"differing_bound_pcrs\":[");
		print_mask(stdout, d->differing_pcrs & d->bound_pcrs, true);
		printf("],\"different_platform\":%s,\"findings\":[", d->different_platform ? "true" : "false");
		for (size_t i = 0; i < d->n_findings; i++) {
			if (i)
				printf(",");
			json_finding(&d->findings[i]);
		}
		printf("]}\n");
		return;
	}
	printf("Good boot:      %s%s%s%s\n", good ? good->path : "(none: only the bad boot is examined)",
	       good ? " (" : "", gdesc, good ? ")" : "");
	printf("Bad boot:       %s (%s)\n", bad->path, bdesc);
	printf("PCR profile:    ");
	print_mask(stdout, d->bound_pcrs, false);
	printf("  [%s]\n", profile_src);
	if (good) {
		printf("Compared bank:  %s\n", d->bank && bd_hash_alg_name(d->bank) ? bd_hash_alg_name(d->bank) : "-");
		printf("Differing PCRs: bound: ");
		print_mask(stdout, d->differing_pcrs & d->bound_pcrs, false);
		printf("; not bound: ");
		print_mask(stdout, d->differing_pcrs & ~d->bound_pcrs, false);
		printf("\n");
	}
	printf("\n");
	if (d->different_platform)
		printf("These logs come from DIFFERENT MACHINES: their events are not compared.\n\n");
	size_t nb = 0;
	for (size_t i = 0; i < d->n_findings; i++)
		nb += d->findings[i].bound;
	if (!nb)
		printf("No cause of recovery found: %s\n\n",
		       good ? "the bound PCRs are equal and the bad boot shows no recovery evidence"
			    : "the bad boot shows no recovery evidence");
	for (size_t i = 0, k = 0; i < d->n_findings; i++) {
		const struct bd_finding *f = &d->findings[i];
		if (!f->bound)
			continue;
		printf("Cause %zu [%s confidence]: %s  (%s)\n", ++k, bd_confidence_name(f->confidence),
		       bd_cause_title(f->cause), bd_cause_id(f->cause));
		for (size_t e = 0; e < f->n_evidence; e++)
			printf("  - %s\n", f->evidence[e]);
		printf("  Advice: %s\n\n", bd_cause_advice(f->cause));
	}
	if (nb < d->n_findings) {
		printf("Changes in PCRs the protector is not bound to (they do not cause recovery by themselves):\n");
		for (size_t i = 0; i < d->n_findings; i++) {
			const struct bd_finding *f = &d->findings[i];
			if (f->bound)
				continue;
			printf("  %s [%s]:\n", bd_cause_id(f->cause), bd_confidence_name(f->confidence));
			for (size_t e = 0; e < f->n_evidence; e++)
				printf("    - %s\n", f->evidence[e]);
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bdkit diagnose [OPTIONS] [LOG|FOLDER ...]\n"
		"Explain why a machine fell into BitLocker recovery, from its measured-boot logs\n"
		"(C:\\Windows\\Logs\\MeasuredBoot\\*.log; a folder is read as a whole). The newest log whose\n"
		"BitLocker unlock used the recovery key is the bad boot, the newest earlier log unlocked by\n"
		"the TPM the good one. Their PCRs are compared on the PCRs the TPM protector is bound to,\n"
		"the differing events are listed and the cause is named with a confidence and advice.\n\n"
		"Options:\n"
		"      --good LOG       the last boot that unlocked normally\n"
		"      --bad LOG        the boot that went into recovery\n"
		"      --volume VOLUME  read the TPM protector's PCR profile (and protector kinds) from the\n"
		"                       BitLocker volume (no secret needed)\n"
		"      --offset BYTES   the BitLocker volume starts here inside VOLUME\n"
		"      --pcrs LIST      bound PCRs, e.g. 7,11 or 0,2,4,11 (default: from --volume, else the\n"
		"                       Windows default: 7,11 with Secure Boot, 0,2,4,11 without)\n"
		"      --bank ALG       compare this digest bank (sha1, sha256...; default sha256, else sha1)\n"
		"      --json           machine-readable output for fleet scripts\n"
		"  -h, --help           this help\n\n"
		"Exit status: 0 when a diagnosis was made (whatever it found), 2 bad usage, 5/7 a log is\n"
		"corrupt/truncated (the message names the offset), see bdkit(1).\n");
}

int cmd_diagnose(int argc, char **argv)
{
	enum { OPT_JSON = OPT_CLI_LAST + 1, OPT_GOOD, OPT_BAD, OPT_VOLUME, OPT_PCRS, OPT_BANK, OPT_OFF };
	static const struct option opts[] = {
		{ "json", no_argument, 0, OPT_JSON }, { "good", required_argument, 0, OPT_GOOD },
		{ "bad", required_argument, 0, OPT_BAD }, { "volume", required_argument, 0, OPT_VOLUME },
		{ "pcrs", required_argument, 0, OPT_PCRS }, { "bank", required_argument, 0, OPT_BANK },
		{ "offset", required_argument, 0, OPT_OFF }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	const char *good_path = NULL, *bad_path = NULL, *volume = NULL;
	struct bd_diag_opts o = { 0 };
	struct logset set = { 0 };
	struct logent *good = NULL, *bad = NULL;
	struct bd_diagnosis *d = NULL;
	char profile_src[512] = "";
	uint32_t mask = 0;
	bool json = false;
	int c, r = 0;
	int64_t offset = -1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		case OPT_GOOD: good_path = optarg; break;
		case OPT_BAD: bad_path = optarg; break;
		case OPT_VOLUME: volume = optarg; break;
		case OPT_PCRS:
			if (parse_pcr_list(optarg, &mask)) {
				cli_error("--pcrs: '%s' is not a list of PCR numbers 0-23 (e.g. 7,11 or 0,2,4,11)", optarg);
				return EXIT_USAGE;
			}
			snprintf(profile_src, sizeof(profile_src), "--pcrs");
			break;
		case OPT_BANK: {
			int a = bd_hash_alg_parse(optarg);
			if (a < 0) {
				cli_error("--bank: %s", bd_last_error());
				return EXIT_USAGE;
			}
			o.bank = (uint16_t)a;
			break;
		}
		case OPT_OFF: {
			uint64_t v;
			if (cli_parse_size(optarg, &v)) {
				cli_error("--offset: '%s' is not a byte count", optarg);
				return EXIT_USAGE;
			}
			offset = (int64_t)v;
			break;
		}
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc && !bad_path) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (volume) {
		if ((r = volume_profile(volume, offset, &o, &mask, profile_src, sizeof(profile_src))))
			return r;
		if (!o.has_tpm_protector && !profile_src[0])
			snprintf(profile_src, sizeof(profile_src), "%s has no TPM protector; Windows default assumed",
				 volume);
	}
	for (int i = optind; i < argc && !r; i++) {
		struct stat st;
		if (!stat(argv[i], &st) && S_ISDIR(st.st_mode))
			r = add_dir(&set, argv[i]);
		else
			r = add_log(&set, argv[i], false);
	}
	if (r)
		goto out;
	/* MeasuredBoot logs carry their boot counter: order by it when every log has one */
	bool all_counted = set.n > 0;
	for (size_t i = 0; i < set.n; i++)
		all_counted &= set.v[i].info.has_boot_count;
	if (all_counted)
		qsort(set.v, set.n, sizeof(*set.v), cmp_boot);
	if (bad_path) {
		if ((r = add_log(&set, bad_path, false)))
			goto out;
		bad = &set.v[set.n - 1];
	}
	if (good_path) {
		if ((r = add_log(&set, good_path, false)))
			goto out;
		good = &set.v[set.n - 1];
		if (bad_path)
			bad = &set.v[set.n - 2];
	}
	if (!bad) {
		const bd_eventlog **logs = calloc(set.n, sizeof(*logs));
		size_t gi, bi;
		if (!logs) {
			r = EXIT_FAILURE_OTHER;
			goto out;
		}
		for (size_t i = 0; i < set.n; i++)
			logs[i] = set.v[i].log;
		r = bd_diagnose_pick((const bd_eventlog *const *)logs, set.n, &gi, &bi);
		free(logs);
		if (r) {
			cli_error("%s", bd_last_error());
			r = EXIT_USAGE;
			goto out;
		}
		bad = &set.v[bi];
		if (!good && gi != (size_t)-1)
			good = &set.v[gi];
	} else if (!good) {
		/* --bad given: the newest other log that unlocked by TPM is the good one */
		for (size_t i = set.n; i-- > 0;) {
			struct logent *e = &set.v[i];
			if (e != bad && e->info.has_unlock && (e->info.unlock_flags & BD_UNLOCK_TPM) &&
			    !(e->info.unlock_flags & BD_UNLOCK_RECOVERY)) {
				good = e;
				break;
			}
		}
	}
	if (!good && !json)
		cli_warn("no good boot (unlocked by TPM) among the logs: only causes visible in the bad boot are reported");
	o.pcr_mask = mask;
	if ((r = bd_diagnose(good ? good->log : NULL, bad->log, &o, &d))) {
		r = cli_fail(r, "diagnosis failed");
		goto out;
	}
	if (!profile_src[0])
		snprintf(profile_src, sizeof(profile_src), "Windows default for UEFI %s Secure Boot (assumed; give "
			 "--volume or --pcrs)", d->bound_pcrs == 0x880 ? "with" : "without");
	report(d, good, bad, profile_src, json);
	r = EXIT_OK;
out:
	bd_diagnosis_free(d);
	for (size_t i = 0; i < set.n; i++) {
		bd_eventlog_free(set.v[i].log);
		free(set.v[i].path);
	}
	free(set.v);
	return r;
}
