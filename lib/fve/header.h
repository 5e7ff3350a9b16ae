/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Volume header detection (format.md §1): the boot sector BitLocker rewrote,
 * and finding that boot sector in a bare volume or in an MBR/GPT disk image.
 */
#ifndef BDKIT_HEADER_H
#define BDKIT_HEADER_H

#include <stdint.h>

#include "bdkit/fve.h"
#include "internal.h"

enum bd_header_kind {
	BD_HDR_V2 = 1,    /* Windows 7+ "-FVE-FS-" header, metadata version 2 (§1.3) */
	BD_HDR_VISTA,     /* Windows Vista "-FVE-FS-" NTFS-like header, version 1 (§1.2) */
	BD_HDR_TOGO,      /* BitLocker To Go FAT/exFAT discovery volume (§1.4) */
};

/* On-disk (bytes_le) forms of the two header GUIDs (§1.1). */
extern const uint8_t bd_guid_bitlocker[16];
extern const uint8_t bd_guid_eow[16];

struct bd_header {
	int kind;                  /* enum bd_header_kind */
	int eow;                   /* the GUID found is GUID_EOW */
	uint32_t sector_size;      /* bytes per sector (0 on disk -> 512) */
	uint32_t sectors_per_cluster;
	uint64_t meta_off[3];      /* metadata block offsets from the volume start (Vista: only [0]) */
	uint64_t eow_off[2];       /* EOW information copies (eow only) */
	uint32_t guid_pos;         /* where the GUID was found in the sector (0 for Vista) */
	uint8_t raw[512];          /* the sector as read */
};

/*
 * Parse a volume's first 512 bytes. 0 when it is a BitLocker header (h filled),
 * BD_ERR_NOT_BITLOCKER otherwise (no message set: callers phrase it).
 */
int bd_header_parse(const uint8_t bs[512], struct bd_header *h);

/* Describe a non-BitLocker boot sector ("NTFS file system", "FAT32", ...) or NULL. */
const char *bd_header_describe_plain(const uint8_t bs[512]);

/*
 * Find the BitLocker volume in io. offset >= 0: the volume starts there (must hold a
 * BitLocker header). offset < 0: try byte 0, then MBR (incl. extended) and GPT partitions.
 * On success *vol_off / *vol_len give the volume's place in io (vol_len clamped to io) and
 * `where` describes it ("partition 2 (GPT) at 1048576"). Errors: BD_ERR_NOT_BITLOCKER
 * with a message that says what the input holds instead, BD_ERR_IO, BD_ERR_TRUNCATED.
 */
int bd_header_locate(struct bd_io *io, int64_t offset, struct bd_header *h, uint64_t *vol_off,
		     uint64_t *vol_len, char *where, size_t wherelen);

#endif /* BDKIT_HEADER_H */
