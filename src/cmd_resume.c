/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit resume: remove the clear key, as Windows' "manage-bde -protectors -enable" does. */
#include <string.h>

#include "protector_cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit resume [OPTIONS] VOLUME\n"
		   "Resume BitLocker protection: remove the clear-key protector(s) of a suspended volume. No\n"
		   "secret is needed (the clear key opens it). Refused when no other protector a person can use\n"
		   "(password, recovery password, startup key) would remain: add one first.\n"
		   "The metadata is backed up first and rewritten one copy at a time (see bdkit-protector(1)).\n\n"
		   "      --backup FILE            metadata backup (default: VOLUME.bdkit-backup-<time>.bdkp)\n"
		   "  -f, --force                  resume even when only TPM/smart-card protectors remain\n"
		   "  -h, --help                   this help\n\n%s", cli_unlock_help);
}

static int do_resume(bd_volume *v, const struct bd_change_opts *o, void *d)
{
	(void)d;
	return bd_volume_resume(v, o);
}

int cmd_resume(int argc, char **argv)
{
	enum { OPT_BACKUP = OPT_CLI_LAST + 1 };
	static const struct option opts[] = {
		{ "backup", required_argument, 0, OPT_BACKUP },
		{ "force", no_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' },
		CLI_UNLOCK_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	struct cli_unlock u;
	const char *backup = NULL;
	bool force = false;
	bd_volume *v = NULL;
	char bpath[4096] = "";
	int c, rc, r, written = 0;

	cli_unlock_init(&u);
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_BACKUP: backup = optarg; break;
		case 'f': force = true; break;
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
	rc = pcli_open(path, &u, true, false, &v);
	if (rc)
		goto out;
	unsigned reboots;
	if (bd_volume_suspended(v, &reboots) != 1) {
		/* say so before asking for any secret */
		cli_error("%s is not suspended: it has no clear key, so there is nothing to resume", path);
		rc = EXIT_NO_PROTECTOR;
		goto out;
	}
	if ((rc = cli_unlock_volume(v, &u)))
		goto out;
	r = pcli_change(v, path, backup, force, do_resume, NULL, &written, bpath, sizeof(bpath));
	if (r) {
		pcli_failed(r, "resume", written, path, bpath);
		rc = cli_exit_code(r);
		goto out;
	}
	if (!cli_quiet)
		fprintf(stderr, "bdkit: protection resumed: the clear key is gone\n");
out:
	bd_volume_close(v);
	cli_unlock_free(&u);
	return rc;
}
