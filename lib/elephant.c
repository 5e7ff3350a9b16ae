/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Elephant diffusers A and B (format.md §6.2; Ferguson 2006). The sector is
 * n = size/4 little-endian 32-bit words, indices taken mod n, updated in place.
 *   A: 5 cycles, rotations Ra = {9, 0, 13, 0}, taps i-2 and i-5
 *   B: 3 cycles, rotations Rb = {0, 10, 0, 25}, taps i+2 and i+5
 * "decrypt" runs i upwards adding, "encrypt" runs i downwards subtracting.
 * The interior of each pass is unrolled by four so the rotations are constants;
 * the few wrapping indices go through the generic step.
 */
#include "crypto.h"
#include "internal.h"

#define MAX_WORDS 1024 /* 4096-byte sectors */

static inline uint32_t rotl(uint32_t x, unsigned r)
{
	return (x << r) | (x >> ((32u - r) & 31u)); /* r = 0 gives x, with no shift by 32 */
}

/* x mod n for x < 2n, without a division */
static inline size_t wrap(size_t x, size_t n)
{
	return x >= n ? x - n : x;
}

static const unsigned ra[4] = { 9, 0, 13, 0 };
static const unsigned rb[4] = { 0, 10, 0, 25 };

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

static void a_decrypt(uint32_t *d, size_t n)
{
	for (int c = 0; c < 5; c++) {
		size_t i = 0;
		for (; i < 8 || (n % 4 && i < n); i++)
			d[i] += d[wrap(i + n - 2, n)] ^ rotl(d[wrap(i + n - 5, n)], ra[i & 3]);
		if (i >= n)
			continue;
		/* p1..p5 = d[i-1]..d[i-5], already updated: keep them in registers */
		uint32_t p1 = d[i - 1], p2 = d[i - 2], p3 = d[i - 3], p4 = d[i - 4], p5 = d[i - 5];
		for (; i < n; i += 4) {
			uint32_t x0 = d[i] + (p2 ^ rotl(p5, 9));
			uint32_t x1 = d[i + 1] + (p1 ^ p4);
			uint32_t x2 = d[i + 2] + (x0 ^ rotl(p3, 13));
			uint32_t x3 = d[i + 3] + (x1 ^ p2);
			d[i] = x0;
			d[i + 1] = x1;
			d[i + 2] = x2;
			d[i + 3] = x3;
			p5 = p1;
			p4 = x0;
			p3 = x1;
			p2 = x2;
			p1 = x3;
		}
	}
}

static void a_encrypt(uint32_t *d, size_t n)
{
	for (int c = 0; c < 5; c++) {
		size_t i = n;
		if (n % 4 == 0) {
			for (; i >= 12; i -= 4) {
				/* words i-4 .. i-1, highest first */
				d[i - 1] -= d[i - 3] ^ d[i - 6];
				d[i - 2] -= d[i - 4] ^ rotl(d[i - 7], 13);
				d[i - 3] -= d[i - 5] ^ d[i - 8];
				d[i - 4] -= d[i - 6] ^ rotl(d[i - 9], 9);
			}
		}
		while (i-- > 0)
			d[i] -= d[wrap(i + n - 2, n)] ^ rotl(d[wrap(i + n - 5, n)], ra[i & 3]);
	}
}

static void b_decrypt(uint32_t *d, size_t n)
{
	for (int c = 0; c < 3; c++) {
		size_t i = 0;
		if (n % 4 == 0) {
			for (; i + 8 <= n; i += 4) {
				d[i] += d[i + 2] ^ d[i + 5];
				d[i + 1] += d[i + 3] ^ rotl(d[i + 6], 10);
				d[i + 2] += d[i + 4] ^ d[i + 7];
				d[i + 3] += d[i + 5] ^ rotl(d[i + 8 < n ? i + 8 : i + 8 - n], 25);
			}
		}
		for (; i < n; i++)
			d[i] += d[wrap(i + 2, n)] ^ rotl(d[wrap(i + 5, n)], rb[i & 3]);
	}
}

static void b_encrypt(uint32_t *d, size_t n)
{
	for (int c = 0; c < 3; c++) {
		size_t i = n;
		/* undo b_decrypt's order: its generic tail first, then its groups downwards */
		size_t stop = n % 4 == 0 ? n - 4 : 0;
		while (i-- > stop)
			d[i] -= d[wrap(i + 2, n)] ^ rotl(d[wrap(i + 5, n)], rb[i & 3]);
		if (n % 4 == 0) {
			/* q0..q4 = d[i]..d[i+4], already updated (d[n] wraps to d[0], not yet updated) */
			uint32_t q0 = d[stop], q1 = d[stop + 1], q2 = d[stop + 2], q3 = d[stop + 3], q4 = d[0];
			for (i = stop; i >= 4; i -= 4) {
				uint32_t y3 = d[i - 1] - (q1 ^ rotl(q4, 25));
				uint32_t y2 = d[i - 2] - (q0 ^ q3);
				uint32_t y1 = d[i - 3] - (y3 ^ rotl(q2, 10));
				uint32_t y0 = d[i - 4] - (y2 ^ q1);
				d[i - 1] = y3;
				d[i - 2] = y2;
				d[i - 3] = y1;
				d[i - 4] = y0;
				q4 = q0;
				q0 = y0;
				q1 = y1;
				q2 = y2;
				q3 = y3;
			}
		}
	}
}

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
