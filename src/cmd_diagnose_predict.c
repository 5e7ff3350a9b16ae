/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit diagnose predict: will this change send the machine into BitLocker recovery? */
#include "eventlog_cli.h"

int cmd_diagnose_predict(int argc, char **argv);

int cmd_diagnose_predict(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_error("diagnose predict: not available yet");
	return EXIT_UNSUPPORTED;
}
