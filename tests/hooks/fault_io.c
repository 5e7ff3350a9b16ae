/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test hooks, never in the product: an io that fails chosen reads and writes. Linked into the
 * unit tests and into $(BUILD)/bdkit-test (the CLI built with -DBDKIT_TEST_HOOKS), which the
 * shell tests use where they set BDKIT_FAULT_RANGES, BDKIT_FAIL_WRITES_AFTER or
 * BDKIT_REPAIR_STOP_AFTER. The installed bdkit neither has this code nor reads those variables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_io.h"

struct fault_io {
	struct bd_io *inner;
	uint64_t *ranges;   /* pairs start, len */
	size_t n_ranges;
	long writes_left;   /* -1: unlimited */
};

static ssize_t fault_pread(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	struct fault_io *f = io->priv;

	for (size_t i = 0; i < f->n_ranges; i++) {
		uint64_t s = f->ranges[2 * i], e = s + f->ranges[2 * i + 1];
		if (off < e && off + len > s)
			return -EIO;
	}
	return f->inner->ops->pread(f->inner, buf, len, off);
}

static ssize_t fault_pwrite(struct bd_io *io, const void *buf, size_t len, uint64_t off)
{
	struct fault_io *f = io->priv;

	if (f->writes_left == 0)
		return -EIO;
	if (f->writes_left > 0)
		f->writes_left--;
	return f->inner->ops->pwrite(f->inner, buf, len, off);
}

static int fault_sync(struct bd_io *io)
{
	struct fault_io *f = io->priv;

	if (f->writes_left == 0)
		return -EIO;
	return f->inner->ops->sync ? f->inner->ops->sync(f->inner) : 0;
}

static void fault_close(struct bd_io *io)
{
	struct fault_io *f = io->priv;

	bd_io_close(f->inner);
	free(f->ranges);
	free(f);
}

static const struct bd_io_ops fault_ops = { fault_pread, fault_pwrite, fault_sync, fault_close };

int bd_io_fault_wrap(struct bd_io *inner, const uint64_t *ranges, size_t n_ranges,
		     long fail_writes_after, struct bd_io **out)
{
	struct bd_io *io = calloc(1, sizeof(*io));
	struct fault_io *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!io || !f || (n_ranges && !(f->ranges = malloc(n_ranges * 2 * sizeof(uint64_t))))) {
		free(io);
		if (f)
			free(f->ranges);
		free(f);
		bd_io_close(inner);
		return BD_ERR_NOMEM;
	}
	if (n_ranges)
		memcpy(f->ranges, ranges, n_ranges * 2 * sizeof(uint64_t));
	f->inner = inner;
	f->n_ranges = n_ranges;
	f->writes_left = fail_writes_after;
	io->ops = &fault_ops;
	io->priv = f;
	io->size = inner->size;
	io->writable = inner->writable;
	snprintf(io->name, sizeof(io->name), "%s", inner->name);
	snprintf(io->container, sizeof(io->container), "%s", inner->container);
	*out = io;
	return 0;
}
