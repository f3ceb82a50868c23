/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidx: the command-line client of ftidxd, built on libftidx. A table of
 * commands, each parsing its own options, in a file of its kind
 * (ftidx-query.c, ftidx-filter.c, ftidx-change.c, ftidx-hits.c,
 * ftidx-exec.c); output as text or --json.
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

static const struct command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *args;
	const char *help;
} commands[] = {
	{ "status", cmd_status, "", "show the daemon's map and state" },
	{ "resolve", cmd_resolve, "[--per-pattern] PATTERN...",
	  "print what PATTERNs select: INDEX<TAB>LINE" },
	{ "name", cmd_name, "INDEX...", "print the line of each INDEX" },
	{ "list", cmd_list, "[--module M] [--placeholders] [--addresses] | --path",
	  "print every line with its index (and address)" },
	{ "set", cmd_set, "PATTERN...", "replace the filter with what PATTERNs select" },
	{ "add", cmd_add, "PATTERN...", "add to the filter ('!PATTERN' removes)" },
	{ "remove", cmd_remove, "PATTERN...", "remove what PATTERNs select from the filter" },
	{ "clear", cmd_clear, "", "empty the filter (the tracer then traces everything)" },
	{ "change", cmd_change, "FILE=OP PATTERN... [FILE=OP PATTERN...]...",
	  "change several filter files of one instance, all or none" },
	{ "remove-instance", cmd_remove_instance, "NAME",
	  "remove an instance ftidxd created (--create)" },
	{ "hits", cmd_hits, "[--instance N] [--seconds S]",
	  "count calls to the filter's functions for S s (5)" },
	{ "exec", cmd_exec, "-- COMMAND [ARG]...",
	  "run COMMAND (trace-cmd...) with libtracefs's filters through ftidxd" },
	{ "version", cmd_version, "", "show the daemon's version and what it can do" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ftidx [--socket PATH] [--json] [--timeout S] [--last-map] COMMAND [OPTION]...\n"
		   "             [ARG]...\n"
		   "Resolve kernel functions to ftrace indices and change filters through ftidxd.\n"
		   "\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		/* too long: the help on a line of its own */
		if (strlen(commands[i].name) + strlen(commands[i].args) > 38)
			fprintf(f, "  %-8s %s\n  %-8s %-30s %s\n", commands[i].name,
				commands[i].args, "", "", commands[i].help);
		else
			fprintf(f, "  %-8s %-*s %s\n", commands[i].name,
				(int)(38 - MAX(strlen(commands[i].name), (size_t)8)), commands[i].args,
				commands[i].help);
	fprintf(f,
		"\nPatterns are read as the kernel reads them: foo, foo*, *foo, *foo*, globs with\n"
		"*, ? and [...], FUNC:mod:MODULE, :mod:MODULE, !PATTERN (removal), or a line\n"
		"INDEX. A PATTERN of '-' reads patterns from standard input, one per line.\n"
		"\nOptions of set, add, remove and clear:\n"
		"  -i, --instance NAME   work on instances/NAME instead of the top level\n"
		"  -c, --create          create the instance if it does not exist\n"
		"  -n, --notrace         change set_ftrace_notrace\n"
		"  -g, --graph           change set_graph_function (names, not indices)\n"
		"  -G, --graph-notrace   change set_graph_notrace (names, not indices)\n"
		"      --generation N    refuse if the map changed since generation N\n"
		"      --allow-empty     let it leave set_ftrace_filter or set_graph_function\n"
		"                        empty, which traces every function (else refused)\n"
		"\nchange takes FILE=OP before each file's patterns: FILE is filter, notrace,\n"
		"graph or graph-notrace, OP is set, add, remove or clear; with --instance,\n"
		"--create, --generation and --allow-empty as above. Every file changes, or\n"
		"none does.\n"
		"resolve --per-pattern prints PATTERN<TAB>MATCHES<TAB>INDEX... instead.\n"
		"\nhits runs the function tracer in an instance of its own over what the\n"
		"filter enables (less notrace), and prints CALLS<TAB>INDEX<TAB>LINE for each\n"
		"function that fired, most calls first (INDEX 0: the name is on several lines\n"
		"and the kernel, older than 6.5, lists no addresses to tell them apart):\n"
		"  -i, --instance NAME   count the filter of instances/NAME\n"
		"  -t, --seconds S       count for S seconds, 1 to "
		STRINGIFY(FTIDX_HITS_SECONDS_MAX) " (default: 5)\n"
		"\nGlobal options:\n"
		"  -s, --socket PATH     the daemon's socket (default: $FTIDX_SOCKET, else\n"
		"                        " FTIDX_DEFAULT_SOCKET ")\n"
		"  -j, --json            print JSON\n"
		"      --timeout S       wait S seconds for an answer, 0 for ever (default: 120)\n"
		"      --last-map        answer from the map ftidxd has, at once, rather than wait\n"
		"                        for the kernel's after a module change (up to ftidxd's\n"
		"                        --map-wait, 60 s)\n"
		"  -h, --help            show this help\n"
		"  -V, --version         show the version\n"
		"\nExit status: 0 success; 1 the request was refused (a pattern matched nothing\n"
		"or was malformed, the map changed, the write failed, a limit of the protocol);\n"
		"2 bad usage; 3 the daemon could not be reached or answered nonsense; 4 answered,\n"
		"but from a map behind the kernel's (a module came or went; said on stderr);\n"
		"5 no answer within --timeout (the daemon may still be working on it).\n");
}

int main(int argc, char **argv)
{
	enum { OPT_TIMEOUT = 0x100, OPT_LAST_MAP };
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "last-map", no_argument, NULL, OPT_LAST_MAP },
		{ 0 },
	};
	struct cli cli = { .timeout_s = -1 };
	char *end;
	const struct command *cmd = NULL;
	char prog[32];
	int c, status;

	while ((c = getopt_long(argc, argv, "+s:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			cli.socket = optarg;
			break;
		case 'j':
			cli.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("ftidx %s\n", FTIDX_VERSION);
			return EXIT_OK;
		case OPT_TIMEOUT:
			errno = 0;
			cli.timeout_s = strtol(optarg, &end, 10);
			/* a day at most: the library counts in ms */
			if (errno || *end || end == optarg || cli.timeout_s < 0 ||
			    cli.timeout_s > 86400) {
				fprintf(stderr, "ftidx: --timeout takes seconds, 0 (wait for ever) "
						"to 86400\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_LAST_MAP:
			cli.last_map = true;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "ftidx: unknown command '%s' (see ftidx --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	/* Each command connects once its own arguments are judged, so that a
	 * usage error is reported as one even with no daemon running. */
	argv += optind;
	argc -= optind;
	/* getopt names argv[0] in its complaints: "ftidx list: ...", not "list: ...". */
	snprintf(prog, sizeof(prog), "ftidx %s", cmd->name);
	argv[0] = prog;
	optind = 0; /* restart getopt for the command's own options */
	status = cmd->fn(&cli, argc, argv);
	ftidx_unref(cli.c);
	return status;
}
