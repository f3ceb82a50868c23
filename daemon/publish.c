/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The published copy of the kernel's function list (see publish.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirfile.h"
#include "macro.h"
#include "publish.h"

/*
 * available_filter_functions from the text of its _addrs sibling: the
 * kernel prints each record the same, with "ADDR " in front (6.5 on).
 * malloc'd, *@out_len bytes, or NULL.
 */
static char *strip_addresses(const char *text, size_t len, size_t *out_len)
{
	char *out = malloc(len + 1), *o = out;

	if (!out)
		return NULL;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl + 1 : end;
		const char *sp = memchr(p, ' ', (size_t)(line_end - p));
		const char *from = sp ? sp + 1 : p;

		memcpy(o, from, (size_t)(line_end - from));
		o += line_end - from;
		p = line_end;
	}
	*out_len = (size_t)(o - out);
	return out;
}

int publish_list(int dirfd, const struct map *m, const struct publish_stamp *st, gid_t addrs_gid)
{
	_cleanup_free_ char *plain = NULL, *text = NULL;
	bool root_only = false;
	char stamp[128];
	size_t len, plain_len;
	int r, n;

	text = map_kernel_text(m, &len);
	if (!text)
		return -ENOMEM;
	if (map_has_addresses(m)) {
		plain = strip_addresses(text, len, &plain_len);
		if (!plain)
			return -ENOMEM;
		r = dirfile_replace(dirfd, PUBLISH_ADDRS, text, len,
				    addrs_gid != (gid_t)-1 ? 0640 : 0600, addrs_gid, false);
		/* the service runs without CAP_CHOWN (ftidxd.service): then
		 * root alone reads them, never everyone */
		if (r == -EPERM && addrs_gid != (gid_t)-1) {
			r = dirfile_replace(dirfd, PUBLISH_ADDRS, text, len, 0600, (gid_t)-1,
					    false);
			root_only = r == 0;
		}
		if (r == 0)
			r = dirfile_replace(dirfd, PUBLISH_LIST, plain, plain_len, 0644, (gid_t)-1,
					    false);
	} else {
		r = unlinkat(dirfd, PUBLISH_ADDRS, 0) < 0 && errno != ENOENT ? negative_errno() : 0;
		if (r == 0)
			r = dirfile_replace(dirfd, PUBLISH_LIST, text, len, 0644, (gid_t)-1, false);
	}
	if (r < 0)
		return r;
	n = snprintf(stamp, sizeof(stamp), "generation %" PRIu64 "\nrecords %" PRIu32
			 "\nmodules %016" PRIx64 "\n",
		     st->generation, map_size(m), st->modules_fingerprint);
	r = dirfile_replace(dirfd, PUBLISH_STAMP, stamp, (size_t)n, 0644, (gid_t)-1, false);
	return r < 0 ? r : root_only;
}
