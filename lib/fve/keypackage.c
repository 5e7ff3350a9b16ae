/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key packages and metadata backups: a versioned container of records
 * (layout documented in man/bdkit-keypackage.1), and recognition of foreign
 * key packages (Microsoft's .KPG layout is not public) by the FVE metadata
 * block they may carry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "keypackage.h"

static uint64_t filetime_now(void)
{
	return ((uint64_t)time(NULL) + 11644473600ull) * 10000000ull;
}

/* ---- writing ---- */

struct out {
	uint8_t *p;
	size_t len, cap;
	int err;
	uint32_t n_records;
};

static void out_put(struct out *o, const void *p, size_t n)
{
	if (o->err)
		return;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + n)
			cap *= 2;
		uint8_t *np = realloc(o->p, cap);
		if (!np) {
			o->err = BD_ERR_NOMEM;
			return;
		}
		o->p = np;
		o->cap = cap;
	}
	if (p)
		memcpy(o->p + o->len, p, n);
	else
		memset(o->p + o->len, 0, n);
	o->len += n;
}

/* A record: header, then the parts concatenated, padded to 8. */
static void out_record(struct out *o, uint16_t type, const void *a, size_t alen, const void *b, size_t blen)
{
	uint8_t h[8];

	put_le16(h, type);
	put_le16(h + 2, 0);
	put_le32(h + 4, (uint32_t)(alen + blen));
	out_put(o, h, 8);
	out_put(o, a, alen);
	if (blen)
		out_put(o, b, blen);
	if ((alen + blen) % 8)
		out_put(o, NULL, 8 - (alen + blen) % 8);
	o->n_records++;
}

static void out_begin(struct out *o, uint16_t kind)
{
	uint8_t h[BD_KP_HDR_SIZE] = { 0 };

	memcpy(h, BD_KP_MAGIC, 8);
	put_le16(h + 8, BD_KP_VERSION);
	put_le16(h + 10, kind);
	put_le64(h + 24, filetime_now());
	out_put(o, h, sizeof(h));
	out_record(o, BD_KPR_TOOL, "bdkit " BDKIT_VERSION, strlen("bdkit " BDKIT_VERSION), NULL, 0);
}

static int out_finish(struct out *o, uint8_t **buf, size_t *len)
{
	out_record(o, BD_KPR_END, NULL, 0, NULL, 0);
	if (o->err) {
		free(o->p);
		return bd_err(o->err, "out of memory");
	}
	put_le32(o->p + 12, (uint32_t)o->len);
	put_le32(o->p + 20, o->n_records);
	put_le32(o->p + 16, 0);
	put_le32(o->p + 16, bd_crc32(o->p, o->len));
	*buf = o->p;
	*len = o->len;
	return 0;
}

static void volume_record(struct out *o, bd_volume *v)
{
	const struct bd_metadata *m = bd_vol_meta(v);
	uint8_t r[96] = { 0 };

	memcpy(r, m->ds.guid, 16);
	put_le64(r + 16, bd_volume_full_size(v));
	put_le64(r + 24, v->off);
	put_le32(r + 32, v->ss);
	put_le16(r + 36, m->ds.method);
	put_le16(r + 38, m->version);
	put_le64(r + 40, m->offset);
	for (int i = 0; i < 3; i++)
		put_le64(r + 48 + 8 * i, m->copy_off[i]);
	put_le64(r + 72, v->virt_off);
	put_le64(r + 80, v->virt_size);
	out_record(o, BD_KPR_VOLUME, r, sizeof(r), NULL, 0);
}

static void metadata_record(struct out *o, const struct bd_metadata *m)
{
	size_t keep = m->buf_len, min = m->covered + 8 + m->integrity_len;
	uint8_t h[8];

	while (keep > min && !m->buf[keep - 1])
		keep--;
	put_le32(h, BD_META_AREA_V2);
	put_le32(h + 4, (uint32_t)keep);
	out_record(o, BD_KPR_METADATA, h, 8, m->buf, keep);
}

int bd_keypackage_export(bd_volume *v, uint8_t **buf, size_t *len)
{
	const struct bd_metadata *m = bd_vol_meta(v);
	struct out o = { 0 };

	*buf = NULL;
	*len = 0;
	if (m->status != BD_COPY_OK || !m->buf)
		return bd_err(BD_ERR_CORRUPT, "the volume has no valid metadata copy to put in a key package");
	if (m->version != 2)
		return bd_err(BD_ERR_UNSUPPORTED, "key packages are made for Windows 7+ volumes (metadata "
			      "version 2); this volume has version %u", m->version);
	out_begin(&o, BD_KP_BDKIT);
	volume_record(&o, v);
	metadata_record(&o, m);
	if (!bd_is_zero(v->hdr.raw, 512))
		out_record(&o, BD_KPR_HEADER, v->hdr.raw, 512, NULL, 0);
	if (v->description[0])
		out_record(&o, BD_KPR_DESCRIPTION, v->description, strlen(v->description), NULL, 0);
	return out_finish(&o, buf, len);
}

int bd_metadata_backup(bd_volume *v, uint8_t **buf, size_t *len)
{
	const struct bd_metadata *m = bd_vol_meta(v);
	struct out o = { 0 };
	uint8_t *area = malloc(BD_META_AREA_V2);
	uint8_t h[16];

	*buf = NULL;
	*len = 0;
	if (!area)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	out_begin(&o, BD_KP_BACKUP);
	if (m->status == BD_COPY_OK && m->buf) {
		volume_record(&o, v);
		metadata_record(&o, m);
	}
	for (int i = 0; i < 4; i++) {
		uint64_t off = i < 3 ? (v->meta[i].offset ? v->meta[i].offset : v->hdr.meta_off[i]) : 0;
		size_t n = i < 3 ? BD_META_AREA_V2 : 512;
		if (i < 3 && !off)
			continue;
		if (v->off + off >= v->io->size)
			continue;
		if (n > v->io->size - v->off - off)
			n = (size_t)(v->io->size - v->off - off);
		if (bd_io_read_full(v->io, area, n, v->off + off)) {
			bd_warn("metadata backup: area %d at %llu is unreadable and not saved: %s", i,
				(unsigned long long)off, bd_last_error());
			continue;
		}
		put_le32(h, (uint32_t)i);
		put_le32(h + 4, i < 3 ? (uint32_t)v->meta[i].status : 0);
		put_le64(h + 8, off);
		out_record(&o, BD_KPR_AREA, h, 16, area, n);
	}
	free(area);
	return out_finish(&o, buf, len);
}

/* ---- reading ---- */

static int count_protectors(const uint8_t *block, size_t len, size_t *n)
{
	struct bd_metadata m;
	struct bd_datum_iter it;
	struct bd_datum d;
	int r;

	*n = 0;
	r = bd_metadata_parse(block, len, 0, &m);
	if (r) {
		bd_metadata_free(&m);
		return r;
	}
	bd_datum_iter_init(&it, m.ds.entries, m.ds.entries_len);
	while (bd_datum_next(&it, &d) == 1)
		if (d.role == BD_ROLE_VMK && d.type == BD_DT_VMK)
			(*n)++;
	bd_metadata_free(&m);
	return 0;
}

/* Fill the info fields that come from the block itself. */
static int info_from_block(struct bd_kp *kp)
{
	struct bd_keypackage_info *in = &kp->info;
	uint8_t *area;
	size_t alen;
	struct bd_metadata m;
	struct bd_datum d;
	int r;

	r = bd_kp_block_area(kp, &area, &alen);
	if (r)
		return r;
	r = bd_metadata_parse(area, alen, in->block_offset, &m);
	if (!r) {
		memcpy(in->guid, m.ds.guid, 16);
		in->method = m.ds.method;
		in->meta_version = m.version;
		for (int i = 0; i < 3; i++)
			in->copy_offset[i] = m.copy_off[i];
		if (!in->virtualized_offset) {
			in->virtualized_offset = m.virt_offset;
			uint64_t o, s;
			if (bd_datum_find(m.ds.entries, m.ds.entries_len, -1, BD_DT_VIRTUALIZATION, &d) &&
			    !bd_datum_virtualization(&d, &o, &s)) {
				in->virtualized_offset = o;
				in->virtualized_size = s;
			}
		}
		if (!in->description[0] &&
		    bd_datum_find(m.ds.entries, m.ds.entries_len, BD_ROLE_DESCRIPTION, BD_DT_UNICODE, &d))
			bd_datum_unicode(&d, in->description, sizeof(in->description));
		count_protectors(area, alen, &in->n_protectors);
	}
	bd_metadata_free(&m);
	free(area);
	return r;
}

int bd_kp_block_area(const struct bd_kp *kp, uint8_t **area, size_t *len)
{
	size_t n = kp->area_size ? kp->area_size : BD_META_AREA_V2;

	*area = NULL;
	if (!kp->block)
		return bd_err(BD_ERR_CORRUPT, "the key package holds no metadata block");
	if (n < kp->block_len)
		n = kp->block_len;
	*area = calloc(1, n);
	if (!*area)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	memcpy(*area, kp->block, kp->block_len);
	*len = n;
	return 0;
}

static int parse_foreign(const uint8_t *buf, size_t len, struct bd_kp *kp)
{
	static const char sig[8] = { '-', 'F', 'V', 'E', '-', 'F', 'S', '-' };
	int seen = 0;

	for (size_t i = 0; i + FVE_BH_SIZE + FVE_DS_HDR_SIZE <= len; i++) {
		if (buf[i] != '-' || memcmp(buf + i, sig, 8))
			continue;
		struct bd_metadata m;
		size_t n = MIN(len - i, (size_t)BD_META_AREA_V2);
		seen++;
		int r = bd_metadata_parse(buf + i, n, 0, &m);
		if (!r && m.version == 2) {
			kp->info.format = BD_KP_FOREIGN;
			kp->info.found_at = i;
			kp->info.block_offset = m.copy_off[0];
			kp->block = buf + i;
			kp->block_len = n;
			kp->area_size = BD_META_AREA_V2;
			bd_metadata_free(&m);
			return info_from_block(kp);
		}
		bd_metadata_free(&m);
	}
	if (seen)
		return bd_err(BD_ERR_UNSUPPORTED, "the file holds %d '-FVE-FS-' signature(s) but no intact "
			      "metadata block (each failed its structure or CRC32 check)", seen);
	return bd_err(BD_ERR_UNSUPPORTED, "not a bdkit key package, and no FVE metadata block ('-FVE-FS-') "
		      "was found inside: if this is a Microsoft .KPG key package, its layout is not public and "
		      "bdkit cannot read it; use the recovery password with the volume's own metadata, or a "
		      "key package exported by 'bdkit keypackage export'");
}

int bd_kp_parse(const uint8_t *buf, size_t len, struct bd_kp *kp)
{
	struct bd_cursor c;
	uint32_t total, crc, nrec;
	uint8_t *tmp;

	memset(kp, 0, sizeof(*kp));
	if (len < BD_KP_HDR_SIZE || memcmp(buf, BD_KP_MAGIC, 8))
		return parse_foreign(buf, len, kp);
	c = bd_cursor(buf, len);
	cur_bytes(&c, 8);
	kp->info.version = cur_u16(&c);
	kp->info.format = cur_u16(&c);
	total = cur_u32(&c);
	crc = cur_u32(&c);
	nrec = cur_u32(&c);
	kp->info.created = cur_u64(&c);
	if (kp->info.version != BD_KP_VERSION)
		return bd_err(BD_ERR_UNSUPPORTED, "key package format version %d; this bdkit reads version %d "
			      "(use a newer bdkit)", kp->info.version, BD_KP_VERSION);
	if (kp->info.format != BD_KP_BDKIT && kp->info.format != BD_KP_BACKUP)
		return bd_err(BD_ERR_CORRUPT, "key package kind %d is unknown", kp->info.format);
	if (total != len)
		return bd_err(BD_ERR_CORRUPT, "the key package says it is %u bytes but the file has %zu: "
			      "truncated or padded copy", total, len);
	tmp = malloc(len);
	if (!tmp)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	memcpy(tmp, buf, len);
	put_le32(tmp + 16, 0);
	uint32_t got = bd_crc32(tmp, len);
	free(tmp);
	if (got != crc)
		return bd_err(BD_ERR_CORRUPT, "the key package's CRC32 does not match: the file is damaged");
	for (uint32_t i = 0; i < nrec; i++) {
		uint16_t type = cur_u16(&c);
		cur_u16(&c);
		uint32_t rlen = cur_u32(&c);
		const uint8_t *p = cur_bytes(&c, rlen);
		if (c.bad || !p)
			return bd_err(BD_ERR_CORRUPT, "key package record %u runs past the end of the file", i);
		if (rlen % 8 && !cur_bytes(&c, 8 - rlen % 8))
			return bd_err(BD_ERR_CORRUPT, "key package record %u lacks its padding", i);
		if (type == BD_KPR_END)
			break;
		switch (type) {
		case BD_KPR_VOLUME:
			if (rlen < 96)
				return bd_err(BD_ERR_CORRUPT, "key package volume record is %u bytes, needs 96", rlen);
			memcpy(kp->info.guid, p, 16);
			kp->info.volume_size = le64(p + 16);
			kp->info.volume_offset = le64(p + 24);
			kp->info.sector_size = le32(p + 32);
			kp->info.method = le16(p + 36);
			kp->info.meta_version = le16(p + 38);
			kp->info.block_offset = le64(p + 40);
			for (int k = 0; k < 3; k++)
				kp->info.copy_offset[k] = le64(p + 48 + 8 * k);
			kp->info.virtualized_offset = le64(p + 72);
			kp->info.virtualized_size = le64(p + 80);
			if (kp->info.sector_size && (kp->info.sector_size < 512 || kp->info.sector_size > 65536 ||
						     (kp->info.sector_size & (kp->info.sector_size - 1))))
				return bd_err(BD_ERR_CORRUPT, "key package sector size %u is invalid",
					      kp->info.sector_size);
			break;
		case BD_KPR_METADATA:
			if (rlen < 8 || le32(p + 4) != rlen - 8 || le32(p) > (16u << 20) || le32(p + 4) > le32(p))
				return bd_err(BD_ERR_CORRUPT, "key package metadata record is malformed");
			kp->area_size = le32(p);
			kp->block = p + 8;
			kp->block_len = rlen - 8;
			break;
		case BD_KPR_HEADER:
			if (rlen < 512)
				return bd_err(BD_ERR_CORRUPT, "key package header record is %u bytes, needs 512", rlen);
			kp->header = p;
			kp->header_len = rlen;
			kp->info.has_header = 1;
			break;
		case BD_KPR_DESCRIPTION:
			snprintf(kp->info.description, sizeof(kp->info.description), "%.*s", (int)MIN(rlen, 255u),
				 (const char *)p);
			for (char *s = kp->info.description; *s; s++)
				if ((unsigned char)*s < 0x20)
					*s = '?';
			break;
		case BD_KPR_AREA: {
			if (rlen < 16 || le32(p) > 3)
				return bd_err(BD_ERR_CORRUPT, "metadata backup area record is malformed");
			uint32_t idx = le32(p);
			kp->area[idx] = p + 16;
			kp->area_len[idx] = rlen - 16;
			kp->area_off[idx] = le64(p + 8);
			kp->info.n_areas++;
			break;
		}
		default:
			break; /* unknown records are skipped (newer minor additions) */
		}
	}
	if (c.bad)
		return bd_err(BD_ERR_CORRUPT, "key package record list is truncated");
	if (kp->info.format == BD_KP_BDKIT && !kp->block)
		return bd_err(BD_ERR_CORRUPT, "the key package holds no metadata block");
	if (kp->block) {
		struct bd_keypackage_info keep = kp->info;
		int r = info_from_block(kp);
		if (r)
			return bd_err(r, "the key package's metadata block is damaged: %s", bd_last_error());
		if (memcmp(keep.guid, kp->info.guid, 16) && !bd_is_zero(keep.guid, 16))
			return bd_err(BD_ERR_CORRUPT, "the key package's volume record and metadata block name "
				      "different volumes");
	}
	kp->info.method_name = bd_method_display_name(kp->info.method);
	return 0;
}

int bd_keypackage_parse(const uint8_t *buf, size_t len, struct bd_keypackage_info *info)
{
	struct bd_kp kp;
	int r = bd_kp_parse(buf, len, &kp);

	*info = kp.info;
	info->method_name = bd_method_display_name(info->method);
	return r;
}

int bd_keypackage_protector(const uint8_t *buf, size_t len, size_t index, struct bd_protector_info *out)
{
	struct bd_kp kp;
	struct bd_metadata m;
	struct bd_datum_iter it;
	struct bd_datum d;
	uint8_t *area;
	size_t alen, n = 0;
	int r;

	r = bd_kp_parse(buf, len, &kp);
	if (r)
		return r;
	r = bd_kp_block_area(&kp, &area, &alen);
	if (r)
		return r;
	r = bd_metadata_parse(area, alen, 0, &m);
	free(area);
	if (r) {
		bd_metadata_free(&m);
		return r;
	}
	r = bd_err(BD_ERR_INVALID, "protector %zu does not exist", index);
	bd_datum_iter_init(&it, m.ds.entries, m.ds.entries_len);
	while (bd_datum_next(&it, &d) == 1) {
		const uint8_t *g;
		uint64_t mt;
		uint16_t prot;
		struct bd_datum ld;
		if (d.role != BD_ROLE_VMK || d.type != BD_DT_VMK || n++ != index)
			continue;
		memset(out, 0, sizeof(*out));
		r = bd_datum_vmk(&d, &g, &mt, &prot);
		if (r)
			break;
		memcpy(out->guid, g, 16);
		snprintf(out->key_id, sizeof(out->key_id), "%02X%02X%02X%02X", g[3], g[2], g[1], g[0]);
		out->type = prot;
		out->type_name = bd_protector_type_name(prot);
		out->mtime = mt;
		if (bd_datum_find_child(&d, -1, BD_DT_UNICODE, &ld))
			bd_datum_unicode(&ld, out->label, sizeof(out->label));
		r = 0;
		break;
	}
	bd_metadata_free(&m);
	return r;
}
