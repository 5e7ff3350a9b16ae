/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PE/COFF images (UEFI boot managers, shims, loaders): the Authenticode hash
 * the firmware measures into PCR 4 and checks against db/dbx, and the
 * signatures in the certificate table (Microsoft PE/COFF specification,
 * "Calculating the PE Image Hash"; UEFI 2.10 §32.5). The PE headers and the
 * certificate table are parsed here through the bounded cursor; the PKCS#7
 * signatures and certificates with OpenSSL.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "internal.h"
#include "eventlog.h"

#define PE_MAX_SECTIONS 96

struct section {
	uint32_t ptr, size;
};

struct pe {
	size_t checksum_off;     /* OptionalHeader.CheckSum */
	size_t certdir_off;      /* DataDirectory[4] (certificate table) */
	size_t headers;          /* SizeOfHeaders */
	uint32_t cert_off, cert_size;
	struct section sec[PE_MAX_SECTIONS];
	size_t n_sec;
};

static int cmp_sec(const void *a, const void *b)
{
	const struct section *x = a, *y = b;

	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

static int pe_parse(const uint8_t *d, size_t n, struct pe *pe)
{
	struct bd_cursor c = bd_cursor(d, n);
	uint32_t pe_off, ndirs, headers;
	uint16_t nsec, optsize, magic;
	size_t opt, secs;

	memset(pe, 0, sizeof(*pe));
	if (n < 64 || d[0] != 'M' || d[1] != 'Z')
		return bd_err(BD_ERR_CORRUPT, "not a PE/EFI image: no MZ header");
	pe_off = le32(d + 0x3c);
	if (pe_off > n - 24 || memcmp(d + pe_off, "PE\0\0", 4))
		return bd_err(BD_ERR_CORRUPT, "not a PE/EFI image: no PE signature at offset %u", pe_off);
	c.pos = pe_off + 4;
	cur_u16(&c);                       /* Machine */
	nsec = cur_u16(&c);
	cur_bytes(&c, 12);
	optsize = cur_u16(&c);
	cur_u16(&c);                       /* Characteristics */
	opt = c.pos;
	magic = cur_u16(&c);
	if (c.bad || (magic != 0x10b && magic != 0x20b))
		return bd_err(BD_ERR_CORRUPT, "PE optional header at offset %zu has magic 0x%x (PE32 0x10b or PE32+ "
			      "0x20b expected)", opt, magic);
	/* SizeOfHeaders at 60, CheckSum at 64; NumberOfRvaAndSizes at 92 (PE32) / 108 (PE32+) */
	if (optsize < (magic == 0x10b ? 96 : 112) || opt + optsize > n)
		return bd_err(BD_ERR_CORRUPT, "PE optional header of %u bytes at offset %zu is too short", optsize, opt);
	headers = le32(d + opt + 60);
	pe->checksum_off = opt + 64;
	ndirs = le32(d + opt + (magic == 0x10b ? 92 : 108));
	pe->certdir_off = opt + (magic == 0x10b ? 128 : 144);
	if (ndirs < 5 || pe->certdir_off + 8 > opt + optsize) {
		pe->certdir_off = 0;   /* no certificate table entry: unsigned, and nothing to skip */
	} else {
		pe->cert_off = le32(d + pe->certdir_off);
		pe->cert_size = le32(d + pe->certdir_off + 4);
	}
	if (headers > n || headers < opt + optsize)
		return bd_err(BD_ERR_CORRUPT, "PE SizeOfHeaders %u does not fit the %zu-byte image", headers, n);
	pe->headers = headers;
	secs = opt + optsize;
	if (nsec > PE_MAX_SECTIONS || secs + (size_t)nsec * 40 > n)
		return bd_err(BD_ERR_CORRUPT, "PE section table (%u sections) runs past the image", nsec);
	for (uint16_t i = 0; i < nsec; i++) {
		const uint8_t *s = d + secs + (size_t)i * 40;
		uint32_t size = le32(s + 16), ptr = le32(s + 20);
		if (!size)
			continue;
		if ((uint64_t)ptr + size > n)
			return bd_err(BD_ERR_CORRUPT, "PE section %u (%u bytes at offset %u) runs past the %zu-byte image",
				      i, size, ptr, n);
		pe->sec[pe->n_sec++] = (struct section){ ptr, size };
	}
	qsort(pe->sec, pe->n_sec, sizeof(pe->sec[0]), cmp_sec);
	if (pe->cert_size && ((uint64_t)pe->cert_off + pe->cert_size > n || pe->cert_off < headers))
		return bd_err(BD_ERR_CORRUPT, "PE certificate table (%u bytes at offset %u) runs past the image",
			      pe->cert_size, pe->cert_off);
	return 0;
}

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

int bd_authenticode_hash(const void *image, size_t n, uint16_t alg, uint8_t *out, size_t *outlen)
{
	const uint8_t *d = image;
	const EVP_MD *md = evp_for(alg);
	struct pe pe;
	EVP_MD_CTX *ctx;
	size_t sum;
	int r, ok;

	if (!md)
		return bd_err(BD_ERR_UNSUPPORTED, "digest algorithm 0x%04x is not available", alg);
	if ((r = pe_parse(d, n, &pe)))
		return r;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	ok = EVP_DigestInit_ex(ctx, md, NULL);
	/* headers without the checksum and the certificate table entry */
	if (pe.certdir_off) {
		ok = ok && EVP_DigestUpdate(ctx, d, pe.checksum_off) &&
		     EVP_DigestUpdate(ctx, d + pe.checksum_off + 4, pe.certdir_off - pe.checksum_off - 4) &&
		     EVP_DigestUpdate(ctx, d + pe.certdir_off + 8, pe.headers - pe.certdir_off - 8);
	} else {
		ok = ok && EVP_DigestUpdate(ctx, d, pe.checksum_off) &&
		     EVP_DigestUpdate(ctx, d + pe.checksum_off + 4, pe.headers - pe.checksum_off - 4);
	}
	sum = pe.headers;
	/* sections in file order */
	for (size_t i = 0; i < pe.n_sec && ok; i++) {
		ok = EVP_DigestUpdate(ctx, d + pe.sec[i].ptr, pe.sec[i].size);
		if ((size_t)pe.sec[i].ptr + pe.sec[i].size > sum)
			sum = (size_t)pe.sec[i].ptr + pe.sec[i].size;
	}
	/* whatever follows the sections, less the certificate table */
	size_t end = n;
	if (pe.cert_size && pe.cert_off >= sum && (size_t)pe.cert_off + pe.cert_size <= n)
		end = n - pe.cert_size;
	if (ok && end > sum)
		ok = EVP_DigestUpdate(ctx, d + sum, end - sum);
	unsigned int len = 0;
	ok = ok && EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return bd_err(BD_ERR_NOMEM, "hashing failed in OpenSSL");
	if (outlen)
		*outlen = len;
	return 0;
}

/* ---- signatures ---- */

/* The SpcIndirectDataContent of an Authenticode signature: its digest algorithm and digest. */
static int spc_digest(PKCS7 *p7, uint16_t *alg, uint8_t *digest, size_t *dlen, const uint8_t **content, size_t *clen)
{
	ASN1_TYPE *t;
	STACK_OF(ASN1_TYPE) *outer = NULL, *di = NULL, *ai = NULL;
	const unsigned char *p;
	int ok = -1;

	if (!PKCS7_type_is_signed(p7) || !p7->d.sign->contents)
		return -1;
	t = p7->d.sign->contents->d.other;
	if (!t || t->type != V_ASN1_SEQUENCE)
		return -1;
	p = t->value.sequence->data;
	*content = p;
	*clen = (size_t)t->value.sequence->length;
	outer = d2i_ASN1_SEQUENCE_ANY(NULL, &p, t->value.sequence->length);
	if (!outer || sk_ASN1_TYPE_num(outer) < 2)
		goto out;
	ASN1_TYPE *dig = sk_ASN1_TYPE_value(outer, 1);
	if (dig->type != V_ASN1_SEQUENCE)
		goto out;
	p = dig->value.sequence->data;
	di = d2i_ASN1_SEQUENCE_ANY(NULL, &p, dig->value.sequence->length);
	if (!di || sk_ASN1_TYPE_num(di) < 2)
		goto out;
	ASN1_TYPE *algid = sk_ASN1_TYPE_value(di, 0), *oct = sk_ASN1_TYPE_value(di, 1);
	if (algid->type != V_ASN1_SEQUENCE || oct->type != V_ASN1_OCTET_STRING)
		goto out;
	p = algid->value.sequence->data;
	ai = d2i_ASN1_SEQUENCE_ANY(NULL, &p, algid->value.sequence->length);
	if (!ai || sk_ASN1_TYPE_num(ai) < 1 || sk_ASN1_TYPE_value(ai, 0)->type != V_ASN1_OBJECT)
		goto out;
	switch (OBJ_obj2nid(sk_ASN1_TYPE_value(ai, 0)->value.object)) {
	case NID_sha1: *alg = BD_ALG_SHA1; break;
	case NID_sha256: *alg = BD_ALG_SHA256; break;
	case NID_sha384: *alg = BD_ALG_SHA384; break;
	case NID_sha512: *alg = BD_ALG_SHA512; break;
	default: goto out;
	}
	if (oct->value.octet_string->length > 64)
		goto out;
	*dlen = (size_t)oct->value.octet_string->length;
	memcpy(digest, oct->value.octet_string->data, *dlen);
	ok = 0;
out:
	sk_ASN1_TYPE_pop_free(outer, ASN1_TYPE_free);
	sk_ASN1_TYPE_pop_free(di, ASN1_TYPE_free);
	sk_ASN1_TYPE_pop_free(ai, ASN1_TYPE_free);
	return ok;
}

/* The value octets of a DER element (the signed content excludes its tag and length). */
static bool der_value(const uint8_t *p, size_t n, const uint8_t **v, size_t *vlen)
{
	size_t len, hl;

	if (n < 2)
		return false;
	if (p[1] < 0x80) {
		len = p[1];
		hl = 2;
	} else {
		size_t k = p[1] & 0x7f;
		if (k == 0 || k > 4 || n < 2 + k)
			return false;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		hl = 2 + k;
	}
	if (len > n - hl)
		return false;
	*v = p + hl;
	*vlen = len;
	return true;
}

/* Does the signature chain to this certificate (the db entry as trust anchor)? */
static bool chains_to(PKCS7 *p7, X509 *signer, X509 *anchor)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = false;

	if (store && ctx && X509_STORE_add_cert(store, anchor) == 1 &&
	    X509_STORE_CTX_init(ctx, store, signer, p7->d.sign->cert) == 1) {
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

struct dbctx {
	PKCS7 *p7;
	X509 *signer;
	struct bd_pe_signature *out;
	size_t k;
};

static int try_db_cert(void *ctx, const struct ev_sig *s)
{
	struct dbctx *x = ctx;
	const unsigned char *p = s->data;
	X509 *c;

	x->k++;
	if (!s->type_name || strcmp(s->type_name, "x509") || s->len > (1u << 20))
		return 0;
	c = d2i_X509(NULL, &p, (long)s->len);
	if (!c)
		return 0;
	if (chains_to(x->p7, x->signer, c)) {
		x->out->db_index = (long)x->k - 1;
		x->out->db_offset = s->offset;
		ev_x509_name(s->data, s->len, 1, x->out->db_subject, sizeof(x->out->db_subject));
		x->out->db_entry = s->owner;
		x->out->db_entry_len = 16 + s->len;
	}
	X509_free(c);
	return x->out->db_index >= 0;
}

int bd_pe_signatures(const void *image, size_t n, const void *db, size_t db_len, struct bd_pe_signature *out,
		     size_t max, size_t *count)
{
	const uint8_t *d = image;
	struct pe pe;
	int r;

	*count = 0;
	if ((r = pe_parse(d, n, &pe)))
		return r;
	if (!pe.cert_size)
		return 0;
	struct bd_cursor c = bd_cursor(d + pe.cert_off, pe.cert_size);
	while (cur_left(&c) >= 8 && *count < max) {
		size_t at = c.pos;
		uint32_t len = cur_u32(&c);
		uint16_t rev = cur_u16(&c), type = cur_u16(&c);
		struct bd_pe_signature *s = &out[*count];
		if (len < 8 || len - 8 > cur_left(&c))
			return bd_err(BD_ERR_CORRUPT, "PE certificate table entry at offset %zu claims %u bytes, %zu remain",
				      pe.cert_off + at, len, cur_left(&c) + 8);
		const uint8_t *der = cur_bytes(&c, len - 8);
		/* entries are 8-byte aligned */
		size_t pad = (8 - len % 8) % 8;
		cur_bytes(&c, MIN(pad, cur_left(&c)));
		if (rev != 0x0200 || type != 0x0002)
			continue;   /* not WIN_CERT_TYPE_PKCS_SIGNED_DATA */
		memset(s, 0, sizeof(*s));
		s->db_index = -1;
		s->offset = pe.cert_off + at;
		const unsigned char *p = der;
		PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)(len - 8));
		if (!p7) {
			snprintf(s->problem, sizeof(s->problem), "the signature is not PKCS#7 SignedData");
			(*count)++;
			continue;
		}
		const uint8_t *content = NULL, *val;
		size_t clen = 0, vlen;
		uint8_t h[64];
		if (spc_digest(p7, &s->digest_alg, s->digest, &s->digest_len, &content, &clen)) {
			snprintf(s->problem, sizeof(s->problem), "no Authenticode (SpcIndirectDataContent) digest");
		} else if (bd_authenticode_hash(image, n, s->digest_alg, h, NULL) == 0) {
			s->digest_matches = !memcmp(h, s->digest, s->digest_len);
		}
		STACK_OF(X509) *signers = PKCS7_get0_signers(p7, NULL, 0);
		X509 *signer = signers && sk_X509_num(signers) ? sk_X509_value(signers, 0) : NULL;
		if (signer) {
			char name[256];
			X509_NAME_oneline(X509_get_subject_name(signer), name, sizeof(name));
			snprintf(s->signer, sizeof(s->signer), "%s", name);
			X509_NAME_oneline(X509_get_issuer_name(signer), name, sizeof(name));
			snprintf(s->issuer, sizeof(s->issuer), "%s", name);
			ev_sanitize(s->signer);
			ev_sanitize(s->issuer);
			/* the signature over the content, with the signer's own key (the chain comes next) */
			if (!s->problem[0] && content && der_value(content, clen, &val, &vlen)) {
				/* behind a null filter: PKCS7_verify copies a memory BIO and leaks the copy on
				 * some error paths (OpenSSL 3.0) */
				BIO *mem = BIO_new_mem_buf(val, (int)vlen), *bio = mem ? BIO_new(BIO_f_null()) : NULL;
				if (bio) {
					BIO_push(bio, mem);
					s->signature_valid = PKCS7_verify(p7, NULL, NULL, bio, NULL,
									  PKCS7_BINARY | PKCS7_NOVERIFY | PKCS7_NOCHAIN) == 1;
					BIO_free_all(bio);
				} else {
					BIO_free(mem);
				}
			}
			if (db && db_len) {
				struct dbctx x = { p7, signer, s, 0 };
				ev_siglist_walk(db, db_len, try_db_cert, &x);
			}
		} else {
			snprintf(s->problem, sizeof(s->problem), "the signature names no signer certificate");
		}
		sk_X509_free(signers);
		PKCS7_free(p7);
		(*count)++;
	}
	return 0;
}
