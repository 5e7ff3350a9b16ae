/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one place that recognises the file system inside a volume from its boot sector: used to check
 * a key (a right key decrypts the boot sector to one), to describe a plain volume, to size the file
 * system, to pick the mount helper and to report damage.
 *
 * Layouts: NTFS and FAT BIOS parameter block (bytes per sector at 0x0B, sectors per cluster 0x0D,
 * hidden sectors 0x1C; FAT: total sectors 0x13/0x20, type label 0x36 (FAT12/16) or 0x52 (FAT32),
 * FAT32 backup boot sector 0x32;
 * NTFS: total sectors 0x28, $MFT 0x30, $MFTMirr 0x38, serial 0x48), exFAT (Microsoft's exFAT
 * specification: PartitionOffset 0x40, VolumeLength 0x48, VolumeSerialNumber 0x64,
 * BytesPerSectorShift 0x6C, SectorsPerClusterShift 0x6D), ReFS (OEM "ReFS", "FSRS" at 0x10, sectors
 * 0x18, bytes per sector 0x20).
 */
#include <string.h>

#include "bdkit/fve.h"
#include "internal.h"

static bool is_fat(enum bd_fs_kind k)
{
	return k == BD_FS_FAT12 || k == BD_FS_FAT16 || k == BD_FS_FAT32 || k == BD_FS_FAT;
}

static enum bd_fs_kind kind_of(const uint8_t *bs)
{
	if (!memcmp(bs + 3, "NTFS    ", 8))
		return BD_FS_NTFS;
	if (!memcmp(bs + 3, "EXFAT   ", 8))
		return BD_FS_EXFAT;
	if (!memcmp(bs + 3, "ReFS\0\0\0\0", 8) && !memcmp(bs + 0x10, "FSRS", 4))
		return BD_FS_REFS;
	if (!memcmp(bs + 0x52, "FAT32   ", 8))
		return BD_FS_FAT32;
	if (!memcmp(bs + 0x36, "FAT12   ", 8))
		return BD_FS_FAT12;
	if (!memcmp(bs + 0x36, "FAT16   ", 8))
		return BD_FS_FAT16;
	if (!memcmp(bs + 0x36, "FAT", 3))
		return BD_FS_FAT;
	return BD_FS_UNKNOWN;
}

enum bd_fs_kind bd_fs_probe(const uint8_t *bs, size_t len, struct bd_fs_info *out)
{
	static const char *const names[] = {
		[BD_FS_UNKNOWN] = "", [BD_FS_NTFS] = "NTFS", [BD_FS_EXFAT] = "exFAT", [BD_FS_FAT12] = "FAT12",
		[BD_FS_FAT16] = "FAT16", [BD_FS_FAT32] = "FAT32", [BD_FS_FAT] = "FAT", [BD_FS_REFS] = "ReFS",
	};
	struct bd_fs_info *f = out;

	memset(f, 0, sizeof(*f));
	f->name = "";
	if (!bs || len < 512)
		return BD_FS_UNKNOWN;
	f->kind = kind_of(bs);
	f->name = names[f->kind];
	f->boot_signature = bs[510] == 0x55 && bs[511] == 0xAA;
	f->jump = bs[0] == 0xEB || bs[0] == 0xE9;
	f->dos_oem = !memcmp(bs + 3, "MSDOS5.0", 8) || !memcmp(bs + 3, "MSWIN4.1", 8);
	f->valid = f->boot_signature && (f->kind == BD_FS_NTFS || f->kind == BD_FS_EXFAT || is_fat(f->kind) ||
					 f->dos_oem);

	switch (f->kind) {
	case BD_FS_NTFS: {
		unsigned b = bs[13], sh = 256u - b;
		f->bytes_per_sector = le16(bs + 11);
		f->sectors_per_cluster = b <= 0x80 ? b : sh <= 12 ? 1u << sh : 0;
		f->total_sectors = le64(bs + 0x28);
		f->hidden_sectors = le32(bs + 0x1C);
		f->size = (f->total_sectors + 1) * f->bytes_per_sector;
		f->mft_lcn = le64(bs + 0x30);
		f->mftmirr_lcn = le64(bs + 0x38);
		f->backup_boot_sector = f->total_sectors;
		f->serial = le64(bs + 0x48);
		break;
	}
	case BD_FS_EXFAT: {
		uint8_t shift = bs[0x6C], cshift = bs[0x6D];
		f->bytes_per_sector = shift >= 9 && shift <= 12 ? 1u << shift : 0;
		f->sectors_per_cluster = shift + cshift <= 25 ? 1u << cshift : 0;
		f->total_sectors = le64(bs + 0x48);
		f->hidden_sectors = le64(bs + 0x40);
		f->size = f->total_sectors << (shift & 31);
		f->serial = le32(bs + 0x64);
		f->backup_boot_sector = 12;  /* the backup boot region follows the main one */
		break;
	}
	case BD_FS_REFS:
		f->bytes_per_sector = le32(bs + 0x20);
		f->total_sectors = le64(bs + 0x18);
		f->size = f->total_sectors * f->bytes_per_sector;
		break;
	default:  /* FAT, or an unknown file system with a FAT-style BPB */
		f->bytes_per_sector = le16(bs + 11);
		f->sectors_per_cluster = bs[13];
		f->total_sectors = le16(bs + 0x13) ? le16(bs + 0x13) : le32(bs + 0x20);
		f->hidden_sectors = le32(bs + 0x1C);
		if (f->bytes_per_sector >= 512 && f->jump)
			f->size = f->total_sectors * f->bytes_per_sector;
		if (f->kind == BD_FS_FAT32) {
			f->serial = le32(bs + 0x43);
			f->backup_boot_sector = le16(bs + 0x32);
		}
		else if (is_fat(f->kind))
			f->serial = le32(bs + 0x27);
		break;
	}
	return f->kind;
}
