/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The commands that change one filter file: set, add, remove and clear;
 * and how a change of a file is told (here and by change).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftidx-cli.h"
#include "ftidx.h"
#include "growbuf.h"
#include "macro.h"

static const char *const verbs[] = {"", "set", "add", "remove", "clear"};

/* What a set, add, remove or clear asks, from its options. */
struct filter_args {
	int op, file;
	const char *instance;
	unsigned flags;
	uint64_t generation;
};

/* The options into @a; the arguments left start at optind. */
static int parse_filter_options(struct cli *cli, int argc, char **argv, struct filter_args *a)
{
	int c;

	while ((c = cli_getopt(cli, argc, argv)) != -1) {
		if (c == 'i')
			a->instance = optarg;
		else if (c == 'c')
			a->flags |= FTIDX_CREATE_INSTANCE;
		else if (c == OPT_ALLOW_EMPTY)
			a->flags |= FTIDX_ALLOW_EMPTY;
		else if (c == 'n' || c == 'g' || c == 'G')
			a->file = c == 'n'   ? FTIDX_NOTRACE
				  : c == 'g' ? FTIDX_GRAPH
					     : FTIDX_GRAPH_NOTRACE;
		else if (c == OPT_GENERATION && parse_generation(cli, optarg, &a->generation) < 0)
			return -EINVAL;
	}
	return 0;
}

/* A count of file @k of @res, or -1 when the daemon cannot tell. */
static long count_of(const struct ftidx_result *res, size_t k, int which)
{
	uint32_t n;

	return ftidx_result_file_functions(res, k, which, &n) < 0 ? -1 : (long)n;
}

/* @n as JSON: null when it is not known. */
static void json_count(const char *key, long n)
{
	if (n < 0)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%ld", key, n);
}

void print_file_change_json(const struct ftidx_result *res, size_t k, int op, int file)
{
	size_t selected, removed;

	ftidx_result_file_indices(res, k, &selected);
	ftidx_result_file_removed(res, k, &removed);
	printf("\"op\":\"%s\",\"file\":\"%s\",\"selected\":%zu", verbs[op], file_name(file),
	       selected);
	/* as 0.4 said them: what the patterns selected, what "!" removed */
	printf(",\"functions\":%zu,\"removed\":%zu,\"written\":%u", selected, removed,
	       ftidx_result_file_written(res, k));
	json_count("before", count_of(res, k, FTIDX_BEFORE));
	json_count("after", count_of(res, k, FTIDX_AFTER));
	json_count("added", count_of(res, k, FTIDX_ADDED));
	json_count("dropped", count_of(res, k, FTIDX_DROPPED));
}

/*
 * What a change did to file @k of @res, in words: what the file holds
 * now, and what came and went. A removal of functions the file did not
 * hold drops nothing, whatever the patterns select, and says so.
 */
void print_file_change(const struct ftidx_result *res, size_t k, int op, int file,
		       const char *instance)
{
	long after = count_of(res, k, FTIDX_AFTER), added = count_of(res, k, FTIDX_ADDED),
	     dropped = count_of(res, k, FTIDX_DROPPED);
	size_t selected;

	ftidx_result_file_indices(res, k, &selected);
	printf("%s: %s%s%s%s ", verbs[op], instance ? "instances/" : "", instance ? instance : "",
	       instance ? "/" : "", file_name(file));
	if (after < 0) {
		/* another writer's file, or an older daemon: what ftidx did */
		printf("%s %zu function%s; what else it holds is not known",
		       op == FTIDX_REMOVE ? "loses at most" : "selects", selected,
		       selected == 1 ? "" : "s");
	} else {
		if (after == 0)
			printf("is empty now%s", file == FTIDX_FILTER || file == FTIDX_GRAPH
						     ? " (the tracer traces every function)"
						     : "");
		else
			printf("holds %ld function%s now", after, after == 1 ? "" : "s");
		if (added >= 0 && op == FTIDX_REMOVE)
			printf(": %ld dropped", dropped);
		else if (added >= 0)
			printf(": %ld added, %ld dropped", added, dropped);
		if (op == FTIDX_REMOVE && dropped == 0 && selected)
			printf(" (it held none of the %zu function%s the patterns select)",
			       selected, selected == 1 ? "" : "s");
		else if (op == FTIDX_REMOVE && dropped >= 0 && (size_t)dropped < selected)
			printf(" (it held %ld of the %zu functions the patterns select)", dropped,
			       selected);
		if (op == FTIDX_ADD && added >= 0 && (size_t)added < selected)
			printf(" (%zu of the %zu function%s the patterns select %s there already)",
			       selected - (size_t)added, selected, selected == 1 ? "" : "s",
			       selected - (size_t)added == 1 ? "was" : "were");
	}
	printf(", %u token%s written\n", ftidx_result_file_written(res, k),
	       ftidx_result_file_written(res, k) == 1 ? "" : "s");
}

static void print_filtered(const struct cli *cli, const struct filter_args *a,
			   const struct ftidx_result *res)
{
	if (cli->json) {
		printf("{\"instance\":");
		json_str(a->instance ? a->instance : "");
		printf(",\"generation\":%" PRIu64 ",", ftidx_result_generation(res));
		/* the file's change, its members at the top level as before */
		print_file_change_json(res, 0, a->op, a->file);
		printf("}\n");
		return;
	}
	print_file_change(res, 0, a->op, a->file, a->instance);
	printf("map generation %" PRIu64 "\n", ftidx_result_generation(res));
}

/* The patterns @a's op needs: EXIT_OK, or what to exit with. */
static int gather_patterns(struct cli *cli, const struct filter_args *a, int argc, char **argv,
			   struct strv *pats)
{
	if (a->op == FTIDX_CLEAR && argc > 0)
		return cli_error(cli, EXIT_USAGE, 0, "takes no patterns, not '%s'", argv[0]);
	if (a->op != FTIDX_CLEAR && argc == 0)
		return cli_error(cli, EXIT_USAGE, 0, "no pattern given");
	if (collect_patterns(argc, argv, pats) < 0)
		return EXIT_DAEMON;
	if (a->op != FTIDX_CLEAR && pats->n == 0)
		return cli_error(cli, EXIT_USAGE, 0, "no pattern given%s",
				 pats->read_stdin ? " (standard input held none)" : "");
	return EXIT_OK;
}

static int run_filter(struct cli *cli, int op, int argc, char **argv)
{
	struct filter_args a = {.op = op, .file = FTIDX_FILTER};
	struct strv pats = {0};
	struct ftidx_result *res = NULL;
	int r, status;

	if (parse_filter_options(cli, argc, argv, &a) < 0)
		return EXIT_USAGE;
	status = gather_patterns(cli, &a, argc - optind, argv + optind, &pats);
	if (status == EXIT_OK)
		status = connect_daemon(cli);
	if (status != EXIT_OK) {
		strv_free(&pats);
		return status;
	}
	r = ftidx_filter(cli->c, op, a.file, a.instance, a.flags, a.generation,
			 (const char *const *)pats.v, pats.n, &res);
	progress_done(cli);
	if (r < 0) {
		status = report_failure(cli, r, res, &pats);
	} else {
		print_filtered(cli, &a, res);
		status = EXIT_OK;
	}
	ftidx_result_free(res);
	strv_free(&pats);
	return status;
}

int cmd_set(struct cli *cli, int argc, char **argv)
{
	return run_filter(cli, FTIDX_SET, argc, argv);
}

int cmd_add(struct cli *cli, int argc, char **argv)
{
	return run_filter(cli, FTIDX_ADD, argc, argv);
}

int cmd_remove(struct cli *cli, int argc, char **argv)
{
	return run_filter(cli, FTIDX_REMOVE, argc, argv);
}

int cmd_clear(struct cli *cli, int argc, char **argv)
{
	return run_filter(cli, FTIDX_CLEAR, argc, argv);
}
