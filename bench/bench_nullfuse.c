/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The FUSE floor for bench/access.sh: a FUSE server set up like `bdkit mount` (libfuse3's
 * multi-threaded loop with clone_fd, nullpath_ok, keep_cache, the kernel's direct_io mode for
 * O_DIRECT opens) whose one file, /zero, answers every read with zeros and accepts every write
 * without any I/O or cryptography. Its 4 KiB O_DIRECT rate is what the kernel's FUSE round trip
 * allows on the machine: no FUSE server can be faster, so it bounds the ratio any server can reach
 * against another.
 *   bench_nullfuse SIZE MOUNTPOINT [libfuse options, e.g. -o clone_fd]
 */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static off_t size;

static void *nf_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->kernel_cache = 1;
	cfg->attr_timeout = cfg->entry_timeout = 3600;
	cfg->use_ino = 1;
	cfg->nullpath_ok = 1;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	return NULL;
}

static int nf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	memset(st, 0, sizeof(*st));
	if ((path && !strcmp(path, "/zero")) || (!path && fi && fi->fh == 1)) {
		st->st_ino = 2;
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = size;
		return 0;
	}
	if (path && !strcmp(path, "/")) {
		st->st_ino = 1;
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	return -ENOENT;
}

static int nf_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/zero"))
		return -ENOENT;
	fi->keep_cache = 1;
	if (fi->flags & O_DIRECT)
		fi->direct_io = 1;
	fi->fh = 1;
	return 0;
}

static int nf_read(const char *path, char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
	(void)path, (void)fi;
	if (off >= size)
		return 0;
	if ((off_t)n > size - off)
		n = (size_t)(size - off);
	memset(buf, 0, n);
	return (int)n;
}

static int nf_write(const char *path, const char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
	(void)path, (void)buf, (void)fi;
	return off >= size ? -ENOSPC : (int)((off_t)n > size - off ? size - off : (off_t)n);
}

static int nf_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path, (void)datasync, (void)fi;
	return 0;
}

static const struct fuse_operations ops = {
	.init = nf_init,
	.getattr = nf_getattr,
	.open = nf_open,
	.read = nf_read,
	.write = nf_write,
	.fsync = nf_fsync,
};

int main(int argc, char **argv)
{
	if (argc < 3 || (size = strtoll(argv[1], NULL, 0)) <= 0)
		return 2;
	argv[1] = argv[0];
	return fuse_main(argc - 1, argv + 1, &ops, NULL);
}
