/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every boot of a MeasuredBoot folder, kept small (facts, PCR values and a
 * fingerprint per event, never the log), so that a folder of any size is read
 * one log at a time: which boot went into recovery, which earlier clean boot
 * to compare it with, which PCRs change between good boots anyway (volatile
 * measurements), and whether two logs come from the same machine.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "diagnose_int.h"

#define MAX_FP 4096          /* fingerprints kept per boot (real boots log a few hundred events) */

struct fp {
	uint8_t pcr;
	uint64_t key, value;
};

struct boot {
	char *name;
	struct bd_eventlog_info info;
	long resume;
	struct fp *fp;
	size_t n_fp;
	int fp_complete;         /* every measured event has a fingerprint */
	struct dg_ident id;
};

struct bd_bootset {
	struct boot *b;
	size_t n, cap;
	bool all_counted;        /* every boot has a boot counter: order by it */
};

int bd_bootset_new(bd_bootset **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : bd_err(BD_ERR_NOMEM, "out of memory");
}

void bd_bootset_free(bd_bootset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->b[i].name);
		free(s->b[i].fp);
	}
	free(s->b);
	free(s);
}

size_t bd_bootset_count(const bd_bootset *s)
{
	return s->n;
}

/* "<boot>-<resume>.log" (MeasuredBoot names): the resume count, -1 when the name is another. */
static long resume_of(const char *name)
{
	const char *base = strrchr(name, '/'), *dash, *p;

	base = base ? base + 1 : name;
	dash = strchr(base, '-');
	if (!dash || dash == base)
		return -1;
	for (p = base; p < dash; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	long v = 0;
	for (p = dash + 1; isdigit((unsigned char)*p); p++)
		v = v * 10 + (*p - '0') > 1000000000 ? 1000000000 : v * 10 + (*p - '0');
	if (p == dash + 1 || strcasecmp(p, ".log"))
		return -1;
	return v;
}

/* The value of an event for comparisons across boots: its preferred bank's digest. */
static uint64_t event_value(const struct bd_event *e)
{
	static const uint16_t pref[] = { BD_ALG_SHA256, BD_ALG_SHA1, BD_ALG_SHA384, BD_ALG_SHA512 };

	for (size_t p = 0; p < ARRAY_SIZE(pref); p++)
		for (size_t d = 0; d < e->n_digests; d++)
			if (e->digests[d].alg == pref[p])
				return dg_hash(e->digests[d].value, e->digests[d].size, DG_HASH_INIT);
	return e->n_digests ? dg_hash(e->digests[0].value, e->digests[0].size, DG_HASH_INIT) : 0;
}

int bd_bootset_add(bd_bootset *s, const char *name, const bd_eventlog *log, size_t *id)
{
	struct boot *b;
	char key[512];

	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		void *p = realloc(s->b, ncap * sizeof(*s->b));
		if (!p)
			return bd_err(BD_ERR_NOMEM, "out of memory");
		s->b = p;
		s->cap = ncap;
	}
	b = &s->b[s->n];
	memset(b, 0, sizeof(*b));
	b->name = strdup(name ? name : "");
	if (!b->name)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	bd_eventlog_info(log, &b->info);
	b->resume = resume_of(b->name);
	dg_ident_of(log, &b->id);
	b->fp_complete = 1;
	for (size_t i = 0; i < b->info.n_events; i++) {
		struct bd_event e;
		if (bd_eventlog_event(log, i, &e) || !e.measured)
			continue;
		if (b->n_fp == MAX_FP) {
			b->fp_complete = 0;
			break;
		}
		if (!b->fp) {
			b->fp = malloc(MIN(b->info.n_events, (size_t)MAX_FP) * sizeof(*b->fp));
			if (!b->fp) {
				free(b->name);
				return bd_err(BD_ERR_NOMEM, "out of memory");
			}
		}
		b->fp[b->n_fp++] = (struct fp){ (uint8_t)e.pcr, dg_key(log, i, key, sizeof(key)), event_value(&e) };
	}
	if (id)
		*id = s->n;
	s->n++;
	return 0;
}

static bool is_recovery(const struct boot *b)
{
	return b->info.has_unlock && (b->info.unlock_flags & BD_UNLOCK_RECOVERY);
}

static bool is_clean(const struct boot *b)
{
	return b->info.has_unlock && (b->info.unlock_flags & BD_UNLOCK_TPM) && !(b->info.unlock_flags & BD_UNLOCK_RECOVERY) &&
	       b->info.complete;
}

int bd_bootset_boot(const bd_bootset *s, size_t id, struct bd_boot_info *out)
{
	const struct boot *b;

	if (id >= s->n)
		return bd_err(BD_ERR_INVALID, "no boot %zu in the set", id);
	b = &s->b[id];
	memset(out, 0, sizeof(*out));
	out->name = b->name;
	out->has_boot_count = b->info.has_boot_count;
	out->boot_count = b->info.boot_count;
	out->resume_count = b->resume;
	out->has_unlock = b->info.has_unlock;
	out->unlock_flags = b->info.unlock_flags;
	out->recovery = is_recovery(b);
	out->clean = is_clean(b);
	out->complete = b->info.complete;
	out->secure_boot = b->info.secure_boot;
	return 0;
}

static int cmp_ids(const void *x, const void *y, void *ctx)
{
	const bd_bootset *s = ctx;
	const struct boot *a = &s->b[*(const size_t *)x], *b = &s->b[*(const size_t *)y];
	bool by_count = a->info.has_boot_count && b->info.has_boot_count && s->all_counted;

	if (by_count && a->info.boot_count != b->info.boot_count)
		return a->info.boot_count < b->info.boot_count ? -1 : 1;
	if (by_count && a->resume != b->resume)
		return a->resume < b->resume ? -1 : 1;
	int c = strcmp(a->name, b->name);
	if (c)
		return c;
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

int bd_bootset_order(const bd_bootset *s, size_t *ids)
{
	bool all = s->n > 0;

	for (size_t i = 0; i < s->n; i++) {
		ids[i] = i;
		all &= s->b[i].info.has_boot_count != 0;
	}
	((bd_bootset *)s)->all_counted = all;
	qsort_r(ids, s->n, sizeof(*ids), cmp_ids, (void *)s);
	return 0;
}

int bd_bootset_pick(const bd_bootset *s, size_t *good, size_t *bad)
{
	size_t *ids = malloc((s->n + 1) * sizeof(*ids));
	size_t b = (size_t)-1, pos = 0;

	*good = *bad = (size_t)-1;
	if (!ids)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	bd_bootset_order(s, ids);
	for (size_t i = s->n; i-- > 0;)
		if (is_recovery(&s->b[ids[i]])) {
			b = ids[i];
			pos = i;
			break;
		}
	if (b == (size_t)-1) {
		free(ids);
		return bd_err(BD_ERR_INVALID, "none of the %zu log(s) records a recovery unlock (BITLOCKER_UNLOCK "
			      "flag 0x40); name the bad boot with --bad", s->n);
	}
	*bad = b;
	/* the newest clean boot before it; a cold boot (resume 0) before a resume from hibernation */
	for (int pass = 0; pass < 2 && *good == (size_t)-1; pass++)
		for (size_t i = pos; i-- > 0;) {
			const struct boot *x = &s->b[ids[i]];
			if (is_clean(x) && (pass == 1 || x->resume <= 0)) {
				*good = ids[i];
				break;
			}
		}
	free(ids);
	return 0;
}

/* ---- volatile measurements ---- */

static int add_vkey(struct dg *g, unsigned pcr, uint64_t key, size_t *cap)
{
	for (size_t i = 0; i < g->n_vol; i++)
		if (g->vol[i].pcr == pcr && g->vol[i].key == key)
			return 0;
	if (g->n_vol == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *p = realloc(g->vol, ncap * sizeof(*g->vol));
		if (!p)
			return bd_err(BD_ERR_NOMEM, "out of memory");
		g->vol = p;
		*cap = ncap;
	}
	g->vol[g->n_vol++] = (struct dg_vkey){ pcr, key };
	return 0;
}

/* A boot's fingerprints in (pcr, key, occurrence) order; occurrence counts equal (pcr, key) in log order. */
struct ofp {
	uint8_t pcr;
	uint64_t key;
	uint32_t occ;
	uint64_t value;
};

static int cmp_ofp(const void *x, const void *y)
{
	const struct ofp *a = x, *b = y;

	if (a->pcr != b->pcr)
		return a->pcr < b->pcr ? -1 : 1;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->occ < b->occ ? -1 : a->occ > b->occ;
}

struct idxfp {
	const struct fp *f;
	size_t i;
};

static int cmp_idx(const void *x, const void *y)
{
	const struct idxfp *a = x, *b = y;

	if (a->f->pcr != b->f->pcr)
		return a->f->pcr < b->f->pcr ? -1 : 1;
	if (a->f->key != b->f->key)
		return a->f->key < b->f->key ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static struct ofp *ordered(const struct boot *b)
{
	struct idxfp *t = malloc((b->n_fp + 1) * sizeof(*t));
	struct ofp *o = malloc((b->n_fp + 1) * sizeof(*o));

	if (!t || !o) {
		free(t);
		free(o);
		return NULL;
	}
	for (size_t i = 0; i < b->n_fp; i++)
		t[i] = (struct idxfp){ &b->fp[i], i };
	qsort(t, b->n_fp, sizeof(*t), cmp_idx);
	for (size_t i = 0; i < b->n_fp; i++) {
		bool same = i && t[i].f->pcr == t[i - 1].f->pcr && t[i].f->key == t[i - 1].f->key;
		o[i] = (struct ofp){ t[i].f->pcr, t[i].f->key, same ? o[i - 1].occ + 1 : 0, t[i].f->value };
	}
	free(t);
	return o;
}

/* Keys whose events differ between two good boots (changed, or present in one only): a sorted merge. */
static int compare_good(struct dg *g, const struct boot *a, const struct boot *b, size_t *cap, uint32_t *pcrs)
{
	struct ofp *x = ordered(a), *y = ordered(b);
	size_t i = 0, j = 0;
	int r = 0;

	if (!x || !y) {
		free(x);
		free(y);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	while (!r && (i < a->n_fp || j < b->n_fp)) {
		int c = i == a->n_fp ? 1 : j == b->n_fp ? -1 : cmp_ofp(&x[i], &y[j]);
		const struct ofp *d = NULL;
		if (c == 0) {
			if (x[i].value != y[j].value)
				d = &x[i];
			i++, j++;
		} else if (c < 0) {
			d = &x[i++];
		} else {
			d = &y[j++];
		}
		/* PCRs 11-14: Windows counts boots and unlocks there; the SIPA rules handle them */
		if (!d || (d->pcr >= 11 && d->pcr <= 14))
			continue;
		*pcrs |= 1u << d->pcr;
		r = add_vkey(g, d->pcr, d->key, cap);
	}
	free(x);
	free(y);
	return r;
}

int dg_volatile_from_boots(struct dg *g)
{
	const bd_bootset *s = g->o ? g->o->boots : NULL;
	size_t *ids, cap = 0, prev = (size_t)-1, seen = 0;
	int r = 0;

	if (!s || s->n < 2)
		return 0;
	ids = malloc(s->n * sizeof(*ids));
	if (!ids)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	bd_bootset_order(s, ids);
	for (size_t i = 0; i < s->n && !r; i++) {
		const struct boot *b = &s->b[ids[i]];
		if (ids[i] == g->o->bad_id)
			break;
		if (!is_clean(b) || !b->fp_complete)
			continue;
		seen++;
		if (prev != (size_t)-1)
			r = compare_good(g, &s->b[prev], b, &cap, &g->d->volatile_pcrs);
		prev = ids[i];
	}
	g->d->good_boots_seen = seen;
	free(ids);
	return r;
}

bool dg_is_volatile(const struct dg *g, unsigned pcr, uint64_t key)
{
	for (size_t i = 0; i < g->n_vol; i++)
		if (g->vol[i].pcr == pcr && g->vol[i].key == key)
			return true;
	return false;
}

/* ---- identity ---- */

void dg_ident_of(const bd_eventlog *log, struct dg_ident *id)
{
	struct bd_eventlog_info in;
	size_t eo = 0;

	memset(id, 0, sizeof(*id));
	bd_eventlog_info(log, &in);
	snprintf(id->crtm, sizeof(id->crtm), "%s", in.crtm_version);
	id->has_boot_count = in.has_boot_count;
	id->boot_count = in.boot_count;
	for (size_t i = 0; i < in.n_events; i++) {
		struct bd_event e;
		struct ev_var v;
		if (bd_eventlog_event(log, i, &e))
			continue;
		if ((e.type == EV_EFI_VARIABLE_BOOT || e.type == EV_EFI_VARIABLE_BOOT2) &&
		    !ev_parse_var(e.data, e.data_len, &v) && !strncmp(v.name, "Boot", 4) && strlen(v.name) == 8) {
			char desc[256], path[1024];
			int medium;
			if (ev_load_option(v.data, v.len, desc, sizeof(desc), path, sizeof(path), &medium))
				continue;
			for (const char *m = strstr(path, "MAC("); m && id->n_macs < DG_MAX_MACS; m = strstr(m + 4, "MAC(")) {
				char mac[18];
				size_t k = 0;
				while (k < 17 && m[4 + k] && m[4 + k] != ',' && m[4 + k] != ')')
					mac[k] = m[4 + k], k++;
				mac[k] = 0;
				bool dup = false;
				for (int q = 0; q < id->n_macs; q++)
					dup |= !strcmp(id->macs[q], mac);
				if (k == 17 && !dup && strcmp(mac, "00:00:00:00:00:00"))
					memcpy(id->macs[id->n_macs++], mac, 18);
			}
			if (eo < sizeof(id->boot_entries) - 1)
				eo += (size_t)snprintf(id->boot_entries + eo, sizeof(id->boot_entries) - eo, "%s;", desc);
			if (eo >= sizeof(id->boot_entries))
				eo = sizeof(id->boot_entries) - 1;
		}
		if (e.type == EV_CPU_MICROCODE && !id->cpu[0]) {
			char text[256];
			const char *p;
			snprintf(text, sizeof(text), "%.*s", (int)MIN(e.data_len, (size_t)255), (const char *)e.data);
			if ((p = strstr(text, "processor ")))
				snprintf(id->cpu, sizeof(id->cpu), "%.40s", p + 10);
			ev_sanitize(id->cpu);
		}
		if ((e.type == EV_EFI_GPT_EVENT || e.type == EV_EFI_GPT_EVENT2) && !id->has_disk) {
			uint64_t n;
			id->has_disk = !ev_gpt(e.data, e.data_len, id->disk_guid, &n) && e.type == EV_EFI_GPT_EVENT;
		}
		if (e.type == EV_EFI_VARIABLE_DRIVER_CONFIG && e.pcr == 7 && !id->has_pk &&
		    !ev_parse_var(e.data, e.data_len, &v) && !strcmp(v.name, "PK"))
			id->has_pk = !ev_hash(BD_ALG_SHA256, v.data, v.len, id->pk_hash, NULL);
	}
	if (in.trust_point >= 0) {
		struct bd_event e;
		struct bd_trustpoint tp;
		if (!bd_eventlog_event(log, (size_t)in.trust_point, &e) && !bd_trustpoint_parse(e.data, e.data_len, &tp) &&
		    tp.aik_digest && tp.aik_digest_len == 20) {
			memcpy(id->aik_digest, tp.aik_digest, 20);
			id->has_aik = 1;
		}
	}
}

static int ident_line(struct dg *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ident_line(struct dg *g, const char *fmt, ...)
{
	char buf[600], **p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ev_sanitize(buf);
	p = realloc(g->d->identity, (g->d->n_identity + 1) * sizeof(*p));
	if (!p)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	g->d->identity = p;
	if (!(p[g->d->n_identity] = strdup(buf)))
		return bd_err(BD_ERR_NOMEM, "out of memory");
	g->d->n_identity++;
	return 0;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Share of the firmware events (PCRs 0-7: what they are, not what they measured) both boots log:
 * the multisets of keys, sorted and merged. */
static double firmware_similarity(const struct dg *g)
{
	size_t common = 0, total[2] = { 0, 0 };

	for (unsigned pcr = 0; pcr <= 7; pcr++) {
		struct dg_item *it[2] = { NULL, NULL };
		uint64_t *k[2] = { NULL, NULL };
		size_t n[2];
		bool ok = true;
		n[0] = dg_collect(g->good, 0, pcr, &it[0]);
		n[1] = dg_collect(g->bad, 0, pcr, &it[1]);
		for (int s = 0; s < 2; s++) {
			if (n[s] == (size_t)-1 || !(k[s] = malloc((n[s] + 1) * sizeof(uint64_t)))) {
				ok = false;
				continue;
			}
			for (size_t i = 0; i < n[s]; i++)
				k[s][i] = it[s][i].key;
			qsort(k[s], n[s], sizeof(uint64_t), cmp_u64);
			total[s] += n[s];
		}
		for (size_t i = 0, j = 0; ok && i < n[0] && j < n[1];) {
			if (k[0][i] == k[1][j])
				common++, i++, j++;
			else if (k[0][i] < k[1][j])
				i++;
			else
				j++;
		}
		for (int s = 0; s < 2; s++) {
			free(it[s]);
			free(k[s]);
		}
		if (!ok)
			return -1;
	}
	if (!MAX(total[0], total[1]))
		return -1;
	return (double)common / (double)MAX(total[0], total[1]);
}

int dg_same_machine(struct dg *g)
{
	struct dg_ident a, b;
	int plat_same = 0, plat_diff = 0, tpm_same = 0, tpm_diff = 0, weak_diff = 0, r;
	double sim;
	char ga[40], gb[40];

	dg_ident_of(g->good, &a);
	dg_ident_of(g->bad, &b);
	if (a.n_macs && b.n_macs) {
		bool any = false;
		for (int i = 0; i < a.n_macs; i++)
			for (int j = 0; j < b.n_macs; j++)
				any |= !strcmp(a.macs[i], b.macs[j]);
		if (any)
			plat_same++;
		else
			plat_diff++;
		if ((r = ident_line(g, "network adapter MAC in the boot options: %s%s%s", a.macs[0],
				    any ? " in both boots" : " vs ", any ? "" : b.macs[0])))
			return r;
	}
	if (a.cpu[0] && b.cpu[0]) {
		bool same = !strcmp(a.cpu, b.cpu);
		same ? plat_same++ : plat_diff++;
		if ((r = ident_line(g, "processor signature %s%s%s", a.cpu, same ? " in both boots" : " vs ", same ? "" : b.cpu)))
			return r;
	}
	if (a.has_aik && b.has_aik) {
		bool same = !memcmp(a.aik_digest, b.aik_digest, 20);
		same ? tpm_same++ : tpm_diff++;
		if ((r = ident_line(g, "TPM attestation key (Windows AIK digest in the trust point): %s", same ? "the same"
				    : "DIFFERENT (another TPM, or the TPM was cleared)")))
			return r;
	}
	if (a.has_boot_count && b.has_boot_count) {
		if (b.boot_count < a.boot_count) {
			tpm_diff++;
			if ((r = ident_line(g, "TPM boot counter went backwards: %" PRIu64 " in the good boot, %" PRIu64
					    " in the bad one (another TPM, or the TPM was cleared)", a.boot_count, b.boot_count)))
				return r;
		} else if ((r = ident_line(g, "TPM boot counter %" PRIu64 " -> %" PRIu64, a.boot_count, b.boot_count))) {
			return r;
		}
	}
	if (a.has_disk && b.has_disk) {
		bd_guid_format(a.disk_guid, ga);
		bd_guid_format(b.disk_guid, gb);
		if ((r = ident_line(g, "boot disk GPT GUID %s%s%s", ga, strcmp(ga, gb) ? " vs " : " in both boots",
				    strcmp(ga, gb) ? gb : "")))
			return r;
	}
	if (a.crtm[0] && b.crtm[0] && strcmp(a.crtm, b.crtm)) {
		weak_diff++;
		if ((r = ident_line(g, "firmware version \"%s\" vs \"%s\" (firmware updates change it)", a.crtm, b.crtm)))
			return r;
	}
	if (a.has_pk && b.has_pk && memcmp(a.pk_hash, b.pk_hash, 32)) {
		weak_diff++;
		if ((r = ident_line(g, "Secure Boot platform key differs (a firmware update or key reset can rotate it)")))
			return r;
	}
	sim = firmware_similarity(g);
	if (sim >= 0 && (r = ident_line(g, "%.0f%% of the firmware events (PCRs 0-7) are the same kind in both boots",
					sim * 100)))
		return r;

	int same;
	if (plat_diff && !plat_same)
		same = (tpm_diff || sim < 0.6) ? 0 : -1;
	else if (plat_same && !plat_diff)
		same = 1;
	else if (plat_same && plat_diff)
		same = -1;
	else if (tpm_same)
		same = 1;
	else if (sim >= 0.6)
		same = 1;
	else if (sim >= 0 && sim < 0.3 && (tpm_diff || weak_diff))
		same = 0;
	else
		same = -1;
	g->tpm_changed = same == 1 && plat_same && tpm_diff;
	g->d->same_machine = same;
	g->d->different_platform = same == 0;
	return 0;
}
