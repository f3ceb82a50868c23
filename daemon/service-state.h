/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The service's state: what its rooms share, as data (each room's
 * functions are in its own header). The rooms, each calling only those
 * below it:
 *
 *   service.c            the dispatcher: lifecycle, a job's steps, completions
 *   service-query.c      STATUS, RESOLVE, NAMES, LIST
 *   service-filter.c     FILTER, CHANGE: resolve, fence, write, verify, restore
 *   service-hits.c       HITS
 *   service-show.c       SHOW: a filter file as it is
 *   service-instances.c  the instances ftidxd created; REMOVE_INSTANCE
 *   service-jobs.c       requests being answered; their tokens resolved in slices
 *   service-recover.c    the intent of each write; recovery at start
 *   service-audit.c      filters read back off the loop
 *   service-map.c        the map: staleness, rebuilds off the loop, fences
 *   service-written.c    the record of what ftidx wrote
 *   service-reply.c      replies of a status and a message
 *
 * Nothing outside daemon/service*.c includes this.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "glob.h"
#include "map.h"
#include "proto.h"
#include "resolve.h"
#include "writer.h"

/* What ftidx last wrote to one filter file, as the state it left. */
struct written {
	char *instance; /* "" for the top level */
	uint16_t file;
	uint32_t *indices;
	size_t n;
	/* The whole filter, not just what ftidx added to one it did not know
	 * (an ADD or REMOVE on a file ftidx had not set) */
	bool complete;
	int wd;        /* the file's inotify watch (drift.h), or -1 */
	bool drifted;  /* someone else wrote the file since ftidx did */
	/* closes of the file seen in the drain after ftidx's own write: one
	 * is ftidx's, a second another writer's that raced it */
	unsigned closes;
	/* ...so the record cannot say what the file holds, and STATUS says
	 * another writer changed it, until ftidx writes the file again */
	bool raced;
	/* the background audit: the filter read back as ftidx left it? */
	uint16_t audit;       /* FTIDX_HOLDS_*, or AUDIT_PENDING */
	/* what the kernel listed beside the functions at the last audit */
	uint32_t probes, module_patterns;
	struct written *next;
};

#define AUDIT_PENDING 0xffff

/* The body of the last LIST of the whole map, for the next LIST with the
 * same flags on the same map (service-query.c). */
struct list_cache {
	uint64_t generation; /* the map's; 0: empty */
	uint32_t flags;
	uint8_t *body;
	size_t len;
};

struct service {
	struct map *map;
	uint64_t generation;
	uint64_t built_at_ns;
	const struct writer_io *io;
	struct writer_io tracing_io; /* writer_io_tracing, told what it reads back */
	bool real_tracefs;
	bool stale;                 /* a module changed since the map was read */
	bool settling;              /* ...and the uevent watch waits for quiet */
	uint64_t changes;           /* module changes seen so far */
	struct rebuild_job *rebuild_job; /* the rebuild under way (service-map.c) */
	uint64_t rebuilds_started, rebuilds_finished;
	uint64_t rebuild_changes;   /* @changes when the last one began */
	int rebuild_result;         /* the last one's: 0 or -errno */
	uint64_t rebuild_worst_ns;
	uint32_t clients;
	char release[128];
	struct glob_rules rules; /* the running kernel's, decided at start */
	char rules_how[320];
	char modules_path[4096]; /* /proc/modules, or a stand-in's */
	uint64_t modules_fp;     /* the module list the map was read with */
	/* The last fence of a read (record count, module list): when it began
	 * (CLOCK_MONOTONIC) and whether the map was the kernel's. It serves
	 * every read that came before it, so that a storm of readers costs
	 * one fence per turn of the loop, not one per request. */
	uint64_t fence_ns;
	bool fence_ok;
	void (*drain_uevents)(void *ctx);
	void *drain_ctx;
	struct written *written;
	struct created_instance *created; /* service-instances.c */
	struct hits_job *hits_job; /* the HITS run in progress, if any (service-hits.c) */
	struct audit_job *audit_job; /* the audit read in progress (service-audit.c) */
	struct show_wait *show_queue; /* SHOW requests waiting for a read (service-show.c) */
	struct show_read *show_read;  /* ...the read under way for the first */
	struct status_waiter *status_waiters; /* STATUS waiting for the audit */
	struct list_cache list_cache;
	struct pending_restore *restores; /* failed writes being put back (service-filter.c) */
	uint64_t restore_tickets;         /* restores begun so far */
	struct drift *drift;       /* other writers of the files ftidx wrote */
	uint64_t map_wait_ns;      /* how long a write waits for a current map */
	uint64_t read_wait_ns;     /* how long a query waits for a rebuild */
	bool verify_full;          /* read every write back before answering */
	uint32_t audits, drifts;   /* audits done, and filters found changed */
	uint64_t write_seq;        /* filter writes so far */
	char state_dir[4096];      /* where intent records go, for messages */
	int state_fd;              /* that directory, or -1: no crash safety */
	int state_lock_fd;         /* its lock, held while the service lives, or -1 */
	bool intent_failed;        /* the last one could not be saved (said once) */
	bool generation_save_failed; /* likewise the map generation (generations.h) */
	char recovery[512];        /* what recovery at start found and did, for STATUS */
	atomic_uint_fast64_t last_write_ns; /* CLOCK_MONOTONIC of the last one */
	int completion_fd;         /* eventfd: deferred work is done */
	/* the function list published in the state directory (service-publish.c) */
	struct publish_job *publish_job;
	int publish_fd;                /* the state directory, or -1 */
	uint64_t published_generation; /* 0: none yet */
	uint64_t publish_tried_generation; /* the map last handed to a job */
	bool publish_failed;           /* the last write failed (said once) */
	bool publish_root_only;        /* addresses kept from the write group (said once) */
	gid_t publish_gid;             /* may read the addresses, or (gid_t)-1 */
	bool publish_private;          /* --others deny: the list too is root's and
					  publish_gid's alone */
	/* for STATUS: when the service began (CLOCK_REALTIME and
	 * CLOCK_MONOTONIC) and the socket it serves */
	uint64_t started_at_ns, started_ns;
	char socket_path[108];
};

/*
 * A request being answered a slice at a time (service.h). Its tokens are
 * resolved on the map it was pinned to, which it holds a reference to:
 * a read answers from that map, with that map's generation, even if the
 * service has moved on meanwhile; a write notices the move and resolves
 * again on the new map (or is refused as stale).
 */
struct service_job {
	const struct proto_request *req; /* the caller's, which outlives the job */
	/* FILTER and CHANGE: the request, a FILTER as a change of one file;
	 * RESOLVE: its one part */
	struct proto_request one;
	uint32_t id;
	void *requester;
	bool begun;           /* its first step was taken */
	uint64_t came_ns;     /* CLOCK_MONOTONIC when it came */
	uint8_t stage;        /* what it waits for (enum ftidx_progress_stage) */
	uint64_t progress_ns; /* when its last PROGRESS frame went, or 0 */
	uint64_t waiting_for; /* the rebuild it waits for (rebuilds_started) */
	uint64_t wait_began_ns; /* when it first found the map stale, or 0 */
	int attempt;          /* writes: how often the map changed under it */
	bool created;         /* writes: the instance was created for it */
	uint64_t restore_ticket; /* writes: the failed write's restore it waits for */
	int write_error;      /* ...the write's error */
	size_t failed_at;     /* ...and the file that failed */
	struct map *map;      /* what its tokens are resolved on (a reference) */
	uint64_t generation;  /* that map's */
	const struct proto_change *parts;
	size_t n_parts, part; /* part @part is being resolved */
	struct resolver *rs;
	struct resolution res[FTIDX_CHANGES_MAX];
	char outcome[256]; /* what a change did, for the log */
};
