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

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

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

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Write a chunk; zero 4 KiB blocks of a regular file stay (or become) holes. */
static int emit(struct output *o, const uint8_t *p, size_t len, uint64_t off)
{
	for (size_t i = 0; i < len;) {
		size_t n = MINU((size_t)4096, len - i);
		if (o->regular && n == 4096 && all_zero(p + i, n)) {
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

static bool ok_ntfs(const uint8_t *b) { return !memcmp(b + 3, "NTFS    ", 8) && b[510] == 0x55 && b[511] == 0xAA; }
static bool ok_file(const uint8_t *b) { return !memcmp(b, "FILE", 4); }
static bool ok_exfat(const uint8_t *b) { return !memcmp(b + 3, "EXFAT   ", 8) && b[510] == 0x55 && b[511] == 0xAA; }
static bool ok_fat(const uint8_t *b)
{
	return b[510] == 0x55 && b[511] == 0xAA && (!memcmp(b + 0x52, "FAT32   ", 8) || !memcmp(b + 0x36, "FAT", 3));
}

static void fs_report(int fd, const struct map *m, uint64_t size, uint32_t ss, const char *out, struct fsrep *fr)
{
	uint8_t bs[512], alt[512];
	bool have = !rd(fd, bs, 512, 0) && !in_bad(m, 0, 512);
	uint64_t last = size - size % ss - ss;

	memset(fr, 0, sizeof(*fr));
	fr->type = "unknown";
	/* the NTFS backup boot sector sits in the volume's last sector: use it when sector 0 is gone */
	if ((!have || !ok_ntfs(bs)) && size >= 2 * ss && !rd(fd, alt, 512, last) && ok_ntfs(alt) && !in_bad(m, last, 512)) {
		memcpy(bs, alt, 512);
		have = true;
	}
	if (have && ok_ntfs(bs)) {
		uint32_t bps = le16(bs + 11);
		/* sectors per cluster: the byte, or above 0x80 a power of two 2^(256 - byte); clusters
		 * beyond 2 MiB do not exist (and a larger shift would be undefined) */
		unsigned sh = 256u - bs[13];
		uint32_t spc = bs[13] <= 0x80 ? bs[13] : sh <= 12 ? 1u << sh : 0;
		uint64_t cl = (uint64_t)bps * spc;
		uint64_t bak = le64(bs + 0x28) * bps;
		fr->type = "NTFS";
		check_item(fr, fd, m, "boot sector", 0, 512, ok_ntfs, size);
		check_item(fr, fd, m, "backup boot sector", bak, 512, ok_ntfs, size);
		check_item(fr, fd, m, "$MFT", le64(bs + 0x30) * cl, 4096, ok_file, size);
		check_item(fr, fd, m, "$MFTMirr", le64(bs + 0x38) * cl, 4096, ok_file, size);
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
		check_item(fr, fd, m, "backup boot sector", 12ull << (bs[0x6C] & 31), 512, ok_exfat, size);
		snprintf(fr->next, sizeof(fr->next), "run 'fsck.exfat -n %s' to check, 'fsck.exfat %s' to repair", out, out);
		return;
	}
	if (have && ok_fat(bs)) {
		fr->type = "FAT";
		check_item(fr, fd, m, "boot sector", 0, 512, ok_fat, size);
		if (le16(bs + 0x32))
			check_item(fr, fd, m, "backup boot sector", (uint64_t)le16(bs + 0x32) * le16(bs + 11), 512, ok_fat, size);
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

int cmd_repair(int argc, char **argv)
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
	struct cli_unlock u;
	bool assume_eow = false, retry_bad = false;
	const char *out = NULL, *kpath = NULL, *mpath = NULL, *resume = NULL, *source;
	bool force = false, json = false;
	int retries = 3, c, rc, r;
	bd_volume *v = NULL;
	bd_salvage *salv = NULL;
	uint8_t *kp = NULL, *buf = NULL;
	size_t kplen = 0;
	struct bd_salvage_source src;
	struct map map = { 0 };
	struct output o = { .fd = -1 };
	struct cli_output cout = { .fd = -1 };
	char mapname[4096], g[39];
	const char *audit_path = NULL;
	struct cli_audit audit = { 0 };

	cli_unlock_init(&u);
	while ((c = getopt_long(argc, argv, "o:m:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'm': mpath = optarg; break;
		case 'f': force = true; break;
		case OPT_KP: kpath = optarg; break;
		case OPT_RESUME: resume = optarg; break;
		case OPT_RETRIES: retries = atoi(optarg); break;
		case OPT_JSON: json = true; break;
		case OPT_EOW: assume_eow = true; break;
		case OPT_RETRY_BAD: retry_bad = true; break;
		case OPT_AUDIT: audit_path = optarg; break;
		case 'h': usage(stdout); cli_unlock_free(&u); return EXIT_OK;
		default:
			if ((rc = cli_unlock_getopt(&u, c, optarg, usage)))
				return rc;
			break;
		}
	}
	if (optind != argc - 1 || !out) {
		if (!out)
			cli_error("repair: give the output with -o OUTPUT");
		return cli_usage_error(&u, usage);
	}
	if (retries < 1 || retries > 100)
		retries = 3;
	source = argv[optind];
	if ((rc = cli_audit_open(&audit, audit_path, argc, argv))) {
		cli_unlock_free(&u);
		return rc;
	}
	cli_audit_input(&audit, source, NULL);
	signal(SIGINT, on_signal);   /* from here on ctrl-C leaves a consistent map */
	signal(SIGTERM, on_signal);
	if (kpath && (rc = rcli_load_file(kpath, 16u << 20, &kp, &kplen)))
		goto out;

	/* the output must not be the source, checked before anything is opened for writing */
	struct stat si, so;
	bool out_exists = !stat(out, &so);
	if (stat(source, &si)) {
		cli_error("cannot open %s: %s", source, strerror(errno));
		rc = EXIT_IO;
		goto out;
	}
	if (out_exists && ((so.st_dev == si.st_dev && so.st_ino == si.st_ino) ||
			   (S_ISBLK(so.st_mode) && S_ISBLK(si.st_mode) && blk_overlap(so.st_rdev, si.st_rdev)))) {
		cli_error("the output %s is the source or shares sectors with it: refusing (repair never writes "
			  "to the source)", out);
		rc = EXIT_REFUSED;
		goto out;
	}

	/* a secret typed once serves every metadata source tried */
	if (!rcli_has_secret(&u) && !u.no_prompt) {
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
				u.recovery_password = s;
			else
				u.password = s;
			s = NULL;
		}
		if (s)
			cli_secret_free(s, strlen(s));
	}

	/* salvage trusts what cannot be verified (damaged metadata, a raw FVEK nothing confirms): the
	 * report and a warning say so when that happened */
	struct bd_salvage_opts sopt = BD_SALVAGE_OPTS_INIT(.offset = u.offset, .key_package = kp, .key_package_len = kplen,
					.assume_eow = assume_eow, .ignore_integrity = 1);
	int last_rc = 0;
	if ((r = bd_salvage_new(&sopt, &salv))) {
		rc = cli_fail(r, source);
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		struct bd_io *io;
		rc = rcli_open_io(source, false, &io);
		if (rc)
			goto out;
		r = bd_salvage_next(salv, io, &v, &src);
		if (r) {
			if (attempt && r == BD_ERR_NOT_BITLOCKER) {
				cli_error("no metadata source that the secret unlocks is left");
				rc = last_rc;
			} else {
				rc = cli_fail(r, source);
			}
			goto out;
		}
		if (!cli_quiet)
			fprintf(stderr, "bdkit: trying %s\n", src.text);
		rc = cli_unlock_volume(v, &u);
		if (!rc && (r = bd_salvage_verify(v, kp, kplen)))
			rc = cli_fail(r, "unlock");
		if (!rc)
			break;
		if (src.kind == 2 && (rc == EXIT_WRONG_KEY || rc == EXIT_NO_PROTECTOR)) {
			rc = rcli_kp_mismatch(v);
			goto out;
		}
		bd_volume_close(v);
		v = NULL;
		last_rc = rc;
		if (rc != EXIT_WRONG_KEY && rc != EXIT_NO_PROTECTOR)
			goto out;
	}

	struct bd_info info;
	bd_volume_info(v, &info);
	cli_guid(info.guid, g, true);
	cli_audit_input(&audit, source, v);
	cli_audit_volume(&audit, v);
	cli_audit_set(&audit, "metadata_source", src.text);
	if (kpath)
		cli_audit_set(&audit, "key_package", kpath);
	cli_audit_set(&audit, "integrity", integrity_text(&info));
	const char *integrity = integrity_text(&info);
	if (info.unverified)
		cli_warn("salvaging unverified: %s", integrity);
	/* beyond the input only what the decrypted file system or verified metadata says (not a
	 * key package's or a CRC-only claim), and that tail costs one map entry, not a loop */
	uint64_t readable = bd_volume_size(v), size = bd_volume_full_size(v);
	uint32_t ss = bd_volume_sector_size(v);
	if (kp) {
		struct bd_keypackage_info ki;
		if (!bd_keypackage_parse(kp, kplen, &ki) && !memcmp(ki.guid, info.guid, 16) && ki.volume_size > size)
			cli_warn("the key package says the volume has %llu bytes; only %llu are confirmed (by the "
				 "input, the decrypted file system or verified metadata) and written",
				 (unsigned long long)ki.volume_size, (unsigned long long)size);
	}
	if (size > readable && !cli_quiet)
		cli_warn("the input ends after %llu of the volume's %llu bytes: the rest is written as zeros and "
			 "reported", (unsigned long long)readable, (unsigned long long)size);

	/* output: a new file (O_EXCL|O_NOFOLLOW, 0600), --force removes an old one first, --resume
	 * reopens ours; a block device is opened exclusively and must be large enough */
	if (resume && !out_exists) {
		cli_error("--resume: the output %s of the interrupted run does not exist", out);
		rc = EXIT_USAGE;
		goto out;
	}
	if (out_exists && !S_ISREG(so.st_mode) && !S_ISBLK(so.st_mode)) {
		cli_error("%s is neither a regular file nor a block device", out);
		rc = EXIT_USAGE;
		goto out;
	}
	rc = cli_output_open(&cout, out, force, CLI_OUT_IN_PLACE | (resume ? CLI_OUT_RESUME : 0));
	if (rc)
		goto out;
	o.fd = cout.fd;
	o.regular = cout.regular;
	o.fresh = o.regular && !resume;
	if (!o.regular) {
		uint64_t bsz = 0;
		if (ioctl(o.fd, BLKGETSIZE64, &bsz) == 0 && bsz < size) {
			cli_error("%s holds %llu bytes; the volume needs %llu: refusing a smaller output", out,
				  (unsigned long long)bsz, (unsigned long long)size);
			rc = EXIT_REFUSED;
			goto out;
		}
	}
	if (o.regular && ((!resume && ftruncate(o.fd, 0)) || ftruncate(o.fd, (off_t)size))) {
		cli_error("cannot size %s to %llu bytes: %s", out, (unsigned long long)size, strerror(errno));
		rc = EXIT_FAILURE_OTHER;
		goto out;
	}

	/* map */
	if (resume) {
		mpath = resume;
		rc = map_load(&map, resume, g);
		if (rc)
			goto out;
		if (retry_bad)
			for (size_t i = 0; i < map.n; i++)
				if (map.r[i].st == '-')
					map.r[i].st = '?';
		if (map.size != size) {
			cli_error("%s records a volume of %llu bytes; this one is %llu", resume,
				  (unsigned long long)map.size, (unsigned long long)size);
			rc = EXIT_REFUSED;
			goto out;
		}
	} else {
		map.size = size;
		map_push(&map, 0, size, '?');
	}
	if (!mpath) {
		snprintf(mapname, sizeof(mapname), o.regular ? "%s.map" : "bdkit-repair.map", out);
		mpath = mapname;
	}
	if (map_save(&map, mpath, source, out, g, 0)) {
		cli_error("cannot write the map file %s: %s", mpath, strerror(errno));
		rc = EXIT_FAILURE_OTHER;
		goto out;
	}

	buf = malloc(CHUNK);
	if (!buf) {
		rc = EXIT_FAILURE_OTHER;
		goto out;
	}
	uint64_t stop_after = 0, done_now = 0, todo = 0;
#ifdef BDKIT_TEST_HOOKS
	/* test builds only (bdkit-test): stop as if interrupted once this much is done */
	const char *stop_env = getenv("BDKIT_REPAIR_STOP_AFTER");
	if (stop_env && cli_parse_size(stop_env, &stop_after))
		stop_after = 0;
#endif
	for (size_t i = 0; i < map.n; i++)
		if (map.r[i].st == '?')
			todo += map.r[i].len;
	struct cli_progress prog;
	cli_progress_start(&prog, "repair", todo);
	double last_save = cli_now();
	uint64_t cur = 0;
	rc = EXIT_OK;
	for (;;) {
		/* next untried range */
		size_t k;
		for (k = 0; k < map.n && map.r[k].st != '?'; k++)
			;
		if (k == map.n)
			break;
		if (interrupted || (stop_after && done_now >= stop_after)) {
			interrupted = 1;
			break;
		}
		uint64_t off = map.r[k].pos;
		if (off >= readable && o.regular) {
			/* beyond the input: a hole (the file is sized already) and one map entry */
			uint64_t rl = map.r[k].len;
			if (!o.fresh && fallocate(o.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
						  (off_t)rl) && errno != EOPNOTSUPP) {
				cli_error("writing %s at %llu failed: %s", out, (unsigned long long)off, strerror(errno));
				rc = EXIT_IO;
				break;
			}
			map_set(&map, off, rl, '-');
			cur = off + rl;
			done_now += rl;
			continue;
		}
		size_t len = (size_t)MINU((uint64_t)CHUNK - off % CHUNK, map.r[k].len);
		struct bad bad[64];
		int nbad = 0;
		memset(buf, 0, len);
		if (off >= readable) {
			bad[nbad++] = (struct bad){ off, len, 1 };
		} else {
			size_t rl = (size_t)MINU((uint64_t)len, readable - off);
			ssize_t n = -1;
			n = bd_volume_pread(v, buf, rl, off);
			if (n != (ssize_t)rl) {
				/* sector by sector */
				for (size_t s = 0; s < rl; s += ss) {
					uint32_t sl = (uint32_t)MINU((size_t)ss, rl - s);
					r = read_sector(v, buf + s, sl, off + s, retries);
					if (!r)
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
		}
		if (emit(&o, buf, len, off)) {
			cli_error("writing %s at %llu failed: %s", out, (unsigned long long)off, strerror(errno));
			rc = EXIT_IO;
			break;
		}
		map_set(&map, off, len, '+');
		for (int b = 0; b < nbad; b++)
			map_set(&map, bad[b].pos, bad[b].len, '-');
		cur = off + len;
		done_now += len;
		cli_progress_update(&prog, done_now);
		if (cli_now() - last_save > 1.0) {
			if (fdatasync(o.fd) && errno != EINVAL) {
				cli_error("syncing %s failed: %s", out, strerror(errno));
				rc = EXIT_IO;
				break;
			}
			map_save(&map, mpath, source, out, g, cur);
			last_save = cli_now();
		}
	}
	if (fsync(o.fd) && errno != EINVAL && !rc) {
		cli_error("syncing %s failed: %s", out, strerror(errno));
		rc = EXIT_IO;
	}
	if (map_save(&map, mpath, source, out, g, cur)) {
		cli_error("cannot write the map file %s: %s", mpath, strerror(errno));
		rc = rc ? rc : EXIT_FAILURE_OTHER;
	}
	if (rc)
		goto out;
	if (interrupted) {
		if (prog.enabled)
			fputc('\n', stderr);
		cli_error("interrupted; the map %s records what is done: continue with "
			  "'bdkit repair %s -o %s --resume %s'", mpath, source, out, mpath);
		rc = EXIT_INTERRUPTED;
		goto out;
	}
	cli_progress_done(&prog, done_now);

	/* report */
	struct fsrep fr;
	uint64_t bad_bytes = 0;
	fs_report(o.fd, &map, size, ss, out, &fr);
	for (size_t i = 0; i < map.n; i++)
		if (map.r[i].st == '-') {
			bad_bytes += map.r[i].len;
			cli_audit_unreadable(&audit, map.r[i].pos, map.r[i].len);
		}
	if (audit.path) {
		uint8_t sha[32];
		uint64_t got = 0;
		if (cli_sha256_file(out, size, sha, &got) || got != size) {
			cli_error("cannot hash the output %s for the audit record", out);
			rc = EXIT_FAILURE_OTHER;
			goto out;
		}
		cli_audit_output(&audit, out, size, sha, "the output as read back after writing (unreadable ranges as zeros)");
		cli_audit_set(&audit, "map", mpath);
	}
	FILE *rep = json ? stdout : stderr;
	if (json) {
		printf("{\"source\":");
		cli_json_string(stdout, source);
		printf(",\"output\":");
		cli_json_string(stdout, out);
		printf(",\"map\":");
		cli_json_string(stdout, mpath);
		printf(",\"metadata\":");
		cli_json_string(stdout, src.text);
		printf(",\"metadata_kind\":\"%s\",\"volume_guid\":\"%s\",\"integrity_verified\":%s,\"integrity\":",
		       src.kind == 0 ? "header" : src.kind == 1 ? "scan" : "key-package", g,
		       info.unverified ? "false" : "true");
		cli_json_string(stdout, integrity);
		printf(",\"method\":");
		cli_json_string(stdout, info.method_name);
		printf(",\"size\":%llu,\"input_bytes\":%llu,\"damaged_bytes\":%llu,\"damaged\":[",
		       (unsigned long long)size, (unsigned long long)readable, (unsigned long long)bad_bytes);
		int first = 1;
		for (size_t i = 0; i < map.n; i++)
			if (map.r[i].st == '-') {
				printf("%s{\"offset\":%llu,\"length\":%llu,\"reason\":\"%s\"}", first ? "" : ",",
				       (unsigned long long)map.r[i].pos, (unsigned long long)map.r[i].len,
				       map.r[i].pos >= readable ? "beyond the end of the input" : "unreadable");
				first = 0;
			}
		printf("],\"filesystem\":{\"type\":\"%s\",\"structures\":[", fr.type);
		for (int i = 0; i < fr.n; i++)
			printf("%s{\"name\":\"%s\",\"offset\":%llu,\"state\":\"%s\"}", i ? "," : "", fr.item[i],
			       (unsigned long long)fr.off[i], state_text(fr.state[i]));
		printf("]},\"next\":");
		cli_json_string(stdout, fr.next);
		printf("}\n");
	} else {
		fprintf(rep, "Repair report\n  Source:       %s\n  Output:       %s (%llu bytes)\n  Map file:     %s\n"
			"  Volume:       %s, %s\n  Metadata:     %s\n  Integrity:    %s\n", source, out,
			(unsigned long long)size, mpath, g, info.method_name, src.text, integrity);
		if (!bad_bytes)
			fprintf(rep, "  Damaged:      none: every sector was read and decrypted\n");
		else
			fprintf(rep, "  Damaged:      %llu bytes, written as zeros (output offsets):\n",
				(unsigned long long)bad_bytes);
		for (size_t i = 0; i < map.n; i++)
			if (map.r[i].st == '-')
				fprintf(rep, "    %llu +%llu  %s\n", (unsigned long long)map.r[i].pos,
					(unsigned long long)map.r[i].len,
					map.r[i].pos >= readable ? "beyond the end of the input" : "unreadable");
		fprintf(rep, "  File system:  %s\n", fr.type);
		for (int i = 0; i < fr.n; i++)
			fprintf(rep, "    %-20s at %-12llu %s\n", fr.item[i], (unsigned long long)fr.off[i],
				state_text(fr.state[i]));
		fprintf(rep, "  Next:         %s\n", fr.next);
	}
out:
	if (cout.fd >= 0 && close(cout.fd) && !rc) {
		cli_error("closing %s failed: %s", out, strerror(errno));
		rc = EXIT_FAILURE_OTHER;
	}
	cout.fd = -1;
	cli_output_abort(&cout);
	free(map.r);
	free(buf);
	free(kp);
	int arc = cli_audit_close(&audit, rc);
	bd_volume_close(v);
	bd_salvage_free(salv);
	cli_unlock_free(&u);
	return rc ? rc : arc;
}
