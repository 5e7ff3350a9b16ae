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
 * (AVX2) or 16 (AVX-512) sectors: the sectors are transposed into word-major order, diffused there
 * and transposed back, the sector keys xored on the way out (in for encryption). Diffuser A's chain
 * (an xor then an add per word, through the word two before) leaves one such block latency-bound,
 * so a group holds two blocks (16 or 32 sectors) whose chains run side by side. Written once as
 * macros over the word type, so the vector code is the scalar code (tests compare them on random data).
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

/*
 * The passes, over words D(0) .. D(n-1): D is the name of a macro giving word k (an array element
 * for one sector, a strided element of the transposed scratch for a block of sectors).
 */
#define A_DECRYPT(T, D, n) do { \
	for (int c = 0; c < 5; c++) { \
		size_t i = 0; \
		for (; i < 8 || (n % 4 && i < n); i++) \
			D(i) += D(wrap(i + n - 2, n)) ^ ROTL(D(wrap(i + n - 5, n)), ra[i & 3]); \
		if (i >= n) \
			continue; \
		/* p1..p5 = d[i-1]..d[i-5], already updated: keep them in registers */ \
		T p1 = D(i - 1), p2 = D(i - 2), p3 = D(i - 3), p4 = D(i - 4), p5 = D(i - 5); \
		for (; i < n; i += 4) { \
			T x0 = D(i) + (p2 ^ ROTL(p5, 9)); \
			T x1 = D(i + 1) + (p1 ^ p4); \
			T x2 = D(i + 2) + (x0 ^ ROTL(p3, 13)); \
			T x3 = D(i + 3) + (x1 ^ p2); \
			D(i) = x0; \
			D(i + 1) = x1; \
			D(i + 2) = x2; \
			D(i + 3) = x3; \
			p5 = p1; \
			p4 = x0; \
			p3 = x1; \
			p2 = x2; \
			p1 = x3; \
		} \
	} \
} while (0)

/* A_DECRYPT on two independent word arrays D0 and D1 at once (n % 4 == 0, n >= 8): each word hangs on
 * the word two before it (an xor then an add), so one array alone waits on the vector latency; two
 * chains side by side keep the units busy. */
#define A_DECRYPT2(T, D0, D1, n) do { \
	for (int c = 0; c < 5; c++) { \
		for (size_t i = 0; i < 8; i++) { \
			D0(i) += D0(wrap(i + n - 2, n)) ^ ROTL(D0(wrap(i + n - 5, n)), ra[i & 3]); \
			D1(i) += D1(wrap(i + n - 2, n)) ^ ROTL(D1(wrap(i + n - 5, n)), ra[i & 3]); \
		} \
		T p1 = D0(7), p2 = D0(6), p3 = D0(5), p4 = D0(4), p5 = D0(3); \
		T q1 = D1(7), q2 = D1(6), q3 = D1(5), q4 = D1(4), q5 = D1(3); \
		for (size_t i = 8; i < n; i += 4) { \
			T x0 = D0(i) + (p2 ^ ROTL(p5, 9)); \
			T y0 = D1(i) + (q2 ^ ROTL(q5, 9)); \
			T x1 = D0(i + 1) + (p1 ^ p4); \
			T y1 = D1(i + 1) + (q1 ^ q4); \
			T x2 = D0(i + 2) + (x0 ^ ROTL(p3, 13)); \
			T y2 = D1(i + 2) + (y0 ^ ROTL(q3, 13)); \
			T x3 = D0(i + 3) + (x1 ^ p2); \
			T y3 = D1(i + 3) + (y1 ^ q2); \
			D0(i) = x0; \
			D1(i) = y0; \
			D0(i + 1) = x1; \
			D1(i + 1) = y1; \
			D0(i + 2) = x2; \
			D1(i + 2) = y2; \
			D0(i + 3) = x3; \
			D1(i + 3) = y3; \
			p5 = p1; p4 = x0; p3 = x1; p2 = x2; p1 = x3; \
			q5 = q1; q4 = y0; q3 = y1; q2 = y2; q1 = y3; \
		} \
	} \
} while (0)

/*
 * B_DECRYPT's three passes in one sweep (n % 4 == 0, n >= 16), for the vector groups: a pass reads
 * the words ahead of it as the previous pass left them, so pass 2 can follow pass 1 eight words
 * behind and pass 3 follow pass 2, with the words in between held in registers (a0..a11: pass 1's
 * words s-8 .. s+3; b0..b11: pass 2's words s-16 .. s-5) and only pass 3's words stored: a third of
 * the stores, which set the pace of these passes. A pass's last words wrap to its own first five
 * (s1, s2: passes 1 and 2's; pass 3's are in D by then).
 */
#define B_GRP(T, c0, c1, c2, c3, X, D, o0, o1, o2, o3) do { \
	o0 = c0 + (X(D, 2) ^ X(D, 5)); \
	o1 = c1 + (X(D, 3) ^ ROTL(X(D, 6), 10)); \
	o2 = c2 + (X(D, 4) ^ X(D, 7)); \
	o3 = c3 + (X(D, 5) ^ ROTL(X(D, 8), 25)); \
} while (0)
#define B_DECRYPT3(T, D, n) do { \
	T a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0}, a8 = {0}, a9 = {0}, a10 = {0}, a11 = {0}; \
	T b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0}, b4 = {0}, b5 = {0}, b6 = {0}, b7 = {0}, b8 = {0}, b9 = {0}, b10 = {0}, b11 = {0}; \
	T s1[5], s2[5]; \
	size_t s = 0; \
	for (; s < n + 16; s += 4) { \
		if (s < n) { \
			if (s + 8 < n) \
				B_GRP(T, D(s), D(s + 1), D(s + 2), D(s + 3), B3_X1F, D, a8, a9, a10, a11); \
			else \
				B_GRP(T, D(s), D(s + 1), D(s + 2), D(s + 3), B3_X1W, D, a8, a9, a10, a11); \
			if (s == 0) { \
				s1[0] = a8; s1[1] = a9; s1[2] = a10; s1[3] = a11; \
			} else if (s == 4) \
				s1[4] = a8; \
		} \
		if (s >= 8 && s - 8 < n) { \
			const size_t g = s - 8; \
			if (g + 8 < n) \
				B_GRP(T, a0, a1, a2, a3, B3_X2F, D, b8, b9, b10, b11); \
			else \
				B_GRP(T, a0, a1, a2, a3, B3_X2W, D, b8, b9, b10, b11); \
			if (g == 0) { \
				s2[0] = b8; s2[1] = b9; s2[2] = b10; s2[3] = b11; \
			} else if (g == 4) \
				s2[4] = b8; \
		} \
		if (s >= 16) { \
			const size_t g = s - 16; \
			T o0, o1, o2, o3; \
			if (g + 8 < n) \
				B_GRP(T, b0, b1, b2, b3, B3_X3F, D, o0, o1, o2, o3); \
			else \
				B_GRP(T, b0, b1, b2, b3, B3_X3W, D, o0, o1, o2, o3); \
			D(g) = o0; \
			D(g + 1) = o1; \
			D(g + 2) = o2; \
			D(g + 3) = o3; \
		} \
		a0 = a4; a1 = a5; a2 = a6; a3 = a7; a4 = a8; a5 = a9; a6 = a10; a7 = a11; \
		b0 = b4; b1 = b5; b2 = b6; b3 = b7; b4 = b8; b5 = b9; b6 = b10; b7 = b11; \
	} \
} while (0)
/* sources of pass 1 (D as it was), 2 (pass 1's window a) and 3 (pass 2's window b) for word g + j of
 * the group at g (pass 1: g = s); F: no word past n; W: words past n wrap to the pass's own first */
#define B3_X1F(D, j) D(s + (j))
#define B3_X1W(D, j) (s + (j) < n ? D(s + (j)) : s1[s + (j) - n])
#define B3_X2F(D, j) B3_AW(j)
#define B3_X2W(D, j) (g + (j) < n ? B3_AW(j) : s2[g + (j) - n])
#define B3_X3F(D, j) B3_BW(j)
#define B3_X3W(D, j) (g + (j) < n ? B3_BW(j) : D(g + (j) - n))
#define B3_AW(j) B3_CAT(a, j)
#define B3_BW(j) B3_CAT(b, j)
#define B3_CAT(x, j) x##j

#define A_ENCRYPT(T, D, n) do { \
	for (int c = 0; c < 5; c++) { \
		size_t i = n; \
		if (n % 4 == 0) { \
			for (; i >= 12; i -= 4) { \
				/* words i-4 .. i-1, highest first */ \
				D(i - 1) -= D(i - 3) ^ D(i - 6); \
				D(i - 2) -= D(i - 4) ^ ROTL(D(i - 7), 13); \
				D(i - 3) -= D(i - 5) ^ D(i - 8); \
				D(i - 4) -= D(i - 6) ^ ROTL(D(i - 9), 9); \
			} \
		} \
		while (i-- > 0) \
			D(i) -= D(wrap(i + n - 2, n)) ^ ROTL(D(wrap(i + n - 5, n)), ra[i & 3]); \
	} \
} while (0)

#define B_DECRYPT(T, D, n) do { \
	for (int c = 0; c < 3; c++) { \
		size_t i = 0; \
		if (n % 4 == 0) { \
			for (; i + 8 <= n; i += 4) { \
				D(i) += D(i + 2) ^ D(i + 5); \
				D(i + 1) += D(i + 3) ^ ROTL(D(i + 6), 10); \
				D(i + 2) += D(i + 4) ^ D(i + 7); \
				D(i + 3) += D(i + 5) ^ ROTL(D(i + 8 < n ? i + 8 : i + 8 - n), 25); \
			} \
		} \
		for (; i < n; i++) \
			D(i) += D(wrap(i + 2, n)) ^ ROTL(D(wrap(i + 5, n)), rb[i & 3]); \
	} \
} while (0)

#define B_ENCRYPT(T, D, n) do { \
	for (int c = 0; c < 3; c++) { \
		size_t i = n; \
		/* undo b_decrypt's order: its generic tail first, then its groups downwards */ \
		size_t stop = n % 4 == 0 ? n - 4 : 0; \
		while (i-- > stop) \
			D(i) -= D(wrap(i + 2, n)) ^ ROTL(D(wrap(i + 5, n)), rb[i & 3]); \
		if (n % 4 == 0) { \
			/* q0..q4 = d[i]..d[i+4], already updated (d[n] wraps to d[0], not yet updated) */ \
			T q0 = D(stop), q1 = D(stop + 1), q2 = D(stop + 2), q3 = D(stop + 3), q4 = D(0); \
			for (i = stop; i >= 4; i -= 4) { \
				T y3 = D(i - 1) - (q1 ^ ROTL(q4, 25)); \
				T y2 = D(i - 2) - (q0 ^ q3); \
				T y1 = D(i - 3) - (y3 ^ ROTL(q2, 10)); \
				T y0 = D(i - 4) - (y2 ^ q1); \
				D(i - 1) = y3; \
				D(i - 2) = y2; \
				D(i - 3) = y1; \
				D(i - 4) = y0; \
				q4 = q0; \
				q0 = y0; \
				q1 = y1; \
				q2 = y2; \
				q3 = y3; \
			} \
		} \
	} \
} while (0)

#define DW(k) d[k]
static void a_decrypt(uint32_t *d, size_t n) { A_DECRYPT(uint32_t, DW, n); }
static void a_encrypt(uint32_t *d, size_t n) { A_ENCRYPT(uint32_t, DW, n); }
static void b_decrypt(uint32_t *d, size_t n) { B_DECRYPT(uint32_t, DW, n); }
static void b_encrypt(uint32_t *d, size_t n) { B_ENCRYPT(uint32_t, DW, n); }

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

/* a sector's 32-byte key as one register: twice over in 512 bits (16 words), once in 256 (8 words) */
#define KEY512(p) _mm512_broadcast_i64x4(_mm256_loadu_si256((const void *)(p)))
#define KEY256(p) _mm256_loadu_si256((const void *)(p))

/*
 * One group of up to 2 x L sectors (lanes past m repeat sector 0 and are not written back): two
 * blocks of L sectors transposed into t, word k of block g at t[2k + g], diffused (diffuser A on both
 * blocks at once: A_DECRYPT2), transposed back. The sector key is xored in the transposes (as the
 * data leaves for decryption, as it comes in for encryption): no pass of its own. The body is
 * inlined with enc constant and, for whole groups, m constant, so that the rows of a transpose stay
 * in registers (no branch or lane clamp among them); the rows hold sector data, never a key.
 */
#define T0(k) t[2 * (k)]
#define T1(k) t[2 * (k) + 1]
#define GROUP_BODY(name, V, RAW, L, LOADU, STOREU, TRANSPOSE, KEY, XOR, BDEC, TARGET) \
TARGET __attribute__((always_inline)) static inline void name(uint8_t *buf, size_t m, size_t ss, \
							      const uint8_t *keys, const bool enc, V *t) \
{ \
	const size_t n = ss / 4; \
	for (size_t g = 0; g < 2; g++) \
		for (size_t i0 = 0; i0 < n; i0 += L) { \
			RAW r[L]; \
			for (size_t l = 0; l < L; l++) { \
				size_t s = g * L + l < m ? g * L + l : 0; \
				r[l] = LOADU((const void *)(buf + s * ss + 4 * i0)); \
				if (enc) \
					r[l] = XOR(r[l], KEY(keys + 32 * s)); \
			} \
			TRANSPOSE(r); \
			for (size_t l = 0; l < L; l++) \
				memcpy(&t[2 * (i0 + l) + g], &r[l], sizeof(V)); \
		} \
	if (enc) { \
		A_ENCRYPT(V, T0, n); \
		B_ENCRYPT(V, T0, n); \
		A_ENCRYPT(V, T1, n); \
		B_ENCRYPT(V, T1, n); \
	} else { \
		BDEC(V, T0, n); \
		BDEC(V, T1, n); \
		A_DECRYPT2(V, T0, T1, n); \
	} \
	for (size_t g = 0; g < 2 && g * L < m; g++) \
		for (size_t i0 = 0; i0 < n; i0 += L) { \
			RAW r[L]; \
			for (size_t l = 0; l < L; l++) \
				memcpy(&r[l], &t[2 * (i0 + l) + g], sizeof(V)); \
			TRANSPOSE(r); \
			for (size_t l = 0; l < L; l++) { \
				if (g * L + l >= m) \
					break; \
				if (!enc) \
					r[l] = XOR(r[l], KEY(keys + 32 * (g * L + l))); \
				STOREU((void *)(buf + (g * L + l) * ss + 4 * i0), r[l]); \
			} \
		} \
}

#define GROUP_FN(name, body, V, L, TARGET) \
TARGET static void name(uint8_t *buf, size_t m, size_t ss, const uint8_t *keys, bool enc, V *t) \
{ \
	if (m == 2 * L) { \
		if (enc) \
			body(buf, 2 * L, ss, keys, true, t); \
		else \
			body(buf, 2 * L, ss, keys, false, t); \
	} else { \
		if (enc) \
			body(buf, m, ss, keys, true, t); \
		else \
			body(buf, m, ss, keys, false, t); \
	} \
}

/* B_DECRYPT3's windows need 24 registers: AVX-512 has 32, AVX2 16 (there it was 3-10% slower) */
GROUP_BODY(group8_body, v8u, __m256i, 8, _mm256_loadu_si256, _mm256_storeu_si256, transpose8, KEY256,
	   _mm256_xor_si256, B_DECRYPT, T_AVX2)
GROUP_FN(group8, group8_body, v8u, 8, T_AVX2)

static inline void storeu512(void *p, __m512i v) __attribute__((target("avx512f"), always_inline));
static inline void storeu512(void *p, __m512i v) { _mm512_storeu_si512(p, v); }

GROUP_BODY(group16_body, v16u, __m512i, 16, _mm512_loadu_si512, storeu512, transpose16, KEY512,
	   _mm512_xor_si512, B_DECRYPT3, T_AVX512)
GROUP_FN(group16, group16_body, v16u, 16, T_AVX512)
#endif

void bd_elephant_sectors(int width, uint8_t *buf, size_t count, size_t ss, const uint8_t *keys, bool enc,
			 void *scratch)
{
	size_t i = 0;

#ifdef HAVE_VEC
	if (ss % 16 || ss < 64 || ss > 4096) /* the vector groups: whole 4-word steps, B_DECRYPT3 n >= 16 */
		scratch = NULL;
	/* a group (2 blocks of the vector width) pays for all its lanes: worth it from an eighth of them on */
	if (width >= 16 && scratch)
		for (; count - i >= 4; i += MIN(count - i, (size_t)32))
			group16(buf + i * ss, MIN(count - i, (size_t)32), ss, keys + 32 * i, enc, scratch);
	if (width >= 8 && scratch)
		for (; count - i >= 2; i += MIN(count - i, (size_t)16))
			group8(buf + i * ss, MIN(count - i, (size_t)16), ss, keys + 32 * i, enc, scratch);
#else
	(void)width;
	(void)scratch;
#endif
	for (; i < count; i++)
		one_sector(buf + i * ss, ss, keys + 32 * i, enc);
}
