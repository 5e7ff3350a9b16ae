/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit: dispatch to one subcommand per file (src/cmd_*.c). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"

struct command {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
};

#define X(n, h) { #n, NULL, h },
static struct command commands[] = { CLI_COMMANDS(X) };
#undef X

static void bind_commands(void)
{
	size_t i = 0;
#define X(n, h) commands[i++].fn = cmd_##n;
	CLI_COMMANDS(X)
#undef X
}

/*
 * Subcommands that live in a program of their own (git style): bdkit-<name> (for example
 * bdkit-escrow, so that bdkit itself links no LDAP or HTTP stack). Where this program lacks
 * cmd_<name> (a weak symbol), it runs the helper with the same arguments. The helper is looked for
 * next to this program (the build tree), then in ../libexec/bdkit/ relative to it (any install
 * prefix), then in BDKIT_HELPERDIR (the configured install directory). 0 with path set when found.
 */
#ifndef BDKIT_HELPERDIR
#define BDKIT_HELPERDIR "/usr/local/libexec/bdkit"
#endif
static int find_helper(const char *name, char *path, size_t len)
{
	char self[PATH_MAX], helper[64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	snprintf(helper, sizeof(helper), "bdkit-%s", name);
	for (char *c = helper; *c; c++)
		if (*c == '_')
			*c = '-';
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			if (strcmp(slash + 1, helper) &&
			    (size_t)snprintf(path, len, "%s/%s", self, helper) < len && !access(path, X_OK))
				return 0;
			if ((size_t)snprintf(path, len, "%s/../libexec/bdkit/%s", self, helper) < len &&
			    !access(path, X_OK))
				return 0;
		}
	}
	if ((size_t)snprintf(path, len, "%s/%s", BDKIT_HELPERDIR, helper) < len && !access(path, X_OK))
		return 0;
	return -1;
}

/* Command names: the identifier with '_' shown and typed as '-'. */
static bool name_matches(const char *ident, const char *typed)
{
	for (; *ident && *typed; ident++, typed++)
		if (*ident != *typed && !(*ident == '_' && *typed == '-'))
			return false;
	return !*ident && !*typed;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit [-v|-q] COMMAND [OPTIONS] ...\n"
		   "Recover, read, write, repair and diagnose BitLocker volumes.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char helper[PATH_MAX];
		if (commands[i].fn || !find_helper(commands[i].name, helper, sizeof(helper))) {
			char name[32];
			snprintf(name, sizeof(name), "%s", commands[i].name);
			for (char *c = name; *c; c++)
				if (*c == '_')
					*c = '-';
			fprintf(f, "  %-17s %s\n", name, commands[i].help);
		}
	}
	fprintf(f, "\n'bdkit COMMAND --help' describes a command; 'man bdkit' lists exit codes.\n");
}

static void log_to_stderr(int level, const char *msg, void *ud)
{
	static const char *names[] = { "error", "warning", "info", "debug" };

	(void)ud;
	char safe[4096];

	if (level <= BD_LOG_WARN || level <= cli_verbose + 1)
		fprintf(stderr, "bdkit: %s: %s\n", names[level & 3], cli_safe(msg, safe, sizeof(safe)));
}

int main(int argc, char **argv)
{
	int i = 1;

	bind_commands();
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			cli_verbose++;
		else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			cli_quiet = 1;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("bdkit %s\n", BDKIT_VERSION);
			return 0;
		} else {
			cli_error("unknown option '%s'", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return 0;
	}
	bd_set_log(log_to_stderr, NULL);
	/* Every command may hold keys: no core dumps (they would hold the FVEK in clear), and no
	 * ptrace or /proc/PID/mem reads by the user's other processes. */
	struct rlimit nocore = { 0, 0 };
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		if (!name_matches(commands[c].name, argv[i]))
			continue;
		if (!commands[c].fn) {
			char helper[PATH_MAX];
			if (!find_helper(commands[c].name, helper, sizeof(helper))) {
				/* The same command line, global options included; the helper is this
				 * main with cmd_<name>, so help, exit codes and output are the same. */
				execv(helper, argv);
				cli_error("cannot run %s: %s", helper, strerror(errno));
				return EXIT_UNSUPPORTED;
			}
			cli_error("'%s' is not available in this build yet", argv[i]);
			return EXIT_UNSUPPORTED;
		}
		optind = 1;
		return commands[c].fn(argc - i, argv + i);
	}
	cli_error("unknown command '%s'", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}
