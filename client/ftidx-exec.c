/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidx exec: a program run with libtracefs's filters through ftidxd.
 *
 * The drop-in is $FTIDX_PRELOAD, else the one beside this binary (a build
 * tree: client/ftidx and client/libftidx-tracefs.so; "meson devenv" sets
 * FTIDX_PRELOAD too), else the installed one. It is loaded here first:
 * one that cannot be loaded would make ld.so say so for every process
 * and run the program without it, which must not pass for a run through
 * ftidxd.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf-preload.h"
#include "ftidx-cli.h"
#include "ftidx.h"
#include "macro.h"

#define DROPIN_NAME "libftidx-tracefs.so"

/* The drop-in beside the running binary, in @buf, if there is one. */
static bool dropin_beside_binary(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return false;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if ((size_t)snprintf(buf, size, "%s/" DROPIN_NAME, exe) >= size)
		return false;
	return access(buf, R_OK) == 0;
}

/* Which drop-in: $FTIDX_PRELOAD, the one beside the binary (in @buf),
 * or the installed one. */
static const char *find_dropin(char *buf, size_t size)
{
	const char *env = getenv("FTIDX_PRELOAD");

	if (env && env[0])
		return env;
	return dropin_beside_binary(buf, size) ? buf : FTIDX_PRELOAD_PATH;
}

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
	const char *old = getenv("LD_PRELOAD"), *dropin;
	char beside[PATH_MAX];
	char *preload = NULL;
	void *handle;

	if (argc < 2)
		return cli_error(cli, EXIT_USAGE, 0,
				 "which command? ftidx exec -- COMMAND [ARG]...");
	dropin = find_dropin(beside, sizeof(beside));
	/* it has no constructor, and needs nothing libtracefs brings: loading
	 * it here runs nothing of it */
	handle = dlopen(dropin, RTLD_LAZY | RTLD_LOCAL);
	if (!handle) {
		cli_error(cli, 127, 0,
			  "cannot load the libtracefs drop-in: %s (set FTIDX_PRELOAD to its path, "
			  "or run the ftidx of its build tree)",
			  dlerror());
		return 127;
	}
	dlclose(handle);
	if (asprintf(&preload, "%s%s%s", dropin, old && old[0] ? ":" : "", old ? old : "") < 0 ||
	    setenv("LD_PRELOAD", preload, 1) < 0 ||
	    (cli->socket && setenv("FTIDX_SOCKET", cli->socket, 1) < 0)) {
		free(preload);
		return cli_error(cli, EXIT_DAEMON, ENOMEM, "out of memory");
	}
	free(preload);
	if (!reached(argv[1]))
		fprintf(stderr, "ftidx exec: %s is linked statically (or for another machine): no "
				"preload reaches it, and it runs as it would without ftidx\n",
			argv[1]);
	/* what ftidx printed so far goes before the program's */
	fflush(stdout);
	execvp(argv[1], argv + 1);
	return cli_error(cli, 127, errno, "cannot run %s", argv[1]);
}
