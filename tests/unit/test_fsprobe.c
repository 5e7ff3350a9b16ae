/* Unit tests: bd_fs_probe, the one file-system boot-sector probe (lib/fve/fsprobe.c).
 * Judges: the real Windows volumes (decrypted with their published secrets; the volume serial must be
 * images.conf's UUID), file systems made at test time by mkntfs, mkfs.vfat and mkfs.exfat with known
 * parameters, and hand-made edge cases (truncated buffers, broken signatures). */
#include <stdlib.h>
#include <unistd.h>

#include "bdkit.h"
#include "check.h"

/* value of key in [section] of images.conf, or NULL */
static char *conf_get(const char *conf, const char *section, const char *key, char *out, size_t outlen)
{
	FILE *f = fopen(conf, "r");
	char line[512], want[128];
	int in = 0;

	if (!f)
		return NULL;
	snprintf(want, sizeof(want), "[%s]", section);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (line[0] == '[') {
			in = !strcmp(line, want);
			continue;
		}
		size_t kl = strlen(key);
		if (in && !strncmp(line, key, kl) && line[kl] == '=') {
			snprintf(out, outlen, "%s", line + kl + 1);
			fclose(f);
			return out;
		}
	}
	fclose(f);
	return NULL;
}

static void real_volumes(const char *build)
{
	static const struct {
		const char *name;
		int fat;            /* 1: a FAT or exFAT To Go volume, 0: NTFS */
		uint32_t bps;
	} vols[] = {
		{ "bitlk-aes-xts-128", 0, 512 },
		{ "bitlk-aes-cbc-elephant-256", 0, 512 },
		{ "bitlk-aes-xts-128-4k", 0, 4096 },
		{ "bitlk-aes-cbc-128-4k", 0, 4096 },
		{ "bitlk-togo-aes-xts-128", 1, 512 },
		{ "bitlk-togo-aes-cbc-128", 1, 512 },
	};
	char conf[256];
	snprintf(conf, sizeof(conf), "%s/testdata/bitlk-images/images.conf", build);
	if (access(conf, R_OK)) {
		SKIP("real volumes: ../shared/testdata/bitlk not unpacked");
		return;
	}
	for (size_t i = 0; i < sizeof(vols) / sizeof(vols[0]); i++) {
		char path[300], pw[200], uuid[64], want[64];
		struct bd_open_opts o = BD_OPEN_OPTS_INIT(.offset = -1);
		bd_volume *v = NULL;
		uint8_t bs[512];
		struct bd_fs_info fi;
		int r;

		snprintf(path, sizeof(path), "%s/testdata/bitlk-images/%s.img", build, vols[i].name);
		if (!conf_get(conf, vols[i].name, "UUID", uuid, sizeof(uuid)) ||
		    (!conf_get(conf, vols[i].name, "PW", pw, sizeof(pw)) &&
		     !conf_get(conf, vols[i].name, "RP", pw, sizeof(pw)))) {
			CHECK(0, "%s: secret and UUID in images.conf", vols[i].name);
			continue;
		}
		r = bd_volume_open(path, &o, &v);
		if (!r)
			r = strlen(pw) == 55 ? bd_unlock_recovery_password(v, pw) : bd_unlock_password(v, pw);
		ssize_t n = r ? -1 : bd_volume_pread(v, bs, sizeof(bs), 0);
		struct bd_info info;
		if (!r)
			r = bd_volume_info(v, &info);
		bd_volume_close(v);
		if (r || n != 512) {
			CHECK(0, "%s: unlock and read the decrypted boot sector (%s)", vols[i].name, bd_last_error());
			continue;
		}
		enum bd_fs_kind k = bd_fs_probe(bs, sizeof(bs), &fi);
		if (vols[i].fat) {
			CHECK((k == BD_FS_FAT32 || k == BD_FS_FAT16 || k == BD_FS_FAT12 || k == BD_FS_EXFAT) && fi.valid,
			      "%s: a valid FAT or exFAT boot sector (%s)", vols[i].name, fi.name);
			snprintf(want, sizeof(want), "%04X-%04X", (unsigned)(fi.serial >> 16 & 0xFFFF),
				 (unsigned)(fi.serial & 0xFFFF));
		} else {
			CHECK(k == BD_FS_NTFS && fi.valid && fi.boot_signature && fi.jump && !strcmp(fi.name, "NTFS"),
			      "%s: a valid NTFS boot sector", vols[i].name);
			snprintf(want, sizeof(want), "%016llX", (unsigned long long)fi.serial);
		}
		CHECK(!strcmp(want, uuid), "%s: volume serial %s is images.conf's UUID %s", vols[i].name, want, uuid);
		CHECK(fi.bytes_per_sector == vols[i].bps, "%s: %u bytes per sector", vols[i].name, fi.bytes_per_sector);
		CHECK(fi.size && fi.size <= info.volume_size && fi.size + (1u << 20) > info.volume_size,
		      "%s: the file system spans %llu of the volume's %llu bytes", vols[i].name,
		      (unsigned long long)fi.size, (unsigned long long)info.volume_size);
		if (k == BD_FS_NTFS) {
			/* $MFT's first record decrypts to "FILE": the probe's cluster arithmetic holds */
			struct bd_open_opts o2 = BD_OPEN_OPTS_INIT(.offset = -1);
			uint8_t rec[4];
			r = bd_volume_open(path, &o2, &v);
			if (!r)
				r = strlen(pw) == 55 ? bd_unlock_recovery_password(v, pw) : bd_unlock_password(v, pw);
			uint64_t at = fi.mft_lcn * fi.sectors_per_cluster * fi.bytes_per_sector;
			n = r ? -1 : bd_volume_pread(v, rec, 4, (off_t)at);
			bd_volume_close(v);
			CHECK(n == 4 && !memcmp(rec, "FILE", 4), "%s: $MFT at cluster %llu holds FILE", vols[i].name,
			      (unsigned long long)fi.mft_lcn);
		}
	}
}

static int have(const char *prog)
{
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "PATH=\"$PATH:/usr/sbin:/sbin\" command -v %s >/dev/null 2>&1", prog);
	return !system(cmd);
}

/* Run a formatter on a fresh file of size bytes; probe its first sector. 0 on success. */
static int made(const char *dir, const char *name, uint64_t size, const char *cmd_fmt, uint8_t bs[512])
{
	char path[300], cmd[600];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f || ftruncate(fileno(f), (off_t)size)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	int w = snprintf(cmd, sizeof(cmd), "PATH=\"$PATH:/usr/sbin:/sbin\"; ");
	snprintf(cmd + w, sizeof(cmd) - (size_t)w, cmd_fmt, path);
	if (system(cmd))
		return -1;
	f = fopen(path, "r");
	int r = f && fread(bs, 1, 512, f) == 512 ? 0 : -1;
	if (f)
		fclose(f);
	unlink(path);
	return r;
}

static void formatted(void)
{
	char dir[] = "/tmp/bdkit-fsprobe-XXXXXX";
	uint8_t bs[512];
	struct bd_fs_info fi;

	if (!mkdtemp(dir)) {
		CHECK(0, "temporary directory");
		return;
	}
	if (!have("mkntfs"))
		SKIP("mkntfs: not installed (ntfs-3g)");
	else if (made(dir, "ntfs", 16 << 20, "mkntfs -F -Q -q -s 512 -c 4096 -p 2048 -H 0 -S 0 %s >/dev/null 2>&1", bs))
		CHECK(0, "mkntfs made a file system");
	else {
		CHECK(bd_fs_probe(bs, 512, &fi) == BD_FS_NTFS && fi.valid, "mkntfs: NTFS, valid");
		CHECK(fi.bytes_per_sector == 512 && fi.sectors_per_cluster == 8 && fi.hidden_sectors == 2048,
		      "mkntfs: 512-byte sectors, 4 KiB clusters, partition start 2048 (%u %u %llu)", fi.bytes_per_sector,
		      fi.sectors_per_cluster, (unsigned long long)fi.hidden_sectors);
		CHECK(fi.size == 16 << 20, "mkntfs: spans the 16 MiB file with its backup boot sector (%llu)",
		      (unsigned long long)fi.size);
		CHECK(fi.backup_boot_sector == (16 << 20) / 512 - 1, "mkntfs: the backup boot sector is the last sector");
	}
	static const struct {
		const char *opts;
		uint64_t size;
		enum bd_fs_kind kind;
		uint32_t bps;
	} fats[] = {
		{ "-F 12 -S 512", 4 << 20, BD_FS_FAT12, 512 },
		{ "-F 16 -S 512", 32 << 20, BD_FS_FAT16, 512 },
		{ "-F 32 -S 512", 64 << 20, BD_FS_FAT32, 512 },
		{ "-F 32 -S 4096", 128 << 20, BD_FS_FAT32, 4096 },
	};
	for (size_t i = 0; i < sizeof(fats) / sizeof(fats[0]); i++) {
		char cmd[200];
		snprintf(cmd, sizeof(cmd), "mkfs.vfat %s -i 1234ABCD %%s >/dev/null 2>&1", fats[i].opts);
		if (!have("mkfs.vfat")) {
			SKIP("mkfs.vfat: not installed (dosfstools)");
			break;
		}
		if (made(dir, "fat", fats[i].size, cmd, bs)) {
			CHECK(0, "mkfs.vfat %s made a file system", fats[i].opts);
			continue;
		}
		enum bd_fs_kind k = bd_fs_probe(bs, 512, &fi);
		CHECK(k == fats[i].kind && fi.valid && fi.boot_signature,
		      "mkfs.vfat %s: %s, valid", fats[i].opts, fi.name);
		CHECK(fi.bytes_per_sector == fats[i].bps && fi.serial == 0x1234ABCD && fi.size == fats[i].size,
		      "mkfs.vfat %s: %u-byte sectors, serial 1234ABCD, spans the file (%u %llx %llu)", fats[i].opts,
		      fi.bytes_per_sector, fi.bytes_per_sector, (unsigned long long)fi.serial,
		      (unsigned long long)fi.size);
		CHECK(fi.backup_boot_sector == (fats[i].kind == BD_FS_FAT32 ? 6u : 0u),
		      "mkfs.vfat %s: backup boot sector %llu (FAT32: sector 6, FAT12/16: none)", fats[i].opts,
		      (unsigned long long)fi.backup_boot_sector);
	}
	if (!have("mkfs.exfat"))
		SKIP("mkfs.exfat: not installed (exfatprogs)");
	else if (made(dir, "exfat", 64 << 20, "mkfs.exfat -c 32K %s >/dev/null 2>&1", bs))
		CHECK(0, "mkfs.exfat made a file system");
	else {
		CHECK(bd_fs_probe(bs, 512, &fi) == BD_FS_EXFAT && fi.valid && !strcmp(fi.name, "exFAT"),
		      "mkfs.exfat: exFAT, valid");
		CHECK(fi.bytes_per_sector == 512 && fi.sectors_per_cluster == 64 && fi.size == 64 << 20,
		      "mkfs.exfat: 512-byte sectors, 32 KiB clusters, spans the file (%u %u %llu)", fi.bytes_per_sector,
		      fi.sectors_per_cluster, (unsigned long long)fi.size);
		CHECK(fi.backup_boot_sector == 12, "mkfs.exfat: the backup boot region starts at sector 12");
		/* edge: a sector shift outside 9..12 is no sector size */
		uint8_t b2[512];
		memcpy(b2, bs, 512);
		b2[0x6C] = 13;
		bd_fs_probe(b2, 512, &fi);
		CHECK(fi.kind == BD_FS_EXFAT && fi.bytes_per_sector == 0, "exFAT with BytesPerSectorShift 13: no sector size");
	}
	rmdir(dir);
}

static void edges(void)
{
	uint8_t bs[4096];
	struct bd_fs_info fi;

	memset(bs, 0, sizeof(bs));
	CHECK(bd_fs_probe(bs, sizeof(bs), &fi) == BD_FS_UNKNOWN && !fi.valid && !fi.size && fi.name && !*fi.name,
	      "zeros: unknown, not valid");
	CHECK(bd_fs_probe(NULL, 0, &fi) == BD_FS_UNKNOWN && !fi.valid, "no buffer: unknown");
	/* an NTFS boot sector */
	bs[0] = 0xEB; bs[1] = 0x52; bs[2] = 0x90;
	memcpy(bs + 3, "NTFS    ", 8);
	bs[11] = 0x00; bs[12] = 0x02; bs[13] = 8;
	bs[0x28] = 0xFF; bs[0x29] = 0x7F;  /* 32767 sectors */
	bs[0x30] = 4;
	bs[510] = 0x55; bs[511] = 0xAA;
	CHECK(bd_fs_probe(bs, 512, &fi) == BD_FS_NTFS && fi.valid && fi.size == 32768 * 512 && fi.mft_lcn == 4,
	      "hand-made NTFS: valid, 16 MiB");
	CHECK(bd_fs_probe(bs, 511, &fi) == BD_FS_UNKNOWN && !fi.valid, "truncated to 511 bytes: unknown");
	bs[13] = 0xF4;  /* 2^12 sectors per cluster */
	bd_fs_probe(bs, 512, &fi);
	CHECK(fi.sectors_per_cluster == 4096, "NTFS sectors per cluster 0xF4 is 2^12");
	bs[13] = 0xF0;
	bd_fs_probe(bs, 512, &fi);
	CHECK(fi.sectors_per_cluster == 0, "NTFS sectors per cluster 0xF0 (2^16) is out of range: 0");
	bs[511] = 0;
	CHECK(bd_fs_probe(bs, 512, &fi) == BD_FS_NTFS && !fi.valid && !fi.boot_signature,
	      "NTFS without 0x55AA: still named NTFS, not valid");
	bs[511] = 0xAA;
	memcpy(bs + 3, "NTFX    ", 8);
	CHECK(bd_fs_probe(bs, 512, &fi) == BD_FS_UNKNOWN && !fi.valid, "wrong OEM signature: unknown, not valid");
	memcpy(bs + 3, "MSDOS5.0", 8);
	CHECK(bd_fs_probe(bs, 512, &fi) == BD_FS_UNKNOWN && fi.dos_oem && fi.valid,
	      "DOS OEM name with 0x55AA and no FAT label: unknown kind, valid header");
	memcpy(bs + 0x36, "FAT     ", 8);
	CHECK(bd_fs_probe(bs, 512, &fi) == BD_FS_FAT && !strcmp(fi.name, "FAT"), "FAT label without width: FAT");
	/* ReFS: recognised, never counted as valid (no caller accepted it before) */
	memset(bs, 0, 512);
	memcpy(bs + 3, "ReFS\0\0\0\0", 8);
	memcpy(bs + 0x10, "FSRS", 4);
	bs[0x18] = 0x00; bs[0x19] = 0x80;   /* 32768 sectors */
	bs[0x21] = 0x02;                    /* 512 bytes */
	CHECK(bd_fs_probe(bs, 512, &fi) == BD_FS_REFS && !fi.valid && fi.bytes_per_sector == 512 &&
	      fi.size == 32768 * 512, "ReFS: recognised with its geometry, not valid");
	memcpy(bs + 0x10, "FSRX", 4);
	CHECK(bd_fs_probe(bs, 512, &fi) == BD_FS_UNKNOWN, "ReFS OEM without FSRS: unknown");
	/* random bytes are no file system */
	srand(7);
	int any = 0;
	for (int t = 0; t < 1000; t++) {
		for (size_t i = 0; i < 512; i++)
			bs[i] = (uint8_t)rand();
		any |= bd_fs_probe(bs, 512, &fi) != BD_FS_UNKNOWN || fi.valid;
	}
	CHECK(!any, "1000 random sectors: none recognised");
}

int main(void)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	edges();
	formatted();
	real_volumes(build);
	CHECK_DONE();
}
