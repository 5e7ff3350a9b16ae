/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sector-cipher throughput: decrypt and encrypt a buffer (default 64 MiB) for each
 * method and sector size, in calls of CALL_KIB (default 1024 KiB) each; best of 3 runs.
 * Two rates: wall clock (all threads), and per CPU-second (bytes over the threads' summed
 * CPU time: what one core does, and steadier than the wall clock on a shared machine).
 * Usage: bench_sector [MiB] [call KiB] [threads]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "internal.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct job {
	struct bd_sector_cipher *c;
	uint8_t *buf;
	size_t len, call, ss;
	uint64_t off;
	bool enc;
	double cpu; /* seconds of this thread's CPU time */
};

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
	struct job *j = arg;
	double c0 = thread_cpu();

	for (size_t pos = 0; pos < j->len; pos += j->call) {
		size_t n = MIN(j->call, j->len - pos) / j->ss;
		int rc = j->enc ? bd_sector_encrypt(j->c, j->buf + pos, n, j->off + pos)
				: bd_sector_decrypt(j->c, j->buf + pos, n, j->off + pos);
		if (rc) {
			fprintf(stderr, "error %d: %s\n", rc, bd_last_error());
			exit(1);
		}
	}
	j->cpu = thread_cpu() - c0;
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct { uint16_t m; size_t klen; const char *name; } ms[] = {
		{ 0x8000, 64, "AES-128-CBC+Elephant" }, { 0x8001, 64, "AES-256-CBC+Elephant" },
		{ 0x8002, 16, "AES-128-CBC" }, { 0x8003, 32, "AES-256-CBC" },
		{ 0x8004, 32, "XTS-AES-128" }, { 0x8005, 64, "XTS-AES-256" },
	};
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	size_t call = (argc > 2 ? strtoul(argv[2], NULL, 0) : 1024) * 1024; /* rounded up to a sector below */
	int nthr = argc > 3 ? atoi(argv[3]) : 1;
	size_t len = mib << 20;
	uint8_t *buf = NULL, key[64];

	/* page-aligned like bdkit decrypt's chunk buffers (malloc's large blocks start 16 bytes into a
	 * page: every 64-byte access of the vector paths would straddle two cache lines) */
	if (posix_memalign((void **)&buf, 4096, len) || !call || nthr < 1 || nthr > 64)
		return 1;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 12));
	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)(i * 29 + 3);
	printf("sector ciphers: %zu MiB, %zu KiB per call, %d thread(s); MB/s = 10^6 bytes/s\n", mib, call >> 10, nthr);
	printf("%-22s %6s %12s %12s %14s %14s\n", "method", "sector", "decrypt", "encrypt", "dec/CPU-s", "enc/CPU-s");
	for (size_t k = 0; k < ARRAY_SIZE(ms); k++) {
		for (size_t ss = 512; ss <= 4096; ss *= 8) {
			struct bd_sector_cipher *c;
			double rate[2], crate[2];
			if (bd_sector_cipher_new(ms[k].m, key, ms[k].klen, (uint32_t)ss, &c))
				return 1;
			for (int run = 0; run < 6; run++) { /* best of 3 per direction: the machine is shared */
				int enc = run & 1;
				pthread_t th[64];
				struct job jobs[64];
				size_t part = len / (size_t)nthr / call * call;
				double t0 = now();
				for (int t = 0; t < nthr; t++) {
					jobs[t] = (struct job){ c, buf + part * t, t == nthr - 1 ? len - part * t : part,
								MIN(MAX(call, ss), len), ss, 0x100000 + part * t, enc, 0 };
					pthread_create(&th[t], NULL, work, &jobs[t]);
				}
				double cpu = 0;
				for (int t = 0; t < nthr; t++) {
					pthread_join(th[t], NULL);
					cpu += jobs[t].cpu;
				}
				double r = len / (now() - t0) / 1e6, cr = cpu > 0 ? len / cpu / 1e6 : 0;
				if (run < 2 || r > rate[enc])
					rate[enc] = r;
				if (run < 2 || cr > crate[enc])
					crate[enc] = cr;
			}
			printf("%-22s %6zu %7.0f MB/s %7.0f MB/s %9.0f MB/s %9.0f MB/s\n", ms[k].name, ss, rate[0], rate[1],
			       crate[0], crate[1]);
			bd_sector_cipher_free(c);
		}
	}
	free(buf);
	return 0;
}
