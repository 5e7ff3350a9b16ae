/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key derivation (format.md §4.3-4.5): the 2^20-round SHA-256 stretch,
 * password and recovery-password hashing.
 *
 * The stretch hashes an 88-byte state {last[32], initial[32], salt[16], u64le count}
 * per round. SHA-256 of 88 bytes is always two compression blocks:
 *   block 1 = last | initial                      (last = previous digest)
 *   block 2 = salt | count | 0x80 | zeros | be64(704)
 * Only `last` and `count` change, so both paths below build the blocks once and
 * run the compression function directly: the portable path through OpenSSL's
 * SHA256_Transform (OpenSSL's own assembly, which uses SHA extensions where the
 * CPU has them), the x86 path with SHA-NI intrinsics and the whole state in
 * registers (no byte swapping of `last`: the digest words are the message words).
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1 /* SHA256_Transform: the low-level API is what we want here */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/sha.h>

#include "crypto.h"
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_X86_SHANI 1
#endif

/* Portable path: OpenSSL compression function on prebuilt blocks. */
static void stretch_openssl(const uint8_t initial[32], const uint8_t salt[16], uint8_t out[32])
{
	uint8_t b1[64], b2[64];
	SHA256_CTX ctx, base;

	memset(b1, 0, 32);
	memcpy(b1 + 32, initial, 32);
	memset(b2, 0, sizeof(b2));
	memcpy(b2, salt, 16);
	b2[24] = 0x80;
	b2[62] = 0x02; /* be64(88 * 8 = 0x2c0) */
	b2[63] = 0xc0;
	SHA256_Init(&base);
	for (uint32_t i = 0; i < BD_STRETCH_ROUNDS; i++) {
		put_le32(b2 + 16, i); /* count < 2^32: the high half stays 0 */
		memcpy(ctx.h, base.h, sizeof(ctx.h));
		SHA256_Transform(&ctx, b1);
		SHA256_Transform(&ctx, b2);
		for (int w = 0; w < 8; w++) {
			uint32_t v = __builtin_bswap32(ctx.h[w]);
			memcpy(b1 + 4 * w, &v, 4);
		}
	}
	memcpy(out, b1, 32);
	bd_wipe(b1, sizeof(b1));
	bd_wipe(b2, sizeof(b2));
	bd_wipe(&ctx, sizeof(ctx));
}

/* Reference path: the spec's loop, literally, through SHA256_Init/Update/Final (tests only). */
static void stretch_reference(const uint8_t initial[32], const uint8_t salt[16], uint8_t out[32])
{
	uint8_t st[88];
	SHA256_CTX ctx;

	memset(st, 0, 32);
	memcpy(st + 32, initial, 32);
	memcpy(st + 64, salt, 16);
	for (uint64_t i = 0; i < BD_STRETCH_ROUNDS; i++) {
		put_le64(st + 80, i);
		SHA256_Init(&ctx);
		SHA256_Update(&ctx, st, sizeof(st));
		SHA256_Final(st, &ctx);
	}
	memcpy(out, st, 32);
	bd_wipe(st, sizeof(st));
	bd_wipe(&ctx, sizeof(ctx));
}

#ifdef HAVE_X86_SHANI
static const uint32_t sha256_k[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Four rounds with message words m (lanes = W[k..k+3]). s0 = ABEF, s1 = CDGH. */
#define SHANI_4ROUNDS(k, m) do { \
	__m128i t_ = _mm_add_epi32((m), _mm_load_si128((const __m128i *)&sha256_k[k])); \
	s1 = _mm_sha256rnds2_epu32(s1, s0, t_); \
	t_ = _mm_shuffle_epi32(t_, 0x0E); \
	s0 = _mm_sha256rnds2_epu32(s0, s1, t_); \
} while (0)
/* a = W[i-16..i-13] -> W[i..i+3] given b = W[i-12..], c = W[i-8..], d = W[i-4..]. */
#define SHANI_SCHED(a, b, c, d) \
	((a) = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((a), (b)), \
						  _mm_alignr_epi8((d), (c), 4)), (d)))

/* One compression with feed-forward; st0, st1 hold ABEF/CDGH; m0..m3 = W[0..15]. */
__attribute__((target("sha,sse4.1"), always_inline)) static inline void
shani_compress(__m128i *st0, __m128i *st1, __m128i m0, __m128i m1, __m128i m2, __m128i m3)
{
	__m128i s0 = *st0, s1 = *st1;

	SHANI_4ROUNDS(0, m0);
	SHANI_4ROUNDS(4, m1);
	SHANI_4ROUNDS(8, m2);
	SHANI_4ROUNDS(12, m3);
	for (int r = 16; r < 64; r += 16) {
		SHANI_SCHED(m0, m1, m2, m3);
		SHANI_4ROUNDS(r, m0);
		SHANI_SCHED(m1, m2, m3, m0);
		SHANI_4ROUNDS(r + 4, m1);
		SHANI_SCHED(m2, m3, m0, m1);
		SHANI_4ROUNDS(r + 8, m2);
		SHANI_SCHED(m3, m0, m1, m2);
		SHANI_4ROUNDS(r + 12, m3);
	}
	*st0 = _mm_add_epi32(*st0, s0);
	*st1 = _mm_add_epi32(*st1, s1);
}

__attribute__((target("sha,sse4.1"))) static void
stretch_shani(const uint8_t initial[32], const uint8_t salt[16], uint8_t out[32])
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	/* SHA-256 initial value, in the ABEF / CDGH lane order sha256rnds2 wants. */
	const __m128i iv0 = _mm_set_epi32(0x6a09e667, 0xbb67ae85, 0x510e527f, 0x9b05688c);
	const __m128i iv1 = _mm_set_epi32(0x3c6ef372, 0xa54ff53a, 0x1f83d9ab, 0x5be0cd19);
	/* Message words in lane order W[k], W[k+1], ... (big-endian loads). */
	const __m128i ini0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)initial), bswap);
	const __m128i ini1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(initial + 16)), bswap);
	const __m128i salt0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)salt), bswap);
	const __m128i zero = _mm_setzero_si128();
	const __m128i len = _mm_set_epi32(88 * 8, 0, 0, 0);          /* W12..W15 */
	__m128i last0 = zero, last1 = zero;                            /* W0..W7 of block 1 */

	for (uint32_t i = 0; i < BD_STRETCH_ROUNDS; i++) {
		__m128i a = iv0, b = iv1, t, u;
		/* W4 = the count's low 4 bytes read big-endian, W5 = 0, W6 = 0x80 pad. */
		__m128i cnt = _mm_set_epi32(0, (int)0x80000000u, 0, (int)__builtin_bswap32(i));

		shani_compress(&a, &b, last0, last1, ini0, ini1);
		shani_compress(&a, &b, salt0, cnt, zero, len);
		/* ABEF/CDGH -> H0..H3 / H4..H7, which are next round's W0..W7. */
		t = _mm_shuffle_epi32(a, 0x1B);   /* F E B A */
		u = _mm_shuffle_epi32(b, 0xB1);   /* D C H G */
		last0 = _mm_blend_epi16(t, u, 0xF0);  /* lanes A B C D */
		last1 = _mm_alignr_epi8(u, t, 8);     /* lanes E F G H */
	}
	_mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(last0, bswap));
	_mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(last1, bswap));
}

/*
 * Several independent stretches interleaved (the recovery-password search): SHA256RNDS2 has a
 * latency several times its issue interval, so one stream leaves the SHA unit mostly idle; with N
 * streams the rounds of stream k+1 issue while stream k's are in flight. Same computation as
 * stretch_shani, lane by lane (tests compare them on random inputs).
 */
/* The multi-stream kernels below compute in registers and locals only; under the sanitizers their
 * instrumented locals made the tests 40x slower, so they are left uninstrumented (their results
 * are still checked against the single stream in the sanitizer runs). */
#define NO_SAN __attribute__((no_sanitize("address", "undefined")))
#define EACH(stmt) _Pragma("GCC unroll 4") for (int k = 0; k < N; k++) { stmt; }
#define SHANI_4ROUNDS_N(r, m) do { \
	const __m128i kr_ = _mm_load_si128((const __m128i *)&sha256_k[r]); \
	EACH(t[k] = _mm_add_epi32((m)[k], kr_); s1[k] = _mm_sha256rnds2_epu32(s1[k], s0[k], t[k])) \
	EACH(t[k] = _mm_shuffle_epi32(t[k], 0x0E); s0[k] = _mm_sha256rnds2_epu32(s0[k], s1[k], t[k])) \
} while (0)
#define SHANI_SCHED_N(a, b, c, d) EACH(SHANI_SCHED((a)[k], (b)[k], (c)[k], (d)[k]))
#define SHANI_COMPRESS_N() do { \
	SHANI_4ROUNDS_N(0, m0); SHANI_4ROUNDS_N(4, m1); SHANI_4ROUNDS_N(8, m2); SHANI_4ROUNDS_N(12, m3); \
	for (int r = 16; r < 64; r += 16) { \
		SHANI_SCHED_N(m0, m1, m2, m3); SHANI_4ROUNDS_N(r, m0); \
		SHANI_SCHED_N(m1, m2, m3, m0); SHANI_4ROUNDS_N(r + 4, m1); \
		SHANI_SCHED_N(m2, m3, m0, m1); SHANI_4ROUNDS_N(r + 8, m2); \
		SHANI_SCHED_N(m3, m0, m1, m2); SHANI_4ROUNDS_N(r + 12, m3); \
	} \
} while (0)

NO_SAN __attribute__((target("sha,sse4.1"), always_inline)) static inline void
stretch_shani_n(const int N, const uint8_t (*initial)[32], const uint8_t (*salt)[16], uint8_t (*out)[32],
		uint32_t rounds)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	const __m128i iv0 = _mm_set_epi32(0x6a09e667, 0xbb67ae85, 0x510e527f, 0x9b05688c);
	const __m128i iv1 = _mm_set_epi32(0x3c6ef372, 0xa54ff53a, 0x1f83d9ab, 0x5be0cd19);
	const __m128i zero = _mm_setzero_si128();
	const __m128i len = _mm_set_epi32(88 * 8, 0, 0, 0);
	__m128i ini0[4], ini1[4], salt0[4], last0[4], last1[4];
	__m128i s0[4], s1[4], f0[4], f1[4], m0[4], m1[4], m2[4], m3[4], t[4];

	EACH(ini0[k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)initial[k]), bswap))
	EACH(ini1[k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(initial[k] + 16)), bswap))
	EACH(salt0[k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)salt[k]), bswap))
	EACH(last0[k] = zero; last1[k] = zero)
	for (uint32_t i = 0; i < rounds; i++) {
		const __m128i cnt = _mm_set_epi32(0, (int)0x80000000u, 0, (int)__builtin_bswap32(i));

		/* block 1: last | initial, from the initial value */
		EACH(s0[k] = iv0; s1[k] = iv1; m0[k] = last0[k]; m1[k] = last1[k]; m2[k] = ini0[k]; m3[k] = ini1[k])
		SHANI_COMPRESS_N();
		EACH(f0[k] = s0[k] = _mm_add_epi32(s0[k], iv0); f1[k] = s1[k] = _mm_add_epi32(s1[k], iv1))
		/* block 2: salt | count | padding */
		EACH(m0[k] = salt0[k]; m1[k] = cnt; m2[k] = zero; m3[k] = len)
		SHANI_COMPRESS_N();
		EACH(s0[k] = _mm_add_epi32(s0[k], f0[k]); s1[k] = _mm_add_epi32(s1[k], f1[k]))
		EACH(t[k] = _mm_shuffle_epi32(s0[k], 0x1B); s1[k] = _mm_shuffle_epi32(s1[k], 0xB1);
		     last0[k] = _mm_blend_epi16(t[k], s1[k], 0xF0); last1[k] = _mm_alignr_epi8(s1[k], t[k], 8))
	}
	EACH(_mm_storeu_si128((__m128i *)out[k], _mm_shuffle_epi8(last0[k], bswap));
	     _mm_storeu_si128((__m128i *)(out[k] + 16), _mm_shuffle_epi8(last1[k], bswap)))
	EACH(last0[k] = last1[k] = s0[k] = s1[k] = f0[k] = f1[k] = m0[k] = m1[k] = zero)
	__asm__ volatile("" : : "m"(last0), "m"(last1), "m"(s0), "m"(s1), "m"(f0), "m"(f1), "m"(m0), "m"(m1) : "memory");
}

NO_SAN __attribute__((target("sha,sse4.1"))) static void
stretch_shani_x1(const uint8_t (*initial)[32], const uint8_t (*salt)[16], uint8_t (*out)[32], uint32_t rounds)
{
	stretch_shani_n(1, initial, salt, out, rounds);
}

NO_SAN __attribute__((target("sha,sse4.1"))) static void
stretch_shani_x2(const uint8_t (*initial)[32], const uint8_t (*salt)[16], uint8_t (*out)[32], uint32_t rounds)
{
	stretch_shani_n(2, initial, salt, out, rounds);
}

NO_SAN __attribute__((target("sha,sse4.1"))) static void
stretch_shani_x3(const uint8_t (*initial)[32], const uint8_t (*salt)[16], uint8_t (*out)[32], uint32_t rounds)
{
	stretch_shani_n(3, initial, salt, out, rounds);
}

NO_SAN __attribute__((target("sha,sse4.1"))) static void
stretch_shani_x4(const uint8_t (*initial)[32], const uint8_t (*salt)[16], uint8_t (*out)[32], uint32_t rounds)
{
	stretch_shani_n(4, initial, salt, out, rounds);
}

/*
 * Without SHA-NI: one stretch per 32-bit lane of an AVX2 (8) or AVX-512 (16) register, the plain
 * FIPS 180-4 compression written over vectors (GCC/clang vector extensions).
 */
typedef uint32_t lv8 __attribute__((vector_size(32)));
typedef uint32_t lv16 __attribute__((vector_size(64)));
#define ROR(x, r) (((x) >> (r)) | ((x) << (32 - (r))))
#define SHA_ROUND(t) do { \
	if ((t) >= 16) \
		w[(t) & 15] += (ROR(w[((t) - 2) & 15], 17) ^ ROR(w[((t) - 2) & 15], 19) ^ (w[((t) - 2) & 15] >> 10)) + \
			       w[((t) - 7) & 15] + \
			       (ROR(w[((t) - 15) & 15], 7) ^ ROR(w[((t) - 15) & 15], 18) ^ (w[((t) - 15) & 15] >> 3)); \
	x1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[t] + w[(t) & 15]; \
	x2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c)); \
	h = g; g = f; f = e; e = d + x1; d = c; c = b; b = a; a = x1 + x2; \
} while (0)
#define SHA_COMPRESS(V, st, w) do { \
	V a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7], x1, x2; \
	_Pragma("GCC unroll 64") for (int t = 0; t < 64; t++) SHA_ROUND(t); \
	st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h; \
} while (0)
#define LANES_STRETCH(V, L) do { \
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, \
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }; \
	V ini[8], sl[4], last[8], st[8], w[16]; \
	for (int j = 0; j < 8; j++) \
		for (size_t l = 0; l < (L); l++) \
			ini[j][l] = be32(initial[l < n ? l : 0] + 4 * j); \
	for (int j = 0; j < 4; j++) \
		for (size_t l = 0; l < (L); l++) \
			sl[j][l] = be32(salt[l < n ? l : 0] + 4 * j); \
	for (int j = 0; j < 8; j++) \
		last[j] = ini[0] ^ ini[0]; \
	for (uint32_t i = 0; i < rounds; i++) { \
		for (int j = 0; j < 8; j++) { \
			st[j] = last[j] ^ last[j]; \
			st[j] += iv[j]; \
			w[j] = last[j]; \
			w[8 + j] = ini[j]; \
		} \
		SHA_COMPRESS(V, st, w); \
		for (int j = 0; j < 16; j++) \
			w[j] = st[0] ^ st[0]; \
		for (int j = 0; j < 4; j++) \
			w[j] = sl[j]; \
		w[4] += __builtin_bswap32(i); \
		w[6] += 0x80000000u; \
		w[15] += 88 * 8; \
		SHA_COMPRESS(V, st, w); \
		for (int j = 0; j < 8; j++) \
			last[j] = st[j]; \
	} \
	for (size_t l = 0; l < n && l < (L); l++) \
		for (int j = 0; j < 8; j++) \
			put_be32(out[l] + 4 * j, last[j][l]); \
	memset(last, 0, sizeof(last)); \
	memset(st, 0, sizeof(st)); \
	memset(w, 0, sizeof(w)); \
	memset(ini, 0, sizeof(ini)); \
	__asm__ volatile("" : : "m"(last), "m"(st), "m"(w), "m"(ini) : "memory"); \
} while (0)

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* n <= 8 stretches; lanes past n repeat lane 0 and are dropped */
NO_SAN __attribute__((target("avx2"))) static void
stretch_avx2(size_t n, const uint8_t (*initial)[32], const uint8_t (*salt)[16], uint8_t (*out)[32], uint32_t rounds)
{
	LANES_STRETCH(lv8, 8);
}

NO_SAN __attribute__((target("avx2,avx512f"))) static void
stretch_avx512(size_t n, const uint8_t (*initial)[32], const uint8_t (*salt)[16], uint8_t (*out)[32], uint32_t rounds)
{
	LANES_STRETCH(lv16, 16);
}

/*
 * The search's case, the same salt in every lane: AVX-512 with the ISA's rotate and three-input
 * logic (vprord, vpternlogd), G groups of 16 lanes (G = 1 in use, see stretch_z16; stretch_zm32 interleaves two). Block 2's message (salt | count | padding) is the same in every lane, so its schedule W[0..63] + K
 * is computed once per round in scalar registers (other execution ports) and each round adds it as
 * a broadcast. In block 1, W[8..15] (the initial hash) never change: W[8..15] + K and the parts of
 * W[16..31] made of them alone are computed once per call, and round 0 (from the initial value) has
 * its constant half folded.
 */
#define S32R(x, r) (((x) >> (r)) | ((x) << (32 - (r))))
#define SS0(x) (S32R(x, 7) ^ S32R(x, 18) ^ ((x) >> 3))
#define SS1(x) (S32R(x, 17) ^ S32R(x, 19) ^ ((x) >> 10))

#define ZROR(x, r) _mm512_ror_epi32((x), (r))
#define ZS0(x) _mm512_ternarylogic_epi32(ZROR(x, 2), ZROR(x, 13), ZROR(x, 22), 0x96)
#define ZS1(x) _mm512_ternarylogic_epi32(ZROR(x, 6), ZROR(x, 11), ZROR(x, 25), 0x96)
#define Zs0(x) _mm512_ternarylogic_epi32(ZROR(x, 7), ZROR(x, 18), _mm512_srli_epi32((x), 3), 0x96)
#define Zs1(x) _mm512_ternarylogic_epi32(ZROR(x, 17), ZROR(x, 19), _mm512_srli_epi32((x), 10), 0x96)
#define ZCH(e, f, g) _mm512_ternarylogic_epi32((e), (f), (g), 0xCA)
#define ZMAJ(a, b, c) _mm512_ternarylogic_epi32((a), (b), (c), 0xE8)
#define ZADD(x, y) _mm512_add_epi32((x), (y))
#define ZK(t) _mm512_set1_epi32((int)sha256_k[(t)])

/*
 * kw[t][j] = W[t] + K[t] of block 2 (salt | be32(count) | 0 | 0x80000000 | 0... | 704) for the count
 * i0 + j, 16 counts at once (a lane each). kw[t] for t < 19 but 4 do not depend on the count and
 * are filled by the caller once.
 */
NO_SAN __attribute__((target("avx512f"), always_inline)) static inline void
block2_kw16(uint32_t (*kw)[16], const uint32_t base[19], uint32_t i0)
{
	uint32_t c[16] __attribute__((aligned(64)));
	__m512i w[64];

	for (int j = 0; j < 16; j++)
		c[j] = __builtin_bswap32(i0 + (uint32_t)j);
	for (int t = 0; t < 19; t++)
		w[t] = _mm512_set1_epi32((int)base[t]);
	w[4] = _mm512_load_si512(c);
	_mm512_store_si512(kw[4], ZADD(w[4], ZK(4)));
	_Pragma("GCC unroll 64") for (int t = 19; t < 64; t++) {
		w[t] = ZADD(ZADD(Zs1(w[t - 2]), w[t - 7]), ZADD(Zs0(w[t - 15]), w[t - 16]));
		_mm512_store_si512(kw[t], ZADD(w[t], ZK(t)));
	}
}

/* Block 1's W[t] + K[t] (t a constant once inlined): w[0..7] = W[0..7] (the previous digest), then the
 * ring of W[16..]; ik = W[8..15] + K; c[t - 16] = the part of W[t], t = 16..31, made of W[8..15]. */
NO_SAN __attribute__((target("avx512f"), always_inline)) static inline __m512i
kw1(const int t, __m512i *w, const __m512i *ik, const __m512i *c)
{
	__m512i x;

	if (t < 8)
		return ZADD(w[t], ZK(t));
	if (t < 16)
		return ik[t - 8];
	if (t < 18)      /* s1(W[t-2]) + W[t-7] in c */
		x = ZADD(ZADD(c[t - 16], Zs0(w[t - 15])), w[t - 16]);
	else if (t < 23) /* W[t-7] in c */
		x = ZADD(ZADD(c[t - 16], Zs1(w[(t - 2) & 15])), ZADD(Zs0(w[t - 15]), w[t - 16]));
	else if (t == 23) /* s0(W8) in c */
		x = ZADD(ZADD(c[7], Zs1(w[(t - 2) & 15])), ZADD(w[(t - 7) & 15], w[t - 16]));
	else if (t < 31) /* s0(W[t-15]) + W[t-16] in c */
		x = ZADD(ZADD(c[t - 16], Zs1(w[(t - 2) & 15])), w[(t - 7) & 15]);
	else if (t == 31) /* W15 in c */
		x = ZADD(ZADD(c[15], Zs1(w[(t - 2) & 15])), ZADD(w[(t - 7) & 15], Zs0(w[(t - 15) & 15])));
	else
		x = ZADD(ZADD(Zs1(w[(t - 2) & 15]), w[(t - 7) & 15]), ZADD(Zs0(w[(t - 15) & 15]), w[(t - 16) & 15]));
	w[t & 15] = x;
	return ZADD(x, ZK(t));
}

#define EACHG(stmt) _Pragma("GCC unroll 4") for (int k = 0; k < G; k++) { stmt; }
/*
 * One round t on every group; d and h take the new e and a. The sums are ordered (and pinned with
 * empty asm, or GCC reassociates them) for the shortest dependency chains with 2-cycle vector ops:
 * everything but Ch and S1(e) is summed before e is known, so the next e is ror, ternlog, add
 * (6 cycles) after e; the next a adds S0(a) last. On an AMD Zen 5 this alone took the 16 lanes from
 * 29 to 36-39 stretches/s.
 */
#define ZPIN(x) __asm__("" : "+v"(x))
#define ZRND(t, a, b, c, d, e, f, g, h) EACHG( \
	__m512i hk_ = ZADD(h[k], KW(k, t)); ZPIN(hk_); \
	__m512i dk_ = ZADD(d[k], hk_); ZPIN(dk_); \
	__m512i ch_ = ZCH(e[k], f[k], g[k]); \
	__m512i v_ = ZADD(dk_, ch_); ZPIN(v_); \
	__m512i ne_ = ZADD(v_, ZS1(e[k])); ZPIN(ne_); \
	__m512i y_ = _mm512_sub_epi32(ne_, d[k]); ZPIN(y_); \
	d[k] = ne_; \
	y_ = ZADD(y_, ZMAJ(a[k], b[k], c[k])); ZPIN(y_); \
	h[k] = ZADD(y_, ZS0(a[k])))
#define ZRND8(t) do { \
	ZRND((t) + 0, sa, sb, sc, sd, se, sf, sg, sh); ZRND((t) + 1, sh, sa, sb, sc, sd, se, sf, sg); \
	ZRND((t) + 2, sg, sh, sa, sb, sc, sd, se, sf); ZRND((t) + 3, sf, sg, sh, sa, sb, sc, sd, se); \
	ZRND((t) + 4, se, sf, sg, sh, sa, sb, sc, sd); ZRND((t) + 5, sd, se, sf, sg, sh, sa, sb, sc); \
	ZRND((t) + 6, sc, sd, se, sf, sg, sh, sa, sb); ZRND((t) + 7, sb, sc, sd, se, sf, sg, sh, sa); \
} while (0)

/* The one-salt kernels' common parts (stretch_z_same_salt, stretch_zm_same_salt). */
static const uint32_t sha256_iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

/* Block 2's schedule for count 0 (base; block2_kw16 makes the words that depend on the count) and its
 * W + K for rounds 0..18, the same in every lane */
static void same_salt_block2(const uint8_t salt[16], uint32_t base[19], uint32_t (*kw2)[16])
{
	memset(base, 0, 19 * sizeof(*base));
	for (int t = 0; t < 4; t++)
		base[t] = be32(salt + 4 * t);
	base[6] = 0x80000000u;
	base[15] = 88 * 8;
	for (int t = 16; t < 19; t++)
		base[t] = SS1(base[t - 2]) + base[t - 7] + SS0(base[t - 15]) + base[t - 16];
	for (int t = 0; t < 19; t++)
		for (int j = 0; j < 16; j++)
			kw2[t][j] = base[t] + sha256_k[t];
}

/* Group k's block-1 words that depend only on its passwords' hashes (W[8..15], lanes past n repeat
 * lane 0): W[8 + j] + K into ik[j], and c[t - 16], the part of W[t], t = 16..31, made of them (kw1) */
NO_SAN __attribute__((target("avx512f"), always_inline)) static inline void
same_salt_group(int k, size_t n, const uint8_t (*initial)[32], __m512i ik[8], __m512i c[16])
{
	uint32_t lanes[16] __attribute__((aligned(64)));
	__m512i v[8];

	for (int j = 0; j < 8; j++) {
		for (size_t l = 0; l < 16; l++) {
			size_t s = 16 * (size_t)k + l;
			lanes[l] = be32(initial[s < n ? s : 0] + 4 * j);
		}
		v[j] = _mm512_load_si512(lanes);                 /* W[8 + j] */
		ik[j] = ZADD(v[j], ZK(8 + j));
	}
	c[0] = ZADD(Zs1(v[6]), v[1]);                            /* 16: s1(W14) + W9 */
	c[1] = ZADD(Zs1(v[7]), v[2]);                            /* 17: s1(W15) + W10 */
	for (int t = 18; t < 23; t++)
		c[t - 16] = v[t - 15];                           /* W[t-7] = W11..W15 */
	c[7] = Zs0(v[0]);                                        /* 23: s0(W8) */
	for (int t = 24; t < 31; t++)
		c[t - 16] = ZADD(Zs0(v[t - 23]), v[t - 24]);     /* s0(W[t-15]) + W[t-16] */
	c[15] = v[7];                                            /* 31: W15 */
	memset(lanes, 0, sizeof(lanes));
	memset(v, 0, sizeof(v));
	__asm__ volatile("" : : "m"(lanes), "m"(v) : "memory");
}

/* Round 0 of block 1 from the initial value: T1 = c1 + W0, e = d + T1, a = c2 + W0 */
static void same_salt_round0(uint32_t *c1, uint32_t *c2)
{
	const uint32_t *iv = sha256_iv;

	*c1 = iv[7] + (S32R(iv[4], 6) ^ S32R(iv[4], 11) ^ S32R(iv[4], 25)) +
	      ((iv[4] & iv[5]) ^ (~iv[4] & iv[6])) + sha256_k[0];
	*c2 = *c1 + (S32R(iv[0], 2) ^ S32R(iv[0], 13) ^ S32R(iv[0], 22)) +
	      ((iv[0] & iv[1]) ^ (iv[0] & iv[2]) ^ (iv[1] & iv[2]));
}

/* Group k's digests, w[0..7], to out[16 k ..] (lanes up to n) */
NO_SAN __attribute__((target("avx512f"), always_inline)) static inline void
same_salt_store(int k, size_t n, const __m512i w[8], uint8_t (*out)[32])
{
	uint32_t lanes[16] __attribute__((aligned(64)));

	for (int j = 0; j < 8; j++) {
		_mm512_store_si512(lanes, w[j]);
		for (size_t l = 0; l < 16 && 16 * (size_t)k + l < n; l++)
			put_be32(out[16 * k + l] + 4 * j, lanes[l]);
	}
	memset(lanes, 0, sizeof(lanes));
	__asm__ volatile("" : : "m"(lanes) : "memory");
}

/* Block 1's feed-forward (kept in ff for block 2's) and block 2's, into the next iteration's W[0..7] */
#define ZFEED1() EACHG( \
	ff[k][0] = sa[k] = ZADD(sa[k], _mm512_set1_epi32((int)sha256_iv[0])); \
	ff[k][1] = sb[k] = ZADD(sb[k], _mm512_set1_epi32((int)sha256_iv[1])); \
	ff[k][2] = sc[k] = ZADD(sc[k], _mm512_set1_epi32((int)sha256_iv[2])); \
	ff[k][3] = sd[k] = ZADD(sd[k], _mm512_set1_epi32((int)sha256_iv[3])); \
	ff[k][4] = se[k] = ZADD(se[k], _mm512_set1_epi32((int)sha256_iv[4])); \
	ff[k][5] = sf[k] = ZADD(sf[k], _mm512_set1_epi32((int)sha256_iv[5])); \
	ff[k][6] = sg[k] = ZADD(sg[k], _mm512_set1_epi32((int)sha256_iv[6])); \
	ff[k][7] = sh[k] = ZADD(sh[k], _mm512_set1_epi32((int)sha256_iv[7])))
#define ZFEED2(w) EACHG( \
	w[k][0] = ZADD(sa[k], ff[k][0]); w[k][1] = ZADD(sb[k], ff[k][1]); \
	w[k][2] = ZADD(sc[k], ff[k][2]); w[k][3] = ZADD(sd[k], ff[k][3]); \
	w[k][4] = ZADD(se[k], ff[k][4]); w[k][5] = ZADD(sf[k], ff[k][5]); \
	w[k][6] = ZADD(sg[k], ff[k][6]); w[k][7] = ZADD(sh[k], ff[k][7]))
/* block 1's first state, round 0 folded in (same_salt_round0) */
#define ZINIT1(w) EACHG( \
	sa[k] = _mm512_set1_epi32((int)sha256_iv[0]); sb[k] = _mm512_set1_epi32((int)sha256_iv[1]); \
	sc[k] = _mm512_set1_epi32((int)sha256_iv[2]); se[k] = _mm512_set1_epi32((int)sha256_iv[4]); \
	sf[k] = _mm512_set1_epi32((int)sha256_iv[5]); sg[k] = _mm512_set1_epi32((int)sha256_iv[6]); \
	sd[k] = ZADD(_mm512_set1_epi32((int)(sha256_iv[3] + c1)), w[k][0]); \
	sh[k] = ZADD(_mm512_set1_epi32((int)c2), w[k][0]))

NO_SAN __attribute__((target("avx512f"), always_inline)) static inline void
stretch_z_same_salt(const int G, size_t n, const uint8_t (*initial)[32], const uint8_t salt[16],
		    uint8_t (*out)[32], uint32_t rounds)
{
	uint32_t base[19], kw2[64][16] __attribute__((aligned(64)));
	__m512i ik[4][8], c[4][16], w[4][16], ff[4][8];
	__m512i sa[4], sb[4], sc[4], sd[4], se[4], sf[4], sg[4], sh[4];
	uint32_t c1, c2;

	same_salt_block2(salt, base, kw2);
	for (int k = 0; k < G; k++) {
		same_salt_group(k, n, initial, ik[k], c[k]);
		for (int j = 0; j < 8; j++)
			w[k][j] = _mm512_setzero_si512();        /* the first round's W[0..7] */
	}
	same_salt_round0(&c1, &c2);

	for (uint32_t i = 0; i < rounds; i++) {
		if (!(i & 15))
			block2_kw16(kw2, base, i);
		/* ---- block 1: last | initial ---- */
		ZINIT1(w);
#define KW(k, t) kw1((t), w[k], ik[k], c[k])
		ZRND(1, sh, sa, sb, sc, sd, se, sf, sg);
		ZRND(2, sg, sh, sa, sb, sc, sd, se, sf); ZRND(3, sf, sg, sh, sa, sb, sc, sd, se);
		ZRND(4, se, sf, sg, sh, sa, sb, sc, sd); ZRND(5, sd, se, sf, sg, sh, sa, sb, sc);
		ZRND(6, sc, sd, se, sf, sg, sh, sa, sb); ZRND(7, sb, sc, sd, se, sf, sg, sh, sa);
		ZRND8(8); ZRND8(16); ZRND8(24); ZRND8(32); ZRND8(40); ZRND8(48); ZRND8(56);
#undef KW
		ZFEED1();
		/* ---- block 2: salt | count | padding, the same in every lane ---- */
#define KW(k, t) _mm512_set1_epi32((int)kw2[(t)][i & 15])
		ZRND8(0); ZRND8(8); ZRND8(16); ZRND8(24); ZRND8(32); ZRND8(40); ZRND8(48); ZRND8(56);
#undef KW
		ZFEED2(w);
	}
	for (int k = 0; k < G; k++)
		same_salt_store(k, n, w[k], out);
	memset(kw2, 0, sizeof(kw2));
	memset(ik, 0, sizeof(ik));
	memset(c, 0, sizeof(c));
	memset(w, 0, sizeof(w));
	memset(ff, 0, sizeof(ff));
	EACHG(sa[k] = sb[k] = sc[k] = sd[k] = se[k] = sf[k] = sg[k] = sh[k] = _mm512_setzero_si512())
	__asm__ volatile("" : : "m"(kw2), "m"(ik), "m"(c), "m"(w), "m"(ff) : "memory");
}

/* n <= 16 stretches, all with one salt; lanes past n repeat lane 0 and are dropped. Two groups of 16
 * interleaved in this form (32 lanes) measured slower on Zen 5 (31-33/s: the unrolled code and
 * register spills; stretch_zm32 below does it), and so did 2-8 SHA-NI streams interleaved with the
 * 16 lanes (the times added up: no overlap). */
NO_SAN __attribute__((target("avx512f"))) static void
stretch_z16(size_t n, const uint8_t (*initial)[32], const uint8_t salt[16], uint8_t (*out)[32], uint32_t rounds)
{
	stretch_z_same_salt(1, n, initial, salt, out, rounds);
}

/*
 * The same computation with block 1's schedule in memory: W[t] and W[t] + K[t] of block 1 go to
 * stack arrays (each word made right after the round 16 before the one that needs it), and both
 * blocks' rounds read their W + K as a memory operand (block 1) or a broadcast (block 2), so the
 * rounds hold only the state and their temporaries in registers and two groups (32 lanes)
 * interleave without spills. One group's round is a dependency chain of ~8 cycles with Zen 5's
 * 2-cycle vector ops (measured: 8.2 cycles a round in a model of block 2's rounds alone) while its
 * 17 operations need ~4.5 cycles of the 4 vector pipes (2 of them for rotates and shifts): two
 * independent groups fill the gaps (the model: 5.3 cycles a round per group).
 * Measured slower on Zen 5 (gcc 12 -O3, thread CPU time): three groups (48 lanes, spills: 46/s
 * against 61/s), and the 16-operation round (T1 summed once, a longer chain: 55/s against 62/s).
 */
/* Block 1's W[t], 16 <= t < 64, of one group into W[t] and W[t] + K[t] into kw[t], from W[] in memory
 * (W[0..7] the previous digest; W[8..15], the same every iteration, are only read through c, as in
 * kw1); t a constant once inlined */
NO_SAN __attribute__((target("avx512f"), always_inline)) static inline void
sched1(const int t, __m512i *W, __m512i *kw, const __m512i *c)
{
	__m512i x;

	if (t < 18)
		x = ZADD(ZADD(c[t - 16], Zs0(W[t - 15])), W[t - 16]);
	else if (t < 23)
		x = ZADD(ZADD(c[t - 16], Zs1(W[t - 2])), ZADD(Zs0(W[t - 15]), W[t - 16]));
	else if (t == 23)
		x = ZADD(ZADD(c[7], Zs1(W[21])), ZADD(W[16], W[7]));
	else if (t < 31)
		x = ZADD(ZADD(c[t - 16], Zs1(W[t - 2])), W[t - 7]);
	else if (t == 31)
		x = ZADD(ZADD(c[15], Zs1(W[29])), ZADD(W[24], Zs0(W[16])));
	else
		x = ZADD(ZADD(Zs1(W[t - 2]), W[t - 7]), ZADD(Zs0(W[t - 15]), W[t - 16]));
	W[t] = x;
	kw[t] = ZADD(x, ZK(t));
}

/* the same for 32 <= t < 64, t a variable */
NO_SAN __attribute__((target("avx512f"), always_inline)) static inline void
sched1g(int t, __m512i *W, __m512i *kw)
{
	__m512i x = ZADD(ZADD(Zs1(W[t - 2]), W[t - 7]), ZADD(Zs0(W[t - 15]), W[t - 16]));

	W[t] = x;
	kw[t] = ZADD(x, _mm512_set1_epi32((int)sha256_k[t]));
}

NO_SAN __attribute__((target("avx512f"), always_inline)) static inline void
stretch_zm_same_salt(const int G, size_t n, const uint8_t (*initial)[32], const uint8_t salt[16],
		     uint8_t (*out)[32], uint32_t rounds)
{
	uint32_t base[19], kw2[64][16] __attribute__((aligned(64)));
	__m512i wv[2][64], kwv[2][64], c[2][16], ff[2][8];      /* G <= 2 */
	__m512i sa[4], sb[4], sc[4], sd[4], se[4], sf[4], sg[4], sh[4];
	uint32_t c1, c2;

	same_salt_block2(salt, base, kw2);
	for (int k = 0; k < G; k++) {
		same_salt_group(k, n, initial, &kwv[k][8], c[k]);
		for (int j = 0; j < 8; j++)
			wv[k][j] = _mm512_setzero_si512();       /* the first round's W[0..7] */
	}
	same_salt_round0(&c1, &c2);

	for (uint32_t i = 0; i < rounds; i++) {
		if (!(i & 15))
			block2_kw16(kw2, base, i);
		/* ---- block 1: last | initial; round 0 from the initial value ---- */
		EACHG(_Pragma("GCC unroll 8") for (int t = 1; t < 8; t++) kwv[k][t] = ZADD(wv[k][t], ZK(t)))
		ZINIT1(wv);
		/* the schedule word round t + 16 needs is made after round t, in memory, so that its
		 * operations fill the rounds' gaps */
#define KW(k, t) kwv[k][t]
#define ZRNDS(t, ...) do { ZRND(t, __VA_ARGS__); EACHG(sched1((t) + 16, wv[k], kwv[k], c[k])) } while (0)
#define ZRNDSG(t, ...) do { ZRND(t, __VA_ARGS__); EACHG(sched1g((t) + 16, wv[k], kwv[k])) } while (0)
#define ZRND8S(R, t) do { \
	R((t) + 0, sa, sb, sc, sd, se, sf, sg, sh); R((t) + 1, sh, sa, sb, sc, sd, se, sf, sg); \
	R((t) + 2, sg, sh, sa, sb, sc, sd, se, sf); R((t) + 3, sf, sg, sh, sa, sb, sc, sd, se); \
	R((t) + 4, se, sf, sg, sh, sa, sb, sc, sd); R((t) + 5, sd, se, sf, sg, sh, sa, sb, sc); \
	R((t) + 6, sc, sd, se, sf, sg, sh, sa, sb); R((t) + 7, sb, sc, sd, se, sf, sg, sh, sa); \
} while (0)
		EACHG(sched1(16, wv[k], kwv[k], c[k]))
		ZRNDS(1, sh, sa, sb, sc, sd, se, sf, sg);
		ZRNDS(2, sg, sh, sa, sb, sc, sd, se, sf); ZRNDS(3, sf, sg, sh, sa, sb, sc, sd, se);
		ZRNDS(4, se, sf, sg, sh, sa, sb, sc, sd); ZRNDS(5, sd, se, sf, sg, sh, sa, sb, sc);
		ZRNDS(6, sc, sd, se, sf, sg, sh, sa, sb); ZRNDS(7, sb, sc, sd, se, sf, sg, sh, sa);
		ZRND8S(ZRNDS, 8);
		/* loops, not unrolled: the whole unrolled iteration for two groups (~8000 instructions)
		 * overflowed the op cache and ran at half speed */
		_Pragma("GCC unroll 1") for (int t = 16; t < 48; t += 8)
			ZRND8S(ZRNDSG, t);
		_Pragma("GCC unroll 1") for (int t = 48; t < 64; t += 8)
			ZRND8(t);
#undef ZRND8S
#undef ZRNDSG
#undef ZRNDS
#undef KW
		ZFEED1();
		/* ---- block 2: salt | count | padding, the same in every lane ---- */
#define KW(k, t) _mm512_set1_epi32((int)kw2[(t)][i & 15])
		_Pragma("GCC unroll 1") for (int t = 0; t < 64; t += 8)
			ZRND8(t);
#undef KW
		ZFEED2(wv);
	}
	for (int k = 0; k < G; k++)
		same_salt_store(k, n, wv[k], out);
	memset(kw2, 0, sizeof(kw2));
	memset(wv, 0, sizeof(wv));
	memset(kwv, 0, sizeof(kwv));
	memset(c, 0, sizeof(c));
	memset(ff, 0, sizeof(ff));
	EACHG(sa[k] = sb[k] = sc[k] = sd[k] = se[k] = sf[k] = sg[k] = sh[k] = _mm512_setzero_si512())
	__asm__ volatile("" : : "m"(kw2), "m"(wv), "m"(kwv), "m"(c), "m"(ff) : "memory");
}

/* n <= 32 stretches, all with one salt, in two interleaved groups of 16 lanes; lanes past n repeat
 * lane 0 and are dropped */
NO_SAN __attribute__((target("avx512f"))) static void
stretch_zm32(size_t n, const uint8_t (*initial)[32], const uint8_t salt[16], uint8_t (*out)[32], uint32_t rounds)
{
	stretch_zm_same_salt(2, n, initial, salt, out, rounds);
}


static bool cpu_has_avx(int which)
{
	unsigned a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) || __get_cpuid_max(0, NULL) < 7)
		return false;
	__asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	__cpuid_count(7, 0, a, b, c, d);
	if (which == 512)
		return (lo & 0xE6) == 0xE6 && (b & (1u << 16)) && (b & (1u << 5));
	return (lo & 6) == 6 && (b & (1u << 5));
}

static bool cpu_has_shani(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return false;
	if (!(c & (1u << 9)) || !(c & (1u << 19))) /* SSSE3, SSE4.1 */
		return false;
	if (__get_cpuid_max(0, NULL) < 7)
		return false;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & (1u << 29)) != 0; /* SHA */
}
#endif

bool bd_stretch_has_shani(void)
{
#ifdef HAVE_X86_SHANI
	static int cached = -1;
	int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (v < 0) {
		v = cpu_has_shani();
		__atomic_store_n(&cached, v, __ATOMIC_RELAXED);
	}
	return v;
#else
	return false;
#endif
}

int bd_stretch_impl(enum bd_stretch_impl impl, const uint8_t initial[32], const uint8_t salt[16], uint8_t out[32])
{
	switch (impl) {
	case BD_STRETCH_AUTO:
		bd_stretch(initial, salt, out);
		return 0;
	case BD_STRETCH_OPENSSL:
		stretch_openssl(initial, salt, out);
		return 0;
	case BD_STRETCH_REFERENCE:
		stretch_reference(initial, salt, out);
		return 0;
	case BD_STRETCH_SHANI:
#ifdef HAVE_X86_SHANI
		if (bd_stretch_has_shani()) {
			stretch_shani(initial, salt, out);
			return 0;
		}
#endif
		break;
	}
	return bd_err(BD_ERR_UNSUPPORTED, "this stretch implementation is not available on this CPU");
}

void bd_stretch(const uint8_t initial[32], const uint8_t salt[16], uint8_t out[32])
{
#ifdef HAVE_X86_SHANI
	if (bd_stretch_has_shani()) {
		stretch_shani(initial, salt, out);
		return;
	}
#endif
	stretch_openssl(initial, salt, out);
}

/* ---- many stretches at once ---- */

static double thread_seconds_any(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#ifdef HAVE_X86_SHANI
static double thread_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Stretches per CPU-second of a short run (2^12 rounds, best of 3) of one multi-stream kind. */
static double calibrate(int impl)
{
	static const uint8_t in[32][32], salt[32][16];
	uint8_t out[32][32];
	double best = 1e9;

	for (int r = 0; r < 3; r++) {
		double t0 = thread_seconds();
		if (impl == BD_STRETCH_MANY_SHANI4)
			stretch_shani_x4(in, salt, out, 4096);
		else if (impl == BD_STRETCH_MANY_AVX512) /* one salt: the search's kernels */
			stretch_z16(16, in, salt[0], out, 4096);
		else if (impl == BD_STRETCH_MANY_AVX512X2)
			stretch_zm32(32, in, salt[0], out, 4096);
		else
			stretch_avx2(8, in, salt, out, 4096);
		double t = thread_seconds() - t0;
		best = t < best ? t : best;
	}
	bd_wipe(out, sizeof(out));
	return (impl == BD_STRETCH_MANY_SHANI4 ? 4 : impl == BD_STRETCH_MANY_AVX512 ? 16 :
		impl == BD_STRETCH_MANY_AVX512X2 ? 32 : 8) / (best > 0 ? best : 1e-9);
}
#endif

/*
 * What bd_stretch_many uses: SHA-NI streams or AVX lanes, whichever did more stretches per second
 * in a short run on this CPU (on an AMD EPYC (Zen 5) with both, 16 AVX-512 lanes with one salt did
 * ~2.3x four SHA-NI streams: 38-43 against 17-21 stretches/s per thread, and 2 x 16 interleaved
 * lanes (stretch_zm32) 53-58).
 */
static int multi_level(void)
{
	static int cached = -1;
	int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (v < 0) {
		v = BD_STRETCH_MANY_SINGLE;
#ifdef HAVE_X86_SHANI
		double best = 0;
		if (bd_stretch_has_shani()) {
			v = BD_STRETCH_MANY_SHANI4;
			best = calibrate(v);
		}
		if (cpu_has_avx(512)) {
			static const int z[] = { BD_STRETCH_MANY_AVX512, BD_STRETCH_MANY_AVX512X2 };
			for (size_t j = 0; j < ARRAY_SIZE(z); j++) {
				double r = calibrate(z[j]);
				if (r > best) {
					best = r;
					v = z[j];
				}
			}
		} else if (cpu_has_avx(2) && (!best || calibrate(BD_STRETCH_MANY_AVX2) > best)) {
			v = BD_STRETCH_MANY_AVX2;
		}
#endif
		__atomic_store_n(&cached, v, __ATOMIC_RELAXED);
	}
	return v;
}

size_t bd_stretch_batch(void)
{
	switch (multi_level()) {
	case BD_STRETCH_MANY_SHANI4: return 4;
	case BD_STRETCH_MANY_AVX512: return 16;
	case BD_STRETCH_MANY_AVX512X2: return 32;
	case BD_STRETCH_MANY_AVX2: return 8;
	}
	return 1;
}

static int many(enum bd_stretch_many impl, size_t n, const uint8_t (*initial)[32], const uint8_t (*salt)[16],
		uint8_t (*out)[32], uint32_t rounds)
{
	if (impl == BD_STRETCH_MANY_AUTO)
		impl = multi_level();
#ifdef HAVE_X86_SHANI
	if ((impl == BD_STRETCH_MANY_SHANI2 || impl == BD_STRETCH_MANY_SHANI3 || impl == BD_STRETCH_MANY_SHANI4) &&
	    bd_stretch_has_shani()) {
		size_t w = impl == BD_STRETCH_MANY_SHANI2 ? 2 : impl == BD_STRETCH_MANY_SHANI3 ? 3 : 4;
		size_t i = 0;
		for (; n - i >= w; i += w) {
			if (w == 4)
				stretch_shani_x4(initial + i, salt + i, out + i, rounds);
			else if (w == 3)
				stretch_shani_x3(initial + i, salt + i, out + i, rounds);
			else
				stretch_shani_x2(initial + i, salt + i, out + i, rounds);
		}
		if (n - i == 3)
			stretch_shani_x3(initial + i, salt + i, out + i, rounds);
		else if (n - i == 2)
			stretch_shani_x2(initial + i, salt + i, out + i, rounds);
		else if (n - i == 1)
			stretch_shani_x1(initial + i, salt + i, out + i, rounds);
		return 0;
	}
	if ((impl == BD_STRETCH_MANY_AVX512 || impl == BD_STRETCH_MANY_AVX512X2) && cpu_has_avx(512)) {
		for (size_t i = 0; i < n; i += 16) {
			size_t m = MIN(n - i, (size_t)16), same = 1;
			size_t m2 = impl == BD_STRETCH_MANY_AVX512X2 ? MIN(n - i, (size_t)32) : m;
			while (same < m2 && !memcmp(salt[i + same], salt[i], 16))
				same++;
			if (same == m2 && m2 > 16) { /* the search, 32 at a time */
				stretch_zm32(m2, initial + i, salt[i], out + i, rounds);
				i += 16;
			} else if (same >= m) /* the search: one protector's salt */
				stretch_z16(m, initial + i, salt[i], out + i, rounds);
			else
				stretch_avx512(m, initial + i, salt + i, out + i, rounds);
		}
		return 0;
	}
	if (impl == BD_STRETCH_MANY_AVX2 && cpu_has_avx(2)) {
		for (size_t i = 0; i < n; i += 8)
			stretch_avx2(MIN(n - i, (size_t)8), initial + i, salt + i, out + i, rounds);
		return 0;
	}
#endif
	if (impl == BD_STRETCH_MANY_SINGLE) {
		for (size_t i = 0; i < n; i++)
			bd_stretch(initial[i], salt[i], out[i]);
		return 0;
	}
	return bd_err(BD_ERR_UNSUPPORTED, "this stretch implementation is not available on this CPU");
}

int bd_stretch_many_impl(enum bd_stretch_many impl, size_t n, const uint8_t (*initial)[32],
			 const uint8_t (*salt)[16], uint8_t (*out)[32])
{
	return many(impl, n, initial, salt, out, BD_STRETCH_ROUNDS);
}

double bd_stretch_many_time(void)
{
	static const uint8_t in[32][32], salt[32][16];
	uint8_t out[32][32];
	size_t n = bd_stretch_batch();
	double t0 = thread_seconds_any();

	/* 1/64 of the rounds, scaled up (the single-stream path has no short form: time it whole) */
	if (multi_level() == BD_STRETCH_MANY_SINGLE) {
		bd_stretch(in[0], salt[0], out[0]);
		return thread_seconds_any() - t0;
	}
	many(BD_STRETCH_MANY_AUTO, n, in, salt, out, BD_STRETCH_ROUNDS / 64);
	return (thread_seconds_any() - t0) * 64;
}

void bd_stretch_many(size_t n, const uint8_t (*initial)[32], const uint8_t (*salt)[16], uint8_t (*out)[32])
{
	(void)bd_stretch_many_impl(BD_STRETCH_MANY_AUTO, n, initial, salt, out);
}

int bd_password_hash(const char *utf8, uint8_t out[32])
{
	size_t cap = strlen(utf8) * 2 + 2;
	struct bd_secret *u = bd_secret_new(cap);
	uint8_t h[32];
	long n;

	if (!u)
		return bd_err(BD_ERR_NOMEM, "password hash: out of memory");
	n = bd_utf8_to_utf16le(utf8, u->data, u->len);
	if (n < 0) {
		bd_secret_free(u);
		return bd_err(BD_ERR_INVALID, "the password is not valid UTF-8");
	}
	bd_sha256(u->data, (size_t)n, h);
	bd_sha256(h, sizeof(h), out);
	bd_wipe(h, sizeof(h));
	bd_secret_free(u);
	return 0;
}

void bd_recovery_key_hash(const uint8_t key16[16], uint8_t out[32])
{
	bd_sha256(key16, 16, out);
}

void bd_recovery_password_format(const uint8_t key16[16], char out[56])
{
	for (int i = 0; i < 8; i++) {
		/* 6 digits + separator (or the terminating NUL) = 7 bytes per group */
		snprintf(out + 7 * i, 8, "%06u%s", (unsigned)le16(key16 + 2 * i) * 11u, i < 7 ? "-" : "");
	}
	out[55] = 0;
}
