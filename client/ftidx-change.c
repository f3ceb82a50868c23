/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidx change (several filter files of one instance, all or none),
 * ftidx remove-instance and ftidx version: the CLI over libftidx's
 * request objects and capability query (see ftidx-cli.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ftidx-cli.h"
#include "ftidx.h"
#include "macro.h"

static const char *const file_words[] = { "", "filter", "notrace", "graph", "graph-notrace" };
static const char *const op_words[] = { "", "set", "add", "remove", "clear" };

static int word_index(const char *const *words, size_t n, const char *s, size_t len)
{
	for (size_t i = 1; i < n; i++)
		if (strlen(words[i]) == len && strncmp(words[i], s, len) == 0)
			return (int)i;
	return 0;
}

/* "notrace=set" begins a file: its file and op; false when @arg is a
 * pattern (function names hold no '='). */
static bool parse_section(const char *arg, int *file, int *op)
{
	const char *eq = strchr(arg, '=');

	if (!eq)
		return false;
	*file = word_index(file_words, ARRAY_SIZE(file_words), arg, (size_t)(eq - arg));
	*op = word_index(op_words, ARRAY_SIZE(op_words), eq + 1, strlen(eq + 1));
	return *file && *op;
}

/* Per file of the request: the patterns in the order given, for reports. */
struct section {
	int file, op;
	size_t first, n; /* of the request's patterns, all files together */
};

/* Build @rq from FILE=OP sections; EXIT_OK or EXIT_USAGE. */
static int build_request(struct cli *cli, int argc, char **argv, struct ftidx_request *rq,
			 struct strv *pats, struct section *sec, size_t *n_sec)
{
	*n_sec = 0;
	for (int i = 0; i < argc; i++) {
		struct section *s;
		int file, op, next_file, next_op, r;
		int start = i + 1;

		if (!parse_section(argv[i], &file, &op))
			return cli_error(cli, EXIT_USAGE, 0,
					 "'%s' is not FILE=OP (FILE: filter, notrace, graph, "
					 "graph-notrace; OP: set, add, remove, clear)",
					 argv[i]);
		if (*n_sec == FTIDX_FILES_MAX)
			return cli_error(cli, EXIT_USAGE, 0, "at most %d files", FTIDX_FILES_MAX);
		for (size_t k = 0; k < *n_sec; k++)
			if (sec[k].file == file)
				return cli_error(cli, EXIT_USAGE, 0, "%s comes twice",
						 file_words[file]);
		/* this file's patterns: up to the next FILE=OP */
		while (i + 1 < argc && !parse_section(argv[i + 1], &next_file, &next_op))
			i++;
		s = &sec[(*n_sec)++];
		*s = (struct section){ file, op, pats->n, 0 };
		if (collect_patterns(i + 1 - start, argv + start, pats) < 0)
			return EXIT_DAEMON;
		s->n = pats->n - s->first;
		if ((op == FTIDX_CLEAR) != (s->n == 0))
			return cli_error(cli, EXIT_USAGE, 0, "%s=%s %s", file_words[file],
					 op_words[op],
					 op == FTIDX_CLEAR ? "takes no patterns"
							   : "has no pattern");
		r = *n_sec == 1 ? ftidx_request_set_file(rq, file)
				: ftidx_request_add_file(rq, file, op);
		if (r == 0)
			r = ftidx_request_set_op(rq, op);
		if (r == 0)
			r = ftidx_request_add_tokens(rq, (const char *const *)pats->v + s->first, s->n);
		if (r < 0)
			return cli_error(cli, r == -ENOMEM ? EXIT_DAEMON : EXIT_USAGE, 0, "%s",
					 r == -E2BIG    ? "more patterns than one request may carry"
					 : r == -EINVAL ? "a pattern is too long"
							: strerror(-r));
	}
	if (*n_sec == 0)
		return cli_error(cli, EXIT_USAGE, 0, "nothing to change (FILE=OP PATTERN...)");
	return EXIT_OK;
}

static void print_change(struct cli *cli, const struct ftidx_result *res, const char *instance,
			 const struct section *sec, size_t n_sec)
{
	if (cli->json) {
		printf("{\"instance\":");
		json_str(instance ? instance : "");
		printf(",\"generation\":%" PRIu64 ",\"files\":[", ftidx_result_generation(res));
	}
	for (size_t k = 0; k < n_sec; k++) {
		if (!cli->json) {
			print_file_change(res, k, sec[k].op, sec[k].file, instance);
			continue;
		}
		printf("%s{", k ? "," : "");
		print_file_change_json(res, k, sec[k].op, sec[k].file);
		putchar('}');
	}
	if (cli->json)
		printf("]}\n");
	else
		printf("map generation %" PRIu64 "\n", ftidx_result_generation(res));
}

/* The options into @rq (and *@instance, for the output): 0 or -EINVAL. */
static int parse_change_options(struct cli *cli, int argc, char **argv, struct ftidx_request *rq,
				const char **instance)
{
	unsigned flags = 0;
	uint64_t generation;
	int c;

	while ((c = cli_getopt(cli, argc, argv)) != -1) {
		if (c == 'i') {
			*instance = optarg;
			if (ftidx_request_set_instance(rq, optarg) < 0) {
				cli_error(cli, EXIT_USAGE, 0, "'%s' is no instance name", optarg);
				return -EINVAL;
			}
		} else if (c == 'c') {
			flags |= FTIDX_CREATE_INSTANCE;
		} else if (c == OPT_ALLOW_EMPTY) {
			flags |= FTIDX_ALLOW_EMPTY;
		} else if (c == OPT_GENERATION) {
			if (parse_generation(cli, optarg, &generation) < 0)
				return -EINVAL;
			ftidx_request_set_generation(rq, generation);
		}
	}
	return ftidx_request_set_flags(rq, flags);
}

int cmd_change(struct cli *cli, int argc, char **argv)
{
	struct section sec[FTIDX_FILES_MAX];
	struct ftidx_request *rq = NULL;
	struct ftidx_result *res = NULL;
	struct strv pats = { 0 };
	const char *instance = NULL;
	size_t n_sec = 0;
	int r, status = EXIT_USAGE;

	if (ftidx_request_new(&rq) < 0)
		return EXIT_DAEMON;
	if (parse_change_options(cli, argc, argv, rq, &instance) == 0)
		status = build_request(cli, argc - optind, argv + optind, rq, &pats, sec, &n_sec);
	if (status == EXIT_OK)
		status = connect_daemon(cli);
	if (status == EXIT_OK) {
		r = ftidx_request_run(cli->c, rq, &res);
		progress_done(cli);
		if (r < 0)
			status = report_failure(cli, r, res, &pats);
		else
			print_change(cli, res, instance, sec, n_sec);
	}
	ftidx_result_free(res);
	ftidx_request_free(rq);
	strv_free(&pats);
	return status;
}

int cmd_remove_instance(struct cli *cli, int argc, char **argv)
{
	int r, status;

	if (argc != 2)
		return cli_error(cli, EXIT_USAGE, 0, "takes the instance's name, and nothing else");
	status = connect_daemon(cli);
	if (status != EXIT_OK)
		return status;
	r = ftidx_remove_instance(cli->c, argv[1]);
	if (r == -EINVAL)
		/* refused by the library, before anything was sent: a bad name */
		return cli_error(cli, EXIT_USAGE, 0, "%s", ftidx_error_message(cli->c));
	if (r < 0)
		return report_failure(cli, r, NULL, NULL);
	if (cli->json) {
		printf("{\"removed\":");
		json_str(argv[1]);
		printf("}\n");
	} else {
		printf("removed instances/%s\n", argv[1]);
	}
	return EXIT_OK;
}

int cmd_version(struct cli *cli, int argc, char **argv)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} caps[] = {
		{ FTIDX_CAN_CHANGE_FILES, "change-files" },
		{ FTIDX_CAN_PER_PATTERN, "per-pattern" },
		{ FTIDX_CAN_CANCEL, "cancel" },
		{ FTIDX_CAN_REMOVE_INSTANCE, "remove-instance" },
		{ FTIDX_CAN_HITS, "hits" },
		{ FTIDX_CAN_LIST_ADDRESSES, "list-addresses" },
		{ FTIDX_CAN_ALLOW_EMPTY, "allow-empty" },
		{ FTIDX_CAN_READ_MAP, "read-map" },
		{ FTIDX_CAN_PROGRESS, "progress" },
		{ FTIDX_CAN_SHOW, "show" },
		{ FTIDX_CAN_SESSIONS, "sessions" },
	};
	const char *daemon;
	uint64_t have = 0;
	int r, status;

	if (argc > 1)
		return cli_error(cli, EXIT_USAGE, 0, "takes no arguments, not '%s'", argv[1]);
	status = connect_daemon(cli);
	if (status != EXIT_OK)
		return status;
	r = ftidx_query_capabilities(cli->c, &have);
	if (r < 0)
		return report_failure(cli, r, NULL, NULL);
	daemon = ftidx_daemon_version(cli->c);
	if (cli->json) {
		printf("{\"client\":\"%s\",\"daemon\":", FTIDX_VERSION);
		if (daemon)
			json_str(daemon);
		else
			printf("null");
		printf(",\"protocol\":%u,\"may_write\":%s,\"capabilities\":[",
		       ftidx_protocol_version(cli->c), have & FTIDX_CAN_WRITE ? "true" : "false");
		for (size_t i = 0, k = 0; i < ARRAY_SIZE(caps); i++)
			if (have & caps[i].bit)
				printf("%s\"%s\"", k++ ? "," : "", caps[i].name);
		printf("]}\n");
		return EXIT_OK;
	}
	printf("client:          ftidx %s\n", FTIDX_VERSION);
	printf("daemon:          %s%s (protocol %u)\n", daemon ? "ftidxd " : "",
	       daemon ? daemon : "older than 0.3", ftidx_protocol_version(cli->c));
	printf("this client:     %s\n",
	       daemon ? (have & FTIDX_CAN_WRITE ? "may change filters" : "may only query")
		      : "cannot tell");
	printf("capabilities:   ");
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		if (have & caps[i].bit)
			printf(" %s", caps[i].name);
	printf("%s\n", have & ~FTIDX_CAN_WRITE ? "" : " (version 1 requests only)");
	return EXIT_OK;
}
