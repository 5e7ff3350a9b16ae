/* libFuzzer harness: key package / metadata backup / foreign .KPG recognition (bd_keypackage_parse and
 * bd_keypackage_protector). Seeds: fuzz/corpus/keypackage. */
#include <stddef.h>
#include <stdint.h>

#include "bdkit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bd_keypackage_info in;
	struct bd_protector_info p;

	if (size > 1 << 17)
		return 0;
	if (bd_keypackage_parse(data, size, &in))
		return 0;
	for (size_t i = 0; i < in.n_protectors && i < 4; i++)
		bd_keypackage_protector(data, size, i, &p);
	return 0;
}
