/* libFuzzer harness: Windows recovery key text files (bd_recovery_key_file_parse: UTF-16LE/BE, UTF-8,
 * identifiers, the 48-digit password) and container signature detection. Seeds: fuzz/seeds.sh. */
#include <stddef.h>
#include <stdint.h>

#include "bdkit/fve.h"
#include "container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bd_recovery_key_file kf;

	if (size > 1 << 17)
		return 0;
	bd_recovery_key_file_parse(data, size, &kf);
	bd_container_detect(data, size < 512 ? size : 512, size >= 512 ? data + size - 512 : data, size >= 512 ? 512 : 0);
	return 0;
}
