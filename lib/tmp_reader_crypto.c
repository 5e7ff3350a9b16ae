/* TEMPORARY stand-in for the crypto helper's files; deleted when branch crypto is merged. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include "internal.h"
#include "crypto.h"

void bd_sha256(const void *d, size_t n, uint8_t out[32]) { unsigned l; EVP_Digest(d, n, out, &l, EVP_sha256(), NULL); }
int bd_aes_ecb_encrypt_block(const uint8_t *key, size_t kl, const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new(); int l;
	EVP_EncryptInit_ex(c, kl == 16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb(), NULL, key, NULL);
	EVP_CIPHER_CTX_set_padding(c, 0); EVP_EncryptUpdate(c, out, &l, in, 16); EVP_CIPHER_CTX_free(c); return 0;
}
int bd_ccm_decrypt(const uint8_t key[32], const uint8_t nonce[12], const uint8_t tag[16], const uint8_t *ct, size_t len, uint8_t *pt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new(); int l, r;
	EVP_DecryptInit_ex(c, EVP_aes_256_ccm(), NULL, NULL, NULL);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_CCM_SET_IVLEN, 12, NULL);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_CCM_SET_TAG, 16, (void *)tag);
	EVP_DecryptInit_ex(c, NULL, NULL, key, nonce);
	r = EVP_DecryptUpdate(c, pt, &l, ct, (int)len);
	EVP_CIPHER_CTX_free(c);
	return r > 0 ? 0 : BD_ERR_WRONG_KEY;
}
int bd_ccm_encrypt(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[16]) { return BD_ERR_UNSUPPORTED; }
int bd_random(void *buf, size_t len) { return RAND_bytes(buf, (int)len) == 1 ? 0 : BD_ERR_IO; }
void bd_stretch(const uint8_t initial[32], const uint8_t salt[16], uint8_t out[32])
{
	uint8_t b[88] = {0}; memcpy(b + 32, initial, 32); memcpy(b + 64, salt, 16);
	for (uint64_t i = 0; i < BD_STRETCH_ROUNDS; i++) { unsigned l; EVP_Digest(b, 88, b, &l, EVP_sha256(), NULL); put_le64(b + 80, i + 1); }
	memcpy(out, b, 32);
}
int bd_password_hash(const char *u, uint8_t out[32])
{
	uint8_t w[2048]; long n = bd_utf8_to_utf16le(u, w, sizeof(w)); if (n < 0) return BD_ERR_INVALID;
	bd_sha256(w, (size_t)n, out); bd_sha256(out, 32, out); return 0;
}
void bd_recovery_key_hash(const uint8_t k[16], uint8_t out[32]) { bd_sha256(k, 16, out); }
void bd_recovery_password_format(const uint8_t k[16], char out[56])
{
	for (int i = 0; i < 8; i++) sprintf(out + 7 * i, i < 7 ? "%06u-" : "%06u", 11u * le16(k + 2 * i));
}
static uint32_t rol(uint32_t x, int r) { return r ? (x << r) | (x >> (32 - r)) : x; }
void bd_diffuser_a_decrypt(uint8_t *s, size_t size)
{
	size_t n = size / 4; static const int R[4] = {9, 0, 13, 0}; uint32_t *d = malloc(size);
	for (size_t i = 0; i < n; i++) d[i] = le32(s + 4 * i);
	for (int c = 0; c < 5; c++) for (size_t i = 0; i < n; i++) d[i] += d[(i + n - 2) % n] ^ rol(d[(i + n - 5) % n], R[i % 4]);
	for (size_t i = 0; i < n; i++) { put_le32(s + 4 * i, d[i]); } free(d);
}
void bd_diffuser_b_decrypt(uint8_t *s, size_t size)
{
	size_t n = size / 4; static const int R[4] = {0, 10, 0, 25}; uint32_t *d = malloc(size);
	for (size_t i = 0; i < n; i++) d[i] = le32(s + 4 * i);
	for (int c = 0; c < 3; c++) for (size_t i = 0; i < n; i++) d[i] += d[(i + 2) % n] ^ rol(d[(i + 5) % n], R[i % 4]);
	for (size_t i = 0; i < n; i++) { put_le32(s + 4 * i, d[i]); } free(d);
}
void bd_diffuser_a_encrypt(uint8_t *s, size_t size) {}
void bd_diffuser_b_encrypt(uint8_t *s, size_t size) {}
struct bd_sector_cipher { uint16_t m; uint8_t k[64]; size_t kl; uint32_t ss; };
int bd_sector_cipher_new(uint16_t m, const uint8_t *key, size_t kl, uint32_t ss, struct bd_sector_cipher **out)
{
	struct bd_sector_cipher *c = calloc(1, sizeof(*c)); c->m = m; memcpy(c->k, key, kl); c->kl = kl; c->ss = ss; *out = c; return 0;
}
void bd_sector_cipher_free(struct bd_sector_cipher *c) { free(c); }
int bd_sector_decrypt(struct bd_sector_cipher *c, uint8_t *buf, size_t count, uint64_t off)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new(); int l;
	for (size_t s = 0; s < count; s++, buf += c->ss, off += c->ss) {
		uint8_t e[16] = {0}, iv[16], ks[32]; put_le64(e, off);
		if (c->m >= 0x8004) {
			uint8_t t[16] = {0}; put_le64(t, off / c->ss);
			EVP_DecryptInit_ex(x, c->m == 0x8004 ? EVP_aes_128_xts() : EVP_aes_256_xts(), NULL, c->k, t);
			EVP_DecryptUpdate(x, buf, &l, buf, (int)c->ss);
			continue;
		}
		size_t dk = (c->m == 0x8000 || c->m == 0x8002) ? 16 : 32;
		bd_aes_ecb_encrypt_block(c->k, dk, e, iv);
		EVP_DecryptInit_ex(x, dk == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(), NULL, c->k, iv);
		EVP_CIPHER_CTX_set_padding(x, 0);
		EVP_DecryptUpdate(x, buf, &l, buf, (int)c->ss);
		if (c->m <= 0x8001) {
			bd_aes_ecb_encrypt_block(c->k + 32, dk, e, ks); e[15] = 0x80; bd_aes_ecb_encrypt_block(c->k + 32, dk, e, ks + 16);
			bd_diffuser_b_decrypt(buf, c->ss); bd_diffuser_a_decrypt(buf, c->ss);
			for (size_t i = 0; i < c->ss; i++) buf[i] ^= ks[i % 32];
		}
	}
	EVP_CIPHER_CTX_free(x); return 0;
}
int bd_sector_encrypt(struct bd_sector_cipher *c, uint8_t *buf, size_t count, uint64_t off) { return BD_ERR_UNSUPPORTED; }
