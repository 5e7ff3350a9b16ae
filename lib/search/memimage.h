/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory images' insides (memimage.c), shared with the key search (memkeys.c). */
#ifndef BDKIT_MEMIMAGE_H
#define BDKIT_MEMIMAGE_H

#include "bdkit/search.h"
#include "internal.h"

struct bd_mem_run {
	uint64_t file_off, len;
	uint64_t addr;             /* address of the first byte (physical or virtual, see addr_kind) */
};

struct bd_memimage {
	struct bd_io *io;
	int format;                /* enum bd_mem_format */
	struct bd_mem_run *runs;   /* sorted by file_off, not overlapping */
	size_t n_runs, cap_runs;
	uint64_t data_bytes;
	int addr_kind;             /* enum bd_mem_addr_kind */
	int truncated;
	char description[96];
};

#endif /* BDKIT_MEMIMAGE_H */
