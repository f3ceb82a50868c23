/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The last map generation a daemon handed out, kept in its state
 * directory, so that the next daemon on that directory numbers its maps
 * past it. A client holds a generation across a restart (a script's
 * "ftidx set --generation N", a tool's pinned map): were the numbers to
 * start again at 1, N could name another map of the new daemon, and
 * indices resolved against the old one would be written against it.
 */
#pragma once

#include <stdint.h>

/* The generation saved in directory @dirfd: 0 and *@out, -ENOENT when
 * none was, -EBADMSG with *@why (a file not ftidxd's, malformed), or
 * another -errno. */
int generations_load(int dirfd, uint64_t *out, const char **why);

/* Save @generation in @dirfd (replaced whole): 0 or -errno. */
int generations_save(int dirfd, uint64_t generation);
