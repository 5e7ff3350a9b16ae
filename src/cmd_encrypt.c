/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit encrypt: make a BitLocker volume from a plain NTFS/FAT/exFAT image. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "create_cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit encrypt [OPTIONS] PLAIN -o TARGET\n"
		   "Encrypt the file-system image PLAIN (NTFS, FAT or exFAT) into a new BitLocker volume\n"
		   "TARGET (file, created when absent, or block device); PLAIN is only read. The boot\n"
		   "sectors are moved as Windows does; the metadata is placed after the file system, so\n"
		   "TARGET is %u KiB larger than PLAIN (rounded up to 64 KiB). The recovery password is\n"
		   "printed once.\n\n"
		   "  -o, --output TARGET          the new volume\n"
		   "      --size N                 make the volume N bytes (default: just large enough)\n",
		BD_CREATE_TAIL_SIZE / 1024);
	fputs(create_cli_help, f);
	fprintf(f, "      (--force also accepts a PLAIN with no recognised file system)\n"
		   "\nExit codes: 0 done, 2 usage, 6 I/O error, 11 refused (target holds data, read-only).\n");
}

int cmd_encrypt(int argc, char **argv)
{
	static const struct option opts[] = {
		CREATE_CLI_OPTIONS,
		{ "output", required_argument, 0, 'o' },
		{ 0, 0, 0, 0 },
	};
	struct create_cli c;
	struct bd_io *target = NULL, *source = NULL;
	const char *out_path = NULL, *plain;
	struct stat sp, st;
	bool created = false;
	uint64_t old_size = 0, size;
	int opt, r;

	create_cli_init(&c);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (opt == 'h')
			c.help = true;
		else if (opt == 'o')
			out_path = optarg;
		else if ((r = create_cli_getopt(&c, opt, optarg, usage)))
			return r;
	}
	if (c.help)
		return create_cli_usage(&c, usage, stdout);
	if (optind != argc - 1 || !out_path) {
		cli_error("encrypt needs one PLAIN image and -o TARGET");
		return create_cli_usage(&c, usage, stderr);
	}
	plain = argv[optind];
	if ((r = create_cli_finish(&c))) {
		create_cli_free(&c);
		return r;
	}
	if (stat(plain, &sp)) {
		cli_error("%s: %s", plain, strerror(errno));
		create_cli_free(&c);
		return EXIT_IO;
	}
	bool target_exists = !stat(out_path, &st);
	bool target_is_dev = target_exists && S_ISBLK(st.st_mode);
	if (target_exists && st.st_dev == sp.st_dev && st.st_ino == sp.st_ino) {
		cli_error("TARGET is PLAIN itself; in-place encryption is not supported, write to a new file");
		create_cli_free(&c);
		return EXIT_USAGE;
	}
	r = bd_io_open(plain, BD_IO_RDONLY, &source);
	if (r) {
		r = cli_fail(r, NULL);
		goto out;
	}
	size = c.size ? c.size : bd_create_size_for(source->size);
	r = create_cli_open_target(out_path, size, &target, &created, &old_size);
	if (r)
		goto out;
	c.o.source = source;
	c.o.allow_unknown_fs = c.o.force;
	c.o.volume_size = c.size ? c.size : target_is_dev ? target->size : size;
	r = create_cli_run(&c, target, out_path);
	if (!c.created_ok && (c.refused || created)) {
		bd_io_close(target);
		target = NULL;
		create_cli_undo_target(out_path, created, old_size);
	}
out:
	bd_io_close(source);
	bd_io_close(target);
	create_cli_free(&c);
	return r;
}
