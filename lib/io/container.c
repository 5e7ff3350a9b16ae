/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Evidence containers: detection by signature and bd_io_open(), which hands every reader a
 * struct bd_io whether the input is a raw file, a block device, an E01 image set, a VHD/VHDX,
 * a VMDK or a QCOW image. The containers themselves are read by the libyal libraries
 * (io_ewf.c, io_vhdi.c, io_vmdk.c, io_qcow.c); nothing here parses their structures beyond the
 * few signature bytes needed to pick a reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"

const char *bd_container_name(int kind)
{
	switch (kind) {
	case BD_CONTAINER_RAW: return "raw";
	case BD_CONTAINER_EWF: return "E01";
	case BD_CONTAINER_EWF2: return "Ex01";
	case BD_CONTAINER_EWF_LOGICAL: return "L01";
	case BD_CONTAINER_VHD: return "VHD";
	case BD_CONTAINER_VHDX: return "VHDX";
	case BD_CONTAINER_VMDK: return "VMDK";
	case BD_CONTAINER_QCOW: return "QCOW";
	}
	return "unknown";
}

int bd_container_detect(const uint8_t *head, size_t head_len, const uint8_t *tail, size_t tail_len)
{
	if (head_len >= 8) {
		if (!memcmp(head, "EVF\x09\x0d\x0a\xff\x00", 8))
			return BD_CONTAINER_EWF;
		if (!memcmp(head, "LVF\x09\x0d\x0a\xff\x00", 8) || !memcmp(head, "LEF2\x0d\x0a\x81\x00", 8))
			return BD_CONTAINER_EWF_LOGICAL;
		if (!memcmp(head, "EVF2\x0d\x0a\x81\x00", 8))
			return BD_CONTAINER_EWF2;
		if (!memcmp(head, "vhdxfile", 8))
			return BD_CONTAINER_VHDX;
		if (!memcmp(head, "conectix", 8))
			return BD_CONTAINER_VHD;
	}
	if (head_len >= 4) {
		if (!memcmp(head, "KDMV", 4) || !memcmp(head, "COWD", 4))
			return BD_CONTAINER_VMDK;
		if (!memcmp(head, "QFI\xfb", 4))
			return BD_CONTAINER_QCOW;
	}
	if (head_len >= 21 && !memcmp(head, "# Disk DescriptorFile", 21))
		return BD_CONTAINER_VMDK;
	/* a fixed VHD is the raw disk followed by a 512-byte footer */
	if (tail_len >= 512 && !memcmp(tail, "conectix", 8))
		return BD_CONTAINER_VHD;
	return BD_CONTAINER_RAW;
}

/* ---- shared plumbing for the library-backed readers ---- */

int bd_container_io_new(const struct bd_io_ops *ops, void *priv, uint64_t size, const char *path,
			const char *description, struct bd_io **out)
{
	struct bd_io *io = calloc(1, sizeof(*io));

	*out = NULL;
	if (!io)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	io->ops = ops;
	io->priv = priv;
	io->size = size;
	io->writable = 0;
	snprintf(io->name, sizeof(io->name), "%s", path);
	snprintf(io->container, sizeof(io->container), "%s", description);
	*out = io;
	return 0;
}

void bd_container_message(char *msg, size_t len)
{
	/* libyal messages are "function: text." lines, the deepest first: keep the text, join lines */
	char out[512];
	size_t o = 0;
	char *line = msg, *next;

	for (; line && *line && o + 4 < sizeof(out); line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *colon = strstr(line, ": ");
		const char *text = colon ? colon + 2 : line;
		size_t tl = strlen(text);
		while (tl && (text[tl - 1] == '.' || text[tl - 1] == ' ' || text[tl - 1] == '\r'))
			tl--;
		if (!tl)
			continue;
		if (o)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "; ");
		if (o < sizeof(out))
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%.*s", (int)tl, text);
		if (o >= sizeof(out))
			o = sizeof(out) - 1;
	}
	out[o < sizeof(out) ? o : sizeof(out) - 1] = 0;
	snprintf(msg, len, "%s", out);
}

/* Directory part of path (with the trailing slash) in out; "" when path has none. */
void bd_container_dirname(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, len, "%s", "");
	else
		snprintf(out, len, "%.*s", (int)(slash - path + 1), path);
}

/*
 * A parent or backing file named inside a differencing image: Windows paths
 * ("C:\\VMs\\base.vhdx") and relative or absolute POSIX paths are looked up in the child's
 * directory by their last component, then as given (relative to the child's directory).
 */
int bd_container_find_parent(const char *child, const char *named, char *out, size_t len)
{
	char dir[4096];
	const char *base = named;
	struct stat st;

	for (const char *p = named; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	bd_container_dirname(child, dir, sizeof(dir));
	if (*base && (size_t)snprintf(out, len, "%s%s", dir, base) < len && !stat(out, &st) && S_ISREG(st.st_mode))
		return 0;
	if (named[0] == '/' && (size_t)snprintf(out, len, "%s", named) < len && !stat(out, &st))
		return 0;
	if (named[0] != '/' && !strchr(named, '\\') &&
	    (size_t)snprintf(out, len, "%s%s", dir, named) < len && !stat(out, &st))
		return 0;
	return bd_err(BD_ERR_IO, "%s needs its parent image '%s', which is not beside it (put the parent in the same "
		      "directory, or merge the chain with 'qemu-img convert' first)", child, named);
}

/* ---- bd_io_open ---- */

static int read_at(int fd, uint8_t *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return (int)done;
}

int bd_io_open(const char *path, int flags, struct bd_io **out)
{
	uint8_t head[512], tail[512];
	int hn = 0, tn = 0, kind;
	struct stat st;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		/* let the raw opener give its precise message */
		if (fd >= 0)
			close(fd);
		return bd_io_open_file(path, flags, out);
	}
	if (!(flags & BD_IO_RDWR) && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return bd_err(BD_ERR_NOT_BITLOCKER, "%s is %s, not a volume, disk or image file", path,
			      S_ISDIR(st.st_mode) ? "a directory" : S_ISCHR(st.st_mode) ? "a character device" :
			      S_ISFIFO(st.st_mode) ? "a pipe" : S_ISSOCK(st.st_mode) ? "a socket" : "not a regular file");
	}
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		uint64_t size = (uint64_t)st.st_size;
		if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &size))
			size = 0;
		hn = read_at(fd, head, sizeof(head), 0);
		if (size >= 1024)
			tn = read_at(fd, tail, sizeof(tail), (off_t)(size - 512));
	}
	close(fd);
	kind = bd_container_detect(head, hn > 0 ? (size_t)hn : 0, tail, tn > 0 ? (size_t)tn : 0);
	if (kind == BD_CONTAINER_RAW)
		return bd_io_open_file(path, flags, out);
	if (flags & BD_IO_RDWR)
		return bd_err(BD_ERR_READONLY, "%s is a %s container, which bdkit only reads: convert it to a raw "
			      "image first (qemu-img convert -O raw, ewfexport -f raw) to change it", path,
			      bd_container_name(kind));
	switch (kind) {
	case BD_CONTAINER_EWF:
		return bd_io_open_ewf(path, out);
	case BD_CONTAINER_VHD:
	case BD_CONTAINER_VHDX:
		return bd_io_open_vhdi(path, out);
	case BD_CONTAINER_VMDK:
		return bd_io_open_vmdk(path, out);
	case BD_CONTAINER_QCOW:
		return bd_io_open_qcow(path, out);
	case BD_CONTAINER_EWF2:
		return bd_err(BD_ERR_UNSUPPORTED, "%s is an Ex01 (EWF version 2) image; the libewf this bdkit uses "
			      "(Debian 12: 20140813) reads only E01/EWF version 1: convert it to E01 or raw with a "
			      "newer ewfexport, EnCase or FTK Imager", path);
	case BD_CONTAINER_EWF_LOGICAL:
		return bd_err(BD_ERR_NOT_BITLOCKER, "%s is a logical evidence file (L01/Lx01): it holds files, not a "
			      "disk or volume image", path);
	}
	return bd_io_open_file(path, flags, out);
}
