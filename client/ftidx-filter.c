/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The commands that change one filter file: set, add, remove and clear.
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

static const char *const verbs[] = { "", "set", "add", "remove", "clear" };

/* What a set, add, remove or clear asks, from its options. */
struct filter_args {
	int op, file;
	const char *instance;
	unsigned flags;
	uint64_t generation;
};

/* The options into @a; the arguments left start at optind. */
static int parse_filter_options(int argc, char **argv, struct filter_args *a)
{
	enum { OPT_GENERATION = 0x100, OPT_ALLOW_EMPTY };
	static const struct option longopts[] = {
		{ "instance", required_argument, NULL, 'i' },
		{ "create", no_argument, NULL, 'c' },
		{ "notrace", no_argument, NULL, 'n' },
		{ "graph", no_argument, NULL, 'g' },
		{ "graph-notrace", no_argument, NULL, 'G' },
		{ "generation", required_argument, NULL, OPT_GENERATION },
		{ "allow-empty", no_argument, NULL, OPT_ALLOW_EMPTY },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+i:cngG", longopts, NULL)) != -1) {
		if (c == 'i')
			a->instance = optarg;
		else if (c == 'c')
			a->flags |= FTIDX_CREATE_INSTANCE;
		else if (c == OPT_ALLOW_EMPTY)
			a->flags |= FTIDX_ALLOW_EMPTY;
		else if (c == 'n' || c == 'g' || c == 'G')
			a->file = c == 'n' ? FTIDX_NOTRACE : c == 'g' ? FTIDX_GRAPH : FTIDX_GRAPH_NOTRACE;
		else if (c != OPT_GENERATION ||
			 parse_generation(verbs[a->op], optarg, &a->generation) < 0)
			return -EINVAL;
	}
	return 0;
}

static void print_filtered(const struct cli *cli, const struct filter_args *a,
			   const struct ftidx_result *res)
{
	int op = a->op;

	if (cli->json) {
		printf("{\"op\":\"%s\",\"file\":\"%s\",\"instance\":", verbs[op], file_name(a->file));
		json_str(a->instance ? a->instance : "");
		printf(",\"generation\":%" PRIu64 ",\"functions\":%zu,\"removed\":%zu,"
		       "\"written\":%u}\n",
		       ftidx_result_generation(res), ftidx_result_count(res),
		       ftidx_result_removed_count(res), ftidx_result_written(res));
		return;
	}
	printf("%s: %s%s%s%s ", verbs[op], a->instance ? "instances/" : "",
	       a->instance ? a->instance : "", a->instance ? "/" : "", file_name(a->file));
	if (op == FTIDX_CLEAR)
		printf("is empty");
	else
		printf("%s %zu function%s", op == FTIDX_REMOVE ? "lost" : "selects",
		       ftidx_result_count(res), ftidx_result_count(res) == 1 ? "" : "s");
	printf(", %u token%s written, map generation %" PRIu64 "\n", ftidx_result_written(res),
	       ftidx_result_written(res) == 1 ? "" : "s", ftidx_result_generation(res));
}

/* The patterns @a's op needs: EXIT_OK, or what to exit with. */
static int gather_patterns(const struct filter_args *a, int argc, char **argv, struct strv *pats)
{
	if (a->op == FTIDX_CLEAR && argc > 0) {
		fprintf(stderr, "ftidx clear: takes no patterns\n");
		return EXIT_USAGE;
	}
	if (a->op != FTIDX_CLEAR && argc == 0) {
		fprintf(stderr, "ftidx %s: no pattern given\n", verbs[a->op]);
		return EXIT_USAGE;
	}
	if (collect_patterns(argc, argv, pats) < 0)
		return EXIT_DAEMON;
	if (a->op != FTIDX_CLEAR && pats->n == 0) {
		fprintf(stderr, "ftidx %s: no pattern on standard input\n", verbs[a->op]);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int run_filter(struct cli *cli, int op, int argc, char **argv)
{
	struct filter_args a = { .op = op, .file = FTIDX_FILTER };
	struct strv pats = { 0 };
	struct ftidx_result *res = NULL;
	int r, status;

	if (parse_filter_options(argc, argv, &a) < 0)
		return EXIT_USAGE;
	status = gather_patterns(&a, argc - optind, argv + optind, &pats);
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
