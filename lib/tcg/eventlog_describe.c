/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One-line human descriptions of event payloads and SIPA events (diagnose.md §1.3, §2.3). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "internal.h"
#include "eventlog.h"

static void hexpreview(const uint8_t *d, size_t n, char *out, size_t outlen)
{
	size_t o = 0, i;

	if (!outlen)
		return;
	out[0] = 0;
	for (i = 0; i < n && i < 32 && o + 3 < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%02x", d[i]);
	if (i < n && o + 4 < outlen)
		snprintf(out + o, outlen - o, "...");
}

static bool is_text(const uint8_t *d, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((d[i] < 0x20 || d[i] >= 0x7f) && !(d[i] == 0 && i == n - 1) && d[i] != '\n' && d[i] != '\t')
			return false;
	return true;
}

/* Summary of an EFI_SIGNATURE_LIST sequence (PK, KEK, db, dbx). */
static void siglists(const uint8_t *d, size_t n, char *out, size_t outlen)
{
	static const uint8_t x509_guid[16] = { 0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
					       0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72 };
	struct bd_cursor c = bd_cursor(d, n);
	size_t certs = 0, hashes = 0;
	char first[96] = "";

	while (cur_left(&c) >= 28) {
		const uint8_t *type = cur_bytes(&c, 16);
		uint32_t list = cur_u32(&c), hdr = cur_u32(&c), sig = cur_u32(&c);
		if (list < 28 || list - 28 > cur_left(&c) || hdr > list - 28 || sig < 16)
			break;
		const uint8_t *body = cur_bytes(&c, list - 28);
		size_t entries = (list - 28 - hdr) / sig;
		if (!memcmp(type, x509_guid, 16)) {
			certs += entries;
			if (!first[0] && entries)
				ev_cert_subject(body + hdr + 16, sig - 16, first, sizeof(first));
		} else {
			hashes += entries;
		}
	}
	snprintf(out, outlen, "%zu bytes: %zu certificate(s), %zu hash(es)%s%s%s", n, certs, hashes,
		 first[0] ? " (first: " : "", first, first[0] ? ")" : "");
}

static void describe_var(const struct bd_event *e, char *out, size_t outlen)
{
	struct ev_var v;
	char g[37], tmp[256], path[256];
	int medium;

	if (ev_parse_var(e->data, e->data_len, &v)) {
		hexpreview(e->data, e->data_len, tmp, sizeof(tmp));
		snprintf(out, outlen, "malformed UEFI_VARIABLE_DATA: %s", tmp);
		return;
	}
	bd_guid_format(v.guid, g);
	if (e->type == EV_EFI_VARIABLE_AUTHORITY) {
		if (v.len > 16 && ev_cert_subject(v.data + 16, v.len - 16, tmp, sizeof(tmp)) == 0)
			snprintf(out, outlen, "%s: certificate \"%s\"", v.name, tmp);
		else if (is_text(v.data, v.len))
			snprintf(out, outlen, "%s: \"%.*s\"", v.name, (int)MIN(v.len, (size_t)4096), (const char *)v.data);
		else
			snprintf(out, outlen, "%s {%s} (%zu bytes)", v.name, g, v.len);
		return;
	}
	if (v.len == 1) {
		snprintf(out, outlen, "%s = %02x", v.name, v.data[0]);
	} else if (!strcmp(v.name, "BootOrder")) {
		size_t o = (size_t)snprintf(out, outlen, "BootOrder =");
		for (size_t i = 0; i + 1 < v.len && o < outlen; i += 2)
			o += (size_t)snprintf(out + o, outlen - o, "%s%04X", i ? "," : " ", le16(v.data + i));
	} else if (!strncmp(v.name, "Boot", 4) && strlen(v.name) == 8 &&
		   !ev_load_option(v.data, v.len, tmp, sizeof(tmp), path, sizeof(path), &medium)) {
		snprintf(out, outlen, "%s \"%s\" %s", v.name, tmp, path);
	} else if (!strcmp(v.name, "PK") || !strcmp(v.name, "KEK") || !strcmp(v.name, "db") ||
		   !strcmp(v.name, "dbx") || !strcmp(v.name, "dbt") || !strcmp(v.name, "dbr")) {
		siglists(v.data, v.len, tmp, sizeof(tmp));
		snprintf(out, outlen, "%s: %s", v.name, tmp);
	} else {
		snprintf(out, outlen, "%s {%s} (%zu bytes)", v.name, g, v.len);
	}
}

static void describe(const bd_eventlog *log, size_t index, char *out, size_t outlen);

void bd_event_describe(const bd_eventlog *log, size_t index, char *out, size_t outlen)
{
	describe(log, index, out, outlen);
	/* one line, safe on a terminal: newlines and tabs of logged strings (GRUB commands) become
	 * spaces, other control characters and bytes that are not UTF-8 '?' */
	if (outlen)
		ev_sanitize(out);
}

size_t bd_event_gpt_count(const bd_eventlog *log, size_t index)
{
	struct bd_event e;
	uint8_t g[16];
	uint64_t n;

	if (bd_eventlog_event(log, index, &e) || (e.type != EV_EFI_GPT_EVENT && e.type != EV_EFI_GPT_EVENT2) ||
	    ev_gpt(e.data, e.data_len, g, &n))
		return 0;
	return (size_t)MIN(n, (uint64_t)e.data_len / 128);
}

int bd_event_gpt_partition(const bd_eventlog *log, size_t index, size_t j, struct bd_gpt_partition *out)
{
	struct bd_event e;

	if (bd_eventlog_event(log, index, &e) || ev_gpt_partition(e.data, e.data_len, j, out))
		return bd_err(BD_ERR_INVALID, "event %zu has no GPT partition entry %zu", index, j);
	return 0;
}

static void describe(const bd_eventlog *log, size_t index, char *out, size_t outlen)
{
	struct bd_event e;
	char tmp[256];
	int medium;

	if (!outlen)
		return;
	out[0] = 0;
	if (bd_eventlog_event(log, index, &e))
		return;
	switch (e.type) {
	case EV_NO_ACTION:
		if (e.data_len >= 16 && !memcmp(e.data, "Spec ID Event03", 16)) {
			struct bd_eventlog_info in;
			size_t o;
			bd_eventlog_info(log, &in);
			o = (size_t)snprintf(out, outlen, "Spec ID Event03: spec %u.%u errata %u, uintn %u, banks",
					     in.spec_major, in.spec_minor, in.spec_errata, in.uintn_size);
			for (size_t i = 0; i < in.n_banks && o < outlen; i++) {
				const char *n = bd_hash_alg_name(in.bank_alg[i]);
				o += (size_t)snprintf(out + o, outlen - o, " %s", n ? n : "?");
			}
		} else if (e.data_len == 17 && !memcmp(e.data, "StartupLocality", 16)) {
			snprintf(out, outlen, "StartupLocality %u", e.data[16]);
		} else if (e.data_len >= 16 && !memcmp(e.data, "Spec ID Event0", 14)) {
			snprintf(out, outlen, "%.15s (informational)", (const char *)e.data);
		} else if (e.n_sipa) {
			snprintf(out, outlen, "Windows non-measured record: %zu SIPA event(s)", e.n_sipa);
		} else if (e.pcr == 0xFFFFFFFFu && e.data_len >= 8 && le32(e.data) == 0xC0010004) {
			snprintf(out, outlen, "Windows trust-point record (SIPA TRUSTPOINT_AGGREGATION, %zu bytes), "
				 "not measured", e.data_len);
		} else if (e.data_len >= 15 && !memcmp(e.data, "SP800-155 Event", 15)) {
			snprintf(out, outlen, "SP800-155 Event (reference manifest)");
		} else if (e.data_len >= 15 && (!memcmp(e.data, "NvIndexInstance", 15) ||
						!memcmp(e.data, "NvIndexDynamic", 14))) {
			snprintf(out, outlen, "%.15s", (const char *)e.data);
		} else {
			hexpreview(e.data, e.data_len, tmp, sizeof(tmp));
			snprintf(out, outlen, "%s", tmp);
		}
		return;
	case EV_SEPARATOR:
		if (e.data_len == 4 && !memcmp(e.data, "WBCL", 4))
			snprintf(out, outlen, "\"WBCL\" (end of Windows boot measurements)");
		else if (e.data_len == 4 && le32(e.data) == 1)
			snprintf(out, outlen, "ERROR separator (firmware reported a measurement error)");
		else if (e.data_len == 4)
			snprintf(out, outlen, "%08x", le32(e.data));
		else {
			hexpreview(e.data, e.data_len, tmp, sizeof(tmp));
			snprintf(out, outlen, "%s", tmp);
		}
		return;
	case EV_ACTION: case EV_EFI_ACTION: case EV_IPL:
		if (is_text(e.data, e.data_len)) {
			snprintf(out, outlen, "\"%.*s\"", (int)MIN(e.data_len, (size_t)4096), (const char *)e.data);
			return;
		}
		if (ev_is_utf16_text(e.data, e.data_len)) {
			char *t = malloc(e.data_len * 2 + 1);
			if (t) {
				bd_utf16le_to_utf8(e.data, e.data_len, t, e.data_len * 2 + 1);
				snprintf(out, outlen, "\"%s\" (UTF-16)", t);
				free(t);
				return;
			}
		}
		break;
	case EV_POST_CODE: case EV_S_CRTM_CONTENTS: case EV_NONHOST_CODE: case EV_NONHOST_INFO:
	case EV_EFI_HCRTM_EVENT:
		if (is_text(e.data, e.data_len)) {
			snprintf(out, outlen, "\"%.*s\"", (int)MIN(e.data_len, (size_t)4096), (const char *)e.data);
			return;
		}
		if (e.data_len == 16) {
			snprintf(out, outlen, "blob at 0x%" PRIx64 ", %" PRIu64 " bytes", le64(e.data), le64(e.data + 8));
			return;
		}
		break;
	case EV_S_CRTM_VERSION:
		ev_crtm_version(e.data, e.data_len, tmp, sizeof(tmp));
		snprintf(out, outlen, "firmware version \"%s\"", tmp);
		return;
	case EV_CPU_MICROCODE:
		if (is_text(e.data, e.data_len)) {
			snprintf(out, outlen, "\"%.*s\"", (int)MIN(e.data_len, (size_t)4096), (const char *)e.data);
			return;
		}
		break;
	case EV_COMPACT_HASH:
		if (e.data_len == 4) {
			snprintf(out, outlen, "%08x", le32(e.data));
			return;
		}
		break;
	case EV_EVENT_TAG:
		if (e.n_sipa) {
			snprintf(out, outlen, "Windows SIPA: %zu event(s)", e.n_sipa);
			return;
		}
		break;
	case EV_EFI_VARIABLE_DRIVER_CONFIG: case EV_EFI_VARIABLE_BOOT: case EV_EFI_VARIABLE_BOOT2:
	case EV_EFI_VARIABLE_AUTHORITY:
		describe_var(&e, out, outlen);
		return;
	case EV_EFI_BOOT_SERVICES_APPLICATION: case EV_EFI_BOOT_SERVICES_DRIVER:
	case EV_EFI_RUNTIME_SERVICES_DRIVER:
		if (!ev_image_path(e.data, e.data_len, tmp, sizeof(tmp), &medium)) {
			snprintf(out, outlen, "image %" PRIu64 " bytes from %s: %s", le64(e.data + 8),
				 ev_medium_name(medium), tmp[0] ? tmp : "(no device path)");
			return;
		}
		break;
	case EV_EFI_GPT_EVENT: case EV_EFI_GPT_EVENT2: {
		uint8_t g[16];
		uint64_t n;
		char gs[37];
		if (!ev_gpt(e.data, e.data_len, g, &n)) {
			bd_guid_format(g, gs);
			snprintf(out, outlen, "GPT disk %s, %" PRIu64 " partition(s)", gs, n);
			return;
		}
		break;
	}
	case EV_EFI_PLATFORM_FIRMWARE_BLOB:
		if (e.data_len >= 16) {
			snprintf(out, outlen, "firmware blob at 0x%" PRIx64 ", %" PRIu64 " bytes", le64(e.data),
				 le64(e.data + 8));
			return;
		}
		break;
	case EV_EFI_PLATFORM_FIRMWARE_BLOB2:
		if (e.data_len >= 1 && e.data_len >= 1u + e.data[0] + 16) {
			snprintf(out, outlen, "firmware blob \"%.*s\" at 0x%" PRIx64 ", %" PRIu64 " bytes", e.data[0],
				 (const char *)e.data + 1, le64(e.data + 1 + e.data[0]), le64(e.data + 9 + e.data[0]));
			return;
		}
		break;
	case EV_EFI_HANDOFF_TABLES:
		if (e.data_len >= 8) {
			snprintf(out, outlen, "%" PRIu64 " configuration table(s)", le64(e.data));
			return;
		}
		break;
	case EV_EFI_HANDOFF_TABLES2:
		if (e.data_len >= 1 && e.data_len >= 1u + e.data[0]) {
			snprintf(out, outlen, "tables \"%.*s\"", e.data[0], (const char *)e.data + 1);
			return;
		}
		break;
	}
	hexpreview(e.data, e.data_len, tmp, sizeof(tmp));
	snprintf(out, outlen, "%zu bytes%s%s", e.data_len, e.data_len ? ": " : "", tmp);
}

static bool sipa_is_string(uint32_t type)
{
	switch (type) {
	case 0x00050009: case 0x0005000B: case 0x00070001: case 0x00070005: case 0x00070008:
	case 0x0007000D: case 0x0007000F: case 0x80080003:
		return true;
	}
	return false;
}

static void sipa_describe(const struct bd_sipa_event *s, char *out, size_t outlen)
{
	char tmp[256];

	if (!outlen)
		return;
	if (s->type & SIPA_AGGREGATION) {
		snprintf(out, outlen, "(container, %zu bytes)", s->len);
		return;
	}
	if (s->type == SIPA_BITLOCKER_UNLOCK && s->len >= 1) {
		uint32_t v = 0;
		for (size_t k = 0; k < MIN(s->len, (size_t)4); k++)
			v |= (uint32_t)s->data[k] << (8 * k);
		bd_unlock_flags_format(v, tmp, sizeof(tmp));
		snprintf(out, outlen, "0x%08x (%s)", v, tmp);
		return;
	}
	if ((s->type == SIPA_BOOT_REVOCATION_LIST || s->type == SIPA_OS_REVOCATION_LIST) && s->len >= 14) {
		/* SIPAEVENT_REVOCATION_LIST_PAYLOAD {INT64 CreationTime; UINT32 DigestLength; UINT16 HashAlgID; Digest} */
		char when[40], hex[80];
		uint32_t dlen = le32(s->data + 8);
		const char *alg = bd_hash_alg_name(le16(s->data + 12));
		bd_filetime_format(le64(s->data), when, sizeof(when));
		hexpreview(s->data + 14, MIN((size_t)dlen, s->len - 14), hex, sizeof(hex));
		snprintf(out, outlen, "created %s, %s %s", when, alg ? alg : "digest", hex);
		return;
	}
	if (s->type == SIPA_SBCP_INFO && s->len >= 20) {
		/* SIPAEVENT_SBCP_INFO_PAYLOAD_V1 {UINT32 version; UINT32 VarDataOffset; UINT16 HashAlgID;
		 * UINT16 DigestLength; UINT32 Options; UINT32 SignersCount; VarData (digest ...)} */
		uint32_t ver = le32(s->data), voff = le32(s->data + 4), opts = le32(s->data + 12), signers = le32(s->data + 16);
		uint16_t alg = le16(s->data + 8), dlen = le16(s->data + 10);
		const char *an = bd_hash_alg_name(alg);
		char hex[140] = "";
		if (voff <= s->len && dlen <= s->len - voff && dlen <= 64)
			for (size_t i = 0; i < dlen; i++)
				snprintf(hex + 2 * i, sizeof(hex) - 2 * i, "%02x", s->data[voff + i]);
		snprintf(out, outlen, "Secure Boot custom policy v%u: %s %s, options 0x%x, %u signer(s)", ver,
			 an ? an : "digest", hex[0] ? hex : "(none)", opts, signers);
		return;
	}
	if (s->type == SIPA_AUTHORITYPUBKEY && s->len > 16) {
		const unsigned char *p = s->data;
		EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)s->len);
		if (k) {
			uint8_t h[32];
			char hex[65];
			ev_hash(BD_ALG_SHA256, s->data, s->len, h, NULL);
			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", h[i]);
			snprintf(out, outlen, "%s %d-bit public key, SHA-256 %s", EVP_PKEY_get0_type_name(k) ?
				 EVP_PKEY_get0_type_name(k) : "?", EVP_PKEY_get_bits(k), hex);
			EVP_PKEY_free(k);
			return;
		}
	}
	if (s->type == 0x00050008 && s->len == 4) {   /* OSDEVICE */
		static const struct { uint32_t v; const char *n; } dev[] = {
			{ 0x10001, "hard disk" }, { 0x10002, "removable" }, { 0x10003, "CD/DVD" },
			{ 0x10004, "partition" }, { 0x10005, "file" }, { 0x10006, "ramdisk" },
			{ 0x10007, "VHD" }, { 0x20000, "serial" }, { 0x30000, "UDP" }, { 0x40000, "VMBUS" },
			{ 0x50000, "composite" }, { 0x60000, "CIMFS" } };
		for (size_t i = 0; i < ARRAY_SIZE(dev); i++)
			if (dev[i].v == le32(s->data)) {
				snprintf(out, outlen, "0x%08x (%s)", dev[i].v, dev[i].n);
				return;
			}
	}
	if (sipa_is_string(s->type)) {
		bd_utf16le_to_utf8(s->data, s->len, tmp, sizeof(tmp));
		ev_sanitize(tmp);
		snprintf(out, outlen, "\"%s\"", tmp);
		return;
	}
	switch (s->len) {
	case 1: snprintf(out, outlen, "%u", s->data[0]); return;
	case 2: snprintf(out, outlen, "0x%04x", le16(s->data)); return;
	case 4: snprintf(out, outlen, "0x%08x", le32(s->data)); return;
	case 8: snprintf(out, outlen, "%" PRIu64, le64(s->data)); return;
	}
	hexpreview(s->data, s->len, tmp, sizeof(tmp));
	snprintf(out, outlen, "%zu bytes%s%s", s->len, s->len ? ": " : "", tmp);
}

void bd_sipa_describe(const struct bd_sipa_event *s, char *out, size_t outlen)
{
	if (!outlen)
		return;
	out[0] = 0;
	sipa_describe(s, out, outlen);
	ev_sanitize(out);
}
