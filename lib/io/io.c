/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The I/O layer: files and block devices (the fault injector for tests is tests/hooks/fault_io.c). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

struct file_io {
	int fd;
};

static ssize_t file_pread(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	struct file_io *f = io->priv;
	ssize_t n;

	do
		n = pread(f->fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t file_pwrite(struct bd_io *io, const void *buf, size_t len, uint64_t off)
{
	struct file_io *f = io->priv;
	ssize_t n;

	do
		n = pwrite(f->fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int file_sync(struct bd_io *io)
{
	struct file_io *f = io->priv;

	/* the data and what is needed to read it back (the size never changes): no timestamp commit */
	return fdatasync(f->fd) ? -errno : 0;
}

static void file_close(struct bd_io *io)
{
	struct file_io *f = io->priv;

	close(f->fd);
	free(f);
}

static const struct bd_io_ops file_ops = { file_pread, file_pwrite, file_sync, file_close };

int bd_io_open_file(const char *path, int flags, struct bd_io **out)
{
	int rw = flags & BD_IO_RDWR;
	struct stat st;
	uint64_t size;
	/* a block device opened for writing is opened exclusively: not while the kernel has it mounted,
	 * nor while another program writes it (O_EXCL on a block device, Linux) */
	int excl = rw && !stat(path, &st) && S_ISBLK(st.st_mode) ? O_EXCL : 0;
	int fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC | excl);

	*out = NULL;
	if (fd < 0) {
		int e = errno;
		if (rw && (e == EROFS || e == EACCES))
			return bd_err(BD_ERR_READONLY, "cannot open %s for writing: %s", path, strerror(e));
		if (excl && e == EBUSY)
			return bd_err(BD_ERR_READONLY, "%s is in use (mounted, or open by another program): not "
				      "writing to it", path);
		return bd_err(BD_ERR_IO, "cannot open %s: %s", path, strerror(e));
	}
	if (fstat(fd, &st)) {
		close(fd);
		return bd_err(BD_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size)) {
			close(fd);
			return bd_err(BD_ERR_IO, "cannot get the size of %s: %s", path, strerror(errno));
		}
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		close(fd);
		return bd_err(BD_ERR_INVALID, "%s is neither a file nor a block device", path);
	}
	struct bd_io *io = calloc(1, sizeof(*io));
	struct file_io *f = calloc(1, sizeof(*f));
	if (!io || !f) {
		free(io);
		free(f);
		close(fd);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	f->fd = fd;
	io->ops = &file_ops;
	io->priv = f;
	io->size = size;
	io->writable = rw;
	snprintf(io->name, sizeof(io->name), "%s", path);
	snprintf(io->container, sizeof(io->container), "%s", S_ISBLK(st.st_mode) ? "block device" : "raw file");
	*out = io;
	return 0;
}

int bd_io_read_full(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = io->ops->pread(io, p, len, off);
		if (n < 0)
			return bd_err(BD_ERR_IO, "read of %s at offset %llu failed: %s", io->name,
				      (unsigned long long)off, strerror((int)-n));
		if (n == 0)
			return bd_err(BD_ERR_TRUNCATED, "%s ends at %llu bytes, before offset %llu (truncated image?)",
				      io->name, (unsigned long long)io->size, (unsigned long long)off);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int bd_io_write_full(struct bd_io *io, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	if (!io->writable || !io->ops->pwrite)
		return bd_err(BD_ERR_READONLY, "%s is open read-only", io->name);
	while (len) {
		ssize_t n = io->ops->pwrite(io, p, len, off);
		if (n <= 0)
			return bd_err(n == -EROFS ? BD_ERR_READONLY : BD_ERR_IO,
				      "write to %s at offset %llu failed: %s", io->name,
				      (unsigned long long)off, n ? strerror((int)-n) : "no progress");
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int bd_io_sync(struct bd_io *io)
{
	int r;

	if (!io->ops->sync)
		return 0;
	r = io->ops->sync(io);
	if (r)
		return bd_err(BD_ERR_IO, "sync of %s failed: %s", io->name, strerror(-r));
	return 0;
}

void bd_io_close(struct bd_io *io)
{
	if (!io)
		return;
	if (io->ops->close)
		io->ops->close(io);
	free(io);
}

/* ---- a caller's buffer ---- */

static ssize_t mem_pread(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	if (off >= io->size)
		return 0;
	if (len > io->size - off)
		len = (size_t)(io->size - off);
	memcpy(buf, (const uint8_t *)io->priv + off, len);
	return (ssize_t)len;
}

static const struct bd_io_ops mem_ops = { mem_pread, NULL, NULL, NULL };

int bd_io_open_memory(const void *buf, size_t len, const char *name, struct bd_io **out)
{
	struct bd_io *io = calloc(1, sizeof(*io));

	*out = NULL;
	if (!io)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	io->ops = &mem_ops;
	io->priv = (void *)buf;
	io->size = len;
	snprintf(io->name, sizeof(io->name), "%s", name ? name : "memory");
	snprintf(io->container, sizeof(io->container), "memory buffer");
	*out = io;
	return 0;
}
