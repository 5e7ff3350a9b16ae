/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The volume handle's insides, shared by volume.c, protector.c and eow.c (not public). */
#ifndef BDKIT_VOLUME_H
#define BDKIT_VOLUME_H

#include <pthread.h>

#include "crypto.h"
#include "header.h"
#include "metadata.h"
#include "method.h"

/* One protector (VMK entry) of the metadata copy in use. */
struct bd_prot {
	struct bd_datum datum;     /* points into the used copy's buffer */
	struct bd_protector_info info;
};

/* A byte range of the volume. */
struct bd_range {
	uint64_t start, len;
};

/* Encrypt-on-write bitmaps (eow.c, format.md §7.2). */
struct bd_eow {
	uint32_t chunk_size;
	size_t n_regions;
	struct bd_eow_region {
		uint64_t offset, size;
		uint8_t *bits;          /* 1 = chunk encrypted */
		size_t nbits;
	} *regions;
	struct bd_range *reserved;  /* info copies, bitmap blocks, conversion logs */
	size_t n_reserved;
};

struct bd_volume {
	struct bd_io *io;
	uint64_t off;              /* volume start in io */
	uint64_t len;              /* bytes of io from off on that belong to the volume */
	int writable;
	int ignore_integrity;      /* bd_open_opts.ignore_integrity */
	char where[128];
	struct bd_header hdr;
	struct bd_metadata meta[3];
	int used;                  /* index into meta of the copy in use */
	struct bd_prot *prot;
	size_t n_prot;
	char description[256];
	uint32_t ss;               /* sector size */
	uint64_t size;             /* presented size */
	uint64_t watermark;        /* the metadata's conversion watermark, rounded down to a sector */
	uint64_t virt_off, virt_size;  /* relocated boot sectors (v2) */
	struct bd_range *reserved; /* read as zeros; sector-aligned, within the volume, sorted, disjoint */
	size_t n_reserved;
	struct bd_eow *eow;        /* NULL: no usable bitmaps */
	int eow_zero_plain;        /* EOW volume without bitmaps: all-zero sectors are plain */
	int virt_plain;            /* EOW without bitmaps: relocated boot sectors found in plain text */
	/* after unlock */
	int unlocked;
	int unlocked_with;         /* enum bd_unlock_with */
	uint8_t unlock_guid[16];   /* the protector that opened it (BD_UNLOCKED_PROTECTOR) */
	uint16_t unlock_type;
	int hash_verified;
	int unverified;            /* BD_UNVERIFIED_*: what ignore_integrity let through */
	struct bd_secret *vmk;     /* 32 bytes, NULL when unlocked by FVEK */
	struct bd_secret *fvek;
	uint16_t method;
	struct bd_sector_cipher *cipher;
	uint8_t vista_bs[512];     /* patched boot sector (v1) */
};

static inline const struct bd_metadata *bd_vol_meta(const struct bd_volume *v) { return &v->meta[v->used]; }

/* volume.c, for repair.c: open from a metadata block held in memory (copied) read as if from
 * block_off, with a given (possibly rebuilt) header. Takes ownership of io even on failure. */
int bd_volume_open_block(struct bd_io *io, const struct bd_open_opts *opts, const struct bd_header *hdr,
			 uint64_t vol_off, uint64_t vol_len, const char *where, const uint8_t *block,
			 size_t block_len, uint64_t block_off, bd_volume **out);
/* volume.c: take a VMK (verified elsewhere or not), decrypt the FVEK and make the view readable.
 * BD_ERR_WRONG_KEY when the FVEK does not decrypt with it. */
int bd_volume_set_vmk(struct bd_volume *v, const uint8_t vmk[32]);
/* volume.c, for the memory key search: a sector of the volume whose plaintext is known in
 * shape, still encrypted, with the physical offset that keys its IV/tweak. */
enum bd_probe_kind {
	BD_PROBE_BOOT = 1,   /* the (relocated) boot sector: a file-system boot sector or all zeros */
	BD_PROBE_MFT = 2,    /* Vista: the first $MFT record, "FILE" */
};
struct bd_key_probe {
	uint16_t method;
	uint32_t ss;
	uint64_t phys;
	int kind;
	uint8_t sector[4096];
	/* the encrypted FVEK (VMK check) */
	int has_fvek_datum;
	uint8_t nonce[12], tag[16], ct[256];
	size_t ctlen;
};
int bd_volume_key_probe(struct bd_volume *v, struct bd_key_probe *p);
/*
 * Secret to VMK (protector.c): one step per protector kind, shared by bd_unlock (unlock.c), escrow
 * matching (escrow.c) and the recovery-password search (rpsearch.c). Each writes the 32-byte VMK of
 * protector p into vmk (the caller wipes it) or returns BD_ERR_WRONG_KEY (the secret does not open
 * p) or BD_ERR_CORRUPT (the protector lacks a datum; message set). None changes the volume:
 * bd_prot_open hands a VMK to it. A new protector kind adds its bd_vmk_<kind> here.
 */
/* The salt and encrypted-VMK datum of a stretched-key protector (recovery password, password). */
int bd_prot_stretch_parts(const struct bd_prot *p, const uint8_t **salt, struct bd_datum *ccm);
/* The VMK from an encrypted-VMK datum and its 32-byte intermediate key (key_id: for messages). */
int bd_vmk_unbox(const struct bd_datum *ccm, const uint8_t key[32], const char *key_id, uint8_t vmk[32]);
/* 0x0800 recovery password and 0x2000 password: initial = bd_recovery_key_hash / bd_password_hash. */
int bd_vmk_stretched(const struct bd_prot *p, const uint8_t initial[32], uint8_t vmk[32]);
/* 0x0200 external key: the 32-byte key of a .BEK file. */
int bd_vmk_external(const struct bd_prot *p, const uint8_t key[32], uint8_t vmk[32]);
/* 0x0000 clear key: the key stored beside the VMK. */
int bd_vmk_clear(const struct bd_prot *p, uint8_t vmk[32]);
/* Unlock v with the VMK that p gave (records p as the protector used); p may be stale after. */
int bd_prot_open(struct bd_volume *v, const struct bd_prot *p, const uint8_t vmk[32]);
/* 0x1000 (lib/pkprotector.c): private key -> VMK. BD_ERR_WRONG_KEY without any RSA operation when the
 * key is not this protector's (res->matched 0); res also says which padding and byte order worked. */
struct bd_pk_result {
	int matched, padding, reversed;
	uint8_t thumbprint[64];
	size_t thumbprint_len;
};
int bd_vmk_pubkey(const struct bd_prot *p, struct bd_privkey *k, uint8_t vmk[32], struct bd_pk_result *res);
/* protector.c: fill v->prot from the used copy. */
int bd_protectors_load(struct bd_volume *v);
const char *bd_protector_type_name(uint16_t type);

/* eow.c: read EOW information and bitmaps; 0 with v->eow set, or negative (message set). */
int bd_eow_load(struct bd_volume *v);
void bd_eow_free(struct bd_eow *e);
/* Is the chunk holding physical byte offset p encrypted? *run = bytes from p with the same answer. */
int bd_eow_encrypted(const struct bd_eow *e, uint64_t p, uint64_t *run);

#endif /* BDKIT_VOLUME_H */
