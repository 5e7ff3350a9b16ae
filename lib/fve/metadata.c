/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* FVE metadata blocks: read a copy, check signature, CRC32 and structure, and the VMK-keyed SHA-256 (format.md §2). */
#include <stdlib.h>

#include "crypto.h"
#include "metadata.h"

static const char sig_fve[8] = { '-', 'F', 'V', 'E', '-', 'F', 'S', '-' };

void bd_metadata_free(struct bd_metadata *m)
{
	if (!m)
		return;
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

static int parse_block(struct bd_metadata *m)
{
	const uint8_t *b = m->buf;
	uint16_t hsize;
	int r;

	if (m->buf_len < 8 || memcmp(b + FVE_BH_SIGNATURE, sig_fve, 8)) {
		m->status = BD_COPY_BAD_SIGNATURE;
		return bd_err(BD_ERR_CORRUPT, "no -FVE-FS- metadata block at offset %llu",
			      (unsigned long long)m->offset);
	}
	m->status = BD_COPY_BAD_STRUCTURE;
	if (m->buf_len < FVE_BH_SIZE)
		return bd_err(BD_ERR_CORRUPT, "metadata block at %llu is truncated", (unsigned long long)m->offset);
	/* the block header (layout.h, format.md §2.2) */
	hsize = le16(b + FVE_BH_HEADER_SIZE);
	m->version = le16(b + FVE_BH_VERSION);
	m->cur_state = le16(b + FVE_BH_CURRENT_STATE);
	m->next_state = le16(b + FVE_BH_NEXT_STATE);
	m->state_offset = le64(b + FVE_BH_STATE_OFFSET);
	m->state_size = le32(b + FVE_BH_STATE_SIZE);
	m->virt_sectors = le32(b + FVE_BH_VIRTUALIZED_SECTORS);
	for (int i = 0; i < 3; i++)
		m->copy_off[i] = le64(b + FVE_BH_METADATA_OFFSET + 8 * i);
	m->virt_offset = le64(b + FVE_BH_VIRTUALIZED_BLOCK_OFFSET);
	if (m->version != 1 && m->version != 2)
		return bd_err(BD_ERR_UNSUPPORTED, "metadata block at %llu has version %u; bdkit knows 1 (Vista) "
			      "and 2 (Windows 7 and later)", (unsigned long long)m->offset, m->version);
	m->covered = m->version >= 2 ? (size_t)hsize << 4 : hsize;
	/* block header + dataset header, then the 8-byte validation header after S */
	if (m->covered < FVE_BH_SIZE + FVE_DS_HDR_SIZE || m->covered + 8 > m->buf_len)
		return bd_err(BD_ERR_CORRUPT, "metadata block at %llu: size %zu out of range",
			      (unsigned long long)m->offset, m->covered);
	m->crc_stored = le32(m->buf + m->covered + 4);
	if (bd_crc32(m->buf, m->covered) != m->crc_stored) {
		m->status = BD_COPY_BAD_CRC;
		return bd_err(BD_ERR_CORRUPT, "metadata block at %llu: CRC32 mismatch (damaged copy)",
			      (unsigned long long)m->offset);
	}
	m->status = BD_COPY_BAD_STRUCTURE;
	r = bd_dataset_parse(m->buf + FVE_BH_SIZE, m->covered - FVE_BH_SIZE, &m->ds);
	if (r)
		return r;
	r = bd_datum_validate(m->ds.entries, m->ds.entries_len, 0);
	if (r)
		return r;
	/* integrity datum right after the 8-byte validation header (§2.5) */
	size_t ipos = m->covered + 8;
	if (ipos + 8 <= m->buf_len) {
		uint16_t isz = le16(m->buf + ipos);
		if (isz >= 8 && isz <= m->buf_len - ipos) {
			m->integrity = m->buf + ipos;
			m->integrity_len = isz;
		}
	}
	m->status = BD_COPY_OK;
	return 0;
}

int bd_metadata_parse(const uint8_t *buf, size_t len, uint64_t copy_off, struct bd_metadata *m)
{
	memset(m, 0, sizeof(*m));
	m->offset = copy_off;
	m->buf = malloc(len ? len : 1);
	if (!m->buf) {
		m->status = BD_COPY_UNREADABLE;
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	memcpy(m->buf, buf, len);
	m->buf_len = len;
	return parse_block(m);
}

int bd_metadata_read(struct bd_io *io, uint64_t vol_off, uint64_t copy_off, struct bd_metadata *m)
{
	uint64_t at = vol_off + copy_off;
	size_t len = BD_META_AREA_V2;
	int r;

	memset(m, 0, sizeof(*m));
	m->offset = copy_off;
	m->status = BD_COPY_UNREADABLE;
	if (copy_off == 0 || at < vol_off || at >= io->size)
		return bd_err(BD_ERR_TRUNCATED, "metadata copy at offset %llu lies beyond the end of %s "
			      "(%llu bytes): truncated image?", (unsigned long long)copy_off, io->name,
			      (unsigned long long)io->size);
	if (io->size - at < len)
		len = (size_t)(io->size - at);
	m->buf = calloc(1, BD_META_AREA_V2);
	if (!m->buf)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	m->buf_len = len;
	r = bd_io_read_full(io, m->buf, len, at);
	if (r)
		return r;
	return parse_block(m);
}

int bd_metadata_verify_hash(const struct bd_metadata *m, const uint8_t vmk[32])
{
	struct bd_datum d;
	uint8_t hash[32], pt[256];
	uint16_t kt;
	const uint8_t *key;
	size_t klen;
	int r;

	if (!m->integrity)
		return bd_err(BD_ERR_UNSUPPORTED, "metadata copy at %llu has no integrity datum",
			      (unsigned long long)m->offset);
	d.raw = m->integrity;
	d.size = le16(m->integrity);
	d.role = le16(m->integrity + 2);
	d.type = le16(m->integrity + 4);
	d.version = le16(m->integrity + 6);
	bd_sha256(m->buf, m->covered, hash);
	if (d.type == BD_DT_KEY) {
		r = bd_datum_key(&d, &kt, &key, &klen);
	} else if (d.type == BD_DT_AES_CCM) {
		if (!vmk)
			return bd_err(BD_ERR_LOCKED, "the metadata hash is encrypted with the VMK; unlock first");
		r = bd_datum_ccm_unbox(&d, vmk, pt, sizeof(pt), &kt, &key, &klen);
		if (r == BD_ERR_WRONG_KEY)
			r = bd_err(BD_ERR_CORRUPT, "metadata copy at %llu: integrity datum does not decrypt "
				   "with the VMK", (unsigned long long)m->offset);
	} else {
		return bd_err(BD_ERR_UNSUPPORTED, "metadata copy at %llu: unknown integrity datum type 0x%04x",
			      (unsigned long long)m->offset, d.type);
	}
	if (r)
		return r == BD_ERR_WRONG_KEY ? BD_ERR_CORRUPT : r;
	r = 0;
	if (kt != 0x2005 || klen < 32 || memcmp(key, hash, 32))
		r = bd_err(BD_ERR_CORRUPT, "metadata copy at %llu: SHA-256 does not match the VMK-keyed "
			   "integrity hash", (unsigned long long)m->offset);
	bd_wipe(pt, sizeof(pt));
	return r;
}
