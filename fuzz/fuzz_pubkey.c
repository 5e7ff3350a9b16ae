/*
 * libFuzzer harness: public-key protector datums (bd_pk_prot_parse, lib/pkprotector.c) and CNG RSA
 * key blobs (bd_rsa_pub_from_cng). The input is the run of datums inside a VMK entry of protection
 * type 0x1000 (it is wrapped in an entry header here); it is also parsed as a bare key blob.
 * Seeds (fuzz/seeds.sh): the children of the real smart-card volume's 0x1000 entry and its key blob.
 */
#include <stdlib.h>

#include "pubkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bd_rsa_pub pub, back;
	struct bd_pk_prot pk;
	struct bd_datum e;
	uint8_t *buf, blob[24 + 8 + BD_RSA_MAX_BYTES], id[20];

	if (size > 0xFFFF - 0x24)
		return 0;
	if (!bd_rsa_pub_from_cng(data, size, &pub)) {
		long n = bd_rsa_pub_to_cng(&pub, blob, sizeof(blob));
		if (n < 0 || bd_rsa_pub_from_cng(blob, (size_t)n, &back) || !bd_rsa_pub_equal(&pub, &back))
			abort();
	}
	buf = calloc(1, 0x24 + size);
	if (!buf)
		return 0;
	put_le16(buf, (uint16_t)(0x24 + size));
	put_le16(buf + 2, 2);
	put_le16(buf + 4, 8);
	put_le16(buf + 6, 1);
	put_le16(buf + 0x22, 0x1000);
	memcpy(buf + 0x24, data, size);
	e = (struct bd_datum){ buf, (uint16_t)(0x24 + size), 2, 8, 1 };
	if (!bd_pk_prot_parse(&e, &pk)) {
		if (pk.have_rsa)
			bd_rsa_pub_key_id(&pk.rsa, id);
		if (pk.thumbprint && (pk.thumbprint < buf || pk.thumbprint + pk.thumbprint_len > buf + 0x24 + size))
			abort();
		if (pk.ct && (pk.ct < buf || pk.ct + pk.ct_len > buf + 0x24 + size))
			abort();
	}
	free(buf);
	return 0;
}
