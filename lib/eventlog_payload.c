/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decoders for UEFI payloads inside measured-boot events: UEFI_VARIABLE_DATA,
 * UEFI_IMAGE_LOAD_EVENT device paths, EFI_LOAD_OPTION (Boot####), UEFI_GPT_DATA,
 * certificates (diagnose.md §1.3). Every read goes through the cursor.
 */
#include <stdio.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "internal.h"
#include "eventlog.h"

const char *ev_medium_name(int medium)
{
	switch (medium) {
	case MEDIUM_DISK: return "disk";
	case MEDIUM_USB: return "USB";
	case MEDIUM_CDROM: return "CD/DVD";
	case MEDIUM_NETWORK: return "network";
	case MEDIUM_FIRMWARE: return "firmware volume";
	}
	return "unknown";
}

int ev_parse_var(const uint8_t *d, size_t n, struct ev_var *v)
{
	struct bd_cursor c = bd_cursor(d, n);
	const uint8_t *g = cur_bytes(&c, 16);
	uint64_t name_chars = cur_u64(&c), data_len = cur_u64(&c);
	const uint8_t *name;

	if (c.bad || name_chars > cur_left(&c) / 2)
		return -1;
	name = cur_bytes(&c, (size_t)name_chars * 2);
	if (!name || data_len > cur_left(&c))
		return -1;
	memcpy(v->guid, g, 16);
	bd_utf16le_to_utf8(name, (size_t)name_chars * 2, v->name, sizeof(v->name));
	v->data = cur_bytes(&c, (size_t)data_len);
	v->len = (size_t)data_len;
	return 0;
}

static size_t append(char *out, size_t outlen, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t append(char *out, size_t outlen, size_t n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (n >= outlen)
		return n;
	va_start(ap, fmt);
	w = vsnprintf(out + n, outlen - n, fmt, ap);
	va_end(ap);
	if (w < 0)
		return n;
	return MIN(outlen - 1, n + (size_t)w);
}

void ev_devpath_format(const uint8_t *dp, size_t len, char *out, size_t outlen, int *medium)
{
	struct bd_cursor c = bd_cursor(dp, len);
	bool usb = false, cd = false, net = false, disk = false, fv = false;
	size_t n = 0;
	char g[37];

	if (outlen)
		out[0] = 0;
	while (cur_left(&c) >= 4) {
		uint8_t type = cur_u8(&c), sub = cur_u8(&c);
		uint16_t nlen = cur_u16(&c);
		const uint8_t *b;
		size_t blen;

		if (nlen < 4 || (size_t)nlen - 4 > cur_left(&c))
			break;
		blen = nlen - 4u;
		b = cur_bytes(&c, blen);
		if (type == 0x7f) {
			if (sub == 0xff)
				break;
			n = append(out, outlen, n, ",");
			continue;
		}
		if (n && out[n - 1] != ',')
			n = append(out, outlen, n, "/");
		if (type == 1 && sub == 1 && blen >= 2) {
			n = append(out, outlen, n, "Pci(0x%x,0x%x)", b[1], b[0]);
		} else if (type == 2 && sub == 1 && blen >= 8) {
			if (le32(b) == 0x0A0341D0 || le32(b) == 0x0A0841D0)
				n = append(out, outlen, n, "PciRoot(0x%x)", le32(b + 4));
			else
				n = append(out, outlen, n, "Acpi(0x%08x,0x%x)", le32(b), le32(b + 4));
		} else if (type == 3) {
			switch (sub) {
			case 1: disk = true; n = append(out, outlen, n, "Ata()"); break;
			case 2: disk = true; n = append(out, outlen, n, "Scsi(0x%x,0x%x)",
							blen >= 4 ? le16(b) : 0, blen >= 4 ? le16(b + 2) : 0); break;
			case 5: usb = true; n = append(out, outlen, n, "USB(0x%x,0x%x)",
						       blen >= 2 ? b[0] : 0, blen >= 2 ? b[1] : 0); break;
			case 0x0b: net = true; n = append(out, outlen, n, "MAC()"); break;
			case 0x0c: net = true;
				if (blen >= 8)
					n = append(out, outlen, n, "IPv4(%u.%u.%u.%u)", b[4], b[5], b[6], b[7]);
				else
					n = append(out, outlen, n, "IPv4()");
				break;
			case 0x0d: net = true; n = append(out, outlen, n, "IPv6()"); break;
			case 0x0f: usb = true; n = append(out, outlen, n, "UsbClass()"); break;
			case 0x10: usb = true; n = append(out, outlen, n, "UsbWwid()"); break;
			case 0x12: disk = true; n = append(out, outlen, n, "Sata(0x%x,0x%x,0x%x)",
							blen >= 6 ? le16(b) : 0, blen >= 6 ? le16(b + 2) : 0,
							blen >= 6 ? le16(b + 4) : 0); break;
			case 0x17: disk = true; n = append(out, outlen, n, "NVMe(0x%x)", blen >= 4 ? le32(b) : 0); break;
			case 0x18: net = true; n = append(out, outlen, n, "Uri()"); break;
			case 0x1d: disk = true; n = append(out, outlen, n, "eMMC()"); break;
			default: n = append(out, outlen, n, "Msg(%u)", sub);
			}
		} else if (type == 4) {
			switch (sub) {
			case 1:
				if (blen >= 38) {
					disk = true;
					if (b[37] == 2) {
						bd_guid_format(b + 20, g);
						n = append(out, outlen, n, "HD(%u,GPT,%s)", le32(b), g);
					} else {
						n = append(out, outlen, n, "HD(%u,MBR,0x%08x)", le32(b), le32(b + 20));
					}
				}
				break;
			case 2: cd = true; n = append(out, outlen, n, "CDROM()"); break;
			case 4: {
				char path[256];
				bd_utf16le_to_utf8(b, blen, path, sizeof(path));
				n = append(out, outlen, n, "File(%s)", path);
				break;
			}
			case 6: case 7:
				fv = true;
				if (blen >= 16) {
					bd_guid_format(b, g);
					n = append(out, outlen, n, sub == 6 ? "FvFile(%s)" : "Fv(%s)", g);
				}
				break;
			case 8: n = append(out, outlen, n, "Offset()"); break;
			default: n = append(out, outlen, n, "Media(%u)", sub);
			}
		} else if (type == 5 && blen >= 2) {
			uint16_t bbs = le16(b);
			if (bbs == 3)
				cd = true;
			else if (bbs == 5)
				usb = true;
			else if (bbs == 6 || bbs == 0x80)
				net = true;
			else if (bbs == 2)
				disk = true;
			n = append(out, outlen, n, "BBS(%u)", bbs);
		} else {
			n = append(out, outlen, n, "Node(%u,%u)", type, sub);
		}
	}
	if (medium)
		*medium = net ? MEDIUM_NETWORK : cd ? MEDIUM_CDROM : usb ? MEDIUM_USB : disk ? MEDIUM_DISK
			: fv ? MEDIUM_FIRMWARE : MEDIUM_UNKNOWN;
}

int ev_image_path(const uint8_t *d, size_t n, char *out, size_t outlen, int *medium)
{
	struct bd_cursor c = bd_cursor(d, n);
	uint64_t dplen;
	const uint8_t *dp;

	cur_u64(&c); /* ImageLocationInMemory */
	cur_u64(&c); /* ImageLengthInMemory */
	cur_u64(&c); /* ImageLinkTimeAddress */
	dplen = cur_u64(&c);
	if (c.bad || dplen > cur_left(&c))
		return -1;
	dp = cur_bytes(&c, (size_t)dplen);
	ev_devpath_format(dp, (size_t)dplen, out, outlen, medium);
	return 0;
}

int ev_load_option(const uint8_t *d, size_t n, char *desc, size_t desclen, char *path, size_t pathlen,
		   int *medium)
{
	struct bd_cursor c = bd_cursor(d, n);
	uint16_t fplen;
	size_t start;
	const uint8_t *dp;

	cur_u32(&c); /* attributes */
	fplen = cur_u16(&c);
	if (c.bad)
		return -1;
	start = c.pos;
	while (cur_left(&c) >= 2 && cur_u16(&c) != 0)
		;
	if (c.bad)
		return -1;
	bd_utf16le_to_utf8(d + start, c.pos - start, desc, desclen);
	dp = cur_bytes(&c, fplen);
	if (!dp)
		return -1;
	ev_devpath_format(dp, fplen, path, pathlen, medium);
	return 0;
}

int ev_gpt(const uint8_t *d, size_t n, uint8_t disk_guid[16], uint64_t *n_parts)
{
	struct bd_cursor c = bd_cursor(d, n);
	const uint8_t *hdr = cur_bytes(&c, 92);

	if (!hdr || memcmp(hdr, "EFI PART", 8))
		return -1;
	memcpy(disk_guid, hdr + 56, 16);
	*n_parts = cur_u64(&c);
	return c.bad ? -1 : 0;
}

void ev_printable(const uint8_t *d, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;
	bool utf16 = n >= 4 && d[1] == 0 && d[3] == 0 && d[0] >= 0x20;

	if (!outlen)
		return;
	if (utf16) {
		bd_utf16le_to_utf8(d, n, out, outlen);
		return;
	}
	for (i = 0; i < n && o + 1 < outlen; i++) {
		if (d[i] == 0)
			break;
		out[o++] = (d[i] >= 0x20 && d[i] < 0x7f) ? (char)d[i] : '.';
	}
	out[o] = 0;
}

int ev_cert_subject(const uint8_t *der, size_t n, char *out, size_t outlen)
{
	const unsigned char *p = der;
	X509 *x;
	X509_NAME *name;
	int r = -1;

	if (n < 4 || der[0] != 0x30 || n > 1 << 20)
		return -1;
	x = d2i_X509(NULL, &p, (long)n);
	if (!x)
		return -1;
	name = X509_get_subject_name(x);
	if (name && X509_NAME_get_text_by_NID(name, NID_commonName, out, (int)outlen) > 0)
		r = 0;
	else if (name && X509_NAME_oneline(name, out, (int)outlen))
		r = 0;
	X509_free(x);
	return r;
}
