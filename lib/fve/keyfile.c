/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key files in other programs' formats: the recovery key text file Windows saves ("BitLocker
 * Recovery Key <ID>.TXT": UTF-16LE with a BOM from Windows 8 on, also met re-encoded as UTF-16BE
 * or UTF-8; Windows 7's wording differs), and the FVEK handed to other readers (cryptsetup's
 * --volume-key-file, dislocker's --fvek file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "volume.h"

#define MAX_TEXT (64u << 10)

/* The text as ASCII: UTF-16 (BOM or zero-byte pattern) or UTF-8; other characters become spaces. */
static size_t to_ascii(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	size_t n = 0, i = 0;
	int wide = 0;   /* 1: UTF-16LE, 2: UTF-16BE */

	if (len >= 2 && in[0] == 0xFF && in[1] == 0xFE) {
		wide = 1;
		i = 2;
	} else if (len >= 2 && in[0] == 0xFE && in[1] == 0xFF) {
		wide = 2;
		i = 2;
	} else if (len >= 3 && in[0] == 0xEF && in[1] == 0xBB && in[2] == 0xBF) {
		i = 3;
	} else if (len >= 4 && !(len & 1)) {
		/* no BOM: zero high bytes in most code units say UTF-16 */
		size_t zl = 0, zb = 0;
		for (size_t k = 0; k + 1 < len && k < 512; k += 2) {
			zl += in[k + 1] == 0 && in[k];
			zb += in[k] == 0 && in[k + 1];
		}
		size_t units = MIN(len, (size_t)512) / 2;
		if (zl * 2 > units)
			wide = 1;
		else if (zb * 2 > units)
			wide = 2;
	}
	while (i < len && n + 1 < outlen) {
		unsigned c;
		if (wide) {
			if (i + 1 >= len)
				break;
			c = wide == 1 ? (unsigned)(in[i] | in[i + 1] << 8) : (unsigned)(in[i] << 8 | in[i + 1]);
			i += 2;
		} else {
			c = in[i++];
		}
		if (!c)
			break;
		out[n++] = c < 0x80 && (c >= 0x20 || c == '\n' || c == '\r' || c == '\t') ? (char)c : ' ';
	}
	out[n] = 0;
	return n;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* 48 digits as 8 dash-separated groups of 6 at t[i]? (not inside a longer run of digits)
 * Returns the length matched (55), 48 for 48 digits without dashes, or 0. */
static int password_at(const char *t, size_t len, size_t i)
{
	if (i && (is_digit(t[i - 1]) || t[i - 1] == '-'))
		return 0;
	if (len - i >= 48 && strspn(t + i, "0123456789") == 48)
		return 48;
	if (len - i < 55)
		return 0;
	for (int g = 0; g < 8; g++) {
		for (int k = 0; k < 6; k++)
			if (!is_digit(t[i + 7 * (size_t)g + (size_t)k]))
				return 0;
		if (g < 7 && t[i + 7 * (size_t)g + 6] != '-')
			return 0;
	}
	return i + 55 == len || !(is_digit(t[i + 55]) || t[i + 55] == '-') ? 55 : 0;
}

/* A GUID (8-4-4-4-12 hex, braces optional) at t[i]? */
static int guid_at(const char *t, size_t len, size_t i)
{
	static const int groups[5] = { 8, 4, 4, 4, 12 };
	size_t p = i;

	if (i && is_hex(t[i - 1]))
		return 0;
	for (int g = 0; g < 5; g++) {
		for (int k = 0; k < groups[g]; k++, p++)
			if (p >= len || !is_hex(t[p]))
				return 0;
		if (g < 4 && (p >= len || t[p++] != '-'))
			return 0;
	}
	return p == len || !is_hex(t[p]);
}

int bd_recovery_key_file_parse(const uint8_t *buf, size_t len, struct bd_recovery_key_file *out)
{
	char *t;
	size_t n, found = 0;

	memset(out, 0, sizeof(*out));
	if (len > MAX_TEXT)
		return bd_err(BD_ERR_INVALID, "%zu bytes is too long for a recovery key file", len);
	t = malloc(len + 1);
	if (!t)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	n = to_ascii(buf, len, t, len + 1);
	for (size_t i = 0; i < n; i++) {
		int pl = password_at(t, n, i);
		if (pl) {
			char pw[56];
			for (int g = 0, k = 0; g < 8; g++) {   /* with dashes whatever the input had */
				memcpy(pw + k, t + i + (size_t)(pl == 55 ? 7 * g : 6 * g), 6);
				k += 6;
				if (g < 7)
					pw[k++] = '-';
			}
			pw[55] = 0;
			if (found && memcmp(out->password, pw, 55)) {
				bd_wipe(pw, sizeof(pw));
				bd_wipe(t, len + 1);
				free(t);
				bd_wipe(out->password, sizeof(out->password));
				return bd_err(BD_ERR_INVALID, "the file holds more than one recovery password: give a file "
					      "with one, or the password itself");
			}
			memcpy(out->password, pw, 56);
			bd_wipe(pw, sizeof(pw));
			found++;
			i += (size_t)pl - 1;
		} else if (!out->has_guid && guid_at(t, n, i)) {
			char g[37];
			memcpy(g, t + i, 36);
			g[36] = 0;
			if (!bd_guid_parse(g, out->guid))
				out->has_guid = 1;
		}
	}
	/* Windows 7 also names the protector by its first hex digits ("identification: XXXXXXXX-XXXX-XX") */
	for (size_t i = 0; !out->has_guid && i + 7 < n; i++) {
		if (strncasecmp(t + i, "identif", 7))
			continue;
		size_t j = i + 7;
		while (j < n && j < i + 40 && t[j] != ':')
			j++;
		for (; j + 8 <= n && j < i + 200; j++) {
			if (!is_hex(t[j]) || (j && is_hex(t[j - 1])) || strspn(t + j, "0123456789abcdefABCDEF") != 8)
				continue;
			for (int k = 0; k < 8; k++)
				out->key_id[k] = (char)(t[j + (size_t)k] >= 'a' ? t[j + (size_t)k] - 'a' + 'A' : t[j + (size_t)k]);
			out->has_key_id = 1;
			break;
		}
		break;
	}
	if (out->has_guid) {
		char g[37];
		bd_guid_format(out->guid, g);
		for (int k = 0; k < 8; k++)
			out->key_id[k] = (char)(g[k] >= 'a' ? g[k] - 'a' + 'A' : g[k]);
		out->has_key_id = 1;
	}
	out->windows = strstr(t, "BitLocker") != NULL;
	bd_wipe(t, len + 1);
	free(t);
	if (!found)
		return bd_err(BD_ERR_INVALID, "no 48-digit recovery password (8 groups of 6 digits with dashes) in the file");
	return 0;
}

/* ---- FVEK export ---- */

const char *bd_fvek_format_name(int format)
{
	switch (format) {
	case BD_FVEK_HEX: return "hex";
	case BD_FVEK_CRYPTSETUP: return "cryptsetup";
	case BD_FVEK_DISLOCKER: return "dislocker";
	}
	return "unknown";
}

int bd_fvek_format_parse(const char *name)
{
	if (!strcmp(name, "hex") || !strcmp(name, "bdkit"))
		return BD_FVEK_HEX;
	if (!strcmp(name, "cryptsetup"))
		return BD_FVEK_CRYPTSETUP;
	if (!strcmp(name, "dislocker"))
		return BD_FVEK_DISLOCKER;
	return bd_err(BD_ERR_INVALID, "unknown FVEK file format '%s' (cryptsetup, dislocker, hex)", name);
}

int bd_fvek_export(bd_volume *v, int format, uint8_t *out, size_t outlen, size_t *len)
{
	const uint8_t *k;
	size_t kl, n = 0;
	uint16_t m = v->method;

	if (!v->unlocked || !v->fvek)
		return bd_err(BD_ERR_LOCKED, "the volume is %s: there is no FVEK to export",
			      v->unlocked ? "not encrypted" : "locked");
	k = v->fvek->data;
	kl = v->fvek->len;
	switch (format) {
	case BD_FVEK_HEX:
		/* what bdkit --fvek takes: the key as the FVEK datum holds it */
		if (outlen < 2 * kl + 2)
			return bd_err(BD_ERR_INVALID, "buffer too small");
		for (size_t i = 0; i < kl; i++)
			snprintf((char *)out + 2 * i, 3, "%02x", k[i]);
		out[2 * kl] = '\n';
		n = 2 * kl + 1;
		break;
	case BD_FVEK_CRYPTSETUP:
		/* cryptsetup's BITLK volume key (bitlkDump --dump-volume-key): XTS key1||key2, CBC the key,
		 * Elephant key||tweak key (AES-128: 16+16 out of the 64-byte datum; AES-256: all 64) */
		if (outlen < 64)
			return bd_err(BD_ERR_INVALID, "buffer too small");
		if (m == BD_METHOD_AES_CBC_128_ELEPHANT) {
			memcpy(out, k, 16);
			memcpy(out + 16, k + 32, 16);
			n = 32;
		} else {
			memcpy(out, k, kl);
			n = kl;
		}
		break;
	case BD_FVEK_DISLOCKER:
		/* dislocker's -k file (dislocker(1), "FVEK FILE"): the method as 2 little-endian bytes, then
		 * 64 bytes of key as the FVEK datum holds it, zero-padded: 66 bytes */
		if (outlen < 66)
			return bd_err(BD_ERR_INVALID, "buffer too small");
		memset(out, 0, 66);
		put_le16(out, m);
		memcpy(out + 2, k, MIN(kl, (size_t)64));
		n = 66;
		break;
	default:
		return bd_err(BD_ERR_INVALID, "unknown FVEK file format %d", format);
	}
	*len = n;
	return 0;
}
