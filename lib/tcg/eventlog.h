/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Payload decoders shared by the event-log parser and the diagnosis (eventlog.c, diagnose.c). */
#ifndef BDKIT_EVENTLOG_H
#define BDKIT_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bdkit/tcg.h"

/* Event types used by name (diagnose.md §1.3). */
enum {
	EV_PREBOOT_CERT = 0x0, EV_POST_CODE = 0x1, EV_NO_ACTION = 0x3, EV_SEPARATOR = 0x4,
	EV_ACTION = 0x5, EV_EVENT_TAG = 0x6, EV_S_CRTM_CONTENTS = 0x7, EV_S_CRTM_VERSION = 0x8,
	EV_CPU_MICROCODE = 0x9, EV_PLATFORM_CONFIG_FLAGS = 0xA, EV_TABLE_OF_DEVICES = 0xB,
	EV_COMPACT_HASH = 0xC, EV_IPL = 0xD, EV_IPL_PARTITION_DATA = 0xE, EV_NONHOST_CODE = 0xF,
	EV_NONHOST_CONFIG = 0x10, EV_NONHOST_INFO = 0x11, EV_OMIT_BOOT_DEVICE_EVENTS = 0x12,
	EV_EFI_VARIABLE_DRIVER_CONFIG = 0x80000001, EV_EFI_VARIABLE_BOOT = 0x80000002,
	EV_EFI_BOOT_SERVICES_APPLICATION = 0x80000003, EV_EFI_BOOT_SERVICES_DRIVER = 0x80000004,
	EV_EFI_RUNTIME_SERVICES_DRIVER = 0x80000005, EV_EFI_GPT_EVENT = 0x80000006,
	EV_EFI_ACTION = 0x80000007, EV_EFI_PLATFORM_FIRMWARE_BLOB = 0x80000008,
	EV_EFI_HANDOFF_TABLES = 0x80000009, EV_EFI_PLATFORM_FIRMWARE_BLOB2 = 0x8000000A,
	EV_EFI_HANDOFF_TABLES2 = 0x8000000B, EV_EFI_VARIABLE_BOOT2 = 0x8000000C,
	EV_EFI_GPT_EVENT2 = 0x8000000D, EV_EFI_HCRTM_EVENT = 0x80000010,
	EV_EFI_VARIABLE_AUTHORITY = 0x800000E0,
};

/* SIPA event types used by name (diagnose.md §2.3). */
enum {
	SIPA_AGGREGATION = 0x40000000, SIPA_NONMEASURED = 0x80000000,
	SIPA_BOOTCOUNTER = 0x00020002, SIPA_BITLOCKER_UNLOCK = 0x00020005,
	SIPA_EVENTCOUNTER = 0x00020006, SIPA_COUNTERID = 0x00020007,
	SIPA_TPMFAILURE = 0x80030002, SIPA_TRUSTPOINT = 0xC0010004,
	SIPA_QUOTE = 0x80080001, SIPA_QUOTESIGNATURE = 0x80080002, SIPA_AIKID = 0x80080003,
	SIPA_SBCP_INFO = 0x00050029, SIPA_AUTHORITYPUBKEY = 0x00060002, SIPA_LOADEDMODULE = 0x40010003,
	SIPA_BOOTDEBUGGING = 0x00040001, SIPA_BOOT_REVOCATION_LIST = 0x00040002,
	SIPA_OSKERNELDEBUG = 0x00050001, SIPA_CODEINTEGRITY = 0x00050002, SIPA_TESTSIGNING = 0x00050003,
	SIPA_SAFEMODE = 0x00050005, SIPA_WINPE = 0x00050006, SIPA_OS_REVOCATION_LIST = 0x00050013,
	SIPA_FILEPATH = 0x00070001, SIPA_AUTHENTICODEHASH = 0x00070004, SIPA_AIKPUBDIGEST = 0x80080004,
	SIPA_AUTHORITYISSUER = 0x00070005, SIPA_AUTHORITYPUBLISHER = 0x00070008,
};

/* Where a UEFI device path points. */
enum ev_medium { MEDIUM_UNKNOWN = 0, MEDIUM_DISK, MEDIUM_USB, MEDIUM_CDROM, MEDIUM_NETWORK, MEDIUM_FIRMWARE };
const char *ev_medium_name(int medium);

/* UEFI_VARIABLE_DATA (EV_EFI_VARIABLE_*). 0 or -1 when malformed. */
struct ev_var {
	uint8_t guid[16];
	char name[64];               /* UTF-8 */
	const uint8_t *data;
	size_t len;
};
int ev_parse_var(const uint8_t *d, size_t n, struct ev_var *v);

/* UEFI_IMAGE_LOAD_EVENT: device path as text and its medium. 0 or -1. */
int ev_image_path(const uint8_t *d, size_t n, char *out, size_t outlen, int *medium);
/* A device path (list of nodes) as text; medium classified. */
void ev_devpath_format(const uint8_t *dp, size_t n, char *out, size_t outlen, int *medium);
/* EFI_LOAD_OPTION (Boot####): description and device path text. 0 or -1. */
int ev_load_option(const uint8_t *d, size_t n, char *desc, size_t desclen, char *path, size_t pathlen,
		   int *medium);
/* UEFI_GPT_DATA: disk GUID and partition count. 0 or -1. */
int ev_gpt(const uint8_t *d, size_t n, uint8_t disk_guid[16], uint64_t *n_parts);
/* Printable text of an ASCII or UTF-16LE string payload (S-CRTM version, POST code tag). */
void ev_printable(const uint8_t *d, size_t n, char *out, size_t outlen);
/* Subject CN (or whole subject) of a DER certificate; 0 or -1. */
int ev_cert_subject(const uint8_t *der, size_t n, char *out, size_t outlen);
/* UEFI_GPT_DATA: partition entry j (0-based). 0 or -1. */
int ev_gpt_partition(const uint8_t *d, size_t n, uint64_t j, struct bd_gpt_partition *p);
/* Printable UTF-16LE text (optionally NUL-terminated)? */
bool ev_is_utf16_text(const uint8_t *d, size_t n);
/* EV_S_CRTM_VERSION payload: UTF-16 or ASCII text, or a GUID (printed as one). */
void ev_crtm_version(const uint8_t *d, size_t n, char *out, size_t outlen);
/* Make text from a log safe to print: control characters (C0, DEL, C1) and bytes that are not
 * UTF-8 become '?', tabs and newlines a space. In place. */
void ev_sanitize(char *s);

/* Hash with a TPM algorithm (OpenSSL); PCR extend pcr = H(pcr || digest). */
int ev_hash(uint16_t alg, const void *data, size_t len, uint8_t *out, size_t *outlen);
int ev_extend(uint16_t alg, uint8_t *pcr, const uint8_t *digest);
/* PCR values of one bank after the records before index upto (the whole log: upto = n_events). */
int ev_replay_until(const bd_eventlog *log, uint16_t alg, size_t upto, uint8_t pcrs[BD_PCR_COUNT][64]);

/* ---- EFI signature lists and authenticated variables (tcg_siglist.c) ---- */

struct ev_sig {
	const uint8_t *type;         /* SignatureType GUID */
	const char *type_name;       /* "x509", "sha256" ...; NULL when unknown */
	const uint8_t *owner;        /* SignatureOwner GUID */
	const uint8_t *data;         /* SignatureData (certificate DER, hash ...) */
	size_t len;
	size_t list_offset, offset;  /* of its EFI_SIGNATURE_LIST and of the entry, in the buffer */
};
/* Called for each entry; a nonzero return stops the walk. */
typedef int (*ev_sig_cb)(void *ctx, const struct ev_sig *s);
/* Walk a sequence of EFI_SIGNATURE_LIST: entries seen, or -1 when malformed (sizes inconsistent). */
long ev_siglist_walk(const uint8_t *d, size_t n, ev_sig_cb cb, void *ctx);
const char *ev_sigtype_name(const uint8_t guid[16]);
int ev_guid_parse(const char *text, uint8_t out[16]);
/* Subject (subject != 0) or issuer CN of a DER certificate, sanitized; "" when it does not parse. */
void ev_x509_name(const uint8_t *der, size_t n, int subject, char *out, size_t outlen);

/* EFI_VARIABLE_AUTHENTICATION_2 {EFI_TIME; WIN_CERTIFICATE_UEFI_GUID (PKCS#7)} then the new value. */
struct ev_authvar {
	const uint8_t *timestamp;    /* EFI_TIME, 16 bytes */
	const uint8_t *pkcs7;        /* SignedData DER */
	size_t pkcs7_len;
	const uint8_t *payload;      /* the variable data (signature lists) */
	size_t payload_len;
};
int ev_authvar_parse(const uint8_t *d, size_t n, struct ev_authvar *out);
struct pkcs7_st;
/* PKCS#7 SignedData with or without its ContentInfo wrapper; NULL when it does not parse. */
struct pkcs7_st *ev_pkcs7_read(const uint8_t *der, size_t n);

#endif /* BDKIT_EVENTLOG_H */
