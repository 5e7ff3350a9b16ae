/*
 * libFuzzer harness: the decrypted view of a whole (mutated) volume. The input is a sparse image
 * with the key that opens it, so every run opens the volume in memory, unlocks it with the known
 * secret (a VMK or FVEK: no key stretch, so it stays fast) and reads every interesting range of
 * the view: around each stored run of sectors, each reserved range, the watermark, the EOW
 * regions, the start and the end, aligned and not. With the flags it also opens with
 * ignore_integrity (forged metadata is then trusted and read) and writes through the view.
 *
 * Input (little endian):
 *   "BDVZ", u8 key kind (0 VMK, 1 FVEK, 2 clear key), u8 flags (1: write, 2: ignore_integrity,
 *   4: open at offset 0 instead of detecting), u16 key length, u64 volume size, key bytes,
 *   then runs until the end: u64 offset, u32 length, bytes. Sectors in no run read as zeros.
 *
 * Seeds (fuzz/seeds.sh): real Windows volumes of every kind (XTS, CBC, Elephant, 4K sectors, To Go,
 * encrypt-on-write, clear key, paused conversion), the hostile images of ../shared/security and a
 * bdkit-made volume, each written by this harness itself in seed mode:
 *   BDKIT_FUZZ_VOLUME_SEED="IMAGE KIND SECRET OUT" fuzz_volume
 * KIND is rp (recovery-password file), pw (password file), clear, or bek (file); OUT gets a VMK
 * seed, OUT.rw the same with writes and ignore_integrity, OUT.fvek an FVEK seed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "volume.h"

#define MAX_RUNS 512
#define MAX_SIZE (1ull << 40)
#define READ_BUDGET (4u << 20)

struct run {
	uint64_t off;
	uint32_t len;
	const uint8_t *p;
};
struct mem {
	struct run runs[MAX_RUNS];
	size_t n;
};

static ssize_t mem_pread(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	struct mem *m = io->priv;
	uint8_t *b = buf;

	if (off >= io->size)
		return 0;
	if (len > io->size - off)
		len = (size_t)(io->size - off);
	memset(b, 0, len);
	for (size_t i = 0; i < m->n; i++) {
		const struct run *r = &m->runs[i];
		if (r->off >= off + len || r->off + r->len <= off)
			continue;
		uint64_t s = MAX(r->off, off), e = MIN(r->off + r->len, off + len);
		memcpy(b + (s - off), r->p + (s - r->off), (size_t)(e - s));
	}
	return (ssize_t)len;
}

/* Writes are checked for bounds and dropped: the view's write path is what is exercised. */
static ssize_t mem_pwrite(struct bd_io *io, const void *buf, size_t len, uint64_t off)
{
	(void)buf;
	if (off > io->size || len > io->size - off)
		abort();  /* the library must never write outside the volume */
	return (ssize_t)len;
}

static void mem_close(struct bd_io *io)
{
	free(io->priv);
}

static const struct bd_io_ops mem_ops = { mem_pread, mem_pwrite, NULL, mem_close };

static size_t budget;

static void rd(bd_volume *v, uint64_t off, uint64_t len)
{
	static uint8_t buf[256 << 10];
	uint64_t size = bd_volume_size(v);

	if (off >= size || !len || budget == 0)
		return;
	len = MIN(MIN(len, (uint64_t)sizeof(buf)), size - off);
	len = MIN(len, (uint64_t)budget);
	budget -= (size_t)len;
	bd_volume_pread(v, buf, (size_t)len, off);
}

/* Read (and maybe write) around a point of the view: aligned, one byte off, across the point. */
static void around(bd_volume *v, uint64_t p, int write)
{
	uint32_t ss = bd_volume_sector_size(v);
	uint64_t a = p - p % ss;
	static uint8_t w[8192];

	rd(v, a >= 2 * (uint64_t)ss ? a - 2 * ss : 0, 4 * (uint64_t)ss);
	rd(v, p ? p - 1 : 0, 3);
	rd(v, a + 1, 2 * (uint64_t)ss - 3);
	if (write) {
		memset(w, 0xA5, sizeof(w));
		bd_volume_pwrite(v, w, 3, p ? p - 1 : 0);
		bd_volume_pwrite(v, w, 2 * ss, a >= ss ? a - ss : 0);
		bd_volume_pwrite(v, w, ss + 7, a + 5);
	}
}

static void exercise(const uint8_t *key, size_t klen, int kind, int flags, uint64_t size, struct mem *m)
{
	struct bd_io *io = calloc(1, sizeof(*io));
	struct bd_open_opts o = BD_OPEN_OPTS_INIT(.offset = (flags & 4) ? 0 : -1, .writable = flags & 1,
				  .ignore_integrity = !!(flags & 2));
	struct bd_info info;
	struct bd_protector_info pi;
	bd_volume *v;
	int r;

	if (!io) {
		free(m);
		return;
	}
	io->ops = &mem_ops;
	io->priv = m;
	io->size = size;
	io->writable = flags & 1;
	strcpy(io->name, "fuzz");
	if (bd_volume_open_io(io, &o, &v))
		return;
	bd_volume_info(v, &info);
	for (size_t i = 0; i < info.n_protectors; i++)
		bd_volume_protector(v, i, &pi);
	r = kind == 0 ? bd_unlock_vmk(v, key, klen) : kind == 1 ? bd_unlock_fvek(v, key, klen) : bd_unlock_clear_key(v);
	if (r && kind != 2)
		r = bd_unlock_clear_key(v);
	bd_volume_info(v, &info);
	bd_volume_full_size(v);
	budget = READ_BUDGET;
	int write = (flags & 1) && !bd_volume_can_write(v);
	uint64_t vs = bd_volume_size(v);
	around(v, 0, write);
	rd(v, 0, 64 << 10);
	if (vs > (64 << 10))
		rd(v, vs - (64 << 10), 64 << 10);
	around(v, vs, write);
	for (size_t i = 0; i < m->n; i++) {
		uint64_t s = m->runs[i].off >= v->off ? m->runs[i].off - v->off : 0;
		around(v, s, write);
		around(v, s + m->runs[i].len, write);
		rd(v, s, m->runs[i].len);
	}
	for (size_t i = 0; i < v->n_reserved; i++) {
		around(v, v->reserved[i].start, write);
		around(v, v->reserved[i].start + v->reserved[i].len, write);
	}
	around(v, v->watermark, write);
	around(v, v->virt_off, write);
	around(v, v->virt_size, write);
	if (v->eow)
		for (size_t i = 0; i < v->eow->n_regions; i++) {
			around(v, v->eow->regions[i].offset, write);
			around(v, v->eow->regions[i].offset + v->eow->regions[i].size, write);
		}
	bd_volume_close(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bd_cursor c = bd_cursor(data, size);
	const uint8_t *magic = cur_bytes(&c, 4), *key;
	int kind = cur_u8(&c), flags = cur_u8(&c);
	size_t klen = cur_u16(&c);
	uint64_t vsize = cur_u64(&c);
	struct mem *m;

	key = cur_bytes(&c, klen);
	if (c.bad || memcmp(magic, "BDVZ", 4) || klen > 64 || vsize < 512 || vsize > MAX_SIZE)
		return 0;
	if (!(m = calloc(1, sizeof(*m))))
		return 0;
	while (cur_left(&c) >= 12 && m->n < MAX_RUNS) {
		struct run *r = &m->runs[m->n];
		r->off = cur_u64(&c);
		r->len = cur_u32(&c);
		if (!(r->p = cur_bytes(&c, r->len)) || r->off >= vsize || r->len > vsize - r->off)
			break;
		m->n++;
	}
	exercise(key, klen, kind % 3, flags & 7, vsize, m);
	return 0;
}

/* ---- seed mode: a real image to a sparse seed with its VMK (and FVEK) ---- */

struct seedw {
	FILE *f;
	uint8_t run[65536];
	uint64_t start;
	size_t n, total;
	int err;
};

/* Runs are kept while the seed stays under 60 KiB (the fuzzers' max_len is 64 KiB); real volumes
 * have their header, metadata and relocated sectors first, and few data sectors. */
static void flush_run(struct seedw *w)
{
	uint8_t rh[12];

	if (w->n && w->total + 12 + w->n <= 60000) {
		put_le64(rh, w->start);
		put_le32(rh + 8, (uint32_t)w->n);
		if (fwrite(rh, 1, 12, w->f) != 12 || fwrite(w->run, 1, w->n, w->f) != w->n)
			w->err = 1;
		w->total += 12 + w->n;
	}
	w->n = 0;
}

/* The sectors a seed must keep: the header and relocated boot sectors, the metadata copies, every
 * reserved range (EOW blocks). */
static int important(const struct bd_volume *v, uint64_t off)
{
	if (off < v->off)
		return off < 4096;  /* a partition table */
	off -= v->off;
	if (off < 8192 || (off >= v->virt_off && off - v->virt_off < v->virt_size))
		return 1;
	for (int i = 0; i < 3; i++)
		if (v->meta[i].offset && off >= v->meta[i].offset && off - v->meta[i].offset < BD_META_AREA_V2)
			return 1;
	for (size_t i = 0; i < v->n_reserved; i++)
		if (off >= v->reserved[i].start && off - v->reserved[i].start < v->reserved[i].len)
			return 1;
	return 0;
}

static int write_seed(const char *out, const struct bd_volume *v, const char *img, int kind, int flags,
		      const uint8_t *key, size_t klen)
{
	struct seedw *w = calloc(1, sizeof(*w));
	int fd = open(img, O_RDONLY);
	uint8_t h[16], sec[512];
	int r = -1;

	if (!w || fd < 0 || !(w->f = fopen(out, "wb")))
		goto out;
	memcpy(h, "BDVZ", 4);
	h[4] = (uint8_t)kind;
	h[5] = (uint8_t)flags;
	put_le16(h + 6, (uint16_t)klen);
	put_le64(h + 8, v->io->size);
	if (fwrite(h, 1, 16, w->f) != 16 || fwrite(key, 1, klen, w->f) != klen)
		goto out;
	/* the non-zero sectors of the allocated parts (holes of a sparse image are skipped): first
	 * the structures, then data sectors while the seed has room */
	for (int pass = 0; pass < 2; pass++)
		for (off_t data = 0, hole; (data = lseek(fd, data, SEEK_DATA)) >= 0; data = hole) {
			hole = lseek(fd, data, SEEK_HOLE);
			if (hole < 0)
				break;
			data -= data % 512;
			for (off_t off = data; off < hole; off += 512) {
				ssize_t got = pread(fd, sec, 512, off);
				if (got <= 0)
					break;
				if (bd_is_zero(sec, (size_t)got) || important(v, (uint64_t)off) != !pass) {
					flush_run(w);
					continue;
				}
				if (w->n && (w->start + w->n != (uint64_t)off || w->n + (size_t)got > sizeof(w->run)))
					flush_run(w);
				if (!w->n)
					w->start = (uint64_t)off;
				memcpy(w->run + w->n, sec, (size_t)got);
				w->n += (size_t)got;
			}
			flush_run(w);
		}
	r = w->err ? -1 : 0;
out:
	if (fd >= 0)
		close(fd);
	if (w && w->f && fclose(w->f))
		r = -1;
	free(w);
	return r;
}

static int make_seed(const char *spec)
{
	char img[1024], kind[16], secret[1024], out[1024], out2[1100];
	struct bd_open_opts o = BD_OPEN_OPTS_INIT(.offset = -1, .ignore_integrity = 1);
	bd_volume *v;
	char buf[4096] = "";
	size_t n = 0;
	int r;

	if (sscanf(spec, "%1023s %15s %1023s %1023s", img, kind, secret, out) != 4)
		return 2;
	if (strcmp(kind, "clear")) {
		FILE *f = fopen(secret, "rb");
		n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = 0;
		while (strcmp(kind, "bek") && n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = 0;
	}
	if (bd_volume_open(img, &o, &v))
		return 1;
	r = !strcmp(kind, "rp") ? bd_unlock_recovery_password(v, buf) : !strcmp(kind, "pw") ? bd_unlock_password(v, buf) :
	    !strcmp(kind, "bek") ? bd_unlock_bek(v, (const uint8_t *)buf, n) : bd_unlock_clear_key(v);
	if (!r && v->vmk)
		r = write_seed(out, v, img, 0, 0, v->vmk->data, 32);
	snprintf(out2, sizeof(out2), "%s.rw", out);
	if (!r && v->vmk)   /* written through, and opened trusting unverified metadata */
		r = write_seed(out2, v, img, 0, 3, v->vmk->data, 32);
	snprintf(out2, sizeof(out2), "%s.fvek", out);
	if (!r && v->fvek)
		r = write_seed(out2, v, img, 1, 2, v->fvek->data, v->fvek->len);
	bd_volume_close(v);
	return r ? 1 : 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *spec = getenv("BDKIT_FUZZ_VOLUME_SEED");

	(void)argc;
	(void)argv;
	if (spec)
		exit(make_seed(spec));
	return 0;
}
