/* libFuzzer harness: memory image framing (LiME, ELF core, Windows crash dump) through
 * bd_memimage_open_io, then address lookups. Seeds: made by fuzz/seeds.sh. */
#include <stddef.h>
#include <stdint.h>

#include "bdkit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int format = BD_MEM_AUTO; format <= BD_MEM_CRASHDUMP; format++) {
		struct bd_io *io;
		bd_memimage *m;
		struct bd_memimage_info mi;
		uint64_t a;

		if (bd_io_open_memory(data, size, "fuzz", &io))
			return 0;
		if (bd_memimage_open_io(io, format, &m))
			continue;
		bd_memimage_info(m, &mi);
		for (uint64_t off = 0; off < size; off += 97)
			bd_memimage_address(m, off, &a);
		bd_memimage_close(m);
	}
	return 0;
}
