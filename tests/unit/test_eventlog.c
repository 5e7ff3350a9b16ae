/* Unit tests for the event-log parser (lib/eventlog.c): logs built here byte by byte,
 * expected PCRs computed with OpenSSL from the TCG replay rule (diagnose.md §1.4),
 * every truncation of a valid log, and the real small tpm2-tools logs when present. */
#include <openssl/evp.h>
#include <stdlib.h>

#include "bdkit.h"
#include "check.h"

struct buf {
	uint8_t p[4096];
	size_t n;
};

static void put(struct buf *b, const void *d, size_t n)
{
	memcpy(b->p + b->n, d, n);
	b->n += n;
}
static void u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	put(b, x, 4);
}
static void u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	put(b, x, 2);
}
static void u8(struct buf *b, uint8_t v) { put(b, &v, 1); }

static void md(const EVP_MD *m, const void *a, size_t alen, const void *c, size_t clen, uint8_t *out)
{
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	EVP_DigestInit_ex(x, m, NULL);
	EVP_DigestUpdate(x, a, alen);
	if (clen)
		EVP_DigestUpdate(x, c, clen);
	EVP_DigestFinal_ex(x, out, NULL);
	EVP_MD_CTX_free(x);
}

/* legacy record */
static void legacy(struct buf *b, uint32_t pcr, uint32_t type, const void *data, size_t n)
{
	uint8_t d[20];
	md(EVP_sha1(), data, n, NULL, 0, d);
	u32(b, pcr);
	u32(b, type);
	put(b, d, 20);
	u32(b, (uint32_t)n);
	put(b, data, n);
}

/* Spec ID Event03 with sha1 + sha256 (+ an extra algorithm when extra != 0) */
static void spec_id(struct buf *b, uint16_t extra)
{
	struct buf s = { .n = 0 };
	uint8_t zero[20] = { 0 };
	put(&s, "Spec ID Event03", 16);
	u32(&s, 0);
	u8(&s, 0); u8(&s, 2); u8(&s, 0); u8(&s, 2);
	u32(&s, extra ? 3 : 2);
	u16(&s, 0x0004); u16(&s, 20);
	u16(&s, 0x000B); u16(&s, 32);
	if (extra) {
		u16(&s, extra); u16(&s, 32);
	}
	u8(&s, 0);
	u32(b, 0);
	u32(b, 3);
	put(b, zero, 20);
	u32(b, (uint32_t)s.n);
	put(b, s.p, s.n);
}

static void agile(struct buf *b, uint32_t pcr, uint32_t type, const void *data, size_t n, uint16_t extra)
{
	uint8_t d1[20], d2[32], d3[32];
	md(EVP_sha1(), data, n, NULL, 0, d1);
	md(EVP_sha256(), data, n, NULL, 0, d2);
	memset(d3, 0x5a, sizeof(d3));
	u32(b, pcr);
	u32(b, type);
	u32(b, extra ? 3 : 2);
	u16(b, 0x0004); put(b, d1, 20);
	u16(b, 0x000B); put(b, d2, 32);
	if (extra) {
		u16(b, extra); put(b, d3, 32);
	}
	u32(b, (uint32_t)n);
	put(b, data, n);
}

static void test_legacy(void)
{
	struct buf b = { .n = 0 };
	bd_eventlog *log = NULL;
	uint8_t pcr[64], exp[20], d[20], zero[20] = { 0 };
	size_t len = 0;

	legacy(&b, 4, 0x80000007, "Calling EFI Application from Boot Option", 40);
	legacy(&b, 4, 4, "\0\0\0\0", 4);
	legacy(&b, 0xFFFFFFFF, 3, "trust point", 11);   /* Windows' trailing record: not replayed */
	CHECK(bd_eventlog_parse(b.p, b.n, &log) == 0, "legacy log parses");
	if (!log)
		return;
	md(EVP_sha1(), "Calling EFI Application from Boot Option", 40, NULL, 0, d);
	md(EVP_sha1(), zero, 20, d, 20, exp);
	md(EVP_sha1(), "\0\0\0\0", 4, NULL, 0, d);
	md(EVP_sha1(), exp, 20, d, 20, exp);
	CHECK(bd_eventlog_pcr(log, BD_ALG_SHA1, 4, pcr, &len) == 0 && len == 20 && !memcmp(pcr, exp, 20),
	      "legacy replay of PCR 4 = SHA1(SHA1(0||d1)||d2)");
	CHECK(bd_eventlog_pcr(log, BD_ALG_SHA1, 17, pcr, &len) == 0 && pcr[0] == 0xff && pcr[19] == 0xff,
	      "PCR 17 starts at all ones (DRTM reset value)");
	CHECK(bd_eventlog_pcr(log, BD_ALG_SHA256, 4, pcr, &len) == BD_ERR_INVALID, "no SHA-256 bank in a legacy log");
	struct bd_event e;
	CHECK(bd_eventlog_event(log, 2, &e) == 0 && e.pcr == 0xFFFFFFFFu && !e.measured,
	      "PCR 0xFFFFFFFF record is kept but not measured");
	CHECK(bd_eventlog_event(log, 0, &e) == 0 && e.digest_ok == 1, "EV_EFI_ACTION digest = H(data)");
	bd_eventlog_free(log);

	/* zero padding after the last record (fixed-size firmware buffers) */
	memset(b.p + b.n, 0, 100);
	CHECK(bd_eventlog_parse(b.p, b.n + 100, &log) == 0, "zero padding is the end of the log");
	bd_eventlog_free(log);

	/* every truncation inside a record is refused with the record's offset */
	int bad = 0;
	for (size_t cut = 1; cut < b.n; cut++) {
		log = NULL;
		int r = bd_eventlog_parse(b.p, cut, &log);
		if (cut == 72 || cut == 108) {   /* record boundaries: a shorter but whole log */
			bd_eventlog_free(log);
			continue;
		}
		if (r != BD_ERR_TRUNCATED || !strstr(bd_last_error(), "offset"))
			bad++;
		bd_eventlog_free(log);
	}
	CHECK(bad == 0, "every cut inside a record is BD_ERR_TRUNCATED naming an offset (%d wrong)", bad);
}

static void test_agile(void)
{
	struct buf b = { .n = 0 };
	bd_eventlog *log = NULL;
	uint8_t pcr[64], exp[32], d[32], start[32] = { 0 };
	size_t len = 0;

	spec_id(&b, 0);
	/* StartupLocality 3: PCR 0 starts at 00..03 */
	{
		uint8_t zero[20] = { 0 };
		u32(&b, 0); u32(&b, 3); u32(&b, 0);
		u32(&b, 17);
		put(&b, "StartupLocality\0\3", 17);
		(void)zero;
	}
	agile(&b, 0, 8, "V\0e\0r\0", 6, 0);
	CHECK(bd_eventlog_parse(b.p, b.n, &log) == 0, "crypto-agile log with StartupLocality parses");
	if (!log)
		return;
	struct bd_eventlog_info in;
	bd_eventlog_info(log, &in);
	CHECK(in.crypto_agile && in.n_banks == 2 && in.startup_locality == 3, "Spec ID banks and locality read");
	start[31] = 3;
	md(EVP_sha256(), "V\0e\0r\0", 6, NULL, 0, d);
	md(EVP_sha256(), start, 32, d, 32, exp);
	CHECK(bd_eventlog_pcr(log, BD_ALG_SHA256, 0, pcr, &len) == 0 && len == 32 && !memcmp(pcr, exp, 32),
	      "PCR 0 replay starts at the startup locality");
	bd_eventlog_free(log);

	/* an algorithm bdkit cannot hash: parsed (size from the Spec ID event), bank not replayed */
	b.n = 0;
	spec_id(&b, 0x0027);
	agile(&b, 7, 4, "\0\0\0\0", 4, 0x0027);
	log = NULL;
	CHECK(bd_eventlog_parse(b.p, b.n, &log) == 0, "unknown algorithm with a size in the Spec ID event is skipped");
	if (log) {
		CHECK(bd_eventlog_pcr(log, 0x0027, 7, pcr, &len) == BD_ERR_UNSUPPORTED &&
		      bd_eventlog_pcr(log, BD_ALG_SHA256, 7, pcr, &len) == 0, "other banks still replay");
		bd_eventlog_free(log);
	}

	/* a digest whose algorithm the Spec ID event does not list */
	b.n = 0;
	spec_id(&b, 0);
	agile(&b, 7, 4, "\0\0\0\0", 4, 0x000C);
	log = NULL;
	CHECK(bd_eventlog_parse(b.p, b.n, &log) == BD_ERR_CORRUPT && strstr(bd_last_error(), "offset"),
	      "digest of an unlisted algorithm is corrupt, message names the offset");
	bd_eventlog_free(log);

	/* WBCL_LogHdr in front */
	struct buf w = { .n = 0 };
	put(&w, "WBCL", 4);
	u32(&w, 1); u32(&w, 1); u32(&w, 0);
	b.n = 0;
	spec_id(&b, 0);
	agile(&b, 4, 4, "\0\0\0\0", 4, 0);
	put(&w, b.p, b.n);
	log = NULL;
	CHECK(bd_eventlog_parse(w.p, w.n, &log) == 0, "WBCL header is skipped");
	if (log) {
		bd_eventlog_info(log, &in);
		CHECK(in.wbcl_header == 1 && in.n_events == 2, "WBCL header noted");
	}
	bd_eventlog_free(log);
}

static void test_sipa(void)
{
	struct buf b = { .n = 0 }, s = { .n = 0 }, inner = { .n = 0 };
	bd_eventlog *log = NULL;

	/* TRUSTBOUNDARY { BOOTCOUNTER 7, BITLOCKER_UNLOCK 0x40, BOOTDEBUGGING 1 } */
	u32(&inner, 0x00020002); u32(&inner, 8); u32(&inner, 7); u32(&inner, 0);
	u32(&inner, 0x00020005); u32(&inner, 4); u32(&inner, 0x40);
	u32(&inner, 0x00040001); u32(&inner, 1); u8(&inner, 1);
	u32(&s, 0x40010001); u32(&s, (uint32_t)inner.n);
	put(&s, inner.p, inner.n);
	legacy(&b, 12, 6, s.p, s.n);
	CHECK(bd_eventlog_parse(b.p, b.n, &log) == 0, "log with a SIPA container parses");
	if (!log)
		return;
	struct bd_eventlog_info in;
	struct bd_event e;
	struct bd_sipa_event se;
	bd_eventlog_info(log, &in);
	CHECK(in.windows && in.has_boot_count && in.boot_count == 7, "SIPA boot counter");
	CHECK(in.has_unlock && in.unlock_flags == BD_UNLOCK_RECOVERY, "SIPA BitLocker unlock flags");
	CHECK(in.boot_debugging == 1 && in.test_signing == -1, "SIPA boot debugging on, test signing not logged");
	CHECK(bd_eventlog_event(log, 0, &e) == 0 && e.n_sipa == 4, "nested SIPA events flattened");
	CHECK(bd_event_sipa(log, 0, 2, &se) == 0 && se.depth == 1 && se.name && !strcmp(se.name, "BITLOCKER_UNLOCK"),
	      "SIPA depth and name");
	char txt[64];
	bd_unlock_flags_format(BD_UNLOCK_TPM | BD_UNLOCK_PIN, txt, sizeof(txt));
	CHECK(!strcmp(txt, "TPM+PIN"), "unlock flags text '%s'", txt);
	bd_eventlog_free(log);
}

static void test_rejects(void)
{
	bd_eventlog *log = NULL;
	uint8_t junk[64] = { 0 };
	struct buf b = { .n = 0 };

	CHECK(bd_eventlog_parse(junk, 10, &log) == BD_ERR_CORRUPT, "10 zero bytes are not a log");
	memset(junk, 0xff, 10);
	CHECK(bd_eventlog_parse(junk, 10, &log) == BD_ERR_TRUNCATED, "10 bytes is too short");
	memset(junk, 0, sizeof(junk));
	/* a lone StartupLocality record in the legacy layout: no Spec ID header, no measurement */
	u32(&b, 0); u32(&b, 3);
	memset(junk, 0, 20);
	put(&b, junk, 20);
	u32(&b, 17);
	put(&b, "StartupLocality\0\3", 17);
	CHECK(bd_eventlog_parse(b.p, b.n, &log) != 0 && log == NULL, "StartupLocality without Spec ID is refused");
	/* Spec ID with 0 algorithms */
	b.n = 0;
	u32(&b, 0); u32(&b, 3);
	put(&b, junk, 20);
	u32(&b, 29);
	put(&b, "Spec ID Event03", 16);
	memset(junk, 0, 13);
	put(&b, junk, 13);
	CHECK(bd_eventlog_parse(b.p, b.n, &log) == BD_ERR_CORRUPT, "Spec ID with no algorithm is corrupt");
	CHECK(bd_hash_alg_parse("sha256") == BD_ALG_SHA256 && bd_hash_alg_parse("md5") < 0, "algorithm names");
}

/* real logs: the small tpm2-tools fixtures parse and replay */
static void test_real(void)
{
	static const char *files[] = { "event.bin", "event-uefivar.bin", "event-uefiaction.bin",
				       "event-uefiservices.bin", "event-bootorder.bin" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[256];
		bd_eventlog *log = NULL;
		snprintf(path, sizeof(path), "../shared/testdata/eventlogs/tpm2-tools/%s", files[i]);
		FILE *f = fopen(path, "rb");
		if (!f) {
			SKIP("%s: ../shared/testdata/eventlogs absent", files[i]);
			continue;
		}
		fclose(f);
		CHECK(bd_eventlog_open(path, &log) == 0, "%s parses", files[i]);
		for (size_t k = 0; log && k < 64; k++) {
			char d[512];
			bd_event_describe(log, k, d, sizeof(d));
		}
		bd_eventlog_free(log);
	}
}

/* what is not a log, and records that cannot be in one */
static void test_not_logs(void)
{
	struct buf b = { .n = 0 };
	bd_eventlog *log = NULL;
	uint8_t zero[64] = { 0 };

	legacy(&b, 4, 0x80000007, "Calling EFI Application from Boot Option", 40);
	put(&b, zero, 32);                               /* a zero record ... */
	legacy(&b, 4, 4, "\0\0\0\0", 4);                 /* ... with data after it */
	CHECK(bd_eventlog_parse(b.p, b.n, &log) == BD_ERR_CORRUPT && strstr(bd_last_error(), "offset 72"),
	      "a zero record followed by data is corrupt at its offset: %s", bd_last_error());
	b.n = 0;
	legacy(&b, 4, 0x80000007, "Calling EFI Application from Boot Option", 40);
	legacy(&b, 99, 4, "\0\0\0\0", 4);
	CHECK(bd_eventlog_parse(b.p, b.n, &log) == BD_ERR_CORRUPT && strstr(bd_last_error(), "PCR 99"),
	      "a measured record for PCR 99 is corrupt");
	b.n = 0;
	legacy(&b, 4, 0x12345678, "x", 1);
	CHECK(bd_eventlog_parse(b.p, b.n, &log) == BD_ERR_CORRUPT, "no log begins with an unknown event type");
	CHECK(bd_eventlog_parse("Hello, this is a text file, not a log at all.\n", 46, &log) == BD_ERR_CORRUPT &&
	      strstr(bd_last_error(), "offset 0"), "text is not a log (offset 0)");
}

/* a crypto-agile record without one bank's digest: that bank is an error, the others replay */
static void test_missing_bank(void)
{
	struct buf b = { .n = 0 };
	bd_eventlog *log = NULL;
	uint8_t d1[20], pcr[64];
	size_t len;

	spec_id(&b, 0);
	agile(&b, 7, 4, "\0\0\0\0", 4, 0);
	md(EVP_sha1(), "abc", 3, NULL, 0, d1);
	u32(&b, 7); u32(&b, 0x80000007); u32(&b, 1);
	u16(&b, 0x0004); put(&b, d1, 20);
	u32(&b, 3); put(&b, "abc", 3);
	CHECK(bd_eventlog_parse(b.p, b.n, &log) == 0, "a record with one digest of two parses");
	if (!log)
		return;
	struct bd_eventlog_info in;
	struct bd_event e;
	bd_eventlog_info(log, &in);
	CHECK(in.bank_missing[1] == 1 && in.bank_missing_first[1] == 2 && !in.bank_replayed[1], "SHA-256 bank marked missing");
	CHECK(bd_eventlog_pcr(log, BD_ALG_SHA256, 7, pcr, &len) == BD_ERR_CORRUPT && strstr(bd_last_error(), "record 2"),
	      "SHA-256 PCRs refused, naming the record: %s", bd_last_error());
	CHECK(bd_eventlog_pcr(log, BD_ALG_SHA1, 7, pcr, &len) == 0, "SHA-1 still replays");
	CHECK(bd_eventlog_event(log, 2, &e) == 0 && e.missing_banks == 2 && e.digest_ok == 1, "event says which bank is missing");
	bd_eventlog_free(log);
}

/* digest-vs-data for the types hashed over (part of) their data */
static void test_digest_checks(void)
{
	struct buf b = { .n = 0 }, v = { .n = 0 };
	bd_eventlog *log = NULL;
	static const uint8_t global[16] = { 0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
					    0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };
	uint8_t d[20];

	/* Boot0001 hashed over VariableData only (PC Client spec) */
	put(&v, global, 16);
	u32(&v, 8); u32(&v, 0); u32(&v, 2); u32(&v, 0);
	put(&v, "B\0o\0o\0t\0" "0\0" "0\0" "0\0" "1\0", 16);
	put(&v, "\x01\x00", 2);
	md(EVP_sha1(), "\x01\x00", 2, NULL, 0, d);
	u32(&b, 1); u32(&b, 0x80000002); put(&b, d, 20); u32(&b, (uint32_t)v.n); put(&b, v.p, v.n);
	/* a separator whose digest is wrong */
	legacy(&b, 4, 4, "\0\0\0\0", 4);
	b.p[b.n - 9] ^= 1;    /* last digest byte of the last record */
	CHECK(bd_eventlog_parse(b.p, b.n, &log) == 0, "log parses: %s", bd_last_error());
	if (!log)
		return;
	struct bd_event e;
	struct bd_eventlog_info in;
	bd_eventlog_info(log, &in);
	CHECK(bd_eventlog_event(log, 0, &e) == 0 && e.digest_ok == 1, "EV_EFI_VARIABLE_BOOT: H(VariableData) accepted");
	CHECK(bd_eventlog_event(log, 1, &e) == 0 && e.digest_ok == 0 && e.digests[0].matches_data == 0 &&
	      in.digest_mismatches == 1, "a separator with a wrong digest is flagged");
	bd_eventlog_free(log);
}

int main(void)
{
	test_not_logs();
	test_missing_bank();
	test_digest_checks();
	test_legacy();
	test_agile();
	test_sipa();
	test_rejects();
	test_real();
	CHECK_DONE();
}
