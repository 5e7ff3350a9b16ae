/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbdkit: the BitLocker (FVE) format: open, unlock (the door), read, write, create,
 * manage protectors, repair, key packages, key files.
 * Part of the public API; <bdkit/bdkit.h> includes every wing header (conventions there).
 */
#ifndef BDKIT_FVE_H
#define BDKIT_FVE_H

#include <stdbool.h>

#include "base.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* Volumes: open, inspect, unlock, read, write                           */
/* ===================================================================== */

typedef struct bd_volume bd_volume;

struct bd_open_opts {
	size_t size;  /* sizeof(struct bd_open_opts): set by BD_OPEN_OPTS_INIT(...) */
	int64_t offset;     /* byte offset of the BitLocker volume in the input; -1 = detect */
	int writable;       /* open the source read-write (only for commands that write) */
	/* Salvage: unlock although no metadata copy passes its VMK-keyed SHA-256, although a raw
	 * FVEK cannot be checked against the data, or although metadata that says the volume is
	 * partly plain cannot be verified (raw FVEK). Without it those unlocks fail with
	 * BD_ERR_CORRUPT. bd_info.unverified then says what was trusted unchecked. */
	int ignore_integrity;
};
#define BD_OPEN_OPTS_INIT(...) { .size = sizeof(struct bd_open_opts), __VA_ARGS__ }

/* Open a bare volume, or a whole disk (MBR/GPT partitions are scanned). */
int bd_volume_open(const char *path, const struct bd_open_opts *opts, bd_volume **out);
/* Same over an io the caller made; the volume takes ownership of io even on failure. */
int bd_volume_open_io(struct bd_io *io, const struct bd_open_opts *opts, bd_volume **out);
void bd_volume_close(bd_volume *v);

enum bd_copy_status {
	BD_COPY_OK = 0,
	BD_COPY_UNREADABLE,      /* I/O error or beyond the end of the input */
	BD_COPY_BAD_SIGNATURE,   /* no -FVE-FS- block there */
	BD_COPY_BAD_CRC,         /* CRC32 mismatch */
	BD_COPY_BAD_HASH,        /* CRC fine but the VMK-keyed SHA-256 does not match */
	BD_COPY_BAD_STRUCTURE,   /* sizes or datums inconsistent */
};
const char *bd_copy_status_name(int status);

struct bd_info {
	int meta_version;          /* 1 = Vista, 2 = Windows 7 and later */
	int to_go;                 /* BitLocker To Go (FAT/exFAT discovery volume header) */
	int eow;                   /* encrypt-on-write bitmaps are in use */
	uint16_t method;           /* 0x8000..0x8005, 0 when decrypted */
	const char *method_name;   /* "AES-XTS-128", ... */
	uint16_t state, next_state;
	const char *state_name;    /* "encrypted", "decrypted", "paused", ... */
	uint64_t offset;           /* where the volume starts in the input */
	uint64_t size;             /* bytes presented by the decrypted view */
	uint64_t encrypted_size;   /* conversion watermark (StateOffset) */
	uint32_t sector_size;
	uint8_t guid[16];          /* volume GUID */
	char description[256];     /* UTF-8 */
	uint64_t creation_time;    /* FILETIME */
	uint64_t copy_offset[3];
	int copy_status[3];        /* enum bd_copy_status */
	int copy_used;             /* index of the metadata copy in use */
	uint64_t virtualized_offset, virtualized_size;
	size_t n_protectors;
	int unlocked;
	int unlocked_with;         /* enum bd_unlock_with: how */
	uint8_t unlock_protector[16]; /* BD_UNLOCKED_PROTECTOR: which protector (its ID) */
	uint16_t unlock_protector_type;
	int hash_verified;         /* the copy in use passed the VMK-keyed SHA-256 check */
	int unverified;            /* BD_UNVERIFIED_*: trusted unchecked because of ignore_integrity */
	uint64_t fs_size;          /* size the file system inside claims (after unlock; 0 unknown);
				      larger than `size` means the input is truncated */
	uint64_t input_size;       /* bytes of the input that belong to the volume */
	char where[128];           /* "the whole input", "GPT partition 2 at offset 1048576", ... */
	uint64_t volume_size;      /* bytes the volume claims: the metadata's size of a fully encrypted v2
				      volume (StateOffset), else the file system's size when readable; 0 unknown */
	int truncated;             /* the input ends before volume_size */
	char container[64];        /* the input's container (struct bd_io.container) */
	uint64_t container_size;   /* bytes the input (or the container's disk) holds in all */
};
enum bd_unlock_with {
	BD_UNLOCKED_NO = 0,        /* locked, or a decrypted volume read without a key */
	BD_UNLOCKED_PROTECTOR,     /* a protector's secret (recovery password, password, key file, clear key) */
	BD_UNLOCKED_VMK,           /* a raw VMK */
	BD_UNLOCKED_FVEK,          /* a raw FVEK */
};
int bd_volume_info(bd_volume *v, struct bd_info *info);

enum bd_unverified {
	BD_UNVERIFIED_METADATA = 1,  /* the metadata in use is not verified by the VMK-keyed SHA-256 */
	BD_UNVERIFIED_KEY = 2,       /* a raw FVEK that nothing on the volume could confirm */
};

/* Protection types (VMK entry, compare value & 0xFF00). */
enum bd_protector_type {
	BD_PROT_CLEAR_KEY         = 0x0000,
	BD_PROT_TPM               = 0x0100,
	BD_PROT_STARTUP_KEY       = 0x0200,
	BD_PROT_TPM_STARTUP_KEY   = 0x0300,
	BD_PROT_TPM_PIN           = 0x0400,
	BD_PROT_TPM_PIN_2         = 0x0500,
	BD_PROT_TPM_PIN_STARTUP_KEY   = 0x0600,
	BD_PROT_TPM_PIN_STARTUP_KEY_2 = 0x0700,
	BD_PROT_RECOVERY_PASSWORD = 0x0800,
	BD_PROT_PUBLIC_KEY        = 0x1000,
	BD_PROT_PASSWORD          = 0x2000,
};

/* The kind of a raw protector type: the enum bd_protector_type value it belongs to (0x00..0xFF:
 * clear key; else type & 0xFF00). */
uint16_t bd_protector_kind(uint16_t type);

struct bd_protector_info {
	uint8_t guid[16];          /* protector ID */
	char key_id[9];            /* first 8 hex digits, upper case: what the recovery screen shows */
	uint16_t type;             /* enum bd_protector_type (raw value) */
	const char *type_name;     /* "recovery password", "TPM", ... */
	uint64_t mtime;            /* FILETIME */
	char label[64];            /* e.g. "DiskPassword", "ExternalKey" (UTF-8), may be empty */
	int usable;                /* bdkit can unlock with it given the secret */
	int has_pcrs;              /* TPM family: pcr_mask valid */
	uint32_t pcr_mask;         /* bit i set = bound to PCR i */
};
int bd_volume_protector(bd_volume *v, size_t index, struct bd_protector_info *out);

/* A public-key protector (type 0x1000: smart card, certificate, Data Recovery Agent); what is
 * established about its datums is in doc/public-key-protector.md. No secret needed. */
struct bd_pubkey_info {
	int has_key;               /* the public key blob was found and parsed */
	char key_alg[24];          /* "RSA"; "ECDH P-256" etc. (not seen on a real volume); "" */
	unsigned key_bits;
	uint64_t exponent;         /* RSA public exponent (0 when it does not fit) */
	uint8_t modulus[2048];     /* RSA modulus, big-endian */
	size_t modulus_len;
	int has_key_sha1;
	uint8_t key_sha1[20];      /* SHA-1 of the DER RSAPublicKey (a certificate's subject key ID, method 1) */
	int has_thumbprint;
	uint8_t thumbprint[64];    /* the certificate's thumbprint (SHA-1: 20 bytes) */
	size_t thumbprint_len;
	uint32_t cert_type;        /* 1 Data Recovery Agent, 2 user certificate (as WMI CertType); 0 unknown */
	size_t encrypted_key_len;  /* bytes of the RSA-encrypted key */
	int complete;              /* every datum an unlock needs is present */
};
/* BD_ERR_INVALID: no such protector or not a public-key one; BD_ERR_CORRUPT: malformed datums. */
int bd_volume_protector_pubkey(bd_volume *v, size_t index, struct bd_pubkey_info *out);

/*
 * The door: unlock with every secret the caller has. Zero a struct bd_secrets with
 * BD_SECRETS_INIT (it records the struct's size, so that fields added later read as absent) and
 * point the fields at what you have; nothing is kept after the call (wipe your copies).
 * The policy: secrets are tried in the order of the fields below, each against every protector
 * of its kind; the first that opens the volume wins (0). A wrong key (BD_ERR_WRONG_KEY) or a
 * missing kind (BD_ERR_NO_PROTECTOR) goes on to the next secret; any other error stops there
 * (a malformed secret, damaged metadata, ...). With every secret tried, the last error.
 * With no secret at all: a fully decrypted volume needs none (0, still locked: its data is
 * plain), else the clear key of a suspended volume is tried (BD_ERR_NO_PROTECTOR without one,
 * so that the caller may ask for a secret).
 */
struct bd_blob {
	const uint8_t *data;
	size_t len;
};
struct bd_privkey;
struct bd_secrets {
	size_t size;                           /* sizeof(struct bd_secrets): BD_SECRETS_INIT sets it */
	const char *const *recovery_passwords; /* 48 digits (dashes optional) */
	size_t n_recovery_passwords;
	const char *const *passwords;          /* UTF-8 user passwords */
	size_t n_passwords;
	const char *const *typed;              /* either of the above, told apart by shape (a prompt's answer) */
	size_t n_typed;
	const struct bd_blob *key_files;       /* .BEK startup/recovery key files (their bytes) */
	size_t n_key_files;
	const struct bd_blob *fveks;           /* raw FVEKs (as bd_unlock_fvek) */
	size_t n_fveks;
	const struct bd_blob *vmks;            /* raw 32-byte VMKs */
	size_t n_vmks;
	const struct bd_blob *key_packages;    /* key packages (bdkit keypackage export, Windows' own) of this
						  volume: their protectors are opened with the secrets above
						  (and their clear key), and the VMK found opens the volume */
	size_t n_key_packages;
	int clear_key;                         /* also try the clear key (tried last) */
	struct bd_privkey *const *private_keys; /* certificates' private keys (bd_privkey_from_*), for
						  public-key protectors; tried after the key packages */
	size_t n_private_keys;
	/* New secret kinds are appended here (certificates and private keys for public-key
	 * protectors, key packages, ...): the size field tells old callers' structs apart. */
};
#define BD_SECRETS_INIT { .size = sizeof(struct bd_secrets) }
int bd_unlock(bd_volume *v, const struct bd_secrets *secrets);

/* One secret each (the door's steps; bd_unlock is the one to call with what a user gave).
 * Each tries every protector of the matching kind. On success the
 * volume can be read. BD_ERR_WRONG_KEY when none accepted the secret,
 * BD_ERR_NO_PROTECTOR when the volume has none of that kind,
 * BD_ERR_INVALID when the secret is malformed (message names the bad block). */
int bd_unlock_recovery_password(bd_volume *v, const char *recovery_password);
int bd_unlock_password(bd_volume *v, const char *utf8_password);
int bd_unlock_bek(bd_volume *v, const uint8_t *bek, size_t len);
int bd_unlock_clear_key(bd_volume *v);
/* Raw keys: FVEK as the cipher uses it (16/32/64 bytes; for Elephant also the
 * 32-byte key||tweak form that cryptsetup dumps), or the 32-byte VMK. */
int bd_unlock_fvek(bd_volume *v, const uint8_t *key, size_t len);
int bd_unlock_vmk(bd_volume *v, const uint8_t *key, size_t len);

/*
 * Certificate (public-key, type 0x1000) protectors: smart card, Data Recovery Agent. The private key
 * is loaded once (a token's PIN is presented once, never again by itself: a card locks) and can then
 * be tried on volumes (doc/public-key-protector.md).
 */
struct bd_privkey;

/* Where the key came from. */
enum bd_privkey_source { BD_KEY_SRC_FILE = 1, BD_KEY_SRC_PKCS12 = 2, BD_KEY_SRC_PKCS11 = 3 };

/*
 * Error codes of the loaders (the message says more, in one line):
 *   BD_ERR_IO           the file cannot be read
 *   BD_ERR_INVALID      not a private key / PKCS#12 file / PKCS#11 URI; no or several tokens or keys match
 *   BD_ERR_NO_PROTECTOR the key is encrypted (or the token needs a PIN) and no password/PIN was given
 *   BD_ERR_WRONG_KEY    wrong password or PIN; also a PIN the token reports locked or expired
 *                       (the PIN is tried once, never again by itself: a card locks)
 *   BD_ERR_UNSUPPORTED  not RSA; the PKCS#11 module cannot be loaded (or none is registered)
 *   BD_ERR_IO           PKCS#11: the token fails (session, device error)
 *   BD_ERR_NOMEM
 */
/* PEM or DER private key: PKCS#8 (encrypted or not), PKCS#1 RSA, legacy encrypted PEM; a PEM file
 * may also hold certificates (the first one is kept, see bd_privkey_cert). password: NULL = none. */
int bd_privkey_from_file(const char *path, const char *password, struct bd_privkey **out);
/* PKCS#12 (.pfx/.p12) file; password NULL tries the empty and the absent password. The first
 * certificate whose public key is the private key's is kept. */
int bd_privkey_from_pkcs12(const char *path, const char *password, struct bd_privkey **out);
/* An RSA key on a PKCS#11 token, by RFC 7512 URI ("pkcs11:token=...;object=...;id=..."; the URI
 * must match exactly one token and one RSA private key there). module: the PKCS#11 module (.so);
 * NULL: the URI's module-path attribute, else every module registered with p11-kit (its
 * module-name attribute picks one). pin: NULL = none (only for tokens that need no login or have
 * a PIN pad). A PIN in the URI is not used. Nothing is ever prompted; the PIN is presented once. */
int bd_privkey_from_pkcs11(const char *uri, const char *pin, const char *module, struct bd_privkey **out);
void bd_privkey_free(struct bd_privkey *k);

int bd_privkey_source(const struct bd_privkey *k);           /* enum bd_privkey_source */
/*
 * Unlock with the private key of a certificate protector: the protectors whose public key (or
 * certificate thumbprint) is the key's are tried, each with PKCS#1 v1.5, OAEP SHA-1 and OAEP SHA-256
 * (the padding Windows uses is not documented); only a result the AES-CCM tag of the encrypted VMK
 * confirms is accepted. *padding (may be NULL) gets the padding that worked (bd_rsa_padding_name).
 * BD_ERR_NO_PROTECTOR: the volume has no public-key protector; BD_ERR_WRONG_KEY: the key matches none
 * (the message lists the protectors' thumbprints) or does not open the one it matches.
 */
int bd_unlock_private_key(bd_volume *v, struct bd_privkey *key, int *padding);
const char *bd_rsa_padding_name(int padding);   /* "PKCS#1 v1.5", "OAEP SHA-1", "OAEP SHA-256" */

/* Check a recovery password's syntax (dashes optional) and derive its 16-byte key.
 * On BD_ERR_INVALID the message names the offending block(s). */
int bd_recovery_password_parse(const char *text, uint8_t key16[16]);

/* The decrypted view. Thread-safe for concurrent pread/pwrite calls.
 * Return bytes transferred or a negative BD_ERR_* code. */
uint64_t bd_volume_size(const bd_volume *v);
uint32_t bd_volume_sector_size(const bd_volume *v);
ssize_t bd_volume_pread(bd_volume *v, void *buf, size_t len, uint64_t off);
/* Writes need the volume opened writable, unlocked, and in a normal state
 * (fully encrypted or fully decrypted); BD_ERR_STATE otherwise. */
ssize_t bd_volume_pwrite(bd_volume *v, const void *buf, size_t len, uint64_t off);
int bd_volume_sync(bd_volume *v);
/* 0 if writes are possible, else the code bd_volume_pwrite would give (message set). */
int bd_volume_can_write(bd_volume *v);

/* ===================================================================== */
/* Writer: create volumes, manage protectors (issue: writer)             */
/* ===================================================================== */

/* Encryption methods (dataset method / FVEK key type, format.md §3.4). */
enum bd_method {
	BD_METHOD_AES_CBC_128_ELEPHANT = 0x8000,
	BD_METHOD_AES_CBC_256_ELEPHANT = 0x8001,
	BD_METHOD_AES_CBC_128 = 0x8002,
	BD_METHOD_AES_CBC_256 = 0x8003,
	BD_METHOD_AES_XTS_128 = 0x8004,
	BD_METHOD_AES_XTS_256 = 0x8005,
};
/* "xts-128", "aes-xts-256", "cbc-elephant-128", "0x8004", ... 0 or BD_ERR_INVALID. */
int bd_method_parse(const char *name, uint16_t *method);
/* "xts-128", ...; "unknown" for other values. */
const char *bd_method_short_name(uint16_t method);


/*
 * Layout of volumes bdkit creates (documented in man/bdkit-format.1):
 *  - no source (format of a blank volume): three 64 KiB metadata copies at
 *    about 1/4, 1/2 and 3/4 of the volume, the 8 KiB relocated boot-sector
 *    area right after copy 1 (as Windows spreads them);
 *  - with a source file system of F bytes (encrypt, format --mkfs): the file
 *    system keeps [0, F); copy 1, the relocation area, copy 2 and copy 3
 *    follow at R = F rounded up to 64 KiB: R, R+64K, R+128K, R+192K. The file
 *    system never touches them, so no file-system surgery is needed.
 */
#define BD_CREATE_MIN_SIZE (2u << 20)   /* smallest blank volume */
#define BD_CREATE_TAIL_SIZE (256u << 10) /* bytes after the 64 KiB-rounded file system */

struct bd_create_opts {
	size_t size;  /* sizeof(struct bd_create_opts): set by BD_CREATE_OPTS_INIT(...) */
	uint16_t method;            /* 0: BD_METHOD_AES_XTS_128 */
	uint32_t sector_size;       /* 512 or 4096; 0: the source's, else 512 */
	uint64_t volume_size;       /* volume size; 0: whole target (blank) / minimum (with source) */
	const char *description;    /* UTF-8; NULL: "<hostname> bdkit <M/D/YYYY>" */
	int force;                  /* overwrite a target whose first 64 KiB hold data */
	struct bd_io *source;       /* plaintext file system to encrypt; NULL: zeros */
	uint64_t source_size;       /* bytes of source that belong to the file system (0: all) */
	int allow_unknown_fs;       /* accept a source that is not NTFS/FAT/exFAT */
	int to_go;                  /* BitLocker To Go header (FAT32 discovery BPB, §1.4); FAT/exFAT or blank only */
	/* protectors: at least one */
	int recovery_password;      /* generate a recovery password */
	const char *password;       /* UTF-8 user password or NULL */
	int startup_key;            /* generate a startup key (.BEK) */
	bd_progress_fn progress;
	void *progress_data;
};
#define BD_CREATE_OPTS_INIT(...) { .size = sizeof(struct bd_create_opts), __VA_ARGS__ }

struct bd_create_result {
	uint8_t volume_guid[16];
	uint64_t size;              /* volume size */
	uint32_t sector_size;
	uint16_t method;
	uint64_t meta_offset[3];
	uint64_t virt_offset;
	char fs_name[16];           /* source file system ("NTFS", "FAT32", "exFAT", "" ) */
	int has_recovery, has_password, has_startup_key;
	uint8_t recovery_guid[16];
	char recovery_password[56]; /* secret: wipe with bd_create_result_wipe() */
	uint8_t password_guid[16];
	uint8_t bek_guid[16];
	uint8_t bek[256];           /* the .BEK file's bytes (secret) */
	size_t bek_len;
};

/* Size bd_create needs for a source file system of fs_size bytes. */
uint64_t bd_create_size_for(uint64_t fs_size);
/*
 * Write a new BitLocker volume (Windows 7+ layout, metadata v2) onto target
 * (opened writable; its size must be >= the volume size). The plaintext is the
 * source (or zeros); it is encrypted with a fresh FVEK. Refuses with
 * BD_ERR_EXISTS when the target's first 64 KiB hold data and force is 0, with
 * BD_ERR_INVALID for bad options or a too small target; nothing is written then.
 */
int bd_create(struct bd_io *target, const struct bd_create_opts *opts, struct bd_create_result *res);
void bd_create_result_wipe(struct bd_create_result *res);
/* Save Windows' "BitLocker Recovery Key <ID>.TXT" (UTF-16LE, BOM) into dir; path_out gets its path. */
int bd_save_recovery_key_file(const char *dir, const uint8_t guid[16], const char *recovery_password,
			      char *path_out, size_t path_len);
/* Save the startup key as dir/<GUID>.BEK (upper case), mode 0600. */
int bd_save_bek_file(const char *dir, const uint8_t guid[16], const uint8_t *bek, size_t len,
		     char *path_out, size_t path_len);

/*
 * Protectors on an existing volume (lib/manage.c). The volume must be opened
 * writable and unlocked with a secret that yields the VMK (any protector, the
 * clear key or a raw VMK; an FVEK is not enough), and the metadata copy in use
 * must pass its VMK-keyed SHA-256. Each change rewrites the metadata: datums it
 * does not touch are kept byte for byte, AES-CCM nonces continue the dataset's
 * counter, the new block is checked in memory, then (after the backup, when
 * backup_path is set) the copies not in use are written first and the copy in
 * use last, each synced, read back and compared, so a crash leaves a volume
 * that opens with the old or the new protectors. A change that would leave no
 * protector a person can use (password, recovery password, startup key) is
 * refused with BD_ERR_STATE; with only TPM or smart-card protectors left it
 * needs force. Nothing is written when a call fails before *written is set.
 */
struct bd_protector_new;
struct bd_change_opts {
	size_t size;  /* sizeof(struct bd_change_opts): set by BD_CHANGE_OPTS_INIT(...) */
	const char *backup_path;    /* write a metadata backup (bd_metadata_backup) here first; NULL: none */
	int force;                  /* allow leaving only protectors bdkit cannot use (TPM, smart card) */
	int *written;               /* optional out: 0 nothing written, 1 partly (see the backup), 2 complete */
	/* add, rotate: called with the new protector's secrets once the new metadata is built, checked
	 * and backed up, before the first byte of the volume is written: show and save them here, so
	 * that an interruption during the writes cannot lose them. Non-zero: nothing is written and the
	 * call fails with that code (a BD_ERR_*). */
	int (*before_write)(const struct bd_protector_new *n, void *userdata);
	void *userdata;
};
#define BD_CHANGE_OPTS_INIT(...) { .size = sizeof(struct bd_change_opts), __VA_ARGS__ }
struct bd_protector_new {
	uint8_t guid[16];           /* the new protector's ID */
	char recovery_password[56]; /* recovery password (secret) */
	uint8_t bek[256];           /* startup key: the .BEK file's bytes (secret) */
	size_t bek_len;
};
/* Add a protector: type BD_PROT_RECOVERY_PASSWORD (generated), BD_PROT_PASSWORD (password, UTF-8) or
 * BD_PROT_STARTUP_KEY (generated; save out->bek with bd_save_bek_file). out stays filled when the
 * write failed part-way (the new protector may be live): wipe it with bd_protector_new_wipe(). */
int bd_protector_add(bd_volume *v, uint16_t type, const char *password, const struct bd_change_opts *o,
		     struct bd_protector_new *out);
/* Add a certificate (public-key) protector for the X.509 certificate in cert_path (PEM or DER), in the
 * datum layout of Windows' own; the certificate is checked first as Windows does (an RSA key; key
 * usage, if present, with keyEncipherment; extended key usage, if present, with the BitLocker, the
 * BitLocker DRA or any EKU; dra: the DRA EKU 1.3.6.1.4.1.311.67.1.2 required, recorded as a Data
 * Recovery Agent). The key is wrapped with RSA-OAEP (SHA-1). BD_ERR_INVALID / BD_ERR_UNSUPPORTED
 * for a certificate Windows would refuse (nothing written). out->guid gets the new protector's ID. */
/* Load the certificate in path and make the checks bd_protector_add_certificate makes; thumbprint
 * (may be NULL) gets its SHA-1 thumbprint. 0, BD_ERR_IO, BD_ERR_INVALID or BD_ERR_UNSUPPORTED. */
int bd_certificate_check(const char *path, int dra, uint8_t thumbprint[20]);
int bd_protector_add_certificate(bd_volume *v, const char *cert_path, int dra, const struct bd_change_opts *o,
				 struct bd_protector_new *out);
/* Remove the protector with this ID (any type, also TPM and unknown ones). */
int bd_protector_remove(bd_volume *v, const uint8_t guid[16], const struct bd_change_opts *o);
/* Replace a recovery-password protector by a new one (new ID and password) in the same place. */
int bd_protector_rotate(bd_volume *v, const uint8_t guid[16], const struct bd_change_opts *o,
			struct bd_protector_new *out);
void bd_protector_new_wipe(struct bd_protector_new *p);
/* Index of the protector with this ID (BD_ERR_NOT_FOUND when none). */
int bd_protector_find(bd_volume *v, const uint8_t guid[16], size_t *index);
/* Suspend protection: add a clear-key protector (replacing one that exists). reboot_count 0 = until
 * resumed (datum version 3, as Windows writes); 1-15 = Windows' counted form (version N<<8|5,
 * inferred from one sample: see man bdkit-protector). */
int bd_volume_suspend(bd_volume *v, unsigned reboot_count, const struct bd_change_opts *o);
/* Resume protection: remove every clear-key protector. BD_ERR_NO_PROTECTOR when there is none. */
int bd_volume_resume(bd_volume *v, const struct bd_change_opts *o);
/* 1 when the volume has a clear key (*reboot_count from its datum version, 0 = until resumed), else 0. */
int bd_volume_suspended(bd_volume *v, unsigned *reboot_count);
/* The recovery password of recovery protector `index`, from its VMK-encrypted backup (role 0x12 in
 * the stretch datum). Needs the VMK (unlocked). out: 55 characters and NUL; a secret, wipe it. */
int bd_volume_recovery_password(bd_volume *v, size_t index, char out[56]);

/* ===================================================================== */
/* Repair and key packages (issue: repair)                               */
/* ===================================================================== */

/*
 * Key packages (man/bdkit-keypackage.1 documents the file format): a small
 * versioned file holding the volume's GUID, geometry, method, its volume
 * header sector and a full valid metadata block with its protectors, so it
 * unlocks only with one of the volume's own secrets. A metadata backup uses
 * the same container and holds the raw header sector and all three metadata
 * areas as they were, damaged or not.
 */
enum bd_kp_format {
	BD_KP_BDKIT = 1,          /* bdkit key package */
	BD_KP_BACKUP = 2,         /* bdkit metadata backup */
	BD_KP_FOREIGN = 3,        /* another file (e.g. Microsoft .KPG) with a metadata block found inside */
};
struct bd_keypackage_info {
	int format;               /* enum bd_kp_format */
	int version;              /* container version (bdkit formats) */
	uint8_t guid[16];         /* volume GUID */
	uint64_t created;         /* FILETIME the file was written (0: unknown) */
	uint64_t volume_size;     /* bytes (0: unknown) */
	uint64_t volume_offset;   /* where the volume started in the input it came from */
	uint32_t sector_size;     /* 0: unknown */
	uint16_t method;
	const char *method_name;
	int meta_version;
	uint64_t block_offset;    /* volume offset of the copy the block was taken from */
	uint64_t copy_offset[3];  /* the block's own list of its three copies */
	uint64_t virtualized_offset, virtualized_size;
	uint64_t found_at;        /* BD_KP_FOREIGN: where in the file the block starts */
	int has_header;           /* the volume header sector is included */
	int n_areas;              /* BD_KP_BACKUP: metadata areas included */
	size_t n_protectors;
	char description[256];
};
/* Build a key package from an open volume (its verified copy in use; unlock first so the
 * SHA-256 is checked). *out is malloc()ed. */
int bd_keypackage_export(bd_volume *v, uint8_t **out, size_t *len);
/* Build a metadata backup: header sector and the three areas as they are on disk. */
int bd_metadata_backup(bd_volume *v, uint8_t **out, size_t *len);
/* Recognise a key package or backup (or a foreign file holding a metadata block). BD_ERR_CORRUPT
 * for a damaged bdkit file, BD_ERR_UNSUPPORTED when no metadata block can be found (message says so). */
int bd_keypackage_parse(const uint8_t *buf, size_t len, struct bd_keypackage_info *info);
/* Protector i of a key package (same as bd_volume_protector for the block inside). */
int bd_keypackage_protector(const uint8_t *buf, size_t len, size_t i, struct bd_protector_info *out);

/*
 * Opening a damaged volume. A session hands out metadata sources in order, one per
 * bd_salvage_next call: the volume header's copies as the reader uses them; then each
 * distinct volume whose metadata blocks a scan of the input finds (signature at 512-byte
 * steps, parsed, CRC checked; the input is scanned once per session, votes are counted
 * in O(n log n), and at most the 64 best supported volumes are offered); then the key
 * package. The caller unlocks and, on a wrong key, asks for the next source.
 * BD_ERR_NOT_BITLOCKER (message set) when there is no source left; io is owned in every
 * case. opts (and the key package it points to) must outlive the session.
 */
struct bd_salvage_opts {
	size_t size;  /* sizeof(struct bd_salvage_opts): set by BD_SALVAGE_OPTS_INIT(...) */
	int64_t offset;                 /* volume start in the input; -1: detect */
	int writable;
	const uint8_t *key_package;     /* optional, with its length */
	size_t key_package_len;
	int no_scan;                    /* do not scan the input for metadata blocks */
	int assume_eow;                 /* header gone: treat it as an encrypt-on-write volume whose bitmaps are
					   lost (all-zero sectors were never written, hence plain) */
	int ignore_integrity;           /* bd_open_opts.ignore_integrity for every source tried */
};
#define BD_SALVAGE_OPTS_INIT(...) { .size = sizeof(struct bd_salvage_opts), __VA_ARGS__ }
struct bd_salvage_source {
	int kind;                       /* 0 header copies, 1 scan, 2 key package */
	uint64_t block_offset;          /* input offset of the block used (key package: its recorded one) */
	int header_ok;                  /* the volume header parsed */
	int copies_ok;                  /* scan: CRC-valid copies found of this volume */
	char text[256];                 /* "metadata copy 3 (volume header)", ... */
};
typedef struct bd_salvage bd_salvage;
int bd_salvage_new(const struct bd_salvage_opts *o, bd_salvage **out);
int bd_salvage_next(bd_salvage *s, struct bd_io *io, bd_volume **out, struct bd_salvage_source *src);
void bd_salvage_free(bd_salvage *s);
/* After unlocking a volume opened from a key package or scan: check that the key really fits the
 * data (relocated boot sector decrypts to a file system header) and, with a key package, that the
 * volume header's metadata offsets are the package's. BD_ERR_WRONG_KEY / BD_ERR_INVALID with a message. */
int bd_salvage_verify(bd_volume *v, const uint8_t *key_package, size_t key_package_len);
/* Bytes the volume really spans (from the metadata or the file system), >= bd_volume_size when the
 * input is truncated. 0 when unknown. */
uint64_t bd_volume_full_size(bd_volume *v);

/* Metadata health and repair in place. */
struct bd_meta_health {
	int header_ok;                  /* the volume header parses and names the copies */
	int header_status;              /* 0 ok, 1 unreadable, 2 no BitLocker header, 3 offsets differ from the metadata's */
	uint64_t copy_offset[3];
	int copy_status[3];             /* enum bd_copy_status */
	int copy_stale[3];              /* passes its checks but differs from the copy in use */
	int used;                       /* copy in use (-1: none on disk, e.g. from a key package) */
	int hash_checked;               /* the volume is unlocked: SHA-256 was checked */
};
int bd_metadata_health(bd_volume *v, struct bd_meta_health *h);
/*
 * Rewrite every damaged or stale copy (and a damaged volume header, when a key package with a
 * header is given) from the copy in use, one at a time: write, sync, read back, compare.
 * The volume must be opened writable. *rewritten gets a bitmask (bit i = copy i, bit 3 = header).
 */
int bd_metadata_repair(bd_volume *v, const uint8_t *key_package, size_t kp_len, unsigned *rewritten);
/* Put a metadata backup back exactly as it was (header and areas). The backup must be consistent
 * (areas where its own header and metadata say, inside the target) and, unless force, the target
 * recognisably its volume (same metadata offsets in its header, no metadata block of another GUID,
 * some BitLocker header or block at all): BD_ERR_CORRUPT (inconsistent backup), BD_ERR_EXISTS
 * (another volume's, or unidentifiable) or BD_ERR_NOT_BITLOCKER otherwise, nothing written. */
int bd_metadata_restore(struct bd_io *io, uint64_t vol_off, const uint8_t *backup, size_t len, int force);

/* ===================================================================== */
/* Key files in other programs' formats (issue: inputs)                  */
/* ===================================================================== */

/* Windows' "BitLocker Recovery Key <ID>.TXT" (UTF-16LE/BE with BOM, UTF-8, Windows 7's wording
 * too), or any text holding one 48-digit recovery password. */
struct bd_recovery_key_file {
	char password[56];       /* secret: "123456-...-123456" */
	int has_guid;            /* the file names its protector ("Identifier:") */
	uint8_t guid[16];
	int has_key_id;          /* at least the first 8 hex digits of the protector ID are known */
	char key_id[9];          /* upper case */
	int windows;             /* the text is Windows' recovery key file */
};
/* BD_ERR_INVALID when no password (8 dash-separated groups of 6 digits) or more than one is found. */
int bd_recovery_key_file_parse(const uint8_t *buf, size_t len, struct bd_recovery_key_file *out);

/* FVEK files for other readers, from an unlocked volume. */
enum bd_fvek_format {
	BD_FVEK_HEX = 1,         /* hex text of the FVEK as bdkit --fvek takes it */
	BD_FVEK_CRYPTSETUP,      /* cryptsetup --volume-key-file: the BITLK volume key bytes */
	BD_FVEK_DISLOCKER,       /* dislocker -k: 2-byte method (LE) + 64 key bytes = 66 bytes */
};
const char *bd_fvek_format_name(int format);
int bd_fvek_format_parse(const char *name);   /* "cryptsetup", "dislocker", "hex"; BD_ERR_INVALID */
/* Write the file's bytes to out (at least 160 bytes); *len set. BD_ERR_LOCKED without an FVEK. */
int bd_fvek_export(bd_volume *v, int format, uint8_t *out, size_t outlen, size_t *len);

/* ===================================================================== */
/* The file system inside a volume                                       */
/* ===================================================================== */

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
	uint64_t backup_boot_sector; /* its sector number: NTFS the last sector, exFAT 12, FAT32 the
	                              * BPB's BkBootSec; 0 when there is none (FAT12/16) */
};

/* Probe the boot sector bs[0..len). Fills *out (zeroed first) and returns its kind; a buffer under
 * 512 bytes is BD_FS_UNKNOWN. Never fails, never reads past len. */
enum bd_fs_kind bd_fs_probe(const uint8_t *bs, size_t len, struct bd_fs_info *out);

#ifdef __cplusplus
}
#endif
#endif /* BDKIT_FVE_H */
