/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TCG PC Client event logs: parse both record layouts, the Spec ID event,
 * Windows SIPA events nested in EV_EVENT_TAG, and replay every digest bank
 * to PCR values (diagnose.md §1, §2). All reads go through the cursor; a
 * record that does not fit is an error naming its offset.
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
	uint64_t offset;
	uint32_t pcr, type;
	size_t data_off, data_len;
	size_t n_digests;
	uint8_t bank[BD_EVENTLOG_MAX_BANKS];      /* bank index of each digest */
	size_t digest_off[BD_EVENTLOG_MAX_BANKS];
	size_t sipa_first, n_sipa;
	int digest_ok;
};

struct sipa {
	uint32_t type;
	unsigned depth;
	size_t off, len;                          /* payload in buf */
};

struct bd_eventlog {
	uint8_t *buf;
	size_t len;
	struct bd_eventlog_info info;
	struct ev *ev;
	size_t n_ev, cap_ev;
	struct sipa *sipa;
	size_t n_sipa, cap_sipa;
	uint8_t pcr[BD_EVENTLOG_MAX_BANKS][BD_PCR_COUNT][64];
};

static const uint8_t spec_id03[16] = "Spec ID Event03";
static const uint8_t startup_locality[16] = "StartupLocality";

/* ---- growing arrays ---- */

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	void *p;
	size_t ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return bd_err(BD_ERR_NOMEM, "out of memory reading the event log");
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ---- SIPA ---- */

/*
 * Parse a sequence of SIPA events {UINT32 type; UINT32 size; data} filling
 * [off, off+len) of the buffer; aggregations are parsed recursively. Returns 0
 * when the whole range is a well-formed sequence, -1 otherwise (nothing kept).
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
		if (grow((void **)&log->sipa, &log->cap_sipa, log->n_sipa + 1, sizeof(struct sipa)))
			goto bad;
		log->sipa[log->n_sipa++] = (struct sipa){ type, depth, off + at, size };
		if ((type & SIPA_AGGREGATION) && size) {
			size_t mark = log->n_sipa;
			if (parse_sipa(log, off + at, size, depth + 1))
				log->n_sipa = mark; /* keep the container as an opaque leaf */
		}
	}
	return 0;
bad:
	log->n_sipa = first;
	return -1;
}

/* ---- digests ---- */

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
	int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, a, alen) &&
		 (!blen || EVP_DigestUpdate(ctx, b, blen)) && EVP_DigestFinal_ex(ctx, out, NULL);

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : bd_err(BD_ERR_NOMEM, "hashing failed in OpenSSL");
}

/* Types whose logged digest is the hash of the event data (diagnose.md §1.4). */
static bool data_hashed(uint32_t type)
{
	switch (type) {
	case EV_SEPARATOR: case EV_EFI_ACTION: case EV_COMPACT_HASH: case EV_EVENT_TAG:
	case EV_EFI_VARIABLE_DRIVER_CONFIG: case EV_EFI_VARIABLE_AUTHORITY: case EV_EFI_GPT_EVENT:
		return true;
	}
	return false;
}

static void check_digests(bd_eventlog *log, struct ev *e)
{
	uint8_t h[64];

	e->digest_ok = -1;
	if (!data_hashed(e->type) || e->type == EV_NO_ACTION)
		return;
	for (size_t i = 0; i < e->n_digests; i++) {
		const EVP_MD *md = md_for(log->info.bank_alg[e->bank[i]]);
		if (!md || hash2(md, log->buf + e->data_off, e->data_len, NULL, 0, h))
			continue;
		if (memcmp(h, log->buf + e->digest_off[i], log->info.bank_size[e->bank[i]])) {
			e->digest_ok = 0;
			return;
		}
		e->digest_ok = 1;
	}
}

/* ---- the record walk ---- */

static int add_event(bd_eventlog *log, const struct ev *e)
{
	if (grow((void **)&log->ev, &log->cap_ev, log->n_ev + 1, sizeof(*e)))
		return BD_ERR_NOMEM;
	log->ev[log->n_ev++] = *e;
	return 0;
}

static int bank_index(const bd_eventlog *log, uint16_t alg)
{
	for (size_t i = 0; i < log->info.n_banks; i++)
		if (log->info.bank_alg[i] == alg)
			return (int)i;
	return -1;
}

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

static int parse_records(bd_eventlog *log)
{
	struct bd_eventlog_info *in = &log->info;
	size_t start = 0;
	struct bd_cursor c;
	struct ev e;
	int r;

	/* optional WBCL_LogHdr {'WBCL', version 1, entries, length} (diagnose.md §2.1) */
	if (log->len >= 16 && !memcmp(log->buf, "WBCL", 4) && le32(log->buf + 4) == 1) {
		start = 16;
		in->wbcl_header = 1;
	}
	c = bd_cursor(log->buf + start, log->len - start);
	if (cur_left(&c) < 32)
		return bd_err(BD_ERR_TRUNCATED, "event log of %zu bytes is too short: the first record needs a "
			      "32-byte header at offset %zu", log->len, start);

	/* the first record is always in the legacy layout */
	memset(&e, 0, sizeof(e));
	e.offset = start;
	e.pcr = cur_u32(&c);
	e.type = cur_u32(&c);
	e.digest_off[0] = start + c.pos;
	cur_bytes(&c, 20);
	e.data_len = cur_u32(&c);
	if (e.data_len > cur_left(&c))
		return bd_err(BD_ERR_TRUNCATED, "event log truncated: record 0 at offset %zu has %zu bytes of "
			      "event data but only %zu bytes follow", start, e.data_len, cur_left(&c));
	e.data_off = start + c.pos;
	cur_bytes(&c, e.data_len);
	if (e.type == EV_NO_ACTION && e.data_len >= 16 && !memcmp(log->buf + e.data_off, spec_id03, 16)) {
		in->crypto_agile = 1;
		if ((r = parse_spec_id(log, log->buf + e.data_off, e.data_len, start)))
			return r;
		/* the Spec ID record's own digest field is 20 zero bytes, not a bank digest */
		e.n_digests = 0;
	} else {
		in->n_banks = 1;
		in->bank_alg[0] = BD_ALG_SHA1;
		in->bank_size[0] = 20;
		e.n_digests = 1;
		e.bank[0] = 0;
	}
	if ((r = add_event(log, &e)))
		return r;

	while (cur_left(&c)) {
		size_t off = start + c.pos, left = cur_left(&c);
		size_t idx = log->n_ev;
		size_t hdr = in->crypto_agile ? 12 : 32;

		/* fixed-size firmware buffers are zero-padded (diagnose.md §1.1) */
		if (bd_is_zero(log->buf + off, MIN(left, hdr)) && bd_is_zero(log->buf + off, left))
			break;
		if (left < hdr)
			return bd_err(BD_ERR_TRUNCATED, "event log truncated: record %zu at offset %zu needs a "
				      "%zu-byte header, only %zu bytes remain", idx, off, hdr, left);
		memset(&e, 0, sizeof(e));
		e.offset = off;
		e.pcr = cur_u32(&c);
		e.type = cur_u32(&c);
		if (in->crypto_agile) {
			uint32_t count = cur_u32(&c);
			if (count > in->n_banks)
				return bd_err(BD_ERR_CORRUPT, "event log corrupt: record %zu at offset %zu claims %u "
					      "digests, the Spec ID event lists %zu algorithms", idx, off, count,
					      in->n_banks);
			for (uint32_t i = 0; i < count; i++) {
				size_t doff = start + c.pos;
				uint16_t alg = cur_u16(&c);
				int b = bank_index(log, alg);
				if (c.bad)
					return bd_err(BD_ERR_TRUNCATED, "event log truncated: record %zu at offset "
						      "%zu ends inside digest %u", idx, off, i);
				if (b < 0)
					return bd_err(BD_ERR_CORRUPT, "event log corrupt: record %zu at offset %zu: "
						      "digest %u at offset %zu uses algorithm 0x%04x, which the Spec "
						      "ID event does not list", idx, off, i, doff, alg);
				e.bank[i] = (uint8_t)b;
				e.digest_off[i] = start + c.pos;
				if (!cur_bytes(&c, in->bank_size[b]))
					return bd_err(BD_ERR_TRUNCATED, "event log truncated: record %zu at offset "
						      "%zu ends inside its %s digest", idx, off,
						      bd_hash_alg_name(alg) ? bd_hash_alg_name(alg) : "");
			}
			e.n_digests = count;
		} else {
			e.n_digests = 1;
			e.bank[0] = 0;
			e.digest_off[0] = start + c.pos;
			cur_bytes(&c, 20);
		}
		e.data_len = cur_u32(&c);
		if (c.bad)
			return bd_err(BD_ERR_TRUNCATED, "event log truncated: record %zu at offset %zu ends before "
				      "its event-size field", idx, off);
		if (e.data_len > cur_left(&c))
			return bd_err(BD_ERR_TRUNCATED, "event log truncated: record %zu at offset %zu has %zu bytes "
				      "of event data but only %zu bytes follow", idx, off, e.data_len, cur_left(&c));
		e.data_off = start + c.pos;
		cur_bytes(&c, e.data_len);
		if ((r = add_event(log, &e)))
			return r;
	}
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
	uint8_t tmp[64];
	int r;

	for (size_t b = 0; b < in->n_banks; b++) {
		const EVP_MD *md = md_for(in->bank_alg[b]);
		size_t sz = in->bank_size[b];

		in->bank_replayed[b] = md != NULL;
		for (unsigned p = 0; p < BD_PCR_COUNT; p++)
			memset(log->pcr[b][p], p >= 17 && p <= 22 ? 0xff : 0, sz);
		if (in->startup_locality >= 0)
			log->pcr[b][0][sz - 1] = (uint8_t)in->startup_locality;
		if (!md)
			continue;
		for (size_t i = 0; i < log->n_ev; i++) {
			const struct ev *e = &log->ev[i];
			if (!is_measured(e))
				continue;
			for (size_t d = 0; d < e->n_digests; d++) {
				if (e->bank[d] != b)
					continue;
				if ((r = hash2(md, log->pcr[b][e->pcr], sz, log->buf + e->digest_off[d], sz, tmp)))
					return r;
				memcpy(log->pcr[b][e->pcr], tmp, sz);
			}
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
		const uint8_t *d = log->buf + e->data_off;

		check_digests(log, e);
		if (e->digest_ok == 0)
			in->digest_mismatches++;
		if (e->type == EV_SEPARATOR && e->pcr < BD_PCR_COUNT) {
			bool err = e->data_len == 4 && le32(d) == 1;
			for (size_t k = 0; k < e->n_digests && !err; k++)
				if (in->bank_alg[e->bank[k]] == BD_ALG_SHA1 && !memcmp(log->buf + e->digest_off[k], h, 20))
					err = true;
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
			ev_printable(d, e->data_len, in->crtm_version, sizeof(in->crtm_version));
	}
	for (size_t i = 0; i < log->n_sipa; i++) {
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
			for (size_t k = 0; k < MIN(s->len, (size_t)4); k++)
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
			if (!in->boot_manager[0])
				bd_utf16le_to_utf8(d, s->len, in->boot_manager, sizeof(in->boot_manager));
			break;
		}
	}
}

/* ---- public ---- */

int bd_eventlog_parse(const void *buf, size_t len, bd_eventlog **out)
{
	bd_eventlog *log;
	size_t measured = 0;
	int r;

	*out = NULL;
	if (len > EVENTLOG_MAX_SIZE)
		return bd_err(BD_ERR_UNSUPPORTED, "event log of %zu bytes is larger than the %u MiB limit",
			      len, EVENTLOG_MAX_SIZE >> 20);
	log = calloc(1, sizeof(*log));
	if (!log)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	log->buf = malloc(len ? len : 1);
	if (!log->buf) {
		free(log);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	if (len)
		memcpy(log->buf, buf, len);
	log->len = len;
	log->info.size = len;
	log->info.startup_locality = -1;
	if ((r = parse_records(log)))
		goto fail;

	for (size_t i = 0; i < log->n_ev; i++) {
		struct ev *e = &log->ev[i];
		const uint8_t *d = log->buf + e->data_off;

		if (is_measured(e))
			measured++;
		if (e->type == EV_NO_ACTION && e->pcr == 0 && e->data_len == 17 &&
		    !memcmp(d, startup_locality, 16)) {
			if (!log->info.crypto_agile) {
				r = bd_err(BD_ERR_CORRUPT, "event log incomplete: record %zu at offset %" PRIu64
					   " is a StartupLocality event, which only follows a Spec ID Event03 "
					   "header; the start of this log is missing", i, e->offset);
				goto fail;
			}
			log->info.startup_locality = d[16];
		}
		/* SIPA: EV_EVENT_TAG payloads and Windows' trailing non-measured record */
		if (e->type == EV_EVENT_TAG || (e->type == EV_NO_ACTION && e->pcr == 0xFFFFFFFFu)) {
			e->sipa_first = log->n_sipa;
			if (!parse_sipa(log, e->data_off, e->data_len, 0))
				e->n_sipa = log->n_sipa - e->sipa_first;
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
		return bd_err(BD_ERR_UNSUPPORTED, "%s: %lld bytes is too large for an event log", path,
			      (long long)st.st_size);
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
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	r = bd_eventlog_parse(buf, n, out);
	free(buf);
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
		out->digests[i].alg = log->info.bank_alg[e->bank[i]];
		out->digests[i].size = log->info.bank_size[e->bank[i]];
		out->digests[i].value = log->buf + e->digest_off[i];
	}
	out->data = log->buf + e->data_off;
	out->data_len = e->data_len;
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
	if (!log->info.bank_replayed[b])
		return bd_err(BD_ERR_UNSUPPORTED, "bank 0x%04x cannot be replayed: hash not available", alg);
	memcpy(out, log->pcr[b][pcr], log->info.bank_size[b]);
	*outlen = log->info.bank_size[b];
	return 0;
}
