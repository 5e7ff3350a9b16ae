/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GUIDs, FILETIMEs, CRC32, UTF-16 conversion. */
#include <ctype.h>
#include <stdio.h>
#include <time.h>
#include <zlib.h>

#include "internal.h"

void bd_guid_format(const uint8_t g[16], char out[37])
{
	snprintf(out, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 le32(g), le16(g + 4), le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

int bd_guid_parse(const char *text, uint8_t g[16])
{
	uint8_t raw[16];
	size_t n = 0;
	const char *p = text;

	if (*p == '{')
		p++;
	while (*p && *p != '}' && n < 32) {
		if (*p == '-' && (n == 8 || n == 12 || n == 16 || n == 20)) {
			p++;
			continue;
		}
		int h = hexval((unsigned char)p[0]), l = hexval((unsigned char)p[1]);
		if (h < 0 || l < 0)
			return bd_err(BD_ERR_INVALID, "'%s' is not a GUID", text);
		raw[n / 2] = (uint8_t)(h << 4 | l);
		n += 2;
		p += 2;
	}
	if (*p == '}')
		p++;
	if (n != 32 || *p)
		return bd_err(BD_ERR_INVALID, "'%s' is not a GUID", text);
	/* text order -> on-disk mixed-endian order */
	g[0] = raw[3]; g[1] = raw[2]; g[2] = raw[1]; g[3] = raw[0];
	g[4] = raw[5]; g[5] = raw[4]; g[6] = raw[7]; g[7] = raw[6];
	memcpy(g + 8, raw + 8, 8);
	return 0;
}

void bd_filetime_format(uint64_t ft, char *out, size_t outlen)
{
	time_t t = (time_t)(ft / 10000000ULL) - (time_t)11644473600LL;
	struct tm tm;

	if (!ft || !gmtime_r(&t, &tm)) {
		snprintf(out, outlen, "-");
		return;
	}
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

uint32_t bd_crc32(const void *buf, size_t len)
{
	return (uint32_t)crc32(0L, (const Bytef *)buf, (uInt)len);
}

bool bd_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* word-wise for speed on large buffers */
	while (len && ((uintptr_t)p & 7)) {
		if (*p++) return false;
		len--;
	}
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		if (w) return false;
	}
	while (len--)
		if (*p++) return false;
	return true;
}

void bd_utf16le_to_utf8(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return;
	for (size_t i = 0; i + 1 < len; i += 2) {
		uint32_t c = le16(in + i);
		if (!c)
			break;
		if (c >= 0xD800 && c < 0xDC00 && i + 3 < len) {
			uint32_t lo = le16(in + i + 2);
			if (lo >= 0xDC00 && lo < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			}
		}
		char tmp[4];
		size_t n;
		if (c < 0x80) { tmp[0] = (char)c; n = 1; }
		else if (c < 0x800) { tmp[0] = (char)(0xC0 | c >> 6); tmp[1] = (char)(0x80 | (c & 0x3F)); n = 2; }
		else if (c < 0x10000) {
			tmp[0] = (char)(0xE0 | c >> 12); tmp[1] = (char)(0x80 | ((c >> 6) & 0x3F));
			tmp[2] = (char)(0x80 | (c & 0x3F)); n = 3;
		} else {
			tmp[0] = (char)(0xF0 | c >> 18); tmp[1] = (char)(0x80 | ((c >> 12) & 0x3F));
			tmp[2] = (char)(0x80 | ((c >> 6) & 0x3F)); tmp[3] = (char)(0x80 | (c & 0x3F)); n = 4;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = 0;
}

long bd_utf8_to_utf16le(const char *in, uint8_t *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	while (*s) {
		uint32_t c;
		int extra;
		if (*s < 0x80) { c = *s; extra = 0; }
		else if ((*s & 0xE0) == 0xC0) { c = *s & 0x1F; extra = 1; }
		else if ((*s & 0xF0) == 0xE0) { c = *s & 0x0F; extra = 2; }
		else if ((*s & 0xF8) == 0xF0) { c = *s & 0x07; extra = 3; }
		else return -1;
		s++;
		for (int i = 0; i < extra; i++, s++) {
			if ((*s & 0xC0) != 0x80)
				return -1;
			c = c << 6 | (*s & 0x3F);
		}
		if (c >= 0x10000) {
			if (o + 4 > outlen) return -1;
			c -= 0x10000;
			put_le16(out + o, (uint16_t)(0xD800 + (c >> 10)));
			put_le16(out + o + 2, (uint16_t)(0xDC00 + (c & 0x3FF)));
			o += 4;
		} else {
			if (o + 2 > outlen) return -1;
			put_le16(out + o, (uint16_t)c);
			o += 2;
		}
	}
	return (long)o;
}

void bd_deadline_ms(int clk, unsigned ms, struct timespec *ts)
{
	clock_gettime((clockid_t)clk, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}
