/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the ftidx command's files share: ftidx.c (the command table, the
 * queries and the one-file changes) and ftidx-change.c (changes of
 * several files, instances, versions).
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "ftidx.h"
#include "growbuf.h"

enum exit_status {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* the daemon refused: a pattern matched nothing, ... */
	EXIT_USAGE = 2,
	EXIT_DAEMON = 3, /* the daemon cannot be reached, or spoke nonsense */
};

struct cli {
	const char *socket;
	bool json;
	struct ftidx *c;
};

/* Strings the CLI owns: a growbuf of pointers (growbuf.h). */
struct strv {
	struct growbuf buf;
	char **v; /* buf.data, once filled */
	size_t n;
};

int strv_push(struct strv *sv, char *s);
void strv_free(struct strv *sv);

/* @s as a JSON string. */
void json_str(const char *s);

/* Arguments, with "-" replaced by the lines of standard input (blank
 * lines and lines starting with '#' skipped), appended to @out. */
int collect_patterns(int argc, char **argv, struct strv *out);

/* Connect, or say why not: EXIT_OK or EXIT_DAEMON. */
int connect_daemon(struct cli *cli);

/* Say why a request failed (per pattern of @tokens, where @res has
 * them); returns the exit status for it. */
int report_failure(struct cli *cli, int r, const struct ftidx_result *res, struct strv *tokens);

/* "set_ftrace_filter"... for enum ftidx_file @file; "?" for others. */
const char *file_name(int file);

int cmd_change(struct cli *cli, int argc, char **argv);
int cmd_remove_instance(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
