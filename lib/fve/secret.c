/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secrets live in locked memory, left out of core dumps, and are wiped before release. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/* Whole pages, so that MADV_DONTDUMP covers the secret and nothing else. */
static size_t pages_for(size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t p = pg > 0 ? (size_t)pg : 4096;

	return ((len ? len : 1) + p - 1) / p * p;
}

void *bd_locked_alloc(size_t len)
{
	size_t n = pages_for(len);
	void *p = NULL;
	long pg = sysconf(_SC_PAGESIZE);

	if (posix_memalign(&p, pg > 0 ? (size_t)pg : 4096, n))
		return NULL;
	memset(p, 0, n);
	/* Best effort: without CAP_IPC_LOCK the limit may be small. */
	(void)mlock(p, n);
	(void)madvise(p, n, MADV_DONTDUMP);
	return p;
}

void bd_locked_free(void *p, size_t len)
{
	size_t n = pages_for(len);

	if (!p)
		return;
	explicit_bzero(p, n);
	munlock(p, n);
	(void)madvise(p, n, MADV_DODUMP);
	free(p);
}

struct bd_secret *bd_secret_new(size_t len)
{
	struct bd_secret *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->len = len;
	s->data = bd_locked_alloc(len);
	if (!s->data) {
		free(s);
		return NULL;
	}
	return s;
}

struct bd_secret *bd_secret_dup(const void *data, size_t len)
{
	struct bd_secret *s = bd_secret_new(len);

	if (s && len)
		memcpy(s->data, data, len);
	return s;
}

void bd_secret_free(struct bd_secret *s)
{
	if (!s)
		return;
	bd_locked_free(s->data, s->len);
	free(s);
}

void bd_wipe(void *p, size_t len)
{
	explicit_bzero(p, len);
}
