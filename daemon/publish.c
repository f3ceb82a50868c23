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

/* Replace @name for root and @gid alone: 0640 and @gid's, or 0600 without
 * a group, or when the group cannot be given (the service runs without
 * CAP_CHOWN: ftidxd.service), which sets *@root_only. Never everyone's. */
static int replace_private(int dirfd, const char *name, const char *data, size_t len, gid_t gid,
			   bool *root_only)
{
	int r = dirfile_replace(dirfd, name, data, len, gid != (gid_t)-1 ? 0640 : 0600, gid, false);

	if (r == -EPERM && gid != (gid_t)-1) {
		r = dirfile_replace(dirfd, name, data, len, 0600, (gid_t)-1, false);
		*root_only = *root_only || r == 0;
	}
	return r;
}

/* Replace @name for whoever may list: everyone, or with @others_denied
 * root and @gid alone. */
static int replace_list(int dirfd, const char *name, const char *data, size_t len, gid_t gid,
			bool others_denied, bool *root_only)
{
	if (others_denied)
		return replace_private(dirfd, name, data, len, gid, root_only);
	return dirfile_replace(dirfd, name, data, len, 0644, (gid_t)-1, false);
}

int publish_list(int dirfd, const struct map *m, const struct publish_stamp *st, gid_t gid,
		 bool others_denied)
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
		r = replace_private(dirfd, PUBLISH_ADDRS, text, len, gid, &root_only);
		if (r == 0)
			r = replace_list(dirfd, PUBLISH_LIST, plain, plain_len, gid, others_denied,
					 &root_only);
	} else {
		r = unlinkat(dirfd, PUBLISH_ADDRS, 0) < 0 && errno != ENOENT ? negative_errno() : 0;
		if (r == 0)
			r = replace_list(dirfd, PUBLISH_LIST, text, len, gid, others_denied,
					 &root_only);
	}
	if (r < 0)
		return r;
	n = snprintf(stamp, sizeof(stamp), "generation %" PRIu64 "\nrecords %" PRIu32
			 "\nmodules %016" PRIx64 "\n",
		     st->generation, map_size(m), st->modules_fingerprint);
	r = replace_list(dirfd, PUBLISH_STAMP, stamp, (size_t)n, gid, others_denied, &root_only);
	return r < 0 ? r : root_only;
}
