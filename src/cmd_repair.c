/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bdkit repair: salvage the decrypted data of a damaged volume to a new image or device.
 * Metadata from the header's copies, a scan, or a key package; unreadable sectors are
 * retried, then zero-filled and recorded in a ddrescue-style map file that --resume
 * continues; the run ends with a report on the file system's key structures.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "audit.h"
#include "repair_cli.h"

#define CHUNK (1u << 20)
#define MINU(a, b) ((a) < (b) ? (a) : (b))
#define MAXU(a, b) ((a) > (b) ? (a) : (b))


static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit repair [OPTIONS] SOURCE -o OUTPUT\n"
		   "Salvage the decrypted volume from a damaged SOURCE to OUTPUT (a new image or a device at\n"
		   "least as large as the volume). SOURCE is only read. Metadata comes from the volume header's\n"
		   "copies, else from a scan of SOURCE for metadata blocks, else from --key-package. Unreadable\n"
		   "sectors are retried, then written as zeros and recorded in the map file (ddrescue format:\n"
		   "'+' done, '-' unreadable and zero-filled, '?' not yet tried); --resume continues a run.\n"
		   "The run ends with a report: metadata used, damaged ranges, the file system's key structures\n"
		   "and what to run next.\n\n"
		   "  -o, --output OUTPUT        image file or block device to write\n"
		   "      --key-package FILE     key package (bdkit keypackage export, or a foreign file with a\n"
		   "                             metadata block inside)\n"
		   "  -m, --map FILE             map file (default: OUTPUT.map, or ./bdkit-repair.map for a device)\n"
		   "      --resume MAPFILE       continue the interrupted run recorded in MAPFILE\n"
		   "      --retry-bad            with --resume: try the ranges recorded as unreadable again\n"
		   "      --audit FILE           write a JSON record of the run (input, metadata and protector used,\n"
		   "                             output size and SHA-256, unreadable ranges, times); never a secret\n"
		   "      --retries N            read attempts per sector of a failing chunk (default 3)\n"
		   "  -f, --force                overwrite a non-empty OUTPUT file\n"
		   "      --json                 the final report as JSON on stdout\n"
		   "      --assume-eow           the volume header is gone and the volume was being encrypted\n"
		   "                             (encrypt-on-write): take all-zero sectors as never written\n"
		   "  -h, --help                 this help\n\n%s",
		   cli_unlock_help);
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

/* ---- the map: sorted, contiguous ranges covering [0, size) ---- */

struct mrange {
	uint64_t pos, len;
	char st;    /* '+', '-', '?' */
};
struct map {
	struct mrange *r;
	size_t n, cap;
	uint64_t size;
};

static int map_push(struct map *m, uint64_t pos, uint64_t len, char st)
{
	if (!len)
		return 0;
	if (m->n && m->r[m->n - 1].st == st && m->r[m->n - 1].pos + m->r[m->n - 1].len == pos) {
		m->r[m->n - 1].len += len;
		return 0;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct mrange *nr = realloc(m->r, cap * sizeof(*nr));
		if (!nr)
			return -1;
		m->r = nr;
		m->cap = cap;
	}
	m->r[m->n].pos = pos;
	m->r[m->n].len = len;
	m->r[m->n].st = st;
	m->n++;
	return 0;
}

/* Set [pos, pos+len) to st (rebuilds the list; maps stay small). */
static int map_set(struct map *m, uint64_t pos, uint64_t len, char st)
{
	struct map nm = { 0 };
	uint64_t end = pos + len;
	int r = 0;

	nm.size = m->size;
	for (size_t i = 0; i < m->n && !r; i++) {
		struct mrange x = m->r[i];
		uint64_t xe = x.pos + x.len;
		if (xe <= pos || x.pos >= end) {
			r = map_push(&nm, x.pos, x.len, x.st);
			continue;
		}
		if (x.pos < pos)
			r |= map_push(&nm, x.pos, pos - x.pos, x.st);
		uint64_t s = MAXU(x.pos, pos), e = MINU(xe, end);
		r |= map_push(&nm, s, e - s, st);
		if (xe > end)
			r |= map_push(&nm, end, xe - end, x.st);
	}
	free(m->r);
	*m = nm;
	return r;
}

/* Saved atomically: a temporary made with mkstemp beside it (0600, never through a symlink), then renamed. */
static int map_save(const struct map *m, const char *path, const char *source, const char *output,
		    const char *guid, uint64_t cur)
{
	char tmp[4200];
	FILE *f;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	fprintf(f, "# bdkit repair map file (ddrescue format): + done, - unreadable (zero-filled), ? not tried\n"
		   "# source: %s\n# output: %s\n# volume: %s size: %llu\n"
		   "# current_pos  current_status  current_pass\n0x%08llX     %c               1\n"
		   "#      pos        size  status\n", source, output, guid, (unsigned long long)m->size,
		(unsigned long long)cur, cur >= m->size ? '+' : '?');
	for (size_t i = 0; i < m->n; i++)
		fprintf(f, "0x%08llX  0x%08llX  %c\n", (unsigned long long)m->r[i].pos,
			(unsigned long long)m->r[i].len, m->r[i].st);
	if (fflush(f) || fsync(fileno(f))) {
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int map_load(struct map *m, const char *path, const char *guid)
{
	FILE *f = fopen(path, "r");
	char line[4200];
	int seen_cur = 0;
	uint64_t expect = 0, size = 0;
	char vg[64] = "";

	if (!f) {
		cli_error("cannot open the map file %s: %s", path, strerror(errno));
		return EXIT_IO;
	}
	memset(m, 0, sizeof(*m));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char st;
		if (line[0] == '#') {
			char *p = strstr(line, "# volume: ");
			if (p && sscanf(p + 10, "%63s size: %llu", vg, &a) == 2)
				size = a;
			continue;
		}
		if (!seen_cur) {
			seen_cur = 1;
			continue;
		}
		if (sscanf(line, "%llx %llx %c", &a, &b, &st) != 3 || a != expect || (st != '+' && st != '-' && st != '?') ||
		    map_push(m, a, b, st)) {
			fclose(f);
			cli_error("%s: malformed map line: %s", path, line);
			return EXIT_USAGE;
		}
		expect = a + b;
	}
	fclose(f);
	if (!size || expect != size) {
		cli_error("%s: the map does not cover the volume (%llu of %llu bytes)", path,
			  (unsigned long long)expect, (unsigned long long)size);
		return EXIT_USAGE;
	}
	if (strcmp(vg, guid)) {
		cli_error("%s is the map of volume %s, not of this volume %s", path, vg, guid);
		return EXIT_REFUSED;
	}
	m->size = size;
	return 0;
}

/* ---- output ---- */

struct output {
	int fd;
	bool regular, fresh;
};

/* Write a chunk; zero 4 KiB blocks of a regular file stay (or become) holes. */
static int emit(struct output *o, const uint8_t *p, size_t len, uint64_t off)
{
	for (size_t i = 0; i < len;) {
		size_t n = MINU((size_t)4096, len - i);
		if (o->regular && n == 4096 && bd_is_zero(p + i, n)) {
			if (!o->fresh && fallocate(o->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(off + i),
						   (off_t)n) && cli_write_all(o->fd, p + i, n, off + i, true))
				return -1;
			i += n;
			continue;
		}
		if (cli_write_all(o->fd, p + i, n, off + i, true))
			return -1;
		i += n;
	}
	return 0;
}

/* ---- reading with retries ---- */

struct bad {
	uint64_t pos, len;
	int beyond;   /* past the end of the input */
};

static int read_sector(bd_volume *v, uint8_t *buf, uint32_t ss, uint64_t off, int retries)
{
	ssize_t n = -1;

	for (int t = 0; t < retries; t++) {
		n = bd_volume_pread(v, buf, ss, off);
		if (n == (ssize_t)ss)
			return 0;
		if (n != BD_ERR_IO)
			break;
	}
	return n < 0 ? (int)n : BD_ERR_IO;
}

/* ---- file-system report ---- */

struct fsrep {
	const char *type;
	const char *item[4];
	uint64_t off[4];
	int state[4];        /* 0 ok, 1 damaged (in a bad range), 2 invalid content, 3 outside the output */
	int n;
	char next[1024];
};

static bool in_bad(const struct map *m, uint64_t pos, uint64_t len)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].st != '+' && m->r[i].pos < pos + len && pos < m->r[i].pos + m->r[i].len)
			return true;
	return false;
}

static int rd(int fd, uint8_t *b, size_t n, uint64_t off)
{
	return pread(fd, b, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

static void check_item(struct fsrep *fr, int fd, const struct map *m, const char *name, uint64_t off, size_t len,
		       bool (*ok)(const uint8_t *), uint64_t size)
{
	uint8_t b[4096];
	int i = fr->n++;

	fr->item[i] = name;
	fr->off[i] = off;
	if (off + len > size || len > sizeof(b)) {
		fr->state[i] = 3;
		return;
	}
	if (in_bad(m, off, len))
		fr->state[i] = 1;
	else
		fr->state[i] = rd(fd, b, len, off) || !ok(b) ? 2 : 0;
}

static bool ok_kind(const uint8_t *b, bool (*kind)(enum bd_fs_kind))
{
	struct bd_fs_info fi;
	return kind(bd_fs_probe(b, 512, &fi)) && fi.boot_signature;
}
static bool is_ntfs(enum bd_fs_kind k) { return k == BD_FS_NTFS; }
static bool is_exfat(enum bd_fs_kind k) { return k == BD_FS_EXFAT; }
static bool is_fat(enum bd_fs_kind k) { return k == BD_FS_FAT12 || k == BD_FS_FAT16 || k == BD_FS_FAT32 || k == BD_FS_FAT; }
static bool ok_ntfs(const uint8_t *b) { return ok_kind(b, is_ntfs); }
static bool ok_file(const uint8_t *b) { return !memcmp(b, "FILE", 4); }
static bool ok_exfat(const uint8_t *b) { return ok_kind(b, is_exfat); }
static bool ok_fat(const uint8_t *b) { return ok_kind(b, is_fat); }

static void fs_report(int fd, const struct map *m, uint64_t size, uint32_t ss, const char *out, struct fsrep *fr)
{
	uint8_t bs[512], alt[512];
	bool have = !rd(fd, bs, 512, 0) && !in_bad(m, 0, 512);
	uint64_t last = size - size % ss - ss;
	struct bd_fs_info fi;

	memset(fr, 0, sizeof(*fr));
	fr->type = "unknown";
	/* the NTFS backup boot sector sits in the volume's last sector: use it when sector 0 is gone */
	if ((!have || !ok_ntfs(bs)) && size >= 2 * ss && !rd(fd, alt, 512, last) && ok_ntfs(alt) && !in_bad(m, last, 512)) {
		memcpy(bs, alt, 512);
		have = true;
	}
	bd_fs_probe(have ? bs : NULL, 512, &fi);
	if (have && ok_ntfs(bs)) {
		uint32_t bps = fi.bytes_per_sector;
		uint64_t cl = (uint64_t)bps * fi.sectors_per_cluster;
		uint64_t bak = fi.backup_boot_sector * bps;
		fr->type = "NTFS";
		check_item(fr, fd, m, "boot sector", 0, 512, ok_ntfs, size);
		check_item(fr, fd, m, "backup boot sector", bak, 512, ok_ntfs, size);
		check_item(fr, fd, m, "$MFT", fi.mft_lcn * cl, 4096, ok_file, size);
		check_item(fr, fd, m, "$MFTMirr", fi.mftmirr_lcn * cl, 4096, ok_file, size);
		bool boot = fr->state[0] == 0, bboot = fr->state[1] == 0, mft = fr->state[2] == 0, mirr = fr->state[3] == 0;
		if (boot && mft && mirr && m->n == 1)
			snprintf(fr->next, sizeof(fr->next), "nothing damaged: mount -o ro %s, or ntfsfix -n %s to check", out, out);
		else if (!boot && bboot)
			snprintf(fr->next, sizeof(fr->next), "the boot sector is lost but its backup survives: copy it back "
				 "with 'dd if=%s of=%s bs=%u skip=%llu count=1 conv=notrunc', then run ntfsfix %s "
				 "and chkdsk /f on Windows", out, out, bps, (unsigned long long)(bak / bps), out);
		else if (!mft && mirr)
			snprintf(fr->next, sizeof(fr->next), "$MFT's first records are damaged but $MFTMirr holds a copy "
				 "of them: copy it back with 'dd if=%s of=%s bs=1024 skip=%llu seek=%llu count=4 "
				 "conv=notrunc', then run 'ntfsfix %s' and chkdsk /f on Windows; files whose records lay "
				 "in damaged ranges beyond the first four are lost", out, out,
				 (unsigned long long)(fr->off[3] / 1024), (unsigned long long)(fr->off[2] / 1024), out);
		else if (!mft && !mirr)
			snprintf(fr->next, sizeof(fr->next), "neither $MFT nor $MFTMirr holds valid records: the file "
				 "system cannot be mounted; recover files with testdisk or photorec from %s", out);
		else
			snprintf(fr->next, sizeof(fr->next), "run 'ntfsfix -n %s' to check and 'ntfsfix %s' to repair, "
				 "then chkdsk /f on Windows; files overlapping the damaged ranges hold zeros", out, out);
		return;
	}
	if (have && ok_exfat(bs)) {
		fr->type = "exFAT";
		check_item(fr, fd, m, "boot sector", 0, 512, ok_exfat, size);
		check_item(fr, fd, m, "backup boot sector", fi.backup_boot_sector * fi.bytes_per_sector, 512, ok_exfat, size);
		snprintf(fr->next, sizeof(fr->next), "run 'fsck.exfat -n %s' to check, 'fsck.exfat %s' to repair", out, out);
		return;
	}
	if (have && ok_fat(bs)) {
		fr->type = "FAT";
		check_item(fr, fd, m, "boot sector", 0, 512, ok_fat, size);
		if (fi.backup_boot_sector)
			check_item(fr, fd, m, "backup boot sector", fi.backup_boot_sector * fi.bytes_per_sector, 512, ok_fat, size);
		snprintf(fr->next, sizeof(fr->next), "run 'fsck.fat -n %s' to check, 'fsck.fat -a %s' to repair", out, out);
		return;
	}
	snprintf(fr->next, sizeof(fr->next), "no file-system header was found in the first or last sector: "
		 "try testdisk or photorec on %s", out);
}

static const char *state_text(int s)
{
	static const char *t[] = { "ok", "damaged (zero-filled)", "not found there", "beyond the output" };
	return t[s];
}

/* ---- block devices: the disk a device lies on and its byte range there (from sysfs) ---- */

static int read_u64_file(const char *path, uint64_t *v)
{
	FILE *f = fopen(path, "r");
	unsigned long long x;
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%llu", &x) == 1;
	fclose(f);
	*v = x;
	return ok ? 0 : -1;
}

static int blk_place(dev_t d, char *disk, size_t disklen, uint64_t *start, uint64_t *size)
{
	char p[256], real[4096], q[4200];

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u", major(d), minor(d));
	if (!realpath(p, real))
		return -1;
	snprintf(q, sizeof(q), "%s/size", real);
	if (read_u64_file(q, size))
		return -1;
	*start = 0;
	snprintf(q, sizeof(q), "%s/partition", real);
	if (!access(q, F_OK)) {
		snprintf(q, sizeof(q), "%s/start", real);
		if (read_u64_file(q, start))
			return -1;
		char *slash = strrchr(real, '/');
		if (slash)
			*slash = 0;   /* the partition's directory sits in its disk's */
	}
	snprintf(disk, disklen, "%s", real);
	return 0;
}

/* Do two block devices share sectors (same device, or a partition and its disk, or overlapping)? */
static bool blk_overlap(dev_t a, dev_t b)
{
	char da[4096], db[4096];
	uint64_t sa, na, sb, nb;

	if (a == b)
		return true;
	if (blk_place(a, da, sizeof(da), &sa, &na) || blk_place(b, db, sizeof(db), &sb, &nb))
		return false;
	/* a whole disk's size counts from 0; a partition's start and size are in 512-byte units */
	return !strcmp(da, db) && sa < sb + nb && sb < sa + na;
}

/* What the salvage trusted: the report says it plainly. */
static const char *integrity_text(const struct bd_info *in)
{
	if (in->unverified & BD_UNVERIFIED_KEY)
		return (in->unverified & BD_UNVERIFIED_METADATA) ?
		       "NOT verified: the raw FVEK could not be checked on the data and the metadata was used unchecked" :
		       "NOT verified: the raw FVEK could not be checked on the data (garbage output if it is wrong)";
	if (in->unverified & BD_UNVERIFIED_METADATA)
		return "NOT verified: the metadata's state, watermark and offsets were trusted as they are (no copy "
		       "passes its VMK-keyed SHA-256, or a raw FVEK cannot verify it): damaged or forged";
	if (in->hash_verified)
		return "verified (the metadata's VMK-keyed SHA-256 matches)";
	return "not checked (unlocked by a raw FVEK, which decrypts the volume's file-system header)";
}

/* ---- main ---- */

/* One run: the options, then what the steps below open and fill in. */
struct repair {
	struct cli_unlock u;
	const char *out, *kpath, *mpath, *resume, *source, *audit_path;
	bool force, json, assume_eow, retry_bad;
	int retries;
	/* opened */
	bool out_exists;
	struct stat so;
	bd_volume *v;
	bd_salvage *salv;
	uint8_t *kp;
	size_t kplen;
	struct bd_salvage_source src;
	struct bd_info info;
	const char *integrity;
	char g[39], mapname[4096];
	uint64_t readable, size;
	uint32_t ss;
	struct map map;
	struct output o;
	struct cli_output cout;
	struct cli_audit audit;
};

/* -1 to go on, else the exit code to return. */
static int parse_options(struct repair *R, int argc, char **argv)
{
	enum { OPT_KP = OPT_CLI_LAST + 1, OPT_RESUME, OPT_RETRIES, OPT_JSON, OPT_EOW, OPT_RETRY_BAD, OPT_AUDIT };
	static const struct option opts[] = {
		{ "output", required_argument, 0, 'o' },
		{ "key-package", required_argument, 0, OPT_KP },
		{ "map", required_argument, 0, 'm' },
		{ "resume", required_argument, 0, OPT_RESUME },
		{ "retries", required_argument, 0, OPT_RETRIES },
		{ "force", no_argument, 0, 'f' },
		{ "json", no_argument, 0, OPT_JSON },
		{ "assume-eow", no_argument, 0, OPT_EOW },
		{ "retry-bad", no_argument, 0, OPT_RETRY_BAD },
		{ "audit", required_argument, 0, OPT_AUDIT },
		{ "help", no_argument, 0, 'h' },
		CLI_UNLOCK_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	int c, rc;

	R->retries = 3;
	cli_unlock_init(&R->u);
	while ((c = getopt_long(argc, argv, "o:m:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': R->out = optarg; break;
		case 'm': R->mpath = optarg; break;
		case 'f': R->force = true; break;
		case OPT_KP: R->kpath = optarg; break;
		case OPT_RESUME: R->resume = optarg; break;
		case OPT_RETRIES: R->retries = atoi(optarg); break;
		case OPT_JSON: R->json = true; break;
		case OPT_EOW: R->assume_eow = true; break;
		case OPT_RETRY_BAD: R->retry_bad = true; break;
		case OPT_AUDIT: R->audit_path = optarg; break;
		case 'h': usage(stdout); cli_unlock_free(&R->u); return EXIT_OK;
		default:
			if ((rc = cli_unlock_getopt(&R->u, c, optarg, usage)))
				return rc;
			break;
		}
	}
	if (optind != argc - 1 || !R->out) {
		if (!R->out)
			cli_error("repair: give the output with -o OUTPUT");
		return cli_usage_error(&R->u, usage);
	}
	if (R->retries < 1 || R->retries > 100)
		R->retries = 3;
	R->source = argv[optind];
	return -1;
}

/* The output must not be the source, checked before anything is opened for writing. */
static int check_not_source(struct repair *R)
{
	struct stat si;

	R->out_exists = !stat(R->out, &R->so);
	if (stat(R->source, &si)) {
		cli_error("cannot open %s: %s", R->source, strerror(errno));
		return EXIT_IO;
	}
	if (R->out_exists && ((R->so.st_dev == si.st_dev && R->so.st_ino == si.st_ino) ||
			      (S_ISBLK(R->so.st_mode) && S_ISBLK(si.st_mode) &&
			       blk_overlap(R->so.st_rdev, si.st_rdev)))) {
		cli_error("the output %s is the source or shares sectors with it: refusing (repair never writes "
			  "to the source)", R->out);
		return EXIT_REFUSED;
	}
	return 0;
}

/* A secret typed once serves every metadata source tried. */
static void ask_secret_once(struct cli_unlock *u)
{
	if (rcli_has_secret(u) || u->no_prompt)
		return;
	char *s = isatty(0) ? cli_prompt_secret("Recovery password or password: ") : NULL;
	size_t sl;
	if (!s && !isatty(0))
		s = cli_read_secret_file("-", &sl, true);
	if (s && *s) {
		int digits = 0, other = 0;
		for (char *p = s; *p; p++)
			*p >= '0' && *p <= '9' ? digits++ : (*p != '-' && *p != ' ') ? other++ : 0;
		/* the locked buffer itself is handed over (cli_unlock_free wipes it): no copy */
		if (digits == 48 && !other)
			u->recovery_password = s;
		else
			u->password = s;
		s = NULL;
	}
	if (s)
		cli_secret_free(s, strlen(s));
}

/* The first metadata source the secret unlocks; then what is known of the volume, in the audit
 * record and as warnings. */
static int open_volume(struct repair *R)
{
	/* salvage trusts what cannot be verified (damaged metadata, a raw FVEK nothing confirms): the
	 * report and a warning say so when that happened */
	struct bd_salvage_opts sopt = BD_SALVAGE_OPTS_INIT(.offset = R->u.offset, .key_package = R->kp,
		.key_package_len = R->kplen, .assume_eow = R->assume_eow, .ignore_integrity = 1);
	struct rcli_salvage s = { .path = R->source, .u = &R->u, .kp = R->kp, .kplen = R->kplen, .repair = true };
	int r, rc;

	if ((r = bd_salvage_new(&sopt, &R->salv)))
		return cli_fail(r, R->source);
	if ((rc = rcli_salvage_unlock(R->salv, &s, &R->v, &R->src)))
		return rc;

	bd_volume_info(R->v, &R->info);
	cli_guid(R->info.guid, R->g, true);
	cli_audit_input(&R->audit, R->source, R->v);
	cli_audit_volume(&R->audit, R->v);
	cli_audit_set(&R->audit, "metadata_source", R->src.text);
	if (R->kpath)
		cli_audit_set(&R->audit, "key_package", R->kpath);
	cli_audit_set(&R->audit, "integrity", integrity_text(&R->info));
	R->integrity = integrity_text(&R->info);
	if (R->info.unverified)
		cli_warn("salvaging unverified: %s", R->integrity);
	/* beyond the input only what the decrypted file system or verified metadata says (not a
	 * key package's or a CRC-only claim), and that tail costs one map entry, not a loop */
	R->readable = bd_volume_size(R->v);
	R->size = bd_volume_full_size(R->v);
	R->ss = bd_volume_sector_size(R->v);
	if (R->kp) {
		struct bd_keypackage_info ki;
		if (!bd_keypackage_parse(R->kp, R->kplen, &ki) && !memcmp(ki.guid, R->info.guid, 16) &&
		    ki.volume_size > R->size)
			cli_warn("the key package says the volume has %llu bytes; only %llu are confirmed (by the "
				 "input, the decrypted file system or verified metadata) and written",
				 (unsigned long long)ki.volume_size, (unsigned long long)R->size);
	}
	if (R->size > R->readable && !cli_quiet)
		cli_warn("the input ends after %llu of the volume's %llu bytes: the rest is written as zeros and "
			 "reported", (unsigned long long)R->readable, (unsigned long long)R->size);
	return 0;
}

/* Output: a new file (O_EXCL|O_NOFOLLOW, 0600), --force removes an old one first, --resume
 * reopens ours; a block device is opened exclusively and must be large enough. */
static int open_output(struct repair *R)
{
	int rc;

	if (R->resume && !R->out_exists) {
		cli_error("--resume: the output %s of the interrupted run does not exist", R->out);
		return EXIT_USAGE;
	}
	if (R->out_exists && !S_ISREG(R->so.st_mode) && !S_ISBLK(R->so.st_mode)) {
		cli_error("%s is neither a regular file nor a block device", R->out);
		return EXIT_USAGE;
	}
	rc = cli_output_open(&R->cout, R->out, R->force, CLI_OUT_IN_PLACE | (R->resume ? CLI_OUT_RESUME : 0));
	if (rc)
		return rc;
	R->o.fd = R->cout.fd;
	R->o.regular = R->cout.regular;
	R->o.fresh = R->o.regular && !R->resume;
	if (!R->o.regular) {
		uint64_t bsz = 0;
		if (ioctl(R->o.fd, BLKGETSIZE64, &bsz) == 0 && bsz < R->size) {
			cli_error("%s holds %llu bytes; the volume needs %llu: refusing a smaller output", R->out,
				  (unsigned long long)bsz, (unsigned long long)R->size);
			return EXIT_REFUSED;
		}
	}
	if (R->o.regular && ((!R->resume && ftruncate(R->o.fd, 0)) || ftruncate(R->o.fd, (off_t)R->size))) {
		cli_error("cannot size %s to %llu bytes: %s", R->out, (unsigned long long)R->size, strerror(errno));
		return EXIT_FAILURE_OTHER;
	}
	return 0;
}

/* The map: a fresh one, or the interrupted run's (its unreadable ranges untried again with
 * --retry-bad); saved at once. */
static int open_map(struct repair *R)
{
	int rc;

	if (R->resume) {
		R->mpath = R->resume;
		rc = map_load(&R->map, R->resume, R->g);
		if (rc)
			return rc;
		if (R->retry_bad)
			for (size_t i = 0; i < R->map.n; i++)
				if (R->map.r[i].st == '-')
					R->map.r[i].st = '?';
		if (R->map.size != R->size) {
			cli_error("%s records a volume of %llu bytes; this one is %llu", R->resume,
				  (unsigned long long)R->map.size, (unsigned long long)R->size);
			return EXIT_REFUSED;
		}
	} else {
		R->map.size = R->size;
		map_push(&R->map, 0, R->size, '?');
	}
	if (!R->mpath) {
		snprintf(R->mapname, sizeof(R->mapname), R->o.regular ? "%s.map" : "bdkit-repair.map", R->out);
		R->mpath = R->mapname;
	}
	if (map_save(&R->map, R->mpath, R->source, R->out, R->g, 0)) {
		cli_error("cannot write the map file %s: %s", R->mpath, strerror(errno));
		return EXIT_FAILURE_OTHER;
	}
	return 0;
}

/* Read [off, off+len) into buf (zeroed first): the whole chunk at once, else sector by sector with
 * retries; what stays unreadable (or lies beyond the input) is zero and listed in bad. */
static int read_chunk(struct repair *R, uint8_t *buf, size_t len, uint64_t off, struct bad bad[64])
{
	int nbad = 0;

	memset(buf, 0, len);
	if (off >= R->readable) {
		bad[nbad++] = (struct bad){ off, len, 1 };
		return nbad;
	}
	size_t rl = (size_t)MINU((uint64_t)len, R->readable - off);
	ssize_t n = bd_volume_pread(R->v, buf, rl, off);
	if (n != (ssize_t)rl) {
		/* sector by sector */
		for (size_t s = 0; s < rl; s += R->ss) {
			uint32_t sl = (uint32_t)MINU((size_t)R->ss, rl - s);
			if (!read_sector(R->v, buf + s, sl, off + s, R->retries))
				continue;
			memset(buf + s, 0, sl);
			if (nbad && bad[nbad - 1].pos + bad[nbad - 1].len == off + s && !bad[nbad - 1].beyond)
				bad[nbad - 1].len += sl;
			else if (nbad < 63)
				bad[nbad++] = (struct bad){ off + s, sl, 0 };
			else
				bad[nbad - 1].len = off + s + sl - bad[nbad - 1].pos;
		}
	}
	if (rl < len)
		bad[nbad++] = (struct bad){ off + rl, len - rl, 1 };
	return nbad;
}

/* Work through the map's untried ranges until done or interrupted, saving the map every second
 * and at the end. 0 or an exit code; *done_now: bytes this run. */
static int copy_ranges(struct repair *R, struct cli_progress *prog, uint64_t *done_now)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t stop_after = 0, todo = 0, cur = 0;
	int rc = EXIT_OK;

	if (!buf)
		return EXIT_FAILURE_OTHER;
#ifdef BDKIT_TEST_HOOKS
	/* test builds only (bdkit-test): stop as if interrupted once this much is done */
	const char *stop_env = getenv("BDKIT_REPAIR_STOP_AFTER");
	if (stop_env && cli_parse_size(stop_env, &stop_after))
		stop_after = 0;
#endif
	for (size_t i = 0; i < R->map.n; i++)
		if (R->map.r[i].st == '?')
			todo += R->map.r[i].len;
	cli_progress_start(prog, "repair", todo);
	double last_save = cli_now();
	for (;;) {
		/* next untried range */
		size_t k;
		for (k = 0; k < R->map.n && R->map.r[k].st != '?'; k++)
			;
		if (k == R->map.n)
			break;
		if (interrupted || (stop_after && *done_now >= stop_after)) {
			interrupted = 1;
			break;
		}
		uint64_t off = R->map.r[k].pos;
		if (off >= R->readable && R->o.regular) {
			/* beyond the input: a hole (the file is sized already) and one map entry */
			uint64_t rl = R->map.r[k].len;
			if (!R->o.fresh && fallocate(R->o.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
						     (off_t)rl) && errno != EOPNOTSUPP) {
				cli_error("writing %s at %llu failed: %s", R->out, (unsigned long long)off, strerror(errno));
				rc = EXIT_IO;
				break;
			}
			map_set(&R->map, off, rl, '-');
			cur = off + rl;
			*done_now += rl;
			continue;
		}
		size_t len = (size_t)MINU((uint64_t)CHUNK - off % CHUNK, R->map.r[k].len);
		struct bad bad[64];
		int nbad = read_chunk(R, buf, len, off, bad);
		if (emit(&R->o, buf, len, off)) {
			cli_error("writing %s at %llu failed: %s", R->out, (unsigned long long)off, strerror(errno));
			rc = EXIT_IO;
			break;
		}
		map_set(&R->map, off, len, '+');
		for (int b = 0; b < nbad; b++)
			map_set(&R->map, bad[b].pos, bad[b].len, '-');
		cur = off + len;
		*done_now += len;
		cli_progress_update(prog, *done_now);
		if (cli_now() - last_save > 1.0) {
			if (fdatasync(R->o.fd) && errno != EINVAL) {
				cli_error("syncing %s failed: %s", R->out, strerror(errno));
				rc = EXIT_IO;
				break;
			}
			map_save(&R->map, R->mpath, R->source, R->out, R->g, cur);
			last_save = cli_now();
		}
	}
	free(buf);
	if (fsync(R->o.fd) && errno != EINVAL && !rc) {
		cli_error("syncing %s failed: %s", R->out, strerror(errno));
		rc = EXIT_IO;
	}
	if (map_save(&R->map, R->mpath, R->source, R->out, R->g, cur)) {
		cli_error("cannot write the map file %s: %s", R->mpath, strerror(errno));
		rc = rc ? rc : EXIT_FAILURE_OTHER;
	}
	return rc;
}

static void report_json(const struct repair *R, const struct fsrep *fr, uint64_t bad_bytes)
{
	const struct map *m = &R->map;

	printf("{\"source\":");
	cli_json_string(stdout, R->source);
	printf(",\"output\":");
	cli_json_string(stdout, R->out);
	printf(",\"map\":");
	cli_json_string(stdout, R->mpath);
	printf(",\"metadata\":");
	cli_json_string(stdout, R->src.text);
	printf(",\"metadata_kind\":\"%s\",\"volume_guid\":\"%s\",\"integrity_verified\":%s,\"integrity\":",
	       R->src.kind == 0 ? "header" : R->src.kind == 1 ? "scan" : "key-package", R->g,
	       R->info.unverified ? "false" : "true");
	cli_json_string(stdout, R->integrity);
	printf(",\"method\":");
	cli_json_string(stdout, R->info.method_name);
	printf(",\"size\":%llu,\"input_bytes\":%llu,\"damaged_bytes\":%llu,\"damaged\":[",
	       (unsigned long long)R->size, (unsigned long long)R->readable, (unsigned long long)bad_bytes);
	int first = 1;
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].st == '-') {
			printf("%s{\"offset\":%llu,\"length\":%llu,\"reason\":\"%s\"}", first ? "" : ",",
			       (unsigned long long)m->r[i].pos, (unsigned long long)m->r[i].len,
			       m->r[i].pos >= R->readable ? "beyond the end of the input" : "unreadable");
			first = 0;
		}
	printf("],\"filesystem\":{\"type\":\"%s\",\"structures\":[", fr->type);
	for (int i = 0; i < fr->n; i++)
		printf("%s{\"name\":\"%s\",\"offset\":%llu,\"state\":\"%s\"}", i ? "," : "", fr->item[i],
		       (unsigned long long)fr->off[i], state_text(fr->state[i]));
	printf("]},\"next\":");
	cli_json_string(stdout, fr->next);
	printf("}\n");
}

static void report_text(const struct repair *R, const struct fsrep *fr, uint64_t bad_bytes)
{
	const struct map *m = &R->map;
	FILE *rep = stderr;

	fprintf(rep, "Repair report\n  Source:       %s\n  Output:       %s (%llu bytes)\n  Map file:     %s\n"
		"  Volume:       %s, %s\n  Metadata:     %s\n  Integrity:    %s\n", R->source, R->out,
		(unsigned long long)R->size, R->mpath, R->g, R->info.method_name, R->src.text, R->integrity);
	if (!bad_bytes)
		fprintf(rep, "  Damaged:      none: every sector was read and decrypted\n");
	else
		fprintf(rep, "  Damaged:      %llu bytes, written as zeros (output offsets):\n",
			(unsigned long long)bad_bytes);
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].st == '-')
			fprintf(rep, "    %llu +%llu  %s\n", (unsigned long long)m->r[i].pos,
				(unsigned long long)m->r[i].len,
				m->r[i].pos >= R->readable ? "beyond the end of the input" : "unreadable");
	fprintf(rep, "  File system:  %s\n", fr->type);
	for (int i = 0; i < fr->n; i++)
		fprintf(rep, "    %-20s at %-12llu %s\n", fr->item[i], (unsigned long long)fr->off[i],
			state_text(fr->state[i]));
	fprintf(rep, "  Next:         %s\n", fr->next);
}

/* The report: the file system's key structures, the damaged ranges (also in the audit record,
 * with the output's hash), as text or JSON. */
static int report(struct repair *R)
{
	struct fsrep fr;
	uint64_t bad_bytes = 0;

	fs_report(R->o.fd, &R->map, R->size, R->ss, R->out, &fr);
	for (size_t i = 0; i < R->map.n; i++)
		if (R->map.r[i].st == '-') {
			bad_bytes += R->map.r[i].len;
			cli_audit_unreadable(&R->audit, R->map.r[i].pos, R->map.r[i].len);
		}
	if (R->audit.path) {
		uint8_t sha[32];
		uint64_t got = 0;
		if (cli_sha256_file(R->out, R->size, sha, &got) || got != R->size) {
			cli_error("cannot hash the output %s for the audit record", R->out);
			return EXIT_FAILURE_OTHER;
		}
		cli_audit_output(&R->audit, R->out, R->size, sha,
				 "the output as read back after writing (unreadable ranges as zeros)");
		cli_audit_set(&R->audit, "map", R->mpath);
	}
	if (R->json)
		report_json(R, &fr, bad_bytes);
	else
		report_text(R, &fr, bad_bytes);
	return 0;
}

static int run(struct repair *R, int argc, char **argv)
{
	uint64_t done_now = 0;
	struct cli_progress prog;
	int rc;

	if ((rc = cli_audit_open(&R->audit, R->audit_path, argc, argv)))
		return rc;
	cli_audit_input(&R->audit, R->source, NULL);
	signal(SIGINT, on_signal);   /* from here on ctrl-C leaves a consistent map */
	signal(SIGTERM, on_signal);
	if (R->kpath && (rc = rcli_load_file(R->kpath, 16u << 20, &R->kp, &R->kplen)))
		return rc;
	if ((rc = check_not_source(R)))
		return rc;
	ask_secret_once(&R->u);
	if ((rc = open_volume(R)) || (rc = open_output(R)) || (rc = open_map(R)))
		return rc;
	if ((rc = copy_ranges(R, &prog, &done_now)))
		return rc;
	if (interrupted) {
		if (prog.enabled)
			fputc('\n', stderr);
		cli_error("interrupted; the map %s records what is done: continue with "
			  "'bdkit repair %s -o %s --resume %s'", R->mpath, R->source, R->out, R->mpath);
		return EXIT_INTERRUPTED;
	}
	cli_progress_done(&prog, done_now);
	return report(R);
}

int cmd_repair(int argc, char **argv)
{
	struct repair R = { .o = { .fd = -1 }, .cout = { .fd = -1 } };
	int rc = parse_options(&R, argc, argv);

	if (rc >= 0)
		return rc;
	rc = run(&R, argc, argv);
	if (R.cout.fd >= 0 && close(R.cout.fd) && !rc) {
		cli_error("closing %s failed: %s", R.out, strerror(errno));
		rc = EXIT_FAILURE_OTHER;
	}
	R.cout.fd = -1;
	cli_output_abort(&R.cout);
	free(R.map.r);
	free(R.kp);
	int arc = cli_audit_close(&R.audit, rc);
	bd_volume_close(R.v);
	bd_salvage_free(R.salv);
	cli_unlock_free(&R.u);
	return rc ? rc : arc;
}
