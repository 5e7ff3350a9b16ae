/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Volume header detection and partition scanning (format.md §1). */
#include <stdio.h>
#include <stdlib.h>

#include "bdkit/fve.h"
#include "header.h"
#include "layout.h"

const uint8_t bd_guid_bitlocker[16] = { 0x3b, 0xd6, 0x67, 0x49, 0x29, 0x2e, 0xd8, 0x4a,
					0x83, 0x99, 0xf6, 0xa3, 0x39, 0xe3, 0xd0, 0x01 };
const uint8_t bd_guid_eow[16] = { 0x3b, 0x4d, 0xa8, 0x92, 0x80, 0xdd, 0x0e, 0x4d,
				  0x9e, 0x4e, 0xb1, 0xe3, 0x28, 0x4e, 0xae, 0xd8 };

static int find_guid(const uint8_t bs[512], const uint8_t g[16])
{
	/* the metadata offsets follow the GUID */
	for (int i = FVE_VH_OEM; i + FVE_VH_REL_METADATA_OFFSET + 24 <= FVE_VH_SIZE; i++)
		if (!memcmp(bs + i, g, 16))
			return i;
	return -1;
}

int bd_header_parse(const uint8_t bs[512], struct bd_header *h)
{
	int p;

	memset(h, 0, sizeof(*h));
	memcpy(h->raw, bs, 512);
	h->sector_size = le16(bs + FVE_VH_BYTES_PER_SECTOR);
	h->sectors_per_cluster = bs[FVE_VH_SECTORS_PER_CLUSTER];
	if (h->sector_size == 0)
		h->sector_size = 512; /* exFAT To Go (§10.10) */
	if ((p = find_guid(bs, bd_guid_eow)) >= 0) {
		h->eow = 1;
		if (p + FVE_VH_REL_END <= FVE_VH_SIZE) {
			h->eow_off[0] = le64(bs + p + FVE_VH_REL_EOW_OFFSET);
			h->eow_off[1] = le64(bs + p + FVE_VH_REL_EOW_OFFSET + 8);
		}
	} else {
		p = find_guid(bs, bd_guid_bitlocker);
	}
	if (p >= 0) {
		h->guid_pos = (uint32_t)p;
		for (int i = 0; i < 3; i++)
			h->meta_off[i] = le64(bs + p + FVE_VH_REL_METADATA_OFFSET + 8 * i);
		h->kind = memcmp(bs + FVE_VH_OEM, "-FVE-FS-", 8) ? BD_HDR_TOGO : BD_HDR_V2;
	} else if (!memcmp(bs + FVE_VH_OEM, "-FVE-FS-", 8)) {
		h->kind = BD_HDR_VISTA;
		h->meta_off[0] = le64(bs + FVE_VH_VISTA_METADATA_LCN) * h->sector_size *
				 (h->sectors_per_cluster ? h->sectors_per_cluster : 1);
	} else {
		return BD_ERR_NOT_BITLOCKER;
	}
	if (h->sector_size < 512 || h->sector_size > 65536 || (h->sector_size & (h->sector_size - 1)))
		return BD_ERR_NOT_BITLOCKER;
	return 0;
}

const char *bd_header_describe_plain(const uint8_t bs[512])
{
	if (!memcmp(bs, "LUKS\xba\xbe", 6))
		return "a LUKS volume";
	if (bd_is_zero(bs, 512))
		return "zeros in its first sector (a wiped BitLocker header? 'bdkit repair' finds the metadata by "
		       "scanning and recovers the data)";
	struct bd_fs_info fi;
	bd_fs_probe(bs, 512, &fi);
	if (!fi.jump)  /* a file system boot sector starts with a jump */
		return NULL;
	if (fi.kind == BD_FS_NTFS)
		return "an NTFS file system (not encrypted, or already decrypted)";
	if (fi.kind == BD_FS_EXFAT)
		return "an exFAT file system (not encrypted)";
	if ((fi.kind != BD_FS_UNKNOWN && fi.kind != BD_FS_REFS) || fi.dos_oem)
		return "a FAT file system (not encrypted)";
	return NULL;
}

/* ---- partitions ---- */

struct part {
	uint64_t start, len;   /* bytes */
	char what[48];
};

#define MAX_PARTS 64

static int add_part(struct part *parts, int n, uint64_t start, uint64_t len, const char *fmt, int num)
{
	if (n >= MAX_PARTS || !start)
		return n;
	parts[n].start = start;
	parts[n].len = len;
	snprintf(parts[n].what, sizeof(parts[n].what), fmt, num);
	return n + 1;
}

static int scan_gpt(struct bd_io *io, uint64_t hdr_at, uint32_t lba, struct part *parts, int n)
{
	uint8_t h[92], e[128];
	uint64_t ent_lba;
	uint32_t count, esz;

	if (bd_io_read_full(io, h, sizeof(h), hdr_at) || memcmp(h, "EFI PART", 8))
		return -1;
	ent_lba = le64(h + 0x48);
	count = le32(h + 0x50);
	esz = le32(h + 0x54);
	if (esz < 128 || esz > 4096 || count > 1024)
		return n;
	for (uint32_t i = 0; i < count && n < MAX_PARTS; i++) {
		uint64_t at = ent_lba * lba + (uint64_t)i * esz;
		if (bd_io_read_full(io, e, sizeof(e), at))
			break;
		if (bd_is_zero(e, 16))
			continue;
		uint64_t first = le64(e + 32), last = le64(e + 40);
		if (last < first)
			continue;
		n = add_part(parts, n, first * lba, (last - first + 1) * lba, "GPT partition %d", (int)i + 1);
	}
	return n;
}

static int scan_mbr(struct bd_io *io, const uint8_t mbr[512], struct part *parts, int n)
{
	int gpt = 0;

	if (mbr[510] != 0x55 || mbr[511] != 0xAA)
		return n;
	for (int i = 0; i < 4; i++) {
		const uint8_t *e = mbr + 0x1BE + 16 * i;
		uint8_t type = e[4];
		uint64_t start = le32(e + 8), len = le32(e + 12);
		if (!type || !len)
			continue;
		if (type == 0xEE) {
			gpt = 1;
			continue;
		}
		if (type == 0x05 || type == 0x0F || type == 0x85) {
			/* chain of extended boot records */
			uint64_t ebr = start, next = start;
			for (int k = 0; k < 32 && n < MAX_PARTS; k++) {
				uint8_t b[512];
				if (bd_io_read_full(io, b, 512, next * 512) || b[510] != 0x55 || b[511] != 0xAA)
					break;
				if (b[0x1BE + 4] && le32(b + 0x1BE + 12))
					n = add_part(parts, n, (next + le32(b + 0x1BE + 8)) * 512,
						     (uint64_t)le32(b + 0x1BE + 12) * 512, "logical partition %d", 5 + k);
				if (!b[0x1CE + 4] || !le32(b + 0x1CE + 8))
					break;
				next = ebr + le32(b + 0x1CE + 8);
			}
			continue;
		}
		n = add_part(parts, n, start * 512, len * 512, "MBR partition %d", i + 1);
	}
	if (gpt) {
		int g = scan_gpt(io, 512, 512, parts, n);
		if (g < 0)
			g = scan_gpt(io, 4096, 4096, parts, n);
		if (g >= 0)
			n = g;
	}
	return n;
}

int bd_header_locate(struct bd_io *io, int64_t offset, struct bd_header *h, uint64_t *vol_off,
		     uint64_t *vol_len, char *where, size_t wherelen)
{
	uint8_t bs[512];
	struct part *parts;
	int n, r, found = -1, beyond = 0;
	const char *plain;

	if (offset >= 0) {
		if ((uint64_t)offset + 512 > io->size)
			return bd_err(BD_ERR_NOT_BITLOCKER, "--offset %lld is beyond the end of %s (%llu bytes)",
				      (long long)offset, io->name, (unsigned long long)io->size);
		r = bd_io_read_full(io, bs, 512, (uint64_t)offset);
		if (r)
			return r;
		if (bd_header_parse(bs, h)) {
			plain = bd_header_describe_plain(bs);
			return bd_err(BD_ERR_NOT_BITLOCKER, "%s at offset %lld holds %s, not a BitLocker volume header",
				      io->name, (long long)offset, plain ? plain : "no known signature");
		}
		*vol_off = (uint64_t)offset;
		*vol_len = io->size - (uint64_t)offset;
		snprintf(where, wherelen, "offset %lld (given)", (long long)offset);
		return 0;
	}
	if (io->size < 512)
		return bd_err(BD_ERR_NOT_BITLOCKER, "%s is only %llu bytes: too small for a BitLocker volume",
			      io->name, (unsigned long long)io->size);
	r = bd_io_read_full(io, bs, 512, 0);
	if (r)
		return r;
	if (!bd_header_parse(bs, h)) {
		*vol_off = 0;
		*vol_len = io->size;
		snprintf(where, wherelen, "the whole input");
		return 0;
	}
	plain = bd_header_describe_plain(bs);
	if (plain && memcmp(plain, "zeros", 5))
		return bd_err(BD_ERR_NOT_BITLOCKER, "%s is not BitLocker: it holds %s", io->name, plain);
	parts = calloc(MAX_PARTS, sizeof(*parts));
	if (!parts)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	n = scan_mbr(io, bs, parts, 0);
	for (int i = 0; i < n; i++) {
		uint8_t ps[512];
		if (parts[i].start + 512 > io->size) {
			beyond++;
			continue;
		}
		if (bd_io_read_full(io, ps, 512, parts[i].start))
			continue;
		if (!bd_header_parse(ps, h)) {
			found = i;
			break;
		}
	}
	if (found >= 0) {
		*vol_off = parts[found].start;
		*vol_len = MIN(parts[found].len, io->size - parts[found].start);
		snprintf(where, wherelen, "%s at offset %llu", parts[found].what,
			 (unsigned long long)parts[found].start);
		bd_info("%s: BitLocker volume found in %s", io->name, where);
		free(parts);
		return 0;
	}
	if (n > 0 && beyond)
		r = bd_err(BD_ERR_NOT_BITLOCKER, "%s is a disk image with %d partition(s); none of those inside "
			   "the image is BitLocker and %d start(s) beyond its end (%llu bytes): the BitLocker "
			   "partition is elsewhere or the image is truncated; give --offset if you know it",
			   io->name, n, beyond, (unsigned long long)io->size);
	else if (n > 0)
		r = bd_err(BD_ERR_NOT_BITLOCKER, "%s is a disk image with %d partition(s), none of which is "
			   "BitLocker; give --offset BYTES if the volume starts elsewhere", io->name, n);
	else
		r = bd_err(BD_ERR_NOT_BITLOCKER, "%s is not BitLocker: it holds %s", io->name,
			   plain ? plain : "no BitLocker signature, partition table or known file system");
	free(parts);
	return r;
}
