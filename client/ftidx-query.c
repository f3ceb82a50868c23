/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The commands that only ask: status, resolve, name and list.
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

static void print_status_json(const struct ftidx_status *st)
{
	printf("{\"generation\":%" PRIu64 ",\"entries\":%u,\"placeholders\":%u,"
	       "\"modules\":%u,\"module_entries\":%u,\"distinct_names\":%u,"
	       "\"clients\":%u,\"build_ns\":%" PRIu64 ",\"built_at_ns\":%" PRIu64
	       ",\"has_addresses\":%s,\"is_tracefs\":%s,\"tracing_dir\":",
	       st->generation, st->entries, st->placeholders, st->modules,
	       st->module_entries, st->distinct_names, st->clients, st->build_ns,
	       st->built_at_ns, st->has_addresses ? "true" : "false",
	       st->is_tracefs ? "true" : "false");
	json_str(st->tracing_dir);
	printf(",\"kernel_release\":");
	json_str(st->kernel_release);
	printf(",\"daemon_version\":");
	json_str(st->daemon_version);
	printf(",\"match_rules\":");
	json_str(st->match_rules);
	printf(",\"match_rules_how\":");
	json_str(st->match_rules_how);
	printf(",\"recovery\":");
	json_str(st->recovery);
	printf(",\"published_generation\":%" PRIu64,
	       ftidx_status_number(st, FTIDX_STAT_PUBLISHED_GENERATION));
	printf(",\"is_stale\":%s,\"filters\":[", st->is_stale ? "true" : "false");
	for (size_t i = 0; i < st->n_filters; i++) {
		printf("%s{\"instance\":", i ? "," : "");
		json_str(st->filters[i].instance);
		printf(",\"file\":\"%s\",\"functions\":%u,\"holds\":%s,\"probes\":%u,"
		       "\"module_patterns\":%u}",
		       file_name(st->filters[i].file), st->filters[i].functions,
		       st->filters[i].holds < 0 ? "null"
		       : st->filters[i].holds	? "true"
						: "false",
		       ftidx_status_filter_probes(st, i), ftidx_status_filter_module_patterns(st, i));
	}
	printf("]}\n");
}

static void print_status_text(const struct ftidx_status *st)
{
	printf("generation:      %" PRIu64 "\n"
	       "functions:       %u lines (%u placeholders, %u distinct names)\n"
	       "modules:         %u (%u lines)\n"
	       "map built in:    %.2f ms\n"
	       "tracing dir:     %s (%s)\n"
	       "addresses:       %s\n"
	       "kernel:          %s\n"
	       "matching:        %s (%s)\n"
	       "daemon:          ftidxd %s, %u client%s\n",
	       st->generation, st->entries, st->placeholders, st->distinct_names,
	       st->modules, st->module_entries, (double)st->build_ns / 1e6, st->tracing_dir,
	       st->is_tracefs ? "tracefs" : "not a tracefs", st->has_addresses ? "yes" : "no",
	       st->kernel_release, st->match_rules, st->match_rules_how, st->daemon_version,
	       st->clients,
	       st->clients == 1 ? "" : "s");
	if (st->is_stale)
		printf("map:             stale: a module came or went, rebuilding\n");
	if (st->recovery[0])
		printf("at start:        %s\n", st->recovery);
	for (size_t i = 0; i < st->n_filters; i++) {
		uint32_t probes = ftidx_status_filter_probes(st, i);
		uint32_t patterns = ftidx_status_filter_module_patterns(st, i);

		printf("filter:          %s%s%s%s: %u function%s written by ftidx, %s",
		       st->filters[i].instance[0] ? "instances/" : "", st->filters[i].instance,
		       st->filters[i].instance[0] ? "/" : "", file_name(st->filters[i].file),
		       st->filters[i].functions, st->filters[i].functions == 1 ? "" : "s",
		       st->filters[i].holds < 0  ? "cannot tell if it still holds (not a tracefs)"
		       : st->filters[i].holds ? "still holds"
					      : "CHANGED by another writer");
		/* a user's, kept beside ftidx's functions: not drift */
		if (probes || patterns)
			printf("; beside them %u probe%s and %u module pattern%s", probes,
			       probes == 1 ? "" : "s", patterns, patterns == 1 ? "" : "s");
		printf("\n");
	}
}

/* A status of a map behind the kernel's is said so on stderr too, and
 * its exit status says so (EXIT_BEHIND). */
static int status_behind(struct cli *cli, const struct ftidx_status *st)
{
	if (!st->is_stale)
		return EXIT_OK;
	fprintf(stderr,
		"ftidx: warning: map generation %" PRIu64 " is behind the kernel's functions: a "
		"module came or went, and ftidxd has not read them yet (that will be generation "
		"%" PRIu64 ")%s\n",
		st->generation, st->generation + 1,
		cli->last_map ? " (--last-map)"
			      : ", though it waited as long as ftidxd lets a read wait (--map-wait)");
	return EXIT_BEHIND;
}

int cmd_status(struct cli *cli, int argc, char **argv _unused_)
{
	struct ftidx_status *st;
	int r;

	if (argc > 1) {
		fprintf(stderr, "ftidx status: takes no arguments\n");
		return EXIT_USAGE;
	}
	r = connect_daemon(cli);
	if (r != EXIT_OK)
		return r;
	r = ftidx_status(cli->c, &st);
	progress_done(cli);
	if (r < 0)
		return report_failure(cli, r, NULL, NULL);
	if (cli->json)
		print_status_json(st);
	else
		print_status_text(st);
	r = status_behind(cli, st);
	ftidx_status_free(st);
	return r;
}

/* Per pattern: PATTERN<TAB>MATCHES<TAB>INDEX INDEX..., or JSON. */
static void print_per_pattern(struct cli *cli, const struct ftidx_result *res,
			      const struct strv *pats)
{
	if (cli->json)
		printf("{\"generation\":%" PRIu64 ",\"behind\":%s,\"newest_generation\":%" PRIu64
		       ",\"patterns\":[",
		       ftidx_result_generation(res), ftidx_result_map_behind(res) ? "true" : "false",
		       ftidx_result_newest_generation(res));
	for (size_t i = 0; i < ftidx_result_token_count(res) && i < pats->n; i++) {
		size_t n;
		const uint32_t *v = ftidx_result_token_indices(res, i, &n);

		if (cli->json) {
			printf("%s{\"pattern\":", i ? "," : "");
			json_str(pats->v[i]);
			printf(",\"matches\":%zu,\"indices\":[", n);
		} else {
			printf("%s\t%zu\t", pats->v[i], n);
		}
		for (size_t k = 0; k < n; k++)
			printf("%s%u", k ? (cli->json ? "," : " ") : "", v[k]);
		printf(cli->json ? "]}" : "\n");
	}
	if (cli->json)
		printf("]}\n");
}

int cmd_resolve(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "per-pattern", no_argument, NULL, 'p' },
		{ 0 },
	};
	struct strv pats = { 0 };
	struct ftidx_result *res = NULL;
	unsigned flags = FTIDX_RESOLVE_WITH_LINES;
	int c, r, status;

	while ((c = getopt_long(argc, argv, "+p", longopts, NULL)) != -1) {
		if (c != 'p')
			return EXIT_USAGE;
		flags = FTIDX_RESOLVE_PER_PATTERN;
	}
	if (optind >= argc) {
		fprintf(stderr, "ftidx resolve: no pattern given\n");
		return EXIT_USAGE;
	}
	if (collect_patterns(argc - optind, argv + optind, &pats) < 0) {
		strv_free(&pats);
		return EXIT_DAEMON;
	}
	status = connect_daemon(cli);
	if (status != EXIT_OK) {
		strv_free(&pats);
		return status;
	}
	r = ftidx_resolve(cli->c, (const char *const *)pats.v, pats.n, flags, &res);
	progress_done(cli);
	if (r < 0) {
		status = report_failure(cli, r, res, &pats);
		/* what matched nothing may be a module the map has not seen:
		 * the answer as a whole is from a map behind the kernel's */
		if (res && status == EXIT_REFUSED)
			status = check_behind(cli, res) == EXIT_BEHIND ? EXIT_BEHIND : status;
	} else {
		if (flags & FTIDX_RESOLVE_PER_PATTERN)
			print_per_pattern(cli, res, &pats);
		else
			print_lines(cli, res, false);
		status = check_behind(cli, res);
	}
	ftidx_result_free(res);
	strv_free(&pats);
	return status;
}

int cmd_name(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ uint32_t *indices = NULL;
	struct ftidx_result *res = NULL;
	int r, status = EXIT_OK;

	if (argc < 2) {
		fprintf(stderr, "ftidx name: no index given\n");
		return EXIT_USAGE;
	}
	indices = malloc(sizeof(*indices) * (size_t)argc);
	if (!indices)
		return EXIT_DAEMON;
	for (int i = 1; i < argc; i++) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(argv[i], &end, 10);
		if (errno || *end || end == argv[i] || v > UINT32_MAX || argv[i][0] == '-') {
			fprintf(stderr, "ftidx name: '%s' is not an index\n", argv[i]);
			return EXIT_USAGE;
		}
		indices[i - 1] = (uint32_t)v;
	}
	status = connect_daemon(cli);
	if (status != EXIT_OK)
		return status;
	r = ftidx_names(cli->c, indices, (size_t)argc - 1, &res);
	progress_done(cli);
	if (r < 0 && !res)
		return report_failure(cli, r, NULL, NULL);
	for (size_t i = 0; i < ftidx_result_count(res); i++) {
		if (ftidx_result_line_error(res, i) < 0) {
			fprintf(stderr, "ftidx: index %u: out of range\n", ftidx_result_index(res, i));
			status = EXIT_REFUSED;
		}
	}
	print_lines(cli, res, false);
	if (check_behind(cli, res) != EXIT_OK && status == EXIT_OK)
		status = EXIT_BEHIND;
	ftidx_result_free(res);
	return status;
}

/* The published copy's path, for scripts: exit 1 when there is none,
 * EXIT_BEHIND (said on stderr) when it is not the kernel's list now. */
static int print_published_path(struct cli *cli)
{
	struct ftidx_status *st = NULL;
	uint64_t copy;
	const char *path;
	int r = connect_daemon(cli);

	if (r != EXIT_OK)
		return r;
	r = ftidx_status(cli->c, &st);
	progress_done(cli);
	if (r < 0)
		return report_failure(cli, r, NULL, NULL);
	path = ftidx_status_text(st, FTIDX_STAT_PUBLISHED);
	/* 0 from a daemon older than 0.5, which cannot say */
	copy = ftidx_status_number(st, FTIDX_STAT_PUBLISHED_GENERATION);
	if (path && path[0])
		printf("%s\n", path);
	else
		fprintf(stderr, "ftidx list: the daemon publishes no copy of the function list (it "
				"has no usable state directory, or is older than 0.4)\n");
	r = path && path[0] ? EXIT_OK : EXIT_REFUSED;
	if (r == EXIT_OK && copy && copy != st->generation) {
		fprintf(stderr,
			"ftidx: warning: the copy holds map generation %" PRIu64 ", and ftidxd has "
			"read generation %" PRIu64 " since; it is not published yet\n",
			copy, st->generation);
		r = EXIT_BEHIND;
	} else if (r == EXIT_OK) {
		r = status_behind(cli, st);
	}
	ftidx_status_free(st);
	return r;
}

int cmd_list(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "placeholders", no_argument, NULL, 'p' },
		{ "addresses", no_argument, NULL, 'a' },
		{ "path", no_argument, NULL, 'P' },
		{ 0 },
	};
	struct ftidx_result *res = NULL;
	const char *module = NULL;
	unsigned flags = 0;
	bool path = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+m:pa", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			path = true;
			break;
		case 'a':
			flags |= FTIDX_LIST_WITH_ADDRESSES;
			break;
		case 'm':
			module = optarg;
			flags |= FTIDX_LIST_BY_MODULE;
			break;
		case 'p':
			flags |= FTIDX_LIST_WITH_PLACEHOLDERS;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ftidx list: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (path && (flags || module)) {
		fprintf(stderr, "ftidx list: --path takes no other option\n");
		return EXIT_USAGE;
	}
	if (path)
		return print_published_path(cli);
	r = connect_daemon(cli);
	if (r != EXIT_OK)
		return r;
	r = ftidx_list(cli->c, flags, module, &res);
	progress_done(cli);
	if (r < 0) {
		ftidx_result_free(res);
		return report_failure(cli, r, NULL, NULL);
	}
	print_lines(cli, res, flags & FTIDX_LIST_WITH_ADDRESSES);
	/* say why every address is 0 (a kernel before 6.5) */
	if ((flags & FTIDX_LIST_WITH_ADDRESSES) && ftidx_error_message(cli->c)[0])
		fprintf(stderr, "ftidx list: %s\n", ftidx_error_message(cli->c));
	r = check_behind(cli, res);
	ftidx_result_free(res);
	return r;
}
