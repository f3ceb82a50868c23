/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the ftidx command's files share:
 *   ftidx.c           main: the command line parsed, the command run, its
 *                     output flushed and checked
 *   ftidx-commands.c  the table of commands, their options and their help
 *   ftidx-parse.c     the command line: global options anywhere, each
 *                     command's options, "did you mean"
 *   ftidx-common.c    patterns read as the kernel reads a write, JSON,
 *                     connecting, reporting a refusal or an error
 *   ftidx-query.c, ftidx-filter.c, ftidx-change.c, ftidx-hits.c,
 *   ftidx-show.c, ftidx-exec.c, ftidx-complete.c   the commands
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ftidx.h"
#include "growbuf.h"

enum exit_status {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* the daemon refused: a pattern matched nothing, ...;
			     or the answer could not be written out */
	EXIT_USAGE = 2,
	EXIT_DAEMON = 3, /* the daemon cannot be reached, or spoke nonsense */
	EXIT_BEHIND = 4, /* answered, from a map behind the kernel's (said on stderr) */
	EXIT_TIMEOUT = 5, /* no answer within --timeout: the daemon may still work on it */
};

struct cli;

/* An option of a command (or a global one): its long name, its letter
 * (0: none), the name of its argument (NULL: none), its help, and the
 * value cli_getopt() returns for it (its letter, or one of OPT_*). */
struct cli_option {
	const char *name;
	char letter;
	const char *arg;
	const char *help;
	int val;
};

/* Options without a letter. */
enum {
	OPT_GENERATION = 0x100,
	OPT_PATH,
	OPT_NAMES,
	OPT_TIMEOUT,
	OPT_LAST_MAP,
	OPT_ALLOW_EMPTY,
};

struct command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *synopsis;         /* after "ftidx NAME " */
	const char *summary;          /* one line, for the list of commands */
	const struct cli_option *opts; /* ends with { 0 } */
	const char *help;             /* what follows the options in its help */
	bool stops_at_command;        /* exec: options only before the program */
	bool hidden;                  /* __complete: not listed, not suggested */
};

struct cli {
	const char *socket;
	bool json;
	bool last_map;       /* --last-map: the map ftidxd has, at once */
	long timeout_s;      /* --timeout, or -1: libftidx's (120 s) */
	bool progress_shown; /* a progress line is on the terminal */
	bool quiet; /* no progress and no summaries on stderr, errors only */
	const struct command *cmd;
	struct ftidx *c;
};

/* ---- ftidx-commands.c ---- */

extern const struct command cli_commands[];
extern const struct cli_option cli_global_options[];
const struct command *cli_find_command(const char *name);
/* The whole help (ftidx --help, ftidx help), and one command's. */
void cli_usage(FILE *f);
void cli_command_help(FILE *f, const struct command *cmd);
/* "Usage: ftidx set [OPTION]... PATTERN..." and where the help is. */
void cli_command_usage_short(FILE *f, const struct command *cmd);

/* ---- ftidx-parse.c ---- */

/*
 * The command line into @cli and the command's own argument vector in
 * *@cmd_argc, *@cmd_argv (its argv[0] "ftidx NAME", its options, then
 * "--" and its operands when it has options; malloc'd, free() it).
 * Global options (--socket, --json, --quiet...) are taken anywhere, as
 * git and trace-cmd take theirs, before the command or after it; exec's
 * stop at the program to run. Returns -1 to run the command, or the exit
 * status (after --help, --version, or a usage error said on stderr).
 */
int cli_parse(struct cli *cli, int argc, char **argv, int *cmd_argc, char ***cmd_argv);

/* getopt_long() over the options of the command being run (cli->cmd):
 * their values as struct cli_option says, -1 at the end; optind as
 * getopt's. The command line was judged already. */
int cli_getopt(struct cli *cli, int argc, char **argv);

/* "'X' is not an ftidx command; did you mean 'Y'?": EXIT_USAGE. */
int cli_unknown_command(struct cli *cli, const char *name);

/* The closest of @n @names to @typo, if close enough to be a typo, or NULL. */
const char *cli_suggest(const char *typo, const char *const *names, size_t n);

/* ---- ftidx-common.c ---- */

/* Patterns: a growbuf of pointers (growbuf.h) into the command line, into
 * standard input (read whole into @text), or into @made (tokens ftidx
 * rewrote: "name:mod:module"). */
struct strv {
	struct growbuf buf;
	char **v; /* buf.data, once filled */
	size_t n;
	char *text;
	struct growbuf made; /* char *, each malloc'd */
	bool read_stdin;     /* "-" was given */
};

int strv_push(struct strv *sv, char *s);
void strv_free(struct strv *sv);

/* @s as a JSON string. */
void json_str(const char *s);
/* A line "name" or "name [module]" as JSON members: "line":...,
 * "name":...,"module":... (null for the core kernel). */
void json_line(const char *line);
/* The symbolic name of errno value @e ("ENOENT"), for JSON. */
const char *errno_name(int e);

/*
 * Arguments as the kernel reads a write: each is split at whitespace, as
 * is each line of standard input for an argument "-"; a token "[module]"
 * after a name, as available_filter_functions lists module functions,
 * makes "name:mod:module"; lines starting with '#' are comments. Appended
 * to @out. 0, or -errno (said on stderr).
 */
int collect_patterns(int argc, char **argv, struct strv *out);

/* Connect, or say why not: EXIT_OK or EXIT_DAEMON. The connection
 * waits for the kernel's current map (or not: --last-map), within
 * --timeout, and says on a terminal what a long request waits for. */
int connect_daemon(struct cli *cli);

/* Take a progress line off the terminal, if one is there. */
void progress_done(struct cli *cli);

/* Whether read result @res came from a map behind the kernel's: if so,
 * a warning naming the generations on stderr, and EXIT_BEHIND; else
 * EXIT_OK. */
int check_behind(struct cli *cli, const struct ftidx_result *res);

/* Say why a request failed (per pattern of @tokens, where @res has
 * them), on stderr and with --json as JSON on stdout; returns the exit
 * status for it. */
int report_failure(struct cli *cli, int r, const struct ftidx_result *res, struct strv *tokens);

/* Say an error of ftidx's own (@status: EXIT_USAGE...; @err: an errno
 * value or 0), on stderr as "ftidx CMD: ..." and with --json as JSON on
 * stdout. Returns @status. */
int cli_error(struct cli *cli, int status, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* --generation's argument: a typo must not turn into 0, which skips the
 * stale-map check. 0, or -EINVAL (said). */
int parse_generation(struct cli *cli, const char *arg, uint64_t *out);

/* "set_ftrace_filter"... for enum ftidx_file @file; "?" for others. */
const char *file_name(int file);

/* Lines as INDEX<TAB>LINE, or INDEX<TAB>ADDRESS<TAB>LINE with @addresses;
 * or JSON. */
void print_lines(struct cli *cli, const struct ftidx_result *res, bool addresses);

/* ---- ftidx-filter.c: how a change of one file is told (set, ..., change) ---- */

/* File @k of change result @res, which was @op of @file of @instance
 * (NULL: the top level): what it holds now, what came and went. */
void print_file_change(const struct ftidx_result *res, size_t k, int op, int file,
		       const char *instance);
/* The same as the members of a JSON object ("op":...,"file":...). */
void print_file_change_json(const struct ftidx_result *res, size_t k, int op, int file);

/* The commands: each parses its own options and returns an exit status. */
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_resolve(struct cli *cli, int argc, char **argv);
int cmd_name(struct cli *cli, int argc, char **argv);
int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_show(struct cli *cli, int argc, char **argv);
int cmd_set(struct cli *cli, int argc, char **argv);
int cmd_add(struct cli *cli, int argc, char **argv);
int cmd_remove(struct cli *cli, int argc, char **argv);
int cmd_clear(struct cli *cli, int argc, char **argv);
int cmd_hits(struct cli *cli, int argc, char **argv);
int cmd_exec(struct cli *cli, int argc, char **argv);
int cmd_change(struct cli *cli, int argc, char **argv);
int cmd_remove_instance(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_help(struct cli *cli, int argc, char **argv);
int cmd_complete(struct cli *cli, int argc, char **argv);
