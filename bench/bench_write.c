/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The output side's floor for section 1 of bench/run.sh: write SIZE bytes to a new file in 4 MiB
 * blocks from THREADS threads (block i from thread i mod THREADS, each block written once, the way
 * `bdkit decrypt -o FILE` writes its chunks), with no reading and no cipher, and print the seconds.
 * When two threads write one tmpfs file no faster than one (tmpfs holds the file's lock for each
 * write's copy), a decryptor writing that file from N threads cannot take much less time than this
 * (bdkit leaves all-zero blocks as holes, so it writes a little less).
 *   bench_write FILE SIZE THREADS
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (4u << 20)

static int fd;
static uint64_t size;
static long nthreads;
static volatile int failed;

static void *writer(void *arg)
{
	long t = (long)arg;
	void *buf = NULL;

	if (posix_memalign(&buf, 2u << 20, BLOCK)) {
		failed = 1;
		return NULL;
	}
	memset(buf, 0x5a, BLOCK);  /* not zeros: nothing may be skipped */
	for (uint64_t off = (uint64_t)t * BLOCK; off < size; off += (uint64_t)nthreads * BLOCK) {
		size_t len = size - off < BLOCK ? (size_t)(size - off) : BLOCK;
		if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
			failed = 1;
	}
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tid[64];
	struct timespec a, b;

	if (argc != 4 || (nthreads = atol(argv[3])) < 1 || nthreads > 64) {
		fprintf(stderr, "usage: bench_write FILE SIZE THREADS (1..64)\n");
		return 2;
	}
	size = strtoull(argv[2], NULL, 0);
	unlink(argv[1]);
	if ((fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0) {
		perror(argv[1]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	long n = 0;
	while (n < nthreads && !pthread_create(&tid[n], NULL, writer, (void *)n))
		n++;
	for (long i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	close(fd);
	unlink(argv[1]);
	if (failed || n != nthreads)
		return 1;
	printf("%.4f\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
