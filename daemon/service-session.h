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

/*
 * The @n tokens a session kept, as the text to write to the kernel's
 * file of @file when it takes the session over: their lines' indices on
 * the map (one a line, removals with '!'), when the map is the kernel's
 * now, taken as the writer takes it (the module uevents queued first),
 * so that a thousand names cost the kernel no walk of its records each;
 * NULL when it is not, or for a graph file (which takes names), or when
 * out of memory: then the caller writes the names.
 */
char *service_session_kernel_indices(struct service *s, uint16_t file, const char *const *tokens,
				     size_t n, size_t *len);
/* Whether the map the indices were taken on is still the kernel's, after
 * they were written: loads only append, an unload shows first. */
bool service_session_kernel_fence_holds(struct service *s);
int service_session_kernel_close(struct service *s, int fd);
