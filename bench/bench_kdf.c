/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Time the 2^20-round stretch (format.md §4.3) per implementation. Usage: bench_kdf [repeats] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "internal.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(getenv("CPUTIME") ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct { enum bd_stretch_impl impl; const char *name; } impls[] = {
		{ BD_STRETCH_REFERENCE, "reference (SHA256_Init/Update/Final, 88 bytes)" },
		{ BD_STRETCH_OPENSSL, "portable (OpenSSL SHA256_Transform x2)" },
		{ BD_STRETCH_SHANI, "SHA-NI intrinsics" },
		{ BD_STRETCH_AUTO, "bd_stretch() (auto)" },
	};
	int reps = argc > 1 ? atoi(argv[1]) : 5;
	uint8_t init[32], salt[16], out[32], first[32];

	if (reps < 1)
		reps = 1;
	for (int i = 0; i < 32; i++)
		init[i] = (uint8_t)i;
	for (int i = 0; i < 16; i++)
		salt[i] = (uint8_t)(0xf0 + i);
	printf("stretch: %d rounds of SHA-256 over 88 bytes; best of %d runs; SHA-NI in use by bd_stretch: %s\n",
	       BD_STRETCH_ROUNDS, reps, bd_stretch_has_shani() ? "yes" : "no");
	for (size_t k = 0; k < ARRAY_SIZE(impls); k++) {
		double best = 1e9;
		int rc = 0;
		for (int r = 0; r < reps && rc == 0; r++) {
			double t0 = now();
			rc = bd_stretch_impl(impls[k].impl, init, salt, out);
			double t = now() - t0;
			if (t < best)
				best = t;
		}
		if (rc) {
			printf("  %-48s unavailable\n", impls[k].name);
			continue;
		}
		if (k == 0)
			memcpy(first, out, 32);
		printf("  %-48s %7.1f ms  %6.1f ns/round  %s\n", impls[k].name, best * 1e3, best * 1e9 / BD_STRETCH_ROUNDS,
		       memcmp(first, out, 32) ? "MISMATCH" : "ok");
	}
	/* several independent stretches per call (the recovery-password search), one thread */
	/* same: every stretch with one salt (the search: one protector), else a salt per stretch */
	static const struct { enum bd_stretch_many impl; const char *name; size_t n; int same; } many[] = {
		{ BD_STRETCH_MANY_SINGLE, "one after the other", 4, 0 },
		{ BD_STRETCH_MANY_SHANI2, "SHA-NI, 2 streams interleaved", 4, 0 },
		{ BD_STRETCH_MANY_SHANI3, "SHA-NI, 3 streams interleaved", 6, 0 },
		{ BD_STRETCH_MANY_SHANI4, "SHA-NI, 4 streams interleaved", 8, 0 },
		{ BD_STRETCH_MANY_AVX2, "AVX2, 8 lanes", 8, 0 },
		{ BD_STRETCH_MANY_AVX512, "AVX-512, 16 lanes, a salt each", 16, 0 },
		{ BD_STRETCH_MANY_AVX512, "AVX-512, 16 lanes, one salt (the search)", 16, 1 },
		{ BD_STRETCH_MANY_AVX512X2, "AVX-512, 2 x 16 lanes interleaved, one salt", 32, 1 },
	};
	static uint8_t mi[32][32], ms[32][16], ms1[32][16], mo[32][32], ref[32][32], ref1[32][32];
	for (int l = 0; l < 32; l++) {
		memcpy(mi[l], init, 32);
		mi[l][0] ^= (uint8_t)l;
		memcpy(ms[l], salt, 16);
		ms[l][15] ^= (uint8_t)(3 * l);
		memcpy(ms1[l], salt, 16);
		bd_stretch(mi[l], ms[l], ref[l]);
		bd_stretch(mi[l], ms1[l], ref1[l]);
	}
	printf("several stretches per call, one thread (bd_stretch_many; auto uses %zu per call):\n", bd_stretch_batch());
	for (size_t k = 0; k < ARRAY_SIZE(many); k++) {
		double best = 1e9;
		int rc = 0;
		for (int r = 0; r < (reps + 1) / 2 && rc == 0; r++) {
			double t0 = now();
			rc = bd_stretch_many_impl(many[k].impl, many[k].n, (const uint8_t (*)[32])mi,
						  (const uint8_t (*)[16])(many[k].same ? ms1 : ms), mo);
			double t = now() - t0;
			if (t < best)
				best = t;
		}
		if (rc) {
			printf("  %-48s unavailable\n", many[k].name);
			continue;
		}
		printf("  %-48s %7.1f stretches/s per thread  %s\n", many[k].name, many[k].n / best,
		       memcmp(many[k].same ? ref1 : ref, mo, 32 * many[k].n) ? "MISMATCH" : "ok");
	}
	return 0;
}
