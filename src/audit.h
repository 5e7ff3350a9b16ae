/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --audit FILE: the JSON record of a run (src/audit.c). */
#ifndef BDKIT_AUDIT_H
#define BDKIT_AUDIT_H

#include "cli.h"

struct cli_audit {
	const char *path;   /* NULL: no record asked for (every call is then a no-op) */
	int fd;
	void *root;         /* json_object */
	void *unreadable;
	double t0;
};
/* Create the record file (never replacing one); 0 or an exit code. argv[0] is the command name;
 * values of --recovery-password, --password and inline --fvek/--vmk keys are masked. */
int cli_audit_open(struct cli_audit *a, const char *path, int argc, char **argv);
/* The input file and, once open, the volume in it (container, offset, GUID, method, state, size). */
void cli_audit_input(struct cli_audit *a, const char *path, bd_volume *v);
/* Metadata copy in use and how the volume was unlocked (protector ID and kind, never a secret). */
void cli_audit_volume(struct cli_audit *a, bd_volume *v);
void cli_audit_unreadable(struct cli_audit *a, uint64_t start, uint64_t len);
/* The output; sha256 may be NULL; what says what the hash covers. */
void cli_audit_output(struct cli_audit *a, const char *path, uint64_t size, const uint8_t *sha256, const char *what);
void cli_audit_set(struct cli_audit *a, const char *key, const char *value);
void cli_audit_set_obj(struct cli_audit *a, const char *key, void *json_object);
/* Finish (end time, exit code) and write; returns 0 or an exit code. */
int cli_audit_close(struct cli_audit *a, int exit_code);
/* SHA-256 and size of a file (its first `limit` bytes when limit is not 0); 0 or -1. */
int cli_sha256_file(const char *path, uint64_t limit, uint8_t out[32], uint64_t *size);

#endif /* BDKIT_AUDIT_H */
