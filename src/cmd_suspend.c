/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit suspend: add a clear key, as Windows' "manage-bde -protectors -disable [-rc N]" does. */
#include <stdlib.h>
#include <string.h>

#include "protector_cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit suspend [OPTIONS] VOLUME\n"
		   "Suspend BitLocker protection: store the volume master key in the clear on the volume (a\n"
		   "clear-key protector), so the volume opens without a secret until 'bdkit resume'. The other\n"
		   "protectors stay. Anyone with the disk can read it while it is suspended.\n"
		   "The metadata is backed up first and rewritten one copy at a time (see bdkit-protector(1)).\n\n"
		   "      --reboot-count N         0 (default): until resumed, as Windows writes it for data\n"
		   "                               volumes; 1-15: Windows' counted form, which only Windows'\n"
		   "                               boot manager counts down (see the man page: inferred layout)\n"
		   "      --backup FILE            metadata backup (default: VOLUME.bdkit-backup-<time>.bdkp)\n"
		   "  -h, --help                   this help\n\n%s", cli_unlock_help);
}

static int do_suspend(bd_volume *v, const struct bd_change_opts *o, void *d)
{
	return bd_volume_suspend(v, *(unsigned *)d, o);
}

int cmd_suspend(int argc, char **argv)
{
	enum { OPT_RC = OPT_CLI_LAST + 1, OPT_BACKUP };
	static const struct option opts[] = {
		{ "reboot-count", required_argument, 0, OPT_RC },
		{ "backup", required_argument, 0, OPT_BACKUP },
		{ "help", no_argument, 0, 'h' },
		CLI_UNLOCK_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	struct cli_unlock u;
	const char *backup = NULL;
	unsigned count = 0;
	bd_volume *v = NULL;
	char bpath[4096] = "", *end;
	int c, rc, r, written = 0;

	cli_unlock_init(&u);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_RC:
			count = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || count > 15) {
				cli_error("--reboot-count: '%s' is not 0-15", optarg);
				cli_unlock_free(&u);
				return EXIT_USAGE;
			}
			break;
		case OPT_BACKUP: backup = optarg; break;
		case 'h': usage(stdout); cli_unlock_free(&u); return EXIT_OK;
		default:
			if ((rc = cli_unlock_getopt(&u, c, optarg, usage)))
				return rc;
			break;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(&u, usage);
	const char *path = argv[optind];
	if (count)
		cli_warn("--reboot-count: only Windows' boot manager counts restarts, on the OS volume; the on-disk "
			 "form (clear-key entry version N<<8|5) is inferred from one sample (see bdkit-protector(1))");
	rc = pcli_open(path, &u, true, true, &v);
	if (rc)
		goto out;
	r = pcli_change(v, path, backup, 0, do_suspend, &count, &written, bpath, sizeof(bpath));
	if (r) {
		pcli_failed(r, "suspend", written, path, bpath);
		rc = cli_exit_code(r);
		goto out;
	}
	if (!cli_quiet) {
		if (count)
			fprintf(stderr, "bdkit: protection suspended for %u restart(s) of Windows: the volume opens "
				"without a secret until then\n", count);
		else
			fprintf(stderr, "bdkit: protection suspended: the volume opens without a secret until "
				"'bdkit resume'\n");
	}
out:
	bd_volume_close(v);
	cli_unlock_free(&u);
	return rc;
}
