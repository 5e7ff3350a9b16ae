/* Unit tests for lib/create.c and the copy writer: refusals write nothing, failures mid-way leave
 * no volume header, the three copies are written one at a time and verified. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "fault_io.h"
#include "internal.h"
#include "writer.h"

static char path[] = "/tmp/bdkit-test-create.XXXXXX";

static struct bd_io *open_rw(void)
{
	struct bd_io *io = NULL;

	if (bd_io_open_file(path, BD_IO_RDWR, &io))
		return NULL;
	return io;
}

static int file_is(uint8_t byte, uint64_t off, size_t len)
{
	struct bd_io *io = NULL;
	uint8_t *buf = malloc(len);
	int same = 0;

	if (buf && !bd_io_open_file(path, BD_IO_RDONLY, &io) && !bd_io_read_full(io, buf, len, off)) {
		same = 1;
		for (size_t i = 0; i < len; i++)
			if (buf[i] != byte)
				same = 0;
	}
	bd_io_close(io);
	free(buf);
	return same;
}

static void fill(uint8_t byte, uint64_t size)
{
	uint8_t *buf = malloc(1 << 20);
	FILE *f = fopen(path, "wb");

	memset(buf, byte, 1 << 20);
	for (uint64_t o = 0; o < size; o += 1 << 20)
		fwrite(buf, 1, 1 << 20, f);
	fclose(f);
	free(buf);
}

int main(void)
{
	struct bd_create_opts o;
	struct bd_create_result res;
	struct bd_io *io, *fio;
	int fd = mkstemp(path), r;

	if (fd < 0) {
		SKIP("create tests: no temporary file");
		return 0;
	}
	close(fd);

	/* refusals */
	fill(0xA5, 4 << 20);
	o = (struct bd_create_opts)BD_CREATE_OPTS_INIT();
	o.recovery_password = 1;
	io = open_rw();
	r = bd_create(io, &o, &res);
	CHECK(r == BD_ERR_EXISTS && strstr(bd_last_error(), "already holds data"), "target with data refused: %s",
	      bd_last_error());
	o.force = 1;
	o.volume_size = 1 << 20;
	r = bd_create(io, &o, &res);
	CHECK(r == BD_ERR_INVALID && strstr(bd_last_error(), "too small"), "1 MiB volume refused: %s", bd_last_error());
	o.volume_size = 8 << 20;
	r = bd_create(io, &o, &res);
	CHECK(r == BD_ERR_INVALID, "volume larger than the target refused");
	o.volume_size = 0;
	o.recovery_password = 0;
	r = bd_create(io, &o, &res);
	CHECK(r == BD_ERR_INVALID && strstr(bd_last_error(), "no protector"), "no protector refused");
	o.recovery_password = 1;
	o.method = 0x1234;
	r = bd_create(io, &o, &res);
	CHECK(r == BD_ERR_INVALID, "unknown method refused");
	o.method = 0;
	o.sector_size = 1024;
	r = bd_create(io, &o, &res);
	CHECK(r == BD_ERR_INVALID, "sector size 1024 refused");
	bd_io_close(io);
	CHECK(file_is(0xA5, 0, 4 << 20), "after every refusal the target is unchanged");

	/* a write failure part-way: no volume header appears */
	fill(0, 4 << 20);
	o = (struct bd_create_opts)BD_CREATE_OPTS_INIT();
	o.recovery_password = 1;
	io = open_rw();
	r = bd_io_fault_wrap(io, NULL, 0, 3, &fio);
	CHECK(r == 0, "fault injector");
	r = bd_create(fio, &o, &res);
	CHECK(r == BD_ERR_IO, "write failure reported (%d: %s)", r, bd_last_error());
	CHECK(res.recovery_password[0] == 0, "no recovery password handed out after a failure");
	bd_io_close(fio);
	CHECK(file_is(0, 0, 512), "sector 0 has no BitLocker header after the failure");

	/* success, and the copies are identical */
	io = open_rw();
	o = (struct bd_create_opts)BD_CREATE_OPTS_INIT();
	o.recovery_password = 1;
	o.method = BD_METHOD_AES_CBC_256_ELEPHANT;
	o.force = 1;   /* the failed run above left data behind */
	r = bd_create(io, &o, &res);
	CHECK(r == 0, "4 MiB volume created (%s)", r ? bd_last_error() : "ok");
	if (!r) {
		uint8_t a[4096], b[4096], hdr[512];
		int same = 1;
		bd_io_read_full(io, hdr, 512, 0);
		CHECK(!memcmp(hdr + 3, "-FVE-FS-", 8) && le64(hdr + 0xB0) == res.meta_offset[0] &&
		      le64(hdr + 0xB8) == res.meta_offset[1] && le64(hdr + 0xC0) == res.meta_offset[2],
		      "volume header names the three copies");
		for (int k = 1; k < 3; k++)
			for (uint32_t off = 0; off < BD_META_AREA_SIZE; off += sizeof(a)) {
				bd_io_read_full(io, a, sizeof(a), res.meta_offset[0] + off);
				bd_io_read_full(io, b, sizeof(b), res.meta_offset[k] + off);
				same &= !memcmp(a, b, sizeof(a));
			}
		CHECK(same, "three identical metadata copies");
		CHECK(res.virt_offset == res.meta_offset[0] + BD_META_AREA_SIZE, "boot sectors follow copy 1");
		CHECK(strlen(res.recovery_password) == 55, "recovery password has 55 characters");
		int ok = 1;
		for (int i = 0; i < 8; i++) {
			long v = strtol(res.recovery_password + 7 * i, NULL, 10);
			ok &= v % 11 == 0 && v < 720896 && (i == 7 || res.recovery_password[7 * i + 6] == '-');
		}
		CHECK(ok, "8 dash-separated blocks, each a multiple of 11 below 720896");
		bd_create_result_wipe(&res);
	}

	/* the copy writer stops at the first failing copy; later copies stay untouched */
	{
		uint8_t *area = calloc(1, BD_META_AREA_SIZE);
		uint64_t offs[3] = { 1 << 20, 2 << 20, 3 << 20 };
		fill(0, 4 << 20);
		bd_io_close(io);
		io = open_rw();
		memset(area, 0x77, BD_META_AREA_SIZE);
		r = bd_io_fault_wrap(io, NULL, 0, 2, &fio);   /* copy 1 fine, copy 2 fails at sync */
		r = bd_meta_write_copies(fio, 0, offs, area, BD_META_AREA_SIZE, NULL);
		CHECK(r == BD_ERR_IO && strstr(bd_last_error(), "copy 2"), "copy writer names the failing copy: %s",
		      bd_last_error());
		CHECK(file_is(0x77, 1 << 20, BD_META_AREA_SIZE), "copy 1 complete");
		CHECK(file_is(0, 3 << 20, BD_META_AREA_SIZE), "copy 3 untouched");
		bd_io_close(fio);
		free(area);
		io = NULL;
	}
	bd_io_close(io);
	unlink(path);
	CHECK_DONE();
}
