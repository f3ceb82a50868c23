/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The filter sessions' way into the service (service-session.c): what a
 * token written to a session means on the map, and the kernel's own file
 * for a session handed over to it (docs/filter-sessions.md).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct service;

enum session_verdict {
	SESSION_ACCEPT,    /* a name or glob the resolver matches: kept for the commit */
	SESSION_NO_MATCH,  /* matches nothing, as the kernel would say: EINVAL */
	SESSION_TO_KERNEL, /* anything else: the kernel decides, as written */
};

/*
 * What @token, written to filter @file (enum ftidx_filter_file), means.
 * Indices, commands, :mod: of a module not loaded, placeholders and
 * undecided globs go to the kernel; so do '!' and ':' in a graph file
 * (the kernel's graph files match names only, and refuse a removal of
 * what they do not hold). A token that matches nothing on a map being
 * rebuilt goes to the kernel too: a module may have just brought it.
 */
enum session_verdict service_session_verdict(struct service *s, uint16_t file, const char *token);

/* Whether instance @instance ("" for the top level) is there. */
bool service_session_instance_exists(struct service *s, const char *instance);

/* The kernel's file, for a session handed over to it: opened as the
 * program would have (write only, O_TRUNC with @truncate), written, and
 * closed (the kernel's release: its commit). fd or -errno; bytes or
 * -errno; 0 or -errno. */
int service_session_kernel_open(struct service *s, const char *instance, uint16_t file,
				bool truncate);
ssize_t service_session_kernel_write(struct service *s, int fd, const char *buf, size_t len);
int service_session_kernel_close(struct service *s, int fd);
