/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbdkit: TCG measured-boot event logs, PCR prediction, quotes, Authenticode, diagnosis.
 * Part of the public API; <bdkit/bdkit.h> includes every wing header (conventions there).
 */
#ifndef BDKIT_TCG_H
#define BDKIT_TCG_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

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
	size_t size;  /* sizeof(struct bd_diag_opts): set by BD_DIAG_OPTS_INIT(...) */
	uint32_t pcr_mask;           /* bound PCRs; 0 = Windows default (7,11 with Secure Boot, else 0,2,4,11) */
	uint16_t bank;               /* 0 = SHA-256 if both logs have it, else SHA-1, else the first common */
	int protector_known;         /* the fields below come from the volume */
	int has_tpm_protector;
	uint16_t tpm_protector_type; /* 0x0100 TPM, 0x0500 TPM+PIN, 0x0300 TPM+key, ... */
	const bd_bootset *boots;     /* every boot of the folder (optional): volatile PCRs, boot counters */
	size_t good_id, bad_id;      /* the compared boots' ids in boots ((size_t)-1 for none) */
};
#define BD_DIAG_OPTS_INIT(...) { .size = sizeof(struct bd_diag_opts), __VA_ARGS__ }

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
#endif /* BDKIT_TCG_H */
