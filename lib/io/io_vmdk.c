/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMDK images (VMware: monolithic and split sparse or flat, stream-optimized; the descriptor
 * file or the sparse file that embeds it) through libvmdk. Extent files are looked up beside the
 * descriptor; a snapshot (delta) disk is read with its parent chain.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "container.h"

#ifdef BD_HAVE_LIBVMDK
#include <libvmdk.h>

struct vmdk_io {
	libvmdk_handle_t *chain[BD_CONTAINER_MAX_CHAIN];   /* [0] the image given, then its parents */
	int n;
	pthread_mutex_t lock;
};

static void vmdk_message(libvmdk_error_t **e, char *buf, size_t len)
{
	buf[0] = 0;
	if (*e) {
		libvmdk_error_sprint(*e, buf, len);
		libvmdk_error_free(e);
	}
	bd_container_message(buf, len);
}

static ssize_t vmdk_pread(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	struct vmdk_io *f = io->priv;
	libvmdk_error_t *e = NULL;
	ssize_t n;

	if (off >= io->size)
		return 0;
	if (len > io->size - off)
		len = (size_t)(io->size - off);
	pthread_mutex_lock(&f->lock);
	n = libvmdk_handle_read_buffer_at_offset(f->chain[0], buf, len, (off64_t)off, &e);
	pthread_mutex_unlock(&f->lock);
	if (n < 0) {
		char msg[512];
		vmdk_message(&e, msg, sizeof(msg));
		bd_warn("%s: libvmdk cannot read %zu bytes at %llu: %s", io->name, len, (unsigned long long)off, msg);
		return -EIO;
	}
	return n;
}

static void vmdk_free(struct vmdk_io *f)
{
	libvmdk_error_t *e = NULL;

	for (int i = 0; i < f->n; i++) {
		libvmdk_handle_close(f->chain[i], &e);
		libvmdk_error_free(&e);
		libvmdk_handle_free(&f->chain[i], &e);
		libvmdk_error_free(&e);
	}
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static void vmdk_close(struct bd_io *io)
{
	vmdk_free(io->priv);
}

static const struct bd_io_ops vmdk_ops = { vmdk_pread, NULL, NULL, vmdk_close };

static int open_link(struct vmdk_io *f, const char *path)
{
	libvmdk_error_t *e = NULL;
	libvmdk_handle_t *h = NULL;
	char msg[512], dir[4096];

	if (f->n >= BD_CONTAINER_MAX_CHAIN)
		return bd_err(BD_ERR_UNSUPPORTED, "%s: more than %d snapshot disks in the chain", path,
			      BD_CONTAINER_MAX_CHAIN);
	if (libvmdk_handle_initialize(&h, &e) != 1) {
		vmdk_message(&e, msg, sizeof(msg));
		return bd_err(BD_ERR_NOMEM, "libvmdk: %s", msg);
	}
	bd_container_dirname(path, dir, sizeof(dir));
	if (libvmdk_handle_open(h, path, LIBVMDK_OPEN_READ, &e) != 1) {
		vmdk_message(&e, msg, sizeof(msg));
		libvmdk_handle_free(&h, &e);
		libvmdk_error_free(&e);
		return bd_err(BD_ERR_CORRUPT, "%s: the VMDK descriptor cannot be read (damaged?): %s", path, msg);
	}
	f->chain[f->n++] = h;
	if ((*dir && libvmdk_handle_set_extent_data_files_path(h, dir, strlen(dir), &e) != 1) ||
	    libvmdk_handle_open_extent_data_files(h, &e) != 1) {
		vmdk_message(&e, msg, sizeof(msg));
		return bd_err(BD_ERR_CORRUPT, "%s: the VMDK extent files cannot be opened (missing or damaged): %s",
			      path, msg);
	}
	return 0;
}

int bd_io_open_vmdk(const char *path, struct bd_io **out)
{
	libvmdk_error_t *e = NULL;
	struct vmdk_io *f;
	char cur[4096], parent[4096], msg[512];
	size64_t size = 0;
	int r, type = 0;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&f->lock, NULL);
	snprintf(cur, sizeof(cur), "%s", path);
	r = open_link(f, cur);
	while (!r) {
		uint8_t name[1024];
		int has = libvmdk_handle_get_utf8_parent_filename(f->chain[f->n - 1], name, sizeof(name), &e);
		libvmdk_error_free(&e);
		if (has != 1 || !name[0])
			break;
		r = bd_container_find_parent(cur, (const char *)name, parent, sizeof(parent));
		if (r)
			break;
		snprintf(cur, sizeof(cur), "%s", parent);
		r = open_link(f, cur);
	}
	for (int i = f->n - 2; !r && i >= 0; i--) {
		if (libvmdk_handle_set_parent_handle(f->chain[i], f->chain[i + 1], &e) != 1) {
			vmdk_message(&e, msg, sizeof(msg));
			r = bd_err(BD_ERR_CORRUPT, "%s: the parent disk does not belong to it: %s", path, msg);
		}
	}
	if (!r && libvmdk_handle_get_media_size(f->chain[0], &size, &e) != 1) {
		vmdk_message(&e, msg, sizeof(msg));
		r = bd_err(BD_ERR_CORRUPT, "%s: no media size: %s", path, msg);
	}
	if (r) {
		vmdk_free(f);
		return r;
	}
	libvmdk_handle_get_disk_type(f->chain[0], &type, &e);
	libvmdk_error_free(&e);
	const char *t = type == LIBVMDK_DISK_TYPE_MONOLITHIC_SPARSE ? "monolithic sparse" :
			type == LIBVMDK_DISK_TYPE_STREAM_OPTIMIZED ? "stream-optimized" :
			type == LIBVMDK_DISK_TYPE_2GB_EXTENT_SPARSE ? "split sparse" :
			type == LIBVMDK_DISK_TYPE_2GB_EXTENT_FLAT ? "split flat" :
			type == LIBVMDK_DISK_TYPE_MONOLITHIC_FLAT ? "flat" : "other";
	snprintf(msg, sizeof(msg), "VMDK (%s%s)", t, f->n > 1 ? ", with parents" : "");
	r = bd_container_io_new(&vmdk_ops, f, size, path, msg, out);
	if (r)
		vmdk_free(f);
	return r;
}

#else

int bd_io_open_vmdk(const char *path, struct bd_io **out)
{
	*out = NULL;
	return bd_err(BD_ERR_UNSUPPORTED, "%s is a VMDK image, but this bdkit was built without libvmdk "
		      "(install libvmdk-dev and rebuild)", path);
}

#endif
