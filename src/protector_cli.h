/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by bdkit protector, suspend and resume (src/cmd_protector.c). */
#ifndef BDKIT_PROTECTOR_CLI_H
#define BDKIT_PROTECTOR_CLI_H

#include "cli.h"

/* Open VOLUME read-write (or read-only) and unlock it; 0 or an exit code (message printed).
 * Test builds (bdkit-test) only: BDKIT_FAIL_WRITES_AFTER=N makes every write after the first N fail. */
int pcli_open(const char *path, const struct cli_unlock *u, bool writable, bool unlock, bd_volume **v);
/* The backup file for a change: given, or VOLUME.bdkit-backup-<UTC time>[-k].bdkp beside a regular
 * file (the working directory for devices). */
void pcli_backup_name(const char *path, const char *given, int attempt, char *out, size_t len);
/* Run a change with a fresh default backup name until the name is free; prints the outcome.
 * fn(v, opts, data) is the library call. Returns the bd error code. */
int pcli_change(bd_volume *v, const char *path, const char *backup, int force,
		int (*fn)(bd_volume *, const struct bd_change_opts *, void *), void *data, int *written,
		char *backup_used, size_t blen);
/* Print the "what now" lines after a failed change. */
void pcli_failed(int r, const char *what, int written, const char *path, const char *backup);

#endif /* BDKIT_PROTECTOR_CLI_H */
