/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * AES key schedules (FIPS-197 §5.2, and §5.3.5's equivalent inverse cipher) as they sit in
 * memory, for memkeys.c. OpenSSL 3 offers no supported way to obtain an expanded key, so the
 * expansion is written out here; it is checked against FIPS-197 Appendix A in test_memkeys.
 *
 * Layouts recognised at a candidate address p (Nr = 10 for AES-128, 14 for AES-256):
 *  - encryption schedule, round keys 0..Nr in order, bytes as FIPS-197 writes them (AES-NI,
 *    SymCrypt, Windows' CNG, mbedTLS on little-endian machines, aeskeyfind's model);
 *  - decryption schedule of the equivalent inverse cipher: round key Nr first, then
 *    InvMixColumns(round key Nr-1) ... InvMixColumns(round key 1), round key 0 last (AES-NI
 *    aesimc, OpenSSL and mbedTLS decryption contexts);
 *  - either of these stored as host-order 32-bit words of big-endian words (OpenSSL's portable
 *    C code on little-endian machines): every 4 bytes reversed.
 */
#include <stdlib.h>

#include "aeskey.h"

static const uint8_t sbox[256] = {
	0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b, 0xfe, 0xd7, 0xab, 0x76,
	0xca, 0x82, 0xc9, 0x7d, 0xfa, 0x59, 0x47, 0xf0, 0xad, 0xd4, 0xa2, 0xaf, 0x9c, 0xa4, 0x72, 0xc0,
	0xb7, 0xfd, 0x93, 0x26, 0x36, 0x3f, 0xf7, 0xcc, 0x34, 0xa5, 0xe5, 0xf1, 0x71, 0xd8, 0x31, 0x15,
	0x04, 0xc7, 0x23, 0xc3, 0x18, 0x96, 0x05, 0x9a, 0x07, 0x12, 0x80, 0xe2, 0xeb, 0x27, 0xb2, 0x75,
	0x09, 0x83, 0x2c, 0x1a, 0x1b, 0x6e, 0x5a, 0xa0, 0x52, 0x3b, 0xd6, 0xb3, 0x29, 0xe3, 0x2f, 0x84,
	0x53, 0xd1, 0x00, 0xed, 0x20, 0xfc, 0xb1, 0x5b, 0x6a, 0xcb, 0xbe, 0x39, 0x4a, 0x4c, 0x58, 0xcf,
	0xd0, 0xef, 0xaa, 0xfb, 0x43, 0x4d, 0x33, 0x85, 0x45, 0xf9, 0x02, 0x7f, 0x50, 0x3c, 0x9f, 0xa8,
	0x51, 0xa3, 0x40, 0x8f, 0x92, 0x9d, 0x38, 0xf5, 0xbc, 0xb6, 0xda, 0x21, 0x10, 0xff, 0xf3, 0xd2,
	0xcd, 0x0c, 0x13, 0xec, 0x5f, 0x97, 0x44, 0x17, 0xc4, 0xa7, 0x7e, 0x3d, 0x64, 0x5d, 0x19, 0x73,
	0x60, 0x81, 0x4f, 0xdc, 0x22, 0x2a, 0x90, 0x88, 0x46, 0xee, 0xb8, 0x14, 0xde, 0x5e, 0x0b, 0xdb,
	0xe0, 0x32, 0x3a, 0x0a, 0x49, 0x06, 0x24, 0x5c, 0xc2, 0xd3, 0xac, 0x62, 0x91, 0x95, 0xe4, 0x79,
	0xe7, 0xc8, 0x37, 0x6d, 0x8d, 0xd5, 0x4e, 0xa9, 0x6c, 0x56, 0xf4, 0xea, 0x65, 0x7a, 0xae, 0x08,
	0xba, 0x78, 0x25, 0x2e, 0x1c, 0xa6, 0xb4, 0xc6, 0xe8, 0xdd, 0x74, 0x1f, 0x4b, 0xbd, 0x8b, 0x8a,
	0x70, 0x3e, 0xb5, 0x66, 0x48, 0x03, 0xf6, 0x0e, 0x61, 0x35, 0x57, 0xb9, 0x86, 0xc1, 0x1d, 0x9e,
	0xe1, 0xf8, 0x98, 0x11, 0x69, 0xd9, 0x8e, 0x94, 0x9b, 0x1e, 0x87, 0xe9, 0xce, 0x55, 0x28, 0xdf,
	0x8c, 0xa1, 0x89, 0x0d, 0xbf, 0xe6, 0x42, 0x68, 0x41, 0x99, 0x2d, 0x0f, 0xb0, 0x54, 0xbb, 0x16,
};

void bd_aes_key_schedule(const uint8_t *key, size_t keylen, uint8_t *out)
{
	size_t nk = keylen / 4, words = 4 * (nk + 7); /* Nr + 1 round keys of 4 words; Nr = Nk + 6 */
	uint8_t rcon = 1;

	memcpy(out, key, keylen);
	for (size_t i = nk; i < words; i++) {
		uint8_t t[4];
		memcpy(t, out + 4 * (i - 1), 4);
		if (i % nk == 0) {
			uint8_t t0 = t[0];
			t[0] = (uint8_t)(sbox[t[1]] ^ rcon);
			t[1] = sbox[t[2]];
			t[2] = sbox[t[3]];
			t[3] = sbox[t0];
			rcon = (uint8_t)((rcon << 1) ^ ((rcon & 0x80) ? 0x1b : 0));
		} else if (nk > 6 && i % nk == 4) {
			for (int k = 0; k < 4; k++)
				t[k] = sbox[t[k]];
		}
		for (int k = 0; k < 4; k++)
			out[4 * i + k] = out[4 * (i - nk) + k] ^ t[k];
	}
}

static uint8_t xtime(uint8_t x)
{
	return (uint8_t)((x << 1) ^ ((x & 0x80) ? 0x1b : 0));
}

static uint8_t gmul(uint8_t a, uint8_t b)
{
	uint8_t r = 0;

	while (b) {
		if (b & 1)
			r ^= a;
		a = xtime(a);
		b >>= 1;
	}
	return r;
}

/* One column (4 bytes) through MixColumns or InvMixColumns. */
static void mix_column(uint8_t c[4], int inverse)
{
	static const uint8_t fwd[4] = { 2, 3, 1, 1 }, inv[4] = { 14, 11, 13, 9 };
	const uint8_t *m = inverse ? inv : fwd;
	uint8_t a[4];

	memcpy(a, c, 4);
	for (int r = 0; r < 4; r++)
		c[r] = (uint8_t)(gmul(a[0], m[(4 - r) % 4]) ^ gmul(a[1], m[(5 - r) % 4]) ^ gmul(a[2], m[(6 - r) % 4]) ^
				 gmul(a[3], m[(7 - r) % 4]));
}

void bd_aes_dec_schedule(const uint8_t *enc, size_t keylen, uint8_t *dec)
{
	int nr = (int)keylen / 4 + 6;

	for (int r = 0; r <= nr; r++) {
		memcpy(dec + 16 * r, enc + 16 * (nr - r), 16);
		if (r > 0 && r < nr)
			for (int c = 0; c < 4; c++)
				mix_column(dec + 16 * r + 4 * c, 1);
	}
}

static int check_enc(const uint8_t *p, size_t keylen, uint8_t key[32])
{
	uint8_t s[240];
	size_t n = 16 * (keylen / 4 + 7);

	bd_aes_key_schedule(p, keylen, s);
	if (memcmp(s, p, n))
		return 0;
	memcpy(key, p, keylen);
	bd_wipe(s, sizeof(s));
	return 1;
}

static int check_dec(const uint8_t *p, size_t keylen, uint8_t key[32])
{
	uint8_t k[32], s[240], d[240];
	int nr = (int)keylen / 4 + 6, ok;

	/* round key 0 is the first half of the key; for AES-256 round key 1 (the second half) is
	 * stored as InvMixColumns(round key 1) just before it */
	memcpy(k, p + 16 * nr, 16);
	if (keylen == 32) {
		memcpy(k + 16, p + 16 * (nr - 1), 16);
		for (int c = 0; c < 4; c++)
			mix_column(k + 16 + 4 * c, 0);
	}
	bd_aes_key_schedule(k, keylen, s);
	bd_aes_dec_schedule(s, keylen, d);
	ok = !memcmp(d, p, 16 * (size_t)(nr + 1));
	if (ok)
		memcpy(key, k, keylen);
	bd_wipe(k, sizeof(k));
	bd_wipe(s, sizeof(s));
	bd_wipe(d, sizeof(d));
	return ok;
}

static int check_all(const uint8_t *p, size_t avail, int want, uint8_t key[32], int *flags)
{
	if ((want & BD_AESKS_ENC128) && avail >= 176 && check_enc(p, 16, key)) {
		*flags = BD_AESKS_ENC128;
		return 16;
	}
	if ((want & BD_AESKS_ENC256) && avail >= 240 && check_enc(p, 32, key)) {
		*flags = BD_AESKS_ENC256;
		return 32;
	}
	if ((want & BD_AESKS_DEC128) && avail >= 176 && check_dec(p, 16, key)) {
		*flags = BD_AESKS_DEC128;
		return 16;
	}
	if ((want & BD_AESKS_DEC256) && avail >= 240 && check_dec(p, 32, key)) {
		*flags = BD_AESKS_DEC256;
		return 32;
	}
	return 0;
}

int bd_aes_schedule_filter(const uint8_t *p, size_t avail)
{
	uint32_t w[15];
	int f = 0;

	if (avail < 176)
		return 0;
	memcpy(w, p, sizeof(w));
	/* encryption: w[i] = w[i-Nk] ^ w[i-1] where i is not a multiple of 4 (XOR is bytewise, so
	 * this holds whatever the byte order inside the words). Zero words satisfy every relation
	 * (zero-filled memory) and almost never occur in a schedule: they rule a place out. */
#define NZ3(a, b, c) ((a) && (b) && (c))
	if (w[5] == (w[1] ^ w[4]) && w[6] == (w[2] ^ w[5]) && NZ3(w[4], w[5], w[6]) && NZ3(w[1], w[2], 1))
		f |= BD_AESKS_ENC128;
	if (w[9] == (w[1] ^ w[8]) && w[10] == (w[2] ^ w[9]) && NZ3(w[8], w[9], w[10]) && NZ3(w[1], w[2], 1))
		f |= BD_AESKS_ENC256;
	/* decryption: InvMixColumns is linear per column, so the relation survives it between
	 * consecutive inner round keys R1, R2 (AES-128) or R1, R3 (AES-256), in reverse */
	if (w[9] == (w[5] ^ w[4]) && w[10] == (w[6] ^ w[5]) && NZ3(w[4], w[5], w[6]) && NZ3(w[9], w[10], 1))
		f |= BD_AESKS_DEC128;
	if (w[13] == (w[5] ^ w[4]) && w[14] == (w[6] ^ w[5]) && NZ3(w[4], w[5], w[6]) && NZ3(w[13], w[14], 1))
		f |= BD_AESKS_DEC256;
#undef NZ3
	return f;
}

int bd_aes_schedule_at(const uint8_t *p, size_t avail, int filter, uint8_t key[32], int *flags)
{
	uint8_t sw[240];
	int n;

	if (avail > 240)
		avail = 240;
	n = check_all(p, avail, filter, key, flags);
	if (n)
		return n;
	/* host-order words of big-endian words */
	for (size_t i = 0; i + 4 <= avail; i += 4) {
		sw[i] = p[i + 3];
		sw[i + 1] = p[i + 2];
		sw[i + 2] = p[i + 1];
		sw[i + 3] = p[i];
	}
	n = check_all(sw, avail & ~(size_t)3, filter, key, flags);
	if (n)
		*flags |= BD_AESKS_SWAPPED;
	bd_wipe(sw, sizeof(sw));
	return n;
}

/* ---- one AES-256 block under a fresh key, for the raw VMK candidates ----
 * Tried once per candidate (millions per GiB), so the OpenSSL EVP path (a context re-keyed per
 * candidate: 580 ns measured) is replaced by AES-NI where the CPU has it (tens of ns). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AESNI __attribute__((target("aes,sse2")))

static AESNI inline __m128i ks_odd(__m128i a, __m128i assist)
{
	__m128i t;

	assist = _mm_shuffle_epi32(assist, 0xff);
	t = _mm_slli_si128(a, 4);
	a = _mm_xor_si128(a, t);
	t = _mm_slli_si128(t, 4);
	a = _mm_xor_si128(a, t);
	t = _mm_slli_si128(t, 4);
	a = _mm_xor_si128(a, t);
	return _mm_xor_si128(a, assist);
}

static AESNI inline __m128i ks_even(__m128i a, __m128i c)
{
	__m128i b = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(a, 0), 0xaa), t;

	t = _mm_slli_si128(c, 4);
	c = _mm_xor_si128(c, t);
	t = _mm_slli_si128(t, 4);
	c = _mm_xor_si128(c, t);
	t = _mm_slli_si128(t, 4);
	c = _mm_xor_si128(c, t);
	return _mm_xor_si128(c, b);
}

static AESNI void aes256_block_ni(const uint8_t key[32], const uint8_t in[16], uint8_t out[16])
{
	__m128i k[15];

	k[0] = _mm_loadu_si128((const __m128i *)(const void *)key);
	k[1] = _mm_loadu_si128((const __m128i *)(const void *)(key + 16));
#define STEP(i, rcon) \
	k[i] = ks_odd(k[i - 2], _mm_aeskeygenassist_si128(k[i - 1], rcon)); \
	if (i < 14) k[i + 1] = ks_even(k[i], k[i - 1]);
	STEP(2, 0x01) STEP(4, 0x02) STEP(6, 0x04) STEP(8, 0x08) STEP(10, 0x10) STEP(12, 0x20) STEP(14, 0x40)
#undef STEP
	__m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)in), k[0]);
	for (int i = 1; i < 14; i++)
		x = _mm_aesenc_si128(x, k[i]);
	x = _mm_aesenclast_si128(x, k[14]);
	_mm_storeu_si128((__m128i *)(void *)out, x);
	for (int i = 0; i < 15; i++)
		k[i] = _mm_setzero_si128();
	__asm__ volatile("" : : "m"(k) : "memory");
}

int bd_aes256_block_fast(const uint8_t key[32], const uint8_t in[16], uint8_t out[16])
{
	static int have = -1;

	if (have < 0)
		have = __builtin_cpu_supports("aes") && !getenv("BDKIT_NO_AESNI");
	if (!have)
		return -1;
	aes256_block_ni(key, in, out);
	return 0;
}
#else
int bd_aes256_block_fast(const uint8_t key[32], const uint8_t in[16], uint8_t out[16])
{
	(void)key; (void)in; (void)out;
	return -1;
}
#endif
