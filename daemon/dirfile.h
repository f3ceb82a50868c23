/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A file of a trusted directory (one no one else may write) replaced
 * whole: a reader sees the old file or the new one, never part of one.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Replace @name in the directory @dirfd with @len bytes of @data, mode
 * @mode and, unless @gid is (gid_t)-1, group @gid. Written as "@name.new"
 * first: a file of that name is a crash's leftover, or planted, and is
 * never written through but made anew; then renamed over @name. With
 * @durable the data and the rename reach the disk before it returns.
 * 0 or -errno (then @name is as it was).
 */
int dirfile_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    gid_t gid, bool durable);

struct stat;

/* Whether a file of the directory, as @st says, is ftidxd's alone: owned
 * by the uid it runs as, and no one else may write it; *@why if not. */
bool dirfile_trusted(const struct stat *st, const char **why);

/*
 * @name of the directory @dirfd, whole, into *@text (malloc'd, NUL
 * ended; its length in *@len) when it is a regular file, not a link,
 * trusted (dirfile_trusted()) and at most @max bytes. 0; -ENOENT when
 * there is none; -EBADMSG with *@why when it cannot be trusted or read
 * whole; -ENOMEM, or another -errno.
 */
int dirfile_read(int dirfd, const char *name, size_t max, char **text, size_t *len,
		 const char **why);
