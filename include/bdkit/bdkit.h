/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbdkit: read, write, repair and diagnose BitLocker (FVE) volumes.
 *
 * Conventions:
 *  - every function that can fail returns 0 (or a byte count) on success and a
 *    negative BD_ERR_* code on failure; a human-readable message describing the
 *    failure is then available from bd_last_error() (per thread);
 *  - handles are opaque and come in open/close pairs;
 *  - the library never prints; it reports through the callback of bd_set_log();
 *  - secrets passed in are copied into locked memory and wiped after use.
 *
 * Each feature area has its own section below; keep additions inside the
 * matching section.
 */
#ifndef BDKIT_H
#define BDKIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BDKIT_VERSION "0.1.0"

/* ===================================================================== */
/* Errors and logging                                                    */
/* ===================================================================== */

enum bd_error {
	BD_OK                = 0,
	BD_ERR_IO            = -1,  /* a read or write of the source failed */
	BD_ERR_NOT_BITLOCKER = -2,  /* no BitLocker volume found in the input */
	BD_ERR_CORRUPT       = -3,  /* metadata (or other structure) damaged beyond use */
	BD_ERR_WRONG_KEY     = -4,  /* the secret does not unlock any protector */
	BD_ERR_NO_PROTECTOR  = -5,  /* the volume has no protector usable with this secret kind */
	BD_ERR_UNSUPPORTED   = -6,  /* a feature bdkit does not implement */
	BD_ERR_NOMEM         = -7,
	BD_ERR_INVALID       = -8,  /* malformed argument (bad recovery password, bad hex, ...) */
	BD_ERR_TRUNCATED     = -9,  /* the input is shorter than the volume it holds */
	BD_ERR_LOCKED        = -10, /* the operation needs an unlocked volume */
	BD_ERR_READONLY      = -11, /* opened read-only, or the medium refuses writes */
	BD_ERR_EXISTS        = -12, /* target holds data and no force was given */
	BD_ERR_STATE         = -13, /* the volume's conversion state forbids the operation */
	BD_ERR_INTERRUPTED   = -14, /* stopped by the caller (signal, cancel) */
};

/* Short fixed text for an error code ("wrong key", ...). */
const char *bd_strerror(int code);
/* The errno for an error code (EROFS, ENOMEM, EINVAL, EINTR, else EIO): FUSE and nbdkit answer
 * failed reads and writes with it. */
int bd_errno(int code);
/* The detailed message of the last failure in the calling thread ("" if none). */
const char *bd_last_error(void);

enum bd_log_level { BD_LOG_ERROR = 0, BD_LOG_WARN = 1, BD_LOG_INFO = 2, BD_LOG_DEBUG = 3 };
typedef void (*bd_log_fn)(int level, const char *msg, void *userdata);
/* Set the process-wide log callback (NULL: silent). */
void bd_set_log(bd_log_fn fn, void *userdata);

/* ===================================================================== */
/* I/O layer: everything reads and writes through this                   */
/* ===================================================================== */

struct bd_io;
struct bd_io_ops {
	/* Read/write up to len bytes at off; return bytes done (0 at end) or -errno. */
	ssize_t (*pread)(struct bd_io *io, void *buf, size_t len, uint64_t off);
	ssize_t (*pwrite)(struct bd_io *io, const void *buf, size_t len, uint64_t off);
	int (*sync)(struct bd_io *io);      /* 0 or -errno; may be NULL */
	void (*close)(struct bd_io *io);    /* frees priv; may be NULL */
};
struct bd_io {
	const struct bd_io_ops *ops;
	void *priv;
	uint64_t size;     /* bytes available */
	int writable;
	char name[256];    /* for messages */
	char container[64];/* what was read: "raw file", "block device", "E01 (EWF), 3 segment files", "VHDX (dynamic)" */
};

enum { BD_IO_RDONLY = 0, BD_IO_RDWR = 1 };
/* Open a file or block device as it is (no container detection). Read-only unless BD_IO_RDWR. */
int bd_io_open_file(const char *path, int flags, struct bd_io **out);
/* Open any input: a raw file or block device, or an evidence container detected by its
 * signature and read through the libyal libraries: E01 (libewf; the other segment files are
 * found from the first), VHD/VHDX (libvhdi), VMDK (libvmdk), QCOW (libqcow); differencing images
 * with their parents found beside them. Containers are read-only (BD_ERR_READONLY with
 * BD_IO_RDWR); a damaged container gives BD_ERR_CORRUPT, Ex01 (EWF2, which Debian 12's libewf
 * 20140813 cannot read) BD_ERR_UNSUPPORTED, an L01 logical image BD_ERR_NOT_BITLOCKER. */
int bd_io_open(const char *path, int flags, struct bd_io **out);
/* A read-only io over a caller's buffer (not copied; it must outlive the io). */
int bd_io_open_memory(const void *buf, size_t len, const char *name, struct bd_io **out);
/* Read exactly len bytes: 0, BD_ERR_IO, or BD_ERR_TRUNCATED when the io ends first. */
int bd_io_read_full(struct bd_io *io, void *buf, size_t len, uint64_t off);
int bd_io_write_full(struct bd_io *io, const void *buf, size_t len, uint64_t off);
int bd_io_sync(struct bd_io *io);
void bd_io_close(struct bd_io *io);

/* ===================================================================== */
/* Identifiers and small helpers                                         */
/* ===================================================================== */

/* GUIDs are kept in on-disk (mixed-endian) byte order. */
void bd_guid_format(const uint8_t guid[16], char out[37]);          /* lower case */
int bd_guid_parse(const char *text, uint8_t guid[16]);              /* accepts {..} and any case */
/* FILETIME (100 ns since 1601) to "YYYY-MM-DD HH:MM:SS UTC"; out >= 32 bytes. */
void bd_filetime_format(uint64_t filetime, char *out, size_t outlen);

/* ===================================================================== */
/* Volumes: open, inspect, unlock, read, write                           */
/* ===================================================================== */

typedef struct bd_volume bd_volume;

struct bd_open_opts {
	int64_t offset;     /* byte offset of the BitLocker volume in the input; -1 = detect */
	int writable;       /* open the source read-write (only for commands that write) */
	/* Salvage: unlock although no metadata copy passes its VMK-keyed SHA-256, although a raw
	 * FVEK cannot be checked against the data, or although metadata that says the volume is
	 * partly plain cannot be verified (raw FVEK). Without it those unlocks fail with
	 * BD_ERR_CORRUPT. bd_info.unverified then says what was trusted unchecked. */
	int ignore_integrity;
};

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

/* Progress: return nonzero to cancel (the call then fails with BD_ERR_INTERRUPTED). */
typedef int (*bd_progress_fn)(uint64_t done, uint64_t total, void *userdata);

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
	uint16_t method;            /* 0: BD_METHOD_AES_XTS_128 */
	uint32_t sector_size;       /* 512 or 4096; 0: the source's, else 512 */
	uint64_t size;              /* volume size; 0: whole target (blank) / minimum (with source) */
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
/* Index of the protector with this ID (BD_ERR_INVALID when none). */
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
	int64_t offset;                 /* volume start in the input; -1: detect */
	int writable;
	const uint8_t *key_package;     /* optional, with its length */
	size_t key_package_len;
	int no_scan;                    /* do not scan the input for metadata blocks */
	int assume_eow;                 /* header gone: treat it as an encrypt-on-write volume whose bitmaps are
					   lost (all-zero sectors were never written, hence plain) */
	int ignore_integrity;           /* bd_open_opts.ignore_integrity for every source tried */
};
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
/* Escrow (AD, Entra ID)                                                 */
/* ===================================================================== */

/*
 * Recovery passwords escrowed in Active Directory (msFVE-RecoveryInformation
 * objects under the computer object, looked up over LDAP) and in Entra ID
 * (Microsoft Graph informationProtection/bitlocker/recoveryKeys).
 * Reference: ../shared/docs/escrow-and-protectors.md §1 and §2.
 *
 * Error codes of the directory calls (the message says more):
 *   BD_ERR_IO           server unreachable, timeout, TLS or HTTP transport error, HTTP 5xx
 *   BD_ERR_WRONG_KEY    authentication failed (bind credentials, token rejected: HTTP 401)
 *   BD_ERR_READONLY     authenticated but not allowed (LDAP insufficientAccessRights,
 *                       Graph 403: missing BitLockerKey.Read.All or role)
 *   BD_ERR_NO_PROTECTOR nothing found (no object for that key ID, no such computer, Graph 404)
 *   BD_ERR_EXISTS       the object to add is already there
 *   BD_ERR_UNSUPPORTED  the directory cannot do it (schema without msFVE-*, no Graph backup)
 *   BD_ERR_CORRUPT      malformed reply (bad JSON, GUID not 16 bytes, ...)
 *   BD_ERR_INVALID      bad argument (key ID, URL, DN)
 */

/* A key ID as typed: the 8 hex digits of the recovery screen or a full protector GUID. */
struct bd_escrow_key_id {
	int full;                     /* 1: guid holds all 16 bytes; 0: only the first 4 (prefix) */
	uint8_t guid[16];             /* on-disk byte order (as bd_guid_parse) */
	char text[39];                /* "{1F9DA098-...}" or "1F9DA098", upper case */
};
int bd_escrow_key_id_parse(const char *text, struct bd_escrow_key_id *out);

/* One escrowed recovery password. */
struct bd_escrow_entry {
	uint8_t recovery_guid[16];    /* protector ID (msFVE-RecoveryGuid, Graph id) */
	int has_volume_guid;
	uint8_t volume_guid[16];      /* msFVE-VolumeGuid */
	int has_password;             /* 0: the directory withheld it (no right to read it) */
	int password_valid;           /* the text is a well-formed recovery password */
	char recovery_password[64];   /* SECRET: normalised 8x6 digits with dashes */
	char created[40];             /* as the directory gives it: CN time, whenCreated, createdDateTime */
	int64_t created_unix;         /* for sorting; 0 unknown */
	char dn[512];                 /* LDAP: the object's DN */
	char computer[512];           /* LDAP: the computer object's DN; Graph: the Entra deviceId */
	char volume_type[32];         /* Graph: "operatingSystemVolume", ...; LDAP: "" */
	size_t key_package_len;       /* LDAP: bytes of msFVE-KeyPackage (0: none) */
	const uint8_t *key_package;   /* LDAP: those bytes (freed with the list) */
};

/* Results are kept in locked memory and wiped by bd_escrow_list_free. Newest first. */
typedef struct bd_escrow_list bd_escrow_list;
size_t bd_escrow_list_count(const bd_escrow_list *l);
const struct bd_escrow_entry *bd_escrow_list_get(const bd_escrow_list *l, size_t i);
void bd_escrow_list_free(bd_escrow_list *l);

/* Which recovery-password protector of the volume does rp open? Fills guid (no unlock:
 * one key stretch per recovery-password protector). BD_ERR_WRONG_KEY / BD_ERR_NO_PROTECTOR. */
int bd_escrow_match_protector(bd_volume *v, const char *rp, uint8_t guid[16]);

/* ---- Active Directory over LDAP ---- */

struct bd_ldap_opts {
	const char *uri;              /* ldap://dc:389, ldaps://dc, ldapi://%2frun%2fslapd.sock */
	const char *base;             /* search base; NULL: the RootDSE's defaultNamingContext or first namingContexts */
	const char *bind_dn;          /* simple bind (NULL and no sasl_mech: anonymous) */
	const char *bind_password;    /* secret; copied to locked memory for the bind */
	const char *sasl_mech;        /* "GSSAPI", "EXTERNAL", ...: SASL bind instead of simple */
	int starttls;                 /* require StartTLS on ldap:// */
	const char *ca_file;          /* PEM CA certificates for TLS (NULL: LDAPTLS_CACERT / ldap.conf) */
	int timeout;                  /* seconds for connecting and each operation; 0: 30 */
	int insecure;                 /* allow a simple bind with a password over plain ldap:// (no TLS)
				         and honour LDAPTLS_REQCERT / TLS_REQCERT below "demand"; without
				         it a clear-text bind is refused (BD_ERR_INVALID) before anything
				         is sent, and server certificates are always checked */
};
typedef struct bd_ldap bd_ldap;
int bd_ldap_connect(const struct bd_ldap_opts *opts, bd_ldap **out);
void bd_ldap_close(bd_ldap *l);
const char *bd_ldap_base(const bd_ldap *l);
/* Search msFVE-RecoveryInformation objects by protector GUID (binary match, or the
 * {GUID} in the CN) or by 8-digit key ID (CN substring, checked against the GUID).
 * An empty list is a success; *out is always set on success. */
int bd_ldap_find(bd_ldap *l, const struct bd_escrow_key_id *id, bd_escrow_list **out);
/* Every msFVE-RecoveryInformation object of a computer: computer is its DN, or a name matched
 * against cn, sAMAccountName (NAME$) and dNSHostName. BD_ERR_NO_PROTECTOR: no such computer. */
int bd_ldap_find_computer(bd_ldap *l, const char *computer, bd_escrow_list **out);

/* What a backup writes (§1.5). */
struct bd_escrow_record {
	uint8_t recovery_guid[16];
	uint8_t volume_guid[16];
	int has_volume_guid;
	const char *recovery_password; /* secret */
	int64_t when;                  /* Unix time for the CN; 0: now */
};
/* "2019-12-11T16:17:02-08:00{1F9DA098-...}" in the local time zone (as Windows names it);
 * out >= 64 bytes. */
int bd_escrow_cn(const struct bd_escrow_record *r, char *out, size_t outlen);
/* "CN=<escaped CN>,<computer_dn>": the DN bd_ldap_backup adds (with the same r->when). */
int bd_escrow_dn(const struct bd_escrow_record *r, const char *computer_dn, char *out, size_t outlen);
/* Add CN=<time>{GUID} under computer_dn with msFVE-RecoveryPassword, -RecoveryGuid,
 * -VolumeGuid, as Windows writes it. dn_out (may be NULL) gets the new DN. */
int bd_ldap_backup(bd_ldap *l, const char *computer_dn, const struct bd_escrow_record *r,
		   char *dn_out, size_t dn_len);

/* ---- Entra ID over Microsoft Graph ---- */

struct bd_graph_opts {
	const char *graph_url;        /* NULL: https://graph.microsoft.com/v1.0 */
	const char *login_url;        /* NULL: https://login.microsoftonline.com */
	const char *tenant;           /* NULL: "organizations" */
	const char *client_id;        /* NULL: Microsoft Graph Command Line Tools (public client) */
	const char *scope;            /* NULL: <graph host>/BitLockerKey.Read.All (device code),
				         <graph host>/.default (client credentials) */
	const char *token;            /* bearer token already obtained (secret) */
	const char *client_secret;    /* client-credentials flow (secret) */
	const char *user_agent;       /* NULL: "bdkit/<version>" */
	const char *ca_file;          /* PEM CA certificates (NULL: the system store) */
	int timeout;                  /* seconds per HTTP request; 0: 60 */
	int insecure;                 /* allow plain http:// to hosts other than the loopback address */
};
typedef struct bd_graph bd_graph;
int bd_graph_open(const struct bd_graph_opts *opts, bd_graph **out);
void bd_graph_close(bd_graph *g);
/* Device-code sign-in (RFC 8628). show() is called once with what the user must do
 * (verification URL, user code, Entra's message); the call then polls until the user
 * signed in, declined (BD_ERR_WRONG_KEY) or the code expired (BD_ERR_INTERRUPTED). */
typedef void (*bd_graph_prompt_fn)(const char *verification_uri, const char *user_code,
				   const char *message, void *userdata);
int bd_graph_login_device_code(bd_graph *g, bd_graph_prompt_fn show, void *userdata);
/* Client-credentials sign-in with opts->client_secret. */
int bd_graph_login_client_secret(bd_graph *g);
/* GET recoveryKeys/{id}?$select=key. BD_ERR_NO_PROTECTOR on 404. */
int bd_graph_get_key(bd_graph *g, const uint8_t guid[16], bd_escrow_list **out);
/* List recoveryKeys (metadata only, all pages), optionally $filter=deviceId eq '...',
 * keeping those whose ID matches id (NULL: all); with_keys: also fetch each key. */
int bd_graph_find(bd_graph *g, const char *device_id, const struct bd_escrow_key_id *id, int with_keys,
		  bd_escrow_list **out);

/* ===================================================================== */
/* Recovery-password search (issue: rpsearch)                            */
/* ===================================================================== */

/*
 * Find a recovery password the user has only in damaged form: unreadable
 * digits ('?' or 'x'), a lost block ("??????" or "*"), misread or mistyped
 * digits, swapped adjacent digits, two blocks written in each other's place.
 * Each block is checked alone first (value a multiple of 11 and below 720896,
 * format.md §4.4; Windows' check digit d5 = (d0-d1+d2-d3+d4) mod 11 is the same
 * condition), so only whole candidates that pass cost a key stretch.
 * Candidates are numbered 0..count-1, fewest changes first; a search can be
 * stopped and continued from "every candidate below index N was tried".
 */
typedef struct bd_rpsearch bd_rpsearch;

/* bd_rp_block_check() result bits (0 = a valid block). */
enum { BD_RPB_NOT_MULT11 = 1, BD_RPB_TOO_LARGE = 2 };
int bd_rp_block_check(uint32_t value);
/* Windows' check digit for the first five digits "d0..d4" of a block; -1 when it
 * would be 10 (no valid block starts with those five digits). */
int bd_rp_check_digit(const char first5[5]);

/* Kinds of change a search may assume (bd_rpsearch_opts.edits). */
enum {
	BD_RPS_MISREAD    = 0x01,  /* a digit replaced by one commonly confused with it */
	BD_RPS_ANY_DIGIT  = 0x02,  /* a digit replaced by any other */
	BD_RPS_TRANSPOSE  = 0x04,  /* two adjacent digits of a block swapped */
	BD_RPS_SWAP_BLOCKS = 0x08, /* two blocks written in each other's place (one change) */
};
/* The built-in confusion table: digit pairs "06 08 09 14 17 27 35 38 49 56 58 68 79 89". */
extern const char bd_rps_default_confusions[];

struct bd_rpsearch_opts {
	unsigned edits;          /* BD_RPS_*; 0 = none, except that blocks failing the check are then
				    searched with BD_RPS_ANY_DIGIT | BD_RPS_TRANSPOSE (auto) */
	int max_changes;         /* changed digits per searched block, 0..6; < 0 = default (1) */
	uint8_t suspect;         /* bit i: search around block i+1 although it passes the check */
	const char *confusions;  /* pairs of digits ("17,38"); NULL = bd_rps_default_confusions */
};

/* Parse the pattern and enumerate. BD_ERR_INVALID (message names the block) for a
 * pattern that is not 8 blocks of 5-7 digits/unknowns, BD_ERR_UNSUPPORTED when the
 * search is too large to number (more than 2^62 candidates). An impossible pattern
 * is not an error: its count is 0 and bd_rpsearch_block() names the culprit. */
int bd_rpsearch_new(const char *pattern, const struct bd_rpsearch_opts *opts, bd_rpsearch **out);
void bd_rpsearch_free(bd_rpsearch *s);

/* How a block was read. */
enum bd_rpb_status {
	BD_RPB_KEPT = 0,       /* valid as typed, kept (not searched) */
	BD_RPB_UNKNOWN,        /* has unknown digits */
	BD_RPB_BAD,            /* all digits known but fails the check */
	BD_RPB_SUSPECT,        /* valid, searched because the caller marked it */
	BD_RPB_LENGTH,         /* 5 or 7 digits: one dropped or one extra */
};
struct bd_rpsearch_block {
	char typed[8];         /* normalised: digits and '?' */
	int status;            /* enum bd_rpb_status */
	int check;             /* bd_rp_block_check() of the typed value (BD_RPB_BAD), else 0 */
	uint64_t candidates;   /* values the block can take in this search */
	uint64_t by_changes[8];/* of which with 0, 1, ... changes */
};
int bd_rpsearch_block(const bd_rpsearch *s, int index, struct bd_rpsearch_block *out);

struct bd_rpsearch_summary {
	uint64_t count;        /* candidates */
	unsigned edits;        /* kinds of change in effect (after the automatic default) */
	int auto_edits;        /* edits were chosen automatically for failing blocks */
	int max_changes;
	size_t n_groups;       /* change patterns (blocks x changes x swaps) numbered */
};
int bd_rpsearch_summary(const bd_rpsearch *s, struct bd_rpsearch_summary *out);
uint64_t bd_rpsearch_count(const bd_rpsearch *s);
/* Candidate `index` as 48 digits with dashes (55 chars + NUL), and its number of changes. */
int bd_rpsearch_candidate(const bd_rpsearch *s, uint64_t index, char out[56], int *changes);

/* Stretches per second of this machine with `threads` threads (times one round; ~0.1 s). */
double bd_rpsearch_bench(unsigned threads);

struct bd_rpsearch_progress {
	uint64_t done_below;   /* every candidate below this index has been tried */
	uint64_t tried;        /* candidates tried in this run */
	double seconds;        /* since the run started */
	double rate;           /* candidates per second in this run */
};
struct bd_rpsearch_run_opts {
	unsigned threads;      /* 0 = one per online CPU */
	uint64_t start;        /* first index to try (a resumed search) */
	const char *key_id;    /* only the recovery-password protector whose ID starts so; NULL = all */
	volatile int *stop;    /* when set non-zero (e.g. by a signal handler) the run ends soon */
	unsigned interval_ms;  /* progress callback period (default 500) */
	/* Called from the calling thread; return non-zero to stop. */
	int (*progress)(const struct bd_rpsearch_progress *p, void *userdata);
	void *userdata;
};
struct bd_rpsearch_result {
	int found;
	uint64_t index;        /* of the match */
	int changes;
	char password[56];     /* with dashes; wiped by bd_rpsearch_result_wipe */
	char key_id[9];        /* protector that accepted it */
	uint8_t protector_guid[16];
	int verified;          /* the volume then unlocked through bd_unlock_recovery_password */
	size_t n_protectors;   /* recovery-password protectors tried per candidate */
	struct bd_rpsearch_progress last;
};
/* Try candidates from opts->start on against the volume's recovery-password
 * protectors, one stretch per candidate and protector, `threads` at a time.
 * 0 and res->found on a match (the volume is left unlocked when verified);
 * BD_ERR_WRONG_KEY when every candidate failed; BD_ERR_INTERRUPTED when stopped
 * (res->last.done_below says where to resume); BD_ERR_NO_PROTECTOR. */
int bd_rpsearch_run(const bd_rpsearch *s, bd_volume *v, const struct bd_rpsearch_run_opts *opts,
		    struct bd_rpsearch_result *res);
void bd_rpsearch_result_wipe(struct bd_rpsearch_result *res);

/* Resumable state: a text file holding the search's identity (a hash over the volume
 * GUID, the pattern, the options and the protector choice; no digits of the password)
 * and its progress. Saved atomically (temporary file + rename, mode 0600). */
enum bd_rps_status { BD_RPS_RUNNING = 0, BD_RPS_INTERRUPTED, BD_RPS_FOUND, BD_RPS_EXHAUSTED };
struct bd_rpsearch_state {
	uint8_t id[32];
	uint64_t count;
	uint64_t done_below;
	int status;            /* enum bd_rps_status */
};
void bd_rpsearch_state_id(const bd_rpsearch *s, const uint8_t volume_guid[16], const char *key_id,
			  uint8_t id[32]);
int bd_rpsearch_state_save(const char *path, const struct bd_rpsearch_state *st);
/* BD_ERR_IO (cannot read), BD_ERR_INVALID (not a state file / damaged). */
int bd_rpsearch_state_load(const char *path, struct bd_rpsearch_state *st);
const char *bd_rps_status_name(int status);

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
/* Memory images: keys in RAM images and process cores (issue: inputs)   */
/* ===================================================================== */

/*
 * A memory image: raw (dd of /dev/mem, a VM's memory file, winpmem raw), LiME, an ELF core
 * (gcore, QEMU/libvirt dump-guest-memory) or a Windows crash dump (full or bitmap), in any
 * container bd_io_open reads. Only the parts that hold memory are scanned.
 */
enum bd_mem_format { BD_MEM_AUTO = 0, BD_MEM_RAW, BD_MEM_LIME, BD_MEM_ELF, BD_MEM_CRASHDUMP };
enum bd_mem_addr_kind { BD_MEM_ADDR_NONE = 0, BD_MEM_ADDR_PHYSICAL, BD_MEM_ADDR_VIRTUAL };
const char *bd_mem_format_name(int format);
/* "auto", "raw", "lime", "elf", "crashdump" -> enum; BD_ERR_INVALID. */
int bd_mem_format_parse(const char *name);

typedef struct bd_memimage bd_memimage;
/* BD_ERR_CORRUPT (damaged framing), BD_ERR_UNSUPPORTED (hibernation file, compressed dump). */
int bd_memimage_open(const char *path, int format, bd_memimage **out);
/* Same over an io (owned, even on failure). */
int bd_memimage_open_io(struct bd_io *io, int format, bd_memimage **out);
void bd_memimage_close(bd_memimage *m);
struct bd_memimage_info {
	int format;
	const char *format_name;
	char description[96];    /* "LiME, 3 ranges", "Windows 64-bit full crash dump, 4 runs" */
	char container[64];
	uint64_t file_size;
	uint64_t data_bytes;     /* bytes of memory the file holds */
	size_t n_runs;
	int addr_kind;           /* enum bd_mem_addr_kind */
	int truncated;           /* the file ends inside a range */
};
int bd_memimage_info(const bd_memimage *m, struct bd_memimage_info *out);
/* Memory address of a file offset; BD_ERR_INVALID when the offset is not memory. */
int bd_memimage_address(const bd_memimage *m, uint64_t file_off, uint64_t *addr);

/*
 * Search a memory image for the keys of a volume: AES key schedules (128 and 256-bit,
 * encryption and decryption schedules, either byte order: both halves of an XTS or Elephant
 * key each have one) and raw 32-byte VMK candidates. Streaming over the image with `threads`
 * workers (memory: about threads x 8 MiB whatever the image size). Only keys the volume proves
 * are kept: an FVEK (or pair of halves) whose decryption of a known sector gives a file system
 * structure, a VMK that authenticates the volume's encrypted FVEK (AES-CCM). With v NULL the
 * search only collects every AES key it sees (unproven).
 */
struct bd_memkeys_opts {
	unsigned threads;        /* 0: one per online CPU */
	int no_raw;              /* skip raw 32-byte VMK candidates (schedules only) */
	unsigned raw_align;      /* alignment of raw VMK candidates in the image; 0 = 8 */
	int keep_going;          /* scan the whole image even after the volume accepted a key */
	const uint8_t *extra;    /* extra candidate keys (e.g. aeskeyfind's output), n_extra of them, */
	size_t n_extra;          /* each 32 bytes with its length in extra_len */
	const uint8_t *extra_len;
	volatile int *stop;      /* set non-zero to stop (BD_ERR_INTERRUPTED) */
	bd_progress_fn progress; /* called from the calling thread every ~200 ms; nonzero cancels */
	void *progress_data;
};
enum bd_memkey_kind {
	BD_MEMKEY_ENC_SCHEDULE = 1, BD_MEMKEY_DEC_SCHEDULE = 2, BD_MEMKEY_RAW = 3, BD_MEMKEY_GIVEN = 4,
};
struct bd_memkey {
	uint8_t key[32];         /* secret */
	uint8_t len;             /* 16 or 32 */
	uint8_t kind;            /* enum bd_memkey_kind */
	uint8_t swapped;         /* schedule stored as byte-reversed 32-bit words */
	uint64_t file_off;       /* first place seen */
	uint64_t addr;           /* its memory address (see bd_memimage_info.addr_kind) */
	uint32_t count;          /* places seen */
};
struct bd_memkeys_result {
	uint64_t bytes_scanned;
	double seconds;
	int complete;            /* every range was scanned (not stopped early after a proof) */
	uint64_t raw_tested;     /* raw VMK candidates tried (after the entropy filter) */
	size_t n_keys;           /* distinct AES keys seen (schedules, raw hits, given) */
	struct bd_memkey *keys;  /* secret; freed by bd_memkeys_result_free */
	/* proven by the volume: */
	int fvek_found;
	uint16_t method;
	uint8_t fvek[64];        /* secret: as the FVEK datum holds it (XTS: k1||k2; Elephant: key at 0, tweak at 32) */
	size_t fvek_len;
	int fvek_part[2];        /* index into keys of the data key and (XTS, Elephant) the tweak key, else -1 */
	int vmk_found;
	uint8_t vmk[32];         /* secret */
	int vmk_part;            /* index into keys */
	int unlocked;            /* the volume was unlocked with the VMK (preferred) or the FVEK */
};
/* 0 with the volume unlocked when a key was proven (v given) or after the scan (v NULL);
 * BD_ERR_WRONG_KEY when no key in the image opens the volume; BD_ERR_INTERRUPTED. */
int bd_memkeys_search(bd_memimage *m, bd_volume *v, const struct bd_memkeys_opts *opts,
		      struct bd_memkeys_result *res);
void bd_memkeys_result_free(struct bd_memkeys_result *res);

/* ===================================================================== */
/* Measured-boot event logs and diagnosis (issue: diagnose)              */
/* ===================================================================== */

/*
 * TCG PC Client measured-boot logs (legacy SHA-1 and crypto-agile), as
 * Windows keeps them in C:\Windows\Logs\MeasuredBoot\*.log and Linux exports
 * them in /sys/kernel/security/tpm0/binary_bios_measurements.
 * Reference: ../shared/docs/diagnose.md.
 */
typedef struct bd_eventlog bd_eventlog;

#define BD_PCR_COUNT 24
#define BD_EVENTLOG_MAX_BANKS 8

/* TPM_ALG_ID values of the digest banks. */
enum bd_hash_alg {
	BD_ALG_SHA1 = 0x0004, BD_ALG_SHA256 = 0x000B, BD_ALG_SHA384 = 0x000C,
	BD_ALG_SHA512 = 0x000D, BD_ALG_SM3_256 = 0x0012,
};
const char *bd_hash_alg_name(uint16_t alg);        /* "sha256"; "alg-0x1234" style text for others: NULL */
int bd_hash_alg_parse(const char *name);           /* "sha1" -> 0x0004; BD_ERR_INVALID */
const char *bd_event_type_name(uint32_t type);     /* "EV_SEPARATOR"; NULL when unknown */
const char *bd_sipa_type_name(uint32_t type);      /* "BITLOCKER_UNLOCK"; NULL when unknown */

/* Parse a whole log (a copy is kept). BD_ERR_TRUNCATED / BD_ERR_CORRUPT name the
 * byte offset of the bad record. */
int bd_eventlog_parse(const void *buf, size_t len, bd_eventlog **out);
int bd_eventlog_open(const char *path, bd_eventlog **out);
void bd_eventlog_free(bd_eventlog *log);

/* FVEB_UNLOCK_FLAG_* of the SIPA BITLOCKER_UNLOCK event. */
enum bd_unlock_flag {
	BD_UNLOCK_CACHED = 0x1, BD_UNLOCK_MEDIA = 0x2, BD_UNLOCK_TPM = 0x4, BD_UNLOCK_PIN = 0x10,
	BD_UNLOCK_EXTERNAL = 0x20, BD_UNLOCK_RECOVERY = 0x40, BD_UNLOCK_PASSPHRASE = 0x80,
	BD_UNLOCK_NBP = 0x100, BD_UNLOCK_AUK_OSFVEINFO = 0x200,
};

struct bd_eventlog_info {
	size_t size;                 /* bytes of the log */
	int crypto_agile;            /* 1: TCG_PCR_EVENT2 records after a Spec ID Event03 */
	int wbcl_header;             /* the file began with a 16-byte WBCL_LogHdr */
	uint32_t platform_class;     /* Spec ID event (agile logs) */
	uint8_t spec_major, spec_minor, spec_errata, uintn_size;
	size_t n_events;             /* all records, including EV_NO_ACTION ones */
	size_t n_banks;
	uint16_t bank_alg[BD_EVENTLOG_MAX_BANKS];
	uint16_t bank_size[BD_EVENTLOG_MAX_BANKS];
	int bank_replayed[BD_EVENTLOG_MAX_BANKS];  /* 0 when the hash is not available (PCRs unknown) */
	int startup_locality;        /* -1: no StartupLocality event */
	/* a crypto-agile record without one bank's digest makes that bank unusable (never replayed) */
	size_t bank_missing[BD_EVENTLOG_MAX_BANKS];       /* measured records lacking the bank's digest */
	size_t bank_missing_first[BD_EVENTLOG_MAX_BANKS]; /* index of the first of them */
	int digest_mismatches;       /* data-hashed events whose digest is not H(data) */
	int error_separators;        /* EV_SEPARATOR with the error value (firmware error) */
	/* UEFI facts (-1 = not in the log) */
	int secure_boot;             /* SecureBoot variable in PCR 7: 1 on, 0 off */
	char crtm_version[128];      /* EV_S_CRTM_VERSION, printable (a GUID version as a GUID); "" when absent */
	int dma_protection_disabled; /* PCR 7 EV_EFI_ACTION "DMA Protection Disabled" */
	int uefi_debug_mode;         /* PCR 7 EV_EFI_ACTION "UEFI Debug Mode" */
	/* Does the log run to the end of a boot? A log cut at a record boundary is well-formed;
	 * these say what is missing (pre-OS separators, a boot loader, the Windows part ...). */
	int complete;
	char incomplete[200];        /* why not, "" when complete */
	uint64_t incomplete_offset;  /* where the log stops short */
	int trust_point;             /* index of Windows' trailing trust-point record (TPM quote), -1 none */
	/* Windows facts, from the SIPA events (EV_EVENT_TAG in PCRs 11-14) */
	int windows;                 /* SIPA events were found */
	int has_boot_count;
	uint64_t boot_count;         /* SIPA BOOTCOUNTER */
	int has_unlock;
	uint32_t unlock_flags;       /* OR of every BITLOCKER_UNLOCK payload (enum bd_unlock_flag) */
	int boot_debugging, kernel_debugging, test_signing, code_integrity; /* -1 not logged, 0, 1 */
	int safe_mode, winpe;        /* -1 / 0 / 1 */
	int tpm_failure;             /* SIPAERROR_TPMFAILURE record seen */
	char boot_manager[128];      /* first SIPA loaded-module file path (UTF-8), "" if none */
};
int bd_eventlog_info(const bd_eventlog *log, struct bd_eventlog_info *out);
/* "TPM", "TPM+PIN", "recovery", ... for a flag word. */
void bd_unlock_flags_format(uint32_t flags, char *out, size_t outlen);

struct bd_event_digest {
	uint16_t alg;
	uint16_t size;
	const uint8_t *value;        /* points into the log */
	int matches_data;            /* 1 / 0: this digest is / is not the hash of the data; -1 not checkable */
};
struct bd_event {
	size_t index;
	uint64_t offset;             /* of the record in the file */
	uint32_t pcr;                /* 0xFFFFFFFF for Windows' trailing non-measured record */
	uint32_t type;
	const char *type_name;       /* never NULL ("unknown") */
	int measured;                /* extended into a PCR by the replay */
	int digest_ok;               /* 1 every digest = H(data), 0 one differs, -1 not a data-hashed type */
	size_t n_digests;
	struct bd_event_digest digests[BD_EVENTLOG_MAX_BANKS];
	uint32_t missing_banks;      /* bit b: a measured record without bank b's digest (info.bank_alg[b]) */
	const uint8_t *data;
	size_t data_len;
	const uint8_t *record;       /* the whole record as stored (header, digests, data) */
	size_t record_len;
	size_t n_sipa;               /* SIPA events inside (flattened, see bd_event_sipa) */
};
int bd_eventlog_event(const bd_eventlog *log, size_t index, struct bd_event *out);
/* One-line human description of the event's payload (sanitized: no control characters). */
void bd_event_describe(const bd_eventlog *log, size_t index, char *out, size_t outlen);
/* Every decoded field of the event as one JSON object ({"summary":..., "variable_name":...,
 * "partitions":[...] ...}); malloc'ed, free() it. NULL when out of memory or no such event. */
char *bd_event_decoded_json(const bd_eventlog *log, size_t index);

struct bd_sipa_event {
	uint32_t type;
	const char *name;            /* NULL when unknown */
	unsigned depth;              /* 0 = top level of the EV_EVENT_TAG */
	const uint8_t *data;
	size_t len;
};
int bd_event_sipa(const bd_eventlog *log, size_t index, size_t j, struct bd_sipa_event *out);
/* Human text for a SIPA payload ("0x00000004 (TPM)", "\\Windows\\system32\\winload.efi"). */
void bd_sipa_describe(const struct bd_sipa_event *e, char *out, size_t outlen);

/* A partition entry of an EV_EFI_GPT_EVENT(2) (j from 0). BD_ERR_INVALID when the event has none. */
struct bd_gpt_partition {
	uint8_t type_guid[16], unique_guid[16];
	uint64_t first_lba, last_lba, attributes;
	char name[80];               /* UTF-8, sanitized */
	const char *type_name;       /* "EFI system", "Microsoft basic data" ...; "" when unknown */
};
size_t bd_event_gpt_count(const bd_eventlog *log, size_t index);
int bd_event_gpt_partition(const bd_eventlog *log, size_t index, size_t j, struct bd_gpt_partition *out);

/* Replayed PCR value of one bank. BD_ERR_INVALID if the bank is not in the log or
 * the PCR index is out of range, BD_ERR_UNSUPPORTED if the hash is not available. */
int bd_eventlog_pcr(const bd_eventlog *log, uint16_t alg, unsigned pcr, uint8_t *out, size_t *outlen);

/* ---- TPM quote in Windows' trust-point record ---- */

#define BD_QUOTE_MAX_SEL 4
struct bd_quote {
	int tpm_version;             /* 1: TPM 1.2 TPM_QUOTE_INFO(2), 2: TPMS_ATTEST */
	size_t n_selections;
	uint16_t sel_alg[BD_QUOTE_MAX_SEL];   /* bank of each PCR selection (SHA-1 on TPM 1.2) */
	uint32_t sel_mask[BD_QUOTE_MAX_SEL];
	unsigned sel_size;           /* TPM 1.2: bytes of the selection bitmap */
	int selection_unknown;       /* TPM_QUOTE_INFO: the selection is not in the structure */
	uint16_t digest_alg;
	uint8_t pcr_digest[64];
	size_t digest_len;
	uint8_t nonce[64];           /* TPM 1.2 nonce / TPM 2.0 extraData */
	size_t nonce_len;
	uint64_t clock, firmware_version;
	uint32_t reset_count, restart_count;
	size_t signed_len;           /* bytes of the structure the signature covers */
};
/* Parse TPMS_ATTEST (quote), TPM_QUOTE_INFO or TPM_QUOTE_INFO2. BD_ERR_CORRUPT otherwise. */
int bd_quote_parse(const void *data, size_t len, struct bd_quote *out);

/* The items of a trust-point record (SIPA TRUSTPOINT_AGGREGATION, Windows' last record); pointers into data. */
struct bd_trustpoint {
	const uint8_t *quote, *signature, *aik_id, *aik_digest, *aik_pub;
	size_t quote_len, signature_len, aik_id_len, aik_digest_len, aik_pub_len;
	int sizes_repaired;          /* items whose size field ran past the record (real logs have them) */
};
int bd_trustpoint_parse(const void *data, size_t len, struct bd_trustpoint *out);

struct bd_quote_check {
	int present;                 /* the log ends with a trust-point record holding a quote */
	size_t index;                /* of that record */
	uint64_t offset;
	struct bd_quote quote;
	uint8_t replay_digest[64];   /* what the replay of the records before it gives */
	int matches;                 /* 1 log matches the TPM's quote, 0 does NOT, -1 cannot tell (detail) */
	int signature;               /* 1 verified with the AIK, 0 bad signature, -1 not checked (no AIK) */
	char signature_scheme[48];
	char aik_name[64];           /* AIKID ("Windows AIK") */
	uint8_t aik_digest[20];
	int has_aik_digest;
	int aik_digest_matches;      /* the AIK used has the digest the record names: 1/0, -1 n/a */
	char detail[256];            /* why matches is -1, or why the record was not read */
};
/* Check the log's own quote; aik (PEM or DER public key, may be NULL) verifies the signature. */
int bd_eventlog_quote(const bd_eventlog *log, const void *aik, size_t aik_len, struct bd_quote_check *out);

/* ---- PE/EFI images: Authenticode (what the firmware measures into PCR 4 and checks against db) ---- */

/* The Authenticode hash of a PE/COFF image (alg: BD_ALG_SHA1/256/384/512). BD_ERR_CORRUPT: not a PE image. */
int bd_authenticode_hash(const void *image, size_t n, uint16_t alg, uint8_t *out, size_t *outlen);
struct bd_pe_signature {
	uint64_t offset;             /* of its WIN_CERTIFICATE in the image */
	char signer[256], issuer[256];
	uint16_t digest_alg;
	uint8_t digest[64];          /* the Authenticode digest the signature covers */
	size_t digest_len;
	int digest_matches;          /* ... equals the image's own */
	int signature_valid;         /* the PKCS#7 signature verifies with the signer's certificate */
	long db_index;               /* the db entry (certificate) it chains to, -1 none */
	uint64_t db_offset;          /* of that entry in the db value */
	char db_subject[256];
	const uint8_t *db_entry;     /* that EFI_SIGNATURE_DATA (owner GUID + certificate), pointing into db */
	size_t db_entry_len;
	char problem[128];           /* why it cannot be used, "" when fine */
};
/* Every PKCS#7 signature of the image; db (the value of the db variable, EFI_SIGNATURE_LISTs, may be
 * NULL) tells which entry authorises each. */
int bd_pe_signatures(const void *image, size_t n, const void *db, size_t db_len, struct bd_pe_signature *out,
		     size_t max, size_t *count);

/* One line of evidence, with the events it is about (index and byte offset in each log). */
struct bd_evidence {
	char *text;                  /* full text, sanitized, never cut */
	unsigned pcr;                /* BD_PCR_COUNT when no PCR */
	long good_index, bad_index;  /* -1 when the event is not in that log */
	uint64_t good_offset, bad_offset;
};

/* ---- prediction: will a planned change send the machine into recovery? ---- */

enum bd_change_kind {
	BD_CHANGE_DB = 1,            /* data: authenticated variable update or EFI_SIGNATURE_LISTs */
	BD_CHANGE_DBX, BD_CHANGE_KEK, BD_CHANGE_PK,
	BD_CHANGE_BOOT_APP,          /* data: a PE/EFI image replacing a PCR 4 boot application */
	BD_CHANGE_BOOT_ORDER,        /* boot_order */
	BD_CHANGE_SECURE_BOOT,       /* secure_boot 0/1 */
};
#define BD_MAX_BOOT_ORDER 128
struct bd_change {
	int kind;
	const uint8_t *data;
	size_t len;
	const char *target;          /* BOOT_APP: replace the application whose device path contains this
	                              * (case-insensitive); NULL: the first one loaded from a disk */
	int replace;                 /* db/dbx/KEK: the update replaces the variable (default: appended) */
	uint16_t boot_order[BD_MAX_BOOT_ORDER];
	size_t n_boot_order;
	int secure_boot;
};
struct bd_prediction {
	uint16_t bank;               /* the bank the verdict is for (SHA-256 when the log has it) */
	size_t digest_len;
	uint32_t bound_pcrs;
	uint32_t changed_pcrs;       /* every PCR whose value changes */
	int recovery;                /* a bound PCR changes: the TPM will not unseal */
	int will_not_boot;           /* Secure Boot will refuse a component (no boot at all, not a recovery) */
	uint8_t current[BD_PCR_COUNT][64], predicted[BD_PCR_COUNT][64];
	size_t n_notes;
	struct bd_evidence *notes;   /* what each change does (good_index: the event in the current log) */
};
/* Apply the changes, in order, to the log's events as the firmware will measure them, replay. */
int bd_predict(const bd_eventlog *log, const struct bd_change *changes, size_t n, uint32_t pcr_mask, uint16_t bank,
	       struct bd_prediction **out);
void bd_prediction_free(struct bd_prediction *p);
/* The value of a PCR 7 Secure Boot variable as the log measured it (pointer into the log). */
int bd_eventlog_variable(const bd_eventlog *log, const char *name, const uint8_t **data, size_t *len, size_t *index);

/* ---- diagnosis ---- */

enum bd_cause {
	BD_CAUSE_UNEXPLAINED = 0,     /* a bound PCR changed, no rule names the event */
	BD_CAUSE_FIRMWARE_UPDATE,     /* PCR 0: S-CRTM version / firmware code */
	BD_CAUSE_PLATFORM_CONFIG,     /* PCR 1: firmware settings, tables, hardware config */
	BD_CAUSE_BOOT_ORDER,          /* PCR 1/4/5: boot order / boot attempts from other devices */
	BD_CAUSE_BOOT_MEDIA,          /* PCR 4: an app from CD/DVD/USB/network ran before the boot manager */
	BD_CAUSE_OPTION_ROM,          /* PCR 2/3: add-in card, docking station, option ROM changed */
	BD_CAUSE_BOOT_MANAGER,        /* PCR 4 (8-10 on BIOS): a new or changed boot manager */
	BD_CAUSE_PARTITION_TABLE,     /* PCR 5: GPT/MBR partition table changed */
	BD_CAUSE_SECURE_BOOT_DISABLED,/* PCR 7: SecureBoot turned off (or on) */
	BD_CAUSE_SECURE_BOOT_POLICY,  /* PCR 7: another Secure Boot policy measurement changed */
	BD_CAUSE_SECURE_BOOT_AUTHORITY, /* PCR 7: a boot component is now signed by another authority */
	BD_CAUSE_BITLOCKER_STATE,     /* PCR 11: BitLocker access-control measurement differs */
	BD_CAUSE_DEBUG_POLICY,        /* boot/kernel debugging, test signing, code integrity off */
	BD_CAUSE_PIN_LOCKOUT,         /* recovery with equal PCRs and a PIN protector */
	BD_CAUSE_NO_PCR_CHANGE,       /* recovery with equal PCRs: TPM cleared, lockout, BCD, user */
	BD_CAUSE_TPM_PROTECTOR_MISSING,
	BD_CAUSE_TPM_FAILURE,         /* SIPA TPM failure record */
	BD_CAUSE_STARTUP_KEY,         /* startup-key protector but the key was not used */
	BD_CAUSE_DIFFERENT_PLATFORM,  /* the two logs come from different machines */
	BD_CAUSE_FIRMWARE_ERROR,      /* error separator in the bad boot */
	BD_CAUSE_SB_PK,               /* PCR 7: platform key (PK) changed */
	BD_CAUSE_SB_KEK,              /* PCR 7: key exchange keys (KEK) changed */
	BD_CAUSE_SB_DB,               /* PCR 7: allowed signature database (db) changed */
	BD_CAUSE_SB_DBX,              /* PCR 7: forbidden signature database (dbx) changed */
	BD_CAUSE_SB_CONFIG,           /* PCR 7: another Secure Boot variable (dbt, dbr, AuditMode ...) */
	BD_CAUSE_DMA_PROTECTION,      /* PCR 7: "DMA Protection Disabled" */
	BD_CAUSE_UEFI_DEBUG,          /* PCR 7: "UEFI Debug Mode" */
	BD_CAUSE_AUTHORITY_ADDED,     /* PCR 7: code signed by an authority not used before ran */
	BD_CAUSE_AUTHORITY_REMOVED,   /* PCR 7: an authority used before was not needed (component gone) */
	BD_CAUSE_BANK_SWITCH,         /* the TPM's active PCR bank(s) changed between the boots */
	BD_CAUSE_VOLATILE,            /* a PCR whose events differ between good boots too */
	BD_CAUSE_TPM_CLEARED,         /* same machine, but the TPM's identity (AIK, boot counter) restarted */
	BD_CAUSE_NOT_COMPARED,        /* recovery boot with no good boot to compare: PCR changes unseen */
	BD_CAUSE__COUNT
};
enum bd_confidence { BD_CONF_LOW = 1, BD_CONF_MEDIUM = 2, BD_CONF_HIGH = 3 };
const char *bd_cause_id(int cause);          /* "secure-boot-dbx" */
const char *bd_cause_title(int cause);       /* Microsoft's wording of the cause */
const char *bd_cause_advice(int cause);
const char *bd_confidence_name(int conf);    /* "low", "medium", "high" */

#define BD_FINDING_MAX_EVIDENCE 64
struct bd_finding {
	int cause;                   /* enum bd_cause */
	int confidence;              /* enum bd_confidence */
	uint32_t pcrs;               /* PCRs this finding explains (0: not a PCR change) */
	int bound;                   /* 1: those PCRs are in the protector's profile (or no PCR involved) */
	size_t n_evidence;
	size_t evidence_dropped;     /* lines beyond BD_FINDING_MAX_EVIDENCE (counted, not kept) */
	struct bd_evidence *evidence;
};

/* What is known of every boot of a MeasuredBoot folder: kept small, so that a folder of any
 * size is examined one log at a time (the diagnosis then reopens only the two it compares). */
typedef struct bd_bootset bd_bootset;
int bd_bootset_new(bd_bootset **out);
void bd_bootset_free(bd_bootset *s);
/* Record one boot's log (name: its file name, "<boot>-<resume>.log" gives the resume count).
 * The log may be freed afterwards. *id receives the boot's number in the set. */
int bd_bootset_add(bd_bootset *s, const char *name, const bd_eventlog *log, size_t *id);
size_t bd_bootset_count(const bd_bootset *s);
struct bd_boot_info {
	const char *name;
	int has_boot_count;
	uint64_t boot_count;
	long resume_count;           /* from the file name; -1 when it does not say */
	int has_unlock;
	uint32_t unlock_flags;
	int recovery;                /* unlocked with the recovery key */
	int clean;                   /* unlocked by the TPM, no recovery, complete log */
	int complete;
	int secure_boot;             /* -1 not logged */
};
int bd_bootset_boot(const bd_bootset *s, size_t id, struct bd_boot_info *out);
/* Bad = the newest boot unlocked by recovery; good = the newest clean boot before it, a cold boot
 * preferred to a resume (*good = (size_t)-1 when none). BD_ERR_INVALID when no boot is a recovery. */
int bd_bootset_pick(const bd_bootset *s, size_t *good, size_t *bad);
/* Boot ids in boot order (boot counter, then resume counter, then name). */
int bd_bootset_order(const bd_bootset *s, size_t *ids);

struct bd_diag_opts {
	uint32_t pcr_mask;           /* bound PCRs; 0 = Windows default (7,11 with Secure Boot, else 0,2,4,11) */
	uint16_t bank;               /* 0 = SHA-256 if both logs have it, else SHA-1, else the first common */
	int protector_known;         /* the fields below come from the volume */
	int has_tpm_protector;
	uint16_t tpm_protector_type; /* 0x0100 TPM, 0x0500 TPM+PIN, 0x0300 TPM+key, ... */
	const bd_bootset *boots;     /* every boot of the folder (optional): volatile PCRs, boot counters */
	size_t good_id, bad_id;      /* the compared boots' ids in boots ((size_t)-1 for none) */
};

struct bd_diagnosis {
	uint16_t bank;               /* bank compared (0: none in common) */
	uint16_t good_banks_mask, bad_banks_mask;  /* usable banks: bit 0 sha1, 1 sha256, 2 sha384, 3 sha512 */
	uint32_t bound_pcrs;
	int profile_default;         /* bound_pcrs was the Windows default, not given */
	uint32_t differing_pcrs;     /* every PCR 0-23 whose replay differs (in the compared bank) */
	uint32_t volatile_pcrs;      /* PCRs whose events differ between good boots as well */
	size_t good_boots_seen;      /* clean boots that told volatile PCRs apart */
	int same_machine;            /* 1 same, 0 different, -1 unsure (no good boot: -1) */
	int different_platform;      /* same_machine == 0 */
	size_t n_identity;
	char **identity;             /* evidence of (not) being the same machine, one line each */
	int have_good;
	int compared;                /* events of the two boots were compared */
	int good_unlock, bad_unlock; /* unlock flags, -1 when not logged */
	size_t n_findings;           /* bound findings first, most confident first */
	struct bd_finding *findings;
};

/* Compare a good boot (may be NULL) with the bad one and explain. */
int bd_diagnose(const bd_eventlog *good, const bd_eventlog *bad, const struct bd_diag_opts *opts,
		struct bd_diagnosis **out);
void bd_diagnosis_free(struct bd_diagnosis *d);

#ifdef __cplusplus
}
#endif
#endif /* BDKIT_H */
