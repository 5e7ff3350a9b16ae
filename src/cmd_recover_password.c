/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit recover-password: find a recovery password from a damaged copy (lost or misread digits). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define REFUSE_STRETCHES 10000000ULL  /* above this a search needs --force */
#define SAVE_EVERY_S 2.0

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit recover-password [OPTIONS] VOLUME [PATTERN]\n"
		   "Find the recovery password of VOLUME from the copy you have: write unreadable digits as\n"
		   "'?' or 'x' and a lost block as ?\?\?\?\?\? (or *). Each block is checked alone first (a multiple\n"
		   "of 11 below 720896); blocks that pass are kept as typed, the others are repaired from their\n"
		   "neighbourhood, and every whole candidate costs one key stretch (~0.07 s per core).\n"
		   "The password found is printed on stdout only (or written to --output).\n\n"
		   "The pattern (a secret: prefer the file or the prompt to the command line):\n"
		   "      --pattern-file FILE      read it from FILE ('-' = stdin); default: prompt, else stdin\n"
		   "Kinds of damage (blocks that fail the check get --any-digit --transpose when none is given):\n"
		   "      --misread                digits confused in handwriting or OCR (1/7, 3/8, 0/8, ...)\n"
		   "      --confusions PAIRS       use these pairs instead of the built-in table (\"17,38,56\")\n"
		   "      --any-digit              any digit may be wrong\n"
		   "      --transpose              two adjacent digits swapped\n"
		   "      --swap-blocks            two blocks written in each other's place\n"
		   "      --max-changes N          changed digits per searched block (default 1, at most 6)\n"
		   "      --suspect LIST           also search blocks that pass the check (\"2,5\" or \"all\";\n"
		   "                               a wrong block that passes has at least 2 wrong digits)\n"
		   "      --key-id ID              only the protector with this key ID (shown on the recovery screen)\n"
		   "Running:\n"
		   "  -j, --threads N              worker threads (default: one per CPU)\n"
		   "      --dry-run                count the candidates and estimate the time, search nothing\n"
		   "      --force                  search even when it takes more than %llu stretches\n"
		   "      --state FILE             save progress to FILE (atomically, every few seconds and on ^C)\n"
		   "      --resume FILE            continue the search saved in FILE (same volume, pattern, options)\n"
		   "  -o, --output FILE            write the password found to FILE (mode 0600) instead of stdout\n"
		   "      --json                   machine-readable report on stdout\n"
		   "      --offset BYTES           the BitLocker volume starts here (default: detect partitions)\n"
		   "  -h, --help                   this help\n", REFUSE_STRETCHES);
}

enum {
	OPT_PATTERN_FILE = OPT_CLI_LAST + 1, OPT_MISREAD, OPT_CONFUSIONS, OPT_ANY_DIGIT, OPT_TRANSPOSE,
	OPT_SWAP_BLOCKS, OPT_MAX_CHANGES, OPT_SUSPECT, OPT_KEY_ID, OPT_DRY_RUN, OPT_FORCE, OPT_STATE,
	OPT_RESUME, OPT_JSON,
};

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static const char *status_text(const struct bd_rpsearch_block *b)
{
	switch (b->status) {
	case BD_RPB_KEPT: return "valid, kept as typed";
	case BD_RPB_UNKNOWN: return "unknown digits";
	case BD_RPB_BAD:
		return b->check & BD_RPB_CHECK_NOT_MULT11 ? "fails the check (not a multiple of 11)"
						    : "fails the check (too large, >= 720896)";
	case BD_RPB_SUSPECT: return "valid, searched as asked";
	case BD_RPB_LENGTH: return strlen(b->typed) == 5 ? "5 digits: one dropped" : "7 digits: one extra";
	}
	return "?";
}

static void fmt_duration(double s, char *out, size_t len)
{
	if (s < 120)
		snprintf(out, len, "%.0f s", s < 1 ? 1 : s);
	else if (s < 7200)
		snprintf(out, len, "%.0f min", s / 60);
	else if (s < 172800)
		snprintf(out, len, "%.1f h", s / 3600);
	else if (s < 86400 * 730)
		snprintf(out, len, "%.1f days", s / 86400);
	else
		snprintf(out, len, "%.3g years", s / (86400 * 365.25));
}

static int parse_suspect(const char *arg, uint8_t *mask)
{
	if (!strcmp(arg, "all")) {
		*mask = 0xFF;
		return 0;
	}
	for (const char *p = arg; *p; p++) {
		if (*p >= '1' && *p <= '8')
			*mask |= (uint8_t)(1u << (*p - '1'));
		else if (*p != ',' && *p != ' ')
			return -1;
	}
	return 0;
}

struct run_ctx {
	struct cli_progress bar;
	const char *state_path;
	struct bd_rpsearch_state st;
	double last_save;
	uint64_t start, count;
	size_t nprot;
};

static void save_state(struct run_ctx *c, uint64_t done, int status)
{
	if (!c->state_path)
		return;
	c->st.done_below = done;
	c->st.status = status;
	if (bd_rpsearch_state_save(c->state_path, &c->st))
		cli_warn("%s", bd_last_error());
}

static int on_progress(const struct bd_rpsearch_progress *p, void *ud)
{
	struct run_ctx *c = ud;
	double now = cli_now();

	if (c->state_path && now - c->last_save >= SAVE_EVERY_S) {
		save_state(c, p->done_below, BD_RPS_RUNNING);
		c->last_save = now;
	}
	if (c->bar.enabled) {
		uint64_t done = p->done_below - c->start, left = c->count - c->start;
		int pct = left ? (int)(100.0 * (double)done / (double)left) : 100;
		double eta = p->rate > 0 ? (double)(c->count - p->done_below) / p->rate : 0;
		char e[32];
		fmt_duration(eta, e, sizeof(e));
		fprintf(stderr, "\r%s [%.*s%*s] %3d%% %llu/%llu %.1f/s ETA %s   ", c->bar.label, pct / 5,
			"####################", 20 - pct / 5, "", pct, (unsigned long long)p->done_below,
			(unsigned long long)c->count, p->rate, e);
	}
	return 0;
}

static int write_output(const char *path, const char *pw, bool force)
{
	char line[64];
	int rc;

	snprintf(line, sizeof(line), "%s\n", pw);
	rc = cli_write_file(path, line, strlen(line), force);
	explicit_bzero(line, sizeof(line));
	return rc;
}

static void widen_advice(const struct bd_rpsearch_summary *sm, uint8_t suspect)
{
	fprintf(stderr, "To widen the search:");
	if (!(sm->edits & BD_RPS_EDIT_ANY_DIGIT))
		fprintf(stderr, " --any-digit%s,", sm->edits & BD_RPS_EDIT_MISREAD ? " (instead of --misread)" : "");
	if (!(sm->edits & BD_RPS_EDIT_TRANSPOSE))
		fprintf(stderr, " --transpose,");
	if (!(sm->edits & BD_RPS_EDIT_SWAP_BLOCKS))
		fprintf(stderr, " --swap-blocks,");
	if (sm->max_changes < 6)
		fprintf(stderr, " --max-changes %d,", sm->max_changes + 1);
	if (suspect != 0xFF)
		fprintf(stderr, " --suspect all (a wrong block can pass the check when 2+ digits are wrong),");
	fprintf(stderr, " or mark doubtful digits with '?'.\n");
}

/* One search: the options, then what the steps below make. */
struct rp {
	struct bd_rpsearch_opts so;
	struct cli_unlock u;
	const char *pattern_file, *key_id, *state_path, *output, *path;
	bool dry, force, json, resume;
	unsigned threads;
	char *pattern;
	size_t plen;
	bd_rpsearch *s;
	bd_volume *v;
	struct bd_rpsearch_summary sm;
	struct bd_rpsearch_block blk[8];
	struct bd_info info;
	size_t nprot;
	struct run_ctx ctx;
};

/* -1 to go on, else the exit code to return. */
static int parse_options(struct rp *R, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pattern-file", required_argument, 0, OPT_PATTERN_FILE },
		{ "misread", no_argument, 0, OPT_MISREAD },
		{ "confusions", required_argument, 0, OPT_CONFUSIONS },
		{ "any-digit", no_argument, 0, OPT_ANY_DIGIT },
		{ "transpose", no_argument, 0, OPT_TRANSPOSE },
		{ "swap-blocks", no_argument, 0, OPT_SWAP_BLOCKS },
		{ "max-changes", required_argument, 0, OPT_MAX_CHANGES },
		{ "suspect", required_argument, 0, OPT_SUSPECT },
		{ "key-id", required_argument, 0, OPT_KEY_ID },
		{ "threads", required_argument, 0, 'j' },
		{ "dry-run", no_argument, 0, OPT_DRY_RUN },
		{ "force", no_argument, 0, OPT_FORCE },
		{ "state", required_argument, 0, OPT_STATE },
		{ "resume", required_argument, 0, OPT_RESUME },
		{ "output", required_argument, 0, 'o' },
		{ "json", no_argument, 0, OPT_JSON },
		{ "offset", required_argument, 0, OPT_OFFSET },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct bd_rpsearch_opts *so = &R->so;
	int c;

	so->max_changes = -1;
	cli_unlock_init(&R->u);
	while ((c = getopt_long(argc, argv, "j:o:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_PATTERN_FILE: R->pattern_file = optarg; break;
		case OPT_MISREAD: so->edits |= BD_RPS_EDIT_MISREAD; break;
		case OPT_CONFUSIONS: so->confusions = optarg; so->edits |= BD_RPS_EDIT_MISREAD; break;
		case OPT_ANY_DIGIT: so->edits |= BD_RPS_EDIT_ANY_DIGIT; break;
		case OPT_TRANSPOSE: so->edits |= BD_RPS_EDIT_TRANSPOSE; break;
		case OPT_SWAP_BLOCKS: so->edits |= BD_RPS_EDIT_SWAP_BLOCKS; break;
		case OPT_MAX_CHANGES: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 0 || n > 6) {
				cli_error("--max-changes: '%s' is not a number from 0 to 6", optarg);
				return EXIT_USAGE;
			}
			so->max_changes = (int)n;
			break;
		}
		case OPT_SUSPECT:
			if (parse_suspect(optarg, &so->suspect)) {
				cli_error("--suspect: '%s' is not a list of block numbers 1-8 or 'all'", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_KEY_ID: R->key_id = optarg; break;
		case 'j': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 1024) {
				cli_error("--threads: '%s' is not a number from 1 to 1024", optarg);
				return EXIT_USAGE;
			}
			R->threads = (unsigned)n;
			break;
		}
		case OPT_DRY_RUN: R->dry = true; break;
		case OPT_FORCE: R->force = true; break;
		case OPT_STATE:
			if (R->resume) {
				cli_error("give --state or --resume, not both");
				return EXIT_USAGE;
			}
			R->state_path = optarg;
			break;
		case OPT_RESUME:
			if (R->state_path && !R->resume) {
				cli_error("give --state or --resume, not both");
				return EXIT_USAGE;
			}
			R->state_path = optarg;
			R->resume = true;
			break;
		case 'o': R->output = optarg; break;
		case OPT_JSON: R->json = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default:
			if (c >= OPT_RECOVERY_PASSWORD && cli_unlock_option(&R->u, c, optarg) > 0)
				break;
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	R->path = argv[optind];
	return -1;
}

/* The pattern: argument, file, prompt or stdin. 0 or an exit code. */
static int read_pattern(struct rp *R, int argc, char **argv)
{
	if (argc - optind == 2) {
		if (R->pattern_file) {
			cli_error("give the pattern as an argument or with --pattern-file, not both");
			return EXIT_USAGE;
		}
		cli_warn("a pattern on the command line is visible to other users (ps, shell history); prefer "
			 "--pattern-file or the prompt");
		R->plen = strlen(argv[optind + 1]);
		R->pattern = calloc(1, R->plen + 1);
		if (R->pattern)
			memcpy(R->pattern, argv[optind + 1], R->plen);
		explicit_bzero(argv[optind + 1], R->plen);  /* gone from ps and /proc/PID/cmdline */
	} else if (R->pattern_file) {
		R->pattern = cli_read_secret_file(R->pattern_file, &R->plen, true);
		if (!R->pattern)
			return EXIT_IO;
	} else if (isatty(0)) {
		R->pattern = cli_prompt_secret("Recovery password as you have it (? for unreadable digits): ");
		R->plen = R->pattern ? strlen(R->pattern) : 0;
	} else {
		R->pattern = cli_read_secret_file("-", &R->plen, true);
	}
	if (!R->pattern || !*R->pattern) {
		cli_error("no pattern given: use --pattern-file FILE, the prompt, or pipe it on stdin");
		return EXIT_USAGE;
	}
	return 0;
}

/* The search space from the pattern: each block's status shown; an impossible pattern says which
 * block cannot be made valid. 0 or an exit code. */
static int plan_search(struct rp *R)
{
	const struct bd_rpsearch_block *blk = R->blk;
	int r = bd_rpsearch_new(R->pattern, &R->so, &R->s);

	if (r)
		return cli_fail(r, "pattern");
	bd_rpsearch_summary(R->s, &R->sm);
	for (int i = 0; i < 8; i++)
		bd_rpsearch_block(R->s, i, &R->blk[i]);
	if (!cli_quiet && !R->json) {
		for (int i = 0; i < 8; i++) {
			fprintf(stderr, "block %d  %-7s  %-40s", i + 1, blk[i].typed, status_text(&blk[i]));
			if (blk[i].status != BD_RPB_KEPT)
				fprintf(stderr, " %llu value(s)", (unsigned long long)blk[i].candidates);
			fputc('\n', stderr);
		}
		if (R->sm.auto_edits)
			fprintf(stderr, "Blocks failing the check are searched for one wrong digit or two swapped "
				"adjacent digits (--any-digit --transpose).\n");
	}
	if (R->sm.count)
		return 0;
	for (int i = 0; i < 8; i++) {
		if (blk[i].candidates)
			continue;
		if (blk[i].status == BD_RPB_UNKNOWN)
			cli_error("impossible pattern: no digits in place of the '?' make block %d (%s) a "
				  "multiple of 11 below 720896; is a known digit of it wrong?", i + 1, blk[i].typed);
		else
			cli_error("impossible pattern: block %d (%s) cannot be repaired within %d change(s) "
				  "of the kinds allowed", i + 1, blk[i].typed, R->sm.max_changes);
	}
	if (!R->json)
		widen_advice(&R->sm, R->so.suspect);
	else
		printf("{\"count\": 0, \"found\": false, \"impossible\": true}\n");
	return EXIT_BAD_SECRET;
}

/* Does the protector's GUID start with the hex digits of key_id (dashes and case aside)? */
static bool key_id_matches(const uint8_t guid[16], const char *key_id)
{
	char g[37], want[40] = "", have[40] = "";
	size_t k = 0;

	bd_guid_format(guid, g);
	for (const char *q = key_id; *q && k + 1 < sizeof(want); q++)
		if (isxdigit((unsigned char)*q))
			want[k++] = (char)toupper((unsigned char)*q);
	k = 0;
	for (const char *q = g; *q && k + 1 < sizeof(have); q++)
		if (isxdigit((unsigned char)*q))
			have[k++] = (char)toupper((unsigned char)*q);
	return !strncmp(have, want, strlen(want));
}

/* Open the volume and count the recovery-password protectors the search tries (those of
 * --key-id). 0 or an exit code. */
static int open_volume(struct rp *R)
{
	int rc = cli_open(R->path, &R->u, false, &R->v), r;

	if (rc)
		return rc;
	r = bd_volume_info(R->v, &R->info);
	if (r)
		return cli_fail(r, R->path);
	for (size_t i = 0; i < R->info.n_protectors; i++) {
		struct bd_protector_info p;
		if (bd_volume_protector(R->v, i, &p) || p.type != BD_PROT_RECOVERY_PASSWORD)
			continue;
		if (R->key_id && !key_id_matches(p.guid, R->key_id))
			continue;
		R->nprot++;
	}
	if (!R->nprot) {
		if (R->key_id)
			cli_error("%s: no recovery-password protector has key ID %s", R->path, R->key_id);
		else
			cli_error("%s: the volume has no recovery-password protector", R->path);
		return EXIT_NO_PROTECTOR;
	}
	return 0;
}

/* The state file: a new search's, or the one --resume continues (the same search, not done). */
static int open_state(struct rp *R)
{
	struct run_ctx *ctx = &R->ctx;

	*ctx = (struct run_ctx){ .state_path = R->state_path, .count = R->sm.count, .nprot = R->nprot };
	bd_rpsearch_state_id(R->s, R->info.guid, R->key_id, ctx->st.id);
	ctx->st.count = R->sm.count;
	if (R->resume) {
		struct bd_rpsearch_state old;
		int r = bd_rpsearch_state_load(R->state_path, &old);
		if (r)
			return cli_fail(r, "--resume");
		if (memcmp(old.id, ctx->st.id, 32) || old.count != R->sm.count) {
			cli_error("%s holds another search (a different volume, pattern, options or --key-id); give "
				  "exactly the same ones to resume, or start anew with --state", R->state_path);
			return EXIT_REFUSED;
		}
		ctx->start = old.done_below;
		if (old.status == BD_RPS_EXHAUSTED || ctx->start >= R->sm.count) {
			cli_error("%s: all %llu candidates were already tried without success", R->state_path,
				  (unsigned long long)R->sm.count);
			widen_advice(&R->sm, R->so.suspect);
			return EXIT_WRONG_KEY;
		}
	} else if (R->state_path && !R->dry && access(R->state_path, F_OK) == 0) {
		cli_error("%s exists; continue that search with --resume %s, or remove it", R->state_path,
			  R->state_path);
		return EXIT_REFUSED;
	}
	return 0;
}

/* The estimate (measured stretch rate, ETA), shown or as JSON; a search too large without --force
 * is refused, naming the widest block. 0 to search, or an exit code (EXIT_OK with *stop for a dry run). */
static int estimate(struct rp *R, unsigned *nt, bool *stop)
{
	const struct bd_rpsearch_block *blk = R->blk;
	uint64_t left = R->sm.count - R->ctx.start;
	uint64_t stretches = left > UINT64_MAX / R->nprot ? UINT64_MAX : left * R->nprot;

	*nt = R->threads;
	if (!*nt) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		*nt = n > 0 ? (unsigned)n : 1;
	}
	double rate = 0, eta = 0;
	if (stretches > *nt || R->dry) {
		rate = bd_rpsearch_bench(*nt);
		eta = rate > 0 ? (double)stretches / rate : 0;
	}
	char es[32];
	fmt_duration(eta, es, sizeof(es));
	bool too_big = stretches > REFUSE_STRETCHES && !R->force;
	if (R->json && (R->dry || too_big)) {
		printf("{\"count\": %llu, \"start\": %llu, \"protectors\": %zu, \"stretches\": %llu, "
		       "\"threads\": %u, \"stretches_per_second\": %.2f, \"estimated_seconds\": %.1f, "
		       "\"change_patterns\": %zu, \"refused\": %s, \"blocks\": [",
		       (unsigned long long)R->sm.count, (unsigned long long)R->ctx.start, R->nprot,
		       (unsigned long long)stretches, *nt, rate, eta, R->sm.n_groups, too_big ? "true" : "false");
		for (int i = 0; i < 8; i++)
			printf("%s{\"block\": %d, \"status\": \"%s\", \"values\": %llu}", i ? ", " : "", i + 1,
			       (const char *[]){ "kept", "unknown", "bad", "suspect", "length" }[blk[i].status],
			       (unsigned long long)blk[i].candidates);
		printf("]}\n");
	}
	if (!cli_quiet && !R->json)
	{
		char rs[64] = "";
		if (rate > 0)
			snprintf(rs, sizeof(rs), " at %.1f stretches/s", rate);
		fprintf(stderr, "%llu candidate(s)%s x %zu recovery-password protector(s) = %llu stretch(es); about %s"
			"%s with %u thread(s)\n", (unsigned long long)left, R->ctx.start ? " left" : "", R->nprot,
			(unsigned long long)stretches, rate > 0 ? es : "a moment", rs, *nt);
	}
	if (too_big) {
		int worst = 0;
		for (int i = 1; i < 8; i++)
			if (blk[i].candidates > blk[worst].candidates)
				worst = i;
		cli_error("refusing a search of %llu stretches (about %s); narrow it: block %d (%s) alone has "
			  "%llu values - write the digits you can read, mark fewer blocks, lower --max-changes; "
			  "or give --force (with --state FILE to be able to stop and resume)",
			  (unsigned long long)stretches, es, worst + 1, blk[worst].typed,
			  (unsigned long long)blk[worst].candidates);
		return EXIT_REFUSED;
	}
	*stop = R->dry;
	return 0;
}

/* The password found: to the output file or stdout, and how it was found. */
static int report_found(struct rp *R, struct bd_rpsearch_result *res)
{
	const char *output = R->output;
	char g[37];
	int rc;

	save_state(&R->ctx, res->index, BD_RPS_FOUND);
	cli_guid(res->protector_guid, g, false);
	if (output && (rc = write_output(output, res->password, R->force)))
		return rc;
	if (R->json) {
		printf("{\"found\": true, ");
		if (output) {
			printf("\"output\": ");
			cli_json_string(stdout, output);
		} else {
			printf("\"password\": \"%s\"", res->password);
		}
		printf(", \"key_id\": \"%s\", \"protector\": \"{%s}\", \"index\": %llu, \"changes\": %d, "
		       "\"count\": %llu, \"tried\": %llu, \"seconds\": %.2f, \"candidates_per_second\": %.2f, "
		       "\"verified\": %s}\n", res->key_id, g, (unsigned long long)res->index, res->changes,
		       (unsigned long long)R->sm.count, (unsigned long long)res->last.tried, res->last.seconds,
		       res->last.rate, res->verified ? "true" : "false");
	} else if (!output) {
		printf("%s\n", res->password);
	}
	fflush(stdout);
	if (!cli_quiet)
		fprintf(stderr, "Found%s: protector key ID %s {%s}, %d change(s) from the pattern; candidate %llu "
			"of %llu, %llu tried in %.1f s (%.2f/s)%s%s\n", output ? " (written to the output file)" : "",
			res->key_id, g, res->changes, (unsigned long long)res->index + 1,
			(unsigned long long)R->sm.count, (unsigned long long)res->last.tried, res->last.seconds,
			res->last.rate, res->verified ? "" : "; warning: the volume did not then unlock: ",
			res->verified ? "" : bd_last_error());
	return EXIT_OK;
}

/* Run the search (ctrl-C stops it with the state saved) and say how it ended. */
static int search(struct rp *R, unsigned nt)
{
	struct run_ctx *ctx = &R->ctx;
	const struct bd_rpsearch_summary *sm = &R->sm;
	struct sigaction sa;
	int r, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	cli_progress_start(&ctx->bar, "searching", sm->count - ctx->start);
	ctx->last_save = cli_now();
	save_state(ctx, ctx->start, BD_RPS_RUNNING);
	struct bd_rpsearch_run_opts ro = BD_RPSEARCH_RUN_OPTS_INIT(.threads = nt, .start = ctx->start,
		.key_id = R->key_id, .stop = &stop_flag, .interval_ms = 200, .progress = on_progress, .userdata = ctx);
	struct bd_rpsearch_result res;
	r = bd_rpsearch_run(R->s, R->v, &ro, &res);
	if (ctx->bar.enabled)
		fprintf(stderr, "\r%*s\r", 79, "");
	if (r == 0 && res.found) {
		rc = report_found(R, &res);
		bd_rpsearch_result_wipe(&res);
	} else if (r == BD_ERR_INTERRUPTED) {
		save_state(ctx, res.last.done_below, BD_RPS_INTERRUPTED);
		cli_error("interrupted: %llu of %llu candidates tried (%.2f/s); %s", (unsigned long long)res.last.done_below,
			  (unsigned long long)sm->count, res.last.rate,
			  R->state_path ? "continue with --resume and the same pattern and options"
					: "next time give --state FILE to be able to resume");
		if (R->json)
			printf("{\"found\": false, \"interrupted\": true, \"done\": %llu, \"count\": %llu, "
			       "\"tried\": %llu, \"candidates_per_second\": %.2f}\n",
			       (unsigned long long)res.last.done_below, (unsigned long long)sm->count,
			       (unsigned long long)res.last.tried, res.last.rate);
		rc = EXIT_INTERRUPTED;
	} else if (r == BD_ERR_WRONG_KEY) {
		save_state(ctx, sm->count, BD_RPS_EXHAUSTED);
		cli_error("none of the %llu candidates opens the volume (%llu tried now in %.1f s, %.2f/s)",
			  (unsigned long long)sm->count, (unsigned long long)res.last.tried, res.last.seconds,
			  res.last.rate);
		if (R->json)
			printf("{\"found\": false, \"count\": %llu, \"tried\": %llu, \"seconds\": %.2f, "
			       "\"candidates_per_second\": %.2f}\n", (unsigned long long)sm->count,
			       (unsigned long long)res.last.tried, res.last.seconds, res.last.rate);
		widen_advice(sm, R->so.suspect);
		rc = EXIT_WRONG_KEY;
	} else {
		rc = cli_fail(r, R->path);
	}
	return rc;
}

int cmd_recover_password(int argc, char **argv)
{
	struct rp R = { .so = BD_RPSEARCH_OPTS_INIT(.max_changes = -1) };
	unsigned nt = 0;
	bool stop = false;
	int rc = parse_options(&R, argc, argv);

	if (rc >= 0) {
		cli_unlock_free(&R.u);
		return rc;
	}
	if (!(rc = read_pattern(&R, argc, argv)) && !(rc = plan_search(&R)) && !(rc = open_volume(&R)) &&
	    !(rc = open_state(&R)) && !(rc = estimate(&R, &nt, &stop)) && !stop)
		rc = search(&R, nt);
	if (R.pattern)
		cli_secret_free(R.pattern, R.plen);
	bd_rpsearch_free(R.s);
	if (R.v)
		bd_volume_close(R.v);
	cli_unlock_free(&R.u);
	return rc;
}
