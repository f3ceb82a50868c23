/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module list's fingerprint (see modules.h). Only each line's first
 * field (the name) and fifth (the state) count: sizes, reference counts
 * and addresses change without moving a single ftrace record.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "modules.h"

static uint64_t mix_in(uint64_t h, const char *s, size_t len)
{
	/* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

int modules_fingerprint(const char *path, uint64_t *fingerprint, bool *settled)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	uint64_t h = 0xcbf29ce484222325ull;
	bool live = true;
	int r = 0;

	*fingerprint = h;
	if (settled)
		*settled = true;
	if (!f)
		return errno == ENOENT ? 0 : negative_errno();
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *field = strtok_r(line, " \n", &save);
		const char *name = field, *state = NULL;

		for (int i = 1; field && i < 5; i++) {
			field = strtok_r(NULL, " \n", &save);
			if (i == 4)
				state = field;
		}
		if (!name || !state)
			continue;
		h = mix_in(h, name, strlen(name) + 1);
		h = mix_in(h, state, strlen(state) + 1);
		live &= strcmp(state, "Live") == 0;
	}
	if (ferror(f))
		r = -EIO;
	else
		*fingerprint = h;
	if (settled)
		*settled = live;
	fclose(f);
	return r;
}
