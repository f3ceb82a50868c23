/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Publishing the kernel's function list (publish.h) from the service: a
 * thread writes the copy of each current map into the state directory,
 * off the loop, since with many modules that is megabytes.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct service;

/* Publish the map if it is current and not yet published; a write under
 * way is followed by another when it ends. */
void service_publish_soon(struct service *s);
/* The loop's side of a finished write (service_complete()). */
void service_publish_complete(struct service *s);
void service_publish_shutdown(struct service *s);
/* Publish into the state directory @dirfd (-1: nowhere); never into the
 * tracing directory itself (a stand-in's, in tests), whose list it would
 * overwrite. */
void service_publish_set_dir(struct service *s, int dirfd);
/* The group that may read the addresses, or (gid_t)-1: root only. */
void service_publish_set_group(struct service *s, gid_t gid);
/* Others may not list (--others deny): the list is published for root
 * and the write group alone, as the addresses are. Before the directory
 * is set. */
void service_publish_set_private(struct service *s, bool others_denied);
/* The path of the published list, or "" when nothing is published. */
const char *service_published_path(const struct service *s);
