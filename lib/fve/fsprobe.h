/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one file-system probe (fsprobe.c). Moves to the public header with the header split. */
#ifndef BDKIT_FSPROBE_H
#define BDKIT_FSPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bd_fs_kind {
	BD_FS_UNKNOWN = 0,
	BD_FS_NTFS,
	BD_FS_EXFAT,
	BD_FS_FAT12,
	BD_FS_FAT16,
	BD_FS_FAT32,
	BD_FS_FAT,     /* a FAT BPB whose type label ("FAT     ", ...) names no width */
	BD_FS_REFS,
};

/* What a file system's boot sector (its first sector, at least 512 bytes) says about it. */
struct bd_fs_info {
	enum bd_fs_kind kind;        /* by the signature strings alone (OEM name, FAT type label) */
	const char *name;            /* "NTFS", "exFAT", "FAT12", "FAT16", "FAT32", "FAT", "ReFS", "" */
	bool boot_signature;         /* 0x55 0xAA at byte 510 */
	bool jump;                   /* starts with a jump instruction (0xEB or 0xE9) */
	bool dos_oem;                /* OEM name "MSDOS5.0" or "MSWIN4.1" (what FAT formatters write) */
	bool valid;                  /* a file-system header: boot signature and an NTFS, exFAT or FAT
	                              * signature (or a DOS OEM name); ReFS is recognised but not counted */
	uint32_t bytes_per_sector;   /* as the boot sector says (exFAT: 512-4096 or 0), unchecked */
	uint32_t sectors_per_cluster;/* decoded (NTFS 2^-n form, exFAT shift), 0 when out of range */
	uint64_t total_sectors;      /* NTFS: without the backup boot sector; FAT: the 16- or 32-bit count */
	uint64_t hidden_sectors;     /* sectors before the file system (exFAT: PartitionOffset) */
	uint64_t size;               /* bytes the file system spans (NTFS with its backup boot sector),
	                              * 0 when the boot sector does not say */
	uint64_t serial;             /* volume serial number (NTFS 64-bit, FAT and exFAT 32-bit), 0 if none (ReFS) */
	uint64_t mft_lcn, mftmirr_lcn; /* NTFS: clusters of $MFT and $MFTMirr */
};

/* Probe the boot sector bs[0..len). Fills *out (zeroed first) and returns its kind; a buffer under
 * 512 bytes is BD_FS_UNKNOWN. Never fails, never reads past len. */
enum bd_fs_kind bd_fs_probe(const uint8_t *bs, size_t len, struct bd_fs_info *out);

#endif /* BDKIT_FSPROBE_H */
