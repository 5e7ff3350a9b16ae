/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decoders for UEFI payloads inside measured-boot events: UEFI_VARIABLE_DATA,
 * UEFI_IMAGE_LOAD_EVENT device paths, EFI_LOAD_OPTION (Boot####), UEFI_GPT_DATA,
 * certificates (diagnose.md §1.3). Every read goes through the cursor.
 */
#include <inttypes.h>
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
	ev_sanitize(v->name);
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

static size_t append_hex(char *out, size_t outlen, size_t n, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		n = append(out, outlen, n, "%02x", b[i]);
	return n;
}

static size_t append_ipv6(char *out, size_t outlen, size_t n, const uint8_t *a)
{
	for (int i = 0; i < 8; i++)
		n = append(out, outlen, n, "%s%x", i ? ":" : "", (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
	return n;
}

/* Vendor-defined node: GUID and, when present, the vendor data in hex. */
static size_t append_vendor(char *out, size_t outlen, size_t n, const char *kind, const uint8_t *b, size_t blen)
{
	char g[37];

	if (blen < 16)
		return append(out, outlen, n, "%s()", kind);
	bd_guid_format(b, g);
	n = append(out, outlen, n, "%s(%s", kind, g);
	if (blen > 16) {
		n = append(out, outlen, n, ",");
		n = append_hex(out, outlen, n, b + 16, MIN(blen - 16, (size_t)64));
		if (blen - 16 > 64)
			n = append(out, outlen, n, "...");
	}
	return append(out, outlen, n, ")");
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
		if (type == 1) {
			switch (sub) {
			case 1:
				if (blen >= 2)
					n = append(out, outlen, n, "Pci(0x%x,0x%x)", b[1], b[0]);
				else
					n = append(out, outlen, n, "Pci()");
				break;
			case 3:
				if (blen >= 20)
					n = append(out, outlen, n, "MemoryMapped(0x%x,0x%" PRIx64 ",0x%" PRIx64 ")",
						   le32(b), le64(b + 4), le64(b + 12));
				else
					n = append(out, outlen, n, "MemoryMapped()");
				break;
			case 4: n = append_vendor(out, outlen, n, "VenHw", b, blen); break;
			case 5: n = append(out, outlen, n, "Ctrl(0x%x)", blen >= 4 ? le32(b) : 0); break;
			default: n = append(out, outlen, n, "HardwarePath(%u)", sub);
			}
		} else if (type == 2 && sub == 1 && blen >= 8) {
			if (le32(b) == 0x0A0341D0 || le32(b) == 0x0A0841D0)
				n = append(out, outlen, n, "PciRoot(0x%x)", le32(b + 4));
			else
				n = append(out, outlen, n, "Acpi(0x%08x,0x%x)", le32(b), le32(b + 4));
		} else if (type == 2 && sub == 3 && blen >= 4) {
			n = append(out, outlen, n, "AcpiAdr(0x%x)", le32(b));
		} else if (type == 2) {
			n = append(out, outlen, n, "AcpiPath(%u)", sub);
		} else if (type == 3) {
			switch (sub) {
			case 1: disk = true;
				n = append(out, outlen, n, "Ata(%s,%s,%u)", blen >= 4 && b[0] ? "Secondary" : "Primary",
					   blen >= 4 && b[1] ? "Slave" : "Master", blen >= 4 ? le16(b + 2) : 0);
				break;
			case 2: disk = true; n = append(out, outlen, n, "Scsi(0x%x,0x%x)",
							blen >= 4 ? le16(b) : 0, blen >= 4 ? le16(b + 2) : 0); break;
			case 5: usb = true; n = append(out, outlen, n, "USB(0x%x,0x%x)",
						       blen >= 2 ? b[0] : 0, blen >= 2 ? b[1] : 0); break;
			case 0x0a: n = append_vendor(out, outlen, n, "VenMsg", b, blen); break;
			case 0x0b: {
				/* MAC address (32 bytes, padded) and interface type: 0/1 = Ethernet, 6 bytes */
				size_t alen = blen >= 33 && b[32] <= 1 ? 6 : MIN(blen, (size_t)32);
				net = true;
				n = append(out, outlen, n, "MAC(");
				for (size_t i = 0; i < alen; i++)
					n = append(out, outlen, n, "%s%02x", i ? ":" : "", b[i]);
				n = append(out, outlen, n, blen >= 33 ? ",0x%x)" : ")", blen >= 33 ? b[32] : 0);
				break;
			}
			case 0x0c: net = true;
				if (blen >= 15) {
					n = append(out, outlen, n, "IPv4(%u.%u.%u.%u,%s,%s", b[4], b[5], b[6], b[7],
						   le16(b + 12) == 6 ? "TCP" : le16(b + 12) == 17 ? "UDP" : "proto",
						   b[14] ? "Static" : "DHCP");
					if (blen >= 23 && !bd_is_zero(b, 4))
						n = append(out, outlen, n, ",%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
					n = append(out, outlen, n, ")");
				} else if (blen >= 8) {
					n = append(out, outlen, n, "IPv4(%u.%u.%u.%u)", b[4], b[5], b[6], b[7]);
				} else {
					n = append(out, outlen, n, "IPv4()");
				}
				break;
			case 0x0d: net = true;
				if (blen >= 39) {
					static const char *origin[] = { "Static", "StatelessAutoConfigure", "StatefulAutoConfigure" };
					n = append(out, outlen, n, "IPv6(");
					n = append_ipv6(out, outlen, n, b + 16);
					n = append(out, outlen, n, ",%s,%s", le16(b + 36) == 6 ? "TCP" : le16(b + 36) == 17 ? "UDP" : "proto",
						   b[38] < 3 ? origin[b[38]] : "origin?");
					if (!bd_is_zero(b, 16)) {
						n = append(out, outlen, n, ",");
						n = append_ipv6(out, outlen, n, b);
					}
					n = append(out, outlen, n, ")");
				} else {
					n = append(out, outlen, n, "IPv6()");
				}
				break;
			case 0x0f: usb = true;
				if (blen >= 7)
					n = append(out, outlen, n, "UsbClass(0x%x,0x%x,0x%x,0x%x,0x%x)", le16(b), le16(b + 2),
						   b[4], b[5], b[6]);
				else
					n = append(out, outlen, n, "UsbClass()");
				break;
			case 0x10: usb = true;
				n = append(out, outlen, n, "UsbWwid(0x%x,0x%x,0x%x)", blen >= 6 ? le16(b + 2) : 0,
					   blen >= 6 ? le16(b + 4) : 0, blen >= 6 ? le16(b) : 0);
				break;
			case 0x11: n = append(out, outlen, n, "Unit(0x%x)", blen >= 1 ? b[0] : 0); break;
			case 0x12: disk = true; n = append(out, outlen, n, "Sata(0x%x,0x%x,0x%x)",
							blen >= 6 ? le16(b) : 0, blen >= 6 ? le16(b + 2) : 0,
							blen >= 6 ? le16(b + 4) : 0); break;
			case 0x14: net = true; n = append(out, outlen, n, "Vlan(%u)", blen >= 2 ? le16(b) : 0); break;
			case 0x17: disk = true;
				n = append(out, outlen, n, "NVMe(0x%x", blen >= 4 ? le32(b) : 0);
				if (blen >= 12) {
					n = append(out, outlen, n, ",");
					for (int i = 0; i < 8; i++)
						n = append(out, outlen, n, "%s%02X", i ? "-" : "", b[4 + i]);
				}
				n = append(out, outlen, n, ")");
				break;
			case 0x18: {
				char uri[256];
				size_t k = MIN(blen, sizeof(uri) - 1);
				net = true;
				memcpy(uri, b, k);
				uri[k] = 0;
				n = append(out, outlen, n, "Uri(%s)", uri);
				break;
			}
			case 0x1d: disk = true; n = append(out, outlen, n, "eMMC(0x%x)", blen >= 1 ? b[0] : 0); break;
			default: n = append(out, outlen, n, "Msg(%u)", sub);
			}
		} else if (type == 4) {
			switch (sub) {
			case 1:
				if (blen >= 38) {
					disk = true;
					if (b[37] == 2) {
						bd_guid_format(b + 20, g);
						n = append(out, outlen, n, "HD(%u,GPT,%s,0x%" PRIx64 ",0x%" PRIx64 ")", le32(b), g,
							   le64(b + 4), le64(b + 12));
					} else {
						n = append(out, outlen, n, "HD(%u,MBR,0x%08x,0x%" PRIx64 ",0x%" PRIx64 ")",
							   le32(b), le32(b + 20), le64(b + 4), le64(b + 12));
					}
				} else {
					n = append(out, outlen, n, "HD()");
				}
				break;
			case 2: cd = true;
				if (blen >= 20)
					n = append(out, outlen, n, "CDROM(0x%x,0x%" PRIx64 ",0x%" PRIx64 ")", le32(b), le64(b + 4),
						   le64(b + 12));
				else
					n = append(out, outlen, n, "CDROM()");
				break;
			case 3: n = append_vendor(out, outlen, n, "VenMedia", b, blen); break;
			case 4: {
				char path[512];
				bd_utf16le_to_utf8(b, blen, path, sizeof(path));
				n = append(out, outlen, n, "File(%s)", path);
				break;
			}
			case 5:
				if (blen >= 16) {
					bd_guid_format(b, g);
					n = append(out, outlen, n, "Media(%s)", g);
				}
				break;
			case 6: case 7:
				fv = true;
				if (blen >= 16) {
					bd_guid_format(b, g);
					n = append(out, outlen, n, sub == 6 ? "FvFile(%s)" : "Fv(%s)", g);
				}
				break;
			case 8:
				if (blen >= 20)
					n = append(out, outlen, n, "Offset(0x%" PRIx64 ",0x%" PRIx64 ")", le64(b + 4), le64(b + 12));
				else
					n = append(out, outlen, n, "Offset()");
				break;
			case 9:
				if (blen >= 16)
					n = append(out, outlen, n, "RamDisk(0x%" PRIx64 ",0x%" PRIx64 ")", le64(b), le64(b + 8));
				else
					n = append(out, outlen, n, "RamDisk()");
				break;
			default: n = append(out, outlen, n, "MediaPath(%u)", sub);
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
			n = append(out, outlen, n, "BBS(%u", bbs);
			if (blen > 4) {
				char desc[128];
				size_t k = MIN(blen - 4, sizeof(desc) - 1), j;
				for (j = 0; j < k && b[4 + j]; j++)
					desc[j] = (char)b[4 + j];
				desc[j] = 0;
				if (j)
					n = append(out, outlen, n, ",%s", desc);
			}
			n = append(out, outlen, n, ")");
		} else {
			n = append(out, outlen, n, "Path(%u,%u)", type, sub);
		}
	}
	if (medium)
		*medium = net ? MEDIUM_NETWORK : cd ? MEDIUM_CDROM : usb ? MEDIUM_USB : disk ? MEDIUM_DISK
			: fv ? MEDIUM_FIRMWARE : MEDIUM_UNKNOWN;
	if (outlen)
		ev_sanitize(out);
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
	if (desclen)
		ev_sanitize(desc);
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

/* Does d hold UTF-16LE text (printable BMP characters, optionally NUL-terminated)? */
static bool utf16_text(const uint8_t *d, size_t n)
{
	size_t chars = 0;

	if (n % 2 && n > 2 && d[n - 1] == 0)
		n--;   /* a stray NUL byte after the text */
	if (n < 2 || n % 2)
		return false;
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint16_t c = le16(d + i);
		if (c == 0)
			return chars > 0 && bd_is_zero(d + i, n - i);
		if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0xd800 && c < 0xe000) || c >= 0xfff0)
			return false;
		if (c > 0xff && chars == 0)
			return false;   /* text starts with a Latin character */
		chars++;
	}
	return chars > 0;
}

bool ev_is_utf16_text(const uint8_t *d, size_t n)
{
	return utf16_text(d, n);
}

void ev_printable(const uint8_t *d, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (!outlen)
		return;
	if (n >= 4 && utf16_text(d, n)) {
		bd_utf16le_to_utf8(d, n, out, outlen);
		ev_sanitize(out);
		return;
	}
	for (i = 0; i < n && o + 1 < outlen; i++) {
		if (d[i] == 0)
			break;
		out[o++] = (d[i] >= 0x20 && d[i] < 0x7f) ? (char)d[i] : '.';
	}
	out[o] = 0;
}

void ev_crtm_version(const uint8_t *d, size_t n, char *out, size_t outlen)
{
	bool ascii = n > 0;

	if (!outlen)
		return;
	for (size_t i = 0; i < n && ascii; i++)
		ascii = (d[i] >= 0x20 && d[i] < 0x7f) || (d[i] == 0 && bd_is_zero(d + i, n - i));
	if (n == 16 && !utf16_text(d, n) && !ascii) {
		/* PFP: the version may be a GUID */
		char g[37];
		bd_guid_format(d, g);
		snprintf(out, outlen, "{%s}", g);
		return;
	}
	ev_printable(d, n, out, outlen);
}

void ev_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		unsigned char c = *p;
		size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		bool ok = len != 0;

		for (size_t k = 1; k < len && ok; k++)
			ok = (p[k] & 0xC0) == 0x80;
		if (ok && len == 2 && c == 0xC2 && p[1] < 0xA0)
			ok = false;   /* C1 control characters U+0080-U+009F (8-bit CSI ...) */
		if (ok && len == 2 && c < 0xC2)
			ok = false;   /* overlong */
		if (!ok) {
			*p++ = '?';
			continue;
		}
		if (len == 1) {
			if (c == '\t' || c == '\n' || c == '\r')
				*p = ' ';
			else if (c < 0x20 || c == 0x7f)
				*p = '?';
		} else if (len == 3 && c == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
			memset(p, '?', 3);   /* line / paragraph separator */
		}
		p += len;
	}
}

static const struct { const char *guid, *name; } part_types[] = {
	{ "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "EFI system" },
	{ "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "Microsoft basic data" },
	{ "e3c9e316-0b5c-4db8-817d-f92df00215ae", "Microsoft reserved" },
	{ "de94bba4-06d1-4d40-a16a-bfd50179d6ac", "Windows recovery" },
	{ "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3", "Windows LDM metadata" },
	{ "af9b60a0-1431-4f62-bc68-3311714a69ad", "Windows LDM data" },
	{ "21686148-6449-6e6f-744e-656564454649", "BIOS boot" },
	{ "0fc63daf-8483-4772-8e79-3d69d8477de4", "Linux filesystem" },
	{ "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "Linux root (x86-64)" },
	{ "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "Linux swap" },
	{ "e6d6d379-f507-44c2-a23c-238f2a3df928", "Linux LVM" },
	{ "a19d880f-05fc-4d3b-a006-743f0f84911e", "Linux RAID" },
	{ "bc13c2ff-59e6-4262-a352-b275fd6f7172", "Linux extended boot" },
	{ "48465300-0000-11aa-aa11-00306543ecac", "Apple HFS+" },
};

int ev_gpt_partition(const uint8_t *d, size_t n, uint64_t j, struct bd_gpt_partition *p)
{
	uint32_t esz;
	uint64_t cnt;
	size_t off;

	if (n < 100 || memcmp(d, "EFI PART", 8))
		return -1;
	esz = le32(d + 84);
	cnt = le64(d + 92);
	if (esz < 128 || j >= cnt || j > (n - 100) / esz)
		return -1;
	off = 100 + (size_t)j * esz;
	if (off > n || n - off < 128)
		return -1;
	memset(p, 0, sizeof(*p));
	memcpy(p->type_guid, d + off, 16);
	memcpy(p->unique_guid, d + off + 16, 16);
	p->first_lba = le64(d + off + 32);
	p->last_lba = le64(d + off + 40);
	p->attributes = le64(d + off + 48);
	bd_utf16le_to_utf8(d + off + 56, 72, p->name, sizeof(p->name));
	ev_sanitize(p->name);
	char g[37];
	bd_guid_format(p->type_guid, g);
	p->type_name = "";
	for (size_t i = 0; i < ARRAY_SIZE(part_types); i++)
		if (!strcmp(g, part_types[i].guid))
			p->type_name = part_types[i].name;
	return 0;
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
	if (!r)
		ev_sanitize(out);
	return r;
}
