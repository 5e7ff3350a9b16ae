/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The encryption methods, declared once (format.md: the dataset's Method field and §10 sector
 * ciphers). Every other file asks this table: the sector cipher (key lengths, mode), the volume (FVEK
 * length, names), create (what a new volume's FVEK needs), bd_method_parse and the names.
 */
#include <stdio.h>
#include <strings.h>

#include "bdkit/fve.h"
#include "internal.h"
#include "method.h"

static const struct bd_method_def methods[] = {
	{ BD_METHOD_AES_CBC_128_ELEPHANT, "AES-CBC-128-Elephant", "cbc-elephant-128", 16, 64, false, true },
	{ BD_METHOD_AES_CBC_256_ELEPHANT, "AES-CBC-256-Elephant", "cbc-elephant-256", 32, 64, false, true },
	{ BD_METHOD_AES_CBC_128, "AES-CBC-128", "cbc-128", 16, 16, false, false },
	{ BD_METHOD_AES_CBC_256, "AES-CBC-256", "cbc-256", 32, 32, false, false },
	{ BD_METHOD_AES_XTS_128, "AES-XTS-128", "xts-128", 16, 32, true, false },
	{ BD_METHOD_AES_XTS_256, "AES-XTS-256", "xts-256", 32, 64, true, false },
};

const struct bd_method_def *bd_method_lookup(uint16_t code)
{
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (methods[i].code == code)
			return &methods[i];
	return NULL;
}

const char *bd_method_display_name(uint16_t code)
{
	const struct bd_method_def *d = bd_method_lookup(code);

	return d ? d->name : code == 0 ? "none" : "unknown";
}

const char *bd_method_short_name(uint16_t code)
{
	const struct bd_method_def *d = bd_method_lookup(code);

	return d ? d->short_name : "unknown";
}

int bd_method_parse(const char *name, uint16_t *method)
{
	const char *n = name;

	if (!strncasecmp(n, "aes-", 4))
		n += 4;
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		char num[8];
		snprintf(num, sizeof(num), "0x%04x", methods[i].code);
		if (!strcasecmp(n, methods[i].short_name) || !strcasecmp(name, num)) {
			*method = methods[i].code;
			return 0;
		}
	}
	return bd_err(BD_ERR_INVALID, "unknown encryption method '%s'; use one of cbc-128, cbc-256, "
		      "cbc-elephant-128, cbc-elephant-256, xts-128, xts-256", name);
}
