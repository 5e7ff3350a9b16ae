/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the repair, metadata and keypackage subcommands (src/repair_cli.c). */
#ifndef BDKIT_REPAIR_CLI_H
#define BDKIT_REPAIR_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* Read a whole file (at most max bytes) into malloc()ed memory; prints the error; 0 or an exit code. */
int rcli_load_file(const char *path, size_t max, uint8_t **buf, size_t *len);
/* Did the user give any secret option? */
bool rcli_has_secret(const struct cli_unlock *u);
/* Open io for path read-only (or read-write); in test builds (bdkit-test) wrapped by the fault
 * injector when BDKIT_FAULT_RANGES="start:len,..." is set. 0 or an exit code (message printed). */
int rcli_open_io(const char *path, bool writable, struct bd_io **io);
/* A key package (salvage source kind 2) whose volume none of the given secrets opens:
 * says which volume it belongs to; returns EXIT_WRONG_KEY. */
int rcli_kp_mismatch(bd_volume *v);

#endif /* BDKIT_REPAIR_CLI_H */
