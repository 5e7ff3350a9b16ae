/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * On-disk layouts of the FVE metadata, declared once (format.md §2.2 and §2.4) for the reader
 * (metadata.c, datum.c) and the writer (writer.c). Field names follow format.md, which uses
 * Windows' names where they are known. Offsets are in bytes from the start of the structure; every
 * field is little-endian.
 */
#ifndef BDKIT_LAYOUT_H
#define BDKIT_LAYOUT_H

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
