/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit keypackage: export a key package from a working volume, or show one. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repair_cli.h"

/* ---- keypackage ---- */

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit keypackage export [OPTIONS] VOLUME -o FILE [--fvek-out KEY]\n"
		   "       bdkit keypackage info [--json] FILE\n"
		   "export writes a key package: the volume's GUID, geometry, method, volume header and a full\n"
		   "valid metadata block with its protectors. It unlocks only with one of the volume's own\n"
		   "secrets and lets 'bdkit repair' and 'bdkit metadata repair' work when every metadata copy\n"
		   "is gone. The volume is unlocked first so that the block's SHA-256 is verified.\n"
		   "info shows a key package, a bdkit metadata backup, or a foreign file (e.g. a Microsoft\n"
		   ".KPG) in which a metadata block can be found. The format is in bdkit-keypackage(1).\n\n"
		   "  -o, --output FILE   where to write the package\n"
		   "      --fvek-out KEY  also (or only) write the FVEK for another reader (mode 0600)\n"
		   "      --fvek-format F cryptsetup (default: the raw volume key for cryptsetup open\n"
		   "                      --volume-key-file), dislocker (66 bytes for dislocker -k),\n"
		   "                      hex (for bdkit --fvek)\n"
		   "  -f, --force         overwrite FILE / KEY\n"
		   "      --json          machine-readable info\n"
		   "  -h, --help          this help\n\n%s", cli_unlock_help);
}

static void print_info(const uint8_t *buf, size_t len, const struct bd_keypackage_info *in, bool json)
{
	char g[39], t[40];
	const char *fmt = in->format == BD_KP_BDKIT ? "bdkit key package" :
			  in->format == BD_KP_BACKUP ? "bdkit metadata backup" : "foreign file with a metadata block";

	cli_guid(in->guid, g, true);
	if (json) {
		printf("{\"format\":");
		cli_json_string(stdout, fmt);
		printf(",\"version\":%d,\"volume_guid\":\"%s\",\"method\":", in->version, g);
		cli_json_string(stdout, in->method_name);
		printf(",\"volume_size\":%llu,\"sector_size\":%u,\"volume_offset\":%llu,\"block_offset\":%llu,"
		       "\"copy_offsets\":[%llu,%llu,%llu],\"has_header\":%s,\"description\":",
		       (unsigned long long)in->volume_size, in->sector_size, (unsigned long long)in->volume_offset,
		       (unsigned long long)in->block_offset, (unsigned long long)in->copy_offset[0],
		       (unsigned long long)in->copy_offset[1], (unsigned long long)in->copy_offset[2],
		       in->has_header ? "true" : "false");
		cli_json_string(stdout, in->description);
		if (in->format == BD_KP_FOREIGN)
			printf(",\"found_at\":%llu", (unsigned long long)in->found_at);
		printf(",\"protectors\":[");
	} else {
		printf("Format:        %s", fmt);
		if (in->format != BD_KP_FOREIGN)
			printf(" (version %d)", in->version);
		else
			printf(" (block at byte %llu of the file)", (unsigned long long)in->found_at);
		printf("\nVolume GUID:   %s\n", g);
		char safe[1024];
		if (in->description[0])
			printf("Description:   %s\n", cli_safe(in->description, safe, sizeof(safe)));
		printf("Method:        %s (0x%04x)\n", in->method_name, in->method);
		if (in->volume_size)
			printf("Volume size:   %llu bytes\n", (unsigned long long)in->volume_size);
		if (in->sector_size)
			printf("Sector size:   %u\n", in->sector_size);
		if (in->created) {
			bd_filetime_format(in->created, t, sizeof(t));
			printf("Written:       %s\n", t);
		}
		printf("Metadata:      copies at %llu, %llu, %llu (block taken from %llu)\n",
		       (unsigned long long)in->copy_offset[0], (unsigned long long)in->copy_offset[1],
		       (unsigned long long)in->copy_offset[2], (unsigned long long)in->block_offset);
		printf("Volume header: %s\n", in->has_header ? "included" : "not included");
		if (in->format == BD_KP_BACKUP)
			printf("Raw areas:     %d\n", in->n_areas);
		printf("Protectors (%zu):\n", in->n_protectors);
	}
	for (size_t i = 0; i < in->n_protectors; i++) {
		struct bd_protector_info p;
		if (bd_keypackage_protector(buf, len, i, &p))
			continue;
		cli_guid(p.guid, g, true);
		if (json) {
			printf("%s{\"type\":", i ? "," : "");
			cli_json_string(stdout, p.type_name);
			printf(",\"id\":\"%s\",\"key_id\":\"%s\"}", g, p.key_id);
		} else {
			printf("  %zu. %-20s ID %s  key ID %s\n", i + 1, p.type_name, g, p.key_id);
		}
	}
	if (json)
		printf("]}\n");
}

/* keypackage info FILE: what a key package holds. */
static int kp_info(const char *path, bool json)
{
	struct bd_keypackage_info in;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = rcli_load_file(path, 16u << 20, &buf, &len);

	if (rc)
		return rc;
	int r = bd_keypackage_parse(buf, len, &in);
	if (r)
		rc = cli_fail(r, path);
	else
		print_info(buf, len, &in, json);
	free(buf);
	return rc;
}

/* --fvek-out: the FVEK in a key file another tool reads. 0 or an exit code. */
static int export_fvek(bd_volume *v, const char *fvek_out, int fvek_format, bool force)
{
	uint8_t key[160];
	size_t klen;
	int rc, fr = bd_fvek_export(v, fvek_format, key, sizeof(key), &klen);

	if (fr)
		return cli_fail(fr, "FVEK export");
	rc = cli_write_file(fvek_out, key, klen, force);
	explicit_bzero(key, sizeof(key));
	if (rc)
		return rc;
	if (!cli_quiet)
		fprintf(stderr, "bdkit: FVEK written to %s in %s's format (%zu bytes, mode 0600): it opens "
			"the volume without any protector; keep it as safe as the recovery password\n", fvek_out,
			bd_fvek_format_name(fvek_format), klen);
	return 0;
}

/* keypackage export VOLUME: unlock, then the key package (-o) and/or the FVEK (--fvek-out). */
static int kp_export(const char *path, struct cli_unlock *u, const char *out, const char *fvek_out,
		     int fvek_format, bool force)
{
	bd_volume *v = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (!out && !fvek_out) {
		cli_error("keypackage export: give the output file with -o FILE (or --fvek-out FILE)");
		return EXIT_USAGE;
	}
	if ((rc = cli_open(path, u, false, &v)) || (rc = cli_unlock_volume(v, u)))
		goto out;
	if (fvek_out && ((rc = export_fvek(v, fvek_out, fvek_format, force)) || !out))
		goto out;
	int r = bd_keypackage_export(v, &buf, &len);
	if (r) {
		rc = cli_fail(r, "keypackage export");
		goto out;
	}
	rc = cli_write_file(out, buf, len, force);
	if (rc)
		goto out;
	struct bd_info info;
	char g[39];
	bd_volume_info(v, &info);
	cli_guid(info.guid, g, true);
	if (!cli_quiet)
		fprintf(stderr, "bdkit: key package of volume %s written to %s (%zu bytes); keep it with the "
			"recovery password, apart from the volume\n", g, out, len);
	rc = EXIT_OK;
out:
	free(buf);
	bd_volume_close(v);
	return rc;
}

int cmd_keypackage(int argc, char **argv)
{
	enum { OPT_JSON = OPT_CLI_LAST + 1, OPT_FVEK_OUT, OPT_FVEK_FORMAT };
	static const struct option opts[] = {
		{ "output", required_argument, 0, 'o' },
		{ "fvek-out", required_argument, 0, OPT_FVEK_OUT },
		{ "fvek-format", required_argument, 0, OPT_FVEK_FORMAT },
		{ "force", no_argument, 0, 'f' },
		{ "json", no_argument, 0, OPT_JSON },
		{ "help", no_argument, 0, 'h' },
		CLI_UNLOCK_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	struct cli_unlock u;
	const char *out = NULL, *sub, *fvek_out = NULL;
	int fvek_format = BD_FVEK_CRYPTSETUP;
	bool force = false, json = false;
	int c, rc;

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
		case OPT_FVEK_OUT: fvek_out = optarg; break;
		case OPT_FVEK_FORMAT:
			if ((fvek_format = bd_fvek_format_parse(optarg)) < 0) {
				cli_error("%s", bd_last_error());
				cli_unlock_free(&u);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); cli_unlock_free(&u); return EXIT_OK;
		default:
			if ((rc = cli_unlock_getopt(&u, c, optarg, usage)))
				return rc;
			break;
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(&u, usage);
	if (!strcmp(sub, "info")) {
		rc = kp_info(argv[optind], json);
	} else if (!strcmp(sub, "export")) {
		rc = kp_export(argv[optind], &u, out, fvek_out, fvek_format, force);
	} else {
		cli_error("keypackage: unknown subcommand '%s' (export, info)", sub);
		usage(stderr);
		rc = EXIT_USAGE;
	}
	cli_unlock_free(&u);
	return rc;
}
