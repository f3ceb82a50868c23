/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidx __complete WHAT [WORD]: the words a shell may complete WORD to,
 * one a line, for the completions of bash, zsh and fish. Names of
 * functions, modules and instances come from the daemon, as everything
 * about tracefs does: a shell never reads /sys/kernel/tracing itself.
 *
 *   commands          the commands
 *   options CMD       CMD's options and the global ones ("" for none)
 *   functions WORD    function names; "!WORD" and "WORD:mod:M" as typed
 *   modules WORD      module names
 *   instances WORD    the tracing instances (root and the write group)
 *
 * A completion must not keep a shell waiting: the daemon gets 3 s, and is
 * not waited for to read the kernel's functions anew.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftidx-cli.h"
#include "ftidx.h"
#include "growbuf.h"
#include "macro.h"

#define COMPLETE_TIMEOUT_MS 3000

/* The daemon, asked as a completion may ask it: from the map it has, at
 * once, and without progress lines on the terminal being completed on. */
static int connect_for_completion(struct cli *cli)
{
	int r = connect_daemon(cli);

	if (r != EXIT_OK)
		return r;
	ftidx_set_timeout(cli->c, COMPLETE_TIMEOUT_MS);
	ftidx_set_read_map(cli->c, FTIDX_READ_MAP_LAST);
	ftidx_set_progress(cli->c, NULL, NULL);
	return EXIT_OK;
}

static bool begins(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Print @prefix and each of @words once, sorted; frees them. */
static void print_unique(const char *prefix, char **words, size_t n)
{
	qsort(words, n, sizeof(*words), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(words[i], words[i - 1]) != 0)
			printf("%s%s\n", prefix, words[i]);
	for (size_t i = 0; i < n; i++)
		free(words[i]);
}

/* Of each line "name" or "name [module]" the daemon resolved @pattern to:
 * the name (@module false) or the module, printed after @prefix. */
static int complete_lines(struct cli *cli, const char *pattern, bool module, const char *prefix)
{
	struct ftidx_result *res = NULL;
	struct growbuf words = {0};
	size_t n;
	int r = connect_for_completion(cli);

	if (r != EXIT_OK)
		return r;
	/* matching nothing is no error here: nothing to offer */
	if (ftidx_resolve(cli->c, &pattern, 1, FTIDX_RESOLVE_WITH_LINES, &res) < 0) {
		ftidx_result_free(res);
		return EXIT_OK;
	}
	for (size_t i = 0; i < ftidx_result_count(res); i++) {
		const char *line = ftidx_result_line(res, i), *sp = strchr(line, ' ');
		char *w;

		if (module && (!sp || sp[1] != '['))
			continue;
		w = module ? strndup(sp + 2, strlen(sp + 2) - 1)
			   : strndup(line, sp ? (size_t)(sp - line) : strlen(line));
		if (w)
			growbuf_append(&words, &w, sizeof(w));
	}
	n = words.failed ? 0 : words.len / sizeof(char *);
	print_unique(prefix, (char **)words.data, n);
	growbuf_deinit(&words);
	ftidx_result_free(res);
	return EXIT_OK;
}

/* A word a glob would be made of is already a pattern: nothing to add. */
static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

static int complete_functions(struct cli *cli, const char *word)
{
	const char *neg = word[0] == '!' ? "!" : "", *mod;
	char *pattern = NULL, *prefix = NULL;
	int r = EXIT_OK;

	word += neg[0] != 0;
	mod = strstr(word, ":mod:");
	if (has_glob(mod ? mod + 5 : word))
		return EXIT_OK;
	if (mod) {
		/* FUNC:mod:M...: the modules */
		if (asprintf(&pattern, ":mod:%s*", mod + 5) >= 0 &&
		    asprintf(&prefix, "%s%.*s:mod:", neg, (int)(mod - word), word) >= 0)
			r = complete_lines(cli, pattern, true, prefix);
	} else if (asprintf(&pattern, "%s*", word) >= 0) {
		r = complete_lines(cli, pattern, false, neg);
	}
	free(pattern);
	free(prefix);
	return r;
}

static int complete_modules(struct cli *cli, const char *word)
{
	char *pattern = NULL;
	int r = EXIT_OK;

	if (has_glob(word))
		return EXIT_OK;
	if (asprintf(&pattern, ":mod:%s*", word) >= 0)
		r = complete_lines(cli, pattern, true, "");
	free(pattern);
	return r;
}

static int complete_instances(struct cli *cli, const char *word)
{
	struct ftidx_result *res = NULL;
	int r = connect_for_completion(cli);

	if (r != EXIT_OK)
		return r;
	if (ftidx_instances(cli->c, &res) == 0)
		for (size_t i = 0; i < ftidx_result_count(res); i++)
			if (begins(ftidx_result_line(res, i), word))
				printf("%s\n", ftidx_result_line(res, i));
	ftidx_result_free(res);
	return EXIT_OK;
}

static void complete_options(const char *cmd_name, const char *word)
{
	const struct command *cmd = cmd_name[0] ? cli_find_command(cmd_name) : NULL;
	const struct cli_option *sets[] = {cli_global_options, cmd ? cmd->opts : NULL};

	for (size_t k = 0; k < ARRAY_SIZE(sets); k++)
		for (const struct cli_option *o = sets[k]; o && o->name; o++)
			if (begins(o->name, word[0] == '-' && word[1] == '-' ? word + 2 : ""))
				printf("--%s\n", o->name);
}

int cmd_complete(struct cli *cli, int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "", *word = argc > 2 ? argv[2] : "";

	if (strcmp(what, "commands") == 0) {
		for (const struct command *cmd = cli_commands; cmd->name; cmd++)
			if (!cmd->hidden && begins(cmd->name, word))
				printf("%s\n", cmd->name);
		return EXIT_OK;
	}
	if (strcmp(what, "options") == 0) {
		complete_options(word, argc > 3 ? argv[3] : "");
		return EXIT_OK;
	}
	if (strcmp(what, "functions") == 0)
		return complete_functions(cli, word);
	if (strcmp(what, "modules") == 0)
		return complete_modules(cli, word);
	if (strcmp(what, "instances") == 0)
		return complete_instances(cli, word);
	return cli_error(cli, EXIT_USAGE, 0,
			 "completes commands, options CMD, functions, modules or instances");
}
