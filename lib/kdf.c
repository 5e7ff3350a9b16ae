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
		v = cpu_has_shani() && !getenv("BDKIT_NO_SHANI");
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
