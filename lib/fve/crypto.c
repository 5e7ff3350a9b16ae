/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-256, single-block AES-ECB, AES-256-CCM (format.md §4.2) and randomness over OpenSSL 3. */
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "crypto.h"
#include "internal.h"

void bd_sha256(const void *data, size_t len, uint8_t out[32])
{
	SHA256(data, len, out);
}

int bd_aes_ecb_encrypt_block(const uint8_t *key, size_t keylen, const uint8_t in[16], uint8_t out[16])
{
	const EVP_CIPHER *ciph;
	EVP_CIPHER_CTX *ctx;
	int n = 0, ret = BD_ERR_UNSUPPORTED;

	if (keylen == 16)
		ciph = EVP_aes_128_ecb();
	else if (keylen == 32)
		ciph = EVP_aes_256_ecb();
	else
		return bd_err(BD_ERR_INVALID, "AES-ECB: key length %zu is neither 16 nor 32 bytes", keylen);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return bd_err(BD_ERR_NOMEM, "AES-ECB: cannot allocate an OpenSSL cipher context");
	if (EVP_EncryptInit_ex(ctx, ciph, NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &n, in, 16) != 1 || n != 16) {
		ret = bd_err(BD_ERR_UNSUPPORTED, "AES-ECB: OpenSSL refused the operation (is libcrypto usable?)");
		goto out;
	}
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

/* Shared set-up of an AES-256-CCM context: 12-byte nonce (L = 3), 16-byte tag, no AAD. */
static int ccm_setup(EVP_CIPHER_CTX *ctx, int enc, const uint8_t key[32], const uint8_t nonce[12],
		     const uint8_t *tag, size_t len)
{
	int n;

	if (EVP_CipherInit_ex(ctx, EVP_aes_256_ccm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, enc ? NULL : (void *)tag) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
		return -1;
	/* CCM needs the total length up front. */
	if (EVP_CipherUpdate(ctx, NULL, &n, NULL, (int)len) != 1)
		return -1;
	return 0;
}

int bd_ccm_decrypt(const uint8_t key[32], const uint8_t nonce[12], const uint8_t tag[16],
		   const uint8_t *ct, size_t len, uint8_t *pt)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t dummy;
	int n = 0, ret;

	/* L = 3 limits CCM messages to 2^24 - 1 bytes. */
	if (len >= (1u << 24))
		return bd_err(BD_ERR_INVALID, "AES-CCM: %zu bytes exceed the 12-byte-nonce limit", len);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return bd_err(BD_ERR_NOMEM, "AES-CCM: cannot allocate an OpenSSL cipher context");
	if (ccm_setup(ctx, 0, key, nonce, tag, len) < 0) {
		ret = bd_err(BD_ERR_UNSUPPORTED, "AES-CCM: OpenSSL refused the set-up");
		goto out;
	}
	/* In CCM decryption the tag is checked by this single update call. */
	if (EVP_DecryptUpdate(ctx, len ? pt : &dummy, &n, len ? ct : &dummy, (int)len) != 1) {
		if (len)
			bd_wipe(pt, len);
		ret = bd_err(BD_ERR_WRONG_KEY, "AES-CCM: authentication tag mismatch (wrong key or damaged data)");
		goto out;
	}
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int bd_ccm_encrypt(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *pt, size_t len,
		   uint8_t *ct, uint8_t tag[16])
{
	EVP_CIPHER_CTX *ctx;
	uint8_t dummy;
	int n = 0, ret = BD_ERR_UNSUPPORTED;

	if (len >= (1u << 24))
		return bd_err(BD_ERR_INVALID, "AES-CCM: %zu bytes exceed the 12-byte-nonce limit", len);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return bd_err(BD_ERR_NOMEM, "AES-CCM: cannot allocate an OpenSSL cipher context");
	if (ccm_setup(ctx, 1, key, nonce, NULL, len) < 0 ||
	    EVP_EncryptUpdate(ctx, len ? ct : &dummy, &n, len ? pt : &dummy, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, &dummy, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1) {
		ret = bd_err(BD_ERR_UNSUPPORTED, "AES-CCM: OpenSSL refused to encrypt");
		goto out;
	}
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int bd_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		int n = len > INT_MAX ? INT_MAX : (int)len;
		if (RAND_bytes(p, n) != 1)
			return bd_err(BD_ERR_UNSUPPORTED, "the OpenSSL random generator failed (no entropy source?)");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
