/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbdkit: recovery passwords escrowed in Active Directory (LDAP) and Entra ID
 * (Microsoft Graph). Link with libbdkit-escrow (pkg-config bdkit-escrow).
 * Part of the public API; <bdkit/bdkit.h> includes every wing header (conventions there).
 */
#ifndef BDKIT_ESCROW_H
#define BDKIT_ESCROW_H

#include "fve.h"

#ifdef __cplusplus
extern "C" {
#endif

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
 *   BD_ERR_AUTH         authentication failed (bind credentials, a bind the server refuses in clear,
 *                       sign-in refused, token rejected: HTTP 401)
 *   BD_ERR_DENIED       authenticated but not allowed (LDAP insufficientAccessRights,
 *                       Graph 403: missing BitLockerKey.Read.All or role)
 *   BD_ERR_NOT_FOUND    nothing found (no such computer or DN, Graph 404)
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
	size_t size;  /* sizeof(struct bd_ldap_opts): set by BD_LDAP_OPTS_INIT(...) */
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
#define BD_LDAP_OPTS_INIT(...) { .size = sizeof(struct bd_ldap_opts), __VA_ARGS__ }
typedef struct bd_ldap bd_ldap;
int bd_ldap_connect(const struct bd_ldap_opts *opts, bd_ldap **out);
void bd_ldap_close(bd_ldap *l);
const char *bd_ldap_base(const bd_ldap *l);
/* Search msFVE-RecoveryInformation objects by protector GUID (binary match, or the
 * {GUID} in the CN) or by 8-digit key ID (CN substring, checked against the GUID).
 * An empty list is a success; *out is always set on success. */
int bd_ldap_find(bd_ldap *l, const struct bd_escrow_key_id *id, bd_escrow_list **out);
/* Every msFVE-RecoveryInformation object of a computer: computer is its DN, or a name matched
 * against cn, sAMAccountName (NAME$) and dNSHostName. BD_ERR_NOT_FOUND: no such computer. */
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
	size_t size;  /* sizeof(struct bd_graph_opts): set by BD_GRAPH_OPTS_INIT(...) */
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
#define BD_GRAPH_OPTS_INIT(...) { .size = sizeof(struct bd_graph_opts), __VA_ARGS__ }
typedef struct bd_graph bd_graph;
int bd_graph_open(const struct bd_graph_opts *opts, bd_graph **out);
void bd_graph_close(bd_graph *g);
/* Device-code sign-in (RFC 8628). show() is called once with what the user must do
 * (verification URL, user code, Entra's message); the call then polls until the user
 * signed in, declined (BD_ERR_AUTH) or the code expired (BD_ERR_INTERRUPTED). */
typedef void (*bd_graph_prompt_fn)(const char *verification_uri, const char *user_code,
				   const char *message, void *userdata);
int bd_graph_login_device_code(bd_graph *g, bd_graph_prompt_fn show, void *userdata);
/* Client-credentials sign-in with opts->client_secret. */
int bd_graph_login_client_secret(bd_graph *g);
/* GET recoveryKeys/{id}?$select=key. BD_ERR_NOT_FOUND on 404. */
int bd_graph_get_key(bd_graph *g, const uint8_t guid[16], bd_escrow_list **out);
/* List recoveryKeys (metadata only, all pages), optionally $filter=deviceId eq '...',
 * keeping those whose ID matches id (NULL: all); with_keys: also fetch each key. */
int bd_graph_find(bd_graph *g, const char *device_id, const struct bd_escrow_key_id *id, int with_keys,
		  bd_escrow_list **out);

#ifdef __cplusplus
}
#endif
#endif /* BDKIT_ESCROW_H */
