/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * E01 (Expert Witness / EnCase) images through libewf. The segment files (.E01, .E02, ...,
 * .EAA) are found from the first by libewf_glob. A chunk whose checksum fails reads as an I/O
 * error (so decrypt stops and repair records the range as unreadable) instead of as silent
 * garbage: evidence must not change in transit.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "container.h"

#ifdef BD_HAVE_LIBEWF
#include <libewf.h>

struct ewf_io {
	libewf_handle_t *h;
	pthread_mutex_t lock;     /* a libewf handle is not safe for concurrent use */
	uint32_t bytes_per_sector;
	uint32_t n_errors;        /* checksum errors already turned into ranges */
	uint64_t *bad;            /* pairs start, len in bytes */
	size_t n_bad;
};

static void ewf_message(libewf_error_t **e, char *buf, size_t len)
{
	buf[0] = 0;
	if (*e) {
		libewf_error_sprint(*e, buf, len);
		libewf_error_free(e);
	}
	bd_container_message(buf, len);
}

/* Add the library's newly found checksum errors to f->bad. */
static void collect_errors(struct ewf_io *f)
{
	libewf_error_t *e = NULL;
	uint32_t n = 0;

	if (libewf_handle_get_number_of_checksum_errors(f->h, &n, &e) != 1) {
		libewf_error_free(&e);
		return;
	}
	for (; f->n_errors < n; f->n_errors++) {
		uint64_t start = 0, count = 0;
		uint64_t *nb;
		if (libewf_handle_get_checksum_error(f->h, f->n_errors, &start, &count, &e) != 1) {
			libewf_error_free(&e);
			continue;
		}
		nb = realloc(f->bad, (f->n_bad + 1) * 2 * sizeof(*nb));
		if (!nb)
			return;
		f->bad = nb;
		nb[2 * f->n_bad] = start * f->bytes_per_sector;
		nb[2 * f->n_bad + 1] = count * f->bytes_per_sector;
		f->n_bad++;
		bd_warn("E01 chunk checksum mismatch: sectors %llu-%llu (%llu bytes at offset %llu) are unreliable",
			(unsigned long long)start, (unsigned long long)(start + count - 1),
			(unsigned long long)(count * f->bytes_per_sector),
			(unsigned long long)(start * f->bytes_per_sector));
	}
}

static int overlaps_bad(const struct ewf_io *f, uint64_t off, size_t len)
{
	for (size_t i = 0; i < f->n_bad; i++)
		if (off < f->bad[2 * i] + f->bad[2 * i + 1] && off + len > f->bad[2 * i])
			return 1;
	return 0;
}

static ssize_t ewf_pread(struct bd_io *io, void *buf, size_t len, uint64_t off)
{
	struct ewf_io *f = io->priv;
	libewf_error_t *e = NULL;
	ssize_t n;

	if (off >= io->size)
		return 0;
	if (len > io->size - off)
		len = (size_t)(io->size - off);
	if (len > (64u << 20))
		len = 64u << 20;
	pthread_mutex_lock(&f->lock);
	n = libewf_handle_read_random(f->h, buf, len, (off64_t)off, &e);
	if (n > 0) {
		collect_errors(f);
		if (overlaps_bad(f, off, (size_t)n))
			n = -EIO;
	}
	pthread_mutex_unlock(&f->lock);
	if (n < 0 && e) {
		char msg[512];
		ewf_message(&e, msg, sizeof(msg));
		bd_warn("%s: libewf cannot read %zu bytes at %llu: %s", io->name, len, (unsigned long long)off, msg);
	}
	libewf_error_free(&e);
	return n < 0 ? -EIO : n;
}

static void ewf_close(struct bd_io *io)
{
	struct ewf_io *f = io->priv;
	libewf_error_t *e = NULL;

	libewf_handle_close(f->h, &e);
	libewf_error_free(&e);
	libewf_handle_free(&f->h, &e);
	libewf_error_free(&e);
	pthread_mutex_destroy(&f->lock);
	free(f->bad);
	free(f);
}

static const struct bd_io_ops ewf_ops = { ewf_pread, NULL, NULL, ewf_close };

/*
 * libewf 20140813 opens a set with a gap (E01, E02, then E03 missing) and reads the missing part
 * as checksum errors. Each segment file ends with a "next" or "done" section descriptor (76
 * bytes, type first): a last file that ends with "next" means the set is incomplete.
 */
static int check_complete(const char *last)
{
	uint8_t d[76];
	FILE *f = fopen(last, "rb");
	int ok = 1;

	if (!f)
		return 1;
	if (!fseeko(f, -76, SEEK_END) && fread(d, 1, sizeof(d), f) == sizeof(d) && !memcmp(d, "next\0", 5))
		ok = 0;
	fclose(f);
	return ok;
}

int bd_io_open_ewf(const char *path, struct bd_io **out)
{
	libewf_error_t *e = NULL;
	char **names = NULL;
	char *single[1] = { (char *)path };
	int n = 0, globbed, r;
	struct ewf_io *f;
	size64_t size = 0;
	uint8_t format = 0;
	char msg[512], desc[64];

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&f->lock, NULL);
	/* the other segments are named after the first (.E02 ... .EAA); a file not named so is taken alone */
	globbed = libewf_glob(path, strlen(path), LIBEWF_FORMAT_UNKNOWN, &names, &n, &e) == 1 && n > 0;
	libewf_error_free(&e);
	if (libewf_handle_initialize(&f->h, &e) != 1) {
		ewf_message(&e, msg, sizeof(msg));
		r = bd_err(BD_ERR_NOMEM, "libewf: %s", msg);
		goto fail;
	}
	if (!check_complete(globbed ? names[n - 1] : path)) {
		r = bd_err(BD_ERR_CORRUPT, "%s: the E01 image set is incomplete: %s is not the last segment file and "
			   "the one after it is missing (segment files are named .E01 ... .E99, .EAA ...)", path,
			   globbed ? names[n - 1] : path);
		goto fail;
	}
	if (libewf_handle_open(f->h, globbed ? names : single, globbed ? n : 1, LIBEWF_OPEN_READ, &e) != 1) {
		ewf_message(&e, msg, sizeof(msg));
		r = bd_err(BD_ERR_CORRUPT, "%s: the E01 image cannot be opened (damaged, or a segment file is "
			   "missing): %s", path, msg);
		goto fail;
	}
	if (libewf_handle_get_media_size(f->h, &size, &e) != 1 ||
	    libewf_handle_get_bytes_per_sector(f->h, &f->bytes_per_sector, &e) != 1) {
		ewf_message(&e, msg, sizeof(msg));
		r = bd_err(BD_ERR_CORRUPT, "%s: the E01 image has no usable media size: %s", path, msg);
		goto fail;
	}
	if (!f->bytes_per_sector)
		f->bytes_per_sector = 512;
	libewf_handle_get_format(f->h, &format, &e);
	libewf_error_free(&e);
	if (globbed)
		libewf_glob_free(names, n, &e);
	libewf_error_free(&e);
	snprintf(desc, sizeof(desc), "E01 (EWF), %d segment file%s", globbed ? n : 1, (globbed ? n : 1) == 1 ? "" : "s");
	r = bd_container_io_new(&ewf_ops, f, size, path, desc, out);
	if (r)
		ewf_close(&(struct bd_io){ .priv = f });
	return r;
fail:
	if (globbed)
		libewf_glob_free(names, n, &e);
	libewf_error_free(&e);
	if (f->h) {
		libewf_handle_free(&f->h, &e);
		libewf_error_free(&e);
	}
	pthread_mutex_destroy(&f->lock);
	free(f);
	return r;
}

#else

int bd_io_open_ewf(const char *path, struct bd_io **out)
{
	*out = NULL;
	return bd_err(BD_ERR_UNSUPPORTED, "%s is an E01 image, but this bdkit was built without libewf "
		      "(install libewf-dev and rebuild)", path);
}

#endif
