/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* AES key schedules as they sit in memory (aeskey.c), for the memory-image key search. */
#ifndef BDKIT_AESKEY_H
#define BDKIT_AESKEY_H

#include "bdkit/search.h"
#include "internal.h"

enum {
	BD_AESKS_ENC128 = 0x01, BD_AESKS_ENC256 = 0x02,   /* encryption schedule */
	BD_AESKS_DEC128 = 0x04, BD_AESKS_DEC256 = 0x08,   /* equivalent-inverse-cipher schedule */
	BD_AESKS_SWAPPED = 0x10,                          /* stored as byte-reversed 32-bit words */
};

/* FIPS-197 key expansion: keylen 16 or 32; out gets 176 or 240 bytes. */
void bd_aes_key_schedule(const uint8_t *key, size_t keylen, uint8_t *out);
/* The decryption schedule (equivalent inverse cipher) of an encryption schedule. */
void bd_aes_dec_schedule(const uint8_t *enc, size_t keylen, uint8_t *dec);
/* Cheap test at p (avail bytes readable from p, >= 176 to say yes): the BD_AESKS_* kinds of
 * schedule that may start here (word relations only; false positives about 2^-64 each). */
int bd_aes_schedule_filter(const uint8_t *p, size_t avail);
/* Full test of the kinds in filter: 16 or 32 (key length, key and *flags set) or 0. */
int bd_aes_schedule_at(const uint8_t *p, size_t avail, int filter, uint8_t key[32], int *flags);

/* out = AES-256_key(in) with AES-NI: 0, or -1 when the CPU lacks it (use OpenSSL then). */
int bd_aes256_block_fast(const uint8_t key[32], const uint8_t in[16], uint8_t out[16]);

#endif /* BDKIT_AESKEY_H */
