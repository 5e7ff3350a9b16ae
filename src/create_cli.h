/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Options and output shared by `bdkit format` and `bdkit encrypt` (src/create_cli.c). */
#ifndef BDKIT_CREATE_CLI_H
#define BDKIT_CREATE_CLI_H

#include <stdbool.h>

#include "cli.h"

enum {
	OPT_C_METHOD = OPT_CLI_LAST + 1, OPT_C_SECTOR_SIZE, OPT_C_DESCRIPTION, OPT_C_NO_RECOVERY,
	OPT_C_RECOVERY_KEY_FILE, OPT_C_PASSWORD_FILE, OPT_C_PASSWORD, OPT_C_BEK_DIR, OPT_C_FORCE,
	OPT_C_JSON, OPT_C_SIZE, OPT_C_MKFS, OPT_C_LABEL, OPT_C_OUTPUT, OPT_C_TO_GO,
	OPT_C_HELP,   /* keep last: cmd_*.c number their own options from OPT_C_HELP + 1 */
};

#define CREATE_CLI_OPTIONS \
	{ "method", required_argument, 0, OPT_C_METHOD }, \
	{ "sector-size", required_argument, 0, OPT_C_SECTOR_SIZE }, \
	{ "description", required_argument, 0, OPT_C_DESCRIPTION }, \
	{ "no-recovery-password", no_argument, 0, OPT_C_NO_RECOVERY }, \
	{ "recovery-key-file", required_argument, 0, OPT_C_RECOVERY_KEY_FILE }, \
	{ "password-file", required_argument, 0, OPT_C_PASSWORD_FILE }, \
	{ "password", required_argument, 0, OPT_C_PASSWORD }, \
	{ "bek-dir", required_argument, 0, OPT_C_BEK_DIR }, \
	{ "force", no_argument, 0, OPT_C_FORCE }, \
	{ "to-go", no_argument, 0, OPT_C_TO_GO }, \
	{ "json", no_argument, 0, OPT_C_JSON }, \
	{ "size", required_argument, 0, OPT_C_SIZE }, \
	{ "help", no_argument, 0, OPT_C_HELP }

extern const char create_cli_help[];

struct create_cli {
	struct bd_create_opts o;
	char *password;            /* read from the file, locked memory */
	size_t password_len;
	const char *recovery_dir;  /* --recovery-key-file DIR */
	const char *bek_dir;
	bool json;
	bool help;
	uint64_t size;             /* --size */
	bool created_ok;           /* set by create_cli_run: the volume was written */
	bool refused;              /* set by create_cli_run: bd_create refused before writing */
};

void create_cli_init(struct create_cli *c);
/* 1 handled, 0 not ours, -1 bad value (message printed). */
int create_cli_option(struct create_cli *c, int opt, char *arg);
/* After parsing: check combinations, read the password. Returns an exit code. */
int create_cli_finish(struct create_cli *c);
void create_cli_free(struct create_cli *c);
/* The last branch of a getopt loop: 0 when opt was a shared option; else usage(stderr) for an
 * unknown one, free c and return EXIT_USAGE for the subcommand to return. */
int create_cli_getopt(struct create_cli *c, int opt, char *arg, void (*usage)(FILE *));
/* usage(f), free c; EXIT_OK when f is stdout (--help), else EXIT_USAGE. */
int create_cli_usage(struct create_cli *c, void (*usage)(FILE *), FILE *f);

/*
 * Open (creating when absent) target for a volume of `size` bytes (0: the existing
 * size). *created tells whether the file was made here; *old_size its size before.
 */
int create_cli_open_target(const char *path, uint64_t size, struct bd_io **io, bool *created,
			   uint64_t *old_size);
/* Undo create_cli_open_target after a refusal: remove a created file, restore the size. */
void create_cli_undo_target(const char *path, bool created, uint64_t old_size);

/* Run bd_create with a progress bar, write the protector files, print the result. */
int create_cli_run(struct create_cli *c, struct bd_io *target, const char *target_name);

#endif /* BDKIT_CREATE_CLI_H */
