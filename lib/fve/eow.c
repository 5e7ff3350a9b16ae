/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Encrypt-on-write (used-space-only conversion) information and bitmaps
 * (format.md §7.2). Layout from the spec; the test corpus has no live bitmaps,
 * so every field is bounds-checked and any doubt makes the caller fall back.
 */
#include <stdlib.h>

#include "volume.h"

void bd_eow_free(struct bd_eow *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_regions; i++)
		free(e->regions[i].bits);
	free(e->regions);
	free(e->reserved);
	free(e);
}

static int add_res(struct bd_eow *e, uint64_t start, uint64_t len)
{
	struct bd_range *r;

	if (!len)
		return 0;
	r = realloc(e->reserved, (e->n_reserved + 1) * sizeof(*r));
	if (!r)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	e->reserved = r;
	r[e->n_reserved].start = start;
	r[e->n_reserved].len = len;
	e->n_reserved++;
	return 0;
}

static int load_region(struct bd_volume *v, struct bd_eow *e, uint64_t at, uint32_t convlog_size)
{
	uint8_t h[0x3C];
	struct bd_eow_region *rg = &e->regions[e->n_regions];
	uint64_t best_seq = 0;
	int have = 0, r;

	if (at >= v->len || v->len - at < sizeof(h))
		return bd_err(BD_ERR_CORRUPT, "EOW bitmap block at %llu lies outside the volume", (unsigned long long)at);
	r = bd_io_read_full(v->io, h, sizeof(h), v->off + at);
	if (r)
		return r;
	if (memcmp(h, "FVE-EOWBM", 10))
		return bd_err(BD_ERR_CORRUPT, "no FVE-EOWBM bitmap block at %llu", (unsigned long long)at);
	uint32_t size = le32(h + 12);
	rg->offset = le64(h + 20);
	rg->size = le64(h + 28);
	uint64_t convlog = le64(h + 36);
	if (size < 0x3C || size > (16u << 20))
		return bd_err(BD_ERR_CORRUPT, "EOW bitmap block at %llu has size %u", (unsigned long long)at, size);
	/* the region must lie in the volume on sector boundaries: runs of the view end at its edges */
	if (!rg->size || rg->offset % v->ss || rg->size % v->ss || rg->offset > v->len ||
	    rg->size > v->len - rg->offset)
		return bd_err(BD_ERR_CORRUPT, "EOW bitmap block at %llu describes %llu (+%llu), which is not whole "
			      "sectors of the volume (%llu bytes)", (unsigned long long)at,
			      (unsigned long long)rg->offset, (unsigned long long)rg->size, (unsigned long long)v->len);
	/* chunks the region holds: more bits than that mean nothing (64-bit arithmetic throughout) */
	uint64_t chunks = rg->size / e->chunk_size + (rg->size % e->chunk_size != 0);
	if (size > v->len - at)
		return bd_err(BD_ERR_CORRUPT, "EOW bitmap block at %llu runs past the volume", (unsigned long long)at);
	uint8_t *blk = malloc(size);
	if (!blk)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	r = bd_io_read_full(v->io, blk, size, v->off + at);
	for (int i = 0; !r && i < 2; i++) {
		uint32_t ro = le32(h + 44 + 4 * i);
		if (ro < 0x3C || (uint64_t)ro + 0x24 > size || memcmp(blk + ro, "FVE-EOWBR", 10))
			continue;
		uint16_t rh = le16(blk + ro + 10);
		uint64_t nbits = le32(blk + ro + 16);
		uint64_t seq = le64(blk + ro + 20);
		if (nbits > chunks)
			nbits = chunks;
		uint64_t nbytes = (nbits + 7) / 8;
		if (rh < 0x24 || (uint64_t)ro + rh + nbytes > size)
			continue;
		if (have && seq <= best_seq)
			continue;
		uint8_t *bits = malloc((size_t)nbytes + 1);
		if (!bits) {
			r = bd_err(BD_ERR_NOMEM, "out of memory");
			break;
		}
		memcpy(bits, blk + ro + rh, (size_t)nbytes);
		free(rg->bits);
		rg->bits = bits;
		rg->nbits = (size_t)nbits;
		best_seq = seq;
		have = 1;
	}
	free(blk);
	if (r)
		return r;
	if (!have)
		return bd_err(BD_ERR_CORRUPT, "EOW bitmap block at %llu holds no valid record", (unsigned long long)at);
	e->n_regions++;
	r = add_res(e, at, (size + v->ss - 1) / v->ss * v->ss);
	if (!r && convlog)
		r = add_res(e, convlog, convlog_size);
	return r;
}

int bd_eow_load(struct bd_volume *v)
{
	uint8_t h[0x38 + 8 * 64];
	struct bd_eow *e;
	int r = BD_ERR_CORRUPT;

	for (int copy = 0; copy < 2; copy++) {
		uint64_t at = v->hdr.eow_off[copy];
		if (!at || at >= v->len)
			continue;
		memset(h, 0, sizeof(h));
		if (bd_io_read_full(v->io, h, MIN(sizeof(h), (size_t)(v->len - at)), v->off + at))
			continue;
		if (memcmp(h, "FVE-EOW", 8))
			continue;
		uint16_t total = le16(h + 0x0A);
		uint32_t chunk = le32(h + 0x14), n = le32(h + 0x20);
		if (total < 0x38 || total > sizeof(h) || n > 64 || 0x38 + 8 * (size_t)n > total || !chunk ||
		    chunk % v->ss)
			continue;
		uint32_t crc = le32(h + 0x24);
		put_le32(h + 0x24, 0);
		if (bd_crc32(h, total) != crc) {
			bd_warn("EOW information copy %d: CRC32 mismatch", copy + 1);
			continue;
		}
		e = calloc(1, sizeof(*e));
		if (!e || !(e->regions = calloc(n ? n : 1, sizeof(*e->regions)))) {
			free(e);
			return bd_err(BD_ERR_NOMEM, "out of memory");
		}
		e->chunk_size = chunk;
		r = 0;
		for (int k = 0; k < 2 && !r; k++)
			r = add_res(e, le64(h + 0x28 + 8 * k), (total + v->ss - 1) / v->ss * v->ss);
		for (uint32_t i = 0; i < n && !r; i++)
			r = load_region(v, e, le64(h + 0x38 + 8 * i), le32(h + 0x18));
		if (r) {
			bd_eow_free(e);
			continue;
		}
		v->eow = e;
		return 0;
	}
	return bd_err(BD_ERR_CORRUPT, "no valid FVE-EOW information at %llu or %llu",
		      (unsigned long long)v->hdr.eow_off[0], (unsigned long long)v->hdr.eow_off[1]);
}

int bd_eow_encrypted(const struct bd_eow *e, uint64_t p, uint64_t *run)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < e->n_regions; i++) {
		const struct bd_eow_region *rg = &e->regions[i];
		if (p >= rg->offset && p - rg->offset < rg->size) {
			uint64_t rel = p - rg->offset, k = rel / e->chunk_size;
			uint64_t end = MIN((k + 1) * e->chunk_size, rg->size);
			*run = end - rel;
			if (k >= rg->nbits)
				return 0;
			return (rg->bits[k / 8] >> (k % 8)) & 1;
		}
		if (rg->offset > p)
			next = MIN(next, rg->offset - p);
	}
	/* outside every bitmap region: not converted */
	*run = next;
	return 0;
}
