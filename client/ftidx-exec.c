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

#include "elf-preload.h"
#include "ftidx-cli.h"
#include "ftidx.h"
#include "growbuf.h"
#include "macro.h"

/* Whether @name, as execvp() would find it on $PATH, is reached by the
 * preload (what cannot be found is taken as reached: execvp() says why). */
static bool reached(const char *name)
{
	const char *path = getenv("PATH");
	char full[4096];

	if (strchr(name, '/'))
		return elf_preload_reaches(name, 0);
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		if (snprintf(full, sizeof(full), "%.*s/%s", (int)len, len ? p : ".", name) <
			    (int)sizeof(full) &&
		    access(full, X_OK) == 0)
			return elf_preload_reaches(full, 0);
		p += len + (p[len] == ':');
	}
	return true;
}

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
	if (!reached(argv[0]))
		fprintf(stderr, "ftidx exec: %s is linked statically (or for another machine): no "
				"preload reaches it, and it runs as it would without ftidx\n",
			argv[0]);
	execvp(argv[0], argv);
	fprintf(stderr, "ftidx exec: cannot run %s: %s\n", argv[0], strerror(errno));
	return 127;
}
