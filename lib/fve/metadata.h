/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FVE metadata blocks (format.md §2) and datums (§3).
 * metadata.c reads, checks and parses one block; datum.c walks datums.
 * Everything here only points into the caller's buffers; nothing is trusted
 * beyond the bounds of its parent.
 */
#ifndef BDKIT_METADATA_H
#define BDKIT_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bdkit/fve.h"
#include "internal.h"
#include "layout.h"

/* ---- datums (datum.c) ---- */

enum bd_datum_type {
	BD_DT_ERASED = 0x0000, BD_DT_KEY = 0x0001, BD_DT_UNICODE = 0x0002, BD_DT_STRETCH_KEY = 0x0003,
	BD_DT_USE_KEY = 0x0004, BD_DT_AES_CCM = 0x0005, BD_DT_TPM_ENCODED = 0x0006,
	BD_DT_VALIDATION = 0x0007, BD_DT_VMK = 0x0008, BD_DT_EXTERNAL_KEY = 0x0009,
	BD_DT_UPDATE = 0x000A, BD_DT_ERROR = 0x000B, BD_DT_ASYMMETRIC_KEY = 0x000C,
	BD_DT_EXPORTED_KEY = 0x000D, BD_DT_PUBLIC_KEY_INFO = 0x000E, BD_DT_VIRTUALIZATION = 0x000F,
	BD_DT_SIMPLE_1 = 0x0010, BD_DT_SIMPLE_2 = 0x0011, BD_DT_CONCAT_HASH_KEY = 0x0012,
	BD_DT_SIMPLE_3 = 0x0013, BD_DT_SIMPLE_LARGE = 0x0014, BD_DT_BACKUP_INFO = 0x0015,
	BD_DT_GUID = 0x0017, BD_DT_HINT = 0x0018,
};

enum bd_datum_role {
	BD_ROLE_PROPERTY = 0x0000, BD_ROLE_VMK = 0x0002, BD_ROLE_FVEK = 0x0003,
	BD_ROLE_VALIDATION = 0x0004, BD_ROLE_STARTUP_KEY = 0x0006, BD_ROLE_DESCRIPTION = 0x0007,
	BD_ROLE_AUTO_UNLOCK = 0x000B, BD_ROLE_FVEK_2 = 0x000C, BD_ROLE_VIRTUALIZATION = 0x000F,
	BD_ROLE_VOLUME_GUID = 0x0019,
};

/* One datum inside a buffer. raw points at its 8-byte header; size <= bytes the parent holds. */
struct bd_datum {
	const uint8_t *raw;
	uint16_t size, role, type, version;
};

/* Fixed part size (including the 8-byte header) of a datum type; 8 for unknown types. */
size_t bd_datum_fixed_size(uint16_t type);
/* Does the type carry nested datums after its fixed part? */
bool bd_datum_is_nested(uint16_t type);
/* Short name of a type ("KEY", "VMK", ...), "unknown" otherwise. */
const char *bd_datum_type_name(uint16_t type);

/* Iterator over a run of datums [p, p+len). */
struct bd_datum_iter {
	const uint8_t *p;
	size_t len, pos;
};
void bd_datum_iter_init(struct bd_datum_iter *it, const uint8_t *p, size_t len);
/* Children of a nested datum (empty run for non-nested or too-short datums). */
void bd_datum_iter_children(struct bd_datum_iter *it, const struct bd_datum *d);
/*
 * Next datum: 1 and *d filled, 0 at the end (fewer than 8 bytes left or a size-0
 * terminator), BD_ERR_CORRUPT if a size is < 8 or runs past the parent (message set).
 * Datums of unknown type are returned too; callers skip what they do not know.
 */
int bd_datum_next(struct bd_datum_iter *it, struct bd_datum *d);
/* First datum in the run with this role and type (role or type -1: any). 1 found, 0 not. */
int bd_datum_find(const uint8_t *p, size_t len, int role, int type, struct bd_datum *out);
/* Same among a nested datum's direct children. */
int bd_datum_find_child(const struct bd_datum *parent, int role, int type, struct bd_datum *out);

/* Body accessors with bounds checks. Return 0 or BD_ERR_CORRUPT (message set). */
/* KEY: key type, key bytes. */
int bd_datum_key(const struct bd_datum *d, uint16_t *key_type, const uint8_t **key, size_t *keylen);
/* UNICODE: to UTF-8. */
void bd_datum_unicode(const struct bd_datum *d, char *out, size_t outlen);
/* STRETCH_KEY: key type and 16-byte salt. */
int bd_datum_stretch(const struct bd_datum *d, uint16_t *key_type, const uint8_t **salt);
/* AES_CCM: nonce (12), mac (16), ciphertext. */
int bd_datum_ccm(const struct bd_datum *d, const uint8_t **nonce, const uint8_t **mac,
		 const uint8_t **ct, size_t *ctlen);
/* VMK: protector GUID, FILETIME, protection type. */
int bd_datum_vmk(const struct bd_datum *d, const uint8_t **guid, uint64_t *mtime, uint16_t *prot);
/* EXTERNAL_KEY: GUID, FILETIME. */
int bd_datum_external(const struct bd_datum *d, const uint8_t **guid, uint64_t *mtime);
/* VIRTUALIZATION_INFO: offset, size. */
int bd_datum_virtualization(const struct bd_datum *d, uint64_t *offset, uint64_t *size);
/* TPM_ENCODED: the PCR bitmap (first u32). */
int bd_datum_tpm_pcrs(const struct bd_datum *d, uint32_t *pcr_mask);

/*
 * Decrypt an AES-CCM datum with a 32-byte key (§4.2) into a KEY payload.
 * out must hold the ciphertext length; on success key_type, key and keylen point into out.
 * BD_ERR_WRONG_KEY when the tag fails, BD_ERR_CORRUPT when the payload is not a KEY datum.
 */
int bd_datum_ccm_unbox(const struct bd_datum *d, const uint8_t key32[32], uint8_t *out, size_t outlen,
		       uint16_t *key_type, const uint8_t **key, size_t *keylen);

/* Check that a run of datums (recursively) is well formed: 0 or BD_ERR_CORRUPT (message set). */
int bd_datum_validate(const uint8_t *p, size_t len, int depth);

/* ---- dataset header (§2.4; also the body of .BEK files) ---- */

struct bd_dataset {
	uint32_t size, version, start, end;
	uint8_t guid[16];
	uint32_t next_nonce;
	uint16_t method;
	uint64_t ctime;
	const uint8_t *entries;    /* [start, end) of the dataset */
	size_t entries_len;
};
/* Parse a dataset at p (len bytes available). 0 or BD_ERR_CORRUPT (message set). */
int bd_dataset_parse(const uint8_t *p, size_t len, struct bd_dataset *ds);

/* ---- metadata block (metadata.c) ---- */

#define BD_META_AREA_V2 0x10000u   /* bytes read per copy */

struct bd_metadata {
	uint8_t *buf;              /* the copy as read (owned), buf_len bytes */
	size_t buf_len;
	uint64_t offset;           /* where this copy was read, from the volume start */
	int status;                /* enum bd_copy_status */
	/* block header (§2.2) */
	uint16_t version;          /* 1 Vista, 2 Win7+ */
	size_t covered;            /* S: bytes covered by CRC32 / SHA-256 */
	uint16_t cur_state, next_state;
	uint64_t state_offset;
	uint32_t state_size;
	uint32_t virt_sectors;
	uint64_t copy_off[3];
	uint64_t virt_offset;      /* v2: relocated boot sectors; v1: MFT mirror LCN */
	struct bd_dataset ds;      /* points into buf */
	/* validation (§2.5) */
	uint32_t crc_stored;
	const uint8_t *integrity;  /* integrity datum (AES-CCM or plain KEY), or NULL */
	size_t integrity_len;
};

/*
 * Read and check the copy at `copy_off` (relative to vol_off) of io.
 * Always fills m->status; returns 0 when the copy is usable (status OK), else
 * a negative code with a message. m->buf is allocated whenever the read worked
 * (free with bd_metadata_free even on failure).
 */
int bd_metadata_read(struct bd_io *io, uint64_t vol_off, uint64_t copy_off, struct bd_metadata *m);
/* Parse and check a block held in memory (buf is copied). Same contract. */
int bd_metadata_parse(const uint8_t *buf, size_t len, uint64_t copy_off, struct bd_metadata *m);
void bd_metadata_free(struct bd_metadata *m);
/*
 * The VMK-keyed SHA-256 check of §2.5. 0: the hash matches; BD_ERR_CORRUPT: it does
 * not (or the integrity datum is unusable); BD_ERR_UNSUPPORTED: no integrity datum.
 */
int bd_metadata_verify_hash(const struct bd_metadata *m, const uint8_t vmk[32]);

/* ---- protectors and .BEK files (protector.c) ---- */

/* A parsed .BEK startup key file (§4.6). */
struct bd_bek {
	uint8_t guid[16];          /* protector GUID it belongs to */
	uint8_t key[32];           /* external key */
	uint64_t ctime;
	int has_volume_guid;       /* Windows 11 layout: volume GUID datum present */
	uint8_t volume_guid[16];
};
/* 0 or BD_ERR_CORRUPT / BD_ERR_INVALID (message says what is wrong with the file). */
int bd_bek_parse(const uint8_t *buf, size_t len, struct bd_bek *out);

#endif /* BDKIT_METADATA_H */
