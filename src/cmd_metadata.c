/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit metadata: check the three metadata copies, repair them in place, back them up and restore. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "repair_cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit metadata check   [OPTIONS] VOLUME\n"
		   "       bdkit metadata repair  [OPTIONS] VOLUME [--key-package FILE] [--backup FILE]\n"
		   "       bdkit metadata backup  [OPTIONS] VOLUME -o FILE\n"
		   "       bdkit metadata restore [OPTIONS] VOLUME FILE\n"
		   "check reports the volume header and each metadata copy (signature, CRC32, and with a secret\n"
		   "the VMK-keyed SHA-256; a copy that passes but differs from the one in use is 'stale').\n"
		   "Exit 0 when all is healthy, 5 when something is damaged.\n"
		   "repair rewrites damaged copies from a valid one, or from a key package when none is left\n"
		   "(a secret is then required, to prove the package fits the volume); the header is restored\n"
		   "from the key package when it is damaged. A backup of the header and the three areas as\n"
		   "they are is written first (default: ./bdkit-metadata-backup-<GUID>-<time>.bdkp); then one\n"
		   "copy at a time is written, synced, read back and compared.\n"
		   "backup saves the header sector and the three areas; restore puts such a backup back.\n\n"
		   "  -o, --output FILE          backup: where to write\n"
		   "      --backup FILE          repair: where to write the backup taken first\n"
		   "      --key-package FILE     a key package (or metadata backup) of this volume\n"
		   "  -f, --force                overwrite an existing output / restore without checks\n"
		   "      --json                 check: machine-readable report\n"
		   "  -h, --help                 this help\n\n%s", cli_unlock_help);
}

static const char *hdr_text(int s)
{
	switch (s) {
	case 0: return "ok";
	case 1: return "unreadable";
	case 2: return "damaged (no BitLocker volume header)";
	case 3: return "names other metadata offsets than the metadata";
	}
	return "unknown";
}

static int report(bd_volume *v, const struct bd_salvage_source *src, bool json, bool *healthy)
{
	struct bd_meta_health h;
	struct bd_info in;
	char g[39];

	bd_metadata_health(v, &h);
	bd_volume_info(v, &in);
	cli_guid(in.guid, g, true);
	*healthy = h.header_ok;
	for (int i = 0; i < 3; i++)
		if (h.copy_status[i] != BD_COPY_OK || h.copy_stale[i])
			*healthy = false;
	if (json) {
		printf("{\"volume_guid\":\"%s\",\"metadata_source\":", g);
		cli_json_string(stdout, src->text);
		printf(",\"header\":");
		cli_json_string(stdout, hdr_text(h.header_status));
		printf(",\"hash_checked\":%s,\"copies\":[", h.hash_checked ? "true" : "false");
		for (int i = 0; i < 3; i++) {
			printf("%s{\"offset\":%llu,\"status\":", i ? "," : "", (unsigned long long)h.copy_offset[i]);
			cli_json_string(stdout, h.copy_stale[i] ? "stale" : bd_copy_status_name(h.copy_status[i]));
			printf("}");
		}
		printf("],\"healthy\":%s}\n", *healthy ? "true" : "false");
		return 0;
	}
	printf("Volume:        %s (%s)\n", g, in.method_name);
	printf("Metadata from: %s\n", src->text);
	printf("Volume header: %s\n", hdr_text(h.header_status));
	for (int i = 0; i < 3; i++)
		printf("Copy %d at %-10llu %s%s\n", i + 1, (unsigned long long)h.copy_offset[i],
		       h.copy_stale[i] ? "stale (valid, but differs from the copy in use)" :
		       bd_copy_status_name(h.copy_status[i]),
		       h.copy_status[i] == BD_COPY_OK && !h.copy_stale[i] && !h.hash_checked ? " (CRC32; give a secret "
		       "to check the SHA-256 too)" : "");
	bool stale = h.copy_stale[0] || h.copy_stale[1] || h.copy_stale[2];
	printf("Verdict:       %s\n", *healthy ? "healthy" : stale && !h.hash_checked ?
	       "damaged: the copies disagree; give a secret so that the SHA-256 tells which is genuine" :
	       "damaged: 'bdkit metadata repair' can rewrite it");
	return 0;
}

/* One run: the subcommand, its options, and what it opened. */
struct meta {
	struct cli_unlock u;
	const char *out, *kpath, *bpath, *sub, *path;
	bool force, json;
	bd_volume *v;
	bd_salvage *salv;
	uint8_t *kp, *buf;
	size_t kplen, len;
	struct bd_salvage_source src;
};

/* The subcommand and options: -1 to go on, else the exit code to return. */
static int parse_options(struct meta *M, int argc, char **argv)
{
	enum { OPT_JSON = OPT_CLI_LAST + 1, OPT_KP, OPT_BACKUP };
	static const struct option opts[] = {
		{ "output", required_argument, 0, 'o' },
		{ "force", no_argument, 0, 'f' },
		{ "json", no_argument, 0, OPT_JSON },
		{ "key-package", required_argument, 0, OPT_KP },
		{ "backup", required_argument, 0, OPT_BACKUP },
		{ "help", no_argument, 0, 'h' },
		CLI_UNLOCK_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	int c, rc, nargs;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	M->sub = argv[1];
	argc--;
	argv++;
	cli_unlock_init(&M->u);
	while ((c = getopt_long(argc, argv, "o:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': M->out = optarg; break;
		case 'f': M->force = true; break;
		case OPT_JSON: M->json = true; break;
		case OPT_KP: M->kpath = optarg; break;
		case OPT_BACKUP: M->bpath = optarg; break;
		case 'h': usage(stdout); cli_unlock_free(&M->u); return EXIT_OK;
		default:
			if ((rc = cli_unlock_getopt(&M->u, c, optarg, usage)))
				return rc;
			break;
		}
	}
	nargs = !strcmp(M->sub, "restore") ? 2 : 1;
	if (argc - optind != nargs)
		return cli_usage_error(&M->u, usage);
	M->path = argv[optind];
	return -1;
}

/* restore: write a key package's metadata back (its volume offset unless --offset). */
static int restore(struct meta *M, const char *file)
{
	struct bd_io *io;
	struct bd_keypackage_info in;
	int rc, r;

	rc = rcli_load_file(file, 16u << 20, &M->buf, &M->len);
	if (rc)
		return rc;
	r = bd_keypackage_parse(M->buf, M->len, &in);
	if (r)
		return cli_fail(r, file);
	rc = rcli_open_io(M->path, true, &io);
	if (rc)
		return rc;
	uint64_t off = M->u.offset >= 0 ? (uint64_t)M->u.offset : in.volume_offset;
	r = bd_metadata_restore(io, off, M->buf, M->len, M->force);
	bd_io_close(io);
	if (r)
		return cli_fail(r, "metadata restore");
	if (!cli_quiet)
		fprintf(stderr, "bdkit: metadata of %s restored from %s\n", M->path, file);
	return EXIT_OK;
}

/* Open, tolerating damage; with a key package, the first source that unlocks. 0 or an exit code. */
static int open_volume(struct meta *M)
{
	struct bd_salvage_opts so = BD_SALVAGE_OPTS_INIT(.offset = M->u.offset, .writable = !strcmp(M->sub, "repair"),
				      .key_package = M->kp, .key_package_len = M->kplen,
				      .ignore_integrity = M->u.ignore_integrity);
	bool secret = rcli_has_secret(&M->u);
	int r;

	if (M->kp && !strcmp(M->sub, "repair") && !secret) {
		cli_error("metadata repair from a key package needs one of the volume's secrets, to prove the "
			  "package belongs to it (e.g. --recovery-password-file)");
		return EXIT_NO_PROTECTOR;
	}
	if ((r = bd_salvage_new(&so, &M->salv)))
		return cli_fail(r, M->path);
	struct rcli_salvage rs = { .path = M->path, .writable = so.writable, .u = secret ? &M->u : NULL,
				   .kp = M->kp, .kplen = M->kplen };
	return rcli_salvage_unlock(M->salv, &rs, &M->v, &M->src);
}

/* backup: the metadata as it is, to -o FILE. */
static int backup(struct meta *M)
{
	int rc, r;

	if (!M->out) {
		cli_error("metadata backup: give the output with -o FILE");
		return EXIT_USAGE;
	}
	r = bd_metadata_backup(M->v, &M->buf, &M->len);
	if (r)
		return cli_fail(r, "metadata backup");
	rc = cli_write_file(M->out, M->buf, M->len, M->force);
	if (!rc && !cli_quiet)
		fprintf(stderr, "bdkit: metadata backup written to %s (%zu bytes)\n", M->out, M->len);
	return rc;
}

/* repair: back up the metadata as it was, rewrite the damaged copies, report. */
static int repair(struct meta *M)
{
	struct bd_info in;
	char g[39], name[128];
	const char *bpath = M->bpath;
	unsigned done;
	bool healthy;
	int rc, r;

	bd_volume_info(M->v, &in);
	cli_guid(in.guid, g, true);
	if (!bpath) {
		char ts[32];
		time_t now = time(NULL);
		strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", gmtime(&now));
		snprintf(name, sizeof(name), "bdkit-metadata-backup-%.36s-%s.bdkp", g + 1, ts);
		bpath = name;
	}
	r = bd_metadata_backup(M->v, &M->buf, &M->len);
	if (r)
		return cli_fail(r, "metadata backup");
	rc = cli_write_file(bpath, M->buf, M->len, M->force);
	if (rc) {
		cli_error("nothing was changed: the backup could not be written");
		return rc;
	}
	if (!cli_quiet)
		fprintf(stderr, "bdkit: backup of the metadata as it was: %s\n", bpath);
	r = bd_metadata_repair(M->v, M->kp, M->kplen, &done);
	if (r) {
		rc = cli_fail(r, "metadata repair");
		cli_error("copies already rewritten stay valid; the backup %s holds the state before", bpath);
		return rc;
	}
	if (!cli_quiet) {
		if (!done)
			fprintf(stderr, "bdkit: nothing to rewrite\n");
		for (int i = 0; i < 4; i++)
			if (done & (1u << i))
				fprintf(stderr, i < 3 ? "bdkit: metadata copy %d rewritten and verified\n" :
					"bdkit: volume header rewritten and verified\n", i + 1);
	}
	report(M->v, &M->src, M->json, &healthy);
	return healthy ? EXIT_OK : EXIT_CORRUPT;
}

static int run(struct meta *M, char **argv)
{
	const char *sub = M->sub;
	bool healthy;
	int rc;

	if (strcmp(sub, "check") && strcmp(sub, "repair") && strcmp(sub, "backup") && strcmp(sub, "restore")) {
		cli_error("metadata: unknown subcommand '%s' (check, repair, backup, restore)", sub);
		return EXIT_USAGE;
	}
	if (M->kpath && (rc = rcli_load_file(M->kpath, 16u << 20, &M->kp, &M->kplen)))
		return rc;
	if (!strcmp(sub, "restore"))
		return restore(M, argv[optind + 2]);
	if ((rc = open_volume(M)))
		return rc;
	if (!strcmp(sub, "check")) {
		report(M->v, &M->src, M->json, &healthy);
		return healthy ? EXIT_OK : EXIT_CORRUPT;
	}
	if (!strcmp(sub, "backup"))
		return backup(M);
	return repair(M);
}

int cmd_metadata(int argc, char **argv)
{
	struct meta M = { 0 };
	int rc = parse_options(&M, argc, argv);

	if (rc >= 0)
		return rc;
	rc = run(&M, argv);
	free(M.kp);
	free(M.buf);
	bd_volume_close(M.v);
	bd_salvage_free(M.salv);
	cli_unlock_free(&M.u);
	return rc;
}
