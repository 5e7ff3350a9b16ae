/* libFuzzer harness for the PE/COFF parser: Authenticode hashing and the certificate table's PKCS#7
 * signatures (lib/tcg_pe.c), checked against a db made of the input itself (EFI_SIGNATURE_LISTs).
 * Seeds: fuzz/seeds.sh builds small PE images (and signed ones with sbsign) at run time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bdkit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t h[64];
	size_t hl, n = 0;
	struct bd_pe_signature sig[4];

	bd_authenticode_hash(data, size, BD_ALG_SHA256, h, &hl);
	bd_authenticode_hash(data, size, BD_ALG_SHA1, h, &hl);
	bd_pe_signatures(data, size, NULL, 0, sig, 4, &n);
	/* the tail as a db: the signer search walks signature lists */
	if (size > 64)
		bd_pe_signatures(data, size, data + size / 2, size - size / 2, sig, 4, &n);
	return 0;
}
