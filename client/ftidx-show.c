/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidx show: a filter file as it is, read from the kernel by ftidxd:
 * its functions by index and name, the probes and module patterns a user
 * keeps there, and whether it still holds what ftidx wrote.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ftidx-cli.h"
#include "ftidx.h"

/* How many lines of each kind, and how many of the functions are ftidx's. */
struct shown_counts {
	size_t functions, probes, patterns, ours;
};

static struct shown_counts count(const struct ftidx_result *res)
{
	struct shown_counts c = {0};

	for (size_t i = 0; i < ftidx_result_count(res); i++) {
		int kind = ftidx_result_line_kind(res, i);

		c.functions += kind == FTIDX_LINE_FUNCTION;
		c.probes += kind == FTIDX_LINE_PROBE;
		c.patterns += kind == FTIDX_LINE_MODULE_PATTERN;
		c.ours += ftidx_result_line_is_ours(res, i) == 1;
	}
	return c;
}

static void print_json(struct cli *cli, const struct ftidx_result *res, const char *instance,
		       int file)
{
	int holds = ftidx_result_holds(res);
	const char *note = ftidx_error_message(cli->c);
	int kinds[] = {FTIDX_LINE_FUNCTION, FTIDX_LINE_PROBE, FTIDX_LINE_MODULE_PATTERN};
	const char *keys[] = {"functions", "probes", "module_patterns"};

	printf("{\"instance\":");
	json_str(instance ? instance : "");
	printf(",\"file\":\"%s\",\"generation\":%" PRIu64 ",\"written_by_ftidx\":%s,\"holds\":%s,"
	       "\"ftidx_functions\":%u,\"note\":",
	       file_name(file), ftidx_result_generation(res), holds == -ENOENT ? "false" : "true",
	       holds == 1   ? "true"
	       : holds == 0 ? "false"
			    : "null",
	       ftidx_result_ours_count(res));
	json_str(note);
	for (size_t k = 0; k < 3; k++) {
		size_t n = 0;

		printf(",\"%s\":[", keys[k]);
		for (size_t i = 0; i < ftidx_result_count(res); i++) {
			if (ftidx_result_line_kind(res, i) != kinds[k])
				continue;
			if (n++)
				putchar(',');
			if (k) {
				json_str(ftidx_result_line(res, i));
				continue;
			}
			printf("{\"index\":%u,", ftidx_result_index(res, i));
			json_line(ftidx_result_line(res, i));
			printf(",\"ftidx\":%s}",
			       ftidx_result_line_is_ours(res, i) ? "true" : "false");
		}
		putchar(']');
	}
	printf("}\n");
}

static void print_text(const struct ftidx_result *res)
{
	bool written = ftidx_result_holds(res) != -ENOENT;

	for (size_t i = 0; i < ftidx_result_count(res); i++) {
		const char *line = ftidx_result_line(res, i);

		switch (ftidx_result_line_kind(res, i)) {
		case FTIDX_LINE_FUNCTION:
			printf("%u\t%s%s\n", ftidx_result_index(res, i), line,
			       written && !ftidx_result_line_is_ours(res, i) ? "\t(not ftidx's)"
									     : "");
			break;
		case FTIDX_LINE_PROBE:
			printf("probe\t%s\n", line);
			break;
		case FTIDX_LINE_MODULE_PATTERN:
			printf("module\t%s\n", line);
			break;
		}
	}
}

/* The summary, on standard error beside the table. */
static void print_summary(struct cli *cli, const struct ftidx_result *res, const char *instance,
			  int file)
{
	struct shown_counts c = count(res);
	uint32_t ours = ftidx_result_ours_count(res);
	int holds = ftidx_result_holds(res);

	fprintf(stderr, "%s%s%s%s: ", instance ? "instances/" : "", instance ? instance : "",
		instance ? "/" : "", file_name(file));
	if (c.functions)
		fprintf(stderr, "%zu function%s", c.functions, c.functions == 1 ? "" : "s");
	else
		fprintf(stderr, "no function%s",
			file == FTIDX_FILTER || file == FTIDX_GRAPH
			    ? " (the tracer traces every function)"
			    : "");
	if (c.probes)
		fprintf(stderr, ", %zu probe%s", c.probes, c.probes == 1 ? "" : "s");
	if (c.patterns)
		fprintf(stderr, ", %zu module pattern%s", c.patterns, c.patterns == 1 ? "" : "s");
	if (holds == -ENOENT)
		fprintf(stderr, "; ftidx has not written it\n");
	else if (holds == 1)
		fprintf(stderr, "; it holds what ftidx wrote (%u function%s)\n", ours,
			ours == 1 ? "" : "s");
	else if (holds == 0)
		fprintf(stderr,
			"; CHANGED since ftidx wrote it: %zu of ftidx's %u function%s %s gone, %zu "
			"other%s %s there\n",
			ours - c.ours, ours, ours == 1 ? "" : "s",
			ours - c.ours == 1 ? "is" : "are", c.functions - c.ours,
			c.functions - c.ours == 1 ? "" : "s",
			c.functions - c.ours == 1 ? "is" : "are");
	else
		fprintf(stderr, "; whether it holds what ftidx wrote cannot be told\n");
	if (ftidx_error_message(cli->c)[0])
		fprintf(stderr, "ftidx show: %s\n", ftidx_error_message(cli->c));
}

int cmd_show(struct cli *cli, int argc, char **argv)
{
	struct ftidx_result *res = NULL;
	const char *instance = NULL;
	int c, r, file = FTIDX_FILTER;

	while ((c = cli_getopt(cli, argc, argv)) != -1) {
		if (c == 'i')
			instance = optarg;
		else if (c == 'n' || c == 'g' || c == 'G')
			file = c == 'n'	  ? FTIDX_NOTRACE
			       : c == 'g' ? FTIDX_GRAPH
					  : FTIDX_GRAPH_NOTRACE;
	}
	if (optind < argc)
		return cli_error(cli, EXIT_USAGE, 0, "unexpected argument '%s'", argv[optind]);
	r = connect_daemon(cli);
	if (r != EXIT_OK)
		return r;
	r = ftidx_show(cli->c, instance, file, &res);
	progress_done(cli);
	if (r == -EINVAL && !res)
		return cli_error(cli, EXIT_USAGE, 0, "%s", ftidx_error_message(cli->c));
	if (r < 0) {
		if (r == -EOPNOTSUPP && !ftidx_error_message(cli->c)[0])
			r = cli_error(cli, EXIT_REFUSED, 0,
				      "this ftidxd is older than 0.5: it cannot "
				      "show a filter");
		else
			r = report_failure(cli, r, NULL, NULL);
		ftidx_result_free(res);
		return r;
	}
	if (cli->json) {
		print_json(cli, res, instance, file);
	} else {
		print_text(res);
		if (!cli->quiet)
			print_summary(cli, res, instance, file);
	}
	ftidx_result_free(res);
	return EXIT_OK;
}
