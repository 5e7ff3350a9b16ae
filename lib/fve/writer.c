/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Metadata serialisation and safe metadata writes (see writer.h for the three
 * layers). Shapes follow ../shared/docs/format.md §2-§4 and were compared field
 * by field with volumes written by Windows 10.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crypto.h"
#include "internal.h"
#include "header.h"
#include "writer.h"

/* ---- (a) buffer ---- */

void bd_buf_init(struct bd_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void bd_buf_free(struct bd_buf *b)
{
	if (b->data) {
		bd_wipe(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

static bool buf_reserve(struct bd_buf *b, size_t n)
{
	if (b->err)
		return false;
	if (n <= b->cap - b->len)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	/* no realloc: the old buffer may hold keys and must be wiped */
	uint8_t *p = calloc(1, cap);
	if (!p) {
		b->err = BD_ERR_NOMEM;
		return false;
	}
	if (b->data) {
		memcpy(p, b->data, b->len);
		bd_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void bd_buf_put(struct bd_buf *b, const void *p, size_t n)
{
	if (!n || !buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void bd_buf_zero(struct bd_buf *b, size_t n)
{
	if (!n || !buf_reserve(b, n))
		return;
	memset(b->data + b->len, 0, n);
	b->len += n;
}

void bd_buf_u16(struct bd_buf *b, uint16_t v)
{
	uint8_t t[2];
	put_le16(t, v);
	bd_buf_put(b, t, 2);
}

void bd_buf_u32(struct bd_buf *b, uint32_t v)
{
	uint8_t t[4];
	put_le32(t, v);
	bd_buf_put(b, t, 4);
}

void bd_buf_u64(struct bd_buf *b, uint64_t v)
{
	uint8_t t[8];
	put_le64(t, v);
	bd_buf_put(b, t, 8);
}

/* ---- datums ---- */

size_t bd_put_begin(struct bd_buf *b, uint16_t role, uint16_t type, uint16_t version)
{
	size_t start = b->len;

	bd_buf_u16(b, 0);
	bd_buf_u16(b, role);
	bd_buf_u16(b, type);
	bd_buf_u16(b, version);
	return start;
}

void bd_put_end(struct bd_buf *b, size_t start)
{
	if (b->err)
		return;
	size_t size = b->len - start;
	if (size > 0xFFFF) {
		b->err = BD_ERR_INVALID;
		return;
	}
	put_le16(b->data + start, (uint16_t)size);
}

void bd_nonce_init(struct bd_nonce_src *ns, uint32_t next_counter)
{
	ns->filetime = bd_filetime_now();
	ns->next = next_counter;
}

void bd_nonce_take(struct bd_nonce_src *ns, uint8_t nonce[12], bool validation)
{
	uint64_t t = ns->filetime;

	if (validation)
		t |= 1ULL << 63;   /* Windows 7+ quirk, format.md §2.5 */
	put_le64(nonce, t);
	put_le32(nonce + 8, ns->next++);
}

uint64_t bd_filetime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec + 11644473600ULL) * 10000000ULL + (uint64_t)ts.tv_nsec / 100;
}

int bd_guid_generate(uint8_t guid[16])
{
	int r = bd_random(guid, 16);

	if (r)
		return r;
	guid[7] = (uint8_t)((guid[7] & 0x0F) | 0x40);   /* version 4 (time_hi, stored LE) */
	guid[8] = (uint8_t)((guid[8] & 0x3F) | 0x80);   /* RFC 4122 variant */
	return 0;
}

void bd_put_unicode(struct bd_buf *b, uint16_t role, const char *utf8)
{
	size_t max = 2 * strlen(utf8) + 2;
	uint8_t *tmp = calloc(1, max + 2);
	long n;

	if (!tmp) {
		b->err = b->err ? b->err : BD_ERR_NOMEM;
		return;
	}
	n = bd_utf8_to_utf16le(utf8, tmp, max);
	if (n < 0) {
		free(tmp);
		b->err = b->err ? b->err : BD_ERR_INVALID;
		return;
	}
	size_t d = bd_put_begin(b, role, BD_T_UNICODE, 1);
	bd_buf_put(b, tmp, (size_t)n);
	bd_buf_u16(b, 0);   /* the terminator is part of the datum (§10.20) */
	bd_put_end(b, d);
	free(tmp);
}

void bd_put_key(struct bd_buf *b, uint16_t role, uint16_t version, uint16_t key_type,
		  const uint8_t *key, size_t len)
{
	size_t d = bd_put_begin(b, role, BD_T_KEY, version);

	bd_buf_u16(b, key_type);
	bd_buf_u16(b, 0);
	bd_buf_put(b, key, len);
	bd_put_end(b, d);
}

void bd_put_guid(struct bd_buf *b, uint16_t role, const uint8_t guid[16])
{
	size_t d = bd_put_begin(b, role, BD_T_GUID, 1);

	bd_buf_put(b, guid, 16);
	bd_put_end(b, d);
}

void bd_put_virtualization(struct bd_buf *b, uint64_t offset, uint64_t size)
{
	size_t d = bd_put_begin(b, BD_R_VIRTUALIZATION, BD_T_VIRTUALIZATION, 1);

	bd_buf_u64(b, offset);
	bd_buf_u64(b, size);
	bd_put_end(b, d);
}

void bd_put_ccm(struct bd_buf *b, uint16_t role, const uint8_t key32[32], struct bd_nonce_src *ns,
		  uint16_t key_type, const uint8_t *key, size_t len)
{
	/* plaintext: KEY datum, version 0 as Windows writes inside AES-CCM (§4.2) */
	size_t plen = 12 + len;
	uint8_t *pt, *ct;
	uint8_t nonce[12], tag[16];
	int r;

	if (b->err)
		return;
	if (plen > 0x400) {
		b->err = BD_ERR_INVALID;
		return;
	}
	pt = calloc(1, 2 * plen);
	if (!pt) {
		b->err = BD_ERR_NOMEM;
		return;
	}
	ct = pt + plen;
	put_le16(pt, (uint16_t)plen);
	put_le16(pt + 2, 0);
	put_le16(pt + 4, BD_T_KEY);
	put_le16(pt + 6, 0);
	put_le16(pt + 8, key_type);
	put_le16(pt + 10, 0);
	memcpy(pt + 12, key, len);
	bd_nonce_take(ns, nonce, false);
	r = bd_ccm_encrypt(key32, nonce, pt, plen, ct, tag);
	if (r) {
		b->err = r;
	} else {
		size_t d = bd_put_begin(b, role, BD_T_AES_CCM, 1);
		bd_buf_put(b, nonce, 12);
		bd_buf_put(b, tag, 16);
		bd_buf_put(b, ct, plen);
		bd_put_end(b, d);
	}
	bd_wipe(pt, 2 * plen);
	free(pt);
}

/* ---- top-level datums ---- */

void bd_build_description(struct bd_buf *b, const char *utf8)
{
	bd_put_unicode(b, BD_R_DESCRIPTION, utf8);
}

void bd_build_fvek(struct bd_buf *b, const uint8_t vmk[32], struct bd_nonce_src *ns, uint16_t method,
		   const uint8_t *fvek, size_t len)
{
	bd_put_ccm(b, BD_R_FVEK, vmk, ns, method, fvek, len);
}

static size_t vmk_entry_begin(struct bd_buf *b, const uint8_t guid[16], uint64_t mtime, uint16_t protection,
			      uint16_t version)
{
	size_t d = bd_put_begin(b, BD_R_VMK, BD_T_VMK, version);

	bd_buf_put(b, guid, 16);
	bd_buf_u64(b, mtime);
	bd_buf_u16(b, 0);
	bd_buf_u16(b, protection);
	return d;
}

static size_t stretch_begin(struct bd_buf *b, uint16_t key_type, const uint8_t salt[16])
{
	size_t d = bd_put_begin(b, BD_R_PROPERTY, BD_T_STRETCH_KEY, 1);

	bd_buf_u16(b, key_type);
	bd_buf_u16(b, 0);
	bd_buf_put(b, salt, 16);
	return d;
}

void bd_build_vmk_password(struct bd_buf *b, const uint8_t guid[16], uint64_t mtime, const uint8_t vmk[32],
			   const uint8_t salt[16], const uint8_t stretched[32], struct bd_nonce_src *ns)
{
	size_t e = vmk_entry_begin(b, guid, mtime, BD_PROT_PASSWORD, 1);
	size_t s = stretch_begin(b, BD_KEY_PASSWORD, salt);

	/* VMK-encrypted backup of the stretched key (Windows: counter before the VMK's) */
	bd_put_ccm(b, BD_R_PROPERTY, vmk, ns, BD_KEY_PASSWORD_STRETCHED, stretched, 32);
	bd_put_end(b, s);
	bd_put_ccm(b, BD_R_PROPERTY, stretched, ns, BD_KEY_VMK, vmk, 32);
	bd_put_end(b, e);
}

void bd_build_vmk_recovery(struct bd_buf *b, const uint8_t guid[16], uint64_t mtime, const uint8_t vmk[32],
			   const uint8_t salt[16], const uint8_t key16[16], const uint8_t stretched[32],
			   struct bd_nonce_src *ns)
{
	size_t e = vmk_entry_begin(b, guid, mtime, BD_PROT_RECOVERY_PASSWORD, 1);
	size_t s = stretch_begin(b, BD_KEY_RECOVERY, salt);

	bd_put_ccm(b, BD_R_RECOVERY_KEY_BACKUP, vmk, ns, BD_KEY_RECOVERY, key16, 16);
	bd_put_ccm(b, BD_R_RECOVERY_STRETCH_BACKUP, vmk, ns, BD_KEY_RECOVERY_STRETCHED, stretched, 32);
	bd_put_end(b, s);
	bd_put_ccm(b, BD_R_PROPERTY, stretched, ns, BD_KEY_VMK, vmk, 32);
	bd_put_end(b, e);
}

void bd_build_vmk_startup_key(struct bd_buf *b, const uint8_t guid[16], uint64_t mtime, const uint8_t vmk[32],
			      const uint8_t ext_key[32], struct bd_nonce_src *ns)
{
	size_t e = vmk_entry_begin(b, guid, mtime, BD_PROT_STARTUP_KEY, 1);
	size_t u;

	bd_put_unicode(b, BD_R_PROPERTY, "ExternalKey");
	u = bd_put_begin(b, BD_R_PROPERTY, BD_T_USE_KEY, 1);
	bd_buf_u16(b, BD_KEY_EXTERNAL);
	bd_buf_u16(b, 0);
	bd_put_ccm(b, BD_R_PROPERTY, vmk, ns, BD_KEY_EXTERNAL, ext_key, 32);
	bd_put_end(b, u);
	bd_put_ccm(b, BD_R_PROPERTY, ext_key, ns, BD_KEY_VMK, vmk, 32);
	bd_put_end(b, e);
}

void bd_build_vmk_certificate(struct bd_buf *b, const uint8_t guid[16], uint64_t mtime, const uint8_t vmk[32],
			      const uint8_t *rsa_ct, size_t ct_len, const uint8_t *cng_blob, size_t blob_len,
			      uint32_t cert_type, const uint8_t thumbprint[20], const uint8_t k32[32],
			      struct bd_nonce_src *ns)
{
	size_t e = vmk_entry_begin(b, guid, mtime, BD_PROT_PUBLIC_KEY, 1);
	size_t d;

	/* 1: the RSA block that carries K */
	d = bd_put_begin(b, BD_R_PROPERTY, BD_T_ASYMMETRIC_KEY, 1);
	bd_buf_put(b, rsa_ct, ct_len);
	bd_put_end(b, d);
	/* 2: the certificate's public key as a CNG blob; role 0x000C as on the real sample */
	d = bd_put_begin(b, BD_R_EXPORTED_KEY, BD_T_EXPORTED_KEY, 1);
	bd_buf_put(b, cng_blob, blob_len);
	bd_put_end(b, d);
	/* 3: the "gsin" certificate record: tag, size 37, type, hash size 20, thumbprint, one 00 byte */
	d = bd_put_begin(b, BD_R_PROPERTY, BD_T_PUBLIC_KEY_INFO, 1);
	bd_buf_put(b, "gsin", 4);
	bd_buf_u32(b, 37);
	bd_buf_u32(b, cert_type);
	bd_buf_u32(b, 20);
	bd_buf_put(b, thumbprint, 20);
	bd_buf_zero(b, 1);
	bd_put_end(b, d);
	/* 4, 4a: K under the VMK; 5: the VMK under K (nonces in this order, as on the sample) */
	d = bd_put_begin(b, BD_R_PROPERTY, BD_T_USE_KEY, 1);
	bd_buf_u16(b, BD_KEY_PUBLIC_KEY);
	bd_buf_u16(b, 0);
	bd_put_ccm(b, BD_R_PROPERTY, vmk, ns, BD_KEY_PUBLIC_KEY, k32, 32);
	bd_put_end(b, d);
	bd_put_ccm(b, BD_R_PROPERTY, k32, ns, BD_KEY_VMK, vmk, 32);
	bd_put_end(b, e);
}

void bd_build_vmk_clear_key(struct bd_buf *b, const uint8_t guid[16], uint64_t mtime, const uint8_t vmk[32],
			    const uint8_t clear_key[32], struct bd_nonce_src *ns)
{
	size_t e = vmk_entry_begin(b, guid, mtime, BD_PROT_CLEAR_KEY, 3);

	bd_put_key(b, BD_R_PROPERTY, 1, BD_KEY_CLEAR, clear_key, 32);
	bd_put_ccm(b, BD_R_PROPERTY, clear_key, ns, BD_KEY_VMK, vmk, 32);
	bd_put_end(b, e);
}

/* The dataset header (layout.h, §2.4) of a dataset of size bytes (header and entries). */
static void put_dataset_header(uint8_t *p, uint32_t size, const uint8_t guid[16], uint32_t next_nonce,
			       uint16_t method, uint16_t method2, uint64_t ctime)
{
	put_le32(p + FVE_DS_SIZE, size);
	put_le32(p + FVE_DS_VERSION, 1);
	put_le32(p + FVE_DS_START_OFFSET, FVE_DS_HDR_SIZE);
	put_le32(p + FVE_DS_END_OFFSET, size);
	memcpy(p + FVE_DS_VOLUME_GUID, guid, 16);
	put_le32(p + FVE_DS_NEXT_NONCE_COUNTER, next_nonce);
	put_le16(p + FVE_DS_METHOD, method);
	put_le16(p + FVE_DS_METHOD2, method2);
	put_le64(p + FVE_DS_CREATION_TIME, ctime);
}

void bd_build_bek_file(struct bd_buf *out, const uint8_t guid[16], uint64_t ctime, const uint8_t ext_key[32],
		       const uint8_t *volume_guid)
{
	size_t start = out->len, d;

	bd_buf_zero(out, FVE_DS_HDR_SIZE);   /* the header, written once the size is known */
	d = bd_put_begin(out, BD_R_STARTUP_KEY, BD_T_EXTERNAL_KEY, 1);
	bd_buf_put(out, guid, 16);
	bd_buf_u64(out, ctime);
	bd_put_unicode(out, BD_R_PROPERTY, "ExternalKey");
	bd_put_key(out, BD_R_PROPERTY, 1, BD_KEY_EXTERNAL, ext_key, 32);
	if (volume_guid)
		bd_put_guid(out, BD_R_VOLUME_GUID, volume_guid);
	bd_put_end(out, d);
	if (out->err)
		return;
	put_dataset_header(out->data + start, (uint32_t)(out->len - start), guid, 1, 0, 0, ctime);
}

static void put_utf16_line(struct bd_buf *b, const char *s)
{
	for (; *s; s++)
		bd_buf_u16(b, (uint8_t)*s);   /* ASCII only */
	bd_buf_u16(b, '\r');
	bd_buf_u16(b, '\n');
}

void bd_build_recovery_key_txt(struct bd_buf *out, const uint8_t guid[16], const char *recovery_password,
			       char *name_out, size_t name_len)
{
	char id[37], line[128];

	bd_guid_format(guid, id);
	for (char *p = id; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(name_out, name_len, "BitLocker Recovery Key %s.TXT", id);
	bd_buf_u16(out, 0xFEFF);   /* BOM, as Notepad-style UTF-16LE */
	put_utf16_line(out, "BitLocker Drive Encryption recovery key");
	put_utf16_line(out, "");
	put_utf16_line(out, "To verify that this is the correct recovery key, compare the start of the "
			    "following identifier with the identifier value displayed on your PC.");
	put_utf16_line(out, "");
	put_utf16_line(out, "Identifier:");
	put_utf16_line(out, "");
	snprintf(line, sizeof(line), "\t%s", id);
	put_utf16_line(out, line);
	put_utf16_line(out, "");
	put_utf16_line(out, "If the above identifier matches the one displayed by your PC, then use the "
			    "following key to unlock your drive.");
	put_utf16_line(out, "");
	put_utf16_line(out, "Recovery Key:");
	put_utf16_line(out, "");
	snprintf(line, sizeof(line), "\t%s", recovery_password);
	put_utf16_line(out, line);
	put_utf16_line(out, "");
	put_utf16_line(out, "If the above identifier doesn't match the one displayed by your PC, then this "
			    "isn't the right key to unlock your drive.");
	put_utf16_line(out, "Try another recovery key, or refer to https://go.microsoft.com/fwlink/?LinkID=260589 "
			    "for additional assistance.");
	bd_wipe(line, sizeof(line));
}

/* ---- (b) metadata block ---- */

int bd_meta_serialise(const struct bd_meta_header *h, const uint8_t *entries, size_t entries_len,
		      const uint8_t *vmk, struct bd_nonce_src *ns, uint8_t *area, size_t area_len)
{
	size_t ds_size = BD_DATASET_HDR_SIZE + entries_len;
	size_t s = (BD_BLOCK_HDR_SIZE + ds_size + 15) & ~(size_t)15;
	uint8_t nonce[12], hashkey[44], tag[16], ct[44], hash[32];
	uint8_t *p = area;
	int r;

	if (s + 8 + 0x50 > area_len || s > 0xFFFF0)
		return bd_err(BD_ERR_INVALID, "metadata of %zu bytes does not fit a %zu-byte area; "
			      "remove protectors or shorten the description", s, area_len);
	memset(area, 0, area_len);
	/* block header (layout.h, §2.2) */
	memcpy(p + FVE_BH_SIGNATURE, "-FVE-FS-", 8);
	put_le16(p + FVE_BH_HEADER_SIZE, (uint16_t)(s >> 4));
	put_le16(p + FVE_BH_VERSION, 2);
	put_le16(p + FVE_BH_CURRENT_STATE, h->state);
	put_le16(p + FVE_BH_NEXT_STATE, h->next_state);
	put_le64(p + FVE_BH_STATE_OFFSET, h->state_offset);
	put_le32(p + FVE_BH_STATE_SIZE, h->state_size);
	put_le32(p + FVE_BH_VIRTUALIZED_SECTORS, h->virt_sectors);
	for (int i = 0; i < 3; i++)
		put_le64(p + FVE_BH_METADATA_OFFSET + 8 * i, h->offsets[i]);
	put_le64(p + FVE_BH_VIRTUALIZED_BLOCK_OFFSET, h->virt_offset);
	/* the validation nonce is taken first so the dataset records the counter after it */
	if (vmk)
		bd_nonce_take(ns, nonce, true);
	/* dataset (§2.4) */
	p = area + FVE_BH_SIZE;
	put_dataset_header(p, (uint32_t)ds_size, h->volume_guid, ns->next, h->method, h->method2, h->ctime);
	memcpy(p + FVE_DS_HDR_SIZE, entries, entries_len);
	/* validation (§2.5) */
	p = area + s;
	put_le16(p, (uint16_t)MIN(area_len - s, 0xFFFF));
	put_le16(p + 2, 2);
	put_le32(p + 4, bd_crc32(area, s));
	bd_sha256(area, s, hash);
	put_le16(hashkey, 0x2C);
	put_le16(hashkey + 2, 0);
	put_le16(hashkey + 4, BD_T_KEY);
	put_le16(hashkey + 8, BD_KEY_HASH);
	put_le16(hashkey + 10, 0);
	memcpy(hashkey + 12, hash, 32);
	p += 8;
	if (!vmk) {
		put_le16(hashkey + 6, 1);   /* clear hash datum of a decrypted volume */
		memcpy(p, hashkey, sizeof(hashkey));
		return 0;
	}
	put_le16(hashkey + 6, 0);
	r = bd_ccm_encrypt(vmk, nonce, hashkey, sizeof(hashkey), ct, tag);
	if (r)
		return r;
	put_le16(p, 0x50);
	put_le16(p + 2, 0);
	put_le16(p + 4, BD_T_AES_CCM);
	put_le16(p + 6, 1);
	memcpy(p + 8, nonce, 12);
	memcpy(p + 20, tag, 16);
	memcpy(p + 36, ct, 44);
	return 0;
}

void bd_build_volume_header(uint8_t out[512], uint32_t sector_size, uint8_t sectors_per_cluster,
			    uint32_t hidden_sectors, const uint64_t offsets[3])
{
	/* Boot code: print the message at 0x100 via the BIOS, then wait forever. */
	static const uint8_t boot[] = {
		0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x00, 0x7d, /* xor ax,ax; mov ds,ax; mov si,0x7d00 */
		0xac, 0x84, 0xc0, 0x74, 0x06,             /* lodsb; test al,al; jz +6 */
		0xb4, 0x0e, 0xcd, 0x10, 0xeb, 0xf5,       /* mov ah,0x0e; int 0x10; jmp lodsb */
		0xf4, 0xeb, 0xfd,                         /* hlt; jmp hlt */
	};
	static const char msg[] = "\r\nThis is a BitLocker-encrypted volume (bdkit). It is not bootable.\r\n";

	memset(out, 0, FVE_VH_SIZE);
	out[FVE_VH_JUMP] = 0xEB; out[FVE_VH_JUMP + 1] = 0x58; out[FVE_VH_JUMP + 2] = 0x90;
	memcpy(out + FVE_VH_OEM, "-FVE-FS-", 8);
	put_le16(out + FVE_VH_BYTES_PER_SECTOR, (uint16_t)sector_size);
	out[FVE_VH_SECTORS_PER_CLUSTER] = sectors_per_cluster;
	out[FVE_VH_MEDIA] = 0xF8;
	put_le16(out + FVE_VH_SECTORS_PER_TRACK, 0x3F);
	put_le16(out + FVE_VH_HEADS, 0xFF);
	put_le32(out + FVE_VH_HIDDEN_SECTORS, hidden_sectors);
	put_le32(out + FVE_VH_FAT32_SECTORS_PER_FAT, 0x1FE0); /* constant in Windows' header */
	put_le16(out + FVE_VH_FAT32_FSINFO, 1);
	put_le16(out + FVE_VH_FAT32_BACKUP_BOOT, 6);
	out[FVE_VH_DRIVE_NUMBER] = 0x80;
	out[FVE_VH_BOOT_SIGNATURE] = 0x29;
	memcpy(out + FVE_VH_VOLUME_LABEL, "NO NAME    ", 11);
	memcpy(out + FVE_VH_FS_TYPE, "FAT32   ", 8);
	memcpy(out + FVE_VH_BOOT_CODE, boot, sizeof(boot));
	memcpy(out + FVE_VH_GUID, bd_guid_bitlocker, 16);
	for (int i = 0; i < 3; i++)
		put_le64(out + FVE_VH_GUID + FVE_VH_REL_METADATA_OFFSET + 8 * i, offsets[i]);
	memcpy(out + FVE_VH_BOOT_MESSAGE, msg, sizeof(msg));
	out[FVE_VH_SIGNATURE_55AA] = 0x55;
	out[FVE_VH_SIGNATURE_55AA + 1] = 0xAA;
}

void bd_build_togo_header(uint8_t out[512], uint32_t sector_size, uint8_t sectors_per_cluster,
			  uint32_t hidden_sectors, uint64_t total_sectors, const uint64_t offsets[3])
{
	uint8_t guid[16];

	/* the same FAT32-like BPB and boot code; the GUID block moves to 0x1A8 */
	bd_build_volume_header(out, sector_size, sectors_per_cluster, hidden_sectors, offsets);
	memcpy(guid, out + FVE_VH_GUID, 16);
	memset(out + FVE_VH_GUID, 0, FVE_VH_REL_EOW_OFFSET);
	memcpy(out + FVE_VH_OEM, "MSWIN4.1", 8);
	put_le32(out + FVE_VH_TOTAL_SECTORS32, total_sectors > 0xFFFFFFFFu ? 0 : (uint32_t)total_sectors);
	put_le32(out + FVE_VH_FAT32_ROOT_CLUSTER, 2); /* as Windows writes it */
	memcpy(out + FVE_VH_TOGO_GUID, guid, 16);
	for (int i = 0; i < 3; i++)
		put_le64(out + FVE_VH_TOGO_GUID + FVE_VH_REL_METADATA_OFFSET + 8 * i, offsets[i]);
}

/* ---- (c) the three copies ---- */

int bd_meta_write_copies(struct bd_io *io, uint64_t base, const uint64_t offsets[3], const uint8_t *area,
			 size_t area_len, const int order[3])
{
	static const int default_order[3] = { 0, 1, 2 };
	uint8_t *check = malloc(area_len);
	int r = 0;

	if (!check)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	if (!order)
		order = default_order;
	for (int i = 0; i < 3; i++) {
		int k = order[i];
		uint64_t off = base + offsets[k];

		if (k < 0 || k > 2) {
			r = bd_err(BD_ERR_INVALID, "metadata copy index %d out of range", k);
			break;
		}
		r = bd_io_write_full(io, area, area_len, off);
		if (!r)
			r = bd_io_sync(io);
		if (!r)
			r = bd_io_read_full(io, check, area_len, off);
		if (r) {
			char why[256];
			snprintf(why, sizeof(why), "%s", bd_last_error());
			r = bd_err(r, "writing metadata copy %d at offset %llu failed: %s; the %d copies written "
				   "before it are complete", k + 1, (unsigned long long)off, why, i);
			break;
		}
		if (memcmp(check, area, area_len)) {
			r = bd_err(BD_ERR_IO, "metadata copy %d at offset %llu reads back different from what "
				   "was written (failing medium?)", k + 1, (unsigned long long)off);
			break;
		}
		bd_debug("metadata copy %d written at %llu and verified", k + 1, (unsigned long long)off);
	}
	free(check);
	return r;
}
