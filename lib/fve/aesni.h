/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hand-written AES sector modes on x86 AES-NI (aesni.c), for whole sectors of 512..4096 bytes
 * (a multiple of 16 blocks, so XTS never steals ciphertext). Two levels:
 *   BD_AES_NI:   AES-NI on 128-bit registers, 8 blocks (or 8 sectors' CBC chains) in flight;
 *   BD_AES_VAES: VAES + VPCLMULQDQ on AVX-512 registers, 16 blocks in flight, XTS tweaks 4 at a time.
 * sector.c picks the level at run time (CPU check) and keeps OpenSSL's EVP path for CPUs without
 * AES-NI; every level is tested against OpenSSL (tests/unit/test_crypto.c). Not part of the public API.
 */
#ifndef BDKIT_AESNI_H
#define BDKIT_AESNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { BD_AES_REF = 0, BD_AES_NI = 1, BD_AES_VAES = 2 };

/* Expanded key: encryption and (equivalent inverse cipher) decryption round keys. */
struct bd_aes_key {
	uint8_t ek[15][16] __attribute__((aligned(16)));
	uint8_t dk[15][16] __attribute__((aligned(16)));
	int nr; /* rounds: 10 or 14 */
};

/* The best level this CPU offers (BD_AES_REF where AES-NI is missing or not x86). */
int bd_aes_cpu_level(void);
/* Zero the vector registers of the calling thread (round keys linger there after a call). */
void bd_aes_scrub(void);
/* Vector width in 32-bit words for the Elephant diffusers at this level: 16 (AVX-512), 8 (AVX2), 0. */
int bd_aes_simd_width(int level);
/* key: 16 or 32 bytes. Needs level >= BD_AES_NI. */
void bd_aes_expand(struct bd_aes_key *k, const uint8_t *key, size_t klen);
/* In-place AES-ECB encryption of n blocks. */
void bd_aes_ecb_encrypt(const struct bd_aes_key *k, uint8_t *buf, size_t n);
/* The same with the widest registers the level allows. */
void bd_aes_ecb_encrypt_level(int level, const struct bd_aes_key *k, uint8_t *buf, size_t n);
/* XTS over n sectors of ss bytes, data unit number of the first = unit (tweak = le128(unit + i)).
 * dst may equal src. */
void bd_aes_xts(int level, const struct bd_aes_key *k1, const struct bd_aes_key *k2, uint8_t *dst,
		const uint8_t *src, size_t n, size_t ss, uint64_t unit, bool enc);
/* In-place CBC over n sectors of ss bytes, IV of sector i at ivs + 16 * i. */
void bd_aes_cbc_decrypt(int level, const struct bd_aes_key *k, uint8_t *buf, size_t n, size_t ss,
			const uint8_t *ivs);
void bd_aes_cbc_encrypt(const struct bd_aes_key *k, uint8_t *buf, size_t n, size_t ss, const uint8_t *ivs);

#endif /* BDKIT_AESNI_H */
