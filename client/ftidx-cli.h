/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the ftidx command's files share: ftidx.c (main and the command
 * table) calls the commands (ftidx-query.c, ftidx-filter.c,
 * ftidx-change.c, ftidx-hits.c, ftidx-exec.c), which use the helpers of
 * ftidx-common.c.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ftidx.h"
#include "growbuf.h"

enum exit_status {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* refused: a pattern matched nothing, a limit, ... */
	EXIT_USAGE = 2,
	EXIT_DAEMON = 3, /* the daemon cannot be reached, or spoke nonsense */
	EXIT_BEHIND = 4, /* answered, from a map behind the kernel's (said on stderr) */
	EXIT_TIMEOUT = 5, /* no answer within --timeout: the daemon may still work on it */
};

struct cli {
	const char *socket;
	bool json;
	bool last_map;       /* --last-map: the map ftidxd has, at once */
	long timeout_s;      /* --timeout, or -1: libftidx's (120 s) */
	bool progress_shown; /* a progress line is on the terminal */
	struct ftidx *c;
};

/* Patterns: a growbuf of pointers (growbuf.h) into the command line or
 * into standard input, read whole into @text. */
struct strv {
	struct growbuf buf;
	char **v; /* buf.data, once filled */
	size_t n;
	char *text;
};

int strv_push(struct strv *sv, char *s);
void strv_free(struct strv *sv);

/* @s as a JSON string. */
void json_str(const char *s);

/* Arguments, with "-" replaced by the lines of standard input (blank
 * lines and lines starting with '#' skipped), appended to @out. */
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
 * them); returns the exit status for it. */
int report_failure(struct cli *cli, int r, const struct ftidx_result *res, struct strv *tokens);

/* --generation's argument of @command: a typo must not turn into 0, which
 * skips the stale-map check. 0, or -EINVAL (said on stderr). */
int parse_generation(const char *command, const char *arg, uint64_t *out);

/* "set_ftrace_filter"... for enum ftidx_file @file; "?" for others. */
const char *file_name(int file);

/* Lines as INDEX<TAB>LINE, or INDEX<TAB>ADDRESS<TAB>LINE with @addresses;
 * or JSON. */
void print_lines(struct cli *cli, const struct ftidx_result *res, bool addresses);

/* The commands: each parses its own options and returns an exit status. */
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_resolve(struct cli *cli, int argc, char **argv);
int cmd_name(struct cli *cli, int argc, char **argv);
int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_set(struct cli *cli, int argc, char **argv);
int cmd_add(struct cli *cli, int argc, char **argv);
int cmd_remove(struct cli *cli, int argc, char **argv);
int cmd_clear(struct cli *cli, int argc, char **argv);
int cmd_hits(struct cli *cli, int argc, char **argv);
int cmd_exec(struct cli *cli, int argc, char **argv);
int cmd_change(struct cli *cli, int argc, char **argv);
int cmd_remove_instance(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
