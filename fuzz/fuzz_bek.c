/* libFuzzer harness: .BEK startup-key file parsing (bd_bek_parse). Seeds: fuzz/corpus/bek. */
#include <stddef.h>
#include <stdint.h>

#include "metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bd_bek b;

	if (size > 1 << 16)
		return 0;
	bd_bek_parse(data, size, &b);
	return 0;
}
