/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * On-disk layouts of the FVE metadata, declared once (format.md §2.2 and §2.4) for the reader
 * (metadata.c, datum.c) and the writer (writer.c). Field names follow format.md, which uses
 * Windows' names where they are known. Offsets are in bytes from the start of the structure; every
 * field is little-endian.
 */
#ifndef BDKIT_LAYOUT_H
#define BDKIT_LAYOUT_H

/* The volume header (format.md §1): the first 512 bytes of the volume, a boot sector BitLocker rewrote.
 * Windows 7 and later (§1.3) keep the information-offset GUID at FVE_VH_GUID; To Go on FAT (§1.4) at
 * FVE_VH_TOGO_GUID; readers search the whole sector for it (§1.1). What follows the GUID is at fixed
 * distances from it (FVE_VH_REL_*). Vista (§1.2) has no GUID: its first metadata block is a cluster number. */
enum bd_fve_volume_header {
	FVE_VH_JUMP = 0x00,                   /* 3: EB 58 90 (Vista EB 52 90) */
	FVE_VH_OEM = 0x03,                    /* 8: "-FVE-FS-", or "MSWIN4.1" on To Go */
	FVE_VH_BYTES_PER_SECTOR = 0x0B,       /* 2: 0 on some exFAT To Go volumes (means 512) */
	FVE_VH_SECTORS_PER_CLUSTER = 0x0D,    /* 1 */
	FVE_VH_MEDIA = 0x15,                  /* 1: F8 */
	FVE_VH_SECTORS_PER_TRACK = 0x18,      /* 2: 3F */
	FVE_VH_HEADS = 0x1A,                  /* 2: FF */
	FVE_VH_HIDDEN_SECTORS = 0x1C,         /* 4: partition start LBA */
	FVE_VH_TOTAL_SECTORS32 = 0x20,        /* 4: FAT total sectors (To Go) */
	FVE_VH_FAT32_SECTORS_PER_FAT = 0x24,  /* 4: E0 1F 00 00 */
	FVE_VH_FAT32_ROOT_CLUSTER = 0x2C,     /* 4: To Go */
	FVE_VH_FAT32_FSINFO = 0x30,           /* 2: 1 */
	FVE_VH_FAT32_BACKUP_BOOT = 0x32,      /* 2: 6 */
	FVE_VH_VISTA_METADATA_LCN = 0x38,     /* 8: Vista: cluster of metadata block 1 (NTFS's MFT-mirror LCN) */
	FVE_VH_DRIVE_NUMBER = 0x40,           /* 1: 80 */
	FVE_VH_BOOT_SIGNATURE = 0x42,         /* 1: 29 */
	FVE_VH_VOLUME_LABEL = 0x47,           /* 11: "NO NAME    " */
	FVE_VH_FS_TYPE = 0x52,                /* 8: "FAT32   " */
	FVE_VH_BOOT_CODE = 0x5A,              /* 70 */
	FVE_VH_GUID = 0xA0,                   /* 16: GUID_BITLOCKER or GUID_EOW (Windows 7 and later) */
	FVE_VH_BOOT_MESSAGE = 0x100,          /* bdkit's own header: the text the boot code prints */
	FVE_VH_TOGO_GUID = 0x1A8,             /* 16: To Go on FAT */
	FVE_VH_SIGNATURE_55AA = 0x1FE,        /* 2: 55 AA */
	FVE_VH_SIZE = 0x200,
	/* from the GUID: */
	FVE_VH_REL_METADATA_OFFSET = 0x10,    /* 3 x 8: byte offsets of the three metadata blocks */
	FVE_VH_REL_EOW_OFFSET = 0x28,         /* 2 x 8: EOW information copies (GUID_EOW only) */
	FVE_VH_REL_END = 0x38,                /* the GUID and what follows it */
};

/* FVE metadata block header (§2.2): the first 64 bytes of every metadata copy, v1 and v2. */
enum bd_fve_block_header {
	FVE_BH_SIGNATURE = 0x00,              /* 8: "-FVE-FS-" */
	FVE_BH_HEADER_SIZE = 0x08,            /* 2: bytes covered by CRC32/SHA-256: v2 in 16-byte units, v1 in bytes */
	FVE_BH_VERSION = 0x0A,                /* 2: 1 (Vista) or 2 (Windows 7 and later) */
	FVE_BH_CURRENT_STATE = 0x0C,          /* 2: §2.3 */
	FVE_BH_NEXT_STATE = 0x0E,             /* 2 */
	FVE_BH_STATE_OFFSET = 0x10,           /* 8: conversion watermark (encrypted volume size) */
	FVE_BH_STATE_SIZE = 0x18,             /* 4: conversion scratch area */
	FVE_BH_VIRTUALIZED_SECTORS = 0x1C,    /* 4: relocated boot sectors */
	FVE_BH_METADATA_OFFSET = 0x20,        /* 3 x 8: offsets of the three copies */
	FVE_BH_VIRTUALIZED_BLOCK_OFFSET = 0x38, /* 8: where the original first sectors went (v1: $MFTMirr LCN) */
	FVE_BH_SIZE = 0x40,
};

/* The dataset ("FVE metadata header", §2.4) right after the block header; also the whole of a .BEK. */
enum bd_fve_dataset_header {
	FVE_DS_SIZE = 0x00,                   /* 4: header and entries, without padding */
	FVE_DS_VERSION = 0x04,                /* 4: 1 */
	FVE_DS_START_OFFSET = 0x08,           /* 4: first entry (0x30) */
	FVE_DS_END_OFFSET = 0x0C,             /* 4: end of the entries (= Size) */
	FVE_DS_VOLUME_GUID = 0x10,            /* 16 */
	FVE_DS_NEXT_NONCE_COUNTER = 0x20,     /* 4: next unused AES-CCM nonce counter */
	FVE_DS_METHOD = 0x24,                 /* 2: encryption method (0 when decrypted) */
	FVE_DS_METHOD2 = 0x26,                /* 2: a copy of the method or 0 */
	FVE_DS_CREATION_TIME = 0x28,          /* 8: FILETIME */
	FVE_DS_HDR_SIZE = 0x30,
};

#endif /* BDKIT_LAYOUT_H */
