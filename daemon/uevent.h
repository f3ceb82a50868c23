/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Module loads and unloads, from the kernel's uevents (a netlink socket in
 * the event loop): each marks the service's map stale and, once the
 * kernel's record count has settled, rebuilds it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "service.h"

struct event_base;
struct uevent_watch;

/* Watch for module uevents on @base for @svc (not consumed). Free with
 * uevent_watch_free(). -errno when the kernel offers no uevent socket
 * (the per-request record count check still guards every write). */
int uevent_watch_new(struct uevent_watch **out, struct event_base *base, struct service *svc);
struct uevent_watch *uevent_watch_free(struct uevent_watch *w);

/* Parse one kernel uevent datagram: true for a module's "add" or "remove",
 * with *@action and *@module pointing into @buf. */
bool uevent_parse_module(const char *buf, size_t len, const char **action, const char **module);
