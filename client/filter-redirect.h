/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The drop-in's writes of the filter files through ftidxd's filter
 * sessions (filter-redirect.c, docs/filter-sessions.md). list-redirect.c,
 * which takes the program's opens, asks here first.
 */
#pragma once

#include <stdio.h>

/*
 * An open of @path (relative to @dirfd, as openat() takes it) with
 * @flags. 1 when it is an open for writing of a filter file of ftidxd's
 * tracing directory, served here: *@fd is a session's socket, or -1 with
 * errno set. 0 when the caller opens it as asked: anything else, or what
 * the drop-in cannot serve exactly (said once on standard error). A read
 * of a filter file first waits for the sessions of that file that have
 * ended to be committed.
 */
int filter_redirect_open(int dirfd, const char *path, int flags, int *fd);

/* The same for fopen(): 1 with the stream in *@f (or NULL with errno), or
 * 0: the caller opens it as asked. */
int filter_redirect_fopen(const char *path, const char *mode, FILE **f);

/* @fd (or -1) was just opened as asked: not a session. */
void filter_redirect_opened(int fd);
