/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The floors of section 1 of bench/run.sh: the input side and the output side of `bdkit decrypt`
 * alone, with no cipher. In 4 MiB blocks from THREADS threads (block i from thread i mod THREADS,
 * each block once, as decrypt hands out its chunks), it prints the seconds taken to
 *   bench_rw r FILE THREADS        read FILE (from the page cache, like decrypt's source), or
 *   bench_rw w FILE SIZE THREADS   write SIZE bytes to FILE, a new file (removed afterwards).
 * Reading is the kernel's copy out of the page cache, about half of decrypt's work: where two
 * threads read less than twice as fast as one, decrypt -j 2 shares that limit. Where two threads
 * write one tmpfs file no faster than one (tmpfs holds the file's lock for each write's copy), a
 * decryptor writing that file from N threads cannot take much less time than the writing alone
 * (bdkit leaves all-zero blocks as holes, so it writes a little less).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (4u << 20)

static int fd, writing;
static uint64_t size;
static long nthreads;
static volatile int failed;

static void *worker(void *arg)
{
	long t = (long)arg;
	void *buf = NULL;

	if (posix_memalign(&buf, 2u << 20, BLOCK)) {
		failed = 1;
		return NULL;
	}
#ifdef MADV_HUGEPAGE
	(void)madvise(buf, BLOCK, MADV_HUGEPAGE);  /* as decrypt's chunk buffers */
#endif
	memset(buf, 0x5a, BLOCK);  /* not zeros: nothing may be skipped */
	for (uint64_t off = (uint64_t)t * BLOCK; off < size; off += (uint64_t)nthreads * BLOCK) {
		size_t len = size - off < BLOCK ? (size_t)(size - off) : BLOCK;
		ssize_t n = writing ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);
		if (n != (ssize_t)len)
			failed = 1;
	}
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tid[64];
	struct timespec a, b;
	struct stat st;

	writing = argc == 5 && !strcmp(argv[1], "w");
	if (!(writing || (argc == 4 && !strcmp(argv[1], "r"))) ||
	    (nthreads = atol(argv[argc - 1])) < 1 || nthreads > 64) {
		fprintf(stderr, "usage: bench_rw r FILE THREADS | bench_rw w FILE SIZE THREADS (1..64 threads)\n");
		return 2;
	}
	if (writing) {
		size = strtoull(argv[3], NULL, 0);
		unlink(argv[2]);
		fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL, 0600);
	} else {
		fd = open(argv[2], O_RDONLY);
		if (fd >= 0 && !fstat(fd, &st))
			size = (uint64_t)st.st_size;
	}
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	long n = 0;
	while (n < nthreads && !pthread_create(&tid[n], NULL, worker, (void *)n))
		n++;
	for (long i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	close(fd);
	if (writing)
		unlink(argv[2]);
	if (failed || n != nthreads)
		return 1;
	printf("%.4f\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
