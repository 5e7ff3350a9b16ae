/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secrets live in locked memory and are wiped before release. */
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

struct bd_secret *bd_secret_new(size_t len)
{
	struct bd_secret *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->len = len;
	s->data = calloc(1, len ? len : 1);
	if (!s->data) {
		free(s);
		return NULL;
	}
	/* Best effort: without CAP_IPC_LOCK the limit may be small. */
	(void)mlock(s->data, len ? len : 1);
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
	explicit_bzero(s->data, s->len ? s->len : 1);
	munlock(s->data, s->len ? s->len : 1);
	free(s->data);
	free(s);
}

void bd_wipe(void *p, size_t len)
{
	explicit_bzero(p, len);
}
