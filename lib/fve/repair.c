/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Damaged volumes: find metadata when the volume header is gone (scan for
 * "-FVE-FS-" blocks), open from a key package, check the health of the three
 * copies and rewrite damaged ones in place, restore a metadata backup.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bdkit/fve.h"
#include "keypackage.h"
#include "writer.h"

/* ---- an io that borrows another (its close leaves the inner one open until told) ---- */

struct borrow {
	struct bd_io *inner;
	int own;
};

static ssize_t borrow_pread(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	struct borrow *b = io->priv;

	return b->inner->ops->pread(b->inner, buf, len, off);
}

static ssize_t borrow_pwrite(struct bd_io *io, const void *buf, size_t len, uint64_t off)
{
	struct borrow *b = io->priv;

	return b->inner->ops->pwrite ? b->inner->ops->pwrite(b->inner, buf, len, off) : -1;
}

static int borrow_sync(struct bd_io *io)
{
	struct borrow *b = io->priv;

	return b->inner->ops->sync ? b->inner->ops->sync(b->inner) : 0;
}

static void borrow_close(struct bd_io *io)
{
	struct borrow *b = io->priv;

	if (b->own)
		bd_io_close(b->inner);
	free(b);
}

static const struct bd_io_ops borrow_ops = { borrow_pread, borrow_pwrite, borrow_sync, borrow_close };

static struct bd_io *borrow_io(struct bd_io *inner, struct borrow **bp)
{
	struct bd_io *io = calloc(1, sizeof(*io));
	struct borrow *b = calloc(1, sizeof(*b));

	if (!io || !b) {
		free(io);
		free(b);
		return NULL;
	}
	b->inner = inner;
	io->ops = &borrow_ops;
	io->priv = b;
	io->size = inner->size;
	io->writable = inner->writable;
	snprintf(io->name, sizeof(io->name), "%s", inner->name);
	*bp = b;
	return io;
}

/* ---- scanning for metadata blocks ---- */

struct cand {
	uint64_t vol_off;
	uint64_t block_at;          /* input offset of the first valid block of this volume */
	uint8_t guid[16];
	int votes;
	uint64_t eow_off[2];        /* FVE-EOW information copies of this volume (0: none found) */
};

#define SCAN_CHUNK (1u << 20)
#define MAX_SCAN_SOURCES 64   /* volumes found by a scan that are offered to unlock, best supported first */

/* One vote: a CRC-valid block at `at` of volume guid says the volume starts at vol_off. */
struct hit {
	uint64_t vol_off, at;
	uint8_t guid[16];
};
struct hits {
	struct hit *h;
	size_t n, cap;
};

static int push_hit(struct hits *hs, uint64_t vol_off, uint64_t at, const uint8_t guid[16])
{
	if (hs->n == hs->cap) {
		size_t cap = hs->cap ? hs->cap * 2 : 64;
		struct hit *nh = realloc(hs->h, cap * sizeof(*nh));
		if (!nh)
			return bd_err(BD_ERR_NOMEM, "out of memory");
		hs->h = nh;
		hs->cap = cap;
	}
	hs->h[hs->n].vol_off = vol_off;
	hs->h[hs->n].at = at;
	memcpy(hs->h[hs->n].guid, guid, 16);
	hs->n++;
	return 0;
}

/* A block found at input offset at (held in buf when the whole area is there): its votes. */
static int check_at(struct bd_io *io, const uint8_t *buf, size_t avail, uint64_t at, struct hits *hs)
{
	struct bd_metadata m;
	int r = 0;

	/* parse from the scan buffer (no second read per block); a block that straddles it is read */
	if (avail >= BD_META_AREA_V2 ? bd_metadata_parse(buf, BD_META_AREA_V2, at, &m) : bd_metadata_read(io, 0, at, &m)) {
		bd_metadata_free(&m);
		return 0;
	}
	if (m.version == 2) {
		bd_debug("scan: metadata block of {%02x%02x%02x%02x...} at %llu", m.ds.guid[3], m.ds.guid[2],
			 m.ds.guid[1], m.ds.guid[0], (unsigned long long)at);
		for (int k = 0; k < 3 && !r; k++) {
			uint64_t co = m.copy_off[k];
			if (!co || co > at || (k > 0 && co == m.copy_off[0]) || (k > 1 && co == m.copy_off[1]))
				continue;  /* one vote per distinct start a block implies */
			r = push_hit(hs, at - co, at, m.ds.guid);
		}
	}
	bd_metadata_free(&m);
	return r;
}

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	int c = memcmp(x->guid, y->guid, 16);

	if (c)
		return c;
	if (x->vol_off != y->vol_off)
		return x->vol_off < y->vol_off ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Same GUID together, the best supported start of each first. */
static int cmp_cand_guid(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = memcmp(x->guid, y->guid, 16);

	if (c)
		return c;
	if (x->votes != y->votes)
		return y->votes - x->votes;
	return x->vol_off < y->vol_off ? -1 : x->vol_off > y->vol_off;
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->votes != y->votes)
		return y->votes - x->votes;
	return x->vol_off < y->vol_off ? -1 : x->vol_off > y->vol_off;
}

/* An FVE-EOW information block found by the scan: the volume start its copy offsets imply. */
struct eowhit {
	uint64_t vol_off, off[2];
	size_t seq;               /* order found: the last one found wins */
};

static int cmp_eowhit(const void *a, const void *b)
{
	const struct eowhit *x = a, *y = b;

	if (x->vol_off != y->vol_off)
		return x->vol_off < y->vol_off ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int eow_at(const uint8_t *p, uint64_t at, struct eowhit **eh, size_t *neh, size_t *cap)
{
	if (memcmp(p, "FVE-EOW", 8) || le16(p + 8) != 0x38)
		return 0;
	for (int j = 0; j < 2; j++) {
		uint64_t o = le64(p + 0x28 + 8 * j);
		if (!o || o > at)
			continue;
		if (*neh == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			struct eowhit *ne = realloc(*eh, nc * sizeof(*ne));
			if (!ne)
				return bd_err(BD_ERR_NOMEM, "out of memory");
			*eh = ne;
			*cap = nc;
		}
		(*eh)[*neh].vol_off = at - o;
		(*eh)[*neh].off[0] = le64(p + 0x28);
		(*eh)[*neh].off[1] = le64(p + 0x30);
		(*eh)[*neh].seq = *neh;
		(*neh)++;
	}
	return 0;
}

/*
 * Find every volume whose blocks lie in io: distinct (GUID, volume start), best supported first.
 * One pass over the input; votes are counted by sorting, so the work is O(n log n) in the number
 * of blocks found however many decoys a hostile input holds.
 */
static int scan(struct bd_io *io, struct cand **out, size_t *n)
{
	uint8_t *buf = malloc(SCAN_CHUNK);
	struct eowhit *eh = NULL;
	struct hits hs = { 0 };
	size_t neh = 0, ehcap = 0, nc = 0, k = 0;
	struct cand *cs = NULL;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (!buf)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	for (uint64_t off = 512; off < io->size && !r; off += SCAN_CHUNK) {
		size_t len = (size_t)MIN((uint64_t)SCAN_CHUNK, io->size - off);
		len -= len % 512;
		if (!len)
			break;
		if (bd_io_read_full(io, buf, len, off)) {
			/* unreadable somewhere in this chunk: sector by sector */
			for (size_t i = 0; i < len && !r; i += 512) {
				if (bd_io_read_full(io, buf, 512, off + i))
					continue;
				if (!memcmp(buf, "-FVE-FS-", 8))
					r = check_at(io, buf, 512, off + i, &hs);
				else
					r = eow_at(buf, off + i, &eh, &neh, &ehcap);
			}
			continue;
		}
		for (size_t i = 0; i < len && !r; i += 512) {
			if (buf[i] == '-' && !memcmp(buf + i, "-FVE-FS-", 8))
				r = check_at(io, buf + i, len - i, off + i, &hs);
			else if (buf[i] == 'F')
				r = eow_at(buf + i, off + i, &eh, &neh, &ehcap);
		}
	}
	free(buf);
	if (r)
		goto out;
	/* votes per (GUID, start) */
	if (hs.n)
		qsort(hs.h, hs.n, sizeof(*hs.h), cmp_hit);
	if (hs.n && !(cs = calloc(hs.n, sizeof(*cs)))) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < hs.n; i++) {
		if (nc && cs[nc - 1].vol_off == hs.h[i].vol_off && !memcmp(cs[nc - 1].guid, hs.h[i].guid, 16)) {
			cs[nc - 1].votes++;
			continue;
		}
		cs[nc].vol_off = hs.h[i].vol_off;
		cs[nc].block_at = hs.h[i].at;   /* the lowest: sorted by offset within a start */
		memcpy(cs[nc].guid, hs.h[i].guid, 16);
		cs[nc].votes = 1;
		nc++;
	}
	/* one entry per volume: of the (up to 3) starts each block implies, keep the best supported */
	if (nc)
		qsort(cs, nc, sizeof(*cs), cmp_cand_guid);
	for (size_t i = 0; i < nc; i++) {
		if (k && !memcmp(cs[k - 1].guid, cs[i].guid, 16) && cs[i].votes < cs[k - 1].votes)
			continue;
		cs[k++] = cs[i];
	}
	nc = k;
	/* attach EOW information to the volume it belongs to (the header that named it may be gone) */
	if (neh) {
		qsort(eh, neh, sizeof(*eh), cmp_eowhit);
		for (size_t i = 0; i < nc; i++) {
			size_t lo = 0, hi = neh;
			while (lo < hi) {   /* last hit of this start: the latest found */
				size_t mid = lo + (hi - lo) / 2;
				if (eh[mid].vol_off <= cs[i].vol_off)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo && eh[lo - 1].vol_off == cs[i].vol_off) {
				cs[i].eow_off[0] = eh[lo - 1].off[0];
				cs[i].eow_off[1] = eh[lo - 1].off[1];
			}
		}
	}
	if (nc)
		qsort(cs, nc, sizeof(*cs), cmp_cand);
	if (nc > MAX_SCAN_SOURCES) {
		bd_warn("the scan found metadata of %zu volumes; only the %d best supported are tried (give "
			"--offset for another)", nc, MAX_SCAN_SOURCES);
		nc = MAX_SCAN_SOURCES;
	}
	*out = cs;
	*n = nc;
	cs = NULL;
out:
	free(cs);
	free(hs.h);
	free(eh);
	return r;
}

/* A v2 header rebuilt from a block: sector size from the relocated boot sectors (16 x 512 or 2 x 4096). */
static void synth_header(struct bd_header *h, const struct bd_metadata *m, uint32_t ss, const uint64_t *eow_off)
{
	memset(h, 0, sizeof(*h));
	h->kind = BD_HDR_V2;
	if (eow_off && (eow_off[0] || eow_off[1])) {
		h->eow = 1;
		h->eow_off[0] = eow_off[0];
		h->eow_off[1] = eow_off[1];
	}
	if (!ss) {
		uint64_t vsize = 0x2000, o;
		struct bd_datum d;
		if (bd_datum_find(m->ds.entries, m->ds.entries_len, -1, BD_DT_VIRTUALIZATION, &d))
			bd_datum_virtualization(&d, &o, &vsize);
		ss = 512;
		if (m->virt_sectors && vsize % m->virt_sectors == 0) {
			uint64_t s = vsize / m->virt_sectors;
			if (s >= 512 && s <= 4096 && !(s & (s - 1)))
				ss = (uint32_t)s;
		}
	}
	h->sector_size = ss;
	h->sectors_per_cluster = 8;
	for (int i = 0; i < 3; i++)
		h->meta_off[i] = m->copy_off[i];
}

static int header_at(struct bd_io *io, uint64_t vol_off, struct bd_header *h)
{
	uint8_t bs[512];

	if (vol_off + 512 > io->size || bd_io_read_full(io, bs, 512, vol_off))
		return -1;
	return bd_header_parse(bs, h) ? -1 : 0;
}

static int looks_like_fs(const uint8_t *bs)
{
	struct bd_fs_info fi;

	bd_fs_probe(bs, 512, &fi);
	return fi.valid;
}

static int open_from_block(struct bd_io *io, const struct bd_salvage_opts *o, const uint8_t *block, size_t len,
			   uint64_t block_off, uint64_t vol_off, uint64_t vol_size, uint32_t ss, const uint8_t *alt_header,
			   const uint64_t *eow_off, const char *where, bd_volume **out)
{
	struct bd_metadata m;
	struct bd_header h;
	struct bd_open_opts oo = BD_OPEN_OPTS_INIT(.offset = (int64_t)vol_off, .writable = o->writable,
				   .ignore_integrity = o->ignore_integrity);
	uint64_t len_avail = io->size > vol_off ? io->size - vol_off : 0;
	int r;

	r = bd_metadata_parse(block, len, block_off, &m);
	if (r) {
		bd_metadata_free(&m);
		bd_io_close(io);
		return r;
	}
	if (header_at(io, vol_off, &h) || memcmp(h.meta_off, m.copy_off, sizeof(h.meta_off)) ||
	    h.kind == BD_HDR_VISTA) {
		/* the volume's own header is gone: the key package's copy (it knows EOW and To Go), else rebuilt */
		if (!alt_header || bd_header_parse(alt_header, &h) || h.kind == BD_HDR_VISTA ||
		    memcmp(h.meta_off, m.copy_off, sizeof(h.meta_off)))
		{
			synth_header(&h, &m, ss, eow_off);
			/* relocated boot sectors in plain text: an encrypt-on-write conversion that had not
			 * reached them; without its bitmaps, all-zero sectors are taken as never written */
			uint8_t bs[512];
			if (o->assume_eow) {
				h.eow = 1;
			} else if (!h.eow && !bd_io_read_full(io, bs, 512, vol_off + m.virt_offset) &&
				   looks_like_fs(bs)) {
				bd_info("the relocated boot sectors are not encrypted: treating the volume as an "
					"encrypt-on-write conversion in progress");
				h.eow = 1;
			}
		} else
			bd_info("the volume header is damaged: using the key package's copy of it");
	}
	else if (ss && h.sector_size != ss)
		h.sector_size = ss;
	if (!h.eow && eow_off && (eow_off[0] || eow_off[1])) {
		h.eow = 1;
		h.eow_off[0] = eow_off[0];
		h.eow_off[1] = eow_off[1];
	}
	bd_metadata_free(&m);
	if (vol_size && vol_size < len_avail)
		len_avail = vol_size;
	return bd_volume_open_block(io, &oo, &h, vol_off, len_avail, where, block, len, block_off, out);
}

/* A salvage session: the sources tried so far, and the scan made once for all of them. */
struct bd_salvage {
	struct bd_salvage_opts o;
	int attempt;
	int scanned;
	struct cand *cs;
	size_t ncs;
};

int bd_salvage_new(const struct bd_salvage_opts *o, bd_salvage **out)
{
	int r;

	*out = NULL;
	if ((r = BD_SIZE_CHECK(o, struct bd_salvage_opts, ignore_integrity, "BD_SALVAGE_OPTS_INIT")))
		return r;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	(*out)->o = *o;
	return 0;
}

void bd_salvage_free(bd_salvage *s)
{
	if (!s)
		return;
	free(s->cs);
	free(s);
}

int bd_salvage_next(bd_salvage *s, struct bd_io *io, bd_volume **out, struct bd_salvage_source *src)
{
	const struct bd_salvage_opts *o = &s->o;
	int attempt = s->attempt++;
	struct bd_open_opts oo = BD_OPEN_OPTS_INIT(.offset = o->offset, .writable = o->writable,
				   .ignore_integrity = o->ignore_integrity);
	struct cand *cs = NULL;
	size_t ncs = 0;
	struct bd_kp kp;
	int have_kp = 0, r, n = 0, header_vol_ok = 0;
	uint8_t header_guid[16] = { 0 };
	uint64_t header_vol_off = 0;
	struct borrow *b;
	struct bd_io *bio;
	char errs[512] = "";

	*out = NULL;
	memset(src, 0, sizeof(*src));
	if (o->key_package) {
		r = bd_kp_parse(o->key_package, o->key_package_len, &kp);
		if (r) {
			bd_io_close(io);
			return bd_err(r, "key package: %s", bd_last_error());
		}
		have_kp = 1;
	}

	/* 1: the volume header and its copies, as the reader does it */
	bio = borrow_io(io, &b);
	if (!bio) {
		bd_io_close(io);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	struct bd_header hh;
	uint64_t hoff = 0, hlen = 0;
	char where[128];
	src->header_ok = !bd_header_locate(io, o->offset, &hh, &hoff, &hlen, where, sizeof(where));
	r = bd_volume_open_io(bio, &oo, out);
	if (!r) {
		const struct bd_metadata *m = bd_vol_meta(*out);
		header_vol_ok = 1;
		header_vol_off = (*out)->off;
		memcpy(header_guid, m->ds.guid, 16);
		if (attempt == n) {
			b->own = 1;
			src->kind = 0;
			src->block_offset = (*out)->off + m->offset;
			snprintf(src->text, sizeof(src->text), "metadata copy %d at %llu, named by the volume header",
				 (*out)->used + 1, (unsigned long long)m->offset);
			return 0;
		}
		bd_volume_close(*out);
		*out = NULL;
		n++;
	} else {
		snprintf(errs, sizeof(errs), "volume header: %s", bd_last_error());
		bd_info("salvage: %s; scanning for metadata blocks", errs);
	}

	/* 2: every volume a scan finds (the input is scanned once per session) */
	if (!o->no_scan && !s->scanned) {
		r = scan(io, &s->cs, &s->ncs);
		if (r)
			goto out;
		s->scanned = 1;
	}
	cs = s->cs;
	ncs = s->ncs;
	for (size_t i = 0; i < ncs; i++) {
		struct cand *c = &cs[i];
		if (o->offset >= 0 && c->vol_off != (uint64_t)o->offset)
			continue;
		if (header_vol_ok && c->vol_off == header_vol_off && !memcmp(c->guid, header_guid, 16))
			continue; /* the same metadata the header already gave */
		if (attempt != n++)
			continue;
		struct bd_metadata m;
		r = bd_metadata_read(io, 0, c->block_at, &m);
		if (!r) {
			char w[128];
			snprintf(w, sizeof(w), "offset %llu (found by scanning)", (unsigned long long)c->vol_off);
			bio = borrow_io(io, &b);
			if (!bio) {
				bd_metadata_free(&m);
				r = bd_err(BD_ERR_NOMEM, "out of memory");
				goto out;
			}
			r = open_from_block(bio, o, m.buf, m.buf_len, c->block_at - c->vol_off, c->vol_off,
					    have_kp && !memcmp(kp.info.guid, c->guid, 16) ? kp.info.volume_size : 0,
					    have_kp && !memcmp(kp.info.guid, c->guid, 16) ? kp.info.sector_size : 0,
					    have_kp && !memcmp(kp.info.guid, c->guid, 16) ? kp.header : NULL, c->eow_off,
					    w, out);
		}
		bd_metadata_free(&m);
		if (!r) {
			b->own = 1;
			src->kind = 1;
			src->block_offset = c->block_at;
			src->copies_ok = c->votes;
			snprintf(src->text, sizeof(src->text), "metadata block found by scanning at input offset %llu "
				 "(%d intact cop%s of this volume; volume starts at %llu)",
				 (unsigned long long)c->block_at, c->votes, c->votes == 1 ? "y" : "ies",
				 (unsigned long long)c->vol_off);
			goto out;
		}
		goto out;
	}

	/* 3: the key package */
	if (have_kp) {
		uint64_t vol_off = o->offset >= 0 ? (uint64_t)o->offset : 0;
		struct bd_header h;
		uint8_t *area = NULL;
		size_t alen;
		char g[37];

		if (o->offset < 0 && src->header_ok)
			vol_off = hoff;
		else if (o->offset < 0 && kp.info.volume_offset && kp.info.volume_offset < io->size &&
			 !header_at(io, kp.info.volume_offset, &h))
			vol_off = kp.info.volume_offset;
		bd_guid_format(kp.info.guid, g);
		for (size_t i = 0; i < ncs; i++)
			if (cs[i].vol_off == vol_off && memcmp(cs[i].guid, kp.info.guid, 16)) {
				char f[37];
				bd_guid_format(cs[i].guid, f);
				r = bd_err(BD_ERR_INVALID, "the key package is for volume {%s}, but the metadata on "
					   "this input belongs to volume {%s}: wrong key package", g, f);
				goto out;
			}
		if (header_vol_ok && header_vol_off == vol_off && memcmp(header_guid, kp.info.guid, 16)) {
			char f[37];
			bd_guid_format(header_guid, f);
			r = bd_err(BD_ERR_INVALID, "the key package is for volume {%s}, but this volume is {%s}: "
				   "wrong key package", g, f);
			goto out;
		}
		if (!header_at(io, vol_off, &h) && h.kind != BD_HDR_VISTA &&
		    memcmp(h.meta_off, kp.info.copy_offset, sizeof(h.meta_off))) {
			r = bd_err(BD_ERR_INVALID, "the key package is for volume {%s}, whose metadata lies at %llu, "
				   "%llu, %llu; this volume's header names %llu, %llu, %llu: the key package "
				   "belongs to another volume", g, (unsigned long long)kp.info.copy_offset[0],
				   (unsigned long long)kp.info.copy_offset[1], (unsigned long long)kp.info.copy_offset[2],
				   (unsigned long long)h.meta_off[0], (unsigned long long)h.meta_off[1],
				   (unsigned long long)h.meta_off[2]);
			goto out;
		}
		if (kp.info.volume_size && io->size > vol_off && kp.info.volume_size < io->size - vol_off &&
		    o->offset < 0 && vol_off == 0 && kp.info.volume_size + 1024 * 1024 < io->size)
			bd_info("the key package's volume is %llu bytes; the input has %llu",
				(unsigned long long)kp.info.volume_size, (unsigned long long)io->size);
		if (attempt != n++) {
			r = bd_err(BD_ERR_NOT_BITLOCKER, "no further metadata source");
			goto out;
		}
		r = bd_kp_block_area(&kp, &area, &alen);
		if (r)
			goto out;
		bio = borrow_io(io, &b);
		if (!bio) {
			free(area);
			r = bd_err(BD_ERR_NOMEM, "out of memory");
			goto out;
		}
		snprintf(where, sizeof(where), "offset %llu (from the key package)", (unsigned long long)vol_off);
		r = open_from_block(bio, o, area, alen, kp.info.block_offset, vol_off, kp.info.volume_size,
				    kp.info.sector_size, kp.header, NULL, where, out);
		free(area);
		if (!r) {
			b->own = 1;
			src->kind = 2;
			src->block_offset = kp.info.block_offset;
			snprintf(src->text, sizeof(src->text), "key package of volume {%s} (%s)", g,
				 kp.info.format == BD_KP_FOREIGN ? "metadata block found in a foreign key package" :
				 kp.info.format == BD_KP_BACKUP ? "bdkit metadata backup" : "bdkit key package");
		}
		goto out;
	}
	if (attempt == 0 && !header_vol_ok && !src->header_ok && !ncs)
		/* no BitLocker header and no metadata block anywhere: most likely not BitLocker at all */
		r = bd_err(BD_ERR_NOT_BITLOCKER, "%s; a scan of the whole input found no BitLocker metadata block "
			   "either (if this was a BitLocker volume whose metadata is all destroyed, give --key-package FILE "
			   "exported while it worked)", errs);
	else if (attempt == 0 && !header_vol_ok)
		r = bd_err(BD_ERR_CORRUPT, "no usable metadata: %s; a scan of the whole input found no intact "
			   "metadata block; give --key-package FILE (exported while the volume worked)", errs);
	else
		r = bd_err(BD_ERR_NOT_BITLOCKER, "no further metadata source%s", have_kp ? "" :
			   " (a key package from 'bdkit keypackage export' would be another)");
out:
	if (r || !*out)
		bd_io_close(io);
	return r;
}

int bd_salvage_verify(bd_volume *v, const uint8_t *kpbuf, size_t kplen)
{
	uint8_t bs[512];
	ssize_t n;

	if (!v->unlocked)
		return bd_err(BD_ERR_LOCKED, "unlock the volume first");
	n = bd_volume_pread(v, bs, 512, 0);
	if (n != 512) {
		bd_warn("the volume's first sector cannot be read (%s): the key cannot be checked against the data",
			bd_last_error());
		return 0;
	}
	struct bd_fs_info fi;
	bd_fs_probe(bs, 512, &fi);
	if (!fi.valid)
		return bd_err(BD_ERR_WRONG_KEY, "the secret opens this metadata, but its key does not decrypt the "
			      "volume's first sector to a file system header: the metadata%s belongs to another "
			      "volume, or the sector size or the volume start is wrong", kpbuf ? " (key package)" : "");
	if (fi.kind == BD_FS_NTFS && fi.bytes_per_sector && fi.bytes_per_sector != v->ss)
		bd_warn("the file system says %u-byte sectors, the volume uses %u", fi.bytes_per_sector, v->ss);
	return 0;
}

/* ---- health and repair in place ---- */

static int header_status(bd_volume *v, const struct bd_metadata *u)
{
	struct bd_header h;
	uint8_t bs[512];

	if (bd_io_read_full(v->io, bs, 512, v->off))
		return 1;
	if (bd_header_parse(bs, &h))
		return 2;
	if (h.kind != BD_HDR_VISTA && memcmp(h.meta_off, u->copy_off, sizeof(h.meta_off)))
		return 3;
	return 0;
}

int bd_metadata_health(bd_volume *v, struct bd_meta_health *hl)
{
	const struct bd_metadata *u = bd_vol_meta(v);

	memset(hl, 0, sizeof(*hl));
	hl->used = -1;
	hl->header_status = header_status(v, u);
	hl->header_ok = hl->header_status == 0;
	hl->hash_checked = v->unlocked && v->vmk;
	for (int i = 0; i < 3; i++) {
		struct bd_metadata m;
		hl->copy_offset[i] = u->copy_off[i];
		if (!u->copy_off[i]) {
			hl->copy_status[i] = BD_COPY_UNREADABLE;
			continue;
		}
		bd_metadata_read(v->io, v->off, u->copy_off[i], &m);
		hl->copy_status[i] = m.status;
		if (m.status == BD_COPY_OK && hl->hash_checked &&
		    bd_metadata_verify_hash(&m, v->vmk->data) == BD_ERR_CORRUPT)
			hl->copy_status[i] = BD_COPY_BAD_HASH;
		if (hl->copy_status[i] == BD_COPY_OK) {
			size_t n = MIN(m.buf_len, u->buf_len);
			if (m.buf_len != u->buf_len || memcmp(m.buf, u->buf, n))
				hl->copy_stale[i] = 1;
			else if (hl->used < 0)
				hl->used = i;
		}
		bd_metadata_free(&m);
	}
	return 0;
}

/* Write one area, sync, read it back and compare. */
static int write_verified(struct bd_io *io, const uint8_t *p, size_t len, uint64_t at, const char *what)
{
	uint8_t *back;
	int r;

	r = bd_io_write_full(io, p, len, at);
	if (!r)
		r = bd_io_sync(io);
	if (r)
		return bd_err(r, "rewriting %s failed: %s", what, bd_last_error());
	back = malloc(len);
	if (!back)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	r = bd_io_read_full(io, back, len, at);
	if (!r && memcmp(back, p, len))
		r = bd_err(BD_ERR_IO, "%s reads back different from what was written: the medium is failing", what);
	else if (r)
		r = bd_err(r, "reading back %s failed: %s", what, bd_last_error());
	free(back);
	return r;
}

int bd_metadata_repair(bd_volume *v, const uint8_t *kpbuf, size_t kplen, unsigned *rewritten)
{
	const struct bd_metadata *u = bd_vol_meta(v);
	struct bd_meta_health hl;
	uint8_t *area;
	int r = 0;

	*rewritten = 0;
	if (!v->writable || !v->io->writable)
		return bd_err(BD_ERR_READONLY, "the volume was opened read-only");
	if (u->status != BD_COPY_OK || u->version != 2)
		return bd_err(BD_ERR_UNSUPPORTED, "repair in place needs a valid Windows 7+ (version 2) metadata block");
	if (v->unlocked && v->vmk && bd_metadata_verify_hash(u, v->vmk->data) == BD_ERR_CORRUPT)
		return bd_err(BD_ERR_CORRUPT, "the metadata in use fails its SHA-256 check: refusing to copy it");
	bd_metadata_health(v, &hl);
	if (!hl.hash_checked && (hl.copy_stale[0] || hl.copy_stale[1] || hl.copy_stale[2]))
		return bd_err(BD_ERR_LOCKED, "the metadata copies hold different valid blocks; without a secret "
			      "bdkit cannot tell which one is this volume's (the VMK-keyed SHA-256 decides): give "
			      "one, e.g. --recovery-password-file; nothing was changed");
	area = calloc(1, BD_META_AREA_V2);
	if (!area)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	memcpy(area, u->buf, MIN(u->buf_len, (size_t)BD_META_AREA_V2));
	for (int i = 0; i < 3 && !r; i++) {
		char what[64];
		if (hl.copy_status[i] == BD_COPY_OK && !hl.copy_stale[i])
			continue;
		if (!u->copy_off[i] || v->off + u->copy_off[i] + BD_META_AREA_V2 > v->io->size) {
			r = bd_err(BD_ERR_TRUNCATED, "metadata copy %d at %llu lies beyond the end of the input", i + 1,
				   (unsigned long long)u->copy_off[i]);
			break;
		}
		snprintf(what, sizeof(what), "metadata copy %d at %llu", i + 1, (unsigned long long)u->copy_off[i]);
		r = write_verified(v->io, area, BD_META_AREA_V2, v->off + u->copy_off[i], what);
		if (!r) {
			*rewritten |= 1u << i;
			bd_info("%s rewritten and verified", what);
		}
	}
	free(area);
	if (!r && !hl.header_ok) {
		struct bd_kp kp;
		if (kpbuf && !bd_kp_parse(kpbuf, kplen, &kp) && kp.header &&
		    !memcmp(kp.info.guid, u->ds.guid, 16)) {
			struct bd_header h;
			if (bd_header_parse(kp.header, &h) || memcmp(h.meta_off, u->copy_off, sizeof(h.meta_off)))
				return bd_err(BD_ERR_CORRUPT, "the key package's volume header does not match the metadata");
			r = write_verified(v->io, kp.header, 512, v->off, "the volume header");
			if (!r)
				*rewritten |= 1u << 3;
		} else if (v->hdr.kind == BD_HDR_TOGO || v->hdr.kind == BD_HDR_VISTA) {
			bd_warn("the volume header is damaged; a %s header cannot be rebuilt without a key package: "
				"it is left as it is ('bdkit repair' can still salvage the data)",
				v->hdr.kind == BD_HDR_TOGO ? "BitLocker To Go" : "Vista");
		} else if (!v->unlocked) {
			bd_warn("the volume header is damaged: give a secret so that bdkit can check the metadata "
				"really is this volume's before rebuilding the header from it; left as it is");
		} else {
			/* rebuild the Windows 7+ header from the metadata (format.md §1.3) */
			uint8_t hdr[512], bs[512];
			uint8_t spc = 8;
			struct bd_fs_info fi;
			if (bd_volume_pread(v, bs, 512, 0) == 512 && bd_fs_probe(bs, 512, &fi) == BD_FS_NTFS &&
			    bs[13] && bs[13] <= 0x80)
				spc = bs[13];
			bd_build_volume_header(hdr, v->ss, spc, (uint32_t)(v->off / v->ss), u->copy_off);
			if (v->hdr.eow) {
				memcpy(hdr + FVE_VH_GUID, bd_guid_eow, 16);
				put_le64(hdr + FVE_VH_GUID + FVE_VH_REL_EOW_OFFSET, v->hdr.eow_off[0]);
				put_le64(hdr + FVE_VH_GUID + FVE_VH_REL_EOW_OFFSET + 8, v->hdr.eow_off[1]);
			}
			r = write_verified(v->io, hdr, 512, v->off, "the volume header (rebuilt from the metadata)");
			if (!r)
				*rewritten |= 1u << 3;
		}
	}
	return r;
}

/* The metadata block at off on io (a CRC-valid one: 1 and its GUID; else 0). */
static int block_guid_at(struct bd_io *io, uint64_t vol_off, uint64_t off, uint8_t guid[16])
{
	struct bd_metadata m;
	int ok = !bd_metadata_read(io, vol_off, off, &m);

	if (ok)
		memcpy(guid, m.ds.guid, 16);
	bd_metadata_free(&m);
	return ok;
}

/*
 * A backup says where its areas go. Always checked: every area lies in the target, metadata areas at
 * the non-zero, sector-aligned offsets the backup's own metadata block (and header) names, the header
 * at 0, no two overlapping. Unless force, the target must also be recognisably the backup's volume: its
 * header names the same copies, or a metadata block of the same GUID sits at one of them, and no block
 * of another volume does.
 */
static int restore_check(struct bd_io *io, uint64_t vol_off, const struct bd_kp *kp, int force)
{
	char g[37], f[37];
	struct bd_header th, bh;
	uint8_t bs[512], tg[16];
	int have_block = kp->block != NULL, bh_ok = 0, same = 0;

	bd_guid_format(kp->info.guid, g);
	if (kp->area[3] && kp->area_len[3] == 512 && !bd_header_parse(kp->area[3], &bh) && bh.kind != BD_HDR_VISTA)
		bh_ok = 1;
	for (int i = 0; i < 4; i++) {
		if (!kp->area[i])
			continue;
		uint64_t o = kp->area_off[i], n = kp->area_len[i];
		if (vol_off > io->size || o > io->size - vol_off || n > io->size - vol_off - o)
			return bd_err(BD_ERR_TRUNCATED, "backup area %d at %llu (+%llu) lies beyond the end of %s", i,
				      (unsigned long long)o, (unsigned long long)n, io->name);
		if (i == 3 ? (o != 0 || n > 512) : (!o || o % 512 || n > BD_META_AREA_V2))
			return bd_err(BD_ERR_CORRUPT, "backup area %d claims %llu (+%llu): not where a volume %s lies; "
				      "refusing this backup", i, (unsigned long long)o, (unsigned long long)n,
				      i == 3 ? "header" : "metadata copy");
		if (i < 3 && have_block && o != kp->info.copy_offset[i])
			return bd_err(BD_ERR_CORRUPT, "backup area %d is at %llu, but the backup's metadata puts copy %d "
				      "at %llu: inconsistent backup, refused", i, (unsigned long long)o, i + 1,
				      (unsigned long long)kp->info.copy_offset[i]);
		if (i < 3 && bh_ok && o != bh.meta_off[i])
			return bd_err(BD_ERR_CORRUPT, "backup area %d is at %llu, but the backup's volume header puts "
				      "copy %d at %llu: inconsistent backup, refused", i, (unsigned long long)o, i + 1,
				      (unsigned long long)bh.meta_off[i]);
		for (int k = 0; k < i; k++)
			if (kp->area[k] && o < kp->area_off[k] + kp->area_len[k] && kp->area_off[k] < o + n)
				return bd_err(BD_ERR_CORRUPT, "backup areas %d and %d overlap: refused", k, i);
	}
	if (force)
		return 0;
	if (!have_block)
		return bd_err(BD_ERR_EXISTS, "the backup holds no valid metadata block, so nothing says which volume "
			      "it belongs to; --force restores it anyway");
	/* the target as it is: its header, and the blocks at the backup's offsets and at the header's */
	int th_ok = !bd_io_read_full(io, bs, 512, vol_off) && !bd_header_parse(bs, &th);
	if (th_ok && th.kind != BD_HDR_VISTA && memcmp(th.meta_off, kp->info.copy_offset, sizeof(th.meta_off)))
		return bd_err(BD_ERR_EXISTS, "the target's volume header puts its metadata at %llu, %llu, %llu; the "
			      "backup (volume {%s}) at %llu, %llu, %llu: another volume; --force restores it anyway",
			      (unsigned long long)th.meta_off[0], (unsigned long long)th.meta_off[1],
			      (unsigned long long)th.meta_off[2], g, (unsigned long long)kp->info.copy_offset[0],
			      (unsigned long long)kp->info.copy_offset[1], (unsigned long long)kp->info.copy_offset[2]);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 3; i++) {
			uint64_t o = pass ? (th_ok ? th.meta_off[i] : 0) : kp->info.copy_offset[i];
			if (!o || !block_guid_at(io, vol_off, o, tg))
				continue;
			if (memcmp(tg, kp->info.guid, 16)) {
				bd_guid_format(tg, f);
				return bd_err(BD_ERR_EXISTS, "the target is BitLocker volume {%s}; the backup is of volume "
					      "{%s}: refusing to put another volume's metadata (and protectors) on it; "
					      "--force restores it anyway", f, g);
			}
			same = 1;
		}
	if (!th_ok && !same)
		return bd_err(BD_ERR_NOT_BITLOCKER, "%s holds neither a BitLocker volume header nor a metadata block "
			      "at the backup's offsets (at volume offset %llu): it may be another file or a volume "
			      "damaged beyond recognition; --force restores the backup anyway", io->name,
			      (unsigned long long)vol_off);
	return 0;
}

int bd_metadata_restore(struct bd_io *io, uint64_t vol_off, const uint8_t *buf, size_t len, int force)
{
	struct bd_kp kp;
	int r;

	r = bd_kp_parse(buf, len, &kp);
	if (r)
		return r;
	if (kp.info.format != BD_KP_BACKUP)
		return bd_err(BD_ERR_INVALID, "this is a key package, not a metadata backup: use 'bdkit metadata "
			      "repair --key-package' to rebuild metadata from it");
	if (!kp.info.n_areas)
		return bd_err(BD_ERR_CORRUPT, "the backup holds no area to restore");
	if (!io->writable)
		return bd_err(BD_ERR_READONLY, "%s is open read-only", io->name);
	r = restore_check(io, vol_off, &kp, force);
	if (r)
		return r;
	for (int i = 3; i >= 0; i--) {
		char what[64];
		if (!kp.area[i])
			continue;
		snprintf(what, sizeof(what), i == 3 ? "the volume header" : "metadata copy %d", i + 1);
		r = write_verified(io, kp.area[i], kp.area_len[i], vol_off + kp.area_off[i], what);
		if (r)
			return r;
	}
	return 0;
}
