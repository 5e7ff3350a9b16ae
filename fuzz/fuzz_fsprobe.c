/* libFuzzer harness for the file-system probe (lib/fve/fsprobe.c, bd_fs_probe): a boot sector as
 * `info`, `repair` and `create` read it from decrypted data, whole and cut at every length the
 * probe treats differently (under 512 bytes, one sector, the input's own length). Every field of
 * the result is used so that a read of something the probe left undefined shows under MSan/UBSan.
 * Seeds (fuzz/seeds.sh): boot sectors made by mkntfs, mkfs.vfat (FAT12/16/32) and mkfs.exfat, and
 * the first sector of decrypted Windows volumes when ../shared is present. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bdkit.h"

static volatile uint64_t sink;

static void use(const struct bd_fs_info *fi)
{
	char line[256];

	snprintf(line, sizeof(line), "%d %s %d%d%d%d %u %u %llu %llu %llu %llx %llu %llu %llu", (int)fi->kind,
		 fi->name, fi->boot_signature, fi->jump, fi->dos_oem, fi->valid, fi->bytes_per_sector,
		 fi->sectors_per_cluster, (unsigned long long)fi->total_sectors,
		 (unsigned long long)fi->hidden_sectors, (unsigned long long)fi->size,
		 (unsigned long long)fi->serial, (unsigned long long)fi->mft_lcn,
		 (unsigned long long)fi->mftmirr_lcn, (unsigned long long)fi->backup_boot_sector);
	sink += strlen(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bd_fs_info fi;
	const size_t cuts[] = { size, size < 512 ? size : 512, size ? size - 1 : 0 };

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		enum bd_fs_kind k = bd_fs_probe(data, cuts[i], &fi);
		if (k != fi.kind)
			__builtin_trap();   /* the return value is the kind it filled in */
		use(&fi);
	}
	return 0;
}
