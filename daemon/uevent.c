/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Module uevents (see uevent.h).
 *
 * Timing: the kernel sends a module's "add" after its init has run but
 * before it frees the module's __init code, whose ftrace records then go,
 * shifting indices a second time; "remove" comes after the records are
 * gone. So an event marks the map stale at once, and the rebuild waits
 * until the record count has held still for one settle period.
 */
#include <errno.h>
#include <event2/event.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "modules.h"
#include "service.h"
#include "service-map.h"
#include "tracing.h"
#include "uevent.h"

#define SETTLE_MS 50
#define SETTLE_TRIES 100 /* give up waiting after 5 s and rebuild anyway */

struct uevent_watch {
	int fd;
	struct event *readable, *settle;
	struct service *svc;
	unsigned long last_count;
	unsigned tries;
};

bool uevent_parse_module(const char *buf, size_t len, const char **action, const char **module)
{
	const char *subsystem = NULL, *devpath = NULL;

	*action = *module = NULL;
	/* "ACTION@DEVPATH\0KEY=VALUE\0...", each field NUL-terminated */
	for (size_t at = 0; at < len;) {
		const char *field = buf + at;
		size_t n = strnlen(field, len - at);

		if (at + n == len) /* unterminated: ignore */
			break;
		if (strncmp(field, "ACTION=", 7) == 0)
			*action = field + 7;
		else if (strncmp(field, "SUBSYSTEM=", 10) == 0)
			subsystem = field + 10;
		else if (strncmp(field, "DEVPATH=", 8) == 0)
			devpath = field + 8;
		at += n + 1;
	}
	if (!subsystem || strcmp(subsystem, "module") != 0 || !*action || !devpath ||
	    strncmp(devpath, "/module/", 8) != 0 || !devpath[8])
		return false;
	if (strcmp(*action, "add") != 0 && strcmp(*action, "remove") != 0)
		return false;
	*module = devpath + 8;
	return true;
}

static void schedule_settle(struct uevent_watch *w)
{
	struct timeval tv = { 0, SETTLE_MS * 1000 };

	evtimer_add(w->settle, &tv);
}

/*
 * Settled once the record count has held still for a settle period and
 * no module is on its way in or out; then the map is rebuilt, off the
 * loop (requests that need it wait meanwhile). After SETTLE_TRIES it is
 * rebuilt anyway.
 */
static void on_settle(evutil_socket_t fd _unused_, short what _unused_, void *ctx)
{
	struct uevent_watch *w = ctx;
	unsigned long count = 0;
	uint64_t fp;
	bool settled = true;
	int r;

	if (tracing_read_record_count(&count) == 0 &&
	    modules_fingerprint(service_map_modules_path(w->svc), &fp, &settled) == 0 &&
	    (count != w->last_count || !settled) && ++w->tries < SETTLE_TRIES) {
		w->last_count = count;
		schedule_settle(w);
		return;
	}
	r = service_map_settled(w->svc);
	if (r < 0)
		log_error("rebuilding the map after a module change failed: %s", strerror(-r));
	else
		log_info("the kernel settled after a module change: %lu records", count);
}

static void module_changed(struct uevent_watch *w)
{
	service_map_changed(w->svc);
	w->last_count = 0;
	w->tries = 0;
	schedule_settle(w);
}

/* Take in every uevent queued on the socket. */
static void drain(void *ctx)
{
	struct uevent_watch *w = ctx;
	char buf[8192];
	ssize_t n;

	for (;;) {
		const char *action, *module;

		n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			/* The kernel dropped uevents: one of them may have been a
			 * module's. Assume so. */
			log_warn("uevents were lost (the socket's buffer overflowed); the map is "
				 "stale until the kernel settles");
			module_changed(w);
			continue;
		}
		if (n <= 0)
			break;
		if (!uevent_parse_module(buf, (size_t)n, &action, &module))
			continue;
		log_info("module %s: %s; the map is stale until the kernel settles", module, action);
		module_changed(w);
	}
}

static void on_readable(evutil_socket_t fd _unused_, short what _unused_, void *ctx)
{
	drain(ctx);
}

int uevent_watch_new(struct uevent_watch **out, struct event_base *base, struct service *svc)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 /* kernel events */ };
	struct uevent_watch *w = calloc(1, sizeof(*w));
	int rcvbuf = 4 << 20;
	int r;

	if (!w)
		return -ENOMEM;
	w->svc = svc;
	w->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       NETLINK_KOBJECT_UEVENT);
	if (w->fd < 0 || bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = negative_errno();
		goto fail;
	}
	/* A module load comes with a burst of device uevents (loop makes eight
	 * block devices): room for them, so that few are lost. The forced size
	 * needs CAP_NET_ADMIN; without it the kernel's rmem_max caps the ask. */
	if (setsockopt(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	w->readable = event_new(base, w->fd, EV_READ | EV_PERSIST, on_readable, w);
	w->settle = evtimer_new(base, on_settle, w);
	if (!w->readable || !w->settle || event_add(w->readable, NULL) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	service_set_uevent_drain(svc, drain, w);
	*out = w;
	return 0;
fail:
	uevent_watch_free(w);
	return r;
}

struct uevent_watch *uevent_watch_free(struct uevent_watch *w)
{
	if (!w)
		return NULL;
	service_set_uevent_drain(w->svc, NULL, NULL);
	if (w->readable)
		event_free(w->readable);
	if (w->settle)
		event_free(w->settle);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	return NULL;
}
