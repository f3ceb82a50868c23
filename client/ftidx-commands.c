/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The commands of ftidx: their options and their help, in one table
 * (kmod's and wireguard-tools' way), which the parser, the help and the
 * shell completions all read.
 */
#include <string.h>

#include "ftidx-cli.h"
#include "macro.h"

const struct cli_option cli_global_options[] = {
    {"socket", 's', "PATH",
     "the daemon's socket (default: $FTIDX_SOCKET, else " FTIDX_DEFAULT_SOCKET ")", 's'},
    {"json", 'j', NULL, "print JSON, refusals and errors too (on standard output)", 'j'},
    {"quiet", 'q', NULL, "no summaries or progress on standard error, only errors", 'q'},
    {"timeout", 0, "S", "wait S seconds for an answer, 0 for ever (default: 120)", OPT_TIMEOUT},
    {"last-map", 0, NULL,
     "answer from the map ftidxd has, at once, rather than wait for the kernel's after a "
     "module change (up to ftidxd's --map-wait, 60 s)",
     OPT_LAST_MAP},
    {"help", 'h', NULL, "show the help (of the command, after one)", 'h'},
    {"version", 'V', NULL, "show ftidx's version ('ftidx version': the daemon's too)", 'V'},
    {0},
};

static const struct cli_option resolve_opts[] = {
    {"per-pattern", 'p', NULL, "per pattern: PATTERN<TAB>MATCHES<TAB>INDEX...", 'p'},
    {0},
};

static const struct cli_option list_opts[] = {
    {"module", 'm', "M", "only module M's lines ('' for the core kernel)", 'm'},
    {"placeholders", 'p', NULL, "placeholder lines too (__ftrace_invalid_address___N)", 'p'},
    {"addresses", 'a', NULL, "INDEX<TAB>ADDRESS<TAB>LINE (root and the write group only)", 'a'},
    {"path", 0, NULL, "print the path of ftidxd's copy of the function list instead", OPT_PATH},
    {0},
};

/* Which file of which instance: set, add, remove, clear and show. */
/* clang-format off */
#define FILE_OPTIONS                                                                               \
	{"instance", 'i', "NAME", "instances/NAME instead of the top level", 'i'},                 \
	{"notrace", 'n', NULL, "set_ftrace_notrace instead of set_ftrace_filter", 'n'},            \
	{"graph", 'g', NULL, "set_graph_function (function_graph; names, not indices)", 'g'},      \
	{"graph-notrace", 'G', NULL, "set_graph_notrace (function_graph; names, not indices)", 'G'}
/* clang-format on */

static const struct cli_option show_opts[] = {
    FILE_OPTIONS,
    {0},
};

/* What a change may do beside its patterns: set, add, remove, clear and
 * change. */
/* clang-format off */
#define CHANGE_OPTIONS                                                                             \
	{"create", 'c', NULL, "create the instance if it does not exist", 'c'},                    \
	{"generation", 0, "N", "refuse if the map changed since generation N (ftidx status)",      \
	 OPT_GENERATION},                                                                          \
	{"allow-empty", 0, NULL,                                                                   \
	 "let it leave set_ftrace_filter or set_graph_function empty, which traces every "         \
	 "function (else refused)",                                                                \
	 OPT_ALLOW_EMPTY}
/* clang-format on */

static const struct cli_option filter_opts[] = {
    FILE_OPTIONS,
    CHANGE_OPTIONS,
    {0},
};

static const struct cli_option change_opts[] = {
    {"instance", 'i', "NAME", "instances/NAME instead of the top level", 'i'},
    CHANGE_OPTIONS,
    {0},
};

static const struct cli_option hits_opts[] = {
    {"instance", 'i', "NAME", "count the filter of instances/NAME", 'i'},
    {"seconds", 't', "S",
     "count for S seconds, 1 to " STRINGIFY(FTIDX_HITS_SECONDS_MAX) " (default: 5)", 't'},
    {0},
};

static const struct cli_option no_opts[] = {{0}};

#define PATTERNS_HELP                                                                              \
	"Patterns mean what they mean to the kernel written by name: foo, foo*, *foo,\n"           \
	"*foo*, globs with *, ? and [...], FUNC:mod:MODULE, :mod:MODULE, !PATTERN (a\n"            \
	"removal), or a line INDEX. An argument, like a write to the kernel, may hold\n"           \
	"several, separated by spaces. A PATTERN of '-' reads them from standard input,\n"         \
	"lines copied from available_filter_functions included ('name [module]' reads as\n"        \
	"name:mod:module); lines starting with '#' are comments. No pattern at all, or an\n"       \
	"empty standard input, is a usage error (exit status 2).\n"

const struct command cli_commands[] = {
    {"status", cmd_status, "", "show the daemon and its map, and the filters ftidx wrote", no_opts,
     "Shows the map (lines, placeholders, modules, its generation), the tracing\n"
     "directory, the kernel's matching rules, the daemon (version, pid, uptime,\n"
     "socket), and each filter ftidx wrote: how many functions, whether the file\n"
     "still holds them, and the probes and module patterns a user keeps beside them.\n"},
    {"resolve", cmd_resolve, "[-p] PATTERN...", "print what the patterns select: INDEX<TAB>LINE",
     resolve_opts,
     "Prints each function the patterns select, in index order: its index, a tab, and\n"
     "its line as available_filter_functions shows it. Exit status 1 if a pattern\n"
     "matches nothing or is malformed (each is named on standard error).\n\n" PATTERNS_HELP
     "\nExample: grep ^ext4_ /sys/kernel/tracing/available_filter_functions |\n"
     "         ftidx resolve -\n"},
    {"name", cmd_name, "INDEX...", "print the line of each INDEX", no_opts,
     "Prints each index with its line. INDEX '-' reads indices from standard input,\n"
     "separated by whitespace. Exit status 1 if an index is past the map.\n"},
    {"list", cmd_list, "[-m M] [-p] [-a] [PATTERN...] | --path",
     "print functions with their indices (or what PATTERNs select)", list_opts,
     "Prints every line of the map (or of module M) with its index; with PATTERNs,\n"
     "only the lines they select, as 'trace-cmd list -f PATTERN' does, but with the\n"
     "kernel's globs rather than regular expressions (exit status 1 when they select\n"
     "nothing). --path prints the path of ftidxd's published copy of\n"
     "available_filter_functions, for tools that only read the list.\n"},
    {"show", cmd_show, "[-i NAME] [-n|-g|-G]",
     "show a filter as it is, and whether it holds what ftidx wrote", show_opts,
     "Reads the filter file from the kernel (through ftidxd) and prints each function\n"
     "as INDEX<TAB>LINE, then each function probe as 'probe<TAB>LINE' and each pattern\n"
     "kept for a module not loaded as 'module<TAB>LINE': a user's, not ftidx's. A\n"
     "function ftidx did not write there ends with '<TAB>(not ftidx's)'. Standard error\n"
     "says whether the file still holds what ftidx wrote. Root and ftidxd's write\n"
     "group only.\n"},
    {"set", cmd_set, "[OPTION]... PATTERN...", "replace the filter with what the patterns select",
     filter_opts,
     "Replaces the filter with what the patterns select. A set that selects nothing is\n"
     "refused: an empty filter traces every function. Prints what the file holds\n"
     "now, and how many functions came and went.\n\n" PATTERNS_HELP
     "\nExample: ftidx set 'tcp_*' '!tcp_poll'\n"
     "         ftidx set -i mytrace -c -n 'rcu_*'\n"},
    {"add", cmd_add, "[OPTION]... PATTERN...", "add to the filter ('!PATTERN' removes)",
     filter_opts,
     "Adds what the patterns select to the filter; a !PATTERN removes what it\n"
     "selects. Prints what the file holds now.\n\n" PATTERNS_HELP},
    {"remove", cmd_remove, "[OPTION]... PATTERN...",
     "remove what the patterns select from the filter", filter_opts,
     "Removes what the patterns select from the filter, and prints how many of them\n"
     "it held and what it holds now.\n\n" PATTERNS_HELP},
    {"clear", cmd_clear, "[OPTION]...", "empty the filter (the tracer then traces everything)",
     filter_opts, "Empties the filter: the tracer then traces every function.\n"},
    {"change", cmd_change, "[-i NAME] [-c] [--generation N] [--allow-empty] FILE=OP PATTERN...",
     "change several filter files of one instance, all or none", change_opts,
     "Changes several filter files of one instance at once: every file changes, or\n"
     "none does. FILE=OP begins each file's patterns: FILE is filter, notrace, graph or\n"
     "graph-notrace, each at most once; OP is set, add, remove or clear (which takes no\n"
     "patterns).\n\n"
     "Example: ftidx change -i mytrace -c filter=set 'tcp_*' notrace=set tcp_poll\n"},
    {"hits", cmd_hits, "[-i NAME] [-t S]", "count calls to the filter's functions for S s",
     hits_opts,
     "Runs the function tracer in an instance of its own over what the filter enables\n"
     "(less notrace) and prints CALLS<TAB>INDEX<TAB>LINE for each function that\n"
     "fired, most calls first (INDEX 0: the name is on several lines and the kernel,\n"
     "older than 6.5, lists no addresses to tell them apart); a summary on standard\n"
     "error. Root and ftidxd's write group only.\n"},
    {"exec", cmd_exec, "[-s PATH] [--] COMMAND [ARG]...",
     "run trace-cmd (or COMMAND) with filters written by ftidxd", no_opts,
     "Runs COMMAND with the libtracefs drop-in preloaded: its calls to\n"
     "tracefs_function_filter() go through ftidxd, which writes indices; its reads of\n"
     "available_filter_functions get ftidxd's copy. ftidx's options come before\n"
     "COMMAND; everything after it is COMMAND's. The drop-in is $FTIDX_PRELOAD, else\n"
     "the one beside the ftidx binary (a build tree), else the installed one; one that\n"
     "cannot be loaded is an error (exit status 127), not a run without it.\n\n"
     "Example: ftidx exec -- trace-cmd record -p function -l 'vfs_*' ls\n",
     .stops_at_command = true},
    {"remove-instance", cmd_remove_instance, "NAME", "remove an instance ftidxd created (--create)",
     no_opts,
     "Removes instances/NAME, which ftidxd created for a request with --create since\n"
     "it started. Any other instance is someone else's, and refused.\n"},
    {"version", cmd_version, "", "show the versions of ftidx and ftidxd, and what it can do",
     no_opts, NULL},
    {"help", cmd_help, "[COMMAND]", "show the help of ftidx, or of COMMAND", no_opts, NULL},
    /* the shell completions ask the daemon through this */
    {"__complete", cmd_complete, "WHAT [WORD]", "", no_opts, NULL, .stops_at_command = true,
     .hidden = true},
    {0},
};

const struct command *cli_find_command(const char *name)
{
	for (const struct command *cmd = cli_commands; cmd->name; cmd++)
		if (strcmp(cmd->name, name) == 0)
			return cmd;
	return NULL;
}

/* "  -i, --instance NAME   help", folded at 80 columns. */
static void print_options(FILE *f, const struct cli_option *o)
{
	for (; o->name; o++) {
		int n = o->letter ? fprintf(f, "  -%c, --%s", o->letter, o->name)
				  : fprintf(f, "      --%s", o->name);
		const char *text = o->help;

		if (o->arg)
			n += fprintf(f, " %s", o->arg);
		if (n > 24) {
			fputc('\n', f);
			n = 0;
		}
		while (*text) {
			size_t room = 80 - 26, len = strlen(text);

			if (len > room) {
				len = room;
				while (len > 0 && text[len] != ' ')
					len--;
			}
			fprintf(f, "%*s%.*s\n", 26 - n, "", (int)len, text);
			text += len + (text[len] == ' ');
			n = 0;
		}
	}
}

void cli_usage(FILE *f)
{
	fputs("Usage: ftidx [OPTION]... COMMAND [ARG]...\n"
	      "Enable kernel functions for ftrace by index, through ftidxd: thousands in\n"
	      "milliseconds, never a stale index.\n\nCommands:\n",
	      f);
	for (const struct command *cmd = cli_commands; cmd->name; cmd++)
		if (!cmd->hidden)
			fprintf(f, "  %-16s %s\n", cmd->name, cmd->summary);
	fputs("\nOptions, before or after the command:\n", f);
	print_options(f, cli_global_options);
	fputs("\n'ftidx help COMMAND' or 'ftidx COMMAND --help' shows a command's options.\n"
	      "Start with 'ftidx status', then 'ftidx set PATTERN...', 'ftidx show', and\n"
	      "'ftidx exec -- trace-cmd ...'.\n"
	      "\nExit status: 0 success; 1 the request was refused (a pattern matched nothing\n"
	      "or was malformed, the map changed, the write failed, no right to), or the\n"
	      "answer could not be written out; 2 bad usage; 3 the daemon could not be\n"
	      "reached or answered nonsense; 4 answered, but from a map behind the kernel's\n"
	      "(a module came or went; said on standard error); 5 no answer within --timeout\n"
	      "(the daemon may still be working on it).\n",
	      f);
}

void cli_command_help(FILE *f, const struct command *cmd)
{
	fprintf(f, "Usage: ftidx %s%s%s\n", cmd->name, cmd->synopsis[0] ? " " : "", cmd->synopsis);
	/* the summary as a sentence */
	if (cmd->summary[0])
		fprintf(f, "%c%s.\n",
			cmd->summary[0] >= 'a' && cmd->summary[0] <= 'z'
			    ? cmd->summary[0] - ('a' - 'A')
			    : cmd->summary[0],
			cmd->summary + 1);
	if (cmd->opts[0].name) {
		fputs("\nOptions:\n", f);
		print_options(f, cmd->opts);
	}
	if (cmd->help)
		fprintf(f, "\n%s", cmd->help);
	fputs("\nOptions of every command (before or after it): -s PATH, -j, -q (ftidx --help).\n",
	      f);
}

void cli_command_usage_short(FILE *f, const struct command *cmd)
{
	fprintf(f, "Usage: ftidx %s%s%s\nSee 'ftidx help %s'.\n", cmd->name,
		cmd->synopsis[0] ? " " : "", cmd->synopsis, cmd->name);
}

int cmd_help(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		cli_usage(stdout);
		return EXIT_OK;
	}
	if (argc > 2)
		return cli_error(cli, EXIT_USAGE, 0, "shows one command's help, not '%s'", argv[2]);
	cmd = cli_find_command(argv[1]);
	if (!cmd || cmd->hidden)
		return cli_unknown_command(cli, argv[1]);
	cli_command_help(stdout, cmd);
	return EXIT_OK;
}
