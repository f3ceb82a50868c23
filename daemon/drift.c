/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Filter files written by others (see drift.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "drift.h"
#include "macro.h"

#define WATCHED (IN_MODIFY | IN_CLOSE_WRITE)
/* the file went (its instance was removed): IN_IGNORED follows any
 * watch's end, ours (drift_unwatch()) included */
#define GONE (IN_DELETE_SELF | IN_IGNORED)

struct drift {
	int fd;
};

struct drift *drift_new(void)
{
	struct drift *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->fd < 0) {
		free(d);
		return NULL;
	}
	return d;
}

struct drift *drift_free(struct drift *d)
{
	if (d) {
		close(d->fd);
		free(d);
	}
	return NULL;
}

int drift_watch(struct drift *d, const char *path)
{
	int wd;

	if (!d)
		return -ENOTSUP;
	wd = inotify_add_watch(d->fd, path, WATCHED | IN_DELETE_SELF);
	return wd < 0 ? negative_errno() : wd;
}

void drift_unwatch(struct drift *d, int wd)
{
	if (d && wd >= 0)
		inotify_rm_watch(d->fd, wd);
}

int drift_drain(struct drift *d, void (*seen)(void *ctx, int wd, enum drift_event ev), void *ctx)
{
	/* aligned as the events in it are */
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int r = 0;

	if (!d)
		return -ENOTSUP;
	for (;;) {
		ssize_t n = read(d->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? r : negative_errno();
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				r = -ENOBUFS;
			else if (ev->mask & GONE)
				seen(ctx, ev->wd, DRIFT_GONE);
			else if (ev->mask & IN_CLOSE_WRITE)
				seen(ctx, ev->wd, DRIFT_CLOSED);
			else if (ev->mask & IN_MODIFY)
				seen(ctx, ev->wd, DRIFT_WRITTEN);
			p += sizeof(*ev) + ev->len;
		}
	}
}
