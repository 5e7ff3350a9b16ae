/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The volume handle and its decrypted view (format.md §1.5, §7). */
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>

#include "bdkit/fve.h"
#include "volume.h"

const char *bd_copy_status_name(int s)
{
	switch (s) {
	case BD_COPY_OK: return "ok";
	case BD_COPY_UNREADABLE: return "unreadable";
	case BD_COPY_BAD_SIGNATURE: return "no signature";
	case BD_COPY_BAD_CRC: return "bad CRC32";
	case BD_COPY_BAD_HASH: return "bad SHA-256";
	case BD_COPY_BAD_STRUCTURE: return "bad structure";
	}
	return "unknown";
}

static const char *state_name(uint16_t cur, uint16_t next)
{
	if (cur == 4 && next == 4)
		return "encrypted";
	if (cur == 1 && next == 1)
		return "decrypted";
	switch (cur) {
	case 1: return next == 4 ? "encryption paused" : "decrypted";
	case 2: return next == 1 ? "decrypting" : "encrypting";
	case 3: return next == 1 ? "decryption paused" : "paused";
	case 4: return next == 1 ? "decryption pending" : "encrypted";
	case 5: return next == 1 ? "decryption paused" : "encryption paused";
	}
	return "unknown";
}

/* ---- reserved ranges ---- */

/*
 * Every byte range the view reads as zeros (metadata areas, relocated boot sectors, conversion
 * log, EOW blocks) comes from on-disk fields, some of them covered by no checksum (the header's
 * EOW offsets). They are validated here, once: clipped to the volume and widened to whole
 * sectors, then sorted and merged. classify() hands out runs that start and end on sector
 * boundaries only because of this, and the sector ciphers (decrypt_run, write_aligned) rely on it.
 */
static int add_range(struct bd_volume *v, uint64_t start, uint64_t len, const char *what)
{
	struct bd_range *nr;
	uint64_t ss = v->ss, end;

	if (!len || start >= v->len)
		return 0;  /* nothing of the volume to hide */
	end = len > v->len - start ? v->len : start + len;
	if (start % ss || end % ss)
		bd_warn("%s at %llu (+%llu) is not sector-aligned; whole sectors around it read as zeros",
			what, (unsigned long long)start, (unsigned long long)len);
	start -= start % ss;
	if (end % ss)
		end += ss - end % ss;
	nr = realloc(v->reserved, (v->n_reserved + 1) * sizeof(*nr));
	if (!nr)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	v->reserved = nr;
	nr[v->n_reserved].start = start;
	nr[v->n_reserved].len = end - start;
	v->n_reserved++;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct bd_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int build_reserved(struct bd_volume *v)
{
	const struct bd_metadata *m = bd_vol_meta(v);
	uint64_t area;
	int r = 0;

	if (v->hdr.kind == BD_HDR_VISTA) {
		uint64_t cl = (uint64_t)v->ss * (v->hdr.sectors_per_cluster ? v->hdr.sectors_per_cluster : 1);
		area = (cl + 0x3FFF) & ~(cl - 1);
	} else {
		area = (v->ss + 0xFFFFu) & ~(uint64_t)(v->ss - 1);
	}
	for (int i = 0; i < 3 && !r; i++)
		if (m->copy_off[i])
			r = add_range(v, m->copy_off[i], area, "a metadata copy");
	if (!r && v->virt_size)
		r = add_range(v, v->virt_off, v->virt_size, "the relocated boot sectors");
	if (!r && m->cur_state == 2)
		r = add_range(v, m->state_offset, m->state_size, "the conversion area");
	if (!r && v->eow)
		for (size_t i = 0; i < v->eow->n_reserved && !r; i++)
			r = add_range(v, v->eow->reserved[i].start, v->eow->reserved[i].len,
				      "an encrypt-on-write block");
	if (!r && v->hdr.eow)
		for (int i = 0; i < 2 && !r; i++)
			if (v->hdr.eow_off[i])
				r = add_range(v, v->hdr.eow_off[i], v->ss, "the encrypt-on-write information");
	if (r || !v->n_reserved)
		return r;
	qsort(v->reserved, v->n_reserved, sizeof(*v->reserved), cmp_range);
	/* merge overlapping and touching ranges: classify() walks a disjoint sorted list */
	size_t k = 0;
	for (size_t i = 1; i < v->n_reserved; i++) {
		struct bd_range *a = &v->reserved[k], *b = &v->reserved[i];
		if (b->start <= a->start + a->len) {
			if (b->start + b->len > a->start + a->len)
				a->len = b->start + b->len - a->start;
		} else {
			v->reserved[++k] = *b;
		}
	}
	v->n_reserved = k + 1;
	return 0;
}

/* ---- open ---- */

static int looks_like_boot_sector(const uint8_t *bs)
{
	struct bd_fs_info fi;

	bd_fs_probe(bs, 512, &fi);
	return fi.valid;
}


static int load_metadata(struct bd_volume *v)
{
	uint64_t offs[3];
	int ok = -1, r = 0, first_err = 0;
	char firstmsg[256] = "";

	memcpy(offs, v->hdr.meta_off, sizeof(offs));
	for (int i = 0; i < 3; i++) {
		if (!offs[i]) {
			v->meta[i].status = BD_COPY_UNREADABLE;
			continue;
		}
		r = bd_metadata_read(v->io, v->off, offs[i], &v->meta[i]);
		if (r && !first_err) {
			first_err = r;
			snprintf(firstmsg, sizeof(firstmsg), "%s", bd_last_error());
		}
		if (!r && ok < 0) {
			ok = i;
			/* Vista names copies 2 and 3 only inside block 1 */
			for (int k = i + 1; k < 3; k++)
				if (!offs[k])
					offs[k] = v->meta[i].copy_off[k];
		}
		if (!r)
			bd_debug("metadata copy %d at %llu: ok", i + 1, (unsigned long long)offs[i]);
		else
			bd_warn("metadata copy %d at %llu is damaged (%s): %s", i + 1, (unsigned long long)offs[i],
				bd_copy_status_name(v->meta[i].status), bd_last_error());
	}
	if (ok < 0) {
		if (first_err == BD_ERR_TRUNCATED || first_err == BD_ERR_IO || first_err == BD_ERR_UNSUPPORTED)
			return bd_err(first_err, "no usable metadata copy: %s", firstmsg);
		return bd_err(BD_ERR_CORRUPT, "all three metadata copies are damaged (%s, %s, %s); first problem: %s; "
			      "try 'bdkit repair'", bd_copy_status_name(v->meta[0].status),
			      bd_copy_status_name(v->meta[1].status), bd_copy_status_name(v->meta[2].status), firstmsg);
	}
	v->used = ok;
	return 0;
}

static int setup_view(struct bd_volume *v)
{
	const struct bd_metadata *m = bd_vol_meta(v);
	struct bd_datum d;
	int r;

	v->description[0] = 0;
	if (bd_datum_find(m->ds.entries, m->ds.entries_len, BD_ROLE_DESCRIPTION, BD_DT_UNICODE, &d))
		bd_datum_unicode(&d, v->description, sizeof(v->description));
	v->virt_off = v->virt_size = 0;
	if (v->hdr.kind != BD_HDR_VISTA && m->version >= 2) {
		v->virt_off = m->virt_offset;
		v->virt_size = (uint64_t)m->virt_sectors * v->ss;
		uint64_t o, s;
		if (bd_datum_find(m->ds.entries, m->ds.entries_len, -1, BD_DT_VIRTUALIZATION, &d) &&
		    !bd_datum_virtualization(&d, &o, &s) && s && s < v->len && o < v->len) {
			v->virt_off = o;
			v->virt_size = s;
		}
		if (v->virt_size % v->ss || v->virt_off % v->ss || v->virt_off + v->virt_size > v->len ||
		    v->virt_off < v->virt_size)
			return bd_err(BD_ERR_CORRUPT, "relocated boot sectors at %llu (+%llu) lie outside the volume",
				      (unsigned long long)v->virt_off, (unsigned long long)v->virt_size);
	}
	v->size = v->len - v->len % v->ss;
	/* the conversion watermark splits the view into encrypted and plain runs: whole sectors only */
	v->watermark = m->state_offset;
	if (v->watermark % v->ss) {
		bd_warn("the conversion watermark %llu is not sector-aligned; the sector it falls in is taken "
			"as not yet encrypted", (unsigned long long)v->watermark);
		v->watermark -= v->watermark % v->ss;
	}
	if (v->hdr.eow) {
		bd_eow_free(v->eow);
		v->eow = NULL;
		if (bd_eow_load(v)) {
			bd_info("encrypt-on-write volume without readable bitmaps (%s): sectors that are all zero "
				"on disk are taken as never written (plain)", bd_last_error());
			v->eow_zero_plain = 1;
			/* the conversion may not have reached the relocated boot sectors yet */
			uint8_t bs[512];
			if (v->virt_size && !bd_io_read_full(v->io, bs, 512, v->off + v->virt_off) &&
			    looks_like_boot_sector(bs))
				v->virt_plain = 1;
		}
	}
	free(v->reserved);
	v->reserved = NULL;
	v->n_reserved = 0;
	r = build_reserved(v);
	if (r)
		return r;
	if (v->hdr.kind == BD_HDR_VISTA) {
		memcpy(v->vista_bs, v->hdr.raw, 512);
		memcpy(v->vista_bs + 3, "NTFS    ", 8);
		put_le64(v->vista_bs + 0x38, m->virt_offset);
	}
	return bd_protectors_load(v);
}

/* A volume over io with the caller's options; io is closed when there is no memory for it. */
static struct bd_volume *volume_new(struct bd_io *io, const struct bd_open_opts *opts)
{
	struct bd_volume *v = calloc(1, sizeof(*v));

	if (!v) {
		bd_io_close(io);
		return NULL;
	}
	v->io = io;
	v->writable = opts ? opts->writable : 0;
	v->ignore_integrity = opts ? opts->ignore_integrity : 0;
	return v;
}

int bd_volume_open_io(struct bd_io *io, const struct bd_open_opts *opts, bd_volume **out)
{
	struct bd_volume *v;
	int r;

	*out = NULL;
	if ((r = BD_SIZE_CHECK(opts, struct bd_open_opts, ignore_integrity, "BD_OPEN_OPTS_INIT"))) {
		bd_io_close(io);
		return r;
	}
	v = volume_new(io, opts);
	if (!v)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	r = bd_header_locate(io, opts ? opts->offset : -1, &v->hdr, &v->off, &v->len, v->where, sizeof(v->where));
	if (r)
		goto fail;
	v->ss = v->hdr.sector_size;
	r = load_metadata(v);
	if (r)
		goto fail;
	r = setup_view(v);
	if (r)
		goto fail;
	*out = v;
	return 0;
fail:
	bd_volume_close(v);
	return r;
}

/*
 * Hook for repair.c: open over io from a metadata block held in memory (a scanned
 * candidate or a key package) and a volume header that may have been rebuilt, for
 * when the volume's own header or all its metadata copies are unusable.
 */
int bd_volume_open_block(struct bd_io *io, const struct bd_open_opts *opts, const struct bd_header *hdr,
			 uint64_t vol_off, uint64_t vol_len, const char *where, const uint8_t *block,
			 size_t block_len, uint64_t block_off, bd_volume **out)
{
	struct bd_volume *v;
	int r;

	*out = NULL;
	v = volume_new(io, opts);
	if (!v)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	v->hdr = *hdr;
	v->off = vol_off;
	v->len = vol_len;
	v->ss = hdr->sector_size;
	snprintf(v->where, sizeof(v->where), "%s", where);
	for (int i = 1; i < 3; i++)
		v->meta[i].status = BD_COPY_UNREADABLE;
	r = bd_metadata_parse(block, block_len, block_off, &v->meta[0]);
	if (r)
		goto fail;
	v->used = 0;
	r = setup_view(v);
	if (r)
		goto fail;
	*out = v;
	return 0;
fail:
	bd_volume_close(v);
	return r;
}

int bd_volume_open(const char *path, const struct bd_open_opts *opts, bd_volume **out)
{
	struct bd_io *io;
	int r;

	*out = NULL;
	if ((r = BD_SIZE_CHECK(opts, struct bd_open_opts, ignore_integrity, "BD_OPEN_OPTS_INIT")))
		return r;
	r = bd_io_open(path, opts && opts->writable ? BD_IO_RDWR : BD_IO_RDONLY, &io);
	if (r)
		return r;
	return bd_volume_open_io(io, opts, out);
}

void bd_volume_close(bd_volume *v)
{
	if (!v)
		return;
	for (int i = 0; i < 3; i++)
		bd_metadata_free(&v->meta[i]);
	free(v->prot);
	free(v->reserved);
	bd_eow_free(v->eow);
	bd_secret_free(v->vmk);
	bd_secret_free(v->fvek);
	bd_sector_cipher_free(v->cipher);
	bd_io_close(v->io);
	bd_wipe(v, sizeof(*v));
	free(v);
}

/* ---- info ---- */

static uint64_t fs_size_of(const uint8_t bs[512])
{
	struct bd_fs_info fi;

	bd_fs_probe(bs, 512, &fi);
	return fi.boot_signature && fi.kind != BD_FS_REFS ? fi.size : 0;
}

int bd_volume_info(bd_volume *v, struct bd_info *info)
{
	const struct bd_metadata *m = bd_vol_meta(v);

	memset(info, 0, sizeof(*info));
	info->meta_version = m->version;
	info->to_go = v->hdr.kind == BD_HDR_TOGO;
	info->eow = v->hdr.eow;
	info->method = m->ds.method;
	info->method_name = bd_method_display_name(m->ds.method);
	info->state = m->cur_state;
	info->next_state = m->next_state;
	info->state_name = state_name(m->cur_state, m->next_state);
	info->offset = v->off;
	info->size = v->size;
	info->encrypted_size = m->state_offset;
	info->sector_size = v->ss;
	memcpy(info->guid, m->ds.guid, 16);
	snprintf(info->description, sizeof(info->description), "%s", v->description);
	info->creation_time = m->ds.ctime;
	for (int i = 0; i < 3; i++) {
		info->copy_offset[i] = v->meta[i].offset ? v->meta[i].offset : v->hdr.meta_off[i];
		info->copy_status[i] = v->meta[i].status;
	}
	info->copy_used = v->used;
	info->virtualized_offset = v->virt_off;
	info->virtualized_size = v->virt_size;
	info->n_protectors = v->n_prot;
	info->unlocked = v->unlocked;
	info->unlocked_with = v->unlocked ? v->unlocked_with : BD_UNLOCKED_NO;
	memcpy(info->unlock_protector, v->unlock_guid, 16);
	info->unlock_protector_type = v->unlock_type;
	info->hash_verified = v->hash_verified;
	info->unverified = v->unverified;
	info->input_size = v->len;
	snprintf(info->where, sizeof(info->where), "%s", v->where);
	snprintf(info->container, sizeof(info->container), "%s", v->io->container);
	info->container_size = v->io->size;
	if (v->unlocked || !m->ds.method) {
		uint8_t bs[512];
		if (v->ss >= 512 && bd_volume_pread(v, bs, 512, 0) == 512)
			info->fs_size = fs_size_of(bs);
	}
	if (v->hdr.kind != BD_HDR_VISTA && m->version >= 2 && m->cur_state == 4 && m->next_state == 4 &&
	    m->state_offset && m->state_offset % v->ss == 0)
		info->volume_size = m->state_offset;
	else
		info->volume_size = info->fs_size;
	info->truncated = info->volume_size > v->len || info->fs_size > v->size;
	return 0;
}

int bd_volume_protector(bd_volume *v, size_t index, struct bd_protector_info *out)
{
	if (index >= v->n_prot)
		return bd_err(BD_ERR_INVALID, "protector %zu does not exist (the volume has %zu)", index, v->n_prot);
	*out = v->prot[index].info;
	return 0;
}

uint64_t bd_volume_size(const bd_volume *v)
{
	return v->size;
}

uint32_t bd_volume_sector_size(const bd_volume *v)
{
	return v->ss;
}

/* ---- unlocking: VMK -> FVEK -> sector cipher ---- */

static size_t fvek_len_for(uint16_t method)
{
	const struct bd_method_def *d = bd_method_lookup(method);

	return d ? d->fvek_len : 0;
}

static int install_fvek(struct bd_volume *v, uint16_t method, const uint8_t *key, size_t len)
{
	struct bd_sector_cipher *c = NULL;
	int r;

	if (!fvek_len_for(method))
		return bd_err(BD_ERR_UNSUPPORTED, "encryption method 0x%04x is not supported", method);
	if (len < fvek_len_for(method))
		return bd_err(BD_ERR_CORRUPT, "FVEK for %s is %zu bytes, needs %zu", bd_method_display_name(method), len,
			      fvek_len_for(method));
	len = fvek_len_for(method);
	r = bd_sector_cipher_new(method, key, len, v->ss, &c);
	if (r)
		return r;
	bd_secret_free(v->fvek);
	v->fvek = bd_secret_dup(key, len);
	bd_sector_cipher_free(v->cipher);
	v->cipher = c;
	v->method = method;
	if (!v->fvek)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	return 0;
}

/* Decrypt the FVEK of copy m with vmk. */
static int fvek_from(struct bd_volume *v, const struct bd_metadata *m, const uint8_t vmk[32], int install)
{
	struct bd_datum d;
	uint8_t pt[256];
	uint16_t kt, method;
	const uint8_t *key;
	size_t klen;
	int r;

	if (!bd_datum_find(m->ds.entries, m->ds.entries_len, BD_ROLE_FVEK, BD_DT_AES_CCM, &d))
		return bd_err(BD_ERR_CORRUPT, "the metadata holds no encrypted FVEK");
	r = bd_datum_ccm_unbox(&d, vmk, pt, sizeof(pt), &kt, &key, &klen);
	if (r == BD_ERR_WRONG_KEY)
		return bd_err(BD_ERR_WRONG_KEY, "the VMK does not decrypt the FVEK");
	if (r)
		return r;
	method = m->ds.method;
	if (!fvek_len_for(method) || klen < fvek_len_for(method))
		method = kt;  /* dislocker: dataset method first, then the key's own type */
	r = install ? install_fvek(v, method, key, klen) : 0;
	bd_wipe(pt, sizeof(pt));
	return r;
}

/* What a copy's status says when the VMK-keyed SHA-256 was checked ("ok" = passed). */
static const char *copy_verdict(int status, int hash)
{
	if (status != BD_COPY_OK)
		return bd_copy_status_name(status);
	return hash == 0 ? "ok" : hash == BD_ERR_UNSUPPORTED ? "no integrity datum" : "bad SHA-256";
}

int bd_volume_set_vmk(struct bd_volume *v, const uint8_t vmk[32])
{
	int r, verified = -1, hash[3] = { BD_ERR_CORRUPT, BD_ERR_CORRUPT, BD_ERR_CORRUPT };

	struct bd_datum fd;
	const struct bd_metadata *m = bd_vol_meta(v);
	int no_fvek = !m->ds.method &&
		      !bd_datum_find(m->ds.entries, m->ds.entries_len, BD_ROLE_FVEK, BD_DT_AES_CCM, &fd);

	/* the VMK must open the FVEK of the copy in use (a decrypted volume may have none) */
	r = no_fvek ? 0 : fvek_from(v, m, vmk, 0);
	if (r)
		return r;
	/* now the VMK-keyed SHA-256 of every copy that passed its CRC (§2.5) */
	for (int i = 0; i < 3; i++) {
		if (v->meta[i].status != BD_COPY_OK)
			continue;
		hash[i] = bd_metadata_verify_hash(&v->meta[i], vmk);
		if (hash[i] == BD_ERR_CORRUPT) {
			bd_warn("metadata copy %d: %s", i + 1, bd_last_error());
			v->meta[i].status = BD_COPY_BAD_HASH;
		} else if (!hash[i] && verified < 0) {
			verified = i;
		}
	}
	/*
	 * No copy proves itself: state, watermark, method, offsets and protectors are covered by a
	 * CRC32 only, which anyone can recompute, so they may be forged (chosen plain text served as
	 * data, raw sectors written in the clear). Refused unless the caller salvages on purpose.
	 */
	if (verified < 0 && !v->ignore_integrity)
		return bd_err(BD_ERR_CORRUPT, "the key is right, but no metadata copy passes its integrity check "
			      "(copy 1: %s, copy 2: %s, copy 3: %s): the metadata is damaged or forged (its CRC32 "
			      "proves nothing), so its state, watermark, method and offsets cannot be trusted; "
			      "nothing was decrypted. To salvage anyway, trusting copy %d as it is: --ignore-integrity "
			      "(or 'bdkit repair')", copy_verdict(v->meta[0].status, hash[0]),
			      copy_verdict(v->meta[1].status, hash[1]), copy_verdict(v->meta[2].status, hash[2]),
			      v->used + 1);
	if (verified >= 0 && verified != v->used) {
		bd_warn("metadata copy %d fails its integrity hash; using copy %d", v->used + 1, verified + 1);
		v->used = verified;
		r = setup_view(v);
		if (r)
			return r;
	}
	v->hash_verified = verified >= 0 && verified == v->used;
	if (!v->hash_verified) {
		bd_warn("ignoring the integrity check as asked: metadata copy %d is used unverified (its state, "
			"watermark, method and offsets are trusted as they are)", v->used + 1);
		v->unverified |= BD_UNVERIFIED_METADATA;
	}
	r = no_fvek ? 0 : fvek_from(v, bd_vol_meta(v), vmk, 1);
	if (r)
		return r;
	bd_secret_free(v->vmk);
	v->vmk = bd_secret_dup(vmk, 32);
	if (!v->vmk)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	v->unlocked = 1;
	return 0;
}

/* Vista: logical offset of the first $MFT record, from the (plain) boot sector. */
static int vista_mft(const struct bd_volume *v, uint64_t *off)
{
	struct bd_fs_info fi;

	bd_fs_probe(v->vista_bs, 512, &fi);   /* NTFS: its OEM name is put back at open */
	uint64_t cluster = (uint64_t)fi.bytes_per_sector * fi.sectors_per_cluster, lcn = fi.mft_lcn;

	if (!cluster || lcn > v->size / cluster || lcn * cluster < 0x2000 || lcn * cluster + v->ss > v->size)
		return BD_ERR_CORRUPT;
	*off = lcn * cluster;
	return 0;
}

enum seg_kind { SEG_ZERO, SEG_PLAIN, SEG_CRYPT, SEG_VISTA_BS };
static int classify(const struct bd_volume *v, uint64_t l, uint64_t *phys, uint64_t *run);
static int classify_phys(const struct bd_volume *v, uint64_t p, uint64_t *run);
static int read_phys(struct bd_volume *v, uint8_t *buf, uint64_t n, uint64_t phys);

/* Read logical sector l if the view decrypts it (1), 0 if it is not encrypted there, or an error. */
static int read_crypt_sector(struct bd_volume *v, uint64_t l, uint8_t *buf)
{
	uint64_t phys, run;

	if (l >= v->size || v->size - l < v->ss || classify(v, l, &phys, &run) != SEG_CRYPT)
		return 0;
	ssize_t n = bd_volume_pread(v, buf, v->ss, l);
	return n == (ssize_t)v->ss ? 1 : n < 0 ? (int)n : BD_ERR_IO;
}

static int is_ntfs_boot(const uint8_t *bs)
{
	struct bd_fs_info fi;

	return bd_fs_probe(bs, 512, &fi) == BD_FS_NTFS && fi.boot_signature;
}

/*
 * Check a raw FVEK against sectors it must decrypt to something known. 1: confirmed;
 * 0: no sector to check it on (message says why); BD_ERR_WRONG_KEY: it decrypts them to garbage.
 * Only sectors the view really decrypts count (a plain sector "checks" any key).
 */
static int check_fvek(struct bd_volume *v)
{
	uint8_t *bs = malloc(v->ss);
	int r, checked = 0;

	if (!bs)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	/* 1. the relocated boot sector (v2, To Go): a file-system header, or all zeros on a volume that
	 *    never got a file system (a wrong key never decrypts to all zeros) */
	if (v->virt_size && (r = read_crypt_sector(v, 0, bs)) != 0) {
		if (r < 0)
			goto out;
		r = looks_like_boot_sector(bs) || bd_is_zero(bs, v->ss) ? 1 : BD_ERR_WRONG_KEY;
		if (r < 0)
			bd_err(r, "the FVEK does not decrypt the volume's boot sector to a file system header: wrong key");
		goto out;
	}
	/* 1b. no relocation datum, but the block header still names where the boot sectors went: a
	 *     boot sector there confirms the key (anything else proves nothing: the field may be stale) */
	const struct bd_metadata *m = bd_vol_meta(v);
	uint64_t prun, vo = m->virt_offset;
	if (!v->virt_size && v->hdr.kind != BD_HDR_VISTA && vo && vo % v->ss == 0 && vo < v->len &&
	    v->len - vo >= v->ss && classify_phys(v, vo, &prun) == SEG_CRYPT) {
		r = read_phys(v, bs, v->ss, vo);
		if (!r)
			r = bd_sector_decrypt(v->cipher, bs, 1, vo);
		if (r)
			goto out;
		if (looks_like_boot_sector(bs)) {
			r = 1;
			goto out;
		}
	}
	/* 2. Vista: the boot sector stays plain, but $MFT's first record is encrypted ("FILE") */
	if (v->hdr.kind == BD_HDR_VISTA) {
		uint64_t cl = (uint64_t)v->ss * (v->hdr.sectors_per_cluster ? v->hdr.sectors_per_cluster : 1);
		uint64_t lcn = le64(v->hdr.raw + 0x30);
		if (lcn && lcn < v->size / cl && (r = read_crypt_sector(v, lcn * cl, bs)) != 0) {
			if (r < 0)
				goto out;
			checked = 1;
			if (!memcmp(bs, "FILE", 4)) {
				r = 1;
				goto out;
			}
		}
	}
	/* 3. NTFS keeps a backup of its boot sector in the volume's last sector */
	if ((r = read_crypt_sector(v, v->size - v->ss, bs)) < 0)
		goto out;
	if (r && is_ntfs_boot(bs)) {
		r = 1;
		goto out;
	}
	if (checked) {
		r = bd_err(BD_ERR_WRONG_KEY, "the FVEK does not decrypt the first $MFT record (nor the backup boot "
			   "sector): wrong key");
		goto out;
	}
	r = 0;
	bd_err(BD_ERR_CORRUPT, "the FVEK cannot be checked on this volume: %s, and its last sector does not "
	       "decrypt to an NTFS backup boot sector; a wrong key would give garbage without any error",
	       v->hdr.kind == BD_HDR_VISTA ? "$MFT's first record cannot be read encrypted" :
	       v->virt_size ? "its relocated boot sectors are not encrypted" :
	       "its metadata names no relocated boot sector that decrypts (virtualization datum missing)");
out:
	free(bs);
	return r;
}

static void relock(struct bd_volume *v)
{
	v->unlocked = 0;
	bd_sector_cipher_free(v->cipher);
	v->cipher = NULL;
	bd_secret_free(v->fvek);
	v->fvek = NULL;
}

int bd_unlock_fvek(bd_volume *v, const uint8_t *key, size_t len)
{
	const struct bd_metadata *m = bd_vol_meta(v);
	uint16_t method = m->ds.method;
	uint8_t full[64] = { 0 };
	int r;

	if (!fvek_len_for(method))
		return bd_err(BD_ERR_UNSUPPORTED, "the volume's method 0x%04x takes no FVEK", method);
	if (method == 0x8000 && len == 32) {
		/* cryptsetup's repacked Elephant key: data key || tweak key */
		memcpy(full, key, 16);
		memcpy(full + 32, key + 16, 16);
	} else if (len == fvek_len_for(method)) {
		memcpy(full, key, len);
	} else {
		return bd_err(BD_ERR_INVALID, "an FVEK for %s is %zu bytes%s, got %zu", bd_method_display_name(method),
			      fvek_len_for(method), method == 0x8000 ? " (or 32 as cryptsetup dumps it)" : "", len);
	}
	/* unlocked by the VMK already: the metadata's own FVEK (authenticated by AES-CCM) decides */
	if (v->unlocked && v->vmk && v->fvek) {
		r = v->fvek->len == fvek_len_for(method) && !memcmp(v->fvek->data, full, v->fvek->len) ? 0 :
		    bd_err(BD_ERR_WRONG_KEY, "the FVEK is not the one the volume's metadata holds: wrong key");
		bd_wipe(full, sizeof(full));
		return r;
	}
	r = install_fvek(v, method, full, fvek_len_for(method));
	bd_wipe(full, sizeof(full));
	if (r)
		return r;
	v->unlocked = 1;
	v->unlocked_with = BD_UNLOCKED_FVEK;
	r = check_fvek(v);
	if (r == 0 && !v->ignore_integrity) {
		char why[512];
		snprintf(why, sizeof(why), "%s", bd_last_error());
		r = bd_err(BD_ERR_CORRUPT, "%s; to decrypt with it unchecked: --ignore-integrity", why);
	}
	if (r < 0) {
		relock(v);
		return r;
	}
	if (r == 0) {
		bd_warn("%s; going on as asked (--ignore-integrity)", bd_last_error());
		v->unverified |= BD_UNVERIFIED_KEY;
	}
	/*
	 * Without the VMK the metadata cannot be verified. A fully encrypted volume's view goes through
	 * the cipher everywhere (the key was checked above), but metadata that says the volume is partly
	 * plain would, if forged, make raw disk bytes pass for decrypted data.
	 */
	if (!(m->cur_state == 4 && m->next_state == 4) || v->hdr.eow || v->eow) {
		if (!v->ignore_integrity) {
			relock(v);
			return bd_err(BD_ERR_CORRUPT, "unlocked by a raw FVEK, the metadata cannot be verified (that "
				      "needs the VMK), and it says the volume is %s%s: forged, that would serve raw "
				      "disk bytes as decrypted data; unlock with a protector's secret or --vmk, or "
				      "trust the metadata unverified with --ignore-integrity",
				      state_name(m->cur_state, m->next_state),
				      v->hdr.eow ? " (encrypt-on-write)" : "");
		}
		bd_warn("the metadata is trusted unverified (unlocked by a raw FVEK, --ignore-integrity): it says "
			"the volume is partly plain text");
		v->unverified |= BD_UNVERIFIED_METADATA;
	}
	return 0;
}

/* ---- the decrypted view ---- */

/* Classify physical offset p; *run = bytes with the same answer. */
static int classify_phys(const struct bd_volume *v, uint64_t p, uint64_t *run)
{
	const struct bd_metadata *m = bd_vol_meta(v);

	*run = UINT64_MAX;
	if (!m->ds.method || (m->cur_state == 1 && m->next_state == 1))
		return SEG_PLAIN;
	if (v->eow)
		return bd_eow_encrypted(v->eow, p, run) ? SEG_CRYPT : SEG_PLAIN;
	if (m->cur_state == 4 && m->next_state == 4)
		return SEG_CRYPT;
	if (p < v->watermark) {
		*run = v->watermark - p;
		return SEG_CRYPT;
	}
	return SEG_PLAIN;
}

/* Classify logical offset l (sector aligned): kind, physical offset, run length. */
static int classify(const struct bd_volume *v, uint64_t l, uint64_t *phys, uint64_t *run)
{
	uint64_t prun;
	int k;

	if (v->hdr.kind == BD_HDR_VISTA && l < 0x2000) {
		*phys = l;
		if (l < v->ss) {
			*run = v->ss;
			return SEG_VISTA_BS;
		}
		*run = 0x2000 - l;
		return SEG_PLAIN;
	}
	if (l < v->virt_size) {
		*phys = v->virt_off + l;
		if (v->virt_plain) {
			*run = v->virt_size - l;
			return SEG_PLAIN;
		}
		k = classify_phys(v, *phys, &prun);
		*run = MIN(v->virt_size - l, prun);
		return k;
	}
	*run = UINT64_MAX;
	for (size_t i = 0; i < v->n_reserved; i++) {
		const struct bd_range *r = &v->reserved[i];
		if (l >= r->start && l - r->start < r->len) {
			*phys = l;
			*run = r->len - (l - r->start);
			return SEG_ZERO;
		}
		if (r->start > l) {
			*run = r->start - l;
			break;
		}
	}
	*phys = l;
	k = classify_phys(v, l, &prun);
	*run = MIN(*run, prun);
	return k;
}

/* n and phys are whole sectors (build_reserved and the layout checks guarantee it). */
static int decrypt_run(struct bd_volume *v, uint8_t *buf, uint64_t n, uint64_t phys)
{
	uint32_t ss = v->ss;

	if (n % ss || phys % ss)
		return bd_err(BD_ERR_CORRUPT, "internal: a run of %llu bytes at %llu is not whole sectors",
			      (unsigned long long)n, (unsigned long long)phys);
	if (!v->eow_zero_plain)
		return bd_sector_decrypt(v->cipher, buf, n / ss, phys);
	/* EOW without bitmaps: all-zero sectors were never written, hence never encrypted */
	for (uint64_t i = 0; i < n;) {
		uint64_t j = i;
		while (j < n && !bd_is_zero(buf + j, ss))
			j += ss;
		if (j > i) {
			int r = bd_sector_decrypt(v->cipher, buf + i, (j - i) / ss, phys + i);
			if (r)
				return r;
		}
		i = j;
		while (i < n && bd_is_zero(buf + i, ss))
			i += ss;
	}
	return 0;
}

static int read_phys(struct bd_volume *v, uint8_t *buf, uint64_t n, uint64_t phys)
{
	if (phys > v->len || n > v->len - phys)
		return bd_err(BD_ERR_TRUNCATED, "%s ends before volume offset %llu: truncated image",
			      v->io->name, (unsigned long long)(phys + n));
	return bd_io_read_full(v->io, buf, n, v->off + phys);
}

int bd_volume_key_probe(struct bd_volume *v, struct bd_key_probe *p)
{
	const struct bd_metadata *m = bd_vol_meta(v);
	struct bd_datum d;
	uint64_t l = 0, phys, run;
	int r;

	memset(p, 0, sizeof(*p));
	p->method = m->ds.method;
	p->ss = v->ss;
	if (bd_datum_find(m->ds.entries, m->ds.entries_len, BD_ROLE_FVEK, BD_DT_AES_CCM, &d)) {
		const uint8_t *nonce, *tag, *ct;
		size_t ctlen;
		if (!bd_datum_ccm(&d, &nonce, &tag, &ct, &ctlen) && ctlen >= 16 && ctlen <= sizeof(p->ct)) {
			memcpy(p->nonce, nonce, 12);
			memcpy(p->tag, tag, 16);
			memcpy(p->ct, ct, ctlen);
			p->ctlen = ctlen;
			p->has_fvek_datum = 1;
		}
	}
	if (!fvek_len_for(p->method) || v->ss > sizeof(p->sector))
		return bd_err(BD_ERR_UNSUPPORTED, "the volume is not encrypted (method 0x%04x)", p->method);
	if (v->hdr.kind == BD_HDR_VISTA) {
		if (vista_mft(v, &l))
			return bd_err(BD_ERR_UNSUPPORTED, "the Vista boot sector names no usable $MFT position");
		p->kind = BD_PROBE_MFT;
	} else {
		p->kind = BD_PROBE_BOOT;
	}
	if (classify(v, l, &phys, &run) != SEG_CRYPT || v->eow_zero_plain)
		return bd_err(BD_ERR_UNSUPPORTED, "the volume's %s is not encrypted (conversion state): an FVEK "
			      "cannot be proven on it", p->kind == BD_PROBE_MFT ? "$MFT" : "boot sector");
	r = read_phys(v, p->sector, v->ss, phys);
	if (r)
		return r;
	p->phys = phys;
	return 0;
}

/* Read [l, l+len), both multiples of the sector size, within the volume. */
static int read_aligned(struct bd_volume *v, uint8_t *buf, uint64_t len, uint64_t l)
{
	while (len) {
		uint64_t phys, run;
		int k = classify(v, l, &phys, &run), r = 0;
		uint64_t n = MIN(len, run);
		if (!n || n % v->ss)
			return bd_err(BD_ERR_CORRUPT, "internal: a run of %llu bytes at %llu is not whole sectors",
				      (unsigned long long)n, (unsigned long long)l);
		switch (k) {
		case SEG_ZERO:
			memset(buf, 0, n);
			break;
		case SEG_VISTA_BS:
			memcpy(buf, v->vista_bs, 512);
			if (n > 512)
				r = read_phys(v, buf + 512, n - 512, phys + 512);
			break;
		case SEG_PLAIN:
			r = read_phys(v, buf, n, phys);
			break;
		case SEG_CRYPT:
			if (!v->cipher)
				return bd_err(BD_ERR_LOCKED, "the volume is locked: unlock it before reading encrypted data");
			r = read_phys(v, buf, n, phys);
			if (!r)
				r = decrypt_run(v, buf, n, phys);
			break;
		}
		if (r)
			return r;
		buf += n;
		l += n;
		len -= n;
	}
	return 0;
}

#define BOUNCE_MAX (1u << 20)

ssize_t bd_volume_pread(bd_volume *v, void *out, size_t len, uint64_t off)
{
	uint8_t *buf = out, *bounce = NULL;
	size_t done = 0;
	int r = 0;

	if (off >= v->size)
		return 0;
	if (len > v->size - off)
		len = (size_t)(v->size - off);
	if (len > (size_t)SSIZE_MAX)
		len = SSIZE_MAX & ~(size_t)(v->ss - 1);
	if (off % v->ss == 0 && len % v->ss == 0) {
		r = read_aligned(v, buf, len, off);
		return r ? r : (ssize_t)len;
	}
	/* as large as the request needs (up to 1 MiB at a time), not more: small unaligned reads are common */
	size_t cap = MIN(len, (size_t)BOUNCE_MAX);
	bounce = malloc(cap + 2 * (size_t)v->ss);
	if (!bounce)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	while (done < len) {
		uint64_t pos = off + done;
		uint64_t a = pos - pos % v->ss;
		size_t want = MIN(len - done, cap);
		uint64_t end = pos + want;
		uint64_t ae = (end + v->ss - 1) / v->ss * v->ss;
		if (ae > v->size)
			ae = v->size;
		r = read_aligned(v, bounce, ae - a, a);
		if (r)
			break;
		memcpy(buf + done, bounce + (pos - a), want);
		done += want;
	}
	free(bounce);
	return r ? r : (ssize_t)len;
}

/* ---- writing ---- */

int bd_volume_can_write(bd_volume *v)
{
	const struct bd_metadata *m = bd_vol_meta(v);

	if (!v->writable || !v->io->writable)
		return bd_err(BD_ERR_READONLY, "the volume was opened read-only");
	if (!((m->cur_state == 4 && m->next_state == 4) || (m->cur_state == 1 && m->next_state == 1)))
		return bd_err(BD_ERR_STATE, "the volume is %s; writing needs a fully encrypted or decrypted "
			      "volume (resume or finish the conversion in Windows first)",
			      state_name(m->cur_state, m->next_state));
	/* an encrypt-on-write or unfinished conversion can report 4/4: what is encrypted then depends on
	 * bitmaps or a watermark that a write would have to update */
	if (v->hdr.eow || v->eow || v->eow_zero_plain)
		return bd_err(BD_ERR_STATE, "the volume is in an encrypt-on-write conversion; writing needs a "
			      "fully encrypted volume (let Windows finish the conversion first); reading works");
	if (m->ds.method && m->cur_state == 4 && m->state_offset && m->state_offset < v->size &&
	    m->version >= 2)
		return bd_err(BD_ERR_STATE, "only %llu of %llu bytes are encrypted (conversion not finished); "
			      "writing needs a fully encrypted volume; reading works",
			      (unsigned long long)m->state_offset, (unsigned long long)v->size);
	if (m->ds.method && !v->cipher)
		return bd_err(BD_ERR_LOCKED, "the volume is locked: unlock it before writing");
	return 0;
}

static pthread_mutex_t rmw_lock = PTHREAD_MUTEX_INITIALIZER;

static int write_aligned(struct bd_volume *v, const uint8_t *buf, uint64_t len, uint64_t l, uint8_t *tmp,
			 size_t tmplen)
{
	while (len) {
		uint64_t phys, run;
		int k = classify(v, l, &phys, &run), r = 0;
		uint64_t n = MIN(MIN(len, run), tmplen);
		if (!n || n % v->ss)
			return bd_err(BD_ERR_CORRUPT, "internal: a run of %llu bytes at %llu is not whole sectors",
				      (unsigned long long)n, (unsigned long long)l);
		switch (k) {
		case SEG_ZERO:
			break; /* reserved areas: the file system sees zeros; drop the write (§8) */
		case SEG_VISTA_BS:
			n = v->ss;
			memcpy(tmp, buf, n);
			memcpy(tmp + 3, v->hdr.raw + 3, 8);
			memcpy(tmp + 0x38, v->hdr.raw + 0x38, 8);
			r = bd_io_write_full(v->io, tmp, n, v->off);
			break;
		case SEG_PLAIN:
			r = bd_io_write_full(v->io, buf, n, v->off + phys);
			break;
		case SEG_CRYPT:
			memcpy(tmp, buf, n);
			r = bd_sector_encrypt(v->cipher, tmp, n / v->ss, phys);
			if (!r)
				r = bd_io_write_full(v->io, tmp, n, v->off + phys);
			break;
		}
		if (r)
			return r;
		buf += n;
		l += n;
		len -= n;
	}
	return 0;
}

ssize_t bd_volume_pwrite(bd_volume *v, const void *in, size_t len, uint64_t off)
{
	const uint8_t *buf = in;
	uint8_t *tmp;
	int r;

	r = bd_volume_can_write(v);
	if (r)
		return r;
	if (off >= v->size)
		return len ? bd_err(BD_ERR_INVALID, "write at %llu is beyond the volume's end (%llu)",
				    (unsigned long long)off, (unsigned long long)v->size) : 0;
	if (len > v->size - off)
		len = (size_t)(v->size - off);
	/* a bounce buffer of whole sectors, as large as the request needs (up to 1 MiB at a time) */
	size_t tcap = MIN((len / v->ss + 1) * (size_t)v->ss, (size_t)BOUNCE_MAX);
	tmp = malloc(tcap + 2 * (size_t)v->ss);
	if (!tmp)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	if (off % v->ss == 0 && len % v->ss == 0) {
		r = write_aligned(v, buf, len, off, tmp, tcap);
	} else {
		/* read-modify-write of the partial sectors, one at a time */
		uint8_t *sec = malloc(v->ss);
		size_t done = 0;
		if (!sec) {
			free(tmp);
			return bd_err(BD_ERR_NOMEM, "out of memory");
		}
		pthread_mutex_lock(&rmw_lock);
		while (done < len && !r) {
			uint64_t pos = off + done, a = pos - pos % v->ss;
			size_t in_sec = (size_t)(pos - a), n = MIN(len - done, (size_t)v->ss - in_sec);
			if (in_sec == 0 && len - done >= v->ss) {
				n = (len - done) / v->ss * v->ss;
				n = MIN(n, tcap);
				r = write_aligned(v, buf + done, n, pos, tmp, tcap);
			} else {
				r = read_aligned(v, sec, v->ss, a);
				if (!r) {
					memcpy(sec + in_sec, buf + done, n);
					r = write_aligned(v, sec, v->ss, a, tmp, tcap);
				}
			}
			done += n;
		}
		pthread_mutex_unlock(&rmw_lock);
		free(sec);
	}
	free(tmp);
	return r ? r : (ssize_t)len;
}

int bd_volume_sync(bd_volume *v)
{
	return bd_io_sync(v->io);
}

/*
 * For salvage and key packages: the input's size, or more when something trustworthy says the volume
 * is larger (a truncated image): the decrypted file system's boot sector (no forger without the key
 * makes one), or the watermark of metadata verified by its VMK-keyed SHA-256. A CRC-only watermark or
 * a key package's claim is not enough: anyone can write those. Never above 2^48 bytes.
 */
uint64_t bd_volume_full_size(bd_volume *v)
{
	const struct bd_metadata *m = bd_vol_meta(v);
	const uint64_t cap = 1ull << 48;
	struct bd_info in;
	uint64_t s = v->size;

	if (v->hash_verified && m->cur_state == 4 && m->next_state == 4 && m->state_offset > s &&
	    m->state_offset < cap)
		s = m->state_offset;
	if (!bd_volume_info(v, &in) && in.fs_size > s && in.fs_size < cap)
		s = in.fs_size;
	return s;
}
