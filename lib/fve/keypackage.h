/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Key package container (keypackage.c), also read by repair.c and unlock.c; not public. */
#ifndef BDKIT_KEYPACKAGE_H
#define BDKIT_KEYPACKAGE_H

#include "volume.h"

#define BD_KP_MAGIC "BDKITKP"          /* 8 bytes with the NUL */
#define BD_KP_VERSION 1
#define BD_KP_HDR_SIZE 32

enum bd_kp_record {
	BD_KPR_END = 0,
	BD_KPR_VOLUME = 1,       /* GUID and geometry, 96 bytes */
	BD_KPR_METADATA = 2,     /* u32 area size, u32 stored length, block bytes */
	BD_KPR_HEADER = 3,       /* the volume header sector */
	BD_KPR_DESCRIPTION = 4,  /* UTF-8, informational */
	BD_KPR_AREA = 5,         /* backup: u32 index (0-2 copy, 3 header), u32 status, u64 offset, bytes */
	BD_KPR_TOOL = 6,         /* UTF-8 name and version of the writer */
};

/* A parsed key package; pointers go into the caller's buffer. */
struct bd_kp {
	struct bd_keypackage_info info;
	const uint8_t *block;    /* metadata block bytes (trailing zeros may be trimmed) */
	size_t block_len;
	uint32_t area_size;      /* the area it fills (zero-padded) */
	const uint8_t *header;   /* volume header sector, or NULL */
	size_t header_len;
	const uint8_t *area[4];  /* backup: copies 0-2 and the header (3) */
	size_t area_len[4];
	uint64_t area_off[4];
};

/* 0, BD_ERR_CORRUPT (damaged bdkit file) or BD_ERR_UNSUPPORTED (nothing recognisable); message set. */
int bd_kp_parse(const uint8_t *buf, size_t len, struct bd_kp *kp);
/* The block as a full area (malloc()ed, area_size bytes, zero padded). */
int bd_kp_block_area(const struct bd_kp *kp, uint8_t **area, size_t *len);

#endif /* BDKIT_KEYPACKAGE_H */
