/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Elephant diffusers A and B (format.md §6.2; Ferguson 2006). The sector is
 * n = size/4 little-endian 32-bit words, indices taken mod n, updated in place.
 *   A: 5 cycles, rotations Ra = {9, 0, 13, 0}, taps i-2 and i-5
 *   B: 3 cycles, rotations Rb = {0, 10, 0, 25}, taps i+2 and i+5
 * "decrypt" runs i upwards adding, "encrypt" runs i downwards subtracting.
 * The interior of each pass is unrolled by four so the rotations are constants;
 * the few wrapping indices go through the generic step.
 *
 * Each word depends on the word two before it, so one sector leaves the ALUs mostly idle. For
 * runs of sectors (bd_elephant_*_sectors) the same passes run on vectors holding word i of 8
 * (AVX2) or 16 (AVX-512) sectors: the sectors are transposed into word-major order, diffused and
 * xored with their sector keys there, and transposed back. Written once as macros over the word
 * type, so the vector code is the scalar code (tests compare them on random data).
 */
#include <stdlib.h>

#include "crypto.h"
#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MAX_WORDS 1024 /* 4096-byte sectors */

/* x mod n for x < 2n, without a division */
static inline size_t wrap(size_t x, size_t n)
{
	return x >= n ? x - n : x;
}

static const unsigned ra[4] = { 9, 0, 13, 0 };
static const unsigned rb[4] = { 0, 10, 0, 25 };

/* rotate left, for a word or a vector of words; r = 0 gives x, with no shift by 32 */
#define ROTL(x, r) (((x) << (r)) | ((x) >> ((32u - (r)) & 31u)))

static void load(uint32_t *d, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = le32(s + 4 * i);
}

static void store(uint8_t *s, const uint32_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_le32(s + 4 * i, d[i]);
}

#define A_DECRYPT(T, d, n) do { \
	for (int c = 0; c < 5; c++) { \
		size_t i = 0; \
		for (; i < 8 || (n % 4 && i < n); i++) \
			d[i] += d[wrap(i + n - 2, n)] ^ ROTL(d[wrap(i + n - 5, n)], ra[i & 3]); \
		if (i >= n) \
			continue; \
		/* p1..p5 = d[i-1]..d[i-5], already updated: keep them in registers */ \
		T p1 = d[i - 1], p2 = d[i - 2], p3 = d[i - 3], p4 = d[i - 4], p5 = d[i - 5]; \
		for (; i < n; i += 4) { \
			T x0 = d[i] + (p2 ^ ROTL(p5, 9)); \
			T x1 = d[i + 1] + (p1 ^ p4); \
			T x2 = d[i + 2] + (x0 ^ ROTL(p3, 13)); \
			T x3 = d[i + 3] + (x1 ^ p2); \
			d[i] = x0; \
			d[i + 1] = x1; \
			d[i + 2] = x2; \
			d[i + 3] = x3; \
			p5 = p1; \
			p4 = x0; \
			p3 = x1; \
			p2 = x2; \
			p1 = x3; \
		} \
	} \
} while (0)

#define A_ENCRYPT(T, d, n) do { \
	for (int c = 0; c < 5; c++) { \
		size_t i = n; \
		if (n % 4 == 0) { \
			for (; i >= 12; i -= 4) { \
				/* words i-4 .. i-1, highest first */ \
				d[i - 1] -= d[i - 3] ^ d[i - 6]; \
				d[i - 2] -= d[i - 4] ^ ROTL(d[i - 7], 13); \
				d[i - 3] -= d[i - 5] ^ d[i - 8]; \
				d[i - 4] -= d[i - 6] ^ ROTL(d[i - 9], 9); \
			} \
		} \
		while (i-- > 0) \
			d[i] -= d[wrap(i + n - 2, n)] ^ ROTL(d[wrap(i + n - 5, n)], ra[i & 3]); \
	} \
} while (0)

#define B_DECRYPT(T, d, n) do { \
	for (int c = 0; c < 3; c++) { \
		size_t i = 0; \
		if (n % 4 == 0) { \
			for (; i + 8 <= n; i += 4) { \
				d[i] += d[i + 2] ^ d[i + 5]; \
				d[i + 1] += d[i + 3] ^ ROTL(d[i + 6], 10); \
				d[i + 2] += d[i + 4] ^ d[i + 7]; \
				d[i + 3] += d[i + 5] ^ ROTL(d[i + 8 < n ? i + 8 : i + 8 - n], 25); \
			} \
		} \
		for (; i < n; i++) \
			d[i] += d[wrap(i + 2, n)] ^ ROTL(d[wrap(i + 5, n)], rb[i & 3]); \
	} \
} while (0)

#define B_ENCRYPT(T, d, n) do { \
	for (int c = 0; c < 3; c++) { \
		size_t i = n; \
		/* undo b_decrypt's order: its generic tail first, then its groups downwards */ \
		size_t stop = n % 4 == 0 ? n - 4 : 0; \
		while (i-- > stop) \
			d[i] -= d[wrap(i + 2, n)] ^ ROTL(d[wrap(i + 5, n)], rb[i & 3]); \
		if (n % 4 == 0) { \
			/* q0..q4 = d[i]..d[i+4], already updated (d[n] wraps to d[0], not yet updated) */ \
			T q0 = d[stop], q1 = d[stop + 1], q2 = d[stop + 2], q3 = d[stop + 3], q4 = d[0]; \
			for (i = stop; i >= 4; i -= 4) { \
				T y3 = d[i - 1] - (q1 ^ ROTL(q4, 25)); \
				T y2 = d[i - 2] - (q0 ^ q3); \
				T y1 = d[i - 3] - (y3 ^ ROTL(q2, 10)); \
				T y0 = d[i - 4] - (y2 ^ q1); \
				d[i - 1] = y3; \
				d[i - 2] = y2; \
				d[i - 3] = y1; \
				d[i - 4] = y0; \
				q4 = q0; \
				q0 = y0; \
				q1 = y1; \
				q2 = y2; \
				q3 = y3; \
			} \
		} \
	} \
} while (0)

static void a_decrypt(uint32_t *d, size_t n) { A_DECRYPT(uint32_t, d, n); }
static void a_encrypt(uint32_t *d, size_t n) { A_ENCRYPT(uint32_t, d, n); }
static void b_decrypt(uint32_t *d, size_t n) { B_DECRYPT(uint32_t, d, n); }
static void b_encrypt(uint32_t *d, size_t n) { B_ENCRYPT(uint32_t, d, n); }

/* The words are sector data, never key material: no wipe needed.
 * size: multiple of 4, 32..4096 (checked by the sector cipher; out-of-range sizes are ignored here). */
#define DIFFUSER(name, fn) \
void name(uint8_t *sector, size_t size) \
{ \
	uint32_t d[MAX_WORDS]; \
	size_t n = size / 4; \
	if (size % 4 || n < 8 || n > MAX_WORDS) \
		return; \
	load(d, sector, n); \
	fn(d, n); \
	store(sector, d, n); \
}

DIFFUSER(bd_diffuser_a_decrypt, a_decrypt)
DIFFUSER(bd_diffuser_a_encrypt, a_encrypt)
DIFFUSER(bd_diffuser_b_decrypt, b_decrypt)
DIFFUSER(bd_diffuser_b_encrypt, b_encrypt)

/* ---- runs of sectors ---- */

static void xor_key(uint8_t *sector, size_t ss, const uint8_t ks[32])
{
	uint64_t k[4], w;

	memcpy(k, ks, 32);
	for (size_t i = 0; i < ss; i += 8) {
		memcpy(&w, sector + i, 8);
		w ^= k[(i / 8) & 3];
		memcpy(sector + i, &w, 8);
	}
}

static void one_sector(uint8_t *p, size_t ss, const uint8_t *key, bool enc)
{
	if (enc) {
		xor_key(p, ss, key);
		bd_diffuser_a_encrypt(p, ss);
		bd_diffuser_b_encrypt(p, ss);
	} else {
		bd_diffuser_b_decrypt(p, ss);
		bd_diffuser_a_decrypt(p, ss);
		xor_key(p, ss, key);
	}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_VEC 1
typedef uint32_t v8u __attribute__((vector_size(32)));
typedef uint32_t v16u __attribute__((vector_size(64)));
#define T_AVX2 __attribute__((target("avx2")))
#define T_AVX512 __attribute__((target("avx2,avx512f")))

/* 8x8 / 16x16 transposes of 32-bit words (rows in, columns out, in place) */
T_AVX2 __attribute__((always_inline)) static inline void transpose8(__m256i r[8])
{
	__m256i t[8];

	for (int i = 0; i < 4; i++) {
		t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
		t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
	}
	for (int i = 0; i < 2; i++) {
		r[4 * i] = _mm256_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
		r[4 * i + 1] = _mm256_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
		r[4 * i + 2] = _mm256_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
		r[4 * i + 3] = _mm256_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
	}
	for (int j = 0; j < 4; j++) {
		t[j] = _mm256_permute2x128_si256(r[j], r[4 + j], 0x20);
		t[4 + j] = _mm256_permute2x128_si256(r[j], r[4 + j], 0x31);
	}
	for (int j = 0; j < 8; j++)
		r[j] = t[j];
}

T_AVX512 __attribute__((always_inline)) static inline void transpose16(__m512i r[16])
{
	__m512i t[16];

	for (int i = 0; i < 8; i++) {
		t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
		t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
	}
	for (int i = 0; i < 4; i++) {
		r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
		r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
		r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
		r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
	}
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 4; j++) {
			t[8 * i + j] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + 4 + j], 0x88);
			t[8 * i + 4 + j] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + 4 + j], 0xdd);
		}
	for (int j = 0; j < 8; j++) {
		r[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88);
		r[8 + j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xdd);
	}
}

/* kv[j] lane l = word j of sector l's key: the 8-word keys transposed like the data */
#define KEYS8(kv, r, L) do { \
	for (size_t l = 0; l < L; l++) \
		r[l] = _mm256_loadu_si256((const void *)(keys + 32 * (l < m ? l : 0))); \
	transpose8(r); \
	for (int j = 0; j < 8; j++) \
		memcpy(&kv[j], &r[j], sizeof(kv[j])); \
} while (0)
#define KEYS16(kv, r, L) do { \
	for (size_t l = 0; l < L; l++) \
		r[l] = _mm512_castsi256_si512(_mm256_loadu_si256((const void *)(keys + 32 * (l < m ? l : 0)))); \
	transpose16(r); \
	for (int j = 0; j < 8; j++) \
		memcpy(&kv[j], &r[j], sizeof(kv[j])); \
} while (0)

/*
 * One group of up to L sectors (lanes past m repeat sector 0 and are not written back):
 * transpose into t (n vectors), key xor + diffusers, transpose back.
 */
#define GROUP(V, RAW, L, LOADU, STOREU, TRANSPOSE, KEYS) do { \
	const size_t n = ss / 4; \
	V kv[8]; \
	RAW r[L]; \
	KEYS(kv, r, L); \
	for (size_t i0 = 0; i0 < n; i0 += L) { \
		for (size_t l = 0; l < L; l++) \
			r[l] = LOADU((const void *)(buf + (l < m ? l : 0) * ss + 4 * i0)); \
		TRANSPOSE(r); \
		for (size_t l = 0; l < L; l++) \
			memcpy(&t[i0 + l], &r[l], sizeof(V)); \
	} \
	if (enc) { \
		for (size_t i = 0; i < n; i++) \
			t[i] ^= kv[i & 7]; \
		A_ENCRYPT(V, t, n); \
		B_ENCRYPT(V, t, n); \
	} else { \
		B_DECRYPT(V, t, n); \
		A_DECRYPT(V, t, n); \
		for (size_t i = 0; i < n; i++) \
			t[i] ^= kv[i & 7]; \
	} \
	for (size_t i0 = 0; i0 < n; i0 += L) { \
		for (size_t l = 0; l < L; l++) \
			memcpy(&r[l], &t[i0 + l], sizeof(V)); \
		TRANSPOSE(r); \
		for (size_t l = 0; l < m; l++) \
			STOREU((void *)(buf + l * ss + 4 * i0), r[l]); \
	} \
	memset(kv, 0, sizeof(kv)); \
	memset(r, 0, sizeof(r)); \
	__asm__ volatile("" : : "m"(kv), "m"(r) : "memory"); \
} while (0)

T_AVX2 static void group8(uint8_t *buf, size_t m, size_t ss, const uint8_t *keys, bool enc, v8u *t)
{
	GROUP(v8u, __m256i, 8, _mm256_loadu_si256, _mm256_storeu_si256, transpose8, KEYS8);
}

static inline void storeu512(void *p, __m512i v) __attribute__((target("avx512f"), always_inline));
static inline void storeu512(void *p, __m512i v) { _mm512_storeu_si512(p, v); }

T_AVX512 static void group16(uint8_t *buf, size_t m, size_t ss, const uint8_t *keys, bool enc, v16u *t)
{
	GROUP(v16u, __m512i, 16, _mm512_loadu_si512, storeu512, transpose16, KEYS16);
}
#endif

void bd_elephant_sectors(int width, uint8_t *buf, size_t count, size_t ss, const uint8_t *keys, bool enc,
			 void *scratch)
{
	size_t i = 0;

#ifdef HAVE_VEC
	/* a group pays for all its lanes: worth it from a quarter of them on */
	if (width >= 16 && scratch)
		for (; count - i >= 4; i += MIN(count - i, (size_t)16))
			group16(buf + i * ss, MIN(count - i, (size_t)16), ss, keys + 32 * i, enc, scratch);
	if (width >= 8 && scratch)
		for (; count - i >= 2; i += MIN(count - i, (size_t)8))
			group8(buf + i * ss, MIN(count - i, (size_t)8), ss, keys + 32 * i, enc, scratch);
#else
	(void)width;
	(void)scratch;
#endif
	for (; i < count; i++)
		one_sector(buf + i * ss, ss, keys + 32 * i, enc);
}
