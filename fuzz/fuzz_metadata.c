/*
 * libFuzzer harness: FVE metadata. The input is one metadata block; it is parsed on its own
 * (bd_metadata_parse, datum walk, integrity check) and also placed in a small in-memory volume
 * (v2 header, three copies at the same place, relocated sectors after it) that is opened, listed,
 * unlocked with the clear key (no key stretch, so it stays fast) and read.
 * Seeds: fuzz/corpus/metadata (first 4 KiB of copy 1 of some real Windows volumes).
 */
#include <stdlib.h>

#include "header.h"
#include "metadata.h"

#define IMG_SIZE (1u << 20)
#define META_AT 0x10000u

struct mem {
	uint8_t *p;
};

static ssize_t mem_pread(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	struct mem *m = io->priv;

	if (off >= io->size)
		return 0;
	if (len > io->size - off)
		len = (size_t)(io->size - off);
	memcpy(buf, m->p + off, len);
	return (ssize_t)len;
}

static void mem_close(struct bd_io *io)
{
	struct mem *m = io->priv;

	free(m->p);
	free(m);
}

static const struct bd_io_ops mem_ops = { mem_pread, NULL, NULL, mem_close };

static void walk(const uint8_t *p, size_t len, int depth)
{
	struct bd_datum_iter it, ch;
	struct bd_datum d;

	if (depth > 8)
		return;
	bd_datum_iter_init(&it, p, len);
	while (bd_datum_next(&it, &d) > 0) {
		bd_datum_iter_children(&ch, &d);
		walk(ch.p, ch.len, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t vmk[32];
	struct bd_metadata md;
	struct bd_io *io;
	struct mem *m;
	bd_volume *v;

	if (size > META_AT)
		return 0;
	if (!bd_metadata_parse(data, size, META_AT, &md)) {
		walk(md.ds.entries, md.ds.entries_len, 0);
		bd_metadata_verify_hash(&md, vmk);
	}
	bd_metadata_free(&md);

	io = calloc(1, sizeof(*io));
	m = calloc(1, sizeof(*m));
	if (!io || !m || !(m->p = calloc(1, IMG_SIZE))) {
		free(io);
		if (m)
			free(m->p);
		free(m);
		return 0;
	}
	uint8_t *bs = m->p;
	memcpy(bs, "\xeb\x58\x90-FVE-FS-", 11);
	put_le16(bs + 11, 512);
	bs[13] = 8;
	memcpy(bs + 0xA0, bd_guid_bitlocker, 16);
	for (int i = 0; i < 3; i++)
		put_le64(bs + 0xB0 + 8 * i, META_AT);
	bs[510] = 0x55;
	bs[511] = 0xAA;
	memcpy(m->p + META_AT, data, size);
	io->ops = &mem_ops;
	io->priv = m;
	io->size = IMG_SIZE;
	strcpy(io->name, "fuzz");
	struct bd_open_opts o = BD_OPEN_OPTS_INIT(.offset = -1, .writable = 0);
	if (!bd_volume_open_io(io, &o, &v)) {
		struct bd_info info;
		struct bd_protector_info p;
		uint8_t buf[4096];
		bd_volume_info(v, &info);
		for (size_t i = 0; i < info.n_protectors; i++)
			bd_volume_protector(v, i, &p);
		bd_unlock_clear_key(v);
		bd_volume_pread(v, buf, sizeof(buf), 0);
		bd_volume_pread(v, buf, 1000, META_AT - 300);
		bd_volume_pread(v, buf, sizeof(buf), IMG_SIZE - 2048);
		bd_volume_close(v);
	}
	return 0;
}
