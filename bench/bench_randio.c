/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Random 4 KiB I/O for bench/access.sh, the same client code for every contender:
 *   bench_randio TARGET r|w COUNT LO HI
 * TARGET is a file (opened O_DIRECT: every request reaches the FUSE daemon) or an NBD URI
 * (libnbd, loaded at run time so that building needs no libnbd headers). Requests go to random
 * 4 KiB-aligned offsets in [LO, HI) (fixed seed), one at a time; writes end with a flush/fsync.
 * Prints the seconds taken.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct nbd_handle;
static struct nbd_handle *(*p_create)(void);
static int (*p_connect_uri)(struct nbd_handle *, const char *);
static int (*p_pread)(struct nbd_handle *, void *, size_t, uint64_t, uint32_t);
static int (*p_pwrite)(struct nbd_handle *, const void *, size_t, uint64_t, uint32_t);
static int (*p_flush)(struct nbd_handle *, uint32_t);
static int (*p_shutdown)(struct nbd_handle *, uint32_t);
static void (*p_close)(struct nbd_handle *);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load_libnbd(void)
{
	void *h = dlopen("libnbd.so.0", RTLD_NOW);

	if (!h)
		return -1;
	*(void **)&p_create = dlsym(h, "nbd_create");
	*(void **)&p_connect_uri = dlsym(h, "nbd_connect_uri");
	*(void **)&p_pread = dlsym(h, "nbd_pread");
	*(void **)&p_pwrite = dlsym(h, "nbd_pwrite");
	*(void **)&p_flush = dlsym(h, "nbd_flush");
	*(void **)&p_shutdown = dlsym(h, "nbd_shutdown");
	*(void **)&p_close = dlsym(h, "nbd_close");
	return p_create && p_connect_uri && p_pread && p_pwrite && p_flush && p_shutdown && p_close ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: bench_randio TARGET r|w COUNT LO HI\n");
		return 2;
	}
	const char *target = argv[1];
	int wr = argv[2][0] == 'w';
	long n = atol(argv[3]);
	uint64_t lo = strtoull(argv[4], NULL, 0) / 4096, hi = strtoull(argv[5], NULL, 0) / 4096;
	uint64_t *offs = malloc((size_t)n * sizeof(*offs)), x = 7;
	void *buf = NULL;
	double t;

	if (!offs || hi <= lo || posix_memalign(&buf, 4096, 4096))
		return 2;
	for (long i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		offs[i] = (lo + x % (hi - lo)) * 4096;
	}
	for (int i = 0; i < 4096; i++)
		((uint8_t *)buf)[i] = (uint8_t)(i * 31 + 5);
	if (!strncmp(target, "nbd", 3)) {
		struct nbd_handle *h;
		if (load_libnbd() || !(h = p_create()) || p_connect_uri(h, target))
			return 1;
		t = now();
		for (long i = 0; i < n; i++)
			if ((wr ? p_pwrite(h, buf, 4096, offs[i], 0) : p_pread(h, buf, 4096, offs[i], 0)))
				return 1;
		if (wr && p_flush(h, 0))
			return 1;
		t = now() - t;
		p_shutdown(h, 0);
		p_close(h);
	} else {
		int fd = open(target, (wr ? O_RDWR : O_RDONLY) | O_DIRECT);
		if (fd < 0)
			return 1;
		t = now();
		for (long i = 0; i < n; i++)
			if ((wr ? pwrite(fd, buf, 4096, (off_t)offs[i]) : pread(fd, buf, 4096, (off_t)offs[i])) != 4096)
				return 1;
		if (wr && fsync(fd))
			return 1;
		t = now() - t;
		close(fd);
	}
	printf("%.4f\n", t);
	free(offs);
	free(buf);
	return 0;
}
