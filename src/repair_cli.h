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

/* The salvage retry loop of repair and metadata: open path afresh for each metadata source the
 * salvage offers (header copies, a scan, the key package) until one unlocks with u; a wrong key or a
 * missing protector goes on to the next source, any other failure stops. */
struct rcli_salvage {
	const char *path;
	bool writable;
	const struct cli_unlock *u;  /* NULL: take the first source that opens, unlocked by nobody */
	const uint8_t *kp;           /* the key package, to verify what unlocked against it */
	size_t kplen;
	bool repair;                 /* bdkit repair's manner: names each source tried, verifies header
				      * sources too, and says when no source is left (last unlock's code) */
};
/* 0 with *v open (and unlocked when s->u) and *src describing it, or an exit code (message printed,
 * *v NULL). */
int rcli_salvage_unlock(bd_salvage *salv, const struct rcli_salvage *s, bd_volume **v,
			struct bd_salvage_source *src);

#endif /* BDKIT_REPAIR_CLI_H */
