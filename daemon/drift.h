/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who else writes a filter file: inotify on the files ftidx wrote. Every
 * write(2) that consumes bytes raises IN_MODIFY, whatever the file
 * system, and every close of a file opened for writing raises
 * IN_CLOSE_WRITE; an open with O_TRUNC (which empties a filter) and a
 * close commit a filter, so no writer gets past both unseen. ftidx's own
 * writes raise them too: the caller drains the queue right after each of
 * its writes and ignores what it finds, and counts what it finds before
 * the next as another writer's.
 */
#pragma once

#include <stdbool.h>

struct drift;

/* A watcher, or NULL when inotify cannot be had (then every file counts as
 * written by someone else: the caller reads instead of trusting). */
struct drift *drift_new(void);
struct drift *drift_free(struct drift *d);

/* Watch @path; returns a watch descriptor (>= 0) or -errno. */
int drift_watch(struct drift *d, const char *path);
void drift_unwatch(struct drift *d, int wd);

/* What an event says of a watched file. */
enum drift_event {
	DRIFT_WRITTEN, /* a write(2) took bytes */
	/* a writable open of it was closed: the kernel commits a filter at
	 * close, so each writer's batch ends with one of these */
	DRIFT_CLOSED,
	/* it went: an instance removed (rmdir, by anyone) takes its files,
	 * and a new one of the same name starts empty */
	DRIFT_GONE,
};

/* Take the events queued so far, calling @seen(ctx, wd, event) for each.
 * inotify merges an event into the one queued just before it when both
 * are the same, so two writers' closes count as one only when nothing
 * came between them. Returns 0, or -errno (-ENOBUFS: the queue overflowed, and
 * every watched file must count as written). */
int drift_drain(struct drift *d, void (*seen)(void *ctx, int wd, enum drift_event ev),
		void *ctx);
