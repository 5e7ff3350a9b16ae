/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Recovery-password search (format.md §4.4): enumerate the passwords a damaged
 * copy may stand for, cheapest first, and try each against the volume's
 * recovery-password protectors.
 *
 * A block is 6 digits whose value v is a multiple of 11 below 720896 (65536 such
 * values). Windows' check digit d5 = (d0 - d1 + d2 - d3 + d4) mod 11 is the same
 * condition (10 = -1 mod 11, so v mod 11 = d5 - (d0 - d1 + d2 - d3 + d4) mod 11):
 * it adds nothing to "multiple of 11", but it means one wrong digit or two swapped
 * adjacent (different) digits always break the block, so such damage is found by
 * the block check alone and only the few repairs that pass cost a stretch.
 *
 * Each block gets a list of the values it may take with the cost (number of
 * changes) of each. A candidate picks one value per block; candidates are
 * numbered group by group, a group being one choice of "changes per block" (and
 * of a swapped block pair), in order of total changes, so the likeliest come
 * first and the numbering is the same on every run (what makes resuming work).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bdkit/search.h"
#include "volume.h"

#define NB 8
#define MAX_CHANGES 6
#define COUNT_LIMIT (1ULL << 62)
#define MAX_GROUPS (1u << 20)

const char bd_rps_default_confusions[] = "06 08 09 14 17 27 35 38 49 56 58 68 79 89";

struct rps_list {
	uint16_t *w;               /* v / 11 */
	size_t n;
	size_t off[MAX_CHANGES + 3]; /* off[c]..off[c+1]: entries with c changes */
	int maxc;                  /* highest cost present, -1 when empty */
};

struct rps_group {
	uint64_t start, count;
	uint8_t swap;              /* 0 none, else 1 + index into swap_pairs */
	uint8_t cost[NB];
};

struct bd_rpsearch {
	char typed[NB][8];         /* digits and '?', 5..7 long */
	int status[NB];
	int check[NB];
	struct rps_list list[NB];
	unsigned edits;
	int auto_edits;
	int maxc;
	uint8_t suspect;
	uint8_t confuse[10][10];
	struct rps_group *groups;
	size_t n_groups;
	uint64_t total;
};

static const uint8_t swap_pairs[28][2] = {
	{0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}, {0, 6}, {0, 7}, {1, 2}, {1, 3}, {1, 4}, {1, 5}, {1, 6}, {1, 7},
	{2, 3}, {2, 4}, {2, 5}, {2, 6}, {2, 7}, {3, 4}, {3, 5}, {3, 6}, {3, 7}, {4, 5}, {4, 6}, {4, 7},
	{5, 6}, {5, 7}, {6, 7},
};

int bd_rp_block_check(uint32_t v)
{
	int r = 0;

	if (v % 11)
		r |= BD_RPB_CHECK_NOT_MULT11;
	if (v >= 720896)
		r |= BD_RPB_CHECK_TOO_LARGE;
	return r;
}

int bd_rp_check_digit(const char d[5])
{
	int s = 0;

	for (int i = 0; i < 5; i++) {
		if (d[i] < '0' || d[i] > '9')
			return -1;
		s += (i & 1 ? -1 : 1) * (d[i] - '0');
	}
	s = ((s % 11) + 11) % 11;
	return s == 10 ? -1 : s;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	if (a && b > COUNT_LIMIT / a)
		return COUNT_LIMIT;
	return a * b;
}

/* ---- pattern ---- */

static int parse_confusions(const char *text, uint8_t t[10][10])
{
	int pend = -1;

	memset(t, 0, 100);
	for (const char *p = text; *p; p++) {
		if (isdigit((unsigned char)*p)) {
			if (pend < 0) {
				pend = *p - '0';
				continue;
			}
			t[pend][*p - '0'] = t[*p - '0'][pend] = 1;
			t[pend][pend] = 0;
			pend = -1;
		} else if (*p == ',' || *p == ' ' || *p == '/' || *p == ';') {
			if (pend >= 0)
				return bd_err(BD_ERR_INVALID, "confusion list: '%d' has no partner; give pairs of "
					      "digits such as \"17,38\"", pend);
		} else {
			return bd_err(BD_ERR_INVALID, "confusion list: unexpected '%c'; give pairs of digits such "
				      "as \"17,38\"", isprint((unsigned char)*p) ? *p : '?');
		}
	}
	if (pend >= 0)
		return bd_err(BD_ERR_INVALID, "confusion list: '%d' has no partner", pend);
	return 0;
}

static int parse_pattern(bd_rpsearch *s, const char *text)
{
	char g[NB + 1][64];
	size_t len[NB + 1] = { 0 };
	int ng = 0, in = 0;

	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char ch;
		if (c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			in = 0;
			continue;
		}
		if (isdigit(c))
			ch = (char)c;
		else if (c == '?' || c == 'x' || c == 'X' || c == '_')
			ch = '?';
		else if (c == '*')
			ch = '*';
		else
			return bd_err(BD_ERR_INVALID, "the pattern contains '%c' at position %zu; use digits, '?' or "
				      "'x' for an unreadable digit, '?\?\?\?\?\?' or '*' for a lost block, dashes between "
				      "blocks", isprint(c) ? c : '?', (size_t)(p - text) + 1);
		if (!in) {
			if (ng == NB + 1)
				goto count;
			ng++;
			in = 1;
		}
		if (len[ng - 1] >= 48)
			return bd_err(BD_ERR_INVALID, "the pattern has a run of more than 48 digits");
		g[ng - 1][len[ng - 1]++] = ch;
	}
	if (ng == 1 && len[0] == 48) {
		for (int i = 0; i < NB; i++) {
			memcpy(s->typed[i], g[0] + 6 * i, 6);
			s->typed[i][6] = 0;
		}
		for (int i = 0; i < NB; i++)
			if (strchr(s->typed[i], '*'))
				return bd_err(BD_ERR_INVALID, "'*' stands for a whole block: put dashes around it");
		return 0;
	}
count:
	if (ng != NB)
		return bd_err(BD_ERR_INVALID, "the pattern has %s%d block(s); a recovery password has 8 blocks of 6 "
			      "digits: write a lost block as ?\?\?\?\?\? (or *) in its place", ng > NB ? "more than " : "",
			      ng > NB ? NB : ng);
	for (int i = 0; i < NB; i++) {
		if (len[i] == 1 && g[i][0] == '*') {
			strcpy(s->typed[i], "?\?\?\?\?\?");
			continue;
		}
		if (memchr(g[i], '*', len[i]))
			return bd_err(BD_ERR_INVALID, "block %d: '*' stands for a whole lost block; write unreadable "
				      "digits as '?'", i + 1);
		if (len[i] < 5 || len[i] > 7)
			return bd_err(BD_ERR_INVALID, "block %d has %zu digits; a block has 6 (5 or 7 are read "
				      "as one dropped or one extra digit)", i + 1, len[i]);
		memcpy(s->typed[i], g[i], len[i]);
		s->typed[i][len[i]] = 0;
	}
	return 0;
}

/* ---- block lists ---- */

#define COST_INF 0x7fff

/* Cost of turning pattern p (6 chars: digits, '?') into digits t: changes * 16 + non-table substitutions. */
static int cost6(const bd_rpsearch *s, const char *p, const uint8_t t[6], int base)
{
	int dp[7];

	dp[0] = base;
	for (int i = 1; i <= 6; i++)
		dp[i] = COST_INF;
	for (int i = 0; i < 6; i++) {
		int d = dp[i];
		if (d >= COST_INF)
			continue;
		if (p[i] == '?' || p[i] - '0' == t[i]) {
			dp[i + 1] = MIN(dp[i + 1], d);
		} else {
			int a = p[i] - '0';
			if ((s->edits & BD_RPS_EDIT_MISREAD) && s->confuse[a][t[i]])
				dp[i + 1] = MIN(dp[i + 1], d + 16);
			else if (s->edits & BD_RPS_EDIT_ANY_DIGIT)
				dp[i + 1] = MIN(dp[i + 1], d + 17);
		}
		if ((s->edits & BD_RPS_EDIT_TRANSPOSE) && i < 5 && p[i] != '?' && p[i + 1] != '?' && p[i] != p[i + 1] &&
		    p[i] - '0' == t[i + 1] && p[i + 1] - '0' == t[i])
			dp[i + 2] = MIN(dp[i + 2], d + 16);
	}
	return dp[6];
}

static int block_cost(const bd_rpsearch *s, const char *typed, const uint8_t t[6])
{
	size_t n = strlen(typed);
	char v[7];
	int best = COST_INF;

	if (n == 6)
		return cost6(s, typed, t, 0);
	for (size_t k = 0; k < n + (n == 5); k++) {
		if (n == 5) {  /* a dropped digit: an unknown one inserted at k */
			memcpy(v, typed, k);
			v[k] = '?';
			memcpy(v + k + 1, typed + k, 5 - k);
		} else {       /* an extra digit: drop the one at k */
			memcpy(v, typed, k);
			memcpy(v + k, typed + k + 1, 6 - k);
		}
		best = MIN(best, cost6(s, v, t, 16));
	}
	return best;
}

struct entry {
	uint16_t key, w;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->w < y->w ? -1 : x->w > y->w;
}

static int build_list(bd_rpsearch *s, int b)
{
	struct rps_list *L = &s->list[b];
	struct entry *e;
	size_t n = 0;

	e = malloc(65536 * sizeof(*e));
	if (!e)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	if (s->status[b] == BD_RPB_KEPT) {
		e[n++] = (struct entry){ 0, (uint16_t)(atoi(s->typed[b]) / 11) };
	} else {
		for (uint32_t w = 0; w < 65536; w++) {
			uint32_t v = w * 11;
			uint8_t t[6];
			for (int k = 5; k >= 0; k--, v /= 10)
				t[k] = (uint8_t)(v % 10);
			int c = block_cost(s, s->typed[b], t);
			if (c < COST_INF && c / 16 <= s->maxc)
				e[n++] = (struct entry){ (uint16_t)c, (uint16_t)w };
		}
	}
	qsort(e, n, sizeof(*e), entry_cmp);
	L->w = malloc((n ? n : 1) * sizeof(*L->w));
	if (!L->w) {
		free(e);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	L->n = n;
	L->maxc = -1;
	size_t j = 0;
	for (int c = 0; c <= MAX_CHANGES + 2; c++) {
		L->off[c] = j;
		while (j < n && e[j].key / 16 == c)
			j++;
		if (j > L->off[c])
			L->maxc = c;
	}
	for (size_t i = 0; i < n; i++)
		L->w[i] = e[i].w;
	bd_wipe(e, 65536 * sizeof(*e));
	free(e);
	return 0;
}

static size_t list_size(const struct rps_list *L, int c)
{
	if (c > L->maxc || c < 0)
		return 0;
	return L->off[c + 1] - L->off[c];
}

/* ---- groups ---- */

struct gbuild {
	bd_rpsearch *s;
	size_t cap;
	int src[NB];
	int suffix_max[NB + 1];
	uint8_t cost[NB];
	uint8_t swap;
	int err;
};

static void add_group(struct gbuild *g, uint64_t count)
{
	bd_rpsearch *s = g->s;

	if (g->err)
		return;
	if (s->n_groups == MAX_GROUPS) {
		g->err = bd_err(BD_ERR_UNSUPPORTED, "the search has more than %u change patterns; lower "
				"--max-changes or mark fewer blocks", MAX_GROUPS);
		return;
	}
	if (s->n_groups == g->cap) {
		size_t nc = g->cap ? 2 * g->cap : 64;
		struct rps_group *ng = realloc(s->groups, nc * sizeof(*ng));
		if (!ng) {
			g->err = bd_err(BD_ERR_NOMEM, "out of memory");
			return;
		}
		s->groups = ng;
		g->cap = nc;
	}
	struct rps_group *gr = &s->groups[s->n_groups++];
	gr->start = s->total;
	gr->count = count;
	gr->swap = g->swap;
	memcpy(gr->cost, g->cost, NB);
	s->total += count;
	if (s->total > COUNT_LIMIT)
		g->err = bd_err(BD_ERR_UNSUPPORTED, "the search has more than 2^62 candidates; narrow it");
}

static void rec_groups(struct gbuild *g, int i, int rem, uint64_t count)
{
	if (g->err || rem > g->suffix_max[i])
		return;
	if (i == NB) {
		if (!rem)
			add_group(g, count);
		return;
	}
	const struct rps_list *L = &g->s->list[g->src[i]];
	for (int c = 0; c <= rem && c <= L->maxc; c++) {
		size_t n = list_size(L, c);
		if (!n)
			continue;
		g->cost[i] = (uint8_t)c;
		rec_groups(g, i + 1, rem - c, mul_sat(count, n));
	}
}

static int build_groups(bd_rpsearch *s)
{
	struct gbuild g = { .s = s };
	int nswap = (s->edits & BD_RPS_EDIT_SWAP_BLOCKS) ? 28 : 0;
	int tmax = 0;

	for (int b = 0; b < NB; b++) {
		if (s->list[b].maxc < 0)
			return 0; /* impossible: count 0 */
		tmax += s->list[b].maxc;
	}
	tmax += nswap ? 1 : 0;
	for (int t = 0; t <= tmax; t++) {
		for (int sw = 0; sw <= nswap; sw++) {
			int base = sw ? 1 : 0;
			if (t < base)
				continue;
			for (int i = 0; i < NB; i++)
				g.src[i] = i;
			if (sw) {
				int a = swap_pairs[sw - 1][0], b = swap_pairs[sw - 1][1];
				if (!strcmp(s->typed[a], s->typed[b]))
					continue; /* same lists: the same candidates again */
				g.src[a] = b;
				g.src[b] = a;
			}
			g.suffix_max[NB] = 0;
			for (int i = NB - 1; i >= 0; i--)
				g.suffix_max[i] = g.suffix_max[i + 1] + s->list[g.src[i]].maxc;
			g.swap = (uint8_t)sw;
			rec_groups(&g, 0, t - base, 1);
			if (g.err)
				return g.err;
		}
	}
	return 0;
}

/* ---- public: search definition ---- */

int bd_rpsearch_new(const char *pattern, const struct bd_rpsearch_opts *o, bd_rpsearch **out)
{
	struct bd_rpsearch_opts def = BD_RPSEARCH_OPTS_INIT(.max_changes = -1);
	bd_rpsearch *s;
	int r, need_auto = 0;

	*out = NULL;
	if ((r = BD_SIZE_CHECK(o, struct bd_rpsearch_opts, confusions, "BD_RPSEARCH_OPTS_INIT")))
		return r;
	if (!o)
		o = &def;
	if (o->max_changes > MAX_CHANGES)
		return bd_err(BD_ERR_INVALID, "at most %d changes per block can be searched", MAX_CHANGES);
	s = calloc(1, sizeof(*s));
	if (!s)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	r = parse_confusions(o->confusions ? o->confusions : bd_rps_default_confusions, s->confuse);
	if (r)
		goto fail;
	r = parse_pattern(s, pattern);
	if (r)
		goto fail;
	s->edits = o->edits & (BD_RPS_EDIT_MISREAD | BD_RPS_EDIT_ANY_DIGIT | BD_RPS_EDIT_TRANSPOSE | BD_RPS_EDIT_SWAP_BLOCKS);
	s->maxc = o->max_changes < 0 ? 1 : o->max_changes;
	s->suspect = o->suspect;
	for (int b = 0; b < NB; b++) {
		const char *t = s->typed[b];
		size_t n = strlen(t);
		if (n != 6)
			s->status[b] = BD_RPB_LENGTH;
		else if (strchr(t, '?'))
			s->status[b] = BD_RPB_UNKNOWN;
		else if ((s->check[b] = bd_rp_block_check((uint32_t)atoi(t))))
			s->status[b] = BD_RPB_BAD;
		else if (s->suspect & (1u << b))
			s->status[b] = BD_RPB_SUSPECT;
		else
			s->status[b] = BD_RPB_KEPT;
		if (s->status[b] == BD_RPB_BAD || s->status[b] == BD_RPB_SUSPECT)
			need_auto = 1;
	}
	if (!(s->edits & (BD_RPS_EDIT_MISREAD | BD_RPS_EDIT_ANY_DIGIT | BD_RPS_EDIT_TRANSPOSE)) && need_auto && o->max_changes) {
		s->edits |= BD_RPS_EDIT_ANY_DIGIT | BD_RPS_EDIT_TRANSPOSE;
		s->auto_edits = 1;
	}
	for (int b = 0; b < NB; b++)
		if ((r = build_list(s, b)))
			goto fail;
	r = build_groups(s);
	if (r)
		goto fail;
	*out = s;
	return 0;
fail:
	bd_rpsearch_free(s);
	return r;
}

void bd_rpsearch_free(bd_rpsearch *s)
{
	if (!s)
		return;
	for (int b = 0; b < NB; b++) {
		if (s->list[b].w)
			bd_wipe(s->list[b].w, s->list[b].n * sizeof(uint16_t));
		free(s->list[b].w);
	}
	free(s->groups);
	bd_wipe(s, sizeof(*s));
	free(s);
}

int bd_rpsearch_block(const bd_rpsearch *s, int i, struct bd_rpsearch_block *out)
{
	memset(out, 0, sizeof(*out));
	if (i < 0 || i >= NB)
		return bd_err(BD_ERR_INVALID, "block index %d out of range 0..7", i);
	snprintf(out->typed, sizeof(out->typed), "%s", s->typed[i]);
	out->status = s->status[i];
	out->check = s->check[i];
	out->candidates = s->list[i].n;
	for (int c = 0; c < 8; c++)
		out->by_changes[c] = list_size(&s->list[i], c);
	return 0;
}

int bd_rpsearch_summary(const bd_rpsearch *s, struct bd_rpsearch_summary *out)
{
	memset(out, 0, sizeof(*out));
	out->count = s->total;
	out->edits = s->edits;
	out->auto_edits = s->auto_edits;
	out->max_changes = s->maxc;
	out->n_groups = s->n_groups;
	return 0;
}

uint64_t bd_rpsearch_count(const bd_rpsearch *s)
{
	return s->total;
}

static int candidate_key(const bd_rpsearch *s, uint64_t index, uint8_t key[16], int *changes)
{
	size_t lo = 0, hi = s->n_groups;

	if (index >= s->total)
		return bd_err(BD_ERR_INVALID, "candidate %llu is beyond the search (%llu candidates)",
			      (unsigned long long)index, (unsigned long long)s->total);
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (s->groups[mid].start <= index)
			lo = mid;
		else
			hi = mid;
	}
	const struct rps_group *g = &s->groups[lo];
	uint64_t r = index - g->start;
	int src[NB], ch = g->swap ? 1 : 0;
	for (int i = 0; i < NB; i++)
		src[i] = i;
	if (g->swap) {
		src[swap_pairs[g->swap - 1][0]] = swap_pairs[g->swap - 1][1];
		src[swap_pairs[g->swap - 1][1]] = swap_pairs[g->swap - 1][0];
	}
	for (int i = NB - 1; i >= 0; i--) {
		const struct rps_list *L = &s->list[src[i]];
		size_t n = list_size(L, g->cost[i]);
		put_le16(key + 2 * i, L->w[L->off[g->cost[i]] + r % n]);
		r /= n;
		ch += g->cost[i];
	}
	if (changes)
		*changes = ch;
	return 0;
}

int bd_rpsearch_candidate(const bd_rpsearch *s, uint64_t index, char out[56], int *changes)
{
	uint8_t key[16];
	int r = candidate_key(s, index, key, changes);

	if (r)
		return r;
	bd_recovery_password_format(key, out);
	bd_wipe(key, sizeof(key));
	return 0;
}

/* ---- running ---- */

struct rps_prot {
	uint8_t salt[16];
	uint8_t *raw;              /* copy of the AES-CCM datum */
	struct bd_datum ccm;
	char key_id[9];
	uint8_t guid[16];
};

#define IDLE UINT64_MAX

struct rps_run {
	const bd_rpsearch *s;
	struct rps_prot *p;
	size_t np;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t next, end;
	uint64_t *cur;
	unsigned running;
	uint64_t tried;
	int stop, found;
	uint64_t found_index;
	size_t found_prot;
	uint8_t found_key[16];
};

/*
 * Each worker takes a batch of consecutive candidates (as many as one bd_stretch_many call runs at
 * full speed: interleaved SHA-NI streams or AVX lanes) and stretches them together per protector.
 */
#define MAX_BATCH 32

static void *worker(void *arg)
{
	struct rps_run *R = ((void **)arg)[0];
	unsigned t = (unsigned)(uintptr_t)((void **)arg)[1];
	size_t batch = MIN(bd_stretch_batch(), (size_t)MAX_BATCH);
	uint8_t key[MAX_BATCH][16], initial[MAX_BATCH][32], salt[MAX_BATCH][16], k32[MAX_BATCH][32], vmk[32];
	bool valid[MAX_BATCH];

	for (;;) {
		uint64_t first;
		size_t cnt;
		pthread_mutex_lock(&R->mu);
		if (R->stop || R->found || R->next >= R->end) {
			R->cur[t] = IDLE;
			pthread_mutex_unlock(&R->mu);
			break;
		}
		first = R->next;
		cnt = (size_t)MIN((uint64_t)batch, R->end - R->next);
		R->next += cnt;
		R->cur[t] = first;
		pthread_mutex_unlock(&R->mu);

		for (size_t b = 0; b < cnt; b++) {
			valid[b] = candidate_key(R->s, first + b, key[b], NULL) == 0;
			if (valid[b])
				bd_recovery_key_hash(key[b], initial[b]);
			else
				memset(initial[b], 0, 32);
		}
		/* the lowest candidate of the batch that opens any protector */
		int hit = -1;
		size_t hit_prot = 0;
		for (size_t j = 0; j < R->np && hit != 0; j++) {
			for (size_t b = 0; b < cnt; b++)
				memcpy(salt[b], R->p[j].salt, 16);
			bd_stretch_many(cnt, (const uint8_t (*)[32])initial, (const uint8_t (*)[16])salt, k32);
			for (size_t b = 0; b < cnt && (hit < 0 || (int)b < hit); b++) {
				/* the recovery-password step of bd_unlock, its stretch batched above */
				if (valid[b] && !bd_vmk_unbox(&R->p[j].ccm, k32[b], R->p[j].key_id, vmk)) {
					hit = (int)b;
					hit_prot = j;
				}
			}
		}
		pthread_mutex_lock(&R->mu);
		R->tried += cnt;
		R->cur[t] = IDLE;
		if (hit >= 0 && (!R->found || first + (uint64_t)hit < R->found_index)) {
			R->found = 1;
			R->found_index = first + (uint64_t)hit;
			R->found_prot = hit_prot;
			memcpy(R->found_key, key[hit], 16);
		}
		pthread_mutex_unlock(&R->mu);
	}
	bd_wipe(key, sizeof(key));
	bd_wipe(initial, sizeof(initial));
	bd_wipe(k32, sizeof(k32));
	bd_wipe(vmk, sizeof(vmk));
	pthread_mutex_lock(&R->mu);
	R->running--;
	pthread_cond_signal(&R->cv);
	pthread_mutex_unlock(&R->mu);
	return NULL;
}

/* Every candidate below this index was tried (call with the lock held). */
static uint64_t watermark(const struct rps_run *R, unsigned nt)
{
	uint64_t w = R->next;

	for (unsigned t = 0; t < nt; t++)
		if (R->cur[t] != IDLE && R->cur[t] < w)
			w = R->cur[t];
	return w;
}

static void norm_id(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *in && n + 1 < outlen; in++)
		if (isxdigit((unsigned char)*in))
			out[n++] = (char)toupper((unsigned char)*in);
	out[n] = 0;
}

static int load_protectors(bd_volume *v, const char *key_id, struct rps_prot **out, size_t *np)
{
	struct rps_prot *p;
	size_t n = 0;
	char want[40] = "", have[40], all[256] = "";
	size_t al = 0;

	if (key_id)
		norm_id(key_id, want, sizeof(want));
	p = calloc(v->n_prot ? v->n_prot : 1, sizeof(*p));
	if (!p)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < v->n_prot; i++) {
		struct bd_prot *q = &v->prot[i];
		struct bd_datum ccm;
		const uint8_t *salt;
		char g[37];
		if (bd_protector_kind(q->info.type) != BD_PROT_RECOVERY_PASSWORD)
			continue;
		if (al + 12 < sizeof(all))
			al += (size_t)snprintf(all + al, sizeof(all) - al, "%s%s", al ? ", " : "", q->info.key_id);
		bd_guid_format(q->info.guid, g);
		norm_id(g, have, sizeof(have));
		if (*want && strncmp(have, want, strlen(want)))
			continue;
		if (bd_prot_stretch_parts(q, &salt, &ccm)) {
			bd_warn("recovery-password protector %s has no salt or no encrypted VMK; skipped", q->info.key_id);
			continue;
		}
		p[n].raw = malloc(ccm.size);
		if (!p[n].raw) {
			free(p);
			return bd_err(BD_ERR_NOMEM, "out of memory");
		}
		memcpy(p[n].raw, ccm.raw, ccm.size);
		p[n].ccm = ccm;
		p[n].ccm.raw = p[n].raw;
		memcpy(p[n].salt, salt, 16);
		memcpy(p[n].key_id, q->info.key_id, sizeof(p[n].key_id));
		memcpy(p[n].guid, q->info.guid, 16);
		n++;
	}
	if (!n) {
		free(p);
		if (*want && *all)
			return bd_err(BD_ERR_NO_PROTECTOR, "no recovery-password protector has key ID %s; this volume's: "
				      "%s", key_id, all);
		return bd_err(BD_ERR_NO_PROTECTOR, "the volume has no usable recovery-password protector");
	}
	*out = p;
	*np = n;
	return 0;
}

static void free_protectors(struct rps_prot *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		free(p[i].raw);
	free(p);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)MIN(n, 1024) : 1;
}

int bd_rpsearch_run(const bd_rpsearch *s, bd_volume *v, const struct bd_rpsearch_run_opts *o,
		    struct bd_rpsearch_result *res)
{
	struct bd_rpsearch_run_opts def = BD_RPSEARCH_RUN_OPTS_INIT();
	struct rps_run R;
	pthread_t *th = NULL;
	void **args = NULL;
	pthread_condattr_t ca;
	unsigned nt, started = 0;
	double t0, last = 0;
	int r = 0;

	memset(res, 0, sizeof(*res));
	if ((r = BD_SIZE_CHECK(o, struct bd_rpsearch_run_opts, userdata, "BD_RPSEARCH_RUN_OPTS_INIT")))
		return r;
	if (!o)
		o = &def;
	memset(&R, 0, sizeof(R));
	R.s = s;
	R.next = o->start;
	R.end = s->total;
	res->last.done_below = o->start;
	r = load_protectors(v, o->key_id, &R.p, &R.np);
	if (r)
		return r;
	res->n_protectors = R.np;
	if (o->start >= s->total) {
		free_protectors(R.p, R.np);
		return bd_err(BD_ERR_WRONG_KEY, "no candidates left to try (%llu of %llu done)",
			      (unsigned long long)o->start, (unsigned long long)s->total);
	}
	nt = o->threads ? o->threads : default_threads();
	if (nt > s->total - o->start)
		nt = (unsigned)(s->total - o->start);
	R.cur = malloc(nt * sizeof(*R.cur));
	th = calloc(nt, sizeof(*th));
	args = calloc(2 * (size_t)nt, sizeof(*args));
	if (!R.cur || !th || !args) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (unsigned t = 0; t < nt; t++)
		R.cur[t] = IDLE;
	pthread_mutex_init(&R.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&R.cv, &ca);
	pthread_condattr_destroy(&ca);
	t0 = now_s();
	pthread_mutex_lock(&R.mu);
	for (unsigned t = 0; t < nt; t++) {
		args[2 * t] = &R;
		args[2 * t + 1] = (void *)(uintptr_t)t;
		if (pthread_create(&th[t], NULL, worker, &args[2 * t]))
			break;
		started++;
		R.running++;
	}
	if (!started) {
		pthread_mutex_unlock(&R.mu);
		r = bd_err(BD_ERR_NOMEM, "cannot start worker threads");
		goto destroy;
	}
	unsigned iv = o->interval_ms ? o->interval_ms : 500;
	while (R.running) {
		struct timespec ts;
		bd_deadline_ms(CLOCK_MONOTONIC, 50, &ts);
		pthread_cond_timedwait(&R.cv, &R.mu, &ts);
		if (o->stop && *o->stop)
			R.stop = 1;
		double now = now_s();
		if (o->progress && (now - last) * 1000 >= iv && R.running) {
			struct bd_rpsearch_progress p = { watermark(&R, started), R.tried, now - t0, 0 };
			p.rate = p.seconds > 0 ? (double)p.tried / p.seconds : 0;
			last = now;
			pthread_mutex_unlock(&R.mu);
			int stop = o->progress(&p, o->userdata);
			pthread_mutex_lock(&R.mu);
			if (stop)
				R.stop = 1;
		}
	}
	pthread_mutex_unlock(&R.mu);
	for (unsigned t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	res->last.tried = R.tried;
	res->last.seconds = now_s() - t0;
	res->last.rate = res->last.seconds > 0 ? (double)R.tried / res->last.seconds : 0;
	res->last.done_below = R.found ? R.found_index : R.next;
	if (R.found) {
		int ch = 0;
		res->found = 1;
		res->index = R.found_index;
		candidate_key(s, R.found_index, R.found_key, &ch);
		res->changes = ch;
		bd_recovery_password_format(R.found_key, res->password);
		memcpy(res->key_id, R.p[R.found_prot].key_id, sizeof(res->key_id));
		memcpy(res->protector_guid, R.p[R.found_prot].guid, 16);
		res->verified = bd_unlock_recovery_password(v, res->password) == 0;
		r = 0;
	} else if (R.stop) {
		r = bd_err(BD_ERR_INTERRUPTED, "search stopped; every candidate below %llu of %llu was tried",
			   (unsigned long long)R.next, (unsigned long long)s->total);
	} else {
		r = bd_err(BD_ERR_WRONG_KEY, "none of the %llu candidates opens the volume",
			   (unsigned long long)s->total);
	}
destroy:
	pthread_cond_destroy(&R.cv);
	pthread_mutex_destroy(&R.mu);
out:
	bd_wipe(R.found_key, sizeof(R.found_key));
	free(R.cur);
	free(th);
	free(args);
	free_protectors(R.p, R.np);
	return r;
}

void bd_rpsearch_result_wipe(struct bd_rpsearch_result *res)
{
	bd_wipe(res->password, sizeof(res->password));
}

/* one batch of stretches as a search worker runs them, timed on a short run */
static void *bench_worker(void *arg)
{
	*(double *)arg = bd_stretch_many_time();
	return NULL;
}

double bd_rpsearch_bench(unsigned threads)
{
	pthread_t th[64];
	double secs[64];
	unsigned n = threads ? threads : default_threads(), started = 0;
	size_t batch = MIN(bd_stretch_batch(), (size_t)MAX_BATCH); /* picks the implementation first */
	double worst = 0;

	if (n > 64)
		n = 64;
	for (unsigned i = 0; i < n; i++)
		if (!pthread_create(&th[i], NULL, bench_worker, &secs[i]))
			started++;
		else
			break;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		worst = MAX(worst, secs[i]);
	}
	if (!started) {
		bench_worker(&secs[0]);
		worst = secs[0];
		started = 1;
	}
	double rate = worst > 0 ? (double)(started * batch) / worst : 0;
	/* more threads than measured scale like the measured ones */
	return threads > started ? rate * threads / started : rate;
}

/* ---- state files ---- */

void bd_rpsearch_state_id(const bd_rpsearch *s, const uint8_t guid[16], const char *key_id, uint8_t id[32])
{
	uint8_t buf[512];
	size_t n = 0;
	char kid[40] = "*";

	memcpy(buf, "bdkit-rpsearch-v1", 17);
	n = 17;
	memcpy(buf + n, guid, 16);
	n += 16;
	for (int b = 0; b < NB; b++) {
		memset(buf + n, 0, 8);
		memcpy(buf + n, s->typed[b], strlen(s->typed[b]));
		n += 8;
		buf[n++] = (uint8_t)s->status[b];
	}
	put_le32(buf + n, s->edits);
	n += 4;
	buf[n++] = (uint8_t)s->maxc;
	buf[n++] = s->suspect;
	memcpy(buf + n, s->confuse, 100);
	n += 100;
	put_le64(buf + n, s->total);
	n += 8;
	if (key_id && *key_id)
		norm_id(key_id, kid, sizeof(kid));
	memcpy(buf + n, kid, strlen(kid) + 1);
	n += strlen(kid) + 1;
	bd_sha256(buf, n, id);
	bd_wipe(buf, sizeof(buf));
}

static const char *status_names[] = { "running", "interrupted", "found", "exhausted" };

const char *bd_rps_status_name(int st)
{
	return st >= 0 && st < 4 ? status_names[st] : "unknown";
}

int bd_rpsearch_state_save(const char *path, const struct bd_rpsearch_state *st)
{
	char tmp[4096], text[512], hex[65];
	int fd, n;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return bd_err(BD_ERR_INVALID, "state file name too long");
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", st->id[i]);
	n = snprintf(text, sizeof(text),
		     "# bdkit recover-password search state (holds no digit of the password)\n"
		     "version 1\nsearch %s\ncount %llu\ndone %llu\nstatus %s\nsaved %lld\n", hex,
		     (unsigned long long)st->count, (unsigned long long)st->done_below, bd_rps_status_name(st->status),
		     (long long)time(NULL));
	fd = mkstemp(tmp);
	if (fd < 0)
		return bd_err(BD_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
	if (fchmod(fd, 0600) || write(fd, text, (size_t)n) != n || fsync(fd)) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return bd_err(BD_ERR_IO, "cannot write the state file %s: %s", tmp, strerror(e));
	}
	close(fd);
	if (rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return bd_err(BD_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
	}
	return 0;
}

int bd_rpsearch_state_load(const char *path, struct bd_rpsearch_state *st)
{
	FILE *f = fopen(path, "re");
	char line[256];
	int have = 0, version = 0;

	memset(st, 0, sizeof(*st));
	if (!f)
		return bd_err(BD_ERR_IO, "cannot open the state file %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char key[32], val[128];
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%31s %127s", key, val) != 2)
			goto bad;
		if (!strcmp(key, "version")) {
			version = atoi(val);
		} else if (!strcmp(key, "search")) {
			if (strlen(val) != 64)
				goto bad;
			for (int i = 0; i < 32; i++) {
				unsigned x;
				if (!isxdigit((unsigned char)val[2 * i]) || !isxdigit((unsigned char)val[2 * i + 1]) ||
				    sscanf(val + 2 * i, "%2x", &x) != 1)
					goto bad;
				st->id[i] = (uint8_t)x;
			}
			have |= 1;
		} else if (!strcmp(key, "count")) {
			st->count = strtoull(val, NULL, 10);
			have |= 2;
		} else if (!strcmp(key, "done")) {
			st->done_below = strtoull(val, NULL, 10);
			have |= 4;
		} else if (!strcmp(key, "status")) {
			st->status = -1;
			for (int i = 0; i < 4; i++)
				if (!strcmp(val, status_names[i]))
					st->status = i;
			if (st->status < 0)
				goto bad;
			have |= 8;
		}
	}
	fclose(f);
	if (version != 1 || have != 15 || st->done_below > st->count)
		return bd_err(BD_ERR_INVALID, "%s is not a bdkit recover-password state file (or it is damaged)", path);
	return 0;
bad:
	fclose(f);
	return bd_err(BD_ERR_INVALID, "%s is not a bdkit recover-password state file (or it is damaged)", path);
}
