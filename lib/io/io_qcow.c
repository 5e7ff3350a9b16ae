/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QCOW (QEMU, versions 1-3, compressed clusters included) images through libqcow; an image with
 * a backing file is read with its chain, each backing file looked up beside the image.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "container.h"

#ifdef BD_HAVE_LIBQCOW
#include <libqcow.h>

struct qcow_io {
	libqcow_file_t *chain[BD_CONTAINER_MAX_CHAIN];   /* [0] the image given, then its backing files */
	int n;
	pthread_mutex_t lock;
};

static void qcow_message(libqcow_error_t **e, char *buf, size_t len)
{
	buf[0] = 0;
	if (*e) {
		libqcow_error_sprint(*e, buf, len);
		libqcow_error_free(e);
	}
	bd_container_message(buf, len);
}

static ssize_t qcow_pread(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	struct qcow_io *f = io->priv;
	libqcow_error_t *e = NULL;
	ssize_t n;

	if (off >= io->size)
		return 0;
	if (len > io->size - off)
		len = (size_t)(io->size - off);
	pthread_mutex_lock(&f->lock);
	n = libqcow_file_read_buffer_at_offset(f->chain[0], buf, len, (off64_t)off, &e);
	pthread_mutex_unlock(&f->lock);
	if (n < 0) {
		char msg[512];
		qcow_message(&e, msg, sizeof(msg));
		bd_warn("%s: libqcow cannot read %zu bytes at %llu: %s", io->name, len, (unsigned long long)off, msg);
		return -EIO;
	}
	return n;
}

static void qcow_free(struct qcow_io *f)
{
	libqcow_error_t *e = NULL;

	for (int i = 0; i < f->n; i++) {
		libqcow_file_close(f->chain[i], &e);
		libqcow_error_free(&e);
		libqcow_file_free(&f->chain[i], &e);
		libqcow_error_free(&e);
	}
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static void qcow_close(struct bd_io *io)
{
	qcow_free(io->priv);
}

static const struct bd_io_ops qcow_ops = { qcow_pread, NULL, NULL, qcow_close };

static int open_link(struct qcow_io *f, const char *path)
{
	libqcow_error_t *e = NULL;
	libqcow_file_t *h = NULL;
	uint32_t enc = 0;
	char msg[512];

	if (f->n >= BD_CONTAINER_MAX_CHAIN)
		return bd_err(BD_ERR_UNSUPPORTED, "%s: more than %d backing files in the chain", path,
			      BD_CONTAINER_MAX_CHAIN);
	if (libqcow_file_initialize(&h, &e) != 1) {
		qcow_message(&e, msg, sizeof(msg));
		return bd_err(BD_ERR_NOMEM, "libqcow: %s", msg);
	}
	if (libqcow_file_open(h, path, LIBQCOW_OPEN_READ, &e) != 1) {
		qcow_message(&e, msg, sizeof(msg));
		libqcow_file_free(&h, &e);
		libqcow_error_free(&e);
		return bd_err(BD_ERR_CORRUPT, "%s: the QCOW image cannot be opened (damaged?): %s", path, msg);
	}
	f->chain[f->n++] = h;
	if (libqcow_file_get_encryption_method(h, &enc, &e) == 1 && enc != LIBQCOW_ENCRYPTION_METHOD_NONE)
		return bd_err(BD_ERR_UNSUPPORTED, "%s is an encrypted QCOW image (%s): decrypt it with "
			      "'qemu-img convert' first", path, enc == LIBQCOW_ENCRYPTION_METHOD_LUKS ? "LUKS" : "AES");
	libqcow_error_free(&e);
	return 0;
}

int bd_io_open_qcow(const char *path, struct bd_io **out)
{
	libqcow_error_t *e = NULL;
	struct qcow_io *f;
	char cur[4096], parent[4096], msg[512];
	size64_t size = 0;
	uint32_t version = 0;
	int r;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&f->lock, NULL);
	snprintf(cur, sizeof(cur), "%s", path);
	r = open_link(f, cur);
	while (!r) {
		uint8_t name[1024];
		int has = libqcow_file_get_utf8_backing_filename(f->chain[f->n - 1], name, sizeof(name), &e);
		libqcow_error_free(&e);
		if (has != 1 || !name[0])
			break;
		r = bd_container_find_parent(cur, (const char *)name, parent, sizeof(parent));
		if (r)
			break;
		snprintf(cur, sizeof(cur), "%s", parent);
		r = open_link(f, cur);
	}
	for (int i = f->n - 2; !r && i >= 0; i--) {
		if (libqcow_file_set_parent_file(f->chain[i], f->chain[i + 1], &e) != 1) {
			qcow_message(&e, msg, sizeof(msg));
			r = bd_err(BD_ERR_CORRUPT, "%s: the backing file cannot be used: %s", path, msg);
		}
	}
	if (!r && libqcow_file_get_media_size(f->chain[0], &size, &e) != 1) {
		qcow_message(&e, msg, sizeof(msg));
		r = bd_err(BD_ERR_CORRUPT, "%s: no media size: %s", path, msg);
	}
	if (r) {
		qcow_free(f);
		return r;
	}
	libqcow_file_get_format_version(f->chain[0], &version, &e);
	libqcow_error_free(&e);
	snprintf(msg, sizeof(msg), "QCOW%s%s", version >= 2 ? "2" : "", f->n > 1 ? " (with backing files)" : "");
	if (version == 3)
		snprintf(msg, sizeof(msg), "QCOW2 (v3)%s", f->n > 1 ? ", with backing files" : "");
	r = bd_container_io_new(&qcow_ops, f, size, path, msg, out);
	if (r)
		qcow_free(f);
	return r;
}

#else

int bd_io_open_qcow(const char *path, struct bd_io **out)
{
	*out = NULL;
	return bd_err(BD_ERR_UNSUPPORTED, "%s is a QCOW image, but this bdkit was built without libqcow "
		      "(install libqcow-dev and rebuild)", path);
}

#endif
