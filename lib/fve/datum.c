/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Datums: the TLV records of FVE metadata (format.md §3). */
#include <stdlib.h>

#include "crypto.h"
#include "metadata.h"

static const struct {
	uint16_t type;
	uint16_t fixed;
	bool nested;
	const char *name;
} datum_types[] = {
	{ BD_DT_ERASED, 8, false, "ERASED" },
	{ BD_DT_KEY, 0x0C, false, "KEY" },
	{ BD_DT_UNICODE, 8, false, "UNICODE" },
	{ BD_DT_STRETCH_KEY, 0x1C, true, "STRETCH_KEY" },
	{ BD_DT_USE_KEY, 0x0C, true, "USE_KEY" },
	{ BD_DT_AES_CCM, 0x24, false, "AES_CCM_ENCRYPTED_KEY" },
	{ BD_DT_TPM_ENCODED, 0x0C, false, "TPM_ENCODED" },
	{ BD_DT_VALIDATION, 8, false, "VALIDATION" },
	{ BD_DT_VMK, 0x24, true, "VOLUME_MASTER_KEY" },
	{ BD_DT_EXTERNAL_KEY, 0x20, true, "EXTERNAL_KEY" },
	{ BD_DT_UPDATE, 0x2C, true, "UPDATE" },
	{ BD_DT_ERROR, 0x34, false, "ERROR" },
	{ BD_DT_ASYMMETRIC_KEY, 8, false, "ASYMMETRIC_ENCRYPTED_KEY" },
	{ BD_DT_EXPORTED_KEY, 8, false, "EXPORTED_KEY" },
	{ BD_DT_PUBLIC_KEY_INFO, 8, false, "PUBLIC_KEY_INFO" },
	{ BD_DT_VIRTUALIZATION, 0x18, false, "VIRTUALIZATION_INFO" },
	{ BD_DT_SIMPLE_1, 0x0C, false, "SIMPLE_1" },
	{ BD_DT_SIMPLE_2, 0x0C, false, "SIMPLE_2" },
	{ BD_DT_CONCAT_HASH_KEY, 0x1C, false, "CONCAT_HASH_KEY" },
	{ BD_DT_SIMPLE_3, 0x0C, false, "SIMPLE_3" },
	{ BD_DT_SIMPLE_LARGE, 0x10, false, "SIMPLE_LARGE" },
	{ BD_DT_BACKUP_INFO, 8, false, "BACKUP_INFO" },
	{ BD_DT_GUID, 0x18, false, "GUID" },
	{ BD_DT_HINT, 8, false, "HINT" },
};

static int type_index(uint16_t type)
{
	for (size_t i = 0; i < ARRAY_SIZE(datum_types); i++)
		if (datum_types[i].type == type)
			return (int)i;
	return -1;
}

size_t bd_datum_fixed_size(uint16_t type)
{
	int i = type_index(type);

	return i < 0 ? 8 : datum_types[i].fixed;
}

bool bd_datum_is_nested(uint16_t type)
{
	int i = type_index(type);

	return i >= 0 && datum_types[i].nested;
}

const char *bd_datum_type_name(uint16_t type)
{
	int i = type_index(type);

	return i < 0 ? "unknown" : datum_types[i].name;
}

void bd_datum_iter_init(struct bd_datum_iter *it, const uint8_t *p, size_t len)
{
	it->p = p;
	it->len = p ? len : 0;
	it->pos = 0;
}

void bd_datum_iter_children(struct bd_datum_iter *it, const struct bd_datum *d)
{
	size_t fixed = bd_datum_fixed_size(d->type);

	if (!bd_datum_is_nested(d->type) || d->size <= fixed)
		bd_datum_iter_init(it, NULL, 0);
	else
		bd_datum_iter_init(it, d->raw + fixed, d->size - fixed);
}

int bd_datum_next(struct bd_datum_iter *it, struct bd_datum *d)
{
	const uint8_t *p;
	uint16_t size;

	if (it->len - it->pos < 8)
		return 0;
	p = it->p + it->pos;
	size = le16(p);
	if (size == 0)
		return 0;
	if (size < 8 || size > it->len - it->pos) {
		it->pos = it->len;
		return bd_err(BD_ERR_CORRUPT, "metadata datum at byte %zu has size %u, outside its parent "
			      "(%zu bytes left)", (size_t)(p - it->p), size, it->len - (size_t)(p - it->p));
	}
	d->raw = p;
	d->size = size;
	d->role = le16(p + 2);
	d->type = le16(p + 4);
	d->version = le16(p + 6);
	it->pos += size;
	return 1;
}

static int find_in(struct bd_datum_iter *it, int role, int type, struct bd_datum *out)
{
	struct bd_datum d;

	while (bd_datum_next(it, &d) > 0) {
		if ((role < 0 || d.role == role) && (type < 0 || d.type == type)) {
			*out = d;
			return 1;
		}
	}
	return 0;
}

int bd_datum_find(const uint8_t *p, size_t len, int role, int type, struct bd_datum *out)
{
	struct bd_datum_iter it;

	bd_datum_iter_init(&it, p, len);
	return find_in(&it, role, type, out);
}

int bd_datum_find_child(const struct bd_datum *parent, int role, int type, struct bd_datum *out)
{
	struct bd_datum_iter it;

	bd_datum_iter_children(&it, parent);
	return find_in(&it, role, type, out);
}

static int need(const struct bd_datum *d, size_t n)
{
	if (d->size < n)
		return bd_err(BD_ERR_CORRUPT, "metadata datum of type %s (0x%04x) is %u bytes, shorter than "
			      "its %zu-byte fixed part", bd_datum_type_name(d->type), d->type, d->size, n);
	return 0;
}

int bd_datum_key(const struct bd_datum *d, uint16_t *key_type, const uint8_t **key, size_t *keylen)
{
	if (d->type != BD_DT_KEY)
		return bd_err(BD_ERR_CORRUPT, "expected a KEY datum, found type 0x%04x", d->type);
	if (need(d, 0x0C))
		return BD_ERR_CORRUPT;
	*key_type = le16(d->raw + 8);
	*key = d->raw + 0x0C;
	*keylen = d->size - 0x0C;
	return 0;
}

void bd_datum_unicode(const struct bd_datum *d, char *out, size_t outlen)
{
	bd_utf16le_to_utf8(d->raw + 8, d->size - 8u, out, outlen);
}

int bd_datum_stretch(const struct bd_datum *d, uint16_t *key_type, const uint8_t **salt)
{
	if (need(d, 0x1C))
		return BD_ERR_CORRUPT;
	*key_type = le16(d->raw + 8);
	*salt = d->raw + 0x0C;
	return 0;
}

int bd_datum_ccm(const struct bd_datum *d, const uint8_t **nonce, const uint8_t **mac,
		 const uint8_t **ct, size_t *ctlen)
{
	if (d->type != BD_DT_AES_CCM)
		return bd_err(BD_ERR_CORRUPT, "expected an AES-CCM datum, found type 0x%04x", d->type);
	if (need(d, 0x24))
		return BD_ERR_CORRUPT;
	*nonce = d->raw + 8;
	*mac = d->raw + 20;
	*ct = d->raw + 0x24;
	*ctlen = d->size - 0x24u;
	return 0;
}

int bd_datum_vmk(const struct bd_datum *d, const uint8_t **guid, uint64_t *mtime, uint16_t *prot)
{
	if (need(d, 0x24))
		return BD_ERR_CORRUPT;
	*guid = d->raw + 8;
	*mtime = le64(d->raw + 0x18);
	*prot = le16(d->raw + 0x22);
	return 0;
}

int bd_datum_external(const struct bd_datum *d, const uint8_t **guid, uint64_t *mtime)
{
	if (need(d, 0x20))
		return BD_ERR_CORRUPT;
	*guid = d->raw + 8;
	*mtime = le64(d->raw + 0x18);
	return 0;
}

int bd_datum_virtualization(const struct bd_datum *d, uint64_t *offset, uint64_t *size)
{
	if (need(d, 0x18))
		return BD_ERR_CORRUPT;
	*offset = le64(d->raw + 8);
	*size = le64(d->raw + 16);
	return 0;
}

int bd_datum_tpm_pcrs(const struct bd_datum *d, uint32_t *pcr_mask)
{
	if (need(d, 0x0C))
		return BD_ERR_CORRUPT;
	*pcr_mask = le32(d->raw + 8);
	return 0;
}

int bd_datum_ccm_unbox(const struct bd_datum *d, const uint8_t key32[32], uint8_t *out, size_t outlen,
		       uint16_t *key_type, const uint8_t **key, size_t *keylen)
{
	const uint8_t *nonce, *mac, *ct;
	size_t ctlen;
	int r;

	if (bd_datum_ccm(d, &nonce, &mac, &ct, &ctlen))
		return BD_ERR_CORRUPT;
	if (ctlen > outlen)
		return bd_err(BD_ERR_CORRUPT, "encrypted key datum too large (%zu bytes)", ctlen);
	r = bd_ccm_decrypt(key32, nonce, mac, ct, ctlen, out);
	if (r)
		return r == BD_ERR_WRONG_KEY ? bd_err(BD_ERR_WRONG_KEY, "AES-CCM tag mismatch") : r;
	/* §4.2: the payload is a KEY datum whose size equals the ciphertext length */
	if (ctlen < 12 || le16(out) != ctlen || le16(out + 4) != BD_DT_KEY) {
		bd_wipe(out, ctlen);
		return bd_err(BD_ERR_CORRUPT, "decrypted key datum is malformed (size %u of %zu, type 0x%04x)",
			      ctlen >= 2 ? le16(out) : 0, ctlen, ctlen >= 6 ? le16(out + 4) : 0);
	}
	*key_type = le16(out + 8);
	*key = out + 12;
	*keylen = ctlen - 12;
	return 0;
}

int bd_datum_validate(const uint8_t *p, size_t len, int depth)
{
	struct bd_datum_iter it, ch;
	struct bd_datum d;
	int r;

	if (depth > 8)
		return bd_err(BD_ERR_CORRUPT, "metadata datums nested too deeply");
	bd_datum_iter_init(&it, p, len);
	while ((r = bd_datum_next(&it, &d)) > 0) {
		if (d.size < bd_datum_fixed_size(d.type))
			return need(&d, bd_datum_fixed_size(d.type));
		if (bd_datum_is_nested(d.type)) {
			bd_datum_iter_children(&ch, &d);
			r = bd_datum_validate(ch.p, ch.len, depth + 1);
			if (r)
				return r;
		}
	}
	return r;
}

int bd_dataset_parse(const uint8_t *p, size_t len, struct bd_dataset *ds)
{
	memset(ds, 0, sizeof(*ds));
	if (!p || len < FVE_DS_HDR_SIZE)
		return bd_err(BD_ERR_CORRUPT, "metadata dataset header truncated (%zu bytes)", len);
	/* the dataset header (layout.h, format.md §2.4) */
	ds->size = le32(p + FVE_DS_SIZE);
	ds->version = le32(p + FVE_DS_VERSION);
	ds->start = le32(p + FVE_DS_START_OFFSET);
	ds->end = le32(p + FVE_DS_END_OFFSET);
	memcpy(ds->guid, p + FVE_DS_VOLUME_GUID, 16);
	ds->next_nonce = le32(p + FVE_DS_NEXT_NONCE_COUNTER);
	ds->method = le16(p + FVE_DS_METHOD);
	ds->ctime = le64(p + FVE_DS_CREATION_TIME);
	if (ds->size < FVE_DS_HDR_SIZE || ds->size > len)
		return bd_err(BD_ERR_CORRUPT, "metadata dataset size %u outside 48..%zu", ds->size, len);
	if (ds->start < FVE_DS_HDR_SIZE || ds->end > ds->size || ds->start > ds->end)
		return bd_err(BD_ERR_CORRUPT, "metadata dataset entry range %u..%u invalid (size %u)",
			      ds->start, ds->end, ds->size);
	ds->entries = p + ds->start;
	ds->entries_len = ds->end - ds->start;
	return 0;
}
