/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory images for the key search: which byte ranges of the file hold memory, and at which
 * address. Raw images are one range; LiME files, ELF core files (gcore, QEMU/libvirt dumps) and
 * Windows crash dumps (full dumps with a run list, bitmap dumps) are parsed just far enough to
 * list their ranges, so that headers are not scanned and a found key gets its address.
 * Anything else (hibernation files, compressed or triage dumps) is refused with a message.
 *
 * Layouts:
 *  - LiME (Linux Memory Extractor, lime.h): per range a 32-byte header, magic 0x4C694D45
 *    ("EMiL" on disk), u32 version (1), u64 first and last physical address (inclusive),
 *    8 reserved bytes, then the range's bytes.
 *  - ELF (System V gABI): ET_CORE, little-endian, 32 or 64-bit; every PT_LOAD with file bytes.
 *  - Windows crash dump (DUMP_HEADER64 "PAGEDU64", 0x2000 bytes / DUMP_HEADER32 "PAGEDUMP",
 *    0x1000 bytes): DumpType (0xF98 / 0xF88) 1 = full dump, pages of the physical-memory runs
 *    (run list at 0x88 / 0x64) follow the header in order; 5 and 6 = bitmap dumps, a header at
 *    0x2000 ("SDMP"/"FDMP", "DUMP", FirstPage at +0x20, Pages at +0x30, bitmap at +0x38) whose
 *    set bits name the physical pages stored from FirstPage on.
 */
#include <stdio.h>
#include <stdlib.h>

#include "memimage.h"

#define MAX_RUNS (1u << 22)

const char *bd_mem_format_name(int format)
{
	switch (format) {
	case BD_MEM_RAW: return "raw memory";
	case BD_MEM_LIME: return "LiME";
	case BD_MEM_ELF: return "ELF core";
	case BD_MEM_CRASHDUMP: return "Windows crash dump";
	}
	return "unknown";
}

int bd_mem_format_parse(const char *name)
{
	static const struct { const char *n; int f; } names[] = {
		{ "auto", BD_MEM_AUTO }, { "raw", BD_MEM_RAW }, { "lime", BD_MEM_LIME }, { "elf", BD_MEM_ELF },
		{ "core", BD_MEM_ELF }, { "crashdump", BD_MEM_CRASHDUMP }, { "dmp", BD_MEM_CRASHDUMP },
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i].n))
			return names[i].f;
	return bd_err(BD_ERR_INVALID, "unknown memory image format '%s' (auto, raw, lime, elf, crashdump)", name);
}

static int add_run(struct bd_memimage *m, uint64_t file_off, uint64_t len, uint64_t addr)
{
	struct bd_mem_run *nr;

	if (!len)
		return 0;
	if (file_off >= m->io->size)
		return 0;
	if (len > m->io->size - file_off) {
		bd_warn("%s: a memory range at file offset %llu is cut short by the end of the file",
			m->io->name, (unsigned long long)file_off);
		m->truncated = 1;
		len = m->io->size - file_off;
	}
	/* merge with the previous run when both file bytes and addresses continue */
	if (m->n_runs) {
		struct bd_mem_run *p = &m->runs[m->n_runs - 1];
		if (p->file_off + p->len == file_off && p->addr + p->len == addr) {
			p->len += len;
			m->data_bytes += len;
			return 0;
		}
	}
	if (m->n_runs >= MAX_RUNS)
		return bd_err(BD_ERR_UNSUPPORTED, "%s: more than %u memory ranges", m->io->name, MAX_RUNS);
	if (m->n_runs == m->cap_runs) {
		size_t cap = m->cap_runs ? 2 * m->cap_runs : 16;
		nr = realloc(m->runs, cap * sizeof(*nr));
		if (!nr)
			return bd_err(BD_ERR_NOMEM, "out of memory");
		m->runs = nr;
		m->cap_runs = cap;
	}
	m->runs[m->n_runs].file_off = file_off;
	m->runs[m->n_runs].len = len;
	m->runs[m->n_runs].addr = addr;
	m->n_runs++;
	m->data_bytes += len;
	return 0;
}

/* ---- LiME ---- */

static int parse_lime(struct bd_memimage *m)
{
	uint64_t off = 0;
	uint8_t h[32];
	int r;

	while (off < m->io->size) {
		if (m->io->size - off < 32) {
			bd_warn("%s: %llu stray bytes after the last LiME range", m->io->name,
				(unsigned long long)(m->io->size - off));
			break;
		}
		r = bd_io_read_full(m->io, h, sizeof(h), off);
		if (r)
			return r;
		if (le32(h) != 0x4C694D45)
			return bd_err(BD_ERR_CORRUPT, "%s: no LiME range header at offset %llu (the file is damaged, or "
				      "not LiME: try --format raw)", m->io->name, (unsigned long long)off);
		if (le32(h + 4) != 1)
			return bd_err(BD_ERR_UNSUPPORTED, "%s: LiME version %u at offset %llu (only version 1 is known)",
				      m->io->name, le32(h + 4), (unsigned long long)off);
		uint64_t first = le64(h + 8), last = le64(h + 16);
		if (last < first || last - first == UINT64_MAX)
			return bd_err(BD_ERR_CORRUPT, "%s: LiME range at offset %llu ends (0x%llx) before it starts (0x%llx)",
				      m->io->name, (unsigned long long)off, (unsigned long long)last,
				      (unsigned long long)first);
		uint64_t len = last - first + 1;
		r = add_run(m, off + 32, len, first);
		if (r)
			return r;
		if (len > m->io->size - off - 32)
			break;
		off += 32 + len;
	}
	m->addr_kind = BD_MEM_ADDR_PHYSICAL;
	return 0;
}

/* ---- ELF core ---- */

static int parse_elf(struct bd_memimage *m)
{
	uint8_t e[64], ph[56];
	int is64;
	uint64_t phoff, shoff;
	uint32_t phentsize, phnum;
	int r;

	r = bd_io_read_full(m->io, e, 52, 0);
	if (r)
		return r;
	if (memcmp(e, "\x7f" "ELF", 4))
		return bd_err(BD_ERR_CORRUPT, "%s is not an ELF file", m->io->name);
	if (e[5] != 1)
		return bd_err(BD_ERR_UNSUPPORTED, "%s: big-endian ELF core files are not supported", m->io->name);
	if (e[4] != 1 && e[4] != 2)
		return bd_err(BD_ERR_CORRUPT, "%s: ELF class %u is neither 32 nor 64-bit", m->io->name, e[4]);
	is64 = e[4] == 2;
	if (is64 && (r = bd_io_read_full(m->io, e, 64, 0)))
		return r;
	if (le16(e + 16) != 4)
		return bd_err(BD_ERR_UNSUPPORTED, "%s is an ELF file but not a core dump (type %u); scan it with "
			      "--format raw if you mean to", m->io->name, le16(e + 16));
	phoff = is64 ? le64(e + 32) : le32(e + 28);
	shoff = is64 ? le64(e + 40) : le32(e + 32);
	phentsize = le16(e + (is64 ? 54 : 42));
	phnum = le16(e + (is64 ? 56 : 44));
	if (phentsize < (is64 ? 56u : 32u))
		return bd_err(BD_ERR_CORRUPT, "%s: ELF program headers of %u bytes", m->io->name, phentsize);
	if (phnum == 0xFFFF) {
		/* PN_XNUM: the real count is sh_info of section header 0 */
		uint8_t sh[64];
		r = bd_io_read_full(m->io, sh, is64 ? 64 : 40, shoff);
		if (r)
			return r;
		phnum = le32(sh + (is64 ? 44 : 28));
	}
	if (phnum > MAX_RUNS)
		return bd_err(BD_ERR_CORRUPT, "%s: %u ELF program headers", m->io->name, phnum);
	for (uint32_t i = 0; i < phnum; i++) {
		uint64_t at = phoff + (uint64_t)i * phentsize;
		if (at < phoff || at > m->io->size)
			return bd_err(BD_ERR_CORRUPT, "%s: ELF program header %u lies beyond the end of the file",
				      m->io->name, i);
		r = bd_io_read_full(m->io, ph, is64 ? 56 : 32, at);
		if (r)
			return r;
		if (le32(ph) != 1) /* PT_LOAD */
			continue;
		uint64_t off = is64 ? le64(ph + 8) : le32(ph + 4);
		uint64_t vaddr = is64 ? le64(ph + 16) : le32(ph + 8);
		uint64_t paddr = is64 ? le64(ph + 24) : le32(ph + 12);
		uint64_t filesz = is64 ? le64(ph + 32) : le32(ph + 16);
		/* process cores carry virtual addresses; QEMU/libvirt dumps also physical ones */
		r = add_run(m, off, filesz, vaddr ? vaddr : paddr);
		if (r)
			return r;
	}
	m->addr_kind = BD_MEM_ADDR_VIRTUAL;
	return 0;
}

/* ---- Windows crash dumps ---- */

static int parse_crashdump(struct bd_memimage *m)
{
	uint8_t h[0x1000];
	int is64, r;
	uint32_t type;

	r = bd_io_read_full(m->io, h, sizeof(h), 0);
	if (r)
		return r;
	if (!memcmp(h, "PAGEDU64", 8))
		is64 = 1;
	else if (!memcmp(h, "PAGEDUMP", 8))
		is64 = 0;
	else
		return bd_err(BD_ERR_CORRUPT, "%s is not a Windows crash dump", m->io->name);
	type = le32(h + (is64 ? 0xF98 : 0xF88));
	uint64_t data = is64 ? 0x2000 : 0x1000;
	m->addr_kind = BD_MEM_ADDR_PHYSICAL;
	if (type == 1) {
		uint32_t nruns = le32(h + (is64 ? 0x88 : 0x64));
		size_t at = is64 ? 0x98 : 0x6C, step = is64 ? 16 : 8, maxruns = ((is64 ? 0x88 + 0x2C0 : 0x64 + 700) - at) / step;
		if (nruns > maxruns)
			return bd_err(BD_ERR_CORRUPT, "%s: crash dump header lists %u memory runs (at most %zu fit)",
				      m->io->name, nruns, maxruns);
		for (uint32_t i = 0; i < nruns; i++) {
			const uint8_t *run = h + at + i * step;
			uint64_t base = is64 ? le64(run) : le32(run), count = is64 ? le64(run + 8) : le32(run + 4);
			if (count > (UINT64_MAX >> 13) || base > (UINT64_MAX >> 13))
				return bd_err(BD_ERR_CORRUPT, "%s: crash dump run %u is implausible", m->io->name, i);
			r = add_run(m, data, count << 12, base << 12);
			if (r)
				return r;
			data += count << 12;
		}
		snprintf(m->description, sizeof(m->description), "Windows %s-bit full crash dump, %u runs",
			 is64 ? "64" : "32", nruns);
		return 0;
	}
	if ((type == 5 || type == 6) && is64) {
		uint8_t b[0x38];
		r = bd_io_read_full(m->io, b, sizeof(b), 0x2000);
		if (r)
			return r;
		if ((memcmp(b, "SDMP", 4) && memcmp(b, "FDMP", 4)) || memcmp(b + 4, "DUMP", 4))
			return bd_err(BD_ERR_CORRUPT, "%s: bitmap crash dump without its bitmap header at 0x2000",
				      m->io->name);
		uint64_t first = le64(b + 0x20), pages = le64(b + 0x30);
		if (pages > ((uint64_t)1 << 40) || first < 0x2038 + (pages + 7) / 8 || first > m->io->size)
			return bd_err(BD_ERR_CORRUPT, "%s: bitmap crash dump header is implausible (%llu pages, data at "
				      "%llu)", m->io->name, (unsigned long long)pages, (unsigned long long)first);
		uint8_t buf[4096];
		uint64_t pos = first, run_start = 0, run_len = 0;
		for (uint64_t i = 0; i < pages; i += 8 * sizeof(buf)) {
			size_t n = (size_t)MIN((uint64_t)sizeof(buf), (pages - i + 7) / 8);
			r = bd_io_read_full(m->io, buf, n, 0x2038 + i / 8);
			if (r)
				return r;
			for (size_t k = 0; k < 8 * n && i + k < pages; k++) {
				if (!(buf[k / 8] >> (k % 8) & 1))
					continue;
				uint64_t page = i + k;
				if (run_len && run_start + run_len == page) {
					run_len++;
					continue;
				}
				if (run_len) {
					r = add_run(m, pos, run_len << 12, run_start << 12);
					if (r)
						return r;
					pos += run_len << 12;
				}
				run_start = page;
				run_len = 1;
			}
		}
		if (run_len && (r = add_run(m, pos, run_len << 12, run_start << 12)))
			return r;
		snprintf(m->description, sizeof(m->description), "Windows bitmap crash dump (%s), %llu pages present",
			 type == 5 ? "full" : "kernel", (unsigned long long)(m->data_bytes >> 12));
		return 0;
	}
	return bd_err(BD_ERR_UNSUPPORTED, "%s: crash dump type %u (%s) is not supported (full and bitmap dumps "
		      "are); scan it anyway with --format raw", m->io->name, type,
		      type == 2 ? "kernel summary" : type == 4 ? "triage/minidump" : type == 7 ? "automatic" : "other");
}

static int cmp_run(const void *a, const void *b)
{
	const struct bd_mem_run *x = a, *y = b;

	return x->file_off < y->file_off ? -1 : x->file_off > y->file_off;
}

/* ---- detection ---- */

static int detect(struct bd_memimage *m)
{
	uint8_t h[8] = { 0 };

	if (m->io->size >= 8 && bd_io_read_full(m->io, h, 8, 0))
		return BD_MEM_RAW;
	if (le32(h) == 0x4C694D45)
		return BD_MEM_LIME;
	if (!memcmp(h, "\x7f" "ELF", 4))
		return BD_MEM_ELF;
	if (!memcmp(h, "PAGEDU64", 8) || !memcmp(h, "PAGEDUMP", 8))
		return BD_MEM_CRASHDUMP;
	if (!memcmp(h, "hibr", 4) || !memcmp(h, "HIBR", 4) || !memcmp(h, "wake", 4) || !memcmp(h, "WAKE", 4))
		return -1;
	return BD_MEM_RAW;
}

int bd_memimage_open_io(struct bd_io *io, int format, bd_memimage **out)
{
	struct bd_memimage *m;
	int r;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		bd_io_close(io);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	m->io = io;
	if (format == BD_MEM_AUTO) {
		format = detect(m);
		if (format < 0) {
			r = bd_err(BD_ERR_UNSUPPORTED, "%s is a Windows hibernation file (compressed): convert it to a raw "
				   "image first (e.g. volatility's imagecopy), or give --format raw", io->name);
			goto fail;
		}
	}
	m->format = format;
	switch (format) {
	case BD_MEM_RAW:
		r = add_run(m, 0, io->size, 0);
		m->addr_kind = BD_MEM_ADDR_PHYSICAL;
		break;
	case BD_MEM_LIME: r = parse_lime(m); break;
	case BD_MEM_ELF: r = parse_elf(m); break;
	case BD_MEM_CRASHDUMP: r = parse_crashdump(m); break;
	default: r = bd_err(BD_ERR_INVALID, "unknown memory image format %d", format); break;
	}
	if (r)
		goto fail;
	if (m->n_runs > 1)
		qsort(m->runs, m->n_runs, sizeof(*m->runs), cmp_run);
	for (size_t i = 1; i < m->n_runs; i++)
		if (m->runs[i - 1].file_off + m->runs[i - 1].len > m->runs[i].file_off) {
			r = bd_err(BD_ERR_CORRUPT, "%s: memory ranges overlap in the file at offset %llu", io->name,
				   (unsigned long long)m->runs[i].file_off);
			goto fail;
		}
	if (!m->description[0])
		snprintf(m->description, sizeof(m->description), "%s, %zu range%s", bd_mem_format_name(format),
			 m->n_runs, m->n_runs == 1 ? "" : "s");
	*out = m;
	return 0;
fail:
	bd_memimage_close(m);
	return r;
}

int bd_memimage_open(const char *path, int format, bd_memimage **out)
{
	struct bd_io *io;
	int r;

	*out = NULL;
	r = bd_io_open(path, BD_IO_RDONLY, &io);
	if (r)
		return r;
	return bd_memimage_open_io(io, format, out);
}

void bd_memimage_close(bd_memimage *m)
{
	if (!m)
		return;
	bd_io_close(m->io);
	free(m->runs);
	free(m);
}

int bd_memimage_info(const bd_memimage *m, struct bd_memimage_info *out)
{
	memset(out, 0, sizeof(*out));
	out->format = m->format;
	out->format_name = bd_mem_format_name(m->format);
	snprintf(out->description, sizeof(out->description), "%s", m->description);
	snprintf(out->container, sizeof(out->container), "%s", m->io->container);
	out->file_size = m->io->size;
	out->data_bytes = m->data_bytes;
	out->n_runs = m->n_runs;
	out->addr_kind = m->addr_kind;
	out->truncated = m->truncated;
	return 0;
}

int bd_memimage_address(const bd_memimage *m, uint64_t file_off, uint64_t *addr)
{
	size_t lo = 0, hi = m->n_runs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct bd_mem_run *r = &m->runs[mid];
		if (file_off < r->file_off)
			hi = mid;
		else if (file_off - r->file_off >= r->len)
			lo = mid + 1;
		else {
			*addr = r->addr + (file_off - r->file_off);
			return 0;
		}
	}
	return BD_ERR_INVALID;
}
