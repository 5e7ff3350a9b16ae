/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The events of one PCR in the good and the bad boot, aligned by content: each
 * event has a key (what it is: type, variable name, image path, action text,
 * the module a Windows SIPA container loads) and a value (what it measured).
 * A weighted longest common subsequence pairs equal keys, preferring pairs
 * whose values are equal too, so one inserted event is one change. Each
 * difference is then classified with the rules of diagnose.md §5, per PCR and
 * per event kind.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "diagnose_int.h"

#define MAX_ALIGN_CELLS (1u << 21)   /* DP table limit (8 MiB); longer lists are compared by position */
#define MAX_CLASSIFIED 256            /* differences classified per PCR; more are counted (work stays linear) */

uint64_t dg_hash(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool is_image(uint32_t t)
{
	return t == EV_EFI_BOOT_SERVICES_APPLICATION || t == EV_EFI_BOOT_SERVICES_DRIVER ||
	       t == EV_EFI_RUNTIME_SERVICES_DRIVER;
}

/* The first FILEPATH inside a Windows SIPA container event (the module it loads), "" if none. */
static void sipa_module(const bd_eventlog *log, size_t idx, size_t from, char *out, size_t outlen)
{
	struct bd_event e;

	out[0] = 0;
	if (bd_eventlog_event(log, idx, &e))
		return;
	for (size_t j = from; j < e.n_sipa; j++) {
		struct bd_sipa_event s;
		bd_event_sipa(log, idx, j, &s);
		if (j > from && from > 0) {
			struct bd_sipa_event c;
			bd_event_sipa(log, idx, from, &c);
			if (s.depth <= c.depth)
				return;      /* left the container */
		}
		if (s.type == SIPA_FILEPATH) {
			bd_utf16le_to_utf8(s.data, s.len, out, outlen);
			ev_sanitize(out);
			return;
		}
	}
}

uint64_t dg_key(const bd_eventlog *log, size_t idx, char *key, size_t keylen)
{
	struct bd_event e;
	struct ev_var v;
	char path[1024];
	int medium;

	key[0] = 0;
	if (bd_eventlog_event(log, idx, &e))
		return 0;
	switch (e.type) {
	case EV_EFI_VARIABLE_DRIVER_CONFIG: case EV_EFI_VARIABLE_BOOT: case EV_EFI_VARIABLE_BOOT2:
	case EV_EFI_VARIABLE_AUTHORITY:
		if (!ev_parse_var(e.data, e.data_len, &v)) {
			snprintf(key, keylen, "%x:%s", e.type, v.name);
			goto done;
		}
		break;
	case EV_EFI_BOOT_SERVICES_APPLICATION: case EV_EFI_BOOT_SERVICES_DRIVER:
	case EV_EFI_RUNTIME_SERVICES_DRIVER:
		if (!ev_image_path(e.data, e.data_len, path, sizeof(path), &medium)) {
			/* the same file on the same kind of medium is the same boot component,
			 * even when a partition GUID in its device path differs */
			const char *file = strstr(path, "File(");
			snprintf(key, keylen, "%x:%d:%s", e.type, medium, file ? file : path);
			goto done;
		}
		break;
	case EV_EFI_ACTION: case EV_ACTION: case EV_POST_CODE: case EV_SEPARATOR: case EV_IPL:
	case EV_COMPACT_HASH: case EV_OMIT_BOOT_DEVICE_EVENTS:
		snprintf(key, keylen, "%x:%.*s", e.type, (int)MIN(e.data_len, (size_t)100), (const char *)e.data);
		for (char *p = key; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '.';
		goto done;
	case EV_EVENT_TAG:
		if (e.n_sipa) {
			sipa_module(log, idx, 0, path, sizeof(path));
			if (path[0]) {
				snprintf(key, keylen, "%x:module:%s", e.type, path);
			} else {
				/* the kinds of its first events (TrustBoundary with the boot counter ...) */
				size_t o = (size_t)snprintf(key, keylen, "%x:sipa", e.type);
				for (size_t j = 0; j < e.n_sipa && j < 3 && o < keylen; j++) {
					struct bd_sipa_event s;
					bd_event_sipa(log, idx, j, &s);
					o += (size_t)snprintf(key + o, keylen - o, ":%x", s.type);
				}
			}
			goto done;
		}
		break;
	}
	snprintf(key, keylen, "%x", e.type);
done:
	return dg_hash(key, strlen(key), DG_HASH_INIT);
}

size_t dg_collect(const bd_eventlog *log, uint16_t alg, unsigned pcr, struct dg_item **out)
{
	struct bd_eventlog_info in;
	struct dg_item *it = NULL;
	size_t n = 0, cap = 0;
	char key[512];

	*out = NULL;
	bd_eventlog_info(log, &in);
	for (size_t i = 0; i < in.n_events; i++) {
		struct bd_event e;
		if (bd_eventlog_event(log, i, &e) || !e.measured || e.pcr != pcr)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			void *p = realloc(it, ncap * sizeof(*it));
			if (!p) {
				free(it);
				return (size_t)-1;
			}
			it = p;
			cap = ncap;
		}
		it[n].idx = i;
		it[n].offset = e.offset;
		it[n].type = e.type;
		it[n].key = dg_key(log, i, key, sizeof(key));
		it[n].value = 0;
		if (alg) {
			for (size_t d = 0; d < e.n_digests; d++)
				if (e.digests[d].alg == alg)
					it[n].value = dg_hash(e.digests[d].value, e.digests[d].size, DG_HASH_INIT);
		} else {
			it[n].value = dg_hash(e.data, e.data_len, DG_HASH_INIT ^ e.type);
		}
		n++;
	}
	*out = it;
	return n;
}

/* ---- alignment ---- */

struct pair {
	long a, b;               /* index into each list, -1 = absent */
};

/* Weighted LCS: equal keys pair up (2), equal values too (3). Pairs in order; count in *np. */
static int align(const uint64_t *ka, const uint64_t *va, size_t na, const uint64_t *kb, const uint64_t *vb, size_t nb,
		 struct pair **out, size_t *np)
{
	struct pair *p = malloc((na + nb + 1) * sizeof(*p));
	uint32_t *L = NULL;
	size_t n = 0;

	if (!p)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	if ((na + 1) * (nb + 1) <= MAX_ALIGN_CELLS)
		L = calloc((na + 1) * (nb + 1), sizeof(*L));
	if (L) {
#define C(i, j) L[(i) * (nb + 1) + (j)]
		for (size_t i = na; i-- > 0;)
			for (size_t j = nb; j-- > 0;) {
				uint32_t best = MAX(C(i + 1, j), C(i, j + 1));
				if (ka[i] == kb[j])
					best = MAX(best, C(i + 1, j + 1) + (va[i] == vb[j] ? 3u : 2u));
				C(i, j) = best;
			}
		size_t i = 0, j = 0;
		while (i < na || j < nb) {
			if (i < na && j < nb && ka[i] == kb[j] &&
			    C(i, j) == C(i + 1, j + 1) + (va[i] == vb[j] ? 3u : 2u)) {
				p[n++] = (struct pair){ (long)i++, (long)j++ };
			} else if (j < nb && (i == na || C(i, j + 1) >= C(i + 1, j))) {
				p[n++] = (struct pair){ -1, (long)j++ };
			} else {
				p[n++] = (struct pair){ (long)i++, -1 };
			}
		}
#undef C
		free(L);
	} else {
		/* too long to align: by position */
		for (size_t i = 0; i < MAX(na, nb); i++) {
			if (i < na && i < nb && ka[i] == kb[i])
				p[n++] = (struct pair){ (long)i, (long)i };
			else {
				if (i < na)
					p[n++] = (struct pair){ (long)i, -1 };
				if (i < nb)
					p[n++] = (struct pair){ -1, (long)i };
			}
		}
	}
	*out = p;
	*np = n;
	return 0;
}

/* ---- helpers for the rules ---- */

enum op { OP_CHANGED, OP_ADDED, OP_REMOVED };

static bool var_named(const bd_eventlog *log, size_t idx, const char *name)
{
	struct bd_event e;
	struct ev_var v;

	return !bd_eventlog_event(log, idx, &e) && !ev_parse_var(e.data, e.data_len, &v) && !strcmp(v.name, name);
}

static bool var_is_boot(const bd_eventlog *log, size_t idx)
{
	struct bd_event e;
	struct ev_var v;

	return !bd_eventlog_event(log, idx, &e) && !ev_parse_var(e.data, e.data_len, &v) &&
	       (!strcmp(v.name, "BootOrder") || (!strncmp(v.name, "Boot", 4) && strlen(v.name) == 8) ||
		!strcmp(v.name, "BootNext"));
}

static bool action_is(const bd_eventlog *log, size_t idx, const char *text)
{
	struct bd_event e;
	size_t n = strlen(text);

	return !bd_eventlog_event(log, idx, &e) && e.data_len >= n && !memcmp(e.data, text, n);
}

static const char *short_type(uint32_t t)
{
	switch (t) {
	case EV_EFI_BOOT_SERVICES_APPLICATION: return "boot application";
	case EV_EFI_BOOT_SERVICES_DRIVER: return "boot-services driver";
	case EV_EFI_RUNTIME_SERVICES_DRIVER: return "runtime driver";
	}
	return "event";
}

/* The image the authority event at idx authorised: the next image load after it. */
static long authorised_image(const bd_eventlog *log, size_t idx, char *desc, size_t desclen)
{
	struct bd_eventlog_info in;

	desc[0] = 0;
	bd_eventlog_info(log, &in);
	for (size_t j = idx + 1; j < in.n_events; j++) {
		struct bd_event e;
		char path[1024];
		int medium;
		if (bd_eventlog_event(log, j, &e) || !e.measured)
			continue;
		if (e.type == EV_EFI_VARIABLE_AUTHORITY)
			continue;    /* several authorities may precede one image (shim, MOK) */
		if (!is_image(e.type))
			continue;
		if (ev_image_path(e.data, e.data_len, path, sizeof(path), &medium))
			path[0] = 0;
		snprintf(desc, desclen, "the PCR %u %s %s (event #%zu, from %s)", e.pcr, short_type(e.type),
			 path[0] ? path : "(no device path)", j, ev_medium_name(medium));
		return (long)j;
	}
	return -1;
}

/* Is there an image with the same key in the other log? */
static bool image_in(const bd_eventlog *log, const bd_eventlog *other, size_t idx)
{
	struct bd_eventlog_info in;
	struct bd_event e;
	char k[512];
	uint64_t key = dg_key(log, idx, k, sizeof(k));

	if (bd_eventlog_event(log, idx, &e))
		return false;
	bd_eventlog_info(other, &in);
	for (size_t j = 0; j < in.n_events; j++) {
		struct bd_event o;
		if (!bd_eventlog_event(other, j, &o) && o.type == e.type && o.pcr == e.pcr && dg_key(other, j, k, sizeof(k)) == key)
			return true;
	}
	return false;
}

static bool sipa_debug_type(uint32_t t)
{
	return t == SIPA_BOOTDEBUGGING || t == SIPA_OSKERNELDEBUG || t == SIPA_TESTSIGNING || t == SIPA_CODEINTEGRITY;
}

static bool sipa_volatile_type(uint32_t t)
{
	return t == SIPA_BOOTCOUNTER || t == SIPA_EVENTCOUNTER || t == SIPA_COUNTERID || t == SIPA_BITLOCKER_UNLOCK;
}

/* Two Windows SIPA containers differ: align their SIPA events (modules by file path) and name the changes. */
/* *explained: 1 differences reported, 0 only counters / the unlock method differ, -1 not SIPA containers */
static int diff_sipa(struct dg *g, unsigned pcr, int bound, const struct dg_item *gi, const struct dg_item *bi,
		     int *explained)
{
	struct bd_event ge, be;
	uint64_t *k[2] = { NULL, NULL }, *v[2] = { NULL, NULL };
	const bd_eventlog *L[2] = { g->good, g->bad };
	size_t n[2], idx[2] = { gi->idx, bi->idx }, np = 0, shown = 0;
	struct pair *pairs = NULL;
	int r = 0;

	*explained = -1;
	bd_eventlog_event(g->good, gi->idx, &ge);
	bd_eventlog_event(g->bad, bi->idx, &be);
	if (!ge.n_sipa || !be.n_sipa)
		return 0;
	*explained = 0;
	n[0] = ge.n_sipa;
	n[1] = be.n_sipa;
	for (int s = 0; s < 2; s++) {
		k[s] = malloc(n[s] * sizeof(uint64_t));
		v[s] = malloc(n[s] * sizeof(uint64_t));
		if (!k[s] || !v[s]) {
			r = bd_err(BD_ERR_NOMEM, "out of memory");
			goto out;
		}
		for (size_t j = 0; j < n[s]; j++) {
			struct bd_sipa_event se;
			char mod[512] = "";
			bd_event_sipa(L[s], idx[s], j, &se);
			if (se.type == SIPA_LOADEDMODULE)
				sipa_module(L[s], idx[s], j, mod, sizeof(mod));
			uint64_t h = dg_hash(&se.type, sizeof(se.type), DG_HASH_INIT);
			h = dg_hash(&se.depth, sizeof(se.depth), h);
			k[s][j] = dg_hash(mod, strlen(mod), h);
			v[s][j] = dg_hash(se.data, se.len, DG_HASH_INIT);
		}
	}
	if ((r = align(k[0], v[0], n[0], k[1], v[1], n[1], &pairs, &np)))
		goto out;
	for (size_t p = 0; p < np && !r; p++) {
		struct bd_sipa_event a, b;
		char da[512], db[512], mod[512];
		const char *nm;
		if (pairs[p].a >= 0)
			bd_event_sipa(g->good, gi->idx, (size_t)pairs[p].a, &a);
		if (pairs[p].b >= 0)
			bd_event_sipa(g->bad, bi->idx, (size_t)pairs[p].b, &b);
		if (pairs[p].a >= 0 && pairs[p].b >= 0) {
			if (v[0][pairs[p].a] == v[1][pairs[p].b] || (a.type & SIPA_AGGREGATION))
				continue;
			if (sipa_volatile_type(a.type))
				continue;   /* differ on every boot, or are the recovery itself */
			*explained = 1;
			if (shown++ >= 8)
				continue;
			bd_sipa_describe(&a, da, sizeof(da));
			bd_sipa_describe(&b, db, sizeof(db));
			nm = b.name ? b.name : "event";
			r = dg_add(g, sipa_debug_type(b.type) ? BD_CAUSE_DEBUG_POLICY : BD_CAUSE_UNEXPLAINED,
				   sipa_debug_type(b.type) ? BD_CONF_HIGH : BD_CONF_LOW, pcr, bound, (long)gi->idx,
				   (long)bi->idx, "PCR %u: SIPA %s %s -> %s", pcr, nm, da, db);
			continue;
		}
		/* added or removed: report modules (containers) and top-level values, not every leaf */
		const struct bd_sipa_event *s = pairs[p].a >= 0 ? &a : &b;
		const bd_eventlog *log = pairs[p].a >= 0 ? g->good : g->bad;
		size_t at = pairs[p].a >= 0 ? gi->idx : bi->idx;
		long j = pairs[p].a >= 0 ? pairs[p].a : pairs[p].b;
		bool added = pairs[p].a < 0;
		*explained = 1;
		if (s->type == SIPA_LOADEDMODULE) {
			sipa_module(log, at, (size_t)j, mod, sizeof(mod));
			if (shown++ < 8)
				r = dg_add(g, BD_CAUSE_UNEXPLAINED, BD_CONF_LOW, pcr, bound, (long)gi->idx, (long)bi->idx,
					   "PCR %u: Windows boot module %s: %s", pcr, added ? "added" : "removed",
					   mod[0] ? mod : "(no file path)");
			continue;
		}
		/* leaves inside an added/removed module were reported with it */
		bool inside = false;
		for (long q = j - 1; q >= 0; q--) {
			struct bd_sipa_event c;
			bd_event_sipa(log, at, (size_t)q, &c);
			if (c.depth < s->depth) {
				inside = c.type == SIPA_LOADEDMODULE;
				break;
			}
		}
		if (inside || (s->type & SIPA_AGGREGATION) || sipa_volatile_type(s->type))
			continue;
		bd_sipa_describe(s, da, sizeof(da));
		if (shown++ < 8)
			r = dg_add(g, sipa_debug_type(s->type) ? BD_CAUSE_DEBUG_POLICY : BD_CAUSE_UNEXPLAINED,
				   sipa_debug_type(s->type) && added ? BD_CONF_HIGH : BD_CONF_LOW, pcr, bound, (long)gi->idx,
				   (long)bi->idx, "PCR %u: SIPA %s %s: %s", pcr, s->name ? s->name : "event",
				   added ? "added" : "removed", da);
	}
	if (!r && shown > 8)
		r = dg_add(g, BD_CAUSE_UNEXPLAINED, BD_CONF_LOW, pcr, bound, (long)gi->idx, (long)bi->idx,
			   "PCR %u: %zu more SIPA differences in this event (bdkit eventlog show --index)", pcr, shown - 8);
out:
	free(pairs);
	for (int s = 0; s < 2; s++) {
		free(k[s]);
		free(v[s]);
	}
	return r;
}

/* Two GPT events differ: name the partitions whose type or extent changed. */
static int diff_gpt(struct dg *g, unsigned pcr, int bound, const struct dg_item *gi, const struct dg_item *bi)
{
	size_t na = bd_event_gpt_count(g->good, gi->idx), nb = bd_event_gpt_count(g->bad, bi->idx);
	int shown = 0, r = 0;

	if (na != nb)
		r = dg_add(g, BD_CAUSE_PARTITION_TABLE, BD_CONF_HIGH, pcr, bound, (long)gi->idx, (long)bi->idx,
			   "PCR %u: GPT lists %zu partition entries -> %zu", pcr, na, nb);
	for (size_t i = 0; !r && i < MAX(na, nb) && shown < 8; i++) {
		struct bd_gpt_partition a, b;
		bool ha = !bd_event_gpt_partition(g->good, gi->idx, i, &a), hb = !bd_event_gpt_partition(g->bad, bi->idx, i, &b);
		if (ha && hb && !memcmp(a.type_guid, b.type_guid, 16) && a.first_lba == b.first_lba && a.last_lba == b.last_lba)
			continue;
		shown++;
		if (ha && hb)
			r = dg_add(g, BD_CAUSE_PARTITION_TABLE, BD_CONF_HIGH, pcr, bound, (long)gi->idx, (long)bi->idx,
				   "PCR %u: partition %zu \"%s\": LBA %" PRIu64 "-%" PRIu64 " -> %" PRIu64 "-%" PRIu64 "%s", pcr,
				   i + 1, b.name, a.first_lba, a.last_lba, b.first_lba, b.last_lba,
				   memcmp(a.type_guid, b.type_guid, 16) ? " (type changed)" : "");
		else if (ha || hb)
			r = dg_add(g, BD_CAUSE_PARTITION_TABLE, BD_CONF_HIGH, pcr, bound, (long)gi->idx, (long)bi->idx,
				   "PCR %u: partition %zu \"%s\" (LBA %" PRIu64 "-%" PRIu64 ") %s", pcr, i + 1,
				   ha ? a.name : b.name, ha ? a.first_lba : b.first_lba, ha ? a.last_lba : b.last_lba,
				   ha ? "removed" : "added");
	}
	return r;
}

static int sb_var_cause(const bd_eventlog *log, size_t idx)
{
	if (var_named(log, idx, "SecureBoot"))
		return BD_CAUSE_SECURE_BOOT_DISABLED;
	if (var_named(log, idx, "PK"))
		return BD_CAUSE_SB_PK;
	if (var_named(log, idx, "KEK"))
		return BD_CAUSE_SB_KEK;
	if (var_named(log, idx, "db"))
		return BD_CAUSE_SB_DB;
	if (var_named(log, idx, "dbx"))
		return BD_CAUSE_SB_DBX;
	return BD_CAUSE_SB_CONFIG;
}

/* Classify one difference in PCR pcr. */
static int classify(struct dg *g, unsigned pcr, int bound, enum op op, const struct dg_item *gi, const struct dg_item *bi)
{
	const struct dg_item *it = op == OP_REMOVED ? gi : bi;
	const bd_eventlog *log = op == OP_REMOVED ? g->good : g->bad;
	char *a = NULL, *b = NULL, *what = NULL;
	const char *tn = bd_event_type_name(it->type);
	int cause = BD_CAUSE_UNEXPLAINED, conf = BD_CONF_LOW, r = 0;
	long gx = gi ? (long)gi->idx : -1, bx = bi ? (long)bi->idx : -1;
	size_t dlen = 8192;
	struct bd_event e;

	tn = tn ? tn : "event";
	a = calloc(1, dlen);
	b = calloc(1, dlen);
	what = malloc(2 * dlen + 256);
	if (!a || !b || !what) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (gi)
		bd_event_describe(g->good, gi->idx, a, dlen);
	if (bi)
		bd_event_describe(g->bad, bi->idx, b, dlen);
	if (op == OP_CHANGED) {
		if (!strcmp(a, b))
			snprintf(what, 2 * dlen + 256, "PCR %u: %s %s: measured value changed", pcr, tn, a);
		else
			snprintf(what, 2 * dlen + 256, "PCR %u: %s changed: %s -> %s", pcr, tn, a, b);
	} else {
		snprintf(what, 2 * dlen + 256, "PCR %u: %s %s: %s", pcr, tn, op == OP_ADDED ? "added" : "removed",
			 op == OP_ADDED ? b : a);
	}
	bd_eventlog_event(log, it->idx, &e);

	/* a volatile measurement (differs between good boots too) is named, not blamed */
	if (op == OP_CHANGED && dg_is_volatile(g, pcr, it->key)) {
		r = dg_add(g, BD_CAUSE_VOLATILE, BD_CONF_MEDIUM, pcr, bound, gx, bx, "%s (differs between good boots too)",
			   what);
		goto out;
	}
	if (op == OP_CHANGED && it->type == EV_EVENT_TAG) {
		int explained;
		/* explained == 0: only counters and the unlock method differ, as between any two boots */
		if ((r = diff_sipa(g, pcr, bound, gi, bi, &explained)) || explained >= 0)
			goto out;
	}

	switch (pcr) {
	case 0:
		cause = BD_CAUSE_FIRMWARE_UPDATE;
		conf = it->type == EV_S_CRTM_VERSION ? BD_CONF_HIGH : BD_CONF_MEDIUM;
		break;
	case 1:
		if ((it->type == EV_EFI_VARIABLE_BOOT || it->type == EV_EFI_VARIABLE_BOOT2) && var_is_boot(log, it->idx)) {
			cause = BD_CAUSE_BOOT_ORDER;
			conf = var_named(log, it->idx, "BootOrder") ? BD_CONF_HIGH : BD_CONF_MEDIUM;
		} else if (it->type == EV_CPU_MICROCODE) {
			cause = BD_CAUSE_FIRMWARE_UPDATE;
			conf = BD_CONF_MEDIUM;
		} else {
			cause = BD_CAUSE_PLATFORM_CONFIG;
			conf = BD_CONF_MEDIUM;
		}
		break;
	case 2: case 3:
		cause = BD_CAUSE_OPTION_ROM;
		conf = (is_image(it->type) || it->type == EV_EFI_PLATFORM_FIRMWARE_BLOB ||
			it->type == EV_EFI_PLATFORM_FIRMWARE_BLOB2) ? BD_CONF_HIGH : BD_CONF_MEDIUM;
		break;
	case 4:
		if (is_image(it->type)) {
			char path[1024];
			int medium = MEDIUM_UNKNOWN;
			ev_image_path(e.data, e.data_len, path, sizeof(path), &medium);
			if (op == OP_CHANGED) {
				cause = BD_CAUSE_BOOT_MANAGER;
				conf = BD_CONF_HIGH;
			} else if (medium == MEDIUM_USB || medium == MEDIUM_CDROM || medium == MEDIUM_NETWORK) {
				cause = BD_CAUSE_BOOT_MEDIA;
				conf = BD_CONF_HIGH;
			} else {
				cause = BD_CAUSE_BOOT_ORDER;
				conf = BD_CONF_MEDIUM;
			}
		} else if (it->type == EV_EFI_ACTION || it->type == EV_ACTION || it->type == EV_OMIT_BOOT_DEVICE_EVENTS) {
			cause = BD_CAUSE_BOOT_ORDER;
			conf = BD_CONF_MEDIUM;
		} else if (it->type == EV_IPL) {
			cause = BD_CAUSE_BOOT_MANAGER;
			conf = BD_CONF_MEDIUM;
		}
		break;
	case 5:
		if (it->type == EV_EFI_GPT_EVENT || it->type == EV_EFI_GPT_EVENT2 || it->type == EV_IPL_PARTITION_DATA) {
			cause = BD_CAUSE_PARTITION_TABLE;
			conf = BD_CONF_HIGH;
			if (op == OP_CHANGED && it->type != EV_IPL_PARTITION_DATA) {
				if (!(r = dg_add(g, cause, conf, pcr, bound, gx, bx, "%s", what)))
					r = diff_gpt(g, pcr, bound, gi, bi);
				goto out;
			}
		} else if (it->type == EV_EFI_ACTION || it->type == EV_EFI_VARIABLE_BOOT ||
			   it->type == EV_EFI_VARIABLE_BOOT2) {
			cause = BD_CAUSE_BOOT_ORDER;
			conf = BD_CONF_MEDIUM;
		}
		break;
	case 7:
		if (it->type == EV_EFI_VARIABLE_DRIVER_CONFIG) {
			cause = sb_var_cause(log, it->idx);
			conf = BD_CONF_HIGH;
		} else if (it->type == EV_EFI_ACTION && action_is(log, it->idx, "DMA Protection Disabled")) {
			cause = BD_CAUSE_DMA_PROTECTION;
			conf = BD_CONF_HIGH;
			if (op == OP_REMOVED)
				snprintf(what + strlen(what), 2 * dlen + 256 - strlen(what),
					 " (DMA protection was off in the good boot and is on now)");
		} else if (it->type == EV_EFI_ACTION && action_is(log, it->idx, "UEFI Debug Mode")) {
			cause = BD_CAUSE_UEFI_DEBUG;
			conf = BD_CONF_HIGH;
			if (op == OP_REMOVED)
				snprintf(what + strlen(what), 2 * dlen + 256 - strlen(what),
					 " (debug mode was on in the good boot and is off now)");
		} else if (it->type == EV_EFI_VARIABLE_AUTHORITY) {
			char comp[1200];
			long img = authorised_image(log, it->idx, comp, sizeof(comp));
			if (op == OP_CHANGED) {
				cause = BD_CAUSE_SECURE_BOOT_AUTHORITY;
				conf = BD_CONF_HIGH;
				if (img >= 0)
					snprintf(what + strlen(what), 2 * dlen + 256 - strlen(what),
						 "; it authorised %s", comp);
			} else if (op == OP_ADDED) {
				cause = BD_CAUSE_AUTHORITY_ADDED;
				conf = img >= 0 ? BD_CONF_HIGH : BD_CONF_MEDIUM;
				if (img >= 0)
					snprintf(what + strlen(what), 2 * dlen + 256 - strlen(what), "; it authorised %s%s",
						 comp, image_in(g->bad, g->good, (size_t)img) ? ""
						 : ", which the good boot did not load");
			} else {
				cause = BD_CAUSE_AUTHORITY_REMOVED;
				conf = img >= 0 ? BD_CONF_HIGH : BD_CONF_MEDIUM;
				if (img >= 0)
					snprintf(what + strlen(what), 2 * dlen + 256 - strlen(what),
						 "; in the good boot it authorised %s%s", comp,
						 image_in(g->good, g->bad, (size_t)img) ? ""
						 : ", which the bad boot did not load (removed or not reached)");
			}
		} else if (it->type == EV_EFI_ACTION || it->type == EV_SEPARATOR) {
			cause = BD_CAUSE_SECURE_BOOT_POLICY;
			conf = BD_CONF_MEDIUM;
		} else {
			cause = BD_CAUSE_SECURE_BOOT_POLICY;
			conf = BD_CONF_LOW;
		}
		break;
	case 8: case 9: case 10:
		cause = BD_CAUSE_BOOT_MANAGER;
		conf = BD_CONF_MEDIUM;
		break;
	case 11:
		cause = BD_CAUSE_BITLOCKER_STATE;
		conf = BD_CONF_LOW;
		break;
	}
	r = dg_add(g, cause, conf, pcr, bound, gx, bx, "%s", what);
out:
	free(a);
	free(b);
	free(what);
	return r;
}

int dg_diff_pcr(struct dg *g, unsigned pcr, int bound)
{
	struct dg_item *ga = NULL, *ba = NULL;
	size_t ng = dg_collect(g->good, g->alg, pcr, &ga), nb = dg_collect(g->bad, g->alg, pcr, &ba);
	uint64_t *k[2] = { NULL, NULL }, *v[2] = { NULL, NULL };
	struct pair *pairs = NULL;
	size_t np = 0, ops = 0;
	int r = 0;

	if (ng == (size_t)-1 || nb == (size_t)-1) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	k[0] = malloc((ng + 1) * sizeof(uint64_t));
	v[0] = malloc((ng + 1) * sizeof(uint64_t));
	k[1] = malloc((nb + 1) * sizeof(uint64_t));
	v[1] = malloc((nb + 1) * sizeof(uint64_t));
	if (!k[0] || !v[0] || !k[1] || !v[1]) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ng; i++)
		k[0][i] = ga[i].key, v[0][i] = ga[i].value;
	for (size_t i = 0; i < nb; i++)
		k[1][i] = ba[i].key, v[1][i] = ba[i].value;
	if ((r = align(k[0], v[0], ng, k[1], v[1], nb, &pairs, &np)))
		goto out;
	for (size_t p = 0; p < np && !r; p++) {
		long a = pairs[p].a, b = pairs[p].b;
		if (a >= 0 && b >= 0 && ga[a].value == ba[b].value)
			continue;
		if (++ops > MAX_CLASSIFIED)
			continue;
		if (a >= 0 && b >= 0)
			r = classify(g, pcr, bound, OP_CHANGED, &ga[a], &ba[b]);
		else if (b >= 0)
			r = classify(g, pcr, bound, OP_ADDED, NULL, &ba[b]);
		else
			r = classify(g, pcr, bound, OP_REMOVED, &ga[a], NULL);
	}
	if (!r && ops > MAX_CLASSIFIED)
		r = dg_add(g, BD_CAUSE_UNEXPLAINED, BD_CONF_LOW, pcr, bound, -1, -1,
			   "PCR %u: %zu more differences not classified (compare with 'bdkit eventlog show')", pcr,
			   ops - MAX_CLASSIFIED);
	if (!r && !ops) {
		/* same events, different value: the start value differs */
		if (pcr == 0 && g->gi.startup_locality != g->bi.startup_locality)
			r = dg_add(g, BD_CAUSE_FIRMWARE_UPDATE, BD_CONF_LOW, pcr, bound, -1, -1,
				   "PCR 0: start locality %d -> %d (StartupLocality event)",
				   g->gi.startup_locality, g->bi.startup_locality);
		else if (!ng && !nb)
			r = dg_add(g, BD_CAUSE_UNEXPLAINED, BD_CONF_LOW, pcr, bound, -1, -1,
				   "PCR %u differs but neither log records an event for it", pcr);
	}
out:
	free(pairs);
	for (int s = 0; s < 2; s++) {
		free(k[s]);
		free(v[s]);
	}
	free(ga);
	free(ba);
	return r;
}
