/* Unit tests for the recovery-password search: block checks, candidate counts and enumeration,
 * misread / transposition / dropped-digit expansion, swapped blocks, state files.
 * Counts are judged against brute force over all 10^6 six-digit blocks written here from the
 * spec (format.md §4.4), not against the library's own enumeration. */
#include <stdlib.h>
#include <unistd.h>

#include "bdkit.h"
#include "check.h"

/* A real Windows recovery password (bitlk-aes-xts-128 in cryptsetup's test images). */
static const char *RP = "235818-357951-253979-013365-241120-245575-342914-591910";

/* Spec check, written independently: multiple of 11 and below 720896. */
static int spec_valid(unsigned v)
{
	return v % 11 == 0 && v / 11 < 65536;
}

/* Digits of v differ from pattern p (6 chars, '?' = any) in exactly k known places. */
static int differs(unsigned v, const char *p, int *k)
{
	char d[7];

	snprintf(d, sizeof(d), "%06u", v);
	*k = 0;
	for (int i = 0; i < 6; i++)
		if (p[i] != '?' && p[i] != d[i])
			(*k)++;
	return *k;
}

static const char *pairs = "06 08 09 14 17 27 35 38 49 56 58 68 79 89";
static int confusable(char a, char b)
{
	for (size_t i = 0; i + 1 < strlen(pairs); i += 3)
		if ((pairs[i] == a && pairs[i + 1] == b) || (pairs[i] == b && pairs[i + 1] == a))
			return 1;
	return 0;
}

/* Replace block `b` (0-based) of RP with text; the result in out. */
static void with_block(int b, const char *text, char *out, size_t len)
{
	char blocks[8][8];

	for (int i = 0; i < 8; i++)
		snprintf(blocks[i], sizeof(blocks[i]), "%.6s", RP + 7 * i);
	snprintf(blocks[b], sizeof(blocks[b]), "%s", text);
	snprintf(out, len, "%s-%s-%s-%s-%s-%s-%s-%s", blocks[0], blocks[1], blocks[2], blocks[3], blocks[4],
		 blocks[5], blocks[6], blocks[7]);
}

static uint64_t count_of(const char *pattern, unsigned edits, int maxc, uint8_t suspect)
{
	struct bd_rpsearch_opts o = BD_RPSEARCH_OPTS_INIT(.edits = edits, .max_changes = maxc, .suspect = suspect);
	bd_rpsearch *s;
	uint64_t n;

	if (bd_rpsearch_new(pattern, &o, &s))
		return UINT64_MAX;
	n = bd_rpsearch_count(s);
	bd_rpsearch_free(s);
	return n;
}

/* Does the search's candidate list contain `want`, and are all candidates distinct, valid and
 * ordered by non-decreasing changes? */
static int scan(bd_rpsearch *s, const char *want, int *distinct_valid_ordered)
{
	uint64_t n = bd_rpsearch_count(s);
	char (*all)[56] = calloc(n ? n : 1, 56);
	int found = 0, ok = 1, prev = 0;

	for (uint64_t i = 0; i < n; i++) {
		int ch;
		uint8_t key[16];
		if (bd_rpsearch_candidate(s, i, all[i], &ch) || bd_recovery_password_parse(all[i], key))
			ok = 0;
		if (ch < prev)
			ok = 0;
		prev = ch;
		if (!strcmp(all[i], want))
			found = 1;
	}
	qsort(all, n, 56, (int (*)(const void *, const void *))strcmp);
	for (uint64_t i = 1; i < n; i++)
		if (!strcmp(all[i - 1], all[i]))
			ok = 0;
	free(all);
	*distinct_valid_ordered = ok;
	return found;
}

int main(void)
{
	char pat[128], c[56];
	bd_rpsearch *s;
	int ok, ch;

	/* ---- block checks ---- */
	CHECK(bd_rp_block_check(235818) == 0, "235818 is a valid block");
	CHECK(bd_rp_block_check(235878) == BD_RPB_CHECK_NOT_MULT11, "235878 is not a multiple of 11");
	CHECK(bd_rp_block_check(720896) == BD_RPB_CHECK_TOO_LARGE, "720896 = 11 * 65536 is too large");
	CHECK(bd_rp_block_check(720885) == 0, "720885 = 11 * 65535 is the largest valid block");
	CHECK(bd_rp_block_check(999998) == (BD_RPB_CHECK_TOO_LARGE | BD_RPB_CHECK_NOT_MULT11), "999998 fails both");
	CHECK(bd_rp_check_digit("23581") == 8, "check digit of 23581. is 8");
	CHECK(bd_rp_check_digit("00010") == -1, "00010. would need check digit 10");
	{
		/* every block of every real password satisfies the check digit */
		const char *rps[] = { RP, "042647-302313-590458-071500-554323-116567-412181-516978",
				      "685839-373538-494868-036223-326590-515064-328416-685102" };
		int good = 1;
		for (size_t k = 0; k < 3; k++)
			for (int b = 0; b < 8; b++)
				good &= bd_rp_check_digit(rps[k] + 7 * b) == rps[k][7 * b + 5] - '0';
		CHECK(good, "Windows' passwords satisfy the per-block check digit");
	}
	{
		/* exact counts over all 10^6 blocks: the check digit is the mod-11 condition */
		unsigned mult = 0, both = 0, cd = 0, same = 1;
		for (unsigned v = 0; v < 1000000; v++) {
			char d[7];
			snprintf(d, sizeof(d), "%06u", v);
			int a = bd_rp_check_digit(d) == d[5] - '0';
			int m = v % 11 == 0;
			mult += m && v < 720896;
			cd += a;
			both += a && bd_rp_block_check(v) == 0;
			same &= a == m;
		}
		CHECK(mult == 65536, "65536 multiples of 11 below 720896 (got %u)", mult);
		CHECK(both == 65536, "all 65536 pass the check digit: it filters nothing more (got %u)", both);
		CHECK(cd == 90910 && same, "check digit holds exactly for the multiples of 11 (%u)", cd);
	}

	/* ---- counts ---- */
	CHECK(count_of(RP, 0, -1, 0) == 1, "an intact password is one candidate");
	with_block(2, "??????", pat, sizeof(pat));
	CHECK(count_of(pat, 0, -1, 0) == 65536, "a lost block is 65536 candidates (65536 stretches)");
	with_block(2, "*", pat, sizeof(pat));
	CHECK(count_of(pat, 0, -1, 0) == 65536, "'*' is a lost block too");
	{
		const char *pp[] = { "2539??", "25??79", "2???79", "?5397?", "??3979" };
		for (size_t k = 0; k < 5; k++) {
			unsigned want = 0;
			int d;
			for (unsigned v = 0; v < 1000000; v++)
				want += spec_valid(v) && !differs(v, pp[k], &d);
			with_block(2, pp[k], pat, sizeof(pat));
			uint64_t got = count_of(pat, 0, -1, 0);
			CHECK(got == want, "block %s: %u candidates by brute force, search %llu", pp[k], want,
			      (unsigned long long)got);
		}
	}
	with_block(0, "2358??", pat, sizeof(pat));
	snprintf(pat + strlen(pat) - 6, 7, "5919??");
	CHECK(count_of(pat, 0, -1, 0) == count_of("2358xx-357951-253979-013365-241120-245575-342914-591910", 0, -1, 0) *
	      count_of("235818-357951-253979-013365-241120-245575-342914-5919??", 0, -1, 0),
	      "two damaged blocks multiply");
	CHECK(count_of("00010?-357951-253979-013365-241120-245575-342914-591910", 0, -1, 0) == 0,
	      "impossible pattern (check digit would be 10) counts 0");
	CHECK(bd_rpsearch_new("00010?-357951-253979-013365-241120-245575-342914-591910", NULL, &s) == 0, "impossible parses");
	{
		struct bd_rpsearch_block b;
		bd_rpsearch_block(s, 0, &b);
		CHECK(b.candidates == 0 && b.status == BD_RPB_UNKNOWN, "the impossible block is named");
		bd_rpsearch_free(s);
	}

	/* ---- misread expansion: 235818 typed as 235878 (1 -> 7) ---- */
	{
		unsigned want_m = 0, want_a = 0;
		int d;
		for (unsigned v = 0; v < 1000000; v++) {
			char dv[7];
			if (!spec_valid(v) || differs(v, "235878", &d) != 1)
				continue;
			snprintf(dv, sizeof(dv), "%06u", v);
			want_a++;
			for (int i = 0; i < 6; i++)
				if (dv[i] != "235878"[i] && confusable(dv[i], "235878"[i]))
					want_m++;
		}
		with_block(0, "235878", pat, sizeof(pat));
		CHECK(count_of(pat, BD_RPS_EDIT_MISREAD, 1, 0) == want_m, "misread 235878: %u repairs from the table", want_m);
		CHECK(count_of(pat, BD_RPS_EDIT_ANY_DIGIT, 1, 0) == want_a && want_a <= 6,
		      "any digit 235878: %u repairs (at most one per position)", want_a);
		struct bd_rpsearch_opts o = BD_RPSEARCH_OPTS_INIT(.edits = BD_RPS_EDIT_MISREAD, .max_changes = 1);
		CHECK(bd_rpsearch_new(pat, &o, &s) == 0, "misread search built");
		CHECK(scan(s, RP, &ok) && ok, "misread search holds the real password; candidates distinct and valid");
		bd_rpsearch_free(s);
		/* default: a failing block gets --any-digit --transpose automatically */
		CHECK(bd_rpsearch_new(pat, NULL, &s) == 0, "default search built");
		struct bd_rpsearch_summary sm;
		bd_rpsearch_summary(s, &sm);
		CHECK(sm.auto_edits && sm.edits == (BD_RPS_EDIT_ANY_DIGIT | BD_RPS_EDIT_TRANSPOSE), "failing block: automatic edits");
		CHECK(scan(s, RP, &ok) && ok, "default search holds the real password");
		bd_rpsearch_free(s);
		/* a misread outside a custom table is not found */
		o.confusions = "38,56";
		CHECK(bd_rpsearch_new(pat, &o, &s) == 0, "custom table");
		CHECK(!scan(s, RP, &ok), "1/7 not in a custom table: not a candidate");
		bd_rpsearch_free(s);
	}
	/* two misreads in one block: max-changes 2 */
	with_block(0, "285878", pat, sizeof(pat));   /* 3->8 and 1->7 */
	CHECK(bd_rpsearch_new(pat, &(struct bd_rpsearch_opts)BD_RPSEARCH_OPTS_INIT(.edits = BD_RPS_EDIT_MISREAD, .max_changes = 1), &s) == 0, "285878 with --misread");
	CHECK(!scan(s, RP, &ok), "two misreads are not within one change");
	bd_rpsearch_free(s);
	CHECK(bd_rpsearch_new(pat, &(struct bd_rpsearch_opts)BD_RPSEARCH_OPTS_INIT(.edits = BD_RPS_EDIT_MISREAD, .max_changes = 2), &s) == 0, "285878 with --misread --max-changes 2");
	CHECK(scan(s, RP, &ok) && ok, "two misreads found with --max-changes 2");
	bd_rpsearch_free(s);

	/* transposition: 235818 typed as 253818 */
	{
		unsigned want = 0;
		const char *t = "253818";
		for (int i = 0; i < 5; i++) {
			char x[7];
			memcpy(x, t, 7);
			if (x[i] == x[i + 1])
				continue;
			char tmp = x[i]; x[i] = x[i + 1]; x[i + 1] = tmp;
			want += spec_valid((unsigned)atoi(x));
		}
		with_block(0, t, pat, sizeof(pat));
		CHECK(count_of(pat, BD_RPS_EDIT_TRANSPOSE, 1, 0) == want, "transpositions of 253818: %u valid", want);
		CHECK(bd_rpsearch_new(pat, &(struct bd_rpsearch_opts)BD_RPSEARCH_OPTS_INIT(.edits = BD_RPS_EDIT_TRANSPOSE, .max_changes = 1), &s) == 0, "253818 with --transpose");
		CHECK(scan(s, RP, &ok) && ok, "transposition repaired");
		bd_rpsearch_free(s);
	}
	/* a dropped digit and an extra digit */
	with_block(0, "23518", pat, sizeof(pat));
	CHECK(bd_rpsearch_new(pat, NULL, &s) == 0, "5-digit block accepted");
	CHECK(scan(s, RP, &ok) && ok, "dropped digit restored");
	bd_rpsearch_free(s);
	with_block(0, "2358718", pat, sizeof(pat));
	CHECK(bd_rpsearch_new(pat, NULL, &s) == 0, "7-digit block accepted");
	CHECK(scan(s, RP, &ok) && ok, "extra digit removed");
	bd_rpsearch_free(s);

	/* a valid but wrong block: suspect with two changes */
	{
		unsigned want = 0;
		int d;
		for (unsigned v = 0; v < 1000000; v++)
			want += spec_valid(v) && differs(v, "235818", &d) <= 2;
		CHECK(count_of(RP, BD_RPS_EDIT_ANY_DIGIT, 2, 0x01) == want, "suspect block, 2 changes: %u candidates", want);
		CHECK(count_of(RP, BD_RPS_EDIT_ANY_DIGIT, 1, 0x01) == 1, "a single change never keeps a block valid");
	}

	/* swapped blocks */
	{
		const char *sw = "235818-357951-013365-253979-241120-245575-342914-591910";
		CHECK(count_of(sw, BD_RPS_EDIT_SWAP_BLOCKS, -1, 0) == 29, "swap: the typed order plus 28 pairs");
		CHECK(bd_rpsearch_new(sw, &(struct bd_rpsearch_opts)BD_RPSEARCH_OPTS_INIT(.edits = BD_RPS_EDIT_SWAP_BLOCKS, .max_changes = -1), &s) == 0, "swap search built");
		CHECK(scan(s, RP, &ok) && ok, "swapped blocks 3 and 4 put back");
		CHECK(bd_rpsearch_candidate(s, 0, c, &ch) == 0 && !strcmp(c, sw) && ch == 0, "candidate 0 is as typed");
		bd_rpsearch_free(s);
	}
	/* bigger mixed search: distinct, valid, ordered */
	CHECK(bd_rpsearch_new("2358xx-357951-25397?-013365-241120-245575-342914-591970",
			      &(struct bd_rpsearch_opts)BD_RPSEARCH_OPTS_INIT(.edits = BD_RPS_EDIT_MISREAD | BD_RPS_EDIT_TRANSPOSE, .max_changes = 1), &s) == 0,
	      "mixed search");
	CHECK(scan(s, RP, &ok) && ok, "mixed search: holds the password, distinct, valid, fewest changes first");
	bd_rpsearch_free(s);

	/* ---- syntax ---- */
	CHECK(bd_rpsearch_new("235818-357951-253979-013365-241120-245575-342914", NULL, &s) == BD_ERR_INVALID &&
	      strstr(bd_last_error(), "7 block"), "7 blocks refused, the count named");
	CHECK(bd_rpsearch_new("235818-357951-253979-013365-241120-245575-342914-5919a0", NULL, &s) == BD_ERR_INVALID,
	      "a letter refused");
	CHECK(bd_rpsearch_new("235818-3579-253979-013365-241120-245575-342914-591910", NULL, &s) == BD_ERR_INVALID &&
	      strstr(bd_last_error(), "block 2"), "a 4-digit block refused and named");
	CHECK(bd_rpsearch_new("235818357951253979013365241120245575342914591910", NULL, &s) == 0 &&
	      bd_rpsearch_count(s) == 1, "48 digits without dashes");
	bd_rpsearch_free(s);
	CHECK(count_of("xx5818-357951-253979-013365-241120-245575-342914-591910", 0, -1, 0) ==
	      count_of("??5818-357951-253979-013365-241120-245575-342914-591910", 0, -1, 0), "'x' is '?'");

	/* ---- state files ---- */
	{
		char dir[] = "/tmp/bdkit-rps-XXXXXX", path[128];
		uint8_t g1[16] = { 1 }, g2[16] = { 2 }, id1[32], id2[32], id3[32], id4[32];
		struct bd_rpsearch_state st = { .count = 91, .done_below = 40, .status = BD_RPS_INTERRUPTED }, ld;
		bd_rpsearch *s2;
		CHECK(mkdtemp(dir) != NULL, "temp dir");
		snprintf(path, sizeof(path), "%s/state", dir);
		bd_rpsearch_new("2???18-357951-253979-013365-241120-245575-342914-591910", NULL, &s);
		bd_rpsearch_new("2???18-357951-253979-013365-241120-245575-342914-591910",
				&(struct bd_rpsearch_opts)BD_RPSEARCH_OPTS_INIT(.edits = BD_RPS_EDIT_MISREAD, .max_changes = -1), &s2);
		bd_rpsearch_state_id(s, g1, NULL, id1);
		bd_rpsearch_state_id(s, g2, NULL, id2);
		bd_rpsearch_state_id(s2, g1, NULL, id3);
		bd_rpsearch_state_id(s, g1, "64311DEA", id4);
		CHECK(memcmp(id1, id2, 32) && memcmp(id1, id3, 32) && memcmp(id1, id4, 32),
		      "search IDs differ by volume, options and key ID");
		memcpy(st.id, id1, 32);
		CHECK(bd_rpsearch_state_save(path, &st) == 0, "state saved");
		CHECK(bd_rpsearch_state_load(path, &ld) == 0 && !memcmp(ld.id, id1, 32) && ld.count == 91 &&
		      ld.done_below == 40 && ld.status == BD_RPS_INTERRUPTED, "state reloaded");
		FILE *f = fopen(path, "r");
		char text[1024] = "";
		size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
		text[n] = 0;
		if (f)
			fclose(f);
		CHECK(!strstr(text, "2???18") && !strstr(text, "357951"), "the state file holds no digits of the password");
		f = fopen(path, "w");
		fputs("search 1234\ncount 5\n", f);
		fclose(f);
		CHECK(bd_rpsearch_state_load(path, &ld) == BD_ERR_INVALID, "a damaged state file is refused");
		unlink(path);
		rmdir(dir);
		bd_rpsearch_free(s);
		bd_rpsearch_free(s2);
	}
	CHECK(bd_rpsearch_bench(1) > 0.5, "stretch rate measured");
	CHECK_DONE();
}
