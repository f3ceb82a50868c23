/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ftidx hits: which functions of the filter fire, and how often.
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

static void print_hits_json(const struct ftidx_hits *h, unsigned long seconds)
{
	printf("{\"seconds\":%lu,\"enabled\":%u,\"calls\":%" PRIu64 ",\"lost\":%" PRIu64
	       ",\"short_by\":",
	       seconds, h->enabled, h->events, h->lost);
	json_str(h->short_by);
	printf(",\"functions\":[");
	for (size_t i = 0; i < h->n; i++) {
		printf("%s{\"index\":%u,\"calls\":%" PRIu64 ",", i ? "," : "", h->indices[i],
		       h->counts[i]);
		json_line(h->lines[i]);
		putchar('}');
	}
	printf("]}\n");
}

static void print_hits_text(const struct cli *cli, const struct ftidx_hits *h,
			    unsigned long seconds)
{
	for (size_t i = 0; i < h->n; i++)
		printf("%" PRIu64 "\t%u\t%s\n", h->counts[i], h->indices[i], h->lines[i]);
	if (cli->quiet)
		return;
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

int cmd_hits(struct cli *cli, int argc, char **argv)
{
	const char *instance = NULL;
	struct ftidx_hits *h = NULL;
	unsigned long seconds = 5;
	char *end;
	int c, r;

	while ((c = cli_getopt(cli, argc, argv)) != -1) {
		switch (c) {
		case 'i':
			instance = optarg;
			break;
		case 't':
			errno = 0;
			seconds = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || seconds < 1 ||
			    seconds > FTIDX_HITS_SECONDS_MAX)
				return cli_error(cli, EXIT_USAGE, 0,
						 "--seconds takes 1 to %d, not '%s'",
						 FTIDX_HITS_SECONDS_MAX, optarg);
			break;
		}
	}
	if (optind < argc)
		return cli_error(cli, EXIT_USAGE, 0, "unexpected argument '%s'", argv[optind]);
	r = connect_daemon(cli);
	if (r != EXIT_OK)
		return r;
	r = ftidx_hits(cli->c, instance, (unsigned)seconds, &h);
	progress_done(cli);
	if (r < 0)
		return report_failure(cli, r, NULL, NULL);
	if (cli->json)
		print_hits_json(h, seconds);
	else
		print_hits_text(cli, h, seconds);
	ftidx_hits_free(h);
	return EXIT_OK;
}
