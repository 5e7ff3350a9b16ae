/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Is this log the TPM's? Windows ends its measured-boot logs with a
 * non-measured trust-point record (SIPA TRUSTPOINT_AGGREGATION) holding a TPM
 * quote of the PCRs signed by the Windows AIK (diagnose.md §2.3: AIKID,
 * AIKPUBDIGEST, QUOTE, QUOTESIGNATURE). The quote's PCR digest is compared
 * with the replay of the records before the trust point; the signature is
 * checked when the AIK's public key is at hand.
 *
 * Quote structures (big-endian, TPM byte order):
 *  - TPM 1.2 TPM_QUOTE_INFO {1.1.0.0, "QUOT", compositeHash[20], nonce[20]}
 *  - TPM 1.2 TPM_QUOTE_INFO2 {tag 0x0036, "QUT2", nonce[20], TPM_PCR_INFO_SHORT
 *    {TPM_PCR_SELECTION, locality, digestAtRelease[20]}} [+ TPM_CAP_VERSION_INFO]
 *    digest = SHA-1(TPM_PCR_COMPOSITE {selection, UINT32 valueSize, values})
 *  - TPM 2.0 TPMS_ATTEST {magic 0xff544347, type 0x8018, qualifiedSigner,
 *    extraData, clockInfo, firmwareVersion, TPMS_QUOTE_INFO {TPML_PCR_SELECTION,
 *    TPM2B_DIGEST pcrDigest}}; pcrDigest = H(selected PCR values in order)
 *  Every read goes through a bounded big-endian reader.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "internal.h"
#include "eventlog.h"

/* ---- big-endian bounded reader ---- */

struct be {
	const uint8_t *p;
	size_t n, pos;
	bool bad;
};

static bool be_need(struct be *b, size_t k)
{
	if (b->bad || k > b->n - b->pos) {
		b->bad = true;
		return false;
	}
	return true;
}
static uint8_t be8(struct be *b) { return be_need(b, 1) ? b->p[b->pos++] : 0; }
static uint16_t be16(struct be *b)
{
	if (!be_need(b, 2)) return 0;
	b->pos += 2;
	return (uint16_t)(b->p[b->pos - 2] << 8 | b->p[b->pos - 1]);
}
static uint32_t be32(struct be *b)
{
	uint32_t hi = be16(b);
	return hi << 16 | be16(b);
}
static uint64_t be64(struct be *b)
{
	uint64_t hi = be32(b);
	return hi << 32 | be32(b);
}
static const uint8_t *bebytes(struct be *b, size_t k)
{
	if (!be_need(b, k)) return NULL;
	b->pos += k;
	return b->p + b->pos - k;
}
/* TPM2B: UINT16 size then bytes */
static const uint8_t *be2b(struct be *b, size_t *len)
{
	*len = be16(b);
	return bebytes(b, *len);
}

static uint16_t alg_for_size(size_t n)
{
	switch (n) {
	case 20: return BD_ALG_SHA1;
	case 32: return BD_ALG_SHA256;
	case 48: return BD_ALG_SHA384;
	case 64: return BD_ALG_SHA512;
	}
	return 0;
}

/* ---- quote structures ---- */

int bd_quote_parse(const void *data, size_t len, struct bd_quote *q)
{
	struct be b = { data, len, 0, false };
	const uint8_t *d = data;

	memset(q, 0, sizeof(*q));
	if (len >= 8 && d[0] == 0xff && d[1] == 'T' && d[2] == 'C' && d[3] == 'G') {
		/* TPM 2.0 TPMS_ATTEST */
		size_t nl, el, dl;
		uint32_t count;
		be32(&b);
		if (be16(&b) != 0x8018)
			return bd_err(BD_ERR_CORRUPT, "TPMS_ATTEST is not a quote (type is not TPM_ST_ATTEST_QUOTE)");
		be2b(&b, &nl);                     /* qualifiedSigner */
		const uint8_t *extra = be2b(&b, &el);
		q->clock = be64(&b);
		q->reset_count = be32(&b);
		q->restart_count = be32(&b);
		be8(&b);                           /* safe */
		q->firmware_version = be64(&b);
		count = be32(&b);
		if (b.bad || count == 0 || count > 8)
			return bd_err(BD_ERR_CORRUPT, "TPMS_ATTEST: %s", b.bad ? "truncated" : "bad PCR selection count");
		q->tpm_version = 2;
		for (uint32_t i = 0; i < count; i++) {
			uint16_t alg = be16(&b);
			uint8_t sz = be8(&b);
			const uint8_t *bits = bebytes(&b, sz);
			if (!bits || sz > 4)
				return bd_err(BD_ERR_CORRUPT, "TPMS_ATTEST: PCR selection %u is %s", i,
					      bits ? "larger than 24 PCRs" : "truncated");
			if (q->n_selections < BD_QUOTE_MAX_SEL) {
				q->sel_alg[q->n_selections] = alg;
				for (unsigned k = 0; k < 8u * sz; k++)
					if (bits[k / 8] & (1u << (k % 8)))
						q->sel_mask[q->n_selections] |= 1u << k;
				q->n_selections++;
			}
		}
		const uint8_t *pd = be2b(&b, &dl);
		if (b.bad || !pd || dl > 64 || !alg_for_size(dl))
			return bd_err(BD_ERR_CORRUPT, "TPMS_ATTEST: PCR digest %s", b.bad ? "truncated" : "of an unknown size");
		memcpy(q->pcr_digest, pd, dl);
		q->digest_len = dl;
		q->digest_alg = alg_for_size(dl);
		if (extra && el <= sizeof(q->nonce)) {
			memcpy(q->nonce, extra, el);
			q->nonce_len = el;
		}
		q->signed_len = b.pos;
		return 0;
	}
	if (len >= 48 && d[0] == 1 && d[1] == 1 && d[2] == 0 && d[3] == 0 && !memcmp(d + 4, "QUOT", 4)) {
		/* TPM 1.2 TPM_QUOTE_INFO: the PCR selection is not in it, only the composite's hash */
		q->tpm_version = 1;
		memcpy(q->pcr_digest, d + 8, 20);
		q->digest_len = 20;
		q->digest_alg = BD_ALG_SHA1;
		memcpy(q->nonce, d + 28, 20);
		q->nonce_len = 20;
		q->selection_unknown = 1;
		q->signed_len = 48;
		return 0;
	}
	if (len >= 6 && d[0] == 0x00 && d[1] == 0x36 && !memcmp(d + 2, "QUT2", 4)) {
		/* TPM 1.2 TPM_QUOTE_INFO2 */
		uint16_t sz;
		bebytes(&b, 6);
		const uint8_t *nonce = bebytes(&b, 20);
		sz = be16(&b);
		const uint8_t *bits = bebytes(&b, sz);
		be8(&b);                           /* localityAtRelease */
		const uint8_t *dig = bebytes(&b, 20);
		if (b.bad || !nonce || !bits || !dig || sz > 4)
			return bd_err(BD_ERR_CORRUPT, "TPM_QUOTE_INFO2 is truncated or selects more than 24 PCRs");
		q->tpm_version = 1;
		q->n_selections = 1;
		q->sel_alg[0] = BD_ALG_SHA1;
		for (unsigned k = 0; k < 8u * sz; k++)
			if (bits[k / 8] & (1u << (k % 8)))
				q->sel_mask[0] |= 1u << k;
		q->sel_size = sz;
		memcpy(q->pcr_digest, dig, 20);
		q->digest_len = 20;
		q->digest_alg = BD_ALG_SHA1;
		memcpy(q->nonce, nonce, 20);
		q->nonce_len = 20;
		q->signed_len = len;              /* TPM_Quote2 with addVersion signs the version info too */
		return 0;
	}
	return bd_err(BD_ERR_CORRUPT, "not a TPM quote (neither TPMS_ATTEST nor TPM_QUOTE_INFO/TPM_QUOTE_INFO2)");
}

/* The PCR digest a quote of these selections would carry, from PCR values of the log. */
static int quote_digest(const bd_eventlog *log, size_t upto, const struct bd_quote *q, uint8_t *out)
{
	uint8_t pcrs[BD_PCR_COUNT][64];
	uint8_t *buf;
	size_t n = 0, cap = 24 * 64 * BD_QUOTE_MAX_SEL + 16;
	int r = 0;

	buf = malloc(cap);
	if (!buf)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	if (q->tpm_version == 1) {
		/* TPM_PCR_COMPOSITE {TPM_PCR_SELECTION {UINT16 size; bitmap}; UINT32 valueSize; values} */
		uint32_t cnt = 0;
		if ((r = ev_replay_until(log, BD_ALG_SHA1, upto, pcrs)))
			goto out;
		buf[n++] = (uint8_t)(q->sel_size >> 8);
		buf[n++] = (uint8_t)q->sel_size;
		for (unsigned i = 0; i < q->sel_size; i++)
			buf[n++] = (uint8_t)(q->sel_mask[0] >> (8 * i));
		for (unsigned p = 0; p < BD_PCR_COUNT; p++)
			cnt += (q->sel_mask[0] >> p) & 1;
		cnt *= 20;
		buf[n++] = (uint8_t)(cnt >> 24); buf[n++] = (uint8_t)(cnt >> 16);
		buf[n++] = (uint8_t)(cnt >> 8); buf[n++] = (uint8_t)cnt;
		for (unsigned p = 0; p < BD_PCR_COUNT; p++)
			if (q->sel_mask[0] & (1u << p)) {
				memcpy(buf + n, pcrs[p], 20);
				n += 20;
			}
	} else {
		for (size_t s = 0; s < q->n_selections; s++) {
			const char *an = bd_hash_alg_name(q->sel_alg[s]);
			size_t sz;
			uint8_t tmp[64];
			if ((r = ev_replay_until(log, q->sel_alg[s], upto, pcrs)))
				goto out;
			if ((r = ev_hash(q->sel_alg[s], "", 0, tmp, &sz)))
				goto out;
			(void)an;
			for (unsigned p = 0; p < BD_PCR_COUNT; p++)
				if (q->sel_mask[s] & (1u << p)) {
					memcpy(buf + n, pcrs[p], sz);
					n += sz;
				}
		}
	}
	r = ev_hash(q->digest_alg, buf, n, out, NULL);
out:
	free(buf);
	return r;
}

/* ---- the trust-point record ---- */

static bool tp_item(uint32_t t)
{
	return t == SIPA_QUOTE || t == SIPA_QUOTESIGNATURE || t == SIPA_AIKID || t == SIPA_AIKPUBDIGEST;
}

static size_t next_item(const uint8_t *d, size_t n, size_t from)
{
	for (size_t o = from; o + 8 <= n; o++)
		if (tp_item(le32(d + o)))
			return o;
	return n;
}

/*
 * Items of a trust-point record. Real records carry size fields that do not
 * add up (a real Windows log's AIKID says 581 bytes for a 24-byte name, its
 * aggregation 969 for 416), so an item whose size runs past the record ends
 * where the next known item begins.
 */
int bd_trustpoint_parse(const void *data, size_t len, struct bd_trustpoint *tp)
{
	const uint8_t *d = data;
	size_t o;

	memset(tp, 0, sizeof(*tp));
	if (len < 8 || le32(d) != SIPA_TRUSTPOINT)
		return bd_err(BD_ERR_CORRUPT, "not a Windows trust-point record (no TRUSTPOINT_AGGREGATION header)");
	o = next_item(d, len, 8);
	while (o + 8 <= len) {
		uint32_t type = le32(d + o), size = le32(d + o + 4);
		size_t start = o + 8, end;
		if (size <= len - start) {
			end = start + size;
		} else {
			end = next_item(d, len, start);
			tp->sizes_repaired++;
		}
		switch (type) {
		case SIPA_QUOTE: tp->quote = d + start; tp->quote_len = end - start; break;
		case SIPA_QUOTESIGNATURE: tp->signature = d + start; tp->signature_len = end - start; break;
		case SIPA_AIKID: {
			/* the AIK's name (UTF-16, NUL-terminated), possibly followed by its public key */
			size_t k = start;
			while (k + 1 < end && (d[k] || d[k + 1]))
				k += 2;
			tp->aik_id = d + start;
			tp->aik_id_len = k - start;
			if (k + 2 < end) {
				tp->aik_pub = d + k + 2;
				tp->aik_pub_len = end - k - 2;
			}
			break;
		}
		case SIPA_AIKPUBDIGEST: tp->aik_digest = d + start; tp->aik_digest_len = end - start; break;
		}
		o = end;
		if (o + 8 <= len && !tp_item(le32(d + o)))
			o = next_item(d, len, o);
	}
	if (!tp->quote)
		return bd_err(BD_ERR_CORRUPT, "the trust-point record holds no TPM quote");
	return 0;
}

/* ---- signature ---- */

static const EVP_MD *evp_for(uint16_t alg)
{
	switch (alg) {
	case BD_ALG_SHA1: return EVP_sha1();
	case BD_ALG_SHA256: return EVP_sha256();
	case BD_ALG_SHA384: return EVP_sha384();
	case BD_ALG_SHA512: return EVP_sha512();
	}
	return NULL;
}

/* BCRYPT_RSAKEY_BLOB {'RSA1', BitLength, cbPublicExp, cbModulus, cbPrime1, cbPrime2} exponent modulus */
static EVP_PKEY *rsa1_blob(const uint8_t *d, size_t n)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *ctx;
	OSSL_PARAM params[3];
	uint32_t el, ml;
	uint8_t *le;

	if (n < 24 || le32(d) != 0x31415352)
		return NULL;
	el = le32(d + 8);
	ml = le32(d + 12);
	if (el == 0 || el > 8 || ml == 0 || ml > 1024 || 24u + el + ml > n)
		return NULL;
	/* OSSL_PARAM integers are native-endian: build them little-endian from the big-endian blob */
	le = malloc(el + ml);
	if (!le)
		return NULL;
	for (uint32_t i = 0; i < el; i++)
		le[i] = d[24 + el - 1 - i];
	for (uint32_t i = 0; i < ml; i++)
		le[el + i] = d[24 + el + ml - 1 - i];
	params[0] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, le + el, ml);
	params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, le, el);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	free(le);
	return k;
}

static EVP_PKEY *read_key(const void *pem, size_t len)
{
	BIO *bio;
	EVP_PKEY *k = NULL;

	if (!len || len > (1u << 20))
		return NULL;
	if ((k = rsa1_blob(pem, len)))
		return k;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return NULL;
	k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (!k) {
		const unsigned char *p = pem;
		k = d2i_PUBKEY(NULL, &p, (long)len);
	}
	BIO_free(bio);
	return k;
}

/* 1: good, 0: bad. TPMT_SIGNATURE (TPM 2.0) or a bare RSA PKCS#1 v1.5 signature. */
static int verify_sig(EVP_PKEY *k, const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen,
		      uint16_t default_hash, char *how, size_t howlen)
{
	struct be b = { sig, siglen, 0, false };
	uint16_t sigalg = be16(&b), hash = be16(&b);
	const uint8_t *s = NULL;
	uint8_t *der = NULL;
	size_t slen = 0;
	int pss = 0, ok = 0;

	if (!b.bad && (sigalg == 0x0014 || sigalg == 0x0016) && evp_for(hash)) {   /* RSASSA, RSAPSS */
		s = be2b(&b, &slen);
		pss = sigalg == 0x0016;
	} else if (!b.bad && sigalg == 0x0018 && evp_for(hash)) {                   /* ECDSA: r, s */
		size_t rl, sl;
		const uint8_t *rr = be2b(&b, &rl), *ss = be2b(&b, &sl);
		if (rr && ss) {
			ECDSA_SIG *es = ECDSA_SIG_new();
			BIGNUM *br = BN_bin2bn(rr, (int)rl, NULL), *bs = BN_bin2bn(ss, (int)sl, NULL);
			if (es && br && bs && ECDSA_SIG_set0(es, br, bs)) {
				br = bs = NULL;
				int dl = i2d_ECDSA_SIG(es, &der);
				if (dl > 0) {
					s = der;
					slen = (size_t)dl;
				}
			}
			BN_free(br);
			BN_free(bs);
			ECDSA_SIG_free(es);
		}
	}
	if (!s) {
		s = sig;
		slen = siglen;
		hash = default_hash;
		snprintf(how, howlen, "RSA PKCS#1 v1.5, %s", bd_hash_alg_name(hash) ? bd_hash_alg_name(hash) : "?");
	} else {
		snprintf(how, howlen, "%s, %s", sigalg == 0x0018 ? "ECDSA" : pss ? "RSA-PSS" : "RSA PKCS#1 v1.5",
			 bd_hash_alg_name(hash) ? bd_hash_alg_name(hash) : "?");
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	if (ctx && EVP_DigestVerifyInit(ctx, &pctx, evp_for(hash), NULL, k) == 1) {
		if (pss)
			EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		ok = EVP_DigestVerify(ctx, s, slen, msg, msglen) == 1;
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return ok;
}

/* Does the log's AIKPUBDIGEST name this key? Compared with SHA-1 of the key's usual encodings. */
static int aik_digest_matches(EVP_PKEY *k, const uint8_t *want, size_t wlen)
{
	uint8_t h[32];
	unsigned char *der = NULL;
	int dl, ok = 0;

	if (!want || wlen != 20)
		return -1;
	dl = i2d_PUBKEY(k, &der);
	if (dl > 0 && !ev_hash(BD_ALG_SHA1, der, (size_t)dl, h, NULL) && !memcmp(h, want, 20))
		ok = 1;
	OPENSSL_free(der);
	BIGNUM *n = NULL;
	if (!ok && EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) == 1) {
		size_t nl = (size_t)BN_num_bytes(n);
		uint8_t *m = malloc(nl);
		if (m) {
			BN_bn2bin(n, m);
			ok = !ev_hash(BD_ALG_SHA1, m, nl, h, NULL) && !memcmp(h, want, 20);
			free(m);
		}
	}
	BN_free(n);
	return ok;
}

/* ---- the check ---- */

int bd_eventlog_quote(const bd_eventlog *log, const void *aik, size_t aik_len, struct bd_quote_check *out)
{
	struct bd_eventlog_info in;
	struct bd_event e;
	struct bd_trustpoint tp;
	int r;

	memset(out, 0, sizeof(*out));
	out->matches = out->signature = out->aik_digest_matches = -1;
	bd_eventlog_info(log, &in);
	if (in.trust_point < 0)
		return 0;
	bd_eventlog_event(log, (size_t)in.trust_point, &e);
	out->present = 1;
	out->index = (size_t)in.trust_point;
	out->offset = e.offset;
	if ((r = bd_trustpoint_parse(e.data, e.data_len, &tp))) {
		snprintf(out->detail, sizeof(out->detail), "%s", bd_last_error());
		out->present = 0;
		return 0;
	}
	if (tp.aik_id) {
		bd_utf16le_to_utf8(tp.aik_id, tp.aik_id_len, out->aik_name, sizeof(out->aik_name));
		ev_sanitize(out->aik_name);
	}
	if (tp.aik_digest && tp.aik_digest_len == 20) {
		memcpy(out->aik_digest, tp.aik_digest, 20);
		out->has_aik_digest = 1;
	}
	if (bd_quote_parse(tp.quote, tp.quote_len, &out->quote)) {
		snprintf(out->detail, sizeof(out->detail), "the quote does not parse: %s", bd_last_error());
		return 0;
	}
	if (out->quote.selection_unknown) {
		snprintf(out->detail, sizeof(out->detail), "a TPM 1.2 TPM_QUOTE_INFO names no PCR selection: the PCR "
			 "digest cannot be recomputed");
	} else if (quote_digest(log, (size_t)in.trust_point, &out->quote, out->replay_digest)) {
		snprintf(out->detail, sizeof(out->detail), "cannot replay the quoted bank: %s", bd_last_error());
	} else {
		out->matches = !memcmp(out->replay_digest, out->quote.pcr_digest, out->quote.digest_len);
	}
	/* the AIK: given by the caller (PEM or DER public key), or carried by the record */
	EVP_PKEY *k = NULL;
	if (aik && aik_len)
		k = read_key(aik, aik_len);
	else if (tp.aik_pub)
		k = read_key(tp.aik_pub, tp.aik_pub_len);
	if (aik && aik_len && !k) {
		snprintf(out->detail, sizeof(out->detail), "the AIK given is not a PEM or DER public key");
		return 0;
	}
	if (k) {
		out->aik_digest_matches = aik_digest_matches(k, tp.aik_digest, tp.aik_digest_len);
		if (tp.signature)
			out->signature = verify_sig(k, tp.quote, out->quote.signed_len, tp.signature, tp.signature_len,
						    out->quote.tpm_version == 1 ? BD_ALG_SHA1 : BD_ALG_SHA256,
						    out->signature_scheme, sizeof(out->signature_scheme));
		EVP_PKEY_free(k);
	}
	return 0;
}
