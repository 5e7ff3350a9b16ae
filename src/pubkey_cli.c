/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Public-key (certificate, smart card, Data Recovery Agent) protector details for info and protector list. */
#include <string.h>

#include "pubkey_cli.h"

static void hex(const uint8_t *p, size_t n, bool upper, char *out)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	const char *d = upper ? up : lo;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = 0;
}

static const char *cert_type_text(uint32_t t)
{
	switch (t) {
	case 1: return "Data Recovery Agent certificate";
	case 2: return "user certificate (smart card), not a Data Recovery Agent";
	}
	return "unknown certificate type";
}

static bool is_pubkey(bd_volume *v, size_t i)
{
	struct bd_protector_info p;

	return !bd_volume_protector(v, i, &p) && bd_protector_kind(p.type) == BD_PROT_PUBLIC_KEY;
}

void cli_pubkey_text(bd_volume *v, size_t i, const char *indent)
{
	struct bd_pubkey_info k;
	char h[129];

	if (!is_pubkey(v, i))
		return;
	if (bd_volume_protector_pubkey(v, i, &k)) {
		printf("%scertificate: unreadable (%s)\n", indent, bd_last_error());
		return;
	}
	if (k.has_thumbprint) {
		hex(k.thumbprint, k.thumbprint_len, true, h);
		printf("%scertificate: thumbprint %s, %s\n", indent, h, cert_type_text(k.cert_type));
	} else {
		printf("%scertificate: no certificate record\n", indent);
	}
	if (k.has_key) {
		printf("%spublic key:  %s %u bits", indent, k.key_alg, k.key_bits);
		if (k.exponent)
			printf(", exponent %llu", (unsigned long long)k.exponent);
		if (k.has_key_sha1) {
			hex(k.key_sha1, 20, false, h);
			printf(", SHA-1 %s (the certificate's subject key ID)", h);
		}
		printf("\n");
	}
	if (!k.complete)
		printf("%s(incomplete: the encrypted key, public key or encrypted VMK is missing)\n", indent);
}

void cli_pubkey_json(bd_volume *v, size_t i)
{
	struct bd_pubkey_info k;
	char h[4097];

	if (!is_pubkey(v, i))
		return;
	if (bd_volume_protector_pubkey(v, i, &k)) {
		printf(", \"certificate_error\": ");
		cli_json_string(stdout, bd_last_error());
		return;
	}
	printf(", \"certificate\": {");
	if (k.has_thumbprint) {
		hex(k.thumbprint, k.thumbprint_len, true, h);
		printf("\"thumbprint\": \"%s\", \"cert_type\": %u, \"dra\": %s, \"cert_type_name\": ", h, k.cert_type,
		       k.cert_type == 1 ? "true" : "false");
		cli_json_string(stdout, cert_type_text(k.cert_type));
	} else {
		printf("\"thumbprint\": null, \"cert_type\": null, \"dra\": null, \"cert_type_name\": null");
	}
	printf(", \"key_algorithm\": ");
	if (k.has_key)
		cli_json_string(stdout, k.key_alg);
	else
		printf("null");
	printf(", \"key_bits\": %u", k.key_bits);
	if (k.exponent)
		printf(", \"public_exponent\": %llu", (unsigned long long)k.exponent);
	if (k.modulus_len) {
		hex(k.modulus, k.modulus_len, false, h);
		printf(", \"modulus\": \"%s\"", h);
	}
	if (k.has_key_sha1) {
		hex(k.key_sha1, 20, false, h);
		printf(", \"public_key_sha1\": \"%s\"", h);
	}
	printf(", \"encrypted_key_bytes\": %zu, \"complete\": %s}", k.encrypted_key_len, k.complete ? "true" : "false");
}
