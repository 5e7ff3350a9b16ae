/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VHD (Virtual PC, Azure: fixed, dynamic, differencing) and VHDX (Hyper-V) images through
 * libvhdi. A differencing image (.avhdx, Hyper-V checkpoints) is read with its parent chain; each
 * parent is looked up beside the child by the name recorded in it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "container.h"

#ifdef BD_HAVE_LIBVHDI
#include <libvhdi.h>

struct vhdi_io {
	libvhdi_file_t *chain[BD_CONTAINER_MAX_CHAIN];   /* [0] the image given, then its parents */
	int n;
	pthread_mutex_t lock;
};

static void vhdi_message(libvhdi_error_t **e, char *buf, size_t len)
{
	buf[0] = 0;
	if (*e) {
		libvhdi_error_sprint(*e, buf, len);
		libvhdi_error_free(e);
	}
	bd_container_message(buf, len);
}

static ssize_t vhdi_pread(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	struct vhdi_io *f = io->priv;
	libvhdi_error_t *e = NULL;
	ssize_t n;

	if (off >= io->size)
		return 0;
	if (len > io->size - off)
		len = (size_t)(io->size - off);
	pthread_mutex_lock(&f->lock);
	n = libvhdi_file_read_buffer_at_offset(f->chain[0], buf, len, (off64_t)off, &e);
	pthread_mutex_unlock(&f->lock);
	if (n < 0) {
		char msg[512];
		vhdi_message(&e, msg, sizeof(msg));
		bd_warn("%s: libvhdi cannot read %zu bytes at %llu: %s", io->name, len, (unsigned long long)off, msg);
		return -EIO;
	}
	return n;
}

static void vhdi_free(struct vhdi_io *f)
{
	libvhdi_error_t *e = NULL;

	for (int i = 0; i < f->n; i++) {
		libvhdi_file_close(f->chain[i], &e);
		libvhdi_error_free(&e);
		libvhdi_file_free(&f->chain[i], &e);
		libvhdi_error_free(&e);
	}
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static void vhdi_close(struct bd_io *io)
{
	vhdi_free(io->priv);
}

static const struct bd_io_ops vhdi_ops = { vhdi_pread, NULL, NULL, vhdi_close };

/* Open path as link number f->n of the chain. */
static int open_link(struct vhdi_io *f, const char *path)
{
	libvhdi_error_t *e = NULL;
	libvhdi_file_t *h = NULL;
	char msg[512];

	if (f->n >= BD_CONTAINER_MAX_CHAIN)
		return bd_err(BD_ERR_UNSUPPORTED, "%s: more than %d differencing images in the chain", path,
			      BD_CONTAINER_MAX_CHAIN);
	if (libvhdi_file_initialize(&h, &e) != 1) {
		vhdi_message(&e, msg, sizeof(msg));
		return bd_err(BD_ERR_NOMEM, "libvhdi: %s", msg);
	}
	if (libvhdi_file_open(h, path, LIBVHDI_OPEN_READ, &e) != 1) {
		vhdi_message(&e, msg, sizeof(msg));
		libvhdi_file_free(&h, &e);
		libvhdi_error_free(&e);
		return bd_err(BD_ERR_CORRUPT, "%s: the VHD/VHDX image cannot be opened (damaged?): %s", path, msg);
	}
	f->chain[f->n++] = h;
	return 0;
}

int bd_io_open_vhdi(const char *path, struct bd_io **out)
{
	libvhdi_error_t *e = NULL;
	struct vhdi_io *f;
	char cur[4096], parent[4096], msg[512], desc[64];
	size64_t size = 0;
	int type = 0, r;
	uint32_t disk = 0;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&f->lock, NULL);
	snprintf(cur, sizeof(cur), "%s", path);
	r = open_link(f, cur);
	/* follow differencing images to their base */
	while (!r) {
		libvhdi_file_t *h = f->chain[f->n - 1];
		uint8_t name[1024];
		uint32_t t = 0;
		if (libvhdi_file_get_disk_type(h, &t, &e) != 1 || t != LIBVHDI_DISK_TYPE_DIFFERENTIAL)
			break;
		if (libvhdi_file_get_utf8_parent_filename(h, name, sizeof(name), &e) != 1) {
			vhdi_message(&e, msg, sizeof(msg));
			r = bd_err(BD_ERR_CORRUPT, "%s is a differencing image without a parent name: %s", cur, msg);
			break;
		}
		r = bd_container_find_parent(cur, (const char *)name, parent, sizeof(parent));
		if (r)
			break;
		snprintf(cur, sizeof(cur), "%s", parent);
		r = open_link(f, cur);
	}
	libvhdi_error_free(&e);
	/* link the chain from the base up */
	for (int i = f->n - 2; !r && i >= 0; i--) {
		if (libvhdi_file_set_parent_file(f->chain[i], f->chain[i + 1], &e) != 1) {
			vhdi_message(&e, msg, sizeof(msg));
			r = bd_err(BD_ERR_CORRUPT, "%s: the parent image does not belong to it: %s", path, msg);
		}
	}
	if (!r && libvhdi_file_get_media_size(f->chain[0], &size, &e) != 1) {
		vhdi_message(&e, msg, sizeof(msg));
		r = bd_err(BD_ERR_CORRUPT, "%s: no media size: %s", path, msg);
	}
	if (r) {
		vhdi_free(f);
		return r;
	}
	libvhdi_file_get_file_type(f->chain[0], &type, &e);
	libvhdi_error_free(&e);
	libvhdi_file_get_disk_type(f->chain[0], &disk, &e);
	libvhdi_error_free(&e);
	snprintf(desc, sizeof(desc), "%s (%s%s)", type == LIBVHDI_FILE_TYPE_VHDX ? "VHDX" : "VHD",
		 disk == LIBVHDI_DISK_TYPE_FIXED ? "fixed" : disk == LIBVHDI_DISK_TYPE_DYNAMIC ? "dynamic" :
		 disk == LIBVHDI_DISK_TYPE_DIFFERENTIAL ? "differencing" : "unknown type",
		 f->n > 1 ? ", with parents" : "");
	r = bd_container_io_new(&vhdi_ops, f, size, path, desc, out);
	if (r)
		vhdi_free(f);
	return r;
}

#else

int bd_io_open_vhdi(const char *path, struct bd_io **out)
{
	*out = NULL;
	return bd_err(BD_ERR_UNSUPPORTED, "%s is a VHD/VHDX image, but this bdkit was built without libvhdi "
		      "(install libvhdi-dev and rebuild)", path);
}

#endif
