/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidx: the command-line client of ftidxd, built on libftidx. A table of
 * commands, each parsing its own options; output as text or --json.
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

/* ---- helpers ----------------------------------------------------------- */

void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

int strv_push(struct strv *sv, char *s)
{
	growbuf_append(&sv->buf, &s, sizeof(s));
	if (sv->buf.failed)
		return -ENOMEM;
	sv->v = (char **)sv->buf.data;
	sv->n = sv->buf.len / sizeof(s);
	return 0;
}

void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	growbuf_deinit(&sv->buf);
}

int collect_patterns(int argc, char **argv, struct strv *out)
{
	for (int i = 0; i < argc; i++) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;

		if (strcmp(argv[i], "-") != 0) {
			char *dup = strdup(argv[i]);

			if (!dup || strv_push(out, dup) < 0)
				return -ENOMEM;
			continue;
		}
		while ((len = getline(&line, &cap, stdin)) >= 0) {
			char *s = line, *dup;

			while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' ||
					   s[len - 1] == '\t' || s[len - 1] == '\r'))
				s[--len] = '\0';
			while (*s == ' ' || *s == '\t')
				s++;
			if (!*s || *s == '#')
				continue;
			dup = strdup(s);
			if (!dup || strv_push(out, dup) < 0) {
				free(line);
				return -ENOMEM;
			}
		}
		free(line);
	}
	return 0;
}

int connect_daemon(struct cli *cli)
{
	int r = ftidx_connect(cli->socket, &cli->c);

	if (r < 0) {
		fprintf(stderr, "ftidx: cannot reach ftidxd at %s: %s\n",
			cli->socket ? cli->socket
				    : (getenv("FTIDX_SOCKET") ? getenv("FTIDX_SOCKET")
							      : FTIDX_DEFAULT_SOCKET),
			strerror(-r));
		return EXIT_DAEMON;
	}
	return EXIT_OK;
}

int report_failure(struct cli *cli, int r, const struct ftidx_result *res,
			  struct strv *tokens)
{
	const char *msg = ftidx_error_message(cli->c);

	for (size_t i = 0; res && tokens && i < ftidx_result_token_count(res); i++) {
		const char *why = "";

		if (ftidx_result_token_error(res, i, &why) < 0)
			fprintf(stderr, "ftidx: '%s': %s\n", i < tokens->n ? tokens->v[i] : "?",
				why);
	}
	fprintf(stderr, "ftidx: %s\n", msg[0] ? msg : strerror(-r));
	/* No reply at all means the daemon or the connection failed. */
	return res || r == -ESTALE || r == -EINVAL || r == -ENOENT || r == -ERANGE || r == -EACCES ||
			       r == -ENODATA || r == -EBUSY || r == -EPERM
		       ? EXIT_REFUSED
		       : EXIT_DAEMON;
}

/* Lines as INDEX<TAB>LINE, or INDEX<TAB>ADDRESS<TAB>LINE with @addresses
 * (in hex, as /proc/kallsyms shows them; 0 when the kernel lists none). */
static void print_lines(struct cli *cli, const struct ftidx_result *res, bool addresses)
{
	size_t n = ftidx_result_count(res);

	if (cli->json) {
		printf("{\"generation\":%" PRIu64 ",\"functions\":[", ftidx_result_generation(res));
		for (size_t i = 0, k = 0; i < n; i++) {
			if (ftidx_result_line_error(res, i) < 0)
				continue;
			printf("%s{\"index\":%u,", k++ ? "," : "", ftidx_result_index(res, i));
			/* a string: JSON numbers lose 64-bit precision */
			if (addresses && ftidx_result_address(res, i))
				printf("\"address\":\"%016" PRIx64 "\",", ftidx_result_address(res, i));
			else if (addresses)
				printf("\"address\":null,");
			printf("\"line\":");
			json_str(ftidx_result_line(res, i) ? ftidx_result_line(res, i) : "");
			putchar('}');
		}
		printf("]}\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (ftidx_result_line_error(res, i) < 0)
			continue;
		printf("%u\t", ftidx_result_index(res, i));
		if (addresses)
			printf("%016" PRIx64 "\t", ftidx_result_address(res, i));
		printf("%s\n", ftidx_result_line(res, i) ? ftidx_result_line(res, i) : "");
	}
}

/* ---- commands ---------------------------------------------------------- */

const char *file_name(int file)
{
	static const char *const names[] = { "?", "set_ftrace_filter", "set_ftrace_notrace",
					     "set_graph_function", "set_graph_notrace" };

	/* libftidx checks what the daemon sends; this is no place to trust it */
	return file > 0 && (size_t)file < ARRAY_SIZE(names) ? names[file] : names[0];
}


static int cmd_status(struct cli *cli, int argc, char **argv _unused_)
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
	if (r < 0)
		return report_failure(cli, r, NULL, NULL);
	if (cli->json) {
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
		printf(",\"is_stale\":%s,\"filters\":[", st->is_stale ? "true" : "false");
		for (size_t i = 0; i < st->n_filters; i++) {
			printf("%s{\"instance\":", i ? "," : "");
			json_str(st->filters[i].instance);
			printf(",\"file\":\"%s\",\"functions\":%u,\"holds\":%s}",
			       file_name(st->filters[i].file), st->filters[i].functions,
			       st->filters[i].holds < 0 ? "null"
						       : st->filters[i].holds ? "true" : "false");
		}
		printf("]}\n");
	} else {
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
		for (size_t i = 0; i < st->n_filters; i++)
			printf("filter:          %s%s%s%s: %u function%s written by ftidx, %s\n",
			       st->filters[i].instance[0] ? "instances/" : "", st->filters[i].instance,
			       st->filters[i].instance[0] ? "/" : "", file_name(st->filters[i].file),
			       st->filters[i].functions, st->filters[i].functions == 1 ? "" : "s",
			       st->filters[i].holds < 0  ? "cannot tell if it still holds (not a tracefs)"
			       : st->filters[i].holds ? "still holds"
						      : "CHANGED by another writer");
	}
	ftidx_status_free(st);
	return EXIT_OK;
}

/* Per pattern: PATTERN<TAB>MATCHES<TAB>INDEX INDEX..., or JSON. */
static void print_per_pattern(struct cli *cli, const struct ftidx_result *res,
			      const struct strv *pats)
{
	if (cli->json)
		printf("{\"generation\":%" PRIu64 ",\"patterns\":[", ftidx_result_generation(res));
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

static int cmd_resolve(struct cli *cli, int argc, char **argv)
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
	if (r < 0) {
		status = report_failure(cli, r, res, &pats);
	} else {
		if (flags & FTIDX_RESOLVE_PER_PATTERN)
			print_per_pattern(cli, res, &pats);
		else
			print_lines(cli, res, false);
		status = EXIT_OK;
	}
	ftidx_result_free(res);
	strv_free(&pats);
	return status;
}

static int cmd_name(struct cli *cli, int argc, char **argv)
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
	if (r < 0 && !res)
		return report_failure(cli, r, NULL, NULL);
	for (size_t i = 0; i < ftidx_result_count(res); i++) {
		if (ftidx_result_line_error(res, i) < 0) {
			fprintf(stderr, "ftidx: index %u: out of range\n", ftidx_result_index(res, i));
			status = EXIT_REFUSED;
		}
	}
	print_lines(cli, res, false);
	ftidx_result_free(res);
	return status;
}

static int cmd_list(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "placeholders", no_argument, NULL, 'p' },
		{ "addresses", no_argument, NULL, 'a' },
		{ 0 },
	};
	struct ftidx_result *res = NULL;
	const char *module = NULL;
	unsigned flags = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "+m:pa", longopts, NULL)) != -1) {
		switch (c) {
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
	r = connect_daemon(cli);
	if (r != EXIT_OK)
		return r;
	r = ftidx_list(cli->c, flags, module, &res);
	if (r < 0) {
		ftidx_result_free(res);
		return report_failure(cli, r, NULL, NULL);
	}
	print_lines(cli, res, flags & FTIDX_LIST_WITH_ADDRESSES);
	/* say why every address is 0 (a kernel before 6.5) */
	if ((flags & FTIDX_LIST_WITH_ADDRESSES) && ftidx_error_message(cli->c)[0])
		fprintf(stderr, "ftidx list: %s\n", ftidx_error_message(cli->c));
	ftidx_result_free(res);
	return EXIT_OK;
}

static int run_filter(struct cli *cli, int op, int argc, char **argv)
{
	enum { OPT_GENERATION = 0x100 };
	static const struct option longopts[] = {
		{ "instance", required_argument, NULL, 'i' },
		{ "create", no_argument, NULL, 'c' },
		{ "notrace", no_argument, NULL, 'n' },
		{ "graph", no_argument, NULL, 'g' },
		{ "graph-notrace", no_argument, NULL, 'G' },
		{ "generation", required_argument, NULL, OPT_GENERATION },
		{ 0 },
	};
	static const char *const verbs[] = { "", "set", "add", "remove", "clear" };
	struct strv pats = { 0 };
	struct ftidx_result *res = NULL;
	const char *instance = NULL;
	int file = FTIDX_FILTER, c, r, status;
	uint64_t generation = 0;
	unsigned flags = 0;

	while ((c = getopt_long(argc, argv, "+i:cngG", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			instance = optarg;
			break;
		case 'c':
			flags |= FTIDX_CREATE_INSTANCE;
			break;
		case 'n':
			file = FTIDX_NOTRACE;
			break;
		case 'g':
			file = FTIDX_GRAPH;
			break;
		case 'G':
			file = FTIDX_GRAPH_NOTRACE;
			break;
		case OPT_GENERATION: {
			char *end;

			/* A typo must not turn into 0, which skips the stale-map check. */
			errno = 0;
			generation = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-' || generation == 0) {
				fprintf(stderr, "ftidx %s: --generation takes a map generation "
						"(a positive number from ftidx status)\n",
					verbs[op]);
				return EXIT_USAGE;
			}
			break;
		}
		default:
			return EXIT_USAGE;
		}
	}
	if (op == FTIDX_CLEAR && optind < argc) {
		fprintf(stderr, "ftidx clear: takes no patterns\n");
		return EXIT_USAGE;
	}
	if (op != FTIDX_CLEAR && optind >= argc) {
		fprintf(stderr, "ftidx %s: no pattern given\n", verbs[op]);
		return EXIT_USAGE;
	}
	if (collect_patterns(argc - optind, argv + optind, &pats) < 0) {
		strv_free(&pats);
		return EXIT_DAEMON;
	}
	if (op != FTIDX_CLEAR && pats.n == 0) {
		fprintf(stderr, "ftidx %s: no pattern on standard input\n", verbs[op]);
		strv_free(&pats);
		return EXIT_USAGE;
	}
	status = connect_daemon(cli);
	if (status != EXIT_OK) {
		strv_free(&pats);
		return status;
	}
	r = ftidx_filter(cli->c, op, file, instance, flags, generation, (const char *const *)pats.v,
			 pats.n, &res);
	if (r < 0) {
		status = report_failure(cli, r, res, &pats);
	} else if (cli->json) {
		printf("{\"op\":\"%s\",\"file\":\"%s\",\"instance\":", verbs[op], file_name(file));
		json_str(instance ? instance : "");
		printf(",\"generation\":%" PRIu64 ",\"functions\":%zu,\"removed\":%zu,"
		       "\"written\":%u}\n",
		       ftidx_result_generation(res), ftidx_result_count(res),
		       ftidx_result_removed_count(res), ftidx_result_written(res));
		status = EXIT_OK;
	} else {
		printf("%s: %s%s%s%s ", verbs[op], instance ? "instances/" : "",
		       instance ? instance : "", instance ? "/" : "", file_name(file));
		if (op == FTIDX_CLEAR)
			printf("is empty");
		else
			printf("%s %zu function%s", op == FTIDX_REMOVE ? "lost" : "selects",
			       ftidx_result_count(res), ftidx_result_count(res) == 1 ? "" : "s");
		printf(", %u token%s written, map generation %" PRIu64 "\n",
		       ftidx_result_written(res), ftidx_result_written(res) == 1 ? "" : "s",
		       ftidx_result_generation(res));
		status = EXIT_OK;
	}
	ftidx_result_free(res);
	strv_free(&pats);
	return status;
}

static int cmd_set(struct cli *cli, int argc, char **argv)
{
	return run_filter(cli, FTIDX_SET, argc, argv);
}

static int cmd_add(struct cli *cli, int argc, char **argv)
{
	return run_filter(cli, FTIDX_ADD, argc, argv);
}

static int cmd_remove(struct cli *cli, int argc, char **argv)
{
	return run_filter(cli, FTIDX_REMOVE, argc, argv);
}

static int cmd_clear(struct cli *cli, int argc, char **argv)
{
	return run_filter(cli, FTIDX_CLEAR, argc, argv);
}

static int cmd_hits(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "instance", required_argument, NULL, 'i' },
		{ "seconds", required_argument, NULL, 't' },
		{ 0 },
	};
	const char *instance = NULL;
	struct ftidx_hits *h = NULL;
	unsigned long seconds = 5;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "i:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			instance = optarg;
			break;
		case 't':
			errno = 0;
			seconds = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || seconds < 1 ||
			    seconds > FTIDX_HITS_SECONDS_MAX) {
				fprintf(stderr, "ftidx hits: --seconds takes 1 to %d\n",
					FTIDX_HITS_SECONDS_MAX);
				return EXIT_USAGE;
			}
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ftidx hits: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	r = connect_daemon(cli);
	if (r != EXIT_OK)
		return r;
	r = ftidx_hits(cli->c, instance, (unsigned)seconds, &h);
	if (r < 0)
		return report_failure(cli, r, NULL, NULL);
	if (cli->json) {
		printf("{\"seconds\":%lu,\"enabled\":%u,\"calls\":%" PRIu64 ",\"lost\":%" PRIu64
		       ",\"short_by\":",
		       seconds, h->enabled, h->events, h->lost);
		json_str(h->short_by);
		printf(",\"functions\":[");
		for (size_t i = 0; i < h->n; i++) {
			printf("%s{\"index\":%u,\"calls\":%" PRIu64 ",\"line\":", i ? "," : "",
			       h->indices[i], h->counts[i]);
			json_str(h->lines[i]);
			putchar('}');
		}
		printf("]}\n");
	} else {
		for (size_t i = 0; i < h->n; i++)
			printf("%" PRIu64 "\t%u\t%s\n", h->counts[i], h->indices[i], h->lines[i]);
		/* The summary goes beside the table, so that pipes get the table. */
		fprintf(stderr, "%zu of %u function%s fired in %lu s, %" PRIu64 " calls%s",
			h->n, h->enabled, h->enabled == 1 ? "" : "s", seconds, h->events,
			h->lost ? "" : "\n");
		if (h->lost)
			fprintf(stderr, "; the kernel's buffer lost %" PRIu64
					" more, so the counts are short\n",
				h->lost);
		if (h->short_by[0])
			fprintf(stderr, "ftidx hits: %s\n", h->short_by);
	}
	ftidx_hits_free(h);
	return EXIT_OK;
}

/*
 * Run a program with the libtracefs drop-in preloaded: its calls to
 * tracefs_function_filter() and tracefs_function_notrace() go through
 * ftidxd. Needs no daemon itself: the drop-in falls back to libtracefs.
 */
static int cmd_exec(struct cli *cli, int argc, char **argv)
{
	const char *dropin = getenv("FTIDX_PRELOAD"), *old = getenv("LD_PRELOAD");
	char *preload = NULL;

	argv++;
	argc--;
	if (argc > 0 && strcmp(argv[0], "--") == 0) {
		argv++;
		argc--;
	}
	if (argc < 1) {
		fprintf(stderr, "ftidx exec: which command? ftidx exec -- COMMAND [ARG]...\n");
		return EXIT_USAGE;
	}
	if (!dropin || !dropin[0])
		dropin = FTIDX_PRELOAD_PATH;
	if (asprintf(&preload, "%s%s%s", dropin, old && old[0] ? ":" : "", old ? old : "") < 0 ||
	    setenv("LD_PRELOAD", preload, 1) < 0 ||
	    (cli->socket && setenv("FTIDX_SOCKET", cli->socket, 1) < 0)) {
		fprintf(stderr, "ftidx exec: out of memory\n");
		free(preload);
		return EXIT_REFUSED;
	}
	free(preload);
	execvp(argv[0], argv);
	fprintf(stderr, "ftidx exec: cannot run %s: %s\n", argv[0], strerror(errno));
	return 127;
}

static const struct command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *args;
	const char *help;
} commands[] = {
	{ "status", cmd_status, "", "show the daemon's map and state" },
	{ "resolve", cmd_resolve, "[--per-pattern] PATTERN...",
	  "print what PATTERNs select: INDEX<TAB>LINE" },
	{ "name", cmd_name, "INDEX...", "print the line of each INDEX" },
	{ "list", cmd_list, "[--module M] [--placeholders] [--addresses]",
	  "print every line with its index (and address)" },
	{ "set", cmd_set, "PATTERN...", "replace the filter with what PATTERNs select" },
	{ "add", cmd_add, "PATTERN...", "add to the filter ('!PATTERN' removes)" },
	{ "remove", cmd_remove, "PATTERN...", "remove what PATTERNs select from the filter" },
	{ "clear", cmd_clear, "", "empty the filter (the tracer then traces everything)" },
	{ "change", cmd_change, "FILE=OP PATTERN... [FILE=OP PATTERN...]...",
	  "change several filter files of one instance, all or none" },
	{ "remove-instance", cmd_remove_instance, "NAME",
	  "remove an instance ftidxd created (--create)" },
	{ "hits", cmd_hits, "[--instance N] [--seconds S]",
	  "count calls to the filter's functions for S s (5)" },
	{ "exec", cmd_exec, "-- COMMAND [ARG]...",
	  "run COMMAND (trace-cmd...) with libtracefs's filters through ftidxd" },
	{ "version", cmd_version, "", "show the daemon's version and what it can do" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ftidx [--socket PATH] [--json] COMMAND [OPTION]... [ARG]...\n"
		   "Resolve kernel functions to ftrace indices and change filters through ftidxd.\n"
		   "\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		/* too long: the help on a line of its own */
		if (strlen(commands[i].name) + strlen(commands[i].args) > 38)
			fprintf(f, "  %-8s %s\n  %-8s %-30s %s\n", commands[i].name,
				commands[i].args, "", "", commands[i].help);
		else
			fprintf(f, "  %-8s %-*s %s\n", commands[i].name,
				(int)(38 - MAX(strlen(commands[i].name), (size_t)8)), commands[i].args,
				commands[i].help);
	fprintf(f,
		"\nPatterns are read as the kernel reads them: foo, foo*, *foo, *foo*, globs with\n"
		"*, ? and [...], FUNC:mod:MODULE, :mod:MODULE, !PATTERN (removal), or a line\n"
		"INDEX. A PATTERN of '-' reads patterns from standard input, one per line.\n"
		"\nOptions of set, add, remove and clear:\n"
		"  -i, --instance NAME   work on instances/NAME instead of the top level\n"
		"  -c, --create          create the instance if it does not exist\n"
		"  -n, --notrace         change set_ftrace_notrace\n"
		"  -g, --graph           change set_graph_function (names, not indices)\n"
		"  -G, --graph-notrace   change set_graph_notrace (names, not indices)\n"
		"      --generation N    refuse if the map changed since generation N\n"
		"\nchange takes FILE=OP before each file's patterns: FILE is filter, notrace,\n"
		"graph or graph-notrace, OP is set, add, remove or clear; with --instance,\n"
		"--create and --generation as above. Every file changes, or none does.\n"
		"resolve --per-pattern prints PATTERN<TAB>MATCHES<TAB>INDEX... instead.\n"
		"\nhits runs the function tracer in an instance of its own over what the\n"
		"filter enables (less notrace), and prints CALLS<TAB>INDEX<TAB>LINE for each\n"
		"function that fired, most calls first (INDEX 0: the name is on several lines\n"
		"and the kernel, older than 6.5, lists no addresses to tell them apart):\n"
		"  -i, --instance NAME   count the filter of instances/NAME\n"
		"  -t, --seconds S       count for S seconds, 1 to "
		STRINGIFY(FTIDX_HITS_SECONDS_MAX) " (default: 5)\n"
		"\nGlobal options:\n"
		"  -s, --socket PATH     the daemon's socket (default: $FTIDX_SOCKET, else\n"
		"                        " FTIDX_DEFAULT_SOCKET ")\n"
		"  -j, --json            print JSON\n"
		"  -h, --help            show this help\n"
		"  -V, --version         show the version\n"
		"\nExit status: 0 success; 1 the daemon refused the request (a pattern matched\n"
		"nothing or was malformed, the map changed, the write failed); 2 bad usage;\n"
		"3 the daemon could not be reached or answered nonsense.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct cli cli = { 0 };
	const struct command *cmd = NULL;
	char prog[32];
	int c, status;

	while ((c = getopt_long(argc, argv, "+s:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			cli.socket = optarg;
			break;
		case 'j':
			cli.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("ftidx %s\n", FTIDX_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "ftidx: unknown command '%s' (see ftidx --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	/* Each command connects once its own arguments are judged, so that a
	 * usage error is reported as one even with no daemon running. */
	argv += optind;
	argc -= optind;
	/* getopt names argv[0] in its complaints: "ftidx list: ...", not "list: ...". */
	snprintf(prog, sizeof(prog), "ftidx %s", cmd->name);
	argv[0] = prog;
	optind = 0; /* restart getopt for the command's own options */
	status = cmd->fn(&cli, argc, argv);
	ftidx_unref(cli.c);
	return status;
}
