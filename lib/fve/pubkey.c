/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RSA keys and certificates for public-key protectors, through OpenSSL libcrypto 3:
 * private keys from PEM/DER files (PKCS#8 encrypted or not, PKCS#1) and PKCS#12 files (tokens:
 * pkcs11.c), RSA decryption with each candidate padding, certificate thumbprint and usage checks.
 * Nothing here prompts or prints; passwords and PINs come from the caller.
 */
#define OPENSSL_SUPPRESS_DEPRECATED   /* RSA_padding_check_*: no non-deprecated way to unpad a raw block */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pubkey.h"

#define MAX_KEY_FILE (1u << 20)

/* ---- small helpers ---- */

/* Read a whole (small) file; *buf is malloc()ed. */
static int slurp(const char *path, const char *what, uint8_t **buf, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	*buf = NULL;
	if (fd < 0)
		return bd_err(BD_ERR_IO, "cannot open %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > MAX_KEY_FILE) {
		close(fd);
		return bd_err(BD_ERR_INVALID, "%s %s is not a regular file of 1 byte to 1 MiB", what, path);
	}
	*buf = malloc((size_t)st.st_size);
	if (!*buf) {
		close(fd);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	n = read(fd, *buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(*buf);
		*buf = NULL;
		return bd_err(BD_ERR_IO, "cannot read %s %s", what, path);
	}
	*len = (size_t)n;
	return 0;
}

static void unslurp(uint8_t *buf, size_t len)
{
	if (buf)
		bd_wipe(buf, len);
	free(buf);
}

static int is_pem(const uint8_t *p, size_t len)
{
	return memmem(p, len, "-----BEGIN ", 11) != NULL;
}

/* The most specific OpenSSL reason in the queue (for messages); clears the queue. */
static void ossl_reason(char *out, size_t outlen)
{
	unsigned long e, last = 0;

	while ((e = ERR_get_error()))
		last = e;
	if (!last) {
		snprintf(out, outlen, "no detail from OpenSSL");
		return;
	}
	const char *r = ERR_reason_error_string(last);
	snprintf(out, outlen, "%s", r ? r : "unknown OpenSSL error");
}

static const char *type_name(const EVP_PKEY *pkey)
{
	const char *n = EVP_PKEY_get0_type_name(pkey);

	return n ? n : "of another type";
}

/* ---- RSA public keys ---- */

static int bn_to_be(const BIGNUM *bn, uint8_t *out, size_t max, size_t *len)
{
	int n = BN_num_bytes(bn);

	if (n <= 0 || (size_t)n > max)
		return BD_ERR_UNSUPPORTED;
	*len = (size_t)BN_bn2bin(bn, out);
	return 0;
}

static void strip_zeros(const uint8_t **p, size_t *len)
{
	while (*len > 1 && !**p) {
		(*p)++;
		(*len)--;
	}
}

static unsigned bit_length(const uint8_t *n, size_t len)
{
	unsigned bits;
	uint8_t top;

	if (!len || !n[0])
		return len ? (unsigned)(len - 1) * 8 : 0;
	bits = (unsigned)len * 8;
	for (top = n[0]; !(top & 0x80); top <<= 1)
		bits--;
	return bits;
}

int bd_rsa_pub_set(struct bd_rsa_pub *k, const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen)
{
	memset(k, 0, sizeof(*k));
	strip_zeros(&n, &nlen);
	strip_zeros(&e, &elen);
	if (!nlen || !n[0] || nlen > sizeof(k->n))
		return bd_err(BD_ERR_UNSUPPORTED, "RSA modulus of %zu bytes: bdkit handles 1 to %u", nlen,
			      BD_RSA_MAX_BYTES);
	if (!elen || !e[0] || elen > sizeof(k->e))
		return bd_err(BD_ERR_UNSUPPORTED, "RSA public exponent of %zu bytes: bdkit handles up to 8", elen);
	memcpy(k->n, n, nlen);
	k->nlen = nlen;
	memcpy(k->e, e, elen);
	k->elen = elen;
	k->bits = bit_length(n, nlen);
	return 0;
}

int bd_rsa_pub_equal(const struct bd_rsa_pub *a, const struct bd_rsa_pub *b)
{
	return a->nlen == b->nlen && a->elen == b->elen && !memcmp(a->n, b->n, a->nlen) &&
	       !memcmp(a->e, b->e, a->elen);
}

uint64_t bd_rsa_pub_exponent(const struct bd_rsa_pub *k)
{
	uint64_t v = 0;

	for (size_t i = 0; i < k->elen && i < 8; i++)
		v = v << 8 | k->e[i];
	return v;
}

/* An EVP_PKEY for the public key (to encrypt, to encode). */
static EVP_PKEY *rsa_pub_pkey(const struct bd_rsa_pub *k)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n = BN_bin2bn(k->n, (int)k->nlen, NULL), *e = BN_bin2bn(k->e, (int)k->elen, NULL);
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (!bld || !n || !e || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) || !(params = OSSL_PARAM_BLD_to_param(bld)))
		goto out;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	ERR_clear_error();
	return pkey;
}

/* The RSA public key of an EVP_PKEY (file or PKCS#12 key, certificate). */
static int pkey_rsa_pub(const EVP_PKEY *pkey, struct bd_rsa_pub *out)
{
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[BD_RSA_MAX_BYTES], eb[64];
	size_t nl = 0, el = 0;
	int r;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
		return bd_err(BD_ERR_UNSUPPORTED, "the key is %s, not RSA: BitLocker public-key protectors use RSA",
			      type_name(pkey));
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
		BN_free(n);
		ERR_clear_error();
		return bd_err(BD_ERR_UNSUPPORTED, "cannot read the RSA public key");
	}
	r = bn_to_be(n, nb, sizeof(nb), &nl) || bn_to_be(e, eb, sizeof(eb), &el);
	BN_free(n);
	BN_free(e);
	if (r)
		return bd_err(BD_ERR_UNSUPPORTED, "RSA key larger than %u bits", BD_RSA_MAX_BYTES * 8);
	return bd_rsa_pub_set(out, nb, nl, eb, el);
}

int bd_rsa_pub_key_id(const struct bd_rsa_pub *k, uint8_t sha1[20])
{
	EVP_PKEY *pkey = rsa_pub_pkey(k);
	unsigned char *der = NULL;
	unsigned int mdlen = 20;
	int len, r = BD_ERR_NOMEM;

	if (!pkey)
		return bd_err(BD_ERR_NOMEM, "cannot make an RSA key object");
	len = i2d_PublicKey(pkey, &der);             /* RSA: the PKCS#1 RSAPublicKey */
	if (len > 0 && EVP_Digest(der, (size_t)len, sha1, &mdlen, EVP_sha1(), NULL))
		r = 0;
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return r;
}

int bd_rsa_pub_from_cng(const uint8_t *blob, size_t len, struct bd_rsa_pub *out)
{
	struct bd_cursor c = bd_cursor(blob, len);
	uint32_t magic = cur_u32(&c), bits = cur_u32(&c), cbe = cur_u32(&c), cbn = cur_u32(&c);
	uint32_t cp1 = cur_u32(&c), cp2 = cur_u32(&c);
	const uint8_t *e = cur_bytes(&c, cbe), *n = cur_bytes(&c, cbn);
	int r;

	if (c.bad && len >= 24)
		return bd_err(BD_ERR_CORRUPT, "RSA key blob: exponent (%u) and modulus (%u bytes) run past its "
			      "%zu bytes", cbe, cbn, len);
	if (c.bad || magic != BD_CNG_RSA1)
		return bd_err(BD_ERR_CORRUPT, "not a CNG RSA public key blob (%zu bytes, magic 0x%08x)", len, magic);
	if (cp1 || cp2)
		return bd_err(BD_ERR_CORRUPT, "RSA key blob claims primes (%u, %u bytes) in a public key", cp1, cp2);
	r = bd_rsa_pub_set(out, n, cbn, e, cbe);
	if (r)
		return r == BD_ERR_UNSUPPORTED ? bd_err(BD_ERR_CORRUPT, "RSA key blob: %s", bd_last_error()) : r;
	if (out->bits != bits)
		return bd_err(BD_ERR_CORRUPT, "RSA key blob says %u bits, its modulus has %u", bits, out->bits);
	return 0;
}

long bd_rsa_pub_to_cng(const struct bd_rsa_pub *k, uint8_t *out, size_t outlen)
{
	size_t need = 24 + k->elen + k->nlen;

	if (outlen < need)
		return bd_err(BD_ERR_INVALID, "CNG key blob needs %zu bytes", need);
	put_le32(out, BD_CNG_RSA1);
	put_le32(out + 4, k->bits);
	put_le32(out + 8, (uint32_t)k->elen);
	put_le32(out + 12, (uint32_t)k->nlen);
	put_le32(out + 16, 0);
	put_le32(out + 20, 0);
	memcpy(out + 24, k->e, k->elen);
	memcpy(out + 24 + k->elen, k->n, k->nlen);
	return (long)need;
}

const char *bd_rsa_padding_name(int padding)
{
	switch (padding) {
	case BD_PAD_PKCS1: return "PKCS#1 v1.5";
	case BD_PAD_OAEP_SHA1: return "OAEP SHA-1";
	case BD_PAD_OAEP_SHA256: return "OAEP SHA-256";
	}
	return "unknown";
}

static int set_padding(EVP_PKEY_CTX *ctx, int padding)
{
	const EVP_MD *md = padding == BD_PAD_OAEP_SHA256 ? EVP_sha256() : EVP_sha1();

	switch (padding) {
	case BD_PAD_PKCS1:
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
			return -1;
		/* OpenSSL 3.2+ would return a random message instead of an error; the CCM tag catches
		 * that too, but an error is clearer. Unknown to 3.0: ignored. */
		(void)EVP_PKEY_CTX_ctrl_str(ctx, "rsa_pkcs1_implicit_rejection", "0");
		ERR_clear_error();
		return 0;
	case BD_PAD_OAEP_SHA1:
	case BD_PAD_OAEP_SHA256:
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0)
			return -1;
		return 0;
	}
	return -1;
}

int bd_rsa_unpad(int padding, const uint8_t *em, size_t k, uint8_t *out, size_t *outlen)
{
	int n = -1;

	if (k < 11 || k > BD_RSA_MAX_BYTES || *outlen > 0x7FFFFFFF)
		return bd_err(BD_ERR_INVALID, "RSA block of %zu bytes", k);
	if (padding == BD_PAD_PKCS1)
		n = em[0] ? -1 : RSA_padding_check_PKCS1_type_2(out, (int)*outlen, em + 1, (int)k - 1, (int)k);
	else if (padding == BD_PAD_OAEP_SHA1 || padding == BD_PAD_OAEP_SHA256) {
		const EVP_MD *md = padding == BD_PAD_OAEP_SHA256 ? EVP_sha256() : EVP_sha1();
		n = RSA_padding_check_PKCS1_OAEP_mgf1(out, (int)*outlen, em, (int)k, (int)k, NULL, 0, md, md);
	}
	ERR_clear_error();
	if (n < 0)
		return bd_err(BD_ERR_WRONG_KEY, "RSA %s padding does not check", bd_rsa_padding_name(padding));
	*outlen = (size_t)n;
	return 0;
}

int bd_rsa_encrypt(const struct bd_rsa_pub *k, int padding, const uint8_t *pt, size_t ptlen, uint8_t *ct,
		   size_t *ctlen)
{
	EVP_PKEY *pkey = rsa_pub_pkey(k);
	EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new(pkey, NULL) : NULL;
	size_t out = *ctlen;
	int r = 0;

	if (!ctx || EVP_PKEY_encrypt_init(ctx) <= 0 || set_padding(ctx, padding))
		r = bd_err(BD_ERR_INVALID, "cannot set up RSA %s encryption", bd_rsa_padding_name(padding));
	else if (out < k->nlen)
		r = bd_err(BD_ERR_INVALID, "RSA output needs %zu bytes", k->nlen);
	else if (EVP_PKEY_encrypt(ctx, ct, &out, pt, ptlen) <= 0)
		r = bd_err(BD_ERR_INVALID, "RSA %s encryption of %zu bytes failed (too long for a %u-bit key?)",
			   bd_rsa_padding_name(padding), ptlen, k->bits);
	else
		*ctlen = out;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return r;
}

/* ---- private keys ---- */

struct bd_privkey {
	int source;
	EVP_PKEY *pkey;          /* files */
	X509 *cert;
	struct bd_p11 *p11;      /* tokens */
};

struct pw_ctx {
	const char *pw;
	int asked;
};

static int pem_pw_cb(char *buf, int size, int rwflag, void *u)
{
	struct pw_ctx *p = u;
	size_t n;

	p->asked = 1;
	if (!p->pw)
		return -1;
	n = strlen(p->pw);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, p->pw, n);
	return (int)n;
}

static int decoder_pw_cb(char *pass, size_t pass_size, size_t *pass_len, const OSSL_PARAM params[], void *arg)
{
	int n = pem_pw_cb(pass, (int)MIN(pass_size, (size_t)0x7FFFFFFF), 0, arg);

	if (n < 0)
		return 0;
	*pass_len = (size_t)n;
	return 1;
}

static struct bd_privkey *privkey_new(int source)
{
	struct bd_privkey *k = calloc(1, sizeof(*k));

	if (k)
		k->source = source;
	return k;
}

void bd_privkey_free(struct bd_privkey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	X509_free(k->cert);
	bd_p11_close(k->p11);
	free(k);
}

int bd_privkey_source(const struct bd_privkey *k)
{
	return k->source;
}

int bd_privkey_public(const struct bd_privkey *k, struct bd_rsa_pub *out)
{
	return k->p11 ? bd_p11_public(k->p11, out) : pkey_rsa_pub(k->pkey, out);
}

int bd_privkey_cert_thumbprint(const struct bd_privkey *k, uint8_t sha1[20])
{
	unsigned int n = 20;

	if (k->p11)
		return bd_p11_cert_thumbprint(k->p11, sha1);
	return k->cert && X509_digest(k->cert, EVP_sha1(), sha1, &n) && n == 20;
}

/* Keep cert only if its public key is the private key's. */
static void attach_cert(struct bd_privkey *k, X509 *cert)
{
	EVP_PKEY *pub = cert ? X509_get0_pubkey(cert) : NULL;

	if (pub && EVP_PKEY_eq(pub, k->pkey) == 1)
		k->cert = cert;
	else
		X509_free(cert);
	ERR_clear_error();
}

/* Why decoding a key failed, from what the password callback saw. */
static int key_fail(const char *path, const struct pw_ctx *pw, const char *kind)
{
	char why[160];

	ossl_reason(why, sizeof(why));
	if (pw->asked && !pw->pw)
		return bd_err(BD_ERR_NO_PROTECTOR, "the %s in %s is encrypted: give its password", kind, path);
	if (pw->asked)
		return bd_err(BD_ERR_WRONG_KEY, "wrong password for the %s in %s", kind, path);
	return bd_err(BD_ERR_INVALID, "%s holds no private key bdkit can read (PEM or DER; PKCS#8, encrypted or "
		      "not, or PKCS#1 RSA): %s", path, why);
}

static EVP_PKEY *decode_der_key(const uint8_t *buf, size_t len, struct pw_ctx *pw)
{
	EVP_PKEY *pkey = NULL;
	OSSL_DECODER_CTX *dc = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", NULL, NULL, EVP_PKEY_KEYPAIR, NULL, NULL);
	const unsigned char *p = buf;
	size_t left = len;

	if (!dc)
		return NULL;
	OSSL_DECODER_CTX_set_passphrase_cb(dc, decoder_pw_cb, pw);
	if (!OSSL_DECODER_from_data(dc, &p, &left)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	OSSL_DECODER_CTX_free(dc);
	return pkey;
}

static int is_pkcs12(const uint8_t *buf, size_t len)
{
	const unsigned char *p = buf;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);

	PKCS12_free(p12);
	ERR_clear_error();
	return p12 != NULL;
}

int bd_privkey_from_file(const char *path, const char *password, struct bd_privkey **out)
{
	struct pw_ctx pw = { password, 0 };
	struct bd_privkey *k;
	uint8_t *buf;
	size_t len;
	int r;

	*out = NULL;
	r = slurp(path, "key file", &buf, &len);
	if (r)
		return r;
	k = privkey_new(BD_KEY_SRC_FILE);
	if (!k) {
		unslurp(buf, len);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	ERR_clear_error();
	if (is_pem(buf, len)) {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);
		/* skips blocks that are not private keys (certificates in a bundle) */
		k->pkey = bio ? PEM_read_bio_PrivateKey_ex(bio, NULL, pem_pw_cb, &pw, NULL, NULL) : NULL;
		BIO_free(bio);
		if (k->pkey) {
			ERR_clear_error();
			bio = BIO_new_mem_buf(buf, (int)len);
			attach_cert(k, bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL);
			BIO_free(bio);
		}
	} else {
		k->pkey = decode_der_key(buf, len, &pw);
	}
	if (!k->pkey) {
		if (!is_pem(buf, len) && is_pkcs12(buf, len)) {
			ERR_clear_error();
			r = bd_err(BD_ERR_INVALID, "%s is a PKCS#12 file, not a key file: give it as PKCS#12", path);
		} else {
			r = key_fail(path, &pw, "key");
		}
		goto fail;
	}
	if (EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_RSA) {
		r = bd_err(BD_ERR_UNSUPPORTED, "the key in %s is %s, not RSA: BitLocker public-key protectors use RSA",
			   path, type_name(k->pkey));
		goto fail;
	}
	unslurp(buf, len);
	*out = k;
	return 0;
fail:
	unslurp(buf, len);
	bd_privkey_free(k);
	ERR_clear_error();
	return r;
}

int bd_privkey_from_pkcs12(const char *path, const char *password, struct bd_privkey **out)
{
	const unsigned char *p;
	struct bd_privkey *k = NULL;
	PKCS12 *p12;
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *ca = NULL;
	const char *pw = password;
	uint8_t *buf;
	size_t len;
	char why[160];
	int r;

	*out = NULL;
	r = slurp(path, "PKCS#12 file", &buf, &len);
	if (r)
		return r;
	p = buf;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	if (!p12) {
		ossl_reason(why, sizeof(why));
		r = bd_err(BD_ERR_INVALID, "%s is not a PKCS#12 (.pfx/.p12) file (DER): %s", path, why);
		goto out;
	}
	if (PKCS12_mac_present(p12)) {
		if (!pw) {
			/* exported without a password: the MAC uses the empty or the absent password */
			if (PKCS12_verify_mac(p12, "", 0))
				pw = "";
			else if (PKCS12_verify_mac(p12, NULL, 0))
				pw = NULL;
			else {
				r = bd_err(BD_ERR_NO_PROTECTOR, "the PKCS#12 file %s is protected by a password: give it",
					   path);
				goto out;
			}
		} else if (!PKCS12_verify_mac(p12, pw, -1)) {
			r = bd_err(BD_ERR_WRONG_KEY, "wrong password for the PKCS#12 file %s", path);
			goto out;
		}
	}
	if (!PKCS12_parse(p12, pw, &pkey, &cert, &ca)) {
		/* keys exported with RC2 or other legacy ciphers (old Windows exports) need the legacy provider */
		OSSL_PROVIDER *legacy = NULL;
		int ok = 0;

		ERR_clear_error();
		/* loaded for this parse only and unloaded after it: the key it yields lives in the default
		 * provider, and a provider left loaded is memory nobody frees */
		if (!OSSL_PROVIDER_available(NULL, "legacy") &&
		    (legacy = OSSL_PROVIDER_try_load(NULL, "legacy", 1)) != NULL)
			ok = PKCS12_parse(p12, pw, &pkey, &cert, &ca);
		if (!ok)
			ossl_reason(why, sizeof(why));
		if (legacy)
			OSSL_PROVIDER_unload(legacy);
		if (!ok) {
			r = bd_err(pw ? BD_ERR_INVALID : BD_ERR_NO_PROTECTOR, "cannot read the PKCS#12 file %s: %s%s",
				   path, why, pw ? "" : " (give its password)");
			goto out;
		}
	}
	sk_X509_pop_free(ca, X509_free);
	if (!pkey) {
		X509_free(cert);
		r = bd_err(BD_ERR_INVALID, "the PKCS#12 file %s holds no private key", path);
		goto out;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		r = bd_err(BD_ERR_UNSUPPORTED, "the key in %s is %s, not RSA: BitLocker public-key protectors use RSA",
			   path, type_name(pkey));
		EVP_PKEY_free(pkey);
		X509_free(cert);
		goto out;
	}
	k = privkey_new(BD_KEY_SRC_PKCS12);
	if (!k) {
		EVP_PKEY_free(pkey);
		X509_free(cert);
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	k->pkey = pkey;
	attach_cert(k, cert);
	*out = k;
	r = 0;
out:
	PKCS12_free(p12);
	unslurp(buf, len);
	ERR_clear_error();
	return r;
}

int bd_privkey_from_pkcs11(const char *uri, const char *pin, const char *module, struct bd_privkey **out)
{
	struct bd_privkey *k = privkey_new(BD_KEY_SRC_PKCS11);
	int r;

	*out = NULL;
	if (!k)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	r = bd_p11_open(uri, pin, module, &k->p11);
	if (r) {
		free(k);
		return r;
	}
	*out = k;
	return 0;
}

int bd_privkey_decrypt(struct bd_privkey *k, int padding, const uint8_t *ct, size_t ctlen, uint8_t *pt,
		       size_t *ptlen)
{
	EVP_PKEY_CTX *ctx;
	struct bd_secret *tmp = NULL;
	size_t n = 0;
	int r;

	if (k->p11)
		return bd_p11_decrypt(k->p11, padding, ct, ctlen, pt, ptlen);
	ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
	if (!ctx || EVP_PKEY_decrypt_init(ctx) <= 0 || set_padding(ctx, padding)) {
		r = bd_err(BD_ERR_WRONG_KEY, "the key cannot do RSA %s decryption", bd_rsa_padding_name(padding));
		goto out;
	}
	if (EVP_PKEY_decrypt(ctx, NULL, &n, ct, ctlen) <= 0 || !n || !(tmp = bd_secret_new(n))) {
		r = bd_err(BD_ERR_WRONG_KEY, "RSA %s decryption not possible", bd_rsa_padding_name(padding));
		goto out;
	}
	if (EVP_PKEY_decrypt(ctx, tmp->data, &n, ct, ctlen) <= 0) {
		r = bd_err(BD_ERR_WRONG_KEY, "RSA %s decryption failed", bd_rsa_padding_name(padding));
		goto out;
	}
	if (n > *ptlen) {
		r = bd_err(BD_ERR_INVALID, "RSA plaintext of %zu bytes does not fit %zu", n, *ptlen);
		goto out;
	}
	memcpy(pt, tmp->data, n);
	*ptlen = n;
	r = 0;
out:
	bd_secret_free(tmp);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* Is the big-endian number a below the big-endian number n of the same length? */
static int below(const uint8_t *a, const uint8_t *n, size_t len)
{
	return memcmp(a, n, len) < 0;
}

int bd_privkey_decrypt_try(struct bd_privkey *k, const uint8_t *ct, size_t ctlen,
			   int (*accept)(const uint8_t *pt, size_t len, void *ud), void *ud, int *padding,
			   int *reversed)
{
	static const int pads[] = { BD_PAD_PKCS1, BD_PAD_OAEP_SHA1, BD_PAD_OAEP_SHA256 };
	struct bd_secret *pt = NULL, *rev = NULL;
	struct bd_rsa_pub pub;
	int r;

	r = bd_privkey_public(k, &pub);
	if (r)
		return r;
	if (ctlen != pub.nlen)
		return bd_err(BD_ERR_WRONG_KEY, "the encrypted key is %zu bytes, the key's modulus %zu: not this key",
			      ctlen, pub.nlen);
	pt = bd_secret_new(ctlen);
	rev = bd_secret_dup(ct, ctlen);
	if (!pt || !rev) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ctlen / 2; i++) {
		uint8_t t = rev->data[i];
		rev->data[i] = rev->data[ctlen - 1 - i];
		rev->data[ctlen - 1 - i] = t;
	}
	r = BD_ERR_WRONG_KEY;
	for (int o = 0; o < 2 && r == BD_ERR_WRONG_KEY; o++) {
		const uint8_t *c = o ? rev->data : ct;
		if (!below(c, pub.n, ctlen) || (o && !memcmp(rev->data, ct, ctlen)))
			continue;    /* not a possible ciphertext for this key in that byte order */
		for (size_t i = 0; i < ARRAY_SIZE(pads) && r == BD_ERR_WRONG_KEY; i++) {
			size_t n = pt->len;
			if (bd_privkey_decrypt(k, pads[i], c, ctlen, pt->data, &n))
				continue;
			r = accept(pt->data, n, ud);
			bd_wipe(pt->data, pt->len);
			if (!r) {
				if (padding)
					*padding = pads[i];
				if (reversed)
					*reversed = o;
			}
		}
	}
	if (r == BD_ERR_WRONG_KEY)
		r = bd_err(BD_ERR_WRONG_KEY, "the private key does not decrypt the protector's key with PKCS#1 v1.5 "
			   "or OAEP (SHA-1, SHA-256)");
out:
	bd_secret_free(pt);
	bd_secret_free(rev);
	return r;
}

/* ---- certificates ---- */

struct bd_cert {
	X509 *x;
};

int bd_cert_from_der(const uint8_t *der, size_t len, struct bd_cert **out)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	char why[160];

	*out = NULL;
	if (!x) {
		ossl_reason(why, sizeof(why));
		return bd_err(BD_ERR_INVALID, "not an X.509 certificate: %s", why);
	}
	*out = calloc(1, sizeof(**out));
	if (!*out) {
		X509_free(x);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	(*out)->x = x;
	return 0;
}

int bd_cert_load(const char *path, struct bd_cert **out)
{
	uint8_t *buf;
	size_t len;
	X509 *x = NULL;
	char why[160];
	int r;

	*out = NULL;
	r = slurp(path, "certificate", &buf, &len);
	if (r)
		return r;
	ERR_clear_error();
	if (is_pem(buf, len)) {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);
		x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	} else {
		const unsigned char *p = buf;
		x = d2i_X509(NULL, &p, (long)len);
	}
	if (!x) {
		ossl_reason(why, sizeof(why));
		r = bd_err(BD_ERR_INVALID, "%s is not an X.509 certificate (PEM or DER .cer): %s", path, why);
	} else if (!(*out = calloc(1, sizeof(**out)))) {
		X509_free(x);
		r = bd_err(BD_ERR_NOMEM, "out of memory");
	} else {
		(*out)->x = x;
	}
	unslurp(buf, len);
	return r;
}

void bd_cert_free(struct bd_cert *c)
{
	if (c) {
		X509_free(c->x);
		free(c);
	}
}

void bd_cert_thumbprint(const struct bd_cert *c, uint8_t sha1[20])
{
	unsigned int n = 20;

	if (!X509_digest(c->x, EVP_sha1(), sha1, &n))
		memset(sha1, 0, 20);
}

void bd_cert_subject(const struct bd_cert *c, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = 0;

	if (outlen)
		out[0] = 0;
	if (!b || !outlen)
		goto out;
	X509_NAME_print_ex(b, X509_get_subject_name(c->x), 0, XN_FLAG_RFC2253);
	n = BIO_read(b, out, (int)MIN(outlen - 1, (size_t)0x7FFFFFFF));
	out[n > 0 ? n : 0] = 0;
out:
	BIO_free(b);
	ERR_clear_error();
}

int bd_cert_public(const struct bd_cert *c, struct bd_rsa_pub *out)
{
	EVP_PKEY *pub = X509_get0_pubkey(c->x);

	if (!pub) {
		ERR_clear_error();
		return bd_err(BD_ERR_INVALID, "the certificate's public key cannot be read");
	}
	return pkey_rsa_pub(pub, out);
}

int bd_cert_check_usage(const struct bd_cert *c, int dra)
{
	uint32_t flags = X509_get_extension_flags(c->x);
	struct bd_rsa_pub pub;
	char found[256] = "";
	size_t fl = 0;
	int has_eku = 0, bitlocker = 0, dra_ok = 0, any = 0, r;

	r = bd_cert_public(c, &pub);
	if (r)
		return r;
	if (flags & EXFLAG_INVALID)
		return bd_err(BD_ERR_INVALID, "the certificate has malformed extensions");
	if ((flags & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(c->x) & (KU_KEY_ENCIPHERMENT | KU_DATA_ENCIPHERMENT | KU_KEY_AGREEMENT)))
		return bd_err(BD_ERR_INVALID, "the certificate's key usage lacks key encipherment: Windows refuses it "
			      "for BitLocker; issue one with keyUsage=keyEncipherment");
	if (flags & EXFLAG_XKUSAGE) {
		EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(c->x, NID_ext_key_usage, NULL, NULL);
		has_eku = 1;
		for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++) {
			char oid[80];
			ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
			OBJ_obj2txt(oid, sizeof(oid), o, 1);
			bitlocker |= !strcmp(oid, BD_OID_BITLOCKER);
			dra_ok |= !strcmp(oid, BD_OID_BITLOCKER_DRA);
			any |= OBJ_obj2nid(o) == NID_anyExtendedKeyUsage;
			if (fl < sizeof(found) - 1)
				fl += (size_t)snprintf(found + fl, sizeof(found) - fl, "%s%s", fl ? ", " : "", oid);
		}
		EXTENDED_KEY_USAGE_free(eku);
		if (fl >= sizeof(found))
			fl = sizeof(found) - 1;
	}
	ERR_clear_error();
	if (dra && !dra_ok)
		return bd_err(BD_ERR_INVALID, "a Data Recovery Agent certificate needs the extended key usage "
			      "BitLocker Data Recovery Agent (%s); this one has %s", BD_OID_BITLOCKER_DRA,
			      has_eku ? found : "none");
	if (has_eku && !bitlocker && !dra_ok && !any)
		return bd_err(BD_ERR_INVALID, "the certificate's extended key usage (%s) has neither BitLocker Drive "
			      "Encryption (%s) nor BitLocker Data Recovery Agent (%s): Windows refuses it "
			      "(FVE_E_NON_BITLOCKER_OID)", found, BD_OID_BITLOCKER, BD_OID_BITLOCKER_DRA);
	return 0;
}

int bd_certificate_check(const char *path, int dra, uint8_t thumbprint[20])
{
	struct bd_cert *c = NULL;
	int r = bd_cert_load(path, &c);

	if (!r)
		r = bd_cert_check_usage(c, dra);
	if (!r && thumbprint)
		bd_cert_thumbprint(c, thumbprint);
	bd_cert_free(c);
	return r;
}
