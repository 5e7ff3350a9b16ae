/*
 * lib/manage.c: crash safety of protector changes and writes through the decrypted view.
 *
 *  1. Crash at every write: a bdkit-made volume gets its recovery password rotated through an io
 *     layer that dies at the k-th pwrite call (k = 0, 1, 2, ...), once cleanly (the k-th write does
 *     not happen) and once torn (half of it reaches the disk). After each crash the volume must open
 *     with the old or the new recovery password (one of them, never neither), its protector set must
 *     be exactly the old or the new one, the decrypted data must be unchanged, and the backup taken
 *     first must restore the image byte for byte.
 *  2. Refusals write nothing: read-only open, FVEK-only unlock, removing the last usable protector.
 *  3. bd_volume_pwrite judged by independent readers: random sectors (also in the relocated boot
 *     sectors and over the metadata areas) are written through the view of bdkit-made volumes
 *     (XTS-128, CBC-Elephant-128, 4096-byte sectors); dislocker-file and libbde (pybde) must then
 *     read exactly the expected plaintext.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bdkit.h"
#include "check.h"
#include "crypto.h"
#include "internal.h"

#define VOL_SIZE (4u << 20)
static char dir[] = "/tmp/bdkit-test-manage.XXXXXX";
static char img[256], orig[256], bak[256];

/* ---- a dying io: the k-th pwrite (0-based) fails, torn or clean, and every later one too ---- */
struct die {
	struct bd_io *inner;
	long left;
	int tear;
};

static ssize_t die_pread(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	struct die *d = io->priv;
	return d->inner->ops->pread(d->inner, buf, len, off);
}

static ssize_t die_pwrite(struct bd_io *io, const void *buf, size_t len, uint64_t off)
{
	struct die *d = io->priv;

	if (d->left < 0)
		return -EIO;
	if (d->left-- == 0) {
		if (d->tear && len > 1)
			d->inner->ops->pwrite(d->inner, buf, len / 2, off);
		d->left = -1;
		return -EIO;
	}
	return d->inner->ops->pwrite(d->inner, buf, len, off);
}

static int die_sync(struct bd_io *io)
{
	struct die *d = io->priv;
	return d->inner->ops->sync ? d->inner->ops->sync(d->inner) : 0;
}

static void die_close(struct bd_io *io)
{
	struct die *d = io->priv;
	bd_io_close(d->inner);
	free(d);
}

static const struct bd_io_ops die_ops = { die_pread, die_pwrite, die_sync, die_close };

static struct bd_io *dying(const char *path, long k, int tear)
{
	struct bd_io *inner = NULL, *io = calloc(1, sizeof(*io));
	struct die *d = calloc(1, sizeof(*d));

	if (!io || !d || bd_io_open_file(path, BD_IO_RDWR, &inner)) {
		free(io);
		free(d);
		return NULL;
	}
	d->inner = inner;
	d->left = k;
	d->tear = tear;
	io->ops = &die_ops;
	io->priv = d;
	io->size = inner->size;
	io->writable = 1;
	snprintf(io->name, sizeof(io->name), "%s", path);
	return io;
}

/* ---- files ---- */

static int copy_file(const char *from, const char *to)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", from, to);
	return system(cmd);
}

static int same_files(const char *a, const char *b)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

static uint8_t *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* sha256 of the decrypted view */
static int view_hash(bd_volume *v, uint8_t out[32])
{
	uint64_t size = bd_volume_size(v);
	uint8_t *buf = malloc(size);
	int r = buf && bd_volume_pread(v, buf, size, 0) == (ssize_t)size ? 0 : -1;

	if (!r)
		bd_sha256(buf, size, out);
	free(buf);
	return r;
}

/* GUIDs of the protectors, concatenated */
static size_t prot_set(bd_volume *v, uint8_t *out)
{
	struct bd_info in;
	bd_volume_info(v, &in);
	for (size_t i = 0; i < in.n_protectors; i++) {
		struct bd_protector_info p;
		bd_volume_protector(v, i, &p);
		memcpy(out + 16 * i, p.guid, 16);
	}
	return 16 * in.n_protectors;
}

/* ---- 1. crash at every write ---- */

static void crash_test(const char *old_rp, const uint8_t data_hash[32])
{
	uint8_t old_set[256], new_set[256], set[256];
	size_t old_n = 0, new_n = 0;
	int completed = 0;

	/* the protector set before the change */
	{
		bd_volume *v;
		bd_volume_open(orig, NULL, &v);
		old_n = prot_set(v, old_set);
		bd_volume_close(v);
	}
	for (long k = 0; k < 12 && completed < 2; k++) {
		for (int tear = 0; tear < 2; tear++) {
			struct bd_open_opts oo = BD_OPEN_OPTS_INIT(.offset = -1, .writable = 1);
			struct bd_change_opts co = BD_CHANGE_OPTS_INIT(.backup_path = bak);
			struct bd_protector_new nw;
			struct bd_protector_info p;
			bd_volume *v = NULL;
			int written = 0, r, opened_old, opened_new;
			uint8_t h[32];
			char label[64];

			snprintf(label, sizeof(label), "crash at write %ld%s", k, tear ? " (torn)" : "");
			copy_file(orig, img);
			unlink(bak);
			struct bd_io *io = dying(img, k, tear);
			if (!io || bd_volume_open_io(io, &oo, &v) || bd_unlock_recovery_password(v, old_rp)) {
				CHECK(0, "%s: open and unlock", label);
				bd_volume_close(v);
				return;
			}
			co.written = &written;
			bd_volume_protector(v, 1, &p);
			r = bd_protector_rotate(v, p.guid, &co, &nw);
			if (!r) {
				new_n = prot_set(v, new_set);
				completed++;
			}
			bd_volume_close(v);
			if (!r && completed > 1)
				break;
			/* what a reader finds on disk now */
			v = NULL;
			if (bd_volume_open(img, NULL, &v)) {
				CHECK(0, "%s: the volume still opens (%s)", label, bd_last_error());
				continue;
			}
			size_t n = prot_set(v, set);
			opened_old = !bd_unlock_recovery_password(v, old_rp);
			opened_new = 0;
			if (!opened_old && nw.recovery_password[0]) {
				bd_volume_close(v);
				bd_volume_open(img, NULL, &v);
				opened_new = !bd_unlock_recovery_password(v, nw.recovery_password);
			}
			CHECK(opened_old || opened_new, "%s (%s): the volume opens with the %s recovery password", label,
			      r ? "failed" : "completed", opened_old ? "old" : opened_new ? "new" : "old or the new");
			CHECK((opened_old && n == old_n && !memcmp(set, old_set, n)) ||
			      (opened_new && n == old_n && memcmp(set, old_set, n)),
			      "%s: the protectors are exactly the old or the new set", label);
			CHECK(!view_hash(v, h) && !memcmp(h, data_hash, 32), "%s: the decrypted data is unchanged", label);
			bd_volume_close(v);
			/* the backup puts everything back byte for byte */
			size_t blen = 0;
			uint8_t *b = load(bak, &blen);
			struct bd_io *rio = NULL;
			if (b && !bd_io_open_file(img, BD_IO_RDWR, &rio)) {
				r = bd_metadata_restore(rio, 0, b, blen, 0);
				bd_io_close(rio);
				CHECK(!r && same_files(img, orig), "%s: the backup restores the image byte for byte", label);
			} else {
				CHECK(r == 0 && written == 0, "%s: no backup only when nothing was written", label);
			}
			free(b);
			bd_protector_new_wipe(&nw);
		}
	}
	CHECK(completed >= 1, "the rotation completes once no write fails");
	CHECK(new_n == old_n && memcmp(new_set, old_set, old_n), "rotation replaced the recovery protector's ID");
}

/* ---- 2. refusals write nothing ---- */

static void refusals(const char *pw, const char *rp)
{
	struct bd_protector_new nw;
	struct bd_change_opts co = BD_CHANGE_OPTS_INIT(.backup_path = bak);
	struct bd_open_opts ro = BD_OPEN_OPTS_INIT(.offset = -1, .writable = 0), rw = BD_OPEN_OPTS_INIT(.offset = -1, .writable = 1);
	struct bd_protector_info p;
	bd_volume *v = NULL;
	int r;

	copy_file(orig, img);
	unlink(bak);
	bd_volume_open(img, &ro, &v);
	bd_unlock_password(v, pw);
	r = bd_protector_add(v, BD_PROT_RECOVERY_PASSWORD, NULL, &co, &nw);
	CHECK(r == BD_ERR_READONLY && access(bak, F_OK) && same_files(img, orig),
	      "read-only open: refused, nothing written (%s)", bd_last_error());
	bd_volume_close(v);

	/* removing the password leaves the recovery password: fine; removing both: refused */
	copy_file(orig, img);
	bd_volume_open(img, &rw, &v);
	bd_unlock_password(v, pw);
	bd_volume_protector(v, 0, &p);
	co.backup_path = NULL;
	r = bd_protector_remove(v, p.guid, &co);
	CHECK(!r, "remove the password protector (a recovery password remains)");
	bd_volume_protector(v, 0, &p);
	r = bd_protector_remove(v, p.guid, &co);
	CHECK(r == BD_ERR_STATE, "removing the last usable protector is refused (%s)", bd_last_error());
	bd_volume_close(v);
	bd_volume_open(img, NULL, &v);
	CHECK(!bd_unlock_recovery_password(v, rp), "after the refusal the recovery password still opens the volume");
	unsigned rc;
	CHECK(!bd_volume_suspended(v, &rc), "not suspended");
	bd_volume_close(v);

	/* resume without a clear key: refused */
	bd_volume_open(img, &rw, &v);
	bd_unlock_recovery_password(v, rp);
	CHECK(bd_volume_resume(v, NULL) == BD_ERR_NO_PROTECTOR, "resume of a volume that is not suspended is refused");
	/* suspend, reveal */
	CHECK(!bd_volume_suspend(v, 2, NULL) && bd_volume_suspended(v, &rc) && rc == 2, "suspend for 2 restarts");
	char out[56];
	CHECK(!bd_volume_recovery_password(v, 0, out) && !strcmp(out, rp), "reveal gives the recovery password");
	bd_volume_close(v);
	bd_volume_open(img, NULL, &v);
	CHECK(!bd_unlock_clear_key(v), "the suspended volume opens with its clear key");
	CHECK(bd_volume_recovery_password(v, 1, out) == BD_ERR_INVALID, "reveal of a clear key is refused");
	bd_volume_close(v);
}

/* ---- 3. pwrite judged by dislocker and libbde ---- */

static int have(const char *cmd)
{
	char c[256];
	snprintf(c, sizeof(c), "command -v %s >/dev/null 2>&1", cmd);
	return system(c) == 0;
}

static void pwrite_test(uint16_t method, uint32_t ss, const char *name)
{
	struct bd_create_opts o;
	struct bd_create_result res;
	struct bd_open_opts rw = BD_OPEN_OPTS_INIT(.offset = -1, .writable = 1);
	struct bd_io *io = NULL;
	bd_volume *v = NULL;
	char plain[300], out[300], cmd[2048], vimg[300];
	uint8_t *exp = NULL, *buf = NULL;
	uint64_t size;
	int ok = 1;

	snprintf(vimg, sizeof(vimg), "%s/vol-%s", dir, name);
	snprintf(plain, sizeof(plain), "%s/expected-%s", dir, name);
	snprintf(out, sizeof(out), "%s/reader-%s", dir, name);
	unlink(vimg);
	FILE *f = fopen(vimg, "wb");
	if (!f || ftruncate(fileno(f), VOL_SIZE)) {
		CHECK(0, "%s: make the target", name);
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	o = (struct bd_create_opts)BD_CREATE_OPTS_INIT();
	o.method = method;
	o.sector_size = ss;
	o.password = "pwrite-test-pw";
	o.description = "bdkit pwrite test";
	if (bd_io_open_file(vimg, BD_IO_RDWR, &io) || bd_create(io, &o, &res)) {
		CHECK(0, "%s: bd_create (%s)", name, bd_last_error());
		bd_io_close(io);
		return;
	}
	bd_io_close(io);
	if (bd_volume_open(vimg, &rw, &v) || bd_unlock_password(v, o.password)) {
		CHECK(0, "%s: open", name);
		bd_volume_close(v);
		return;
	}
	size = bd_volume_size(v);
	exp = calloc(1, size);
	buf = malloc(1 << 18);
	/* random runs of sectors, among them the first sectors (relocated) and the metadata areas */
	uint64_t spots[12] = { 0, ss, 8192 - ss, res.meta_offset[0] - ss, res.meta_offset[1] + 4096, res.virt_offset,
			       size / 3, size / 2 + 512, size - 8 * (uint64_t)ss, 3 * (uint64_t)ss, 70000, size / 5 };
	for (int i = 0; i < 12 && ok; i++) {
		uint64_t off = spots[i] - spots[i] % ss;
		size_t len = (size_t)MIN((uint64_t)(i % 3 + 1) * 8 * ss, size - off);
		bd_random(buf, len);
		if (off == 0) {
			/* libbde sizes the volume from the file-system header in sector 0: make it NTFS-like */
			memset(buf, 0, 0x54);   /* no random FAT-style size fields */
			memcpy(buf, "\xEB\x52\x90NTFS    ", 11);
			put_le16(buf + 0x0B, (uint16_t)ss);
			buf[0x0D] = 1;
			buf[0x15] = 0xF8;
			put_le64(buf + 0x28, size / ss - 1);
			buf[510] = 0x55;
			buf[511] = 0xAA;
		}
		ok = bd_volume_pwrite(v, buf, len, off) == (ssize_t)len;
		memcpy(exp + off, buf, len);
	}
	/* an unaligned write too */
	bd_random(buf, 1000);
	ok = ok && bd_volume_pwrite(v, buf, 1000, 100001) == 1000;
	memcpy(exp + 100001, buf, 1000);
	bd_volume_sync(v);
	CHECK(ok, "%s: %d writes through bd_volume_pwrite", name, 13);
	/* reserved areas read as zeros (the writes there were dropped) */
	struct bd_info in;
	bd_volume_info(v, &in);
	for (int k = 0; k < 3; k++)
		if (in.copy_offset[k] < size)
			memset(exp + in.copy_offset[k], 0, (size_t)MIN(65536, size - in.copy_offset[k]));
	if (in.virtualized_offset < size)
		memset(exp + in.virtualized_offset, 0, (size_t)MIN(in.virtualized_size, size - in.virtualized_offset));
	bd_volume_close(v);
	f = fopen(plain, "wb");
	fwrite(exp, 1, size, f);
	fclose(f);

	if (!have("dislocker-file")) {
		SKIP("%s: dislocker-file not installed", name);
	} else if (ss == 4096) {
		SKIP("%s: dislocker 0.7 decrypts 4096-byte-sector volumes in 512-byte units (dislocker issue #335)", name);
	} else {
		unlink(out);
		snprintf(cmd, sizeof(cmd), "dislocker-file -V '%s' -upwrite-test-pw -- '%s' >/dev/null 2>&1 && "
			 "cmp -s '%s' '%s'", vimg, out, out, plain);
		CHECK(system(cmd) == 0, "%s: dislocker reads exactly what was written through bd_volume_pwrite", name);
		unlink(out);
	}
	if (system("/usr/bin/python3 -c 'import pybde' 2>/dev/null")) {
		SKIP("%s: python3 pybde not installed", name);
	} else {
		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c \"\nimport pybde,sys\nv=pybde.volume()\n"
			 "v.set_password('pwrite-test-pw')\nv.open('%s')\ne=open('%s','rb').read()\nd=v.read_buffer(len(e))\n"
			 "sys.exit(0 if d==e else 1)\" 2>/dev/null", vimg, plain);
		CHECK(system(cmd) == 0, "%s: libbde reads exactly what was written through bd_volume_pwrite", name);
	}
	if (!getenv("KEEP")) {
		unlink(plain);
		unlink(vimg);
	}
	free(exp);
	free(buf);
}

int main(void)
{
	struct bd_create_opts o;
	struct bd_create_result res;
	struct bd_io *io = NULL;
	bd_volume *v = NULL;
	uint8_t data_hash[32];
	char rp[56];

	if (!mkdtemp(dir)) {
		SKIP("manage tests: no temporary directory");
		return 0;
	}
	snprintf(img, sizeof(img), "%s/vol.img", dir);
	snprintf(orig, sizeof(orig), "%s/orig.img", dir);
	snprintf(bak, sizeof(bak), "%s/backup.bdkp", dir);

	/* a small volume with some data, a password and a recovery password */
	FILE *f = fopen(orig, "wb");
	if (!f || ftruncate(fileno(f), VOL_SIZE)) {
		CHECK(0, "make the test volume file");
		return 1;
	}
	fclose(f);
	o = (struct bd_create_opts)BD_CREATE_OPTS_INIT();
	o.password = "crash-test-pw";
	o.recovery_password = 1;
	if (bd_io_open_file(orig, BD_IO_RDWR, &io) || bd_create(io, &o, &res)) {
		CHECK(0, "bd_create (%s)", bd_last_error());
		return 1;
	}
	bd_io_close(io);
	snprintf(rp, sizeof(rp), "%s", res.recovery_password);
	bd_create_result_wipe(&res);
	struct bd_open_opts rw = BD_OPEN_OPTS_INIT(.offset = -1, .writable = 1);
	bd_volume_open(orig, &rw, &v);
	bd_unlock_password(v, o.password);
	uint8_t sec[4096];
	for (uint64_t off = 0; off < bd_volume_size(v); off += 256 * 1024) {
		bd_random(sec, sizeof(sec));
		bd_volume_pwrite(v, sec, sizeof(sec), off);
	}
	CHECK(!view_hash(v, data_hash), "test volume with data");
	bd_volume_close(v);

	crash_test(rp, data_hash);
	refusals(o.password, rp);
	pwrite_test(BD_METHOD_AES_XTS_128, 512, "xts-128");
	pwrite_test(BD_METHOD_AES_CBC_128_ELEPHANT, 512, "cbc-elephant-128");
	pwrite_test(BD_METHOD_AES_CBC_256, 512, "cbc-256");
	pwrite_test(BD_METHOD_AES_XTS_128, 4096, "xts-128-4k");

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (getenv("KEEP")) printf("kept %s\n", dir); else if (system(cmd)) { /* best effort */ }
	CHECK_DONE();
}
