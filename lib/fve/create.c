/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * New volumes: bd_create() writes a Windows 7+ style BitLocker volume (v2
 * metadata, three copies, relocated boot sectors) from a plaintext source or
 * from zeros, plus the protector files (.BEK, recovery key text).
 * Spec: ../shared/docs/format.md §1.3, §1.5, §2, §3, §4, §8.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bdkit/fve.h"
#include "method.h"
#include "crypto.h"
#include "internal.h"
#include "header.h"
#include "writer.h"

#define CHUNK (1u << 20)
#define ALIGN_64K(x) (((x) + 0xFFFFull) & ~0xFFFFull)

/* bytes of FVEK the method uses (0: unknown method) */
static size_t method_key_len(uint16_t method)
{
	const struct bd_method_def *d = bd_method_lookup(method);

	return d ? d->fvek_len : 0;
}

uint64_t bd_create_size_for(uint64_t fs_size)
{
	return ALIGN_64K(fs_size) + BD_CREATE_TAIL_SIZE;
}

/* ---- the plaintext source ---- */

/* Name the file system in a boot sector (or "" when unknown); *ss gets its sector size. */
static const char *fs_kind(const uint8_t bs[512], uint32_t *ss, uint32_t *hidden)
{
	struct bd_fs_info fi;

	bd_fs_probe(bs, 512, &fi);
	*ss = fi.kind == BD_FS_EXFAT ? fi.bytes_per_sector : le16(bs + 11);
	*hidden = (uint32_t)MIN(fi.hidden_sectors, 0xFFFFFFFFull);
	if (fi.kind == BD_FS_NTFS || fi.kind == BD_FS_EXFAT || (fi.boot_signature && fi.kind == BD_FS_FAT32))
		return fi.name;
	if (fi.boot_signature && (fi.kind == BD_FS_FAT12 || fi.kind == BD_FS_FAT16 || fi.kind == BD_FS_FAT))
		return "FAT";
	*hidden = 0;
	return "";
}

/* A BitLocker header: Vista/7+ signature, or the GUID where 7+ and To Go keep it (§1.1). */
static bool is_bitlocker(const uint8_t bs[512])
{
	static const int at[2] = { FVE_VH_GUID, FVE_VH_TOGO_GUID };

	if (!memcmp(bs + FVE_VH_OEM, "-FVE-FS-", 8))
		return true;
	for (int i = 0; i < 2; i++)
		if (!memcmp(bs + at[i], bd_guid_bitlocker, 16) || !memcmp(bs + at[i], bd_guid_eow, 16))
			return true;
	return false;
}

/* What the target already holds, for the refusal message (NULL: nothing). */
static const char *target_contents(const uint8_t *buf, size_t len)
{
	uint32_t ss, hidden;
	const char *fs;

	if (bd_is_zero(buf, len))
		return NULL;
	if (is_bitlocker(buf))
		return "a BitLocker volume";
	fs = fs_kind(buf, &ss, &hidden);
	if (*fs)
		return fs;
	if (len >= 1024 + 0x3A && le16(buf + 1024 + 0x38) == 0xEF53)
		return "an ext2/3/4 file system";
	if (!memcmp(buf, "LUKS\xba\xbe", 6))
		return "a LUKS volume";
	if (!memcmp(buf, "XFSB", 4))
		return "an XFS file system";
	return "data";
}

/* ---- layout ---- */

struct layout {
	uint64_t size;
	uint32_t ss;
	uint32_t virt_sectors;
	uint64_t virt_offset;
	uint64_t meta[3];
	uint64_t fs_size;       /* source bytes (0: none) */
};

static void layout_compute(struct layout *l, uint64_t size, uint32_t ss, uint64_t fs_size)
{
	l->size = size;
	l->ss = ss;
	l->virt_sectors = BD_VIRT_BYTES / ss;
	l->fs_size = fs_size;
	if (fs_size) {
		uint64_t r = ALIGN_64K(fs_size);
		l->meta[0] = r;
		l->virt_offset = r + BD_META_AREA_SIZE;
		l->meta[1] = r + 2 * BD_META_AREA_SIZE;
		l->meta[2] = r + 3 * BD_META_AREA_SIZE;
	} else {
		/* spread as Windows does; copy 1 is followed by the relocated boot sectors */
		for (int k = 0; k < 3; k++)
			l->meta[k] = (size / 4 * (uint64_t)(k + 1)) & ~0xFFFFull;
		l->virt_offset = l->meta[0] + BD_META_AREA_SIZE;
	}
}

/* Is physical/logical byte off (sector-aligned) inside a region that is not file-system data? */
static bool reserved(const struct layout *l, uint64_t off)
{
	for (int k = 0; k < 3; k++)
		if (off >= l->meta[k] && off < l->meta[k] + BD_META_AREA_SIZE)
			return true;
	return off >= l->virt_offset && off < l->virt_offset + BD_VIRT_BYTES;
}

/* ---- data ---- */

struct create_ctx {
	const struct bd_create_opts *o;
	struct bd_io *target;
	struct layout l;
	struct bd_sector_cipher *cipher;
	uint8_t *buf;
	uint32_t hidden_sectors;   /* copied from the source's boot sector into the header */
};

static int encrypt_and_write(struct create_ctx *c, uint8_t *p, size_t len, uint64_t phys)
{
	int r = bd_sector_encrypt(c->cipher, p, len / c->l.ss, phys);

	if (r)
		return r;
	return bd_io_write_full(c->target, p, len, phys);
}

/* Encrypt logical [0, size) into place: the first VIRT bytes go to the relocation area. */
static int write_data(struct create_ctx *c)
{
	const struct layout *l = &c->l;
	uint64_t total = l->size, done = 0;
	int r = 0;

	for (uint64_t off = 0; off < total; off += CHUNK) {
		size_t len = (size_t)MIN((uint64_t)CHUNK, total - off);
		size_t have = 0;

		if (c->o->source && off < l->fs_size) {
			have = (size_t)MIN((uint64_t)len, l->fs_size - off);
			r = bd_io_read_full(c->o->source, c->buf, have, off);
			if (r)
				return r;
		}
		memset(c->buf + have, 0, len - have);
		/* runs of sectors with the same treatment */
		size_t i = 0;
		while (i < len) {
			uint64_t at = off + i;
			size_t j = i;
			if (at < BD_VIRT_BYTES) {
				j = (size_t)MIN((uint64_t)len, BD_VIRT_BYTES - off);
				r = encrypt_and_write(c, c->buf + i, j - i, l->virt_offset + at);
			} else if (reserved(l, at)) {
				while (j < len && reserved(l, off + j))
					j += l->ss;
			} else {
				while (j < len && !reserved(l, off + j))
					j += l->ss;
				r = encrypt_and_write(c, c->buf + i, j - i, at);
			}
			if (r)
				return r;
			i = j;
		}
		done += len;
		if (c->o->progress && c->o->progress(done, total, c->o->progress_data))
			return bd_err(BD_ERR_INTERRUPTED, "interrupted after %llu of %llu bytes; %s is not a "
				      "usable volume", (unsigned long long)done, (unsigned long long)total,
				      c->target->name);
	}
	return 0;
}

/* ---- keys and metadata ---- */

static void default_description(char *out, size_t len)
{
	char host[64] = "localhost";
	time_t t = time(NULL);
	struct tm tm;

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = 0;
	localtime_r(&t, &tm);
	snprintf(out, len, "%s bdkit %d/%d/%d", host, tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900);
}

/* Generate a random recovery key whose password Windows would accept (§4.4: every
 * block is 11 * k; the check digit holds automatically for multiples of 11). */
static int new_recovery_key(uint8_t key16[16])
{
	return bd_random(key16, 16);
}

static int build_metadata(struct create_ctx *c, struct bd_create_result *res, uint8_t *area,
			  struct bd_secret *keys)
{
	const struct bd_create_opts *o = c->o;
	/* keys->data: vmk[32] fvek[64] key16[16] rp_salt[16] rp_stretched[32] pw_salt[16] pw_stretched[32] ext[32] init[32] */
	uint8_t *vmk = keys->data, *fvek = vmk + 32, *key16 = fvek + 64, *rp_salt = key16 + 16;
	uint8_t *rp_str = rp_salt + 16, *pw_salt = rp_str + 32, *pw_str = pw_salt + 16, *ext = pw_str + 32;
	uint8_t *init = ext + 32;
	size_t key_len = method_key_len(res->method);
	struct bd_nonce_src ns;
	struct bd_meta_header h;
	struct bd_buf b;
	char desc[256];
	uint64_t now = bd_filetime_now();
	int r;

	if ((r = bd_random(vmk, 32)) || (r = bd_random(fvek, key_len)))
		return r;
	if (res->method == BD_METHOD_AES_CBC_128_ELEPHANT) {
		/* 128-bit Elephant: data key at 0, tweak key at 32, the rest zero (§5) */
		memset(fvek + 16, 0, 16);
		memset(fvek + 48, 0, 16);
	}
	if ((r = bd_guid_generate(res->volume_guid)))
		return r;

	bd_buf_init(&b);
	bd_nonce_init(&ns, 1);
	if (!o->description)
		default_description(desc, sizeof(desc));
	bd_build_description(&b, o->description ? o->description : desc);
	if (o->password) {
		if ((r = bd_guid_generate(res->password_guid)) || (r = bd_random(pw_salt, 16)))
			goto out;
		r = bd_password_hash(o->password, init);
		if (r)
			goto out;
		bd_stretch(init, pw_salt, pw_str);
		bd_build_vmk_password(&b, res->password_guid, now, vmk, pw_salt, pw_str, &ns);
		res->has_password = 1;
	}
	if (o->recovery_password) {
		if ((r = bd_guid_generate(res->recovery_guid)) || (r = bd_random(rp_salt, 16)) ||
		    (r = new_recovery_key(key16)))
			goto out;
		bd_recovery_key_hash(key16, init);
		bd_stretch(init, rp_salt, rp_str);
		bd_recovery_password_format(key16, res->recovery_password);
		bd_build_vmk_recovery(&b, res->recovery_guid, now, vmk, rp_salt, key16, rp_str, &ns);
		res->has_recovery = 1;
	}
	if (o->startup_key) {
		struct bd_buf bek;
		if ((r = bd_guid_generate(res->bek_guid)) || (r = bd_random(ext, 32)))
			goto out;
		bd_build_vmk_startup_key(&b, res->bek_guid, now, vmk, ext, &ns);
		bd_buf_init(&bek);
		bd_build_bek_file(&bek, res->bek_guid, now, ext, NULL);
		if (!bek.err && bek.len <= sizeof(res->bek)) {
			memcpy(res->bek, bek.data, bek.len);
			res->bek_len = bek.len;
		} else if (!bek.err) {
			bek.err = BD_ERR_INVALID;
		}
		r = bek.err;
		bd_buf_free(&bek);
		if (r)
			goto out;
		res->has_startup_key = 1;
	}
	/* Windows skips one counter between the protectors and the FVEK; harmless either way */
	bd_build_fvek(&b, vmk, &ns, res->method, fvek, key_len);
	bd_put_virtualization(&b, c->l.virt_offset, BD_VIRT_BYTES);
	if (b.err) {
		r = bd_err(b.err, "building the metadata entries failed (%s)",
			   b.err == BD_ERR_INVALID ? "description is not valid UTF-8 or too long" : "out of memory");
		goto out;
	}

	memset(&h, 0, sizeof(h));
	h.state = h.next_state = 4;
	h.state_offset = c->l.size;
	h.virt_sectors = c->l.virt_sectors;
	memcpy(h.offsets, c->l.meta, sizeof(h.offsets));
	h.virt_offset = c->l.virt_offset;
	memcpy(h.volume_guid, res->volume_guid, 16);
	h.method = h.method2 = res->method;
	h.ctime = now;
	r = bd_meta_serialise(&h, b.data, b.len, vmk, &ns, area, BD_META_AREA_SIZE);
out:
	bd_buf_free(&b);
	return r;
}

static int check_options(const struct bd_create_opts *o, struct bd_io *target, struct create_ctx *c,
			 struct bd_create_result *res)
{
	uint32_t ss = o->sector_size, fs_ss = 0, hidden = 0;
	uint64_t fs_size = 0, size;
	uint8_t bs[512];
	int r;

	res->method = o->method ? o->method : BD_METHOD_AES_XTS_128;
	if (!method_key_len(res->method))
		return bd_err(BD_ERR_INVALID, "encryption method 0x%04x is not one of 0x8000..0x8005", res->method);
	if (!o->recovery_password && !o->password && !o->startup_key)
		return bd_err(BD_ERR_INVALID, "no protector: give a recovery password, a password or a startup key");
	if (o->password && !*o->password)
		return bd_err(BD_ERR_INVALID, "the password is empty");
	if (o->source) {
		fs_size = o->source_size ? o->source_size : o->source->size;
		if (fs_size > o->source->size)
			return bd_err(BD_ERR_INVALID, "source %s holds %llu bytes, fewer than the %llu asked for",
				      o->source->name, (unsigned long long)o->source->size,
				      (unsigned long long)fs_size);
		if (fs_size < 64 * 1024)
			return bd_err(BD_ERR_INVALID, "source %s is only %llu bytes; not a file system image",
				      o->source->name, (unsigned long long)fs_size);
		r = bd_io_read_full(o->source, bs, sizeof(bs), 0);
		if (r)
			return r;
		const char *fs = fs_kind(bs, &fs_ss, &hidden);
		if (is_bitlocker(bs))
			return bd_err(BD_ERR_INVALID, "source %s is already a BitLocker volume", o->source->name);
		if (!*fs && !o->allow_unknown_fs)
			return bd_err(BD_ERR_INVALID, "source %s holds no NTFS, FAT or exFAT file system "
				      "(use force to encrypt it anyway)", o->source->name);
		snprintf(res->fs_name, sizeof(res->fs_name), "%s", fs);
		if (o->to_go && (!*fs || !strcmp(fs, "NTFS")))
			return bd_err(BD_ERR_INVALID, "BitLocker To Go is for FAT and exFAT volumes; %s holds %s "
				      "(Windows encrypts NTFS removable drives with the normal layout: leave out To Go)",
				      o->source->name, *fs ? "an NTFS file system" : "no FAT or exFAT file system");
		if (*fs && !ss)
			ss = fs_ss;
		if (*fs && fs_ss != ss)
			return bd_err(BD_ERR_INVALID, "the %s file system in %s uses %u-byte sectors, not %u; "
				      "the volume must use the file system's sector size", fs, o->source->name,
				      fs_ss, ss);
	}
	if (!ss)
		ss = 512;
	if (ss != 512 && ss != 4096)
		return bd_err(BD_ERR_INVALID, "sector size %u is not supported (512 or 4096)", ss);
	if (fs_size % ss)
		return bd_err(BD_ERR_INVALID, "source size %llu is not a multiple of the %u-byte sector",
			      (unsigned long long)fs_size, ss);
	size = o->volume_size;
	if (!size)
		size = fs_size ? bd_create_size_for(fs_size) : target->size;
	size -= size % 4096;   /* whole 4 KiB units keep both sector sizes and the layout aligned */
	if (fs_size && size < bd_create_size_for(fs_size))
		return bd_err(BD_ERR_INVALID, "a volume of %llu bytes is too small for a %llu-byte file system "
			      "plus metadata; it needs %llu bytes", (unsigned long long)size,
			      (unsigned long long)fs_size, (unsigned long long)bd_create_size_for(fs_size));
	if (!fs_size && size < BD_CREATE_MIN_SIZE)
		return bd_err(BD_ERR_INVALID, "a volume of %llu bytes is too small; the minimum is %u bytes (2 MiB)",
			      (unsigned long long)size, BD_CREATE_MIN_SIZE);
	if (target->size < size)
		return bd_err(BD_ERR_INVALID, "target %s holds %llu bytes, less than the %llu-byte volume",
			      target->name, (unsigned long long)target->size, (unsigned long long)size);
	if (!target->writable)
		return bd_err(BD_ERR_READONLY, "target %s is open read-only", target->name);
	layout_compute(&c->l, size, ss, fs_size);
	res->size = size;
	res->sector_size = ss;
	memcpy(res->meta_offset, c->l.meta, sizeof(res->meta_offset));
	res->virt_offset = c->l.virt_offset;
	c->hidden_sectors = hidden;
	return 0;
}

int bd_create(struct bd_io *target, const struct bd_create_opts *o, struct bd_create_result *res)
{
	struct create_ctx c;
	struct bd_secret *keys = NULL;
	uint8_t *area = NULL, *head = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = BD_SIZE_CHECK(o, struct bd_create_opts, progress_data, "BD_CREATE_OPTS_INIT")))
		return r;
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.target = target;
	r = check_options(o, target, &c, res);
	if (r)
		return r;
	/* refuse to overwrite data (nothing has been written yet) */
	c.buf = malloc(CHUNK);
	area = malloc(BD_META_AREA_SIZE);
	head = calloc(1, BD_VIRT_BYTES);
	keys = bd_secret_new(32 + 64 + 16 + 16 + 32 + 16 + 32 + 32 + 32);
	if (!c.buf || !area || !head || !keys) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = bd_io_read_full(target, c.buf, BD_META_AREA_SIZE, 0);
	if (r)
		goto out;
	const char *what = target_contents(c.buf, BD_META_AREA_SIZE);
	if (what && !o->force) {
		r = bd_err(BD_ERR_EXISTS, "target %s already holds %s; nothing was written (force to overwrite)",
			   target->name, what);
		goto out;
	}
	/* probe: rewrite the first sector unchanged, so a read-only medium is refused
	 * before anything changes (a read-only loop device accepts O_RDWR opens) */
	if (target->ops->pwrite(target, c.buf, 512, 0) != 512) {
		r = bd_err(BD_ERR_READONLY, "target %s refuses writes (read-only medium?); nothing was written",
			   target->name);
		goto out;
	}
	r = build_metadata(&c, res, area, keys);
	if (r)
		goto out;
	r = bd_sector_cipher_new(res->method, keys->data + 32, method_key_len(res->method), c.l.ss, &c.cipher);
	if (r)
		goto out;
	bd_info("creating a %llu-byte %s volume on %s: metadata at %llu, %llu, %llu, boot sectors at %llu",
		(unsigned long long)c.l.size, bd_method_short_name(res->method), target->name,
		(unsigned long long)c.l.meta[0], (unsigned long long)c.l.meta[1], (unsigned long long)c.l.meta[2],
		(unsigned long long)c.l.virt_offset);
	/* data first, metadata next, the volume header last: an interrupted run leaves no
	 * header that points at incomplete metadata */
	r = write_data(&c);
	if (r)
		goto out;
	r = bd_meta_write_copies(target, 0, c.l.meta, area, BD_META_AREA_SIZE, NULL);
	if (r)
		goto out;
	memset(head, 0, BD_VIRT_BYTES);
	if (o->to_go)
		bd_build_togo_header(head, c.l.ss, (uint8_t)(4096 / c.l.ss), c.hidden_sectors, c.l.size / c.l.ss,
				     c.l.meta);
	else
		bd_build_volume_header(head, c.l.ss, (uint8_t)(4096 / c.l.ss), c.hidden_sectors, c.l.meta);
	r = bd_io_write_full(target, head, BD_VIRT_BYTES, 0);
	if (!r)
		r = bd_io_sync(target);
out:
	if (r)
		bd_create_result_wipe(res);
	bd_sector_cipher_free(c.cipher);
	bd_secret_free(keys);
	free(c.buf);
	free(area);
	free(head);
	return r;
}

void bd_create_result_wipe(struct bd_create_result *res)
{
	bd_wipe(res->recovery_password, sizeof(res->recovery_password));
	bd_wipe(res->bek, sizeof(res->bek));
	res->bek_len = 0;
}

/* ---- protector files ---- */

static int save_file(const char *path, const uint8_t *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int r = 0;

	if (fd < 0)
		return bd_err(errno == EEXIST ? BD_ERR_EXISTS : errno == EROFS || errno == EACCES ? BD_ERR_READONLY
			      : BD_ERR_IO, "cannot create %s: %s", path, strerror(errno));
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = bd_err(BD_ERR_IO, "cannot write %s: %s", path, n ? strerror(errno) : "no progress");
			break;
		}
		data += n;
		len -= (size_t)n;
	}
	if (!r && fsync(fd))
		r = bd_err(BD_ERR_IO, "cannot sync %s: %s", path, strerror(errno));
	close(fd);
	if (r)
		unlink(path);
	return r;
}

int bd_save_recovery_key_file(const char *dir, const uint8_t guid[16], const char *recovery_password,
			      char *path_out, size_t path_len)
{
	struct bd_buf b;
	char name[96];
	int r;

	bd_buf_init(&b);
	bd_build_recovery_key_txt(&b, guid, recovery_password, name, sizeof(name));
	if (b.err) {
		bd_buf_free(&b);
		return bd_err(b.err, "out of memory");
	}
	snprintf(path_out, path_len, "%s/%s", dir, name);
	r = save_file(path_out, b.data, b.len, 0600);
	bd_buf_free(&b);
	return r;
}

int bd_save_bek_file(const char *dir, const uint8_t guid[16], const uint8_t *bek, size_t len,
		     char *path_out, size_t path_len)
{
	char id[37];

	bd_guid_format(guid, id);
	for (char *p = id; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(path_out, path_len, "%s/%s.BEK", dir, id);
	return save_file(path_out, bek, len, 0600);
}
