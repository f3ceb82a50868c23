/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The service's map: staleness, rebuilds off the loop, fences (service-map.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct service;
struct map;

/* Before a request: is the map the kernel's? 0 if its record count and
 * module list say so, else SERVICE_BLOCKED, a rebuild under way (or
 * about to begin, once the kernel settles), or -errno. */
int service_map_catch_up(struct service *s);
/* The same, for a request that came at @since_ns (CLOCK_MONOTONIC): a
 * fence begun after that, which found the map the kernel's, serves it
 * without another read. */
int service_map_catch_up_since(struct service *s, uint64_t since_ns);

/* Right before a write: the same, after taking in the module uevents
 * already queued. */
int service_map_fence(struct service *s);

/* Put @m (consumed), read with module list @fingerprint, in service: a
 * new generation unless it is the same text as the map in service. */
bool service_map_swap(struct service *s, struct map *m, uint64_t fingerprint);

/* Once the state directory is ftidxd's (state_fd): the map's generation
 * goes on past the last one a daemon saved there, and is saved there at
 * every new map from now on. */
void service_map_continue_generations(struct service *s);
/* Rebuild off the loop, unless one is under way: 0 or -errno. */
int service_map_rebuild(struct service *s);
/* A finished rebuild's map, swapped in (on the loop). */
void service_map_rebuild_complete(struct service *s);
void service_map_rebuild_shutdown(struct service *s);

/*
 * Right after a write: whether the map it was planned on is still the
 * kernel's, so that the indices written meant what they were meant to:
 * no module uevent queued (none lost), the record count and the module
 * list as the map has them. Loads append records and leave earlier
 * indices alone; an unload shows its module "Unloading" before ftrace
 * drops its records; a reload of the same module sends uevents. So a
 * write fenced on both sides landed on that map.
 */
bool service_map_fence_holds(struct service *s);

/*
 * Re-read the map if the kernel's record count or its module list (see
 * modules.h) no longer match it, or always with @force. The generation
 * goes up when what was read differs from the map: a forced re-read of an
 * unchanged kernel keeps it.
 */
int service_map_refresh(struct service *s, bool force);
uint64_t service_map_generation(const struct service *s);
/* Lines in the current map, placeholders included. */
uint32_t service_map_size(const struct service *s);

/*
 * A module came or went (a uevent): the map is stale until a rebuild that
 * begins after now is done, and STATUS says so. Requests wait for the
 * rebuild (see service_step()); it begins when the kernel has
 * settled, which the caller says with service_map_settled(): a module's
 * records keep changing until its init is done. 0 or -errno.
 */
void service_map_changed(struct service *s);

/* Something other than a uevent says the map may not be the kernel's (a
 * write failed as a module change would make it): it is stale, and read
 * anew off the loop at once. 0 or -errno (no rebuild could begin). */
int service_map_invalidate(struct service *s);
int service_map_settled(struct service *s);
bool service_map_stale(const struct service *s);
/* Where the module list is read (/proc/modules, or a stand-in's). */
const char *service_map_modules_path(const struct service *s);
