/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The commands that only ask: status, resolve, name and list.
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

static void print_status_json(const struct ftidx_status *st)
{
	/* times in ns pass 2^53, which JSON numbers (doubles) cannot hold
	 * exactly: strings, as the addresses are */
	printf("{\"generation\":%" PRIu64 ",\"entries\":%u,\"placeholders\":%u,"
	       "\"modules\":%u,\"module_entries\":%u,\"distinct_names\":%u,"
	       "\"clients\":%u,\"build_ns\":%" PRIu64 ",\"built_at_ns\":\"%" PRIu64
	       "\",\"has_addresses\":%s,\"is_tracefs\":%s,\"tracing_dir\":",
	       st->generation, st->entries, st->placeholders, st->modules, st->module_entries,
	       st->distinct_names, st->clients, st->build_ns, st->built_at_ns,
	       st->has_addresses ? "true" : "false", st->is_tracefs ? "true" : "false");
	json_str(st->tracing_dir);
	printf(",\"kernel_release\":");
	json_str(st->kernel_release);
	printf(",\"daemon_version\":");
	json_str(st->daemon_version);
	printf(",\"daemon_pid\":%" PRIu64 ",\"started_at_ns\":\"%" PRIu64
	       "\",\"uptime_ns\":\"%" PRIu64 "\",\"socket\":",
	       ftidx_status_number(st, FTIDX_STAT_DAEMON_PID),
	       ftidx_status_number(st, FTIDX_STAT_STARTED_AT_NS),
	       ftidx_status_number(st, FTIDX_STAT_UPTIME_NS));
	json_str(ftidx_status_text(st, FTIDX_STAT_SOCKET));
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
		       ftidx_status_filter_probes(st, i),
		       ftidx_status_filter_module_patterns(st, i));
	}
	printf("]}\n");
}

/* "3 d 4 h", "2 h 5 min", "4 min 7 s", "12 s". */
static void format_uptime(uint64_t ns, char *buf, size_t size)
{
	uint64_t s = ns / 1000000000u;

	if (s >= 86400)
		snprintf(buf, size, "%" PRIu64 " d %" PRIu64 " h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%" PRIu64 " h %" PRIu64 " min", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, size, "%" PRIu64 " min %" PRIu64 " s", s / 60, s % 60);
	else
		snprintf(buf, size, "%" PRIu64 " s", s);
}

/* The daemon itself: its version, pid, uptime and socket (the last three
 * from an ftidxd of 0.5 on). */
static void print_daemon(const struct ftidx_status *st)
{
	uint64_t pid = ftidx_status_number(st, FTIDX_STAT_DAEMON_PID);
	char up[48];

	printf("daemon:          ftidxd %s", st->daemon_version);
	if (pid) {
		format_uptime(ftidx_status_number(st, FTIDX_STAT_UPTIME_NS), up, sizeof(up));
		printf(", pid %" PRIu64 ", up %s", pid, up);
	}
	printf(", %u client%s\n", st->clients, st->clients == 1 ? "" : "s");
	if (pid)
		printf("socket:          %s\n", ftidx_status_text(st, FTIDX_STAT_SOCKET));
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
	       "matching:        %s (%s)\n",
	       st->generation, st->entries, st->placeholders, st->distinct_names, st->modules,
	       st->module_entries, (double)st->build_ns / 1e6, st->tracing_dir,
	       st->is_tracefs ? "tracefs" : "not a tracefs", st->has_addresses ? "yes" : "no",
	       st->kernel_release, st->match_rules, st->match_rules_how);
	print_daemon(st);
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
		       st->filters[i].holds < 0 ? "cannot tell if it still holds (not a tracefs)"
		       : st->filters[i].holds	? "still holds"
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

int cmd_status(struct cli *cli, int argc, char **argv)
{
	struct ftidx_status *st;
	int r;

	if (argc > 1)
		return cli_error(cli, EXIT_USAGE, 0, "takes no arguments, not '%s'", argv[1]);
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

/* The patterns of the operands: EXIT_OK, or a usage error when there are
 * none, standard input's included. */
static int patterns_of(struct cli *cli, int argc, char **argv, struct strv *pats)
{
	if (argc <= 0)
		return cli_error(cli, EXIT_USAGE, 0, "no pattern given");
	if (collect_patterns(argc, argv, pats) < 0)
		return EXIT_DAEMON;
	if (pats->n == 0)
		return cli_error(cli, EXIT_USAGE, 0, "no pattern given%s",
				 pats->read_stdin ? " (standard input held none)" : "");
	return EXIT_OK;
}

int cmd_resolve(struct cli *cli, int argc, char **argv)
{
	struct strv pats = {0};
	struct ftidx_result *res = NULL;
	unsigned flags = FTIDX_RESOLVE_WITH_LINES;
	int c, r, status;

	while ((c = cli_getopt(cli, argc, argv)) != -1)
		if (c == 'p')
			flags = FTIDX_RESOLVE_PER_PATTERN;
	status = patterns_of(cli, argc - optind, argv + optind, &pats);
	if (status == EXIT_OK)
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

/* The indices of the operands ("-" reads them from standard input) into
 * *@out: EXIT_OK or a usage error. */
static int indices_of(struct cli *cli, int argc, char **argv, uint32_t **out, size_t *n)
{
	struct strv words = {0};
	int status = EXIT_OK;

	*out = NULL;
	*n = 0;
	if (argc <= 0)
		return cli_error(cli, EXIT_USAGE, 0, "no index given");
	if (collect_patterns(argc, argv, &words) < 0) {
		strv_free(&words);
		return EXIT_DAEMON;
	}
	if (words.n == 0)
		status = cli_error(cli, EXIT_USAGE, 0, "no index given%s",
				   words.read_stdin ? " (standard input held none)" : "");
	*out = status == EXIT_OK ? malloc(sizeof(**out) * words.n) : NULL;
	if (status == EXIT_OK && !*out)
		status = cli_error(cli, EXIT_DAEMON, ENOMEM, "out of memory");
	for (size_t i = 0; status == EXIT_OK && i < words.n; i++) {
		const char *w = words.v[i];
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(w, &end, 10);
		if (errno || *end || end == w || v > UINT32_MAX || w[0] < '0' || w[0] > '9')
			status = cli_error(cli, EXIT_USAGE, 0, "'%s' is not an index", w);
		else
			(*out)[(*n)++] = (uint32_t)v;
	}
	if (status != EXIT_OK) {
		free(*out);
		*out = NULL;
	}
	strv_free(&words);
	return status;
}

int cmd_name(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ uint32_t *indices = NULL;
	struct ftidx_result *res = NULL;
	size_t n;
	int r, status;

	status = indices_of(cli, argc - 1, argv + 1, &indices, &n);
	if (status == EXIT_OK)
		status = connect_daemon(cli);
	if (status != EXIT_OK)
		return status;
	r = ftidx_names(cli->c, indices, n, &res);
	progress_done(cli);
	if (r < 0 && !res)
		return report_failure(cli, r, NULL, NULL);
	for (size_t i = 0; i < ftidx_result_count(res); i++) {
		if (ftidx_result_line_error(res, i) < 0) {
			fprintf(stderr, "ftidx: index %u: out of range\n",
				ftidx_result_index(res, i));
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
	if (path && path[0] && cli->json) {
		printf("{\"generation\":%" PRIu64 ",\"path\":", st->generation);
		json_str(path);
		printf("}\n");
	} else if (path && path[0]) {
		printf("%s\n", path);
	}
	r = path && path[0] ? EXIT_OK
			    : cli_error(cli, EXIT_REFUSED, 0,
					"the daemon publishes no copy of the function list (it has "
					"no usable state directory, or is older than 0.4)");
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

/* What of @all (a list, with addresses) the patterns of @sel select. */
static void print_selected(struct cli *cli, const struct ftidx_result *all,
			   const struct ftidx_result *sel, bool addresses)
{
	const uint32_t *want = ftidx_result_indices(sel);
	size_t n_want = ftidx_result_count(sel), k = 0, shown = 0;

	if (cli->json)
		printf("{\"generation\":%" PRIu64 ",\"behind\":%s,\"newest_generation\":%" PRIu64
		       ",\"functions\":[",
		       ftidx_result_generation(all),
		       ftidx_result_map_behind(all) || ftidx_result_map_behind(sel) ? "true" : "false",
		       ftidx_result_newest_generation(all));
	for (size_t i = 0; i < ftidx_result_count(all) && k < n_want; i++) {
		uint32_t index = ftidx_result_index(all, i);
		uint64_t address = ftidx_result_address(all, i);

		while (k < n_want && want[k] < index)
			k++;
		if (k == n_want || want[k] != index)
			continue;
		if (cli->json) {
			printf("%s{\"index\":%u,", shown++ ? "," : "", index);
			if (addresses && address)
				printf("\"address\":\"%016" PRIx64 "\",", address);
			else if (addresses)
				printf("\"address\":null,");
			json_line(ftidx_result_line(all, i));
			putchar('}');
		} else if (addresses) {
			printf("%u\t%016" PRIx64 "\t%s\n", index, address,
			       ftidx_result_line(all, i));
		} else {
			printf("%u\t%s\n", index, ftidx_result_line(all, i));
		}
	}
	if (cli->json)
		printf("]}\n");
}

/*
 * list PATTERN...: what the patterns select, as trace-cmd list -f
 * prints it. With --module, within that module; with --addresses, each
 * line's address from the daemon's list.
 */
static int list_patterns(struct cli *cli, unsigned flags, const char *module, int argc, char **argv)
{
	struct strv pats = {0};
	struct ftidx_result *sel = NULL, *all = NULL;
	int r, status;

	if (flags & FTIDX_LIST_WITH_PLACEHOLDERS)
		return cli_error(cli, EXIT_USAGE, 0,
				 "no pattern selects a placeholder: --placeholders lists the whole "
				 "map");
	status = patterns_of(cli, argc, argv, &pats);
	/* within the module: the kernel's FUNC:mod:MODULE */
	for (size_t i = 0; status == EXIT_OK && module && i < pats.n; i++) {
		char *s = NULL;

		if (strstr(pats.v[i], ":mod:"))
			continue;
		if (asprintf(&s, "%s:mod:%s", pats.v[i], module[0] ? module : "!") < 0) {
			status = cli_error(cli, EXIT_DAEMON, ENOMEM, "out of memory");
			break;
		}
		growbuf_append(&pats.made, &s, sizeof(s));
		pats.v[i] = s;
	}
	if (status == EXIT_OK)
		status = connect_daemon(cli);
	if (status != EXIT_OK) {
		strv_free(&pats);
		return status;
	}
	r = ftidx_resolve(cli->c, (const char *const *)pats.v, pats.n, FTIDX_RESOLVE_WITH_LINES,
			  &sel);
	if (r == 0 && (flags & FTIDX_LIST_WITH_ADDRESSES))
		r = ftidx_list(cli->c, FTIDX_LIST_WITH_ADDRESSES, NULL, &all);
	progress_done(cli);
	if (r < 0) {
		status = report_failure(cli, r, sel, &pats);
		/* as resolve: what matched nothing may be a module the map
		 * has not seen */
		if (sel && !all && status == EXIT_REFUSED && check_behind(cli, sel) == EXIT_BEHIND)
			status = EXIT_BEHIND;
	} else {
		if (all)
			print_selected(cli, all, sel, true);
		else
			print_lines(cli, sel, false);
		status = check_behind(cli, all && ftidx_result_map_behind(all) ? all : sel);
	}
	ftidx_result_free(sel);
	ftidx_result_free(all);
	strv_free(&pats);
	return status;
}

int cmd_list(struct cli *cli, int argc, char **argv)
{
	struct ftidx_result *res = NULL;
	const char *module = NULL;
	unsigned flags = 0;
	bool path = false;
	int c, r;

	while ((c = cli_getopt(cli, argc, argv)) != -1) {
		switch (c) {
		case OPT_PATH:
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
		}
	}
	if (path && (flags || module || optind < argc))
		return cli_error(cli, EXIT_USAGE, 0, "--path takes no other option or argument");
	if (path)
		return print_published_path(cli);
	if (optind < argc)
		return list_patterns(cli, flags & ~FTIDX_LIST_BY_MODULE, module, argc - optind,
				     argv + optind);
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
	if ((flags & FTIDX_LIST_WITH_ADDRESSES) && ftidx_error_message(cli->c)[0] && !cli->quiet)
		fprintf(stderr, "ftidx list: %s\n", ftidx_error_message(cli->c));
	r = check_behind(cli, res);
	ftidx_result_free(res);
	return r;
}
