/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * AES sector modes on AES-NI / VAES (see aesni.h). Written from FIPS-197 (key expansion, the
 * equivalent inverse cipher), IEEE 1619 (XTS, tweak doubling in GF(2^128) mod x^128+x^7+x^2+x+1)
 * and Intel's AES-NI instruction reference. Checked against OpenSSL in tests/unit/test_crypto.c.
 *
 * Why by hand: OpenSSL's EVP layer costs a parameter lookup and a dispatch per call, and BitLocker
 * needs a call per 512-byte sector (new IV/tweak); here a whole run of sectors is one call, the
 * tweaks are made in registers, and on CPUs with VAES sixteen blocks are in flight at once.
 */
#include <string.h>

#include "aesni.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define T_NI __attribute__((target("aes,sse4.1,ssse3")))
#define T_VAES __attribute__((target("aes,sse4.1,ssse3,avx2,avx512f,avx512vl,avx512bw,vaes,vpclmulqdq")))

static int detect(void)
{
	unsigned a, b, c, d;
	int level = BD_AES_REF;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return level;
	if (!(c & (1u << 25)) || !(c & (1u << 19)) || !(c & (1u << 9))) /* AES-NI, SSE4.1, SSSE3 */
		return level;
	level = BD_AES_NI;
	/* AVX-512 needs the OS to save the ZMM state (XCR0 bits 1, 2, 5, 6, 7) */
	if (!(c & (1u << 27)) || __get_cpuid_max(0, NULL) < 7)
		return level;
	unsigned lo, hi;
	__asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 0xE6) != 0xE6)
		return level;
	__cpuid_count(7, 0, a, b, c, d);
	if ((b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31)) && (b & (1u << 5)) && /* F, BW, VL, AVX2 */
	    (c & (1u << 9)) && (c & (1u << 10)))                                             /* VAES, VPCLMULQDQ */
		level = BD_AES_VAES;
	return level;
}

static bool has_avx2(void)
{
	unsigned a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) || __get_cpuid_max(0, NULL) < 7)
		return false;
	__asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 6) != 6)
		return false;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & (1u << 5)) != 0;
}

int bd_aes_simd_width(int level)
{
	static int avx2 = -1;

	if (level >= BD_AES_VAES)
		return 16; /* the VAES level includes AVX-512 F/BW/VL */
	if (level < BD_AES_NI)
		return 0;
	if (avx2 < 0)
		__atomic_store_n(&avx2, has_avx2(), __ATOMIC_RELAXED);
	return avx2 ? 8 : 0;
}

/* Round keys stay in vector registers after a call returns, and a core dump (or a debugger) shows
 * every thread's registers: zero them. zmm16-31 exist only with AVX-512 (level BD_AES_VAES). */
__attribute__((target("avx,avx512f"))) static void scrub_avx512(void)
{
	__asm__ volatile("vzeroall\n\t"
			 "vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
			 "vpxord %%zmm18, %%zmm18, %%zmm18\n\tvpxord %%zmm19, %%zmm19, %%zmm19\n\t"
			 "vpxord %%zmm20, %%zmm20, %%zmm20\n\tvpxord %%zmm21, %%zmm21, %%zmm21\n\t"
			 "vpxord %%zmm22, %%zmm22, %%zmm22\n\tvpxord %%zmm23, %%zmm23, %%zmm23\n\t"
			 "vpxord %%zmm24, %%zmm24, %%zmm24\n\tvpxord %%zmm25, %%zmm25, %%zmm25\n\t"
			 "vpxord %%zmm26, %%zmm26, %%zmm26\n\tvpxord %%zmm27, %%zmm27, %%zmm27\n\t"
			 "vpxord %%zmm28, %%zmm28, %%zmm28\n\tvpxord %%zmm29, %%zmm29, %%zmm29\n\t"
			 "vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31"
			 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
			 "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",
			 "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27",
			 "xmm28", "xmm29", "xmm30", "xmm31");
}

static void scrub_sse(void)
{
	__asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\t"
			 "pxor %%xmm3, %%xmm3\n\tpxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
			 "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\tpxor %%xmm8, %%xmm8\n\t"
			 "pxor %%xmm9, %%xmm9\n\tpxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
			 "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\tpxor %%xmm14, %%xmm14\n\t"
			 "pxor %%xmm15, %%xmm15"
			 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
			 "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

void bd_aes_scrub(void)
{
	if (bd_aes_cpu_level() >= BD_AES_VAES)
		scrub_avx512();
	else
		scrub_sse();
}

int bd_aes_cpu_level(void)
{
	static int cached = -1;
	int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (v < 0) {
		v = detect();
		__atomic_store_n(&cached, v, __ATOMIC_RELAXED);
	}
	return v;
}

/* ---- key expansion (FIPS-197 §5.2, with AESKEYGENASSIST doing SubWord(RotWord()) ^ Rcon) ---- */

T_NI static inline __m128i spread(__m128i k)
{
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, _mm_slli_si128(k, 4));
}

#define EXP128(i, rcon) \
	rk[i] = _mm_xor_si128(spread(rk[(i) - 1]), \
			      _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[(i) - 1], rcon), 0xFF))
#define EXP256(i, rcon) do { \
	rk[i] = _mm_xor_si128(spread(rk[(i) - 2]), \
			      _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[(i) - 1], rcon), 0xFF)); \
	if ((i) + 1 <= 14) \
		rk[(i) + 1] = _mm_xor_si128(spread(rk[(i) - 1]), \
					    _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i], 0), 0xAA)); \
} while (0)

T_NI void bd_aes_expand(struct bd_aes_key *k, const uint8_t *key, size_t klen)
{
	__m128i rk[15];

	rk[0] = _mm_loadu_si128((const __m128i *)key);
	if (klen == 16) {
		k->nr = 10;
		EXP128(1, 0x01); EXP128(2, 0x02); EXP128(3, 0x04); EXP128(4, 0x08); EXP128(5, 0x10);
		EXP128(6, 0x20); EXP128(7, 0x40); EXP128(8, 0x80); EXP128(9, 0x1B); EXP128(10, 0x36);
	} else {
		k->nr = 14;
		rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
		EXP256(2, 0x01); EXP256(4, 0x02); EXP256(6, 0x04); EXP256(8, 0x08);
		EXP256(10, 0x10); EXP256(12, 0x20); EXP256(14, 0x40);
	}
	for (int i = 0; i <= k->nr; i++) {
		_mm_store_si128((__m128i *)k->ek[i], rk[i]);
		/* equivalent inverse cipher: reversed order, InvMixColumns on the inner round keys */
		__m128i d = rk[k->nr - i];
		if (i > 0 && i < k->nr)
			d = _mm_aesimc_si128(d);
		_mm_store_si128((__m128i *)k->dk[i], d);
	}
	/* the expanded key is secret: leave no copy in the registers array on the stack */
	for (int i = 0; i < 15; i++)
		rk[i] = _mm_setzero_si128();
	__asm__ volatile("" : : "m"(rk) : "memory");
}

/* ---- 128-bit AES-NI level ---- */

#define X8(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7)

T_NI static inline __m128i enc1(const struct bd_aes_key *k, __m128i x)
{
	const __m128i *rk = (const __m128i *)k->ek;

	x = _mm_xor_si128(x, rk[0]);
	for (int r = 1; r < k->nr; r++)
		x = _mm_aesenc_si128(x, rk[r]);
	return _mm_aesenclast_si128(x, rk[k->nr]);
}

/* Eight blocks through the cipher in parallel (enc: encrypt, else decrypt). */
#define ROUNDS8(k, enc, b) do { \
	const __m128i *rk_ = (const __m128i *)((enc) ? (k)->ek : (k)->dk); \
	int nr_ = (k)->nr; \
	__m128i key_ = rk_[0]; \
	_Pragma("GCC unroll 8") for (int q_ = 0; q_ < 8; q_++) (b)[q_] = _mm_xor_si128((b)[q_], key_); \
	if (enc) { \
		for (int r_ = 1; r_ < nr_; r_++) { \
			key_ = rk_[r_]; \
			_Pragma("GCC unroll 8") for (int q_ = 0; q_ < 8; q_++) (b)[q_] = _mm_aesenc_si128((b)[q_], key_); \
		} \
		key_ = rk_[nr_]; \
		_Pragma("GCC unroll 8") for (int q_ = 0; q_ < 8; q_++) (b)[q_] = _mm_aesenclast_si128((b)[q_], key_); \
	} else { \
		for (int r_ = 1; r_ < nr_; r_++) { \
			key_ = rk_[r_]; \
			_Pragma("GCC unroll 8") for (int q_ = 0; q_ < 8; q_++) (b)[q_] = _mm_aesdec_si128((b)[q_], key_); \
		} \
		key_ = rk_[nr_]; \
		_Pragma("GCC unroll 8") for (int q_ = 0; q_ < 8; q_++) (b)[q_] = _mm_aesdeclast_si128((b)[q_], key_); \
	} \
} while (0)

T_NI void bd_aes_ecb_encrypt(const struct bd_aes_key *k, uint8_t *buf, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m128i b[8];
		for (int q = 0; q < 8; q++)
			b[q] = _mm_loadu_si128((const __m128i *)(buf + 16 * (i + q)));
		ROUNDS8(k, 1, b);
		for (int q = 0; q < 8; q++)
			_mm_storeu_si128((__m128i *)(buf + 16 * (i + q)), b[q]);
	}
	for (; i < n; i++)
		_mm_storeu_si128((__m128i *)(buf + 16 * i), enc1(k, _mm_loadu_si128((const __m128i *)(buf + 16 * i))));
}

/* Multiply by x in GF(2^128), XTS bit order: shift left by one, x^128 folds back as 0x87. */
T_NI static inline __m128i xts_mul2(__m128i t)
{
	__m128i c = _mm_srai_epi32(t, 31);                     /* each dword's top bit, spread */
	c = _mm_and_si128(c, _mm_set_epi32(0x87, 1, 1, 1));     /* what it carries into the next dword */
	c = _mm_shuffle_epi32(c, 0x93);                        /* ... moved there (dword 3 wraps to 0) */
	return _mm_xor_si128(_mm_slli_epi32(t, 1), c);
}

T_NI static inline __m128i unit_block(uint64_t u)
{
	return _mm_set_epi64x(0, (long long)u);
}

T_NI static void xts_ni(const struct bd_aes_key *k1, const struct bd_aes_key *k2, uint8_t *dst,
			const uint8_t *src, size_t n, size_t ss, uint64_t unit, bool enc)
{
	for (size_t s = 0; s < n; s++, src += ss, dst += ss) {
		__m128i t = enc1(k2, unit_block(unit + s));
		for (size_t j = 0; j < ss; j += 128) {
			__m128i tw[8], b[8];
			for (int q = 0; q < 8; q++) {
				tw[q] = t;
				t = xts_mul2(t);
				b[q] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + j + 16 * q)), tw[q]);
			}
			ROUNDS8(k1, enc, b);
			for (int q = 0; q < 8; q++)
				_mm_storeu_si128((__m128i *)(dst + j + 16 * q), _mm_xor_si128(b[q], tw[q]));
		}
	}
}

T_NI static void cbc_dec_ni(const struct bd_aes_key *k, uint8_t *buf, size_t n, size_t ss, const uint8_t *ivs)
{
	for (size_t s = 0; s < n; s++, buf += ss) {
		__m128i prev = _mm_loadu_si128((const __m128i *)(ivs + 16 * s));
		for (size_t j = 0; j < ss; j += 128) {
			__m128i c[8], b[8];
			for (int q = 0; q < 8; q++)
				b[q] = c[q] = _mm_loadu_si128((const __m128i *)(buf + j + 16 * q));
			ROUNDS8(k, 0, b);
			_mm_storeu_si128((__m128i *)(buf + j), _mm_xor_si128(b[0], prev));
			for (int q = 1; q < 8; q++)
				_mm_storeu_si128((__m128i *)(buf + j + 16 * q), _mm_xor_si128(b[q], c[q - 1]));
			prev = c[7];
		}
	}
}

/* CBC encryption is a chain per sector: run eight sectors' chains side by side. */
T_NI void bd_aes_cbc_encrypt(const struct bd_aes_key *k, uint8_t *buf, size_t n, size_t ss, const uint8_t *ivs)
{
	size_t s = 0;

	for (; s + 8 <= n; s += 8) {
		__m128i x[8];
		uint8_t *p = buf + s * ss;
		for (int q = 0; q < 8; q++)
			x[q] = _mm_loadu_si128((const __m128i *)(ivs + 16 * (s + q)));
		for (size_t j = 0; j < ss; j += 16) {
			for (int q = 0; q < 8; q++)
				x[q] = _mm_xor_si128(x[q], _mm_loadu_si128((const __m128i *)(p + q * ss + j)));
			ROUNDS8(k, 1, x);
			for (int q = 0; q < 8; q++)
				_mm_storeu_si128((__m128i *)(p + q * ss + j), x[q]);
		}
	}
	for (; s < n; s++) {
		uint8_t *p = buf + s * ss;
		__m128i x = _mm_loadu_si128((const __m128i *)(ivs + 16 * s));
		for (size_t j = 0; j < ss; j += 16) {
			x = enc1(k, _mm_xor_si128(x, _mm_loadu_si128((const __m128i *)(p + j))));
			_mm_storeu_si128((__m128i *)(p + j), x);
		}
	}
}

/* ---- VAES level: four blocks per 512-bit register, four registers in flight ---- */

#define ROUNDS16(rk, nr, enc, b0, b1, b2, b3) do { \
	b0 = _mm512_xor_si512(b0, rk[0]); b1 = _mm512_xor_si512(b1, rk[0]); \
	b2 = _mm512_xor_si512(b2, rk[0]); b3 = _mm512_xor_si512(b3, rk[0]); \
	if (enc) { \
		for (int r_ = 1; r_ < (nr); r_++) { \
			b0 = _mm512_aesenc_epi128(b0, rk[r_]); b1 = _mm512_aesenc_epi128(b1, rk[r_]); \
			b2 = _mm512_aesenc_epi128(b2, rk[r_]); b3 = _mm512_aesenc_epi128(b3, rk[r_]); \
		} \
		b0 = _mm512_aesenclast_epi128(b0, rk[nr]); b1 = _mm512_aesenclast_epi128(b1, rk[nr]); \
		b2 = _mm512_aesenclast_epi128(b2, rk[nr]); b3 = _mm512_aesenclast_epi128(b3, rk[nr]); \
	} else { \
		for (int r_ = 1; r_ < (nr); r_++) { \
			b0 = _mm512_aesdec_epi128(b0, rk[r_]); b1 = _mm512_aesdec_epi128(b1, rk[r_]); \
			b2 = _mm512_aesdec_epi128(b2, rk[r_]); b3 = _mm512_aesdec_epi128(b3, rk[r_]); \
		} \
		b0 = _mm512_aesdeclast_epi128(b0, rk[nr]); b1 = _mm512_aesdeclast_epi128(b1, rk[nr]); \
		b2 = _mm512_aesdeclast_epi128(b2, rk[nr]); b3 = _mm512_aesdeclast_epi128(b3, rk[nr]); \
	} \
} while (0)

T_VAES static inline void load_keys512(__m512i rk[15], const uint8_t (*keys)[16], int nr)
{
	for (int r = 0; r <= nr; r++)
		rk[r] = _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)keys[r]));
}

T_VAES static inline void wipe_keys512(__m512i rk[15])
{
	for (int r = 0; r < 15; r++)
		rk[r] = _mm512_setzero_si512();
	__asm__ volatile("" : : "m"(*(__m512i(*)[15])rk) : "memory");
}

/* Four tweaks per register times x^4: shift each 128-bit lane left by 4, fold the top 4 bits back
 * with one carry-less multiplication by 0x87. */
T_VAES static inline __m512i xts_mul16(__m512i t, __m512i poly)
{
	__m512i top = _mm512_srli_epi64(t, 60);
	__m512i r = _mm512_xor_si512(_mm512_slli_epi64(t, 4), _mm512_bslli_epi128(top, 8));
	return _mm512_xor_si512(r, _mm512_clmulepi64_epi128(top, poly, 0x01));
}

T_VAES static void xts_vaes(const struct bd_aes_key *k1, const struct bd_aes_key *k2, uint8_t *dst,
			    const uint8_t *src, size_t n, size_t ss, uint64_t unit, bool enc)
{
	__m512i rk[15];
	const __m512i poly = _mm512_set1_epi64(0x87);
	const int nr = k1->nr;

	load_keys512(rk, enc ? k1->ek : k1->dk, nr);
	for (size_t s0 = 0; s0 < n; s0 += 8) {
		/* the first tweak of up to eight sectors at once */
		__m128i t0[8];
		size_t m = n - s0 < 8 ? n - s0 : 8;
		for (size_t q = 0; q < 8; q++)
			t0[q] = unit_block(unit + s0 + q);
		ROUNDS8(k2, 1, t0);
		for (size_t s = s0; s < s0 + m; s++) {
			const uint8_t *in = src + s * ss;
			uint8_t *out = dst + s * ss;
			__m128i a = t0[s - s0], b = xts_mul2(a), c = xts_mul2(b), d = xts_mul2(c);
			__m512i tw = _mm512_inserti32x4(_mm512_castsi128_si512(a), b, 1);
			tw = _mm512_inserti32x4(_mm512_inserti32x4(tw, c, 2), d, 3);
			for (size_t j = 0; j < ss; j += 256) {
				__m512i w0 = tw, w1 = xts_mul16(w0, poly), w2 = xts_mul16(w1, poly), w3 = xts_mul16(w2, poly);
				tw = xts_mul16(w3, poly);
				__m512i b0 = _mm512_xor_si512(_mm512_loadu_si512(in + j), w0);
				__m512i b1 = _mm512_xor_si512(_mm512_loadu_si512(in + j + 64), w1);
				__m512i b2 = _mm512_xor_si512(_mm512_loadu_si512(in + j + 128), w2);
				__m512i b3 = _mm512_xor_si512(_mm512_loadu_si512(in + j + 192), w3);
				ROUNDS16(rk, nr, enc, b0, b1, b2, b3);
				_mm512_storeu_si512(out + j, _mm512_xor_si512(b0, w0));
				_mm512_storeu_si512(out + j + 64, _mm512_xor_si512(b1, w1));
				_mm512_storeu_si512(out + j + 128, _mm512_xor_si512(b2, w2));
				_mm512_storeu_si512(out + j + 192, _mm512_xor_si512(b3, w3));
			}
		}
		for (int q = 0; q < 8; q++)
			t0[q] = _mm_setzero_si128();
		__asm__ volatile("" : : "m"(t0) : "memory");
	}
	wipe_keys512(rk);
}

T_VAES static void cbc_dec_vaes(const struct bd_aes_key *k, uint8_t *buf, size_t n, size_t ss, const uint8_t *ivs)
{
	__m512i rk[15];
	const int nr = k->nr;

	load_keys512(rk, k->dk, nr);
	for (size_t s = 0; s < n; s++, buf += ss) {
		/* only the top 128-bit lane of prev is used: the ciphertext block before this group */
		__m512i prev = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(ivs + 16 * s)));
		for (size_t j = 0; j < ss; j += 256) {
			__m512i c0 = _mm512_loadu_si512(buf + j), c1 = _mm512_loadu_si512(buf + j + 64);
			__m512i c2 = _mm512_loadu_si512(buf + j + 128), c3 = _mm512_loadu_si512(buf + j + 192);
			__m512i b0 = c0, b1 = c1, b2 = c2, b3 = c3;
			ROUNDS16(rk, nr, 0, b0, b1, b2, b3);
			/* chaining values: each register's blocks shifted by one block, across registers */
			b0 = _mm512_xor_si512(b0, _mm512_alignr_epi64(c0, prev, 6));
			b1 = _mm512_xor_si512(b1, _mm512_alignr_epi64(c1, c0, 6));
			b2 = _mm512_xor_si512(b2, _mm512_alignr_epi64(c2, c1, 6));
			b3 = _mm512_xor_si512(b3, _mm512_alignr_epi64(c3, c2, 6));
			prev = c3;
			_mm512_storeu_si512(buf + j, b0);
			_mm512_storeu_si512(buf + j + 64, b1);
			_mm512_storeu_si512(buf + j + 128, b2);
			_mm512_storeu_si512(buf + j + 192, b3);
		}
	}
	wipe_keys512(rk);
}

/* The CBC IVs and Elephant sector keys: 3 blocks per sector, ~40% of the CBC decryption's time
 * when done 8 blocks at a time on 128-bit registers; here 16 at a time. */
T_VAES static void ecb_enc_vaes(const struct bd_aes_key *k, uint8_t *buf, size_t n)
{
	__m512i rk[15];
	const int nr = k->nr;
	size_t i = 0;

	load_keys512(rk, k->ek, nr);
	for (; i + 16 <= n; i += 16) {
		uint8_t *p = buf + 16 * i;
		__m512i b0 = _mm512_loadu_si512(p), b1 = _mm512_loadu_si512(p + 64);
		__m512i b2 = _mm512_loadu_si512(p + 128), b3 = _mm512_loadu_si512(p + 192);
		ROUNDS16(rk, nr, 1, b0, b1, b2, b3);
		_mm512_storeu_si512(p, b0);
		_mm512_storeu_si512(p + 64, b1);
		_mm512_storeu_si512(p + 128, b2);
		_mm512_storeu_si512(p + 192, b3);
	}
	wipe_keys512(rk);
	if (i < n)
		bd_aes_ecb_encrypt(k, buf + 16 * i, n - i);
}

void bd_aes_ecb_encrypt_level(int level, const struct bd_aes_key *k, uint8_t *buf, size_t n)
{
	if (level >= BD_AES_VAES)
		ecb_enc_vaes(k, buf, n);
	else
		bd_aes_ecb_encrypt(k, buf, n);
}

void bd_aes_xts(int level, const struct bd_aes_key *k1, const struct bd_aes_key *k2, uint8_t *dst,
		const uint8_t *src, size_t n, size_t ss, uint64_t unit, bool enc)
{
	if (level >= BD_AES_VAES)
		xts_vaes(k1, k2, dst, src, n, ss, unit, enc);
	else
		xts_ni(k1, k2, dst, src, n, ss, unit, enc);
}

void bd_aes_cbc_decrypt(int level, const struct bd_aes_key *k, uint8_t *buf, size_t n, size_t ss,
			const uint8_t *ivs)
{
	if (level >= BD_AES_VAES)
		cbc_dec_vaes(k, buf, n, ss, ivs);
	else
		cbc_dec_ni(k, buf, n, ss, ivs);
}

#else /* not x86-64: no fast path; sector.c stays on OpenSSL */

int bd_aes_cpu_level(void) { return BD_AES_REF; }
void bd_aes_scrub(void) { }
int bd_aes_simd_width(int level) { (void)level; return 0; }
void bd_aes_expand(struct bd_aes_key *k, const uint8_t *key, size_t klen) { (void)k; (void)key; (void)klen; }
void bd_aes_ecb_encrypt(const struct bd_aes_key *k, uint8_t *buf, size_t n) { (void)k; (void)buf; (void)n; }
void bd_aes_ecb_encrypt_level(int level, const struct bd_aes_key *k, uint8_t *buf, size_t n)
{
	(void)level; (void)k; (void)buf; (void)n;
}
void bd_aes_xts(int level, const struct bd_aes_key *k1, const struct bd_aes_key *k2, uint8_t *dst,
		const uint8_t *src, size_t n, size_t ss, uint64_t unit, bool enc)
{
	(void)level; (void)k1; (void)k2; (void)dst; (void)src; (void)n; (void)ss; (void)unit; (void)enc;
}
void bd_aes_cbc_decrypt(int level, const struct bd_aes_key *k, uint8_t *buf, size_t n, size_t ss,
			const uint8_t *ivs)
{
	(void)level; (void)k; (void)buf; (void)n; (void)ss; (void)ivs;
}
void bd_aes_cbc_encrypt(const struct bd_aes_key *k, uint8_t *buf, size_t n, size_t ss, const uint8_t *ivs)
{
	(void)k; (void)buf; (void)n; (void)ss; (void)ivs;
}
#endif
