/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit format: create a new BitLocker volume on an image file or a device. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "create_cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit format [OPTIONS] TARGET\n"
		   "Create a new, fully encrypted BitLocker volume (Windows 7+ layout) on TARGET, an image\n"
		   "file (created when absent) or a block device. The recovery password is printed once.\n\n"
		   "      --size N                 volume size (64M, 1G, ...); needed when TARGET does not exist;\n"
		   "                               default: the whole file or device\n"
		   "      --mkfs ntfs              put an empty NTFS file system (mkntfs) in the volume\n"
		   "      --label NAME             its volume label (default: BitLocker)\n");
	fputs(create_cli_help, f);
	fprintf(f, "\nExit codes: 0 done, 2 usage, 6 I/O error, 11 refused (target holds data, read-only).\n"
		   "See man bdkit-format for the layout bdkit uses.\n");
}

/* Run mkntfs on a new sparse temporary file of fs_size bytes; returns its path or NULL. */
static char *make_ntfs(uint64_t fs_size, uint32_t ss, const char *label)
{
	const char *tmpdir = getenv("TMPDIR");
	char *path = NULL, ssbuf[16];
	int fd, status;
	pid_t pid;

	if (asprintf(&path, "%s/bdkit-mkfs.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp") < 0)
		return NULL;
	fd = mkstemp(path);
	if (fd < 0) {
		cli_error("cannot create a temporary file in %s: %s", tmpdir ? tmpdir : "/tmp", strerror(errno));
		free(path);
		return NULL;
	}
	if (ftruncate(fd, (off_t)fs_size)) {
		cli_error("cannot size the temporary file %s: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	snprintf(ssbuf, sizeof(ssbuf), "%u", ss);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, 1);
			if (!cli_verbose)   /* mkntfs chats about image files; -v shows it */
				dup2(devnull, 2);
		}
		execlp("mkntfs", "mkntfs", "-q", "-F", "-Q", "-s", ssbuf, "-p", "0", "-H", "255", "-S", "63",
		       "-L", label, path, (char *)NULL);
		execl("/usr/sbin/mkntfs", "mkntfs", "-q", "-F", "-Q", "-s", ssbuf, "-p", "0", "-H", "255", "-S", "63",
		      "-L", label, path, (char *)NULL);
		fprintf(stderr, "bdkit: cannot run mkntfs: %s (install ntfs-3g)\n", strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		cli_error("mkntfs failed on the temporary file %s%s", path,
			  cli_verbose ? "" : " (run bdkit -v format ... to see its messages)");
		goto fail;
	}
	return path;
fail:
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(path);
	return NULL;
}

enum { OPT_F_MKFS = OPT_C_HELP + 1, OPT_F_LABEL };

int cmd_format(int argc, char **argv)
{
	static const struct option opts[] = {
		CREATE_CLI_OPTIONS,
		{ "mkfs", required_argument, 0, OPT_F_MKFS },
		{ "label", required_argument, 0, OPT_F_LABEL },
		{ 0, 0, 0, 0 },
	};
	struct create_cli c;
	struct bd_io *target = NULL, *source = NULL;
	const char *mkfs = NULL, *label = "BitLocker", *path;
	char *tmpfs = NULL;
	bool created = false;
	uint64_t old_size = 0;
	int opt, r;

	create_cli_init(&c);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h')
			c.help = true;
		else if (opt == OPT_F_MKFS)
			mkfs = optarg;
		else if (opt == OPT_F_LABEL)
			label = optarg;
		else if ((r = create_cli_getopt(&c, opt, optarg, usage)))
			return r;
	}
	if (c.help)
		return create_cli_usage(&c, usage, stdout);
	if (optind != argc - 1) {
		cli_error("format needs exactly one TARGET");
		return create_cli_usage(&c, usage, stderr);
	}
	path = argv[optind];
	if (mkfs && strcmp(mkfs, "ntfs")) {
		cli_error("--mkfs: only 'ntfs' is supported");
		create_cli_free(&c);
		return EXIT_USAGE;
	}
	if ((r = create_cli_finish(&c))) {
		create_cli_free(&c);
		return r;
	}
	r = create_cli_open_target(path, c.size, &target, &created, &old_size);
	if (r)
		goto out;
	c.o.volume_size = c.size ? c.size : target->size;
	if (mkfs) {
		uint64_t size = c.o.volume_size - c.o.volume_size % 4096, fs;
		uint32_t ss = c.o.sector_size ? c.o.sector_size : 512;
		if (size < BD_CREATE_MIN_SIZE) {
			cli_error("a volume of %llu bytes is too small; the minimum is 2 MiB", (unsigned long long)size);
			r = EXIT_USAGE;
			goto undo;
		}
		/* the file system ends where bdkit's metadata begins (see bd_create_opts) */
		fs = (size - BD_CREATE_TAIL_SIZE) & ~0xFFFFull;
		tmpfs = make_ntfs(fs, ss, label);
		if (!tmpfs) {
			r = EXIT_FAILURE_OTHER;
			goto undo;
		}
		r = bd_io_open_file(tmpfs, BD_IO_RDONLY, &source);
		if (r) {
			r = cli_fail(r, tmpfs);
			goto undo;
		}
		c.o.source = source;
		c.o.sector_size = ss;
	}
	r = create_cli_run(&c, target, path);
	if (!c.created_ok && (c.refused || created))
		goto undo;   /* nothing usable was written: leave the target as it was */
	goto out;
undo:
	bd_io_close(target);
	target = NULL;
	create_cli_undo_target(path, created, old_size);
out:
	bd_io_close(source);
	bd_io_close(target);
	if (tmpfs) {
		unlink(tmpfs);
		free(tmpfs);
	}
	create_cli_free(&c);
	return r;
}
