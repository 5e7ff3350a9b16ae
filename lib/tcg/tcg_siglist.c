/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UEFI Secure Boot databases: EFI_SIGNATURE_LIST sequences (the values of PK,
 * KEK, db, dbx as PCR 7 measures them) and authenticated variable updates
 * (EFI_VARIABLE_AUTHENTICATION_2 in front of signature lists, as Windows and
 * fwupd ship db/dbx/KEK updates). UEFI 2.10 §32.4 (signature database) and
 * §8.2.2 (authenticated variables). The PKCS#7 signature and the certificates
 * are read with OpenSSL; only the UEFI framing is parsed here, through the
 * bounded cursor.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "internal.h"
#include "eventlog.h"

static const struct {
	const char *guid, *name;
	size_t size;            /* SignatureData size without the owner GUID, 0 = variable */
} sig_types[] = {
	{ "c1c41626-504c-4092-aca9-41f936934328", "sha256", 32 },
	{ "a5c059a1-94e4-4aa7-87b5-ab155c2bf072", "x509", 0 },
	{ "826ca512-cf10-4ac9-b187-be01496631bd", "sha1", 20 },
	{ "3c5766e8-269c-4e34-aa14-ed776e85b3b6", "rsa2048", 256 },
	{ "3bd2a492-96c0-4079-b420-fcf98ef103ed", "x509-sha256", 48 },
	{ "7076876e-80c2-4ee6-aad2-28b349a6865b", "x509-sha384", 64 },
	{ "446dbf63-2502-4cda-bcfa-2465d2b0fe9d", "x509-sha512", 80 },
	{ "0b6e5233-a65c-44c9-9407-d9ab83bfc8bd", "sha224", 28 },
	{ "ff3e5307-9fd0-48c9-85f1-8ad56c701e01", "sha384", 48 },
	{ "093e0fae-a6c4-4f50-9f1b-d41e2b89c19a", "sha512", 64 },
};

int ev_guid_parse(const char *s, uint8_t out[16])
{
	unsigned v[16];

	if (strlen(s) != 36 ||
	    sscanf(s, "%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x", &v[3], &v[2], &v[1], &v[0], &v[5], &v[4],
		   &v[7], &v[6], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14], &v[15]) != 16)
		return -1;
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)v[i];
	return 0;
}

const char *ev_sigtype_name(const uint8_t guid[16])
{
	char g[37];

	bd_guid_format(guid, g);
	for (size_t i = 0; i < ARRAY_SIZE(sig_types); i++)
		if (!strcmp(g, sig_types[i].guid))
			return sig_types[i].name;
	return NULL;
}

static size_t sigtype_size(const uint8_t guid[16], bool *known)
{
	char g[37];

	bd_guid_format(guid, g);
	for (size_t i = 0; i < ARRAY_SIZE(sig_types); i++)
		if (!strcmp(g, sig_types[i].guid)) {
			*known = true;
			return sig_types[i].size;
		}
	*known = false;
	return 0;
}

long ev_siglist_walk(const uint8_t *d, size_t n, ev_sig_cb cb, void *ctx)
{
	struct bd_cursor c = bd_cursor(d, n);
	long count = 0;

	while (cur_left(&c)) {
		size_t list_off = c.pos;
		const uint8_t *type = cur_bytes(&c, 16);
		uint32_t list = cur_u32(&c), hdr = cur_u32(&c), size = cur_u32(&c);
		bool known;
		size_t want;

		if (c.bad || list < 28 || list - 28 > cur_left(&c) + 0 || hdr > list - 28 || size < 16)
			return -1;
		if ((list - 28 - hdr) % size)
			return -1;
		want = sigtype_size(type, &known);
		if (known && want && size != want + 16)
			return -1;
		cur_bytes(&c, hdr);
		for (uint32_t k = 0; k < (list - 28 - hdr) / size; k++) {
			struct ev_sig s;
			s.type = type;
			s.type_name = ev_sigtype_name(type);
			s.list_offset = list_off;
			s.offset = c.pos;
			s.owner = cur_bytes(&c, 16);
			s.len = size - 16;
			s.data = cur_bytes(&c, s.len);
			if (c.bad)
				return -1;
			if (cb && cb(ctx, &s))
				return count + 1;
			count++;
		}
	}
	return count;
}

/* ---- certificates ---- */

void ev_x509_name(const uint8_t *der, size_t n, int subject, char *out, size_t outlen)
{
	const unsigned char *p = der;
	X509 *x;

	if (!outlen)
		return;
	out[0] = 0;
	if (n < 4 || n > (1u << 20))
		return;
	x = d2i_X509(NULL, &p, (long)n);
	if (!x)
		return;
	X509_NAME *nm = subject ? X509_get_subject_name(x) : X509_get_issuer_name(x);
	if (nm && X509_NAME_get_text_by_NID(nm, NID_commonName, out, (int)outlen) <= 0)
		X509_NAME_oneline(nm, out, (int)outlen);
	X509_free(x);
	ev_sanitize(out);
}

/* ---- authenticated variables ---- */

static const char pkcs7_guid[] = "4aafd29d-68df-49ee-8aa9-347d375665a7";

int ev_authvar_parse(const uint8_t *d, size_t n, struct ev_authvar *out)
{
	struct bd_cursor c = bd_cursor(d, n);
	uint8_t want[16];
	uint32_t len;
	uint16_t rev, type;
	const uint8_t *g;

	memset(out, 0, sizeof(*out));
	ev_guid_parse(pkcs7_guid, want);
	out->timestamp = cur_bytes(&c, 16);                 /* EFI_TIME */
	len = cur_u32(&c);                                  /* WIN_CERTIFICATE.dwLength */
	rev = cur_u16(&c);
	type = cur_u16(&c);
	g = cur_bytes(&c, 16);
	if (c.bad || rev != 0x0200 || type != 0x0EF1 || memcmp(g, want, 16))
		return -1;
	if (len < 24 || len - 24 > cur_left(&c))
		return -1;
	out->pkcs7 = cur_bytes(&c, len - 24);
	out->pkcs7_len = len - 24;
	out->payload = d + c.pos;
	out->payload_len = cur_left(&c);
	return 0;
}

/*
 * The signer of an authenticated variable: PKCS#7 SignedData, with or without
 * the ContentInfo wrapper (UEFI uses the bare SignedData; some tools wrap it).
 */
PKCS7 *ev_pkcs7_read(const uint8_t *der, size_t n)
{
	const unsigned char *p = der;
	PKCS7 *p7;
	uint8_t *wrapped;
	size_t hdr, total;

	if (n < 4 || n > (16u << 20))
		return NULL;
	p7 = d2i_PKCS7(NULL, &p, (long)n);
	if (p7)
		return p7;
	/* ContentInfo ::= SEQUENCE { OID signedData, [0] EXPLICIT SignedData } around it */
	static const uint8_t oid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };
	wrapped = malloc(n + 32);
	if (!wrapped)
		return NULL;
	uint8_t a0[6], seq[6];
	size_t la0, lseq;
	a0[0] = 0xa0;
	la0 = 1 + ((n < 0x80) ? (a0[1] = (uint8_t)n, 1) : n < 0x100 ? (a0[1] = 0x81, a0[2] = (uint8_t)n, 2)
		   : n < 0x10000 ? (a0[1] = 0x82, a0[2] = (uint8_t)(n >> 8), a0[3] = (uint8_t)n, 3)
		   : (a0[1] = 0x83, a0[2] = (uint8_t)(n >> 16), a0[3] = (uint8_t)(n >> 8), a0[4] = (uint8_t)n, 4));
	total = sizeof(oid) + la0 + n;
	seq[0] = 0x30;
	lseq = 1 + ((total < 0x80) ? (seq[1] = (uint8_t)total, 1) : total < 0x100 ? (seq[1] = 0x81, seq[2] = (uint8_t)total, 2)
		    : total < 0x10000 ? (seq[1] = 0x82, seq[2] = (uint8_t)(total >> 8), seq[3] = (uint8_t)total, 3)
		    : (seq[1] = 0x83, seq[2] = (uint8_t)(total >> 16), seq[3] = (uint8_t)(total >> 8), seq[4] = (uint8_t)total, 4));
	hdr = 0;
	memcpy(wrapped, seq, lseq);
	hdr += lseq;
	memcpy(wrapped + hdr, oid, sizeof(oid));
	hdr += sizeof(oid);
	memcpy(wrapped + hdr, a0, la0);
	hdr += la0;
	memcpy(wrapped + hdr, der, n);
	p = wrapped;
	p7 = d2i_PKCS7(NULL, &p, (long)(hdr + n));
	free(wrapped);
	return p7;
}
