/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Evidence containers read through the libyal libraries (not public; see bd_io_open in bdkit/io.h). */
#ifndef BDKIT_CONTAINER_H
#define BDKIT_CONTAINER_H

#include "internal.h"

/* Kind of input, from the first and last 512 bytes. */
enum bd_container_kind {
	BD_CONTAINER_RAW = 0,
	BD_CONTAINER_EWF,          /* E01 / S01: EWF version 1 ("EVF\x09\r\n\xff\0") */
	BD_CONTAINER_EWF2,         /* Ex01: EWF version 2 ("EVF2\r\n\x81\0") */
	BD_CONTAINER_EWF_LOGICAL,  /* L01 / Lx01: files, not a disk */
	BD_CONTAINER_VHD,          /* "conectix" footer (fixed: at the end only) */
	BD_CONTAINER_VHDX,         /* "vhdxfile" */
	BD_CONTAINER_VMDK,         /* "KDMV" sparse extent, "COWD", or a descriptor text file */
	BD_CONTAINER_QCOW,         /* "QFI\xfb" */
};
int bd_container_detect(const uint8_t *head, size_t head_len, const uint8_t *tail, size_t tail_len);
const char *bd_container_name(int kind);

/* Readers (io_*.c); each makes a read-only io, or says the build lacks the library. */
int bd_io_open_ewf(const char *path, struct bd_io **out);
int bd_io_open_vhdi(const char *path, struct bd_io **out);
int bd_io_open_vmdk(const char *path, struct bd_io **out);
int bd_io_open_qcow(const char *path, struct bd_io **out);

/* Shared helpers. */
int bd_container_io_new(const struct bd_io_ops *ops, void *priv, uint64_t size, const char *path,
			const char *description, struct bd_io **out);
/* Rewrite a libyal error backtrace (in place) as one line of text. */
void bd_container_message(char *msg, size_t len);
void bd_container_dirname(const char *path, char *out, size_t len);
int bd_container_find_parent(const char *child, const char *named, char *out, size_t len);

/* Depth limit of parent/backing chains. */
#define BD_CONTAINER_MAX_CHAIN 16

#endif /* BDKIT_CONTAINER_H */
