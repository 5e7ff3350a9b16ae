/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What bdkit info and bdkit protector list show of a public-key (certificate) protector. */
#ifndef BDKIT_PUBKEY_CLI_H
#define BDKIT_PUBKEY_CLI_H

#include "cli.h"

/* Lines "<indent>certificate: ..." for protector i when it is a public-key protector (else nothing). */
void cli_pubkey_text(bd_volume *v, size_t i, const char *indent);
/* `,"certificate":{...}` for protector i when it is a public-key protector (else nothing). */
void cli_pubkey_json(bd_volume *v, size_t i);

#endif /* BDKIT_PUBKEY_CLI_H */
