/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Metadata writer internals (lib/writer.c): the building blocks every command
 * that writes BitLocker metadata uses (format/encrypt now; protector add/remove,
 * suspend/resume, rotate later). Three layers:
 *
 *  (a) a growable byte buffer and a datum builder (nested datums: begin/end);
 *      one helper per datum shape Windows writes (format.md §3, §4, §5);
 *  (b) serialisation of one metadata block: block header + dataset + entries +
 *      padding + validation (CRC32 and the VMK-keyed AES-CCM SHA-256 datum), §2;
 *  (c) writing the three copies safely: one copy at a time, sync, read back and
 *      compare before the next.
 *
 * Every AES-CCM datum takes its nonce from a struct bd_nonce_src that holds the
 * dataset's NextNonceCounter (§2.6 rule 2): never build two datums with the
 * same source state.
 */
#ifndef BDKIT_WRITER_H
#define BDKIT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bdkit/fve.h"
#include "layout.h"

/* ---- constants of the format (format.md) ---- */
#define BD_META_AREA_SIZE   0x10000u  /* reserved bytes per metadata copy, v2 (§2.1) */
#define BD_BLOCK_HDR_SIZE   ((unsigned)FVE_BH_SIZE)      /* §2.2, layout.h */
#define BD_DATASET_HDR_SIZE ((unsigned)FVE_DS_HDR_SIZE)  /* §2.4, layout.h */
#define BD_VIRT_BYTES       0x2000u   /* relocated boot-sector bytes (16 x 512, 2 x 4096) */

enum bd_put_role {
	BD_R_PROPERTY = 0x0000,
	BD_R_VMK = 0x0002,
	BD_R_FVEK = 0x0003,
	BD_R_STARTUP_KEY = 0x0006,
	BD_R_DESCRIPTION = 0x0007,
	BD_R_EXPORTED_KEY = 0x000C,      /* the public-key protector's key blob (real sample) */
	BD_R_VIRTUALIZATION = 0x000F,
	BD_R_RECOVERY_KEY_BACKUP = 0x0012,
	BD_R_RECOVERY_STRETCH_BACKUP = 0x0013,
	BD_R_VOLUME_GUID = 0x0019,
};
enum bd_put_type {
	BD_T_ERASED = 0x0000,
	BD_T_KEY = 0x0001,
	BD_T_UNICODE = 0x0002,
	BD_T_STRETCH_KEY = 0x0003,
	BD_T_USE_KEY = 0x0004,
	BD_T_AES_CCM = 0x0005,
	BD_T_VMK = 0x0008,
	BD_T_EXTERNAL_KEY = 0x0009,
	BD_T_ASYMMETRIC_KEY = 0x000C,
	BD_T_EXPORTED_KEY = 0x000D,
	BD_T_PUBLIC_KEY_INFO = 0x000E,
	BD_T_VIRTUALIZATION = 0x000F,
	BD_T_GUID = 0x0017,
};
enum bd_key_type {
	BD_KEY_RECOVERY = 0x1000,       /* recovery stretch; raw 16-byte recovery key */
	BD_KEY_PASSWORD = 0x1001,       /* password stretch */
	BD_KEY_CLEAR = 0x2000,
	BD_KEY_EXTERNAL = 0x2002,
	BD_KEY_VMK = 0x2003,
	BD_KEY_HASH = 0x2005,
	BD_KEY_PUBLIC_KEY = 0x2006,     /* K of a public-key protector */
	BD_KEY_PASSWORD_STRETCHED = 0x2007,
	BD_KEY_RECOVERY_STRETCHED = 0x2008,
};

/* ---- (a) buffer and datum builder ---- */

/* A growable buffer. Errors are sticky (err != 0 after the first failure), so a
 * sequence of puts can be checked once. Freed with a wipe: it may hold keys. */
struct bd_buf {
	uint8_t *data;
	size_t len, cap;
	int err;           /* 0 or BD_ERR_NOMEM / BD_ERR_INVALID */
};
void bd_buf_init(struct bd_buf *b);
void bd_buf_free(struct bd_buf *b);
void bd_buf_put(struct bd_buf *b, const void *p, size_t n);
void bd_buf_zero(struct bd_buf *b, size_t n);
void bd_buf_u16(struct bd_buf *b, uint16_t v);
void bd_buf_u32(struct bd_buf *b, uint32_t v);
void bd_buf_u64(struct bd_buf *b, uint64_t v);

/* Open a datum (header written with size 0); returns its start offset for bd_put_end. */
size_t bd_put_begin(struct bd_buf *b, uint16_t role, uint16_t type, uint16_t version);
/* Patch the size of the datum opened at start (sets err when it exceeds 0xFFFF). */
void bd_put_end(struct bd_buf *b, size_t start);

/* The AES-CCM nonce source: FILETIME + the dataset's NextNonceCounter (§4.2). */
struct bd_nonce_src {
	uint64_t filetime;   /* time part of every nonce taken */
	uint32_t next;       /* next unused counter (dataset NextNonceCounter) */
};
void bd_nonce_init(struct bd_nonce_src *ns, uint32_t next_counter);
/* Take the next nonce; validation = set bit 63 of the time as Windows does (§2.5). */
void bd_nonce_take(struct bd_nonce_src *ns, uint8_t nonce[12], bool validation);

uint64_t bd_filetime_now(void);
/* Random version-4 GUID in on-disk byte order. */
int bd_guid_generate(uint8_t guid[16]);

/* Leaf datums. */
void bd_put_unicode(struct bd_buf *b, uint16_t role, const char *utf8);
void bd_put_key(struct bd_buf *b, uint16_t role, uint16_t version, uint16_t key_type,
		  const uint8_t *key, size_t len);
void bd_put_guid(struct bd_buf *b, uint16_t role, const uint8_t guid[16]);
/* Role/type 0x000F, Windows 7 shape (offset + size, no extended info). */
void bd_put_virtualization(struct bd_buf *b, uint64_t offset, uint64_t size);
/* AES-CCM datum (type 5) holding KEY{key_type, key} encrypted with key32 (§4.2). */
void bd_put_ccm(struct bd_buf *b, uint16_t role, const uint8_t key32[32], struct bd_nonce_src *ns,
		  uint16_t key_type, const uint8_t *key, size_t len);

/* Top-level datums in the shapes Windows writes (format.md §4.1, §5). mtime: FILETIME. */
void bd_build_description(struct bd_buf *b, const char *utf8);
void bd_build_fvek(struct bd_buf *b, const uint8_t vmk[32], struct bd_nonce_src *ns, uint16_t method,
		   const uint8_t *fvek, size_t len);
/* Password protector: stretched = stretch(SHA256(SHA256(UTF-16LE(pw))), salt). */
void bd_build_vmk_password(struct bd_buf *b, const uint8_t guid[16], uint64_t mtime, const uint8_t vmk[32],
			   const uint8_t salt[16], const uint8_t stretched[32], struct bd_nonce_src *ns);
/* Recovery-password protector: key16 = the 16-byte recovery key, stretched = stretch(SHA256(key16), salt). */
void bd_build_vmk_recovery(struct bd_buf *b, const uint8_t guid[16], uint64_t mtime, const uint8_t vmk[32],
			   const uint8_t salt[16], const uint8_t key16[16], const uint8_t stretched[32],
			   struct bd_nonce_src *ns);
/* Startup-key (.BEK) protector around the 32-byte external key. */
void bd_build_vmk_startup_key(struct bd_buf *b, const uint8_t guid[16], uint64_t mtime, const uint8_t vmk[32],
			      const uint8_t ext_key[32], struct bd_nonce_src *ns);
/* Public-key (certificate) protector, the datums of the real Windows sample in its order
 * (doc/public-key-protector.md §4): rsa_ct = the RSA encryption of K for the certificate's key,
 * cng_blob = its "RSA1" public blob, cert_type 1 DRA / 2 user, thumbprint = SHA-1 of the certificate,
 * k32 = K (encrypted with the VMK inside USE_KEY 0x2006; the VMK is encrypted with K). */
void bd_build_vmk_certificate(struct bd_buf *b, const uint8_t guid[16], uint64_t mtime, const uint8_t vmk[32],
			      const uint8_t *rsa_ct, size_t ct_len, const uint8_t *cng_blob, size_t blob_len,
			      uint32_t cert_type, const uint8_t thumbprint[20], const uint8_t k32[32],
			      struct bd_nonce_src *ns);
/* Clear-key protector (suspended volume, datum version 3). */
void bd_build_vmk_clear_key(struct bd_buf *b, const uint8_t guid[16], uint64_t mtime, const uint8_t vmk[32],
			    const uint8_t clear_key[32], struct bd_nonce_src *ns);

/* The .BEK file (§4.6): Windows 10 layout when volume_guid is NULL (156 bytes),
 * Windows 11 layout (extra role-0x19 GUID datum) otherwise. */
void bd_build_bek_file(struct bd_buf *out, const uint8_t guid[16], uint64_t ctime, const uint8_t ext_key[32],
		       const uint8_t *volume_guid);
/* Windows' "BitLocker Recovery Key <ID>.TXT": UTF-16LE with BOM, CRLF lines.
 * name_out receives the file name (>= 64 bytes). */
void bd_build_recovery_key_txt(struct bd_buf *out, const uint8_t guid[16], const char *recovery_password,
			       char *name_out, size_t name_len);

/* ---- (b) one metadata block ---- */

struct bd_meta_header {
	uint16_t state, next_state;     /* 4/4 = encrypted */
	uint64_t state_offset;          /* encrypted size: the volume size when fully encrypted */
	uint32_t state_size;
	uint32_t virt_sectors;          /* relocated boot sectors */
	uint64_t offsets[3];            /* metadata copies, bytes from the volume start */
	uint64_t virt_offset;           /* where the relocated boot sectors are stored */
	uint8_t volume_guid[16];
	uint16_t method;                /* dataset 0x24 */
	uint16_t method2;               /* dataset 0x26: Windows 10 repeats the method, older volumes 0 */
	uint64_t ctime;                 /* dataset creation FILETIME */
};

/*
 * Serialise one v2 block into area (area_len bytes, normally BD_META_AREA_SIZE):
 * header + dataset header + entries + zero padding to 16, validation {size =
 * area_len - S, version 2, CRC32} and the integrity datum: AES-CCM with the VMK
 * (nonce from ns, time bit 63 set) of KEY{0x2005, SHA-256(block[0,S))}, or the
 * plain KEY datum when vmk is NULL (decrypted volumes). The rest is zeroed.
 * The dataset's NextNonceCounter is ns->next after the validation nonce was taken.
 * Returns 0, BD_ERR_INVALID when the entries do not fit.
 */
int bd_meta_serialise(const struct bd_meta_header *h, const uint8_t *entries, size_t entries_len,
		      const uint8_t *vmk, struct bd_nonce_src *ns, uint8_t *area, size_t area_len);

/* The 512-byte Windows 7+ "-FVE-FS-" volume header (§1.3). */
void bd_build_volume_header(uint8_t out[512], uint32_t sector_size, uint8_t sectors_per_cluster,
			    uint32_t hidden_sectors, const uint64_t offsets[3]);

/*
 * The 512-byte BitLocker To Go header (§1.4): jump EB 58 90, OEM "MSWIN4.1", a
 * FAT32 BPB for the whole volume (total_sectors), GUID_BITLOCKER at 0x1A8 and
 * the three offsets at 0x1B8/0x1C0/0x1C8. Windows also writes a readable FAT32
 * discovery file system (the To Go Reader) behind it; readers do not need it,
 * so the BPB says 0 reserved sectors and 0 FATs: nothing mounts a half-made FAT.
 */
void bd_build_togo_header(uint8_t out[512], uint32_t sector_size, uint8_t sectors_per_cluster,
			  uint32_t hidden_sectors, uint64_t total_sectors, const uint64_t offsets[3]);

/* ---- (c) writing the copies ---- */

/*
 * Write area to the three copies at base + offsets[k], one at a time in the
 * order given by order[] (NULL: 0,1,2): write, sync, read back and compare,
 * then the next. Stops at the first failure (BD_ERR_IO / BD_ERR_READONLY,
 * message names the copy) so at most one copy is ever in an unknown state.
 */
int bd_meta_write_copies(struct bd_io *io, uint64_t base, const uint64_t offsets[3], const uint8_t *area,
			 size_t area_len, const int order[3]);

#endif /* BDKIT_WRITER_H */
