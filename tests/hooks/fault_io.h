/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test hooks (tests/hooks/fault_io.c): not part of libbdkit. */
#ifndef BDKIT_TEST_FAULT_IO_H
#define BDKIT_TEST_FAULT_IO_H
#include "bdkit.h"

/* Wrap an existing io with a fault injector for tests: `ranges` holds n_ranges
 * pairs {start, len}; reads touching one fail with EIO. After `fail_writes_after` successful
 * pwrite calls (-1: never) every further write fails. The inner io is owned. */
int bd_io_fault_wrap(struct bd_io *inner, const uint64_t *ranges, size_t n_ranges,
		     long fail_writes_after, struct bd_io **out);
#endif
