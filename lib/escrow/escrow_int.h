/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Escrow internals shared by escrow.c (key IDs, result lists, value parsing),
 * escrow_ldap.c (Active Directory) and escrow_graph.c (Entra ID / Graph).
 * The parsers take untrusted directory replies and are fuzzed (fuzz/fuzz_escrow.c).
 */
#ifndef BDKIT_ESCROW_INT_H
#define BDKIT_ESCROW_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bdkit/escrow.h"
#include "internal.h"

/* ---- result lists (escrow.c) ---- */

bd_escrow_list *bd_escrow_list_new(void);
/* A zeroed entry appended to the list; NULL when out of memory (message set). */
struct bd_escrow_entry *bd_escrow_list_add(bd_escrow_list *l);
/* Newest first; entries without a date last. */
void bd_escrow_list_sort(bd_escrow_list *l);

/* ---- value parsing (escrow.c) ---- */

/* "2019-12-11T16:17:02-08:00{1F9DA098-0CC4-464D-A101-188E70F434A6}" (§1.1): time text (25
 * characters + NUL) and GUID (on-disk order). 0 or BD_ERR_CORRUPT. */
int bd_escrow_cn_parse(const char *cn, size_t len, char time_out[32], uint8_t guid[16]);
/* ISO 8601 with offset or Z and optional fraction ("2020-06-15T13:45:30.0000000Z"), or LDAP
 * GeneralizedTime ("20191211161702.0Z"), to Unix time. 0 or BD_ERR_CORRUPT. */
int bd_escrow_time_parse(const char *text, size_t len, int64_t *out);
/* The DN without its first RDN (respecting backslash escapes). 0 or BD_ERR_CORRUPT. */
int bd_escrow_parent_dn(const char *dn, char *out, size_t outlen);
/* Escape a value for an RDN (RFC 4514). 0 or BD_ERR_INVALID when it does not fit. */
int bd_escrow_dn_escape(const char *value, char *out, size_t outlen);
/* Check and normalise a recovery password into out (>= 56 bytes): 1 valid, 0 not (out
 * then holds the text as given, cut to fit, for display). */
int bd_escrow_password_normalise(const char *text, size_t len, char *out, size_t outlen);

/* The attribute values of one msFVE-RecoveryInformation entry as LDAP returned them. */
struct bd_ldap_values {
	const char *dn;
	const uint8_t *cn;  size_t cn_len;          /* NULL: absent */
	const uint8_t *password; size_t password_len;
	const uint8_t *rguid; size_t rguid_len;
	const uint8_t *vguid; size_t vguid_len;
	const uint8_t *when; size_t when_len;        /* whenCreated or createTimestamp */
	size_t key_package_len;
};
/* Fill e from the values. BD_ERR_CORRUPT when neither the GUID attribute nor the CN gives the
 * protector GUID (message set); other oddities are tolerated and flagged. */
int bd_escrow_entry_from_ldap(const struct bd_ldap_values *v, struct bd_escrow_entry *e);
/* The search filter for a key ID (§1.3, §1.6). 0 or BD_ERR_INVALID (too small). */
int bd_escrow_ldap_filter(const struct bd_escrow_key_id *id, char *out, size_t outlen);
/* Does the entry's GUID match the key ID (prefix or full)? */
int bd_escrow_key_id_match(const struct bd_escrow_key_id *id, const uint8_t guid[16]);

/* ---- Graph JSON replies (escrow_graph.c) ---- */

/* A recoveryKeys list page or a single key (wrapped in "value" or at top level).
 * Appends to l; *next_link (may be NULL) gets a malloc'ed @odata.nextLink or NULL.
 * 0 or BD_ERR_CORRUPT. */
int bd_graph_parse_keys(const char *json, size_t len, bd_escrow_list *l, char **next_link);
/* OAuth token reply: 0 with *token (locked memory), or the error ("authorization_pending",
 * ...) copied into err and BD_ERR_WRONG_KEY; BD_ERR_CORRUPT for unparsable text. */
int bd_graph_parse_token(const char *json, size_t len, struct bd_secret **token, char *err, size_t errlen);
struct bd_device_code {
	char device_code[1024];
	char user_code[64];
	char verification_uri[256];
	char message[512];
	int expires_in, interval;
};
int bd_graph_parse_device_code(const char *json, size_t len, struct bd_device_code *dc);
/* Graph or OAuth error body to "code: message" (best effort, "" when none). */
void bd_graph_parse_error(const char *json, size_t len, char *out, size_t outlen);

#endif /* BDKIT_ESCROW_INT_H */
