/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidx: the command-line client of ftidxd, built on libftidx. The
 * command line is parsed (ftidx-parse.c) against the table of commands
 * (ftidx-commands.c); each command runs in a file of its kind; its output
 * is flushed and checked, since a full disk or a closed pipe must not
 * pass for success.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftidx-cli.h"
#include "ftidx.h"

/* Standard output written whole, or the exit status for its failure. */
static int close_stdout(struct cli *cli, int status)
{
	int e = 0;

	if (fflush(stdout) != 0 || ferror(stdout))
		e = errno ? errno : EIO;
	if (fclose(stdout) != 0 && !e)
		e = errno ? errno : EIO;
	if (!e)
		return status;
	/* not as JSON: standard output is what failed */
	cli->json = false;
	cli_error(cli, EXIT_REFUSED, e, "cannot write standard output");
	return status == EXIT_OK ? EXIT_REFUSED : status;
}

int main(int argc, char **argv)
{
	struct cli cli = { .timeout_s = -1 };
	char **cmd_argv = NULL;
	int cmd_argc = 0, status;

	status = cli_parse(&cli, argc, argv, &cmd_argc, &cmd_argv);
	if (status < 0) {
		char prog[40];

		/* the command's messages name it: "ftidx list: ..." */
		snprintf(prog, sizeof(prog), "ftidx %s", cli.cmd->name);
		cmd_argv[0] = prog;
		/* each command's getopt loop starts afresh */
		optind = 0;
		status = cli.cmd->fn(&cli, cmd_argc, cmd_argv);
	}
	free(cmd_argv);
	ftidx_unref(cli.c);
	return close_stdout(&cli, status);
}
