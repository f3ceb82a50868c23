/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The map of a real fixture, for the unit tests that need one. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "testlib.h"

/* Map @dir/@name as the daemon maps available_filter_functions; exits if
 * it cannot, since every later check would be about nothing. */
static inline struct map *fixture_map(const char *dir, const char *name)
{
	char path[4096];
	struct map *m = NULL;
	size_t len;
	char *buf;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = test_read_file(path, &len);
	r = map_new_from_buffer(&m, buf, len, false);
	if (r < 0) {
		fprintf(stderr, "cannot map %s: %s\n", path, strerror(-r));
		exit(1);
	}
	return m;
}
