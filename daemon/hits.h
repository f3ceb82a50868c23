/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Counting which functions of a filter are called: the function tracer runs
 * in an instance of its own, filtered by index to the functions asked for,
 * while ftidxd drains that instance's ring buffer. Records are decoded with
 * libtraceevent and counted by address; at the end the addresses are named
 * through /proc/kallsyms and matched back to map indices.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "writer.h"

struct hits;

/* Runs happen in instances/ftidx-hits-PID, PID being ftidxd's. */
#define HITS_INSTANCE_PREFIX "ftidx-hits-"

struct hit {
	uint32_t index;   /* map index; 0 when, without addresses, the name is on
			     several enabled lines */
	uint64_t count;
	const char *line; /* "name" or "name [module]" */
	uint64_t ip;      /* the address the records carry */
};

/*
 * Start counting calls to @indices (ascending, of map @m): creates
 * instance @instance, filters it to @indices through @io and the writer,
 * and starts the function tracer there, for every thread but the
 * daemon's main one and the calling one (which is to drain: reading the
 * buffer is a vfs_read()). Returns 0 or -errno with *@why.
 */
int hits_start(struct hits **out, const struct writer_io *io, const struct map *m,
	       const char *instance, const uint32_t *indices, size_t n, const char **why);

/* Take what the ring buffer holds now, so that it never fills. 0 or -errno. */
int hits_drain(struct hits *h);

/*
 * Stop tracing, drain the rest, and name what fired through @kallsyms (the
 * path of a kallsyms file). Returns 0 or -errno with *@why set.
 */
int hits_stop(struct hits *h, const char *kallsyms, const char **why);

/* Stop if still running and remove the run's instance (the kernel takes
 * its time tearing down a ring buffer): the results stay. */
void hits_remove_instance(struct hits *h);

/* After hits_stop(): the functions that fired, most calls first. */
const struct hit *hits_results(const struct hits *h, size_t *n);
uint64_t hits_events(const struct hits *h); /* records counted */
uint64_t hits_lost(const struct hits *h);   /* records the kernel dropped or overwrote */
size_t hits_enabled(const struct hits *h);  /* functions the run traced */
/* Calls came faster than ftidxd read them, and some records were dropped
 * unread: the counts are short by an unknown amount. */
bool hits_cut_short(const struct hits *h);

/*
 * Remove the instances of runs whose ftidxd is gone (killed mid-run: the
 * function tracer would go on in them for ever). Returns how many.
 */
int hits_remove_orphans(void);

/* Stop if still running and remove the instance. */
struct hits *hits_free(struct hits *h);
