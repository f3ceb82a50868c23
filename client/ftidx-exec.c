/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidx exec: a program run with libtracefs's filters through ftidxd.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftidx-cli.h"
#include "ftidx.h"
#include "growbuf.h"
#include "macro.h"

/*
 * Run a program with the libtracefs drop-in preloaded: its calls to
 * tracefs_function_filter() and tracefs_function_notrace() go through
 * ftidxd. Needs no daemon itself: the drop-in falls back to libtracefs.
 */
int cmd_exec(struct cli *cli, int argc, char **argv)
{
	const char *dropin = getenv("FTIDX_PRELOAD"), *old = getenv("LD_PRELOAD");
	char *preload = NULL;

	argv++;
	argc--;
	if (argc > 0 && strcmp(argv[0], "--") == 0) {
		argv++;
		argc--;
	}
	if (argc < 1) {
		fprintf(stderr, "ftidx exec: which command? ftidx exec -- COMMAND [ARG]...\n");
		return EXIT_USAGE;
	}
	if (!dropin || !dropin[0])
		dropin = FTIDX_PRELOAD_PATH;
	if (asprintf(&preload, "%s%s%s", dropin, old && old[0] ? ":" : "", old ? old : "") < 0 ||
	    setenv("LD_PRELOAD", preload, 1) < 0 ||
	    (cli->socket && setenv("FTIDX_SOCKET", cli->socket, 1) < 0)) {
		fprintf(stderr, "ftidx exec: out of memory\n");
		free(preload);
		return EXIT_REFUSED;
	}
	free(preload);
	execvp(argv[0], argv);
	fprintf(stderr, "ftidx exec: cannot run %s: %s\n", argv[0], strerror(errno));
	return 127;
}
