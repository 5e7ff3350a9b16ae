/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TCG PC Client event logs: parse both record layouts, the Spec ID event,
 * Windows SIPA events nested in EV_EVENT_TAG, and replay every digest bank
 * to PCR values (diagnose.md §1, §2). All reads go through the cursor; a
 * record that does not fit is an error naming its offset.
 *
 * Work and memory are linear in the log's size: the end of the meaningful
 * data is found once (zero padding), records are counted before they are
 * stored (one exact allocation, 32 bytes per record), the SIPA list grows to
 * at most one entry per 8 bytes of payload, and a log read from a file is
 * parsed in the buffer it was read into (no second copy).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "internal.h"
#include "eventlog.h"

#define SIPA_MAX_DEPTH 8
#define EVENTLOG_MAX_SIZE (64u << 20)

struct ev {
	uint32_t offset;          /* of the record (logs are at most 64 MiB) */
	uint32_t pcr, type;
	uint32_t data_len;
	uint16_t hdr_len;         /* the event data starts at offset + hdr_len */
	uint8_t n_digests;
	int8_t digest_ok;         /* 1, 0, -1 (not a data-hashed type) */
	uint8_t banks;            /* bit b: the record carries bank b's digest */
	uint8_t bad_banks;        /* bit b: that digest is not the hash of the data */
	uint32_t sipa_first, n_sipa;
};

struct sipa {
	uint32_t type;
	uint32_t off, len;        /* payload in buf */
	uint32_t depth;
};

struct bd_eventlog {
	uint8_t *buf;
	size_t len;
	size_t end;               /* one past the last non-zero byte: what follows is padding */
	size_t start;             /* 16 with a WBCL_LogHdr */
	struct bd_eventlog_info info;
	struct ev *ev;
	size_t n_ev;
	struct sipa *sipa;
	size_t n_sipa, cap_sipa, max_sipa;
	uint8_t pcr[BD_EVENTLOG_MAX_BANKS][BD_PCR_COUNT][64];
};

static const uint8_t spec_id03[16] = "Spec ID Event03";
static const uint8_t startup_locality[16] = "StartupLocality";

/* ---- digests of one record ---- */

/* Where the i-th digest of a record is, and its bank. */
static size_t digest_at(const bd_eventlog *log, const struct ev *e, size_t i, int *bank)
{
	size_t at = e->offset + 8;

	if (!log->info.crypto_agile || e->hdr_len == 32) {   /* legacy layout (also record 0) */
		*bank = 0;
		return at;
	}
	at += 4;                                              /* digest count */
	for (size_t k = 0;; k++) {
		uint16_t alg = le16(log->buf + at);
		int b = 0;
		for (size_t j = 0; j < log->info.n_banks; j++)
			if (log->info.bank_alg[j] == alg)
				b = (int)j;
		if (k == i) {
			*bank = b;
			return at + 2;
		}
		at += 2 + log->info.bank_size[b];
	}
}

static int bank_index(const bd_eventlog *log, uint16_t alg)
{
	for (size_t i = 0; i < log->info.n_banks; i++)
		if (log->info.bank_alg[i] == alg)
			return (int)i;
	return -1;
}

/* ---- SIPA ---- */

/*
 * Parse a sequence of SIPA events {UINT32 type; UINT32 size; data} filling
 * [off, off+len) of the buffer; aggregations are parsed recursively. Returns 0
 * when the whole range is a well-formed sequence, -1 otherwise (nothing kept),
 * BD_ERR_NOMEM when memory runs out. The list never holds more entries than
 * there are 8-byte headers in the log, so it stays within twice the log's size.
 */
static int parse_sipa(bd_eventlog *log, size_t off, size_t len, unsigned depth)
{
	struct bd_cursor c = bd_cursor(log->buf + off, len);
	size_t first = log->n_sipa;

	if (depth >= SIPA_MAX_DEPTH || len < 8)
		return -1;
	while (cur_left(&c)) {
		uint32_t type = cur_u32(&c), size = cur_u32(&c);
		size_t at;

		if (c.bad || size > cur_left(&c))
			goto bad;
		at = c.pos;
		cur_bytes(&c, size);
		if (log->n_sipa == log->cap_sipa) {
			size_t ncap = log->cap_sipa ? MIN(log->cap_sipa * 2, log->max_sipa) : MIN(64, log->max_sipa);
			void *p = ncap > log->cap_sipa ? realloc(log->sipa, ncap * sizeof(struct sipa)) : NULL;
			if (!p) {
				log->n_sipa = first;
				return bd_err(BD_ERR_NOMEM, "out of memory reading the SIPA events of the log");
			}
			log->sipa = p;
			log->cap_sipa = ncap;
		}
		log->sipa[log->n_sipa++] = (struct sipa){ type, (uint32_t)(off + at), size, depth };
		if ((type & SIPA_AGGREGATION) && size) {
			size_t mark = log->n_sipa;
			int r = parse_sipa(log, off + at, size, depth + 1);
			if (r == BD_ERR_NOMEM) {
				log->n_sipa = first;
				return r;
			}
			if (r)
				log->n_sipa = mark; /* keep the container as an opaque leaf */
		}
	}
	return 0;
bad:
	log->n_sipa = first;
	return -1;
}

/* ---- hashing ---- */

static const EVP_MD *md_for(uint16_t alg)
{
	switch (alg) {
	case BD_ALG_SHA1: return EVP_sha1();
	case BD_ALG_SHA256: return EVP_sha256();
	case BD_ALG_SHA384: return EVP_sha384();
	case BD_ALG_SHA512: return EVP_sha512();
	}
	return NULL;
}

static int hash2(const EVP_MD *md, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) && (!alen || EVP_DigestUpdate(ctx, a, alen)) &&
		 (!blen || EVP_DigestUpdate(ctx, b, blen)) && EVP_DigestFinal_ex(ctx, out, NULL);

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : bd_err(BD_ERR_NOMEM, "hashing failed in OpenSSL");
}

int ev_hash(uint16_t alg, const void *data, size_t len, uint8_t *out, size_t *outlen)
{
	const EVP_MD *md = md_for(alg);

	if (!md)
		return bd_err(BD_ERR_UNSUPPORTED, "digest algorithm 0x%04x is not available", alg);
	if (outlen)
		*outlen = (size_t)EVP_MD_get_size(md);
	return hash2(md, data, len, NULL, 0, out);
}

int ev_extend(uint16_t alg, uint8_t *pcr, const uint8_t *digest)
{
	const EVP_MD *md = md_for(alg);
	uint8_t tmp[64];
	size_t sz;
	int r;

	if (!md)
		return bd_err(BD_ERR_UNSUPPORTED, "digest algorithm 0x%04x is not available", alg);
	sz = (size_t)EVP_MD_get_size(md);
	if ((r = hash2(md, pcr, sz, digest, sz, tmp)))
		return r;
	memcpy(pcr, tmp, sz);
	return 0;
}

/* ---- digest-vs-data (diagnose.md §1.4) ---- */

static const uint8_t image_security_guid[16] = {   /* d719b2cb-3d3a-4596-a3bc-dad00e67656f: db, dbx */
	0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f };

/*
 * The byte strings one of which an event's digest must be the hash of, for the
 * types whose digest is defined over their data. 0 when the type's digest is of
 * something the log does not hold (code, an image, a table in memory).
 */
struct payload {
	const uint8_t *p;
	size_t n;
};
static int digest_payloads(const bd_eventlog *log, const struct ev *e, struct payload out[3], uint8_t **scratch)
{
	const uint8_t *d = log->buf + e->offset + e->hdr_len;
	size_t n = e->data_len;
	struct ev_var v;

	switch (e->type) {
	case EV_SEPARATOR: case EV_EFI_ACTION: case EV_ACTION: case EV_COMPACT_HASH: case EV_S_CRTM_VERSION:
	case EV_OMIT_BOOT_DEVICE_EVENTS: case EV_EFI_VARIABLE_DRIVER_CONFIG: case EV_EFI_VARIABLE_BOOT2:
	case EV_EFI_GPT_EVENT:
		out[0] = (struct payload){ d, n };
		return 1;
	case EV_EVENT_TAG:
		/* Windows SIPA containers (PCR 11-14) are hashed whole; other tagged events are not */
		if (e->n_sipa && e->pcr >= 11 && e->pcr <= 14) {
			out[0] = (struct payload){ d, n };
			return 1;
		}
		return 0;
	case EV_EFI_VARIABLE_BOOT:
		/* the PC Client spec hashes VariableData only; some firmware hashes the whole structure */
		out[0] = (struct payload){ d, n };
		if (!ev_parse_var(d, n, &v)) {
			out[1] = (struct payload){ v.data, v.len };
			return 2;
		}
		return 1;
	case EV_EFI_VARIABLE_AUTHORITY:
		/* db entries that authorised an image; shim's own records use other conventions */
		if (!ev_parse_var(d, n, &v) && !memcmp(v.guid, image_security_guid, 16)) {
			out[0] = (struct payload){ d, n };
			return 1;
		}
		return 0;
	case EV_EFI_GPT_EVENT2: {
		/* PFP 1.06: DiskGUID and every UniquePartitionGUID zeroed before hashing */
		uint8_t *z;
		if (n < 100 || memcmp(d, "EFI PART", 8))
			return 0;
		z = malloc(n);
		if (!z)
			return 0;
		memcpy(z, d, n);
		memset(z + 56, 0, 16);
		uint32_t esz = le32(z + 84);
		uint64_t cnt = le64(z + 92);
		for (uint64_t i = 0; esz >= 32 && i < cnt && 100 + (i + 1) * esz <= n; i++)
			memset(z + 100 + i * esz + 16, 0, 16);
		*scratch = z;
		out[0] = (struct payload){ z, n };
		return 1;
	}
	case EV_IPL: {
		/* GRUB and systemd: PCR 8 "prefix: text" hashed without the prefix, with or without the NUL;
		 * systemd-stub (PCR 12) hashes the whole payload */
		size_t sp;
		if (e->pcr == 12) {
			out[0] = (struct payload){ d, n };
			return 1;
		}
		if (e->pcr != 8)
			return 0;
		out[0] = (struct payload){ d, n };
		for (sp = 0; sp < n && d[sp] != ' '; sp++)
			;
		if (sp + 1 < n && d[n - 1] == 0) {
			out[1] = (struct payload){ d + sp + 1, n - sp - 2 };
			out[2] = (struct payload){ d + sp + 1, n - sp - 1 };
			return 3;
		}
		return 1;
	}
	}
	return 0;
}

static void check_digests(bd_eventlog *log, struct ev *e)
{
	struct payload pl[3];
	uint8_t *scratch = NULL, h[64];
	int np;

	e->digest_ok = -1;
	e->bad_banks = 0;
	if (e->type == EV_NO_ACTION || !(np = digest_payloads(log, e, pl, &scratch)))
		return;
	for (size_t i = 0; i < e->n_digests; i++) {
		int b;
		size_t at = digest_at(log, e, i, &b);
		const EVP_MD *md = md_for(log->info.bank_alg[b]);
		bool ok = false;
		if (!md)
			continue;
		for (int k = 0; k < np && !ok; k++)
			ok = !hash2(md, pl[k].p, pl[k].n, NULL, 0, h) && !memcmp(h, log->buf + at, log->info.bank_size[b]);
		if (!ok)
			e->bad_banks |= (uint8_t)(1u << b);
		if (e->digest_ok != 0)
			e->digest_ok = ok;
	}
	free(scratch);
}

/* ---- the record walk ---- */

static int parse_spec_id(bd_eventlog *log, const uint8_t *d, size_t n, size_t off)
{
	struct bd_cursor c = bd_cursor(d, n);
	struct bd_eventlog_info *in = &log->info;
	uint32_t count;

	cur_bytes(&c, 16);
	in->platform_class = cur_u32(&c);
	in->spec_minor = cur_u8(&c);
	in->spec_major = cur_u8(&c);
	in->spec_errata = cur_u8(&c);
	in->uintn_size = cur_u8(&c);
	count = cur_u32(&c);
	if (c.bad)
		return bd_err(BD_ERR_CORRUPT, "Spec ID event at offset %zu: %zu bytes is too short for its header",
			      off, n);
	if (count == 0 || count > BD_EVENTLOG_MAX_BANKS)
		return bd_err(BD_ERR_CORRUPT, "Spec ID event at offset %zu lists %u digest algorithms (1..%d expected)",
			      off, count, BD_EVENTLOG_MAX_BANKS);
	for (uint32_t i = 0; i < count; i++) {
		uint16_t alg = cur_u16(&c), size = cur_u16(&c);
		const EVP_MD *md = md_for(alg);

		if (c.bad)
			return bd_err(BD_ERR_CORRUPT, "Spec ID event at offset %zu: algorithm table (%u entries) "
				      "runs past its %zu bytes", off, count, n);
		if (size == 0 || size > 64 || (md && (int)size != EVP_MD_get_size(md)))
			return bd_err(BD_ERR_CORRUPT, "Spec ID event at offset %zu: algorithm 0x%04x with digest "
				      "size %u is not valid", off, alg, size);
		if (bank_index(log, alg) >= 0)
			return bd_err(BD_ERR_CORRUPT, "Spec ID event at offset %zu lists algorithm 0x%04x twice",
				      off, alg);
		in->bank_alg[in->n_banks] = alg;
		in->bank_size[in->n_banks++] = size;
	}
	uint8_t vendor = cur_u8(&c);
	if (c.bad || vendor > cur_left(&c))
		return bd_err(BD_ERR_CORRUPT, "Spec ID event at offset %zu: vendor info of %u bytes runs past "
			      "the event's %zu bytes", off, vendor, n);
	return 0;
}

static int not_a_log(size_t idx, size_t off, const char *why)
{
	return bd_err(BD_ERR_CORRUPT, "not a TCG event log (or damaged): record %zu at offset %zu %s", idx, off, why);
}

/* Record 0: always in the legacy layout; decides between legacy and crypto-agile. */
static int parse_first(bd_eventlog *log, struct ev *e)
{
	struct bd_eventlog_info *in = &log->info;
	size_t start = log->start, left = log->len - start;
	const uint8_t *p = log->buf + start;
	char why[160];
	int r;

	if (bd_is_zero(log->buf, log->len))
		return bd_err(BD_ERR_CORRUPT, "not a TCG event log: all %zu bytes are zero (offset 0)", log->len);
	if (left < 32)
		return bd_err(BD_ERR_TRUNCATED, "event log of %zu bytes is too short: the first record needs a "
			      "32-byte header at offset %zu", log->len, start);
	memset(e, 0, sizeof(*e));
	e->offset = (uint32_t)start;
	e->pcr = le32(p);
	e->type = le32(p + 4);
	e->data_len = le32(p + 28);
	e->hdr_len = 32;
	if (bd_is_zero(p, 32))
		return not_a_log(0, start, "is all zeros");
	if (e->pcr >= BD_PCR_COUNT) {
		snprintf(why, sizeof(why), "names PCR %u (0-23 expected)", e->pcr);
		return not_a_log(0, start, why);
	}
	if (!bd_event_type_name(e->type)) {
		snprintf(why, sizeof(why), "has event type 0x%08x, which no TCG log begins with", e->type);
		return not_a_log(0, start, why);
	}
	if (e->data_len > left - 32)
		return bd_err(BD_ERR_TRUNCATED, "event log truncated: record 0 at offset %zu has %u bytes of "
			      "event data but only %zu bytes follow", start, e->data_len, left - 32);
	if (e->type == EV_NO_ACTION && e->data_len >= 16 && !memcmp(p + 32, spec_id03, 16)) {
		in->crypto_agile = 1;
		if ((r = parse_spec_id(log, p + 32, e->data_len, start)))
			return r;
		/* the Spec ID record's own digest field is 20 zero bytes, not a bank digest */
		e->n_digests = 0;
	} else {
		in->n_banks = 1;
		in->bank_alg[0] = BD_ALG_SHA1;
		in->bank_size[0] = 20;
		e->n_digests = 1;
		e->banks = 1;
	}
	return 0;
}

/*
 * Walk the records after the first: count them (out == NULL) or store them.
 * Linear: each record is read once, the zero-padding test is one comparison.
 */
static int walk(bd_eventlog *log, size_t pos, struct ev *out, size_t *count)
{
	struct bd_eventlog_info *in = &log->info;
	struct bd_cursor c = bd_cursor(log->buf, log->len);
	size_t n = 1;
	struct ev e;

	c.pos = pos;
	while (cur_left(&c)) {
		size_t off = c.pos, left = cur_left(&c);
		size_t hdr = in->crypto_agile ? 16 : 32;
		char why[200];

		/* fixed-size firmware buffers are zero-padded (diagnose.md §1.1) */
		if (bd_is_zero(log->buf + off, MIN(left, hdr))) {
			if (off >= log->end)
				break;
			if (left >= hdr) {
				snprintf(why, sizeof(why), "is all zeros, but data follows up to offset %zu", log->end);
				return not_a_log(n, off, why);
			}
		}
		if (left < hdr)
			return bd_err(BD_ERR_TRUNCATED, "event log truncated: record %zu at offset %zu needs a "
				      "%zu-byte header, only %zu bytes remain", n, off, hdr, left);
		memset(&e, 0, sizeof(e));
		e.offset = (uint32_t)off;
		e.pcr = cur_u32(&c);
		e.type = cur_u32(&c);
		if (e.pcr >= BD_PCR_COUNT && e.type != EV_NO_ACTION) {
			snprintf(why, sizeof(why), "names PCR %u (0-23 expected; only non-measured records use "
				 "other indexes)", e.pcr);
			return not_a_log(n, off, why);
		}
		if (in->crypto_agile) {
			uint32_t cnt = cur_u32(&c);
			if (cnt > in->n_banks)
				return bd_err(BD_ERR_CORRUPT, "event log corrupt: record %zu at offset %zu claims %u "
					      "digests, the Spec ID event lists %zu algorithms", n, off, cnt, in->n_banks);
			for (uint32_t i = 0; i < cnt; i++) {
				size_t doff = c.pos;
				uint16_t alg = cur_u16(&c);
				int b = bank_index(log, alg);
				if (c.bad)
					return bd_err(BD_ERR_TRUNCATED, "event log truncated: record %zu at offset "
						      "%zu ends inside digest %u", n, off, i);
				if (b < 0)
					return bd_err(BD_ERR_CORRUPT, "event log corrupt: record %zu at offset %zu: "
						      "digest %u at offset %zu uses algorithm 0x%04x, which the Spec "
						      "ID event does not list", n, off, i, doff, alg);
				if (e.banks & (1u << b))
					return bd_err(BD_ERR_CORRUPT, "event log corrupt: record %zu at offset %zu "
						      "carries two %s digests", n, off,
						      bd_hash_alg_name(alg) ? bd_hash_alg_name(alg) : "");
				e.banks |= (uint8_t)(1u << b);
				if (!cur_bytes(&c, in->bank_size[b]))
					return bd_err(BD_ERR_TRUNCATED, "event log truncated: record %zu at offset "
						      "%zu ends inside its %s digest", n, off,
						      bd_hash_alg_name(alg) ? bd_hash_alg_name(alg) : "");
			}
			e.n_digests = (uint8_t)cnt;
		} else {
			e.n_digests = 1;
			e.banks = 1;
			cur_bytes(&c, 20);
		}
		e.data_len = cur_u32(&c);
		if (c.bad)
			return bd_err(BD_ERR_TRUNCATED, "event log truncated: record %zu at offset %zu ends before "
				      "its event-size field", n, off);
		if (e.data_len > cur_left(&c))
			return bd_err(BD_ERR_TRUNCATED, "event log truncated: record %zu at offset %zu has %u bytes "
				      "of event data but only %zu bytes follow", n, off, e.data_len, cur_left(&c));
		e.hdr_len = (uint16_t)(c.pos - off);
		cur_bytes(&c, e.data_len);
		if (out)
			out[n] = e;
		n++;
	}
	*count = n;
	return 0;
}

static int parse_records(bd_eventlog *log)
{
	struct ev first;
	size_t n = 0;
	int r;

	/* optional WBCL_LogHdr {'WBCL', version 1, entries, length} (diagnose.md §2.1) */
	if (log->len >= 16 && !memcmp(log->buf, "WBCL", 4) && le32(log->buf + 4) == 1) {
		log->start = 16;
		log->info.wbcl_header = 1;
	}
	for (log->end = log->len; log->end > log->start && !log->buf[log->end - 1]; log->end--)
		;
	if ((r = parse_first(log, &first)))
		return r;
	if ((r = walk(log, first.offset + 32u + first.data_len, NULL, &n)))
		return r;
	log->ev = malloc(n * sizeof(*log->ev));
	if (!log->ev)
		return bd_err(BD_ERR_NOMEM, "out of memory for the %zu records of the event log", n);
	log->ev[0] = first;
	if ((r = walk(log, first.offset + 32u + first.data_len, log->ev, &n)))
		return r;
	log->n_ev = n;
	return 0;
}

/* ---- replay ---- */

static bool is_measured(const struct ev *e)
{
	return e->type != EV_NO_ACTION && e->pcr < BD_PCR_COUNT;
}

static int replay(bd_eventlog *log)
{
	struct bd_eventlog_info *in = &log->info;
	int r;

	for (size_t b = 0; b < in->n_banks; b++) {
		size_t sz = in->bank_size[b];

		in->bank_replayed[b] = md_for(in->bank_alg[b]) != NULL && !in->bank_missing[b];
		for (unsigned p = 0; p < BD_PCR_COUNT; p++)
			memset(log->pcr[b][p], p >= 17 && p <= 22 ? 0xff : 0, sz);
		if (in->startup_locality >= 0)
			log->pcr[b][0][sz - 1] = (uint8_t)in->startup_locality;
	}
	for (size_t i = 0; i < log->n_ev; i++) {
		const struct ev *e = &log->ev[i];
		if (!is_measured(e))
			continue;
		for (size_t d = 0; d < e->n_digests; d++) {
			int b;
			size_t at = digest_at(log, e, d, &b);
			if (!in->bank_replayed[b])
				continue;
			if ((r = ev_extend(in->bank_alg[b], log->pcr[b][e->pcr], log->buf + at)))
				return r;
		}
	}
	return 0;
}

int ev_replay_until(const bd_eventlog *log, uint16_t alg, size_t upto, uint8_t pcrs[BD_PCR_COUNT][64])
{
	int b = bank_index(log, alg);
	size_t sz;
	int r;

	if (b < 0 || !log->info.bank_replayed[b])
		return bd_err(BD_ERR_UNSUPPORTED, "the log has no usable %s bank",
			      bd_hash_alg_name(alg) ? bd_hash_alg_name(alg) : "such");
	sz = log->info.bank_size[b];
	for (unsigned p = 0; p < BD_PCR_COUNT; p++)
		memset(pcrs[p], p >= 17 && p <= 22 ? 0xff : 0, sz);
	if (log->info.startup_locality >= 0)
		pcrs[0][sz - 1] = (uint8_t)log->info.startup_locality;
	for (size_t i = 0; i < upto && i < log->n_ev; i++) {
		const struct ev *e = &log->ev[i];
		if (!is_measured(e))
			continue;
		for (size_t d = 0; d < e->n_digests; d++) {
			int bb;
			size_t at = digest_at(log, e, d, &bb);
			if (bb == b && (r = ev_extend(alg, pcrs[e->pcr], log->buf + at)))
				return r;
		}
	}
	return 0;
}

/* ---- facts ---- */

static const uint8_t efi_global_guid[16] = {
	0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };

static int sipa_bool(const struct sipa *s, const uint8_t *buf, int old)
{
	int v = s->len ? !bd_is_zero(buf + s->off, s->len) : 0;

	return old == 1 ? 1 : v;
}

static bool action_is(const bd_eventlog *log, const struct ev *e, const char *text)
{
	size_t n = strlen(text);

	return (e->type == EV_EFI_ACTION || e->type == EV_ACTION) && e->data_len >= n &&
	       !memcmp(log->buf + e->offset + e->hdr_len, text, n);
}

static void incomplete(bd_eventlog *log, size_t at_event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void incomplete(bd_eventlog *log, size_t at_event, const char *fmt, ...)
{
	struct bd_eventlog_info *in = &log->info;
	va_list ap;

	if (!in->complete)
		return;
	in->complete = 0;
	in->incomplete_offset = at_event < log->n_ev ? log->ev[at_event].offset : log->len;
	va_start(ap, fmt);
	vsnprintf(in->incomplete, sizeof(in->incomplete), fmt, ap);
	va_end(ap);
}

/*
 * Does the log run to the end of a boot? A log cut at a record boundary is
 * still well-formed, so this looks at what every boot that reached an OS
 * logs: the pre-OS separators, a boot application after them, the whole
 * Windows part (PCR 11 opening value, SIPA, "WBCL" separators in 12-14) once
 * the Windows Boot Manager ran, and a finished ExitBootServices pair.
 */
static void check_complete(bd_eventlog *log)
{
	struct bd_eventlog_info *in = &log->info;
	uint32_t seps = 0, wbcl = 0;
	size_t last_sep = 0, last_tag = 0, n_apps_after = 0, ebs_in = 0, ebs_out = 0, pcr11 = 0;
	bool bootmgr = false, any_preos = false, have_sep = false;

	in->complete = 1;
	for (size_t i = 0; i < log->n_ev; i++) {
		const struct ev *e = &log->ev[i];
		const uint8_t *d = log->buf + e->offset + e->hdr_len;
		if (!is_measured(e))
			continue;
		if (e->pcr <= 7)
			any_preos = true;
		if (e->type == EV_SEPARATOR && e->pcr <= 7) {
			seps |= 1u << e->pcr;
			have_sep = true;
			last_sep = i;
		}
		if (e->type == EV_SEPARATOR && e->pcr >= 12 && e->pcr <= 14 && e->data_len == 4 && !memcmp(d, "WBCL", 4))
			wbcl |= 1u << e->pcr;
		if (e->type == EV_EVENT_TAG && e->n_sipa && e->pcr >= 11 && e->pcr <= 14)
			last_tag = i + 1;
		if (e->pcr == 11 && e->type == EV_COMPACT_HASH)
			pcr11++;
		if (have_sep && (e->type == EV_EFI_BOOT_SERVICES_APPLICATION || e->type == EV_IPL ||
				 e->type == EV_EVENT_TAG))
			n_apps_after++;
		if (e->type == EV_EFI_BOOT_SERVICES_APPLICATION) {
			char path[256];
			int medium;
			bootmgr = !ev_image_path(d, e->data_len, path, sizeof(path), &medium) &&
				  strcasestr(path, "bootmgfw.efi") != NULL;
		}
		if (action_is(log, e, "Exit Boot Services Invocation"))
			ebs_in = i + 1;
		if (action_is(log, e, "Exit Boot Services Returned"))
			ebs_out = i + 1;
	}
	if (!any_preos)
		return;   /* a log of OS measurements only (or a fragment): nothing to expect */
	if (!have_sep) {
		incomplete(log, log->n_ev, "no pre-OS separator: the firmware's measurements never ended "
			   "(the log stops after record %zu)", log->n_ev - 1);
		return;
	}
	if ((seps & 0x7f) && (seps & 0x7f) != 0x7f) {
		unsigned p = 0;
		while (seps & (1u << p))
			p++;
		incomplete(log, log->n_ev, "the separators of PCRs 0-6 stop before PCR %u", p);
		return;
	}
	if (!n_apps_after) {
		incomplete(log, log->n_ev, "no boot application after the separators (record %zu): the log stops "
			   "before the firmware started a boot loader", last_sep);
		return;
	}
	if ((bootmgr || pcr11 || in->windows) && !last_tag) {
		incomplete(log, log->n_ev, "the Windows Boot Manager ran but the log has none of its measurements "
			   "(PCR 11-14)");
		return;
	}
	if (last_tag && (wbcl != 0x7000 || pcr11 < 2)) {
		incomplete(log, log->n_ev, "the Windows measurements are not closed (%s): the log stops inside "
			   "the Windows boot", wbcl != 0x7000 ? "\"WBCL\" separators in PCRs 12-14 missing"
							      : "PCR 11 final value missing");
		return;
	}
	if (ebs_in > ebs_out)
		incomplete(log, log->n_ev, "\"Exit Boot Services Invocation\" without its result: the log stops "
			   "inside ExitBootServices");
}

static void gather_facts(bd_eventlog *log)
{
	struct bd_eventlog_info *in = &log->info;
	uint8_t h[20];

	in->secure_boot = -1;
	in->boot_debugging = in->kernel_debugging = in->test_signing = in->code_integrity = -1;
	in->safe_mode = in->winpe = -1;
	hash2(EVP_sha1(), (const uint8_t *)"\x01\x00\x00\x00", 4, NULL, 0, h);
	for (size_t i = 0; i < log->n_ev; i++) {
		struct ev *e = &log->ev[i];
		const uint8_t *d = log->buf + e->offset + e->hdr_len;

		check_digests(log, e);
		if (e->digest_ok == 0)
			in->digest_mismatches++;
		if (e->type == EV_SEPARATOR && e->pcr < BD_PCR_COUNT) {
			bool err = e->data_len == 4 && le32(d) == 1;
			for (size_t k = 0; k < e->n_digests && !err; k++) {
				int b;
				size_t at = digest_at(log, e, k, &b);
				if (in->bank_alg[b] == BD_ALG_SHA1 && !memcmp(log->buf + at, h, 20))
					err = true;
			}
			if (err)
				in->error_separators++;
		}
		if (e->type == EV_EFI_VARIABLE_DRIVER_CONFIG && e->pcr == 7 && in->secure_boot < 0) {
			struct ev_var v;
			if (!ev_parse_var(d, e->data_len, &v) && !memcmp(v.guid, efi_global_guid, 16) &&
			    !strcmp(v.name, "SecureBoot"))
				in->secure_boot = v.len && v.data[0] ? 1 : 0;
		}
		if (e->type == EV_S_CRTM_VERSION && !in->crtm_version[0])
			ev_crtm_version(d, e->data_len, in->crtm_version, sizeof(in->crtm_version));
		if (e->type == EV_EFI_ACTION && e->pcr == 7) {
			if (action_is(log, e, "DMA Protection Disabled"))
				in->dma_protection_disabled = 1;
			if (action_is(log, e, "UEFI Debug Mode"))
				in->uefi_debug_mode = 1;
		}
	}
	for (size_t x = 0; x < log->n_ev; x++) {
		const struct ev *ev = &log->ev[x];
		/* Windows' SIPA events: EV_EVENT_TAG in PCRs 11-14 and the trailing non-measured record
		 * (other tagged events, e.g. systemd's in PCR 9, can look like SIPA sequences) */
		if (!ev->n_sipa || !((ev->pcr >= 11 && ev->pcr <= 14) || ev->pcr == 0xFFFFFFFFu))
			continue;
		for (size_t i = ev->sipa_first; i < ev->sipa_first + ev->n_sipa; i++) {
			const struct sipa *s = &log->sipa[i];
			const uint8_t *d = log->buf + s->off;

			in->windows = 1;
			switch (s->type) {
			case SIPA_BOOTCOUNTER:
				if (s->len >= 8 || s->len == 4) {
					in->has_boot_count = 1;
					in->boot_count = s->len >= 8 ? le64(d) : le32(d);
				}
				break;
			case SIPA_BITLOCKER_UNLOCK: {
				uint32_t v = 0;
				for (size_t k = 0; k < MIN((size_t)s->len, (size_t)4); k++)
					v |= (uint32_t)d[k] << (8 * k);
				in->has_unlock = 1;
				in->unlock_flags |= v;
				break;
			}
			case SIPA_BOOTDEBUGGING: in->boot_debugging = sipa_bool(s, log->buf, in->boot_debugging); break;
			case SIPA_OSKERNELDEBUG: in->kernel_debugging = sipa_bool(s, log->buf, in->kernel_debugging); break;
			case SIPA_TESTSIGNING: in->test_signing = sipa_bool(s, log->buf, in->test_signing); break;
			case SIPA_SAFEMODE: in->safe_mode = sipa_bool(s, log->buf, in->safe_mode); break;
			case SIPA_WINPE: in->winpe = sipa_bool(s, log->buf, in->winpe); break;
			case SIPA_CODEINTEGRITY: {
				/* "off" wins: code integrity disabled anywhere in the boot */
				int v = s->len ? !bd_is_zero(d, s->len) : 0;
				in->code_integrity = in->code_integrity == 0 ? 0 : v;
				break;
			}
			case SIPA_TPMFAILURE: in->tpm_failure = 1; break;
			case SIPA_FILEPATH:
				if (!in->boot_manager[0]) {
					bd_utf16le_to_utf8(d, s->len, in->boot_manager, sizeof(in->boot_manager));
					ev_sanitize(in->boot_manager);
				}
				break;
			}
		}
	}
	check_complete(log);
}

/* ---- public ---- */

/* Parse the log held in buf (len bytes, malloc'ed): the log owns buf from here on, also on failure. */
static int parse_owned(uint8_t *buf, size_t len, bd_eventlog **out)
{
	bd_eventlog *log;
	size_t measured = 0;
	int r;

	*out = NULL;
	log = calloc(1, sizeof(*log));
	if (!log) {
		free(buf);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	log->buf = buf;
	log->len = len;
	log->max_sipa = len / 8 + 1;
	log->info.size = len;
	log->info.startup_locality = -1;
	log->info.trust_point = -1;
	if ((r = parse_records(log)))
		goto fail;

	for (size_t i = 0; i < log->n_ev; i++) {
		struct ev *e = &log->ev[i];
		const uint8_t *d = log->buf + e->offset + e->hdr_len;

		if (is_measured(e)) {
			measured++;
			for (size_t b = 0; b < log->info.n_banks; b++)
				if (!(e->banks & (1u << b)) && !log->info.bank_missing[b]++)
					log->info.bank_missing_first[b] = i;
		}
		if (e->type == EV_NO_ACTION && e->pcr == 0 && e->data_len == 17 &&
		    !memcmp(d, startup_locality, 16)) {
			if (!log->info.crypto_agile) {
				r = bd_err(BD_ERR_CORRUPT, "event log incomplete: record %zu at offset %" PRIu32
					   " is a StartupLocality event, which only follows a Spec ID Event03 "
					   "header; the start of this log is missing", i, e->offset);
				goto fail;
			}
			log->info.startup_locality = d[16];
		}
		/* SIPA: EV_EVENT_TAG payloads and Windows' trailing non-measured record */
		if (e->type == EV_EVENT_TAG || (e->type == EV_NO_ACTION && e->pcr == 0xFFFFFFFFu)) {
			e->sipa_first = (uint32_t)log->n_sipa;
			r = parse_sipa(log, e->offset + e->hdr_len, e->data_len, 0);
			if (r == BD_ERR_NOMEM)
				goto fail;
			if (!r)
				e->n_sipa = (uint32_t)(log->n_sipa - e->sipa_first);
			if (e->type == EV_NO_ACTION && e->data_len >= 8 && le32(d) == SIPA_TRUSTPOINT)
				log->info.trust_point = (int)i;
		}
	}
	if (!measured) {
		r = bd_err(BD_ERR_TRUNCATED, "event log holds no measurement: %zu record(s), none extends a PCR "
			   "(log ends at offset %zu); the log is incomplete", log->n_ev, len);
		goto fail;
	}
	log->info.n_events = log->n_ev;
	gather_facts(log);
	if ((r = replay(log)))
		goto fail;
	*out = log;
	return 0;
fail:
	bd_eventlog_free(log);
	return r;
}

int bd_eventlog_parse(const void *buf, size_t len, bd_eventlog **out)
{
	uint8_t *copy;

	*out = NULL;
	if (len > EVENTLOG_MAX_SIZE)
		return bd_err(BD_ERR_UNSUPPORTED, "event log of %zu bytes is larger than the %u MiB limit",
			      len, EVENTLOG_MAX_SIZE >> 20);
	copy = malloc(len ? len : 1);
	if (!copy)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	if (len)
		memcpy(copy, buf, len);
	return parse_owned(copy, len, out);
}

int bd_eventlog_open(const char *path, bd_eventlog **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf = NULL;
	size_t n = 0;
	int r;

	*out = NULL;
	if (fd < 0)
		return bd_err(BD_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return bd_err(BD_ERR_IO, "%s is not a regular file", path);
	}
	if ((uint64_t)st.st_size > EVENTLOG_MAX_SIZE) {
		close(fd);
		return bd_err(BD_ERR_UNSUPPORTED, "%s: %lld bytes is larger than the %u MiB limit for an event log",
			      path, (long long)st.st_size, EVENTLOG_MAX_SIZE >> 20);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	while (n < (size_t)st.st_size) {
		ssize_t got = read(fd, buf + n, (size_t)st.st_size - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = bd_err(BD_ERR_IO, "cannot read %s: %s", path, strerror(errno));
			close(fd);
			free(buf);
			return r;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	r = parse_owned(buf, n, out);
	if (r) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", bd_last_error());
		return bd_err(r, "%s: %s", path, msg);
	}
	return 0;
}

void bd_eventlog_free(bd_eventlog *log)
{
	if (!log)
		return;
	free(log->buf);
	free(log->ev);
	free(log->sipa);
	free(log);
}

int bd_eventlog_info(const bd_eventlog *log, struct bd_eventlog_info *out)
{
	*out = log->info;
	return 0;
}

int bd_eventlog_event(const bd_eventlog *log, size_t index, struct bd_event *out)
{
	const struct ev *e;
	const char *name;

	if (index >= log->n_ev)
		return bd_err(BD_ERR_INVALID, "event %zu does not exist (the log has %zu)", index, log->n_ev);
	e = &log->ev[index];
	memset(out, 0, sizeof(*out));
	out->index = index;
	out->offset = e->offset;
	out->pcr = e->pcr;
	out->type = e->type;
	name = bd_event_type_name(e->type);
	out->type_name = name ? name : "unknown";
	out->measured = is_measured(e);
	out->digest_ok = e->digest_ok;
	out->n_digests = e->n_digests;
	for (size_t i = 0; i < e->n_digests; i++) {
		int b;
		size_t at = digest_at(log, e, i, &b);
		out->digests[i].alg = log->info.bank_alg[b];
		out->digests[i].size = log->info.bank_size[b];
		out->digests[i].value = log->buf + at;
		out->digests[i].matches_data = e->digest_ok < 0 ? -1 : !(e->bad_banks & (1u << b));
	}
	for (size_t b = 0; b < log->info.n_banks; b++)
		if (out->measured && !(e->banks & (1u << b)))
			out->missing_banks |= 1u << b;
	out->data = log->buf + e->offset + e->hdr_len;
	out->data_len = e->data_len;
	out->record = log->buf + e->offset;
	out->record_len = (size_t)e->hdr_len + e->data_len;
	out->n_sipa = e->n_sipa;
	return 0;
}

int bd_event_sipa(const bd_eventlog *log, size_t index, size_t j, struct bd_sipa_event *out)
{
	const struct sipa *s;

	if (index >= log->n_ev || j >= log->ev[index].n_sipa)
		return bd_err(BD_ERR_INVALID, "SIPA event %zu of event %zu does not exist", j, index);
	s = &log->sipa[log->ev[index].sipa_first + j];
	out->type = s->type;
	out->name = bd_sipa_type_name(s->type);
	out->depth = s->depth;
	out->data = log->buf + s->off;
	out->len = s->len;
	return 0;
}

int bd_eventlog_pcr(const bd_eventlog *log, uint16_t alg, unsigned pcr, uint8_t *out, size_t *outlen)
{
	int b = bank_index(log, alg);

	if (b < 0 || pcr >= BD_PCR_COUNT)
		return bd_err(BD_ERR_INVALID, "the log has no %s bank or PCR %u is out of range",
			      bd_hash_alg_name(alg) ? bd_hash_alg_name(alg) : "such", pcr);
	if (log->info.bank_missing[b]) {
		size_t i = log->info.bank_missing_first[b];
		return bd_err(BD_ERR_CORRUPT, "the %s bank cannot be replayed: %zu measured record(s) lack its digest, "
			      "the first is record %zu at offset %" PRIu32,
			      bd_hash_alg_name(alg) ? bd_hash_alg_name(alg) : "", log->info.bank_missing[b], i,
			      log->ev[i].offset);
	}
	if (!log->info.bank_replayed[b])
		return bd_err(BD_ERR_UNSUPPORTED, "bank 0x%04x cannot be replayed: hash not available", alg);
	memcpy(out, log->pcr[b][pcr], log->info.bank_size[b]);
	*outlen = log->info.bank_size[b];
	return 0;
}
