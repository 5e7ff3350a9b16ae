/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one table of encryption methods (method.c); not public (bd_method_parse/short_name are). */
#ifndef BDKIT_METHOD_H
#define BDKIT_METHOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bdkit/fve.h"

/* One encryption method as the dataset's Method field names it (format.md, encryption methods). */
struct bd_method_def {
	uint16_t code;            /* 0x8000..0x8005 */
	const char *name;         /* "AES-XTS-128": shown by info and in messages */
	const char *short_name;   /* "xts-128": what bd_method_parse takes and the CLI prints */
	size_t aes_key_len;       /* 16 (AES-128) or 32 (AES-256) bytes per AES key */
	size_t fvek_len;          /* bytes of the FVEK datum's key that the method uses */
	bool xts;                 /* XTS-AES (key1 || key2); otherwise AES-CBC with the sector's IV */
	bool elephant;            /* CBC with the Elephant diffuser (tweak key at byte 32 of the FVEK) */
};

/* The method with this code, or NULL when it is not one bdkit knows. */
const struct bd_method_def *bd_method_lookup(uint16_t code);
/* Display name ("AES-XTS-128"); "none" for 0 (decrypted), "unknown" otherwise. */
const char *bd_method_display_name(uint16_t code);

#endif /* BDKIT_METHOD_H */
