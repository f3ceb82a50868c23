/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a local user would plant for the access tests: a well-formed
 * intent record, as ftidxd itself would write it, saying that the top
 * level's set_ftrace_filter held BEFORE (names, space-separated) when a
 * write of AFTER began. A daemon that trusted it would "recover" by
 * writing BEFORE into the filter.
 *
 *   forge-intent FILE "BEFORE..." "AFTER..."
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intent.h"
#include "proto.h"

/* Split @s at spaces, in place. */
static char **words(char *s, size_t *n)
{
	char **v = calloc(strlen(s) + 1, sizeof(*v));

	*n = 0;
	for (char *w = strtok(s, " "); v && w; w = strtok(NULL, " "))
		v[(*n)++] = w;
	return v;
}

int main(int argc, char **argv)
{
	struct intent_file file = { "", FTIDX_FILE_FILTER, NULL, 0, NULL, 0 };
	struct intent in = { 1764640000000000000ull, &file, 1, NULL };
	char *text;
	size_t len;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: forge-intent FILE \"BEFORE...\" \"AFTER...\"\n");
		return 2;
	}
	file.before = words(argv[2], &file.n_before);
	file.after = words(argv[3], &file.n_after);
	if (!file.before || !file.after || intent_format(&in, &text, &len) < 0)
		return 1;
	f = fopen(argv[1], "w");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	free(text);
	free(file.before);
	free(file.after);
	return 0;
}
