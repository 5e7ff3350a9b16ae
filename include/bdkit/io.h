/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbdkit: the I/O layer (files, block devices, evidence containers, memory).
 * Part of the public API; <bdkit/bdkit.h> includes every wing header (conventions there).
 */
#ifndef BDKIT_IO_H
#define BDKIT_IO_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* I/O layer: everything reads and writes through this                   */
/* ===================================================================== */

struct bd_io;
struct bd_io_ops {
	/* Read/write up to len bytes at off; return bytes done (0 at end) or -errno. */
	ssize_t (*pread)(struct bd_io *io, void *buf, size_t len, uint64_t off);
	ssize_t (*pwrite)(struct bd_io *io, const void *buf, size_t len, uint64_t off);
	int (*sync)(struct bd_io *io);      /* 0 or -errno; may be NULL */
	void (*close)(struct bd_io *io);    /* frees priv; may be NULL */
};
struct bd_io {
	const struct bd_io_ops *ops;
	void *priv;
	uint64_t size;     /* bytes available */
	int writable;
	char name[256];    /* for messages */
	char container[64];/* what was read: "raw file", "block device", "E01 (EWF), 3 segment files", "VHDX (dynamic)" */
};

enum { BD_IO_RDONLY = 0, BD_IO_RDWR = 1 };
/* Open a file or block device as it is (no container detection). Read-only unless BD_IO_RDWR. */
int bd_io_open_file(const char *path, int flags, struct bd_io **out);
/* Open any input: a raw file or block device, or an evidence container detected by its
 * signature and read through the libyal libraries: E01 (libewf; the other segment files are
 * found from the first), VHD/VHDX (libvhdi), VMDK (libvmdk), QCOW (libqcow); differencing images
 * with their parents found beside them. Containers are read-only (BD_ERR_READONLY with
 * BD_IO_RDWR); a damaged container gives BD_ERR_CORRUPT, Ex01 (EWF2, which Debian 12's libewf
 * 20140813 cannot read) BD_ERR_UNSUPPORTED, an L01 logical image BD_ERR_NOT_BITLOCKER. */
int bd_io_open(const char *path, int flags, struct bd_io **out);
/* A read-only io over a caller's buffer (not copied; it must outlive the io). */
int bd_io_open_memory(const void *buf, size_t len, const char *name, struct bd_io **out);
/* Read exactly len bytes: 0, BD_ERR_IO, or BD_ERR_TRUNCATED when the io ends first. */
int bd_io_read_full(struct bd_io *io, void *buf, size_t len, uint64_t off);
int bd_io_write_full(struct bd_io *io, const void *buf, size_t len, uint64_t off);
int bd_io_sync(struct bd_io *io);
void bd_io_close(struct bd_io *io);

#ifdef __cplusplus
}
#endif
#endif /* BDKIT_IO_H */
