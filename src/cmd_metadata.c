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

int cmd_metadata(int argc, char **argv)
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
	struct cli_unlock u;
	const char *out = NULL, *kpath = NULL, *bpath = NULL, *sub;
	bool force = false, json = false;
	bd_volume *v = NULL;
	bd_salvage *salv = NULL;
	uint8_t *kp = NULL, *buf = NULL;
	size_t kplen = 0, len = 0;
	struct bd_salvage_source src;
	int c, rc, r, nargs;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	argc--;
	argv++;
	cli_unlock_init(&u);
	while ((c = getopt_long(argc, argv, "o:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'f': force = true; break;
		case OPT_JSON: json = true; break;
		case OPT_KP: kpath = optarg; break;
		case OPT_BACKUP: bpath = optarg; break;
		case 'h': usage(stdout); cli_unlock_free(&u); return EXIT_OK;
		default:
			if ((rc = cli_unlock_getopt(&u, c, optarg, usage)))
				return rc;
			break;
		}
	}
	nargs = !strcmp(sub, "restore") ? 2 : 1;
	if (argc - optind != nargs)
		return cli_usage_error(&u, usage);
	const char *path = argv[optind];
	if (strcmp(sub, "check") && strcmp(sub, "repair") && strcmp(sub, "backup") && strcmp(sub, "restore")) {
		cli_error("metadata: unknown subcommand '%s' (check, repair, backup, restore)", sub);
		rc = EXIT_USAGE;
		goto out;
	}
	if (kpath && (rc = rcli_load_file(kpath, 16u << 20, &kp, &kplen)))
		goto out;

	if (!strcmp(sub, "restore")) {
		struct bd_io *io;
		struct bd_keypackage_info in;
		rc = rcli_load_file(argv[optind + 1], 16u << 20, &buf, &len);
		if (rc)
			goto out;
		r = bd_keypackage_parse(buf, len, &in);
		if (r) {
			rc = cli_fail(r, argv[optind + 1]);
			goto out;
		}
		rc = rcli_open_io(path, true, &io);
		if (rc)
			goto out;
		uint64_t off = u.offset >= 0 ? (uint64_t)u.offset : in.volume_offset;
		r = bd_metadata_restore(io, off, buf, len, force);
		bd_io_close(io);
		if (r) {
			rc = cli_fail(r, "metadata restore");
			goto out;
		}
		if (!cli_quiet)
			fprintf(stderr, "bdkit: metadata of %s restored from %s\n", path, argv[optind + 1]);
		rc = EXIT_OK;
		goto out;
	}

	/* open, tolerating damage; with a key package, the first source that unlocks */
	struct bd_salvage_opts so = BD_SALVAGE_OPTS_INIT(.offset = u.offset, .writable = !strcmp(sub, "repair"),
				      .key_package = kp, .key_package_len = kplen,
				      .ignore_integrity = u.ignore_integrity);
	bool secret = rcli_has_secret(&u);
	if (kp && !strcmp(sub, "repair") && !secret) {
		cli_error("metadata repair from a key package needs one of the volume's secrets, to prove the "
			  "package belongs to it (e.g. --recovery-password-file)");
		rc = EXIT_NO_PROTECTOR;
		goto out;
	}
	if ((r = bd_salvage_new(&so, &salv))) {
		rc = cli_fail(r, path);
		goto out;
	}
	for (;;) {
		struct bd_io *io;
		rc = rcli_open_io(path, so.writable, &io);
		if (rc)
			goto out;
		r = bd_salvage_next(salv, io, &v, &src);
		if (r) {
			rc = cli_fail(r, path);
			goto out;
		}
		if (!secret)
			break;
		rc = cli_unlock_volume(v, &u);
		if (!rc && src.kind != 0 && (r = bd_salvage_verify(v, kp, kplen))) {
			rc = cli_fail(r, "unlock");
		}
		if (!rc)
			break;
		if (src.kind == 2 && (rc == EXIT_WRONG_KEY || rc == EXIT_NO_PROTECTOR)) {
			rc = rcli_kp_mismatch(v);
			goto out;
		}
		bd_volume_close(v);
		v = NULL;
		if (rc != EXIT_WRONG_KEY && rc != EXIT_NO_PROTECTOR)
			goto out;
	}

	if (!strcmp(sub, "check")) {
		bool healthy;
		report(v, &src, json, &healthy);
		rc = healthy ? EXIT_OK : EXIT_CORRUPT;
	} else if (!strcmp(sub, "backup")) {
		if (!out) {
			cli_error("metadata backup: give the output with -o FILE");
			rc = EXIT_USAGE;
			goto out;
		}
		r = bd_metadata_backup(v, &buf, &len);
		if (r) {
			rc = cli_fail(r, "metadata backup");
			goto out;
		}
		rc = cli_write_file(out, buf, len, force);
		if (!rc && !cli_quiet)
			fprintf(stderr, "bdkit: metadata backup written to %s (%zu bytes)\n", out, len);
	} else {
		struct bd_info in;
		char g[39], name[128];
		unsigned done;
		bool healthy;
		bd_volume_info(v, &in);
		cli_guid(in.guid, g, true);
		if (!bpath) {
			char ts[32];
			time_t now = time(NULL);
			strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", gmtime(&now));
			snprintf(name, sizeof(name), "bdkit-metadata-backup-%.36s-%s.bdkp", g + 1, ts);
			bpath = name;
		}
		r = bd_metadata_backup(v, &buf, &len);
		if (r) {
			rc = cli_fail(r, "metadata backup");
			goto out;
		}
		rc = cli_write_file(bpath, buf, len, force);
		if (rc) {
			cli_error("nothing was changed: the backup could not be written");
			goto out;
		}
		if (!cli_quiet)
			fprintf(stderr, "bdkit: backup of the metadata as it was: %s\n", bpath);
		r = bd_metadata_repair(v, kp, kplen, &done);
		if (r) {
			rc = cli_fail(r, "metadata repair");
			cli_error("copies already rewritten stay valid; the backup %s holds the state before", bpath);
			goto out;
		}
		if (!cli_quiet) {
			if (!done)
				fprintf(stderr, "bdkit: nothing to rewrite\n");
			for (int i = 0; i < 4; i++)
				if (done & (1u << i))
					fprintf(stderr, i < 3 ? "bdkit: metadata copy %d rewritten and verified\n" :
						"bdkit: volume header rewritten and verified\n", i + 1);
		}
		report(v, &src, json, &healthy);
		rc = healthy ? EXIT_OK : EXIT_CORRUPT;
	}
out:
	free(kp);
	free(buf);
	bd_volume_close(v);
	bd_salvage_free(salv);
	cli_unlock_free(&u);
	return rc;
}
