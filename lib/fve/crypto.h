/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cryptographic layer: a narrow interface over OpenSSL libcrypto 3, plus the
 * parts no library has (BitLocker's key stretch, the Elephant diffuser).
 * Files: crypto.c (hash, AES-ECB, AES-CCM), kdf.c (stretch, password and
 * recovery-password hashing), elephant.c (diffuser), sector.c (sector ciphers).
 * Spec references are to ../shared/docs/format.md.
 */
#ifndef BDKIT_CRYPTO_H
#define BDKIT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- crypto.c ---- */
void bd_sha256(const void *data, size_t len, uint8_t out[32]);
/* Single-block AES-ECB encryption (key 16 or 32 bytes). 0 or BD_ERR_*. */
int bd_aes_ecb_encrypt_block(const uint8_t *key, size_t keylen, const uint8_t in[16], uint8_t out[16]);

/*
 * AES-256-CCM as BitLocker uses it (§4.2): 12-byte nonce, 16-byte tag, no AAD.
 * decrypt: BD_ERR_WRONG_KEY when the tag does not verify.
 */
int bd_ccm_decrypt(const uint8_t key[32], const uint8_t nonce[12], const uint8_t tag[16],
		   const uint8_t *ct, size_t len, uint8_t *pt);
int bd_ccm_encrypt(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *pt, size_t len,
		   uint8_t *ct, uint8_t tag[16]);

/* Fill buf with cryptographically strong random bytes. 0 or BD_ERR_*. */
int bd_random(void *buf, size_t len);

/* ---- kdf.c (§4.3-4.5) ---- */
#define BD_STRETCH_ROUNDS 0x100000
/* The 2^20-round SHA-256 stretch. Uses SHA extensions when the CPU has them. */
void bd_stretch(const uint8_t initial[32], const uint8_t salt[16], uint8_t out[32]);
/* Explicit choice of stretch implementation, for tests and benchmarks. */
enum bd_stretch_impl {
	BD_STRETCH_AUTO,      /* what bd_stretch() uses */
	BD_STRETCH_OPENSSL,   /* portable: OpenSSL SHA256_Transform on prebuilt blocks */
	BD_STRETCH_REFERENCE, /* the spec loop via SHA256_Init/Update/Final (slow, tests only) */
	BD_STRETCH_SHANI,     /* x86 SHA extensions; BD_ERR_UNSUPPORTED where the CPU lacks them */
};
int bd_stretch_impl(enum bd_stretch_impl impl, const uint8_t initial[32], const uint8_t salt[16], uint8_t out[32]);
/* True when bd_stretch() uses SHA-NI (the CPU has the SHA extensions). */
bool bd_stretch_has_shani(void);
/*
 * n independent stretches (initial[i], salt[i]) -> out[i], each bit-identical to bd_stretch():
 * with SHA-NI 2-4 streams interleaved per call, else one per lane of AVX-512 (16, or 2 x 16 when all
 * have one salt) or AVX2 (8) registers, else one after the other. bd_stretch_batch(): how many to pass per call for full speed.
 */
void bd_stretch_many(size_t n, const uint8_t (*initial)[32], const uint8_t (*salt)[16], uint8_t (*out)[32]);
size_t bd_stretch_batch(void);
/* Explicit choice, for tests and benchmarks; BD_ERR_UNSUPPORTED where the CPU lacks it. */
enum bd_stretch_many {
	BD_STRETCH_MANY_AUTO,
	BD_STRETCH_MANY_SINGLE,  /* bd_stretch() one after the other */
	BD_STRETCH_MANY_SHANI2,  /* SHA-NI, 2 / 3 / 4 streams interleaved */
	BD_STRETCH_MANY_SHANI3,
	BD_STRETCH_MANY_SHANI4,
	BD_STRETCH_MANY_AVX2,    /* 8 lanes */
	BD_STRETCH_MANY_AVX512,  /* 16 lanes */
	BD_STRETCH_MANY_AVX512X2, /* 32 lanes: two groups of 16 interleaved where all have one salt */
};
int bd_stretch_many_impl(enum bd_stretch_many impl, size_t n, const uint8_t (*initial)[32],
			 const uint8_t (*salt)[16], uint8_t (*out)[32]);
/* Wall seconds one full bd_stretch_many call of bd_stretch_batch() stretches takes on this thread,
 * estimated from a run of 1/64 of the rounds (for rate estimates before a search). */
double bd_stretch_many_time(void);
/* SHA256(SHA256(UTF-16LE(password))), no terminator. BD_ERR_INVALID on bad UTF-8. */
int bd_password_hash(const char *utf8, uint8_t out[32]);
/* SHA256(key16) */
void bd_recovery_key_hash(const uint8_t key16[16], uint8_t out[32]);
/* The 48-digit text (with dashes, 55 chars + NUL) for a 16-byte recovery key. */
void bd_recovery_password_format(const uint8_t key16[16], char out[56]);

/* ---- elephant.c (§6.2) ---- */
/* In-place diffusers over a sector of `size` bytes (multiple of 4, >= 32). */
void bd_diffuser_a_decrypt(uint8_t *sector, size_t size);
void bd_diffuser_a_encrypt(uint8_t *sector, size_t size);
void bd_diffuser_b_decrypt(uint8_t *sector, size_t size);
void bd_diffuser_b_encrypt(uint8_t *sector, size_t size);
/*
 * The whole Elephant layer of `count` sectors of ss bytes (512..4096) in place: decrypt = diffuser B,
 * diffuser A, xor with the sector key; encrypt = the inverse. keys: 32 bytes per sector. width 16
 * (AVX-512), 8 (AVX2) or 0 (one sector at a time); scratch: NULL (scalar) or ss * 32 bytes aligned
 * to 64. The caller checks that the CPU has the width it asks for.
 */
void bd_elephant_sectors(int width, uint8_t *buf, size_t count, size_t ss, const uint8_t *keys, bool enc,
			 void *scratch);

/* ---- sector.c (§5, §6) ---- */
/*
 * A sector cipher for one volume: method 0x8000..0x8005 and the FVEK key
 * material exactly as stored in the FVEK datum (after the 12-byte KEY header):
 * 64 bytes for Elephant (data key at 0, tweak key at 32), 16/32 for CBC,
 * 32/64 for XTS.
 * Thread-safe: concurrent calls on one bd_sector_cipher are allowed
 * (per-thread OpenSSL contexts are kept internally).
 */
struct bd_sector_cipher;
int bd_sector_cipher_new(uint16_t method, const uint8_t *key, size_t keylen, uint32_t sector_size,
			 struct bd_sector_cipher **out);
void bd_sector_cipher_free(struct bd_sector_cipher *c);
/*
 * Decrypt/encrypt `count` consecutive sectors in place. `phys_off` is the byte
 * offset on the volume of the first sector (the physical location: it keys the
 * IV/tweak). 0 or BD_ERR_*.
 */
int bd_sector_decrypt(struct bd_sector_cipher *c, uint8_t *buf, size_t count, uint64_t phys_off);
int bd_sector_encrypt(struct bd_sector_cipher *c, uint8_t *buf, size_t count, uint64_t phys_off);
/*
 * Tests only: cap the implementation every sector cipher uses from now on: 0 = OpenSSL EVP
 * (the reference), 1 = AES-NI, 2 = VAES/AVX-512, -1 = the best this CPU has (the default).
 * Returns the level that is then in effect (never above what the CPU has).
 */
int bd_sector_force_level(int level);

#endif /* BDKIT_CRYPTO_H */
