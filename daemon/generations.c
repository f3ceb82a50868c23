/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "dirfile.h"
#include "generations.h"
#include "macro.h"

#define GENERATIONS_FILE "generation"

int generations_load(int dirfd, uint64_t *out, const char **why)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = dirfile_read(dirfd, GENERATIONS_FILE, 64, &text, &len, why);

	if (r == 0 && sscanf(text, "generation %" SCNu64 "\n", out) != 1) {
		*why = "it does not say 'generation N'";
		r = -EBADMSG;
	}
	return r;
}

int generations_save(int dirfd, uint64_t generation)
{
	char text[64];
	int len = snprintf(text, sizeof(text), "generation %" PRIu64 "\n", generation);

	/* not durable: a crash of ftidxd leaves the page cache, and the
	 * directory is /run, which a reboot empties with every client */
	return dirfile_replace(dirfd, GENERATIONS_FILE, text, (size_t)len, 0644, (gid_t)-1, false);
}
