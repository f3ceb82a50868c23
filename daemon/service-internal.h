/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The service's state, shared by the files that handle its requests:
 * service.c (lifecycle, the map's refresh and fence, dispatch),
 * service-query.c (STATUS, RESOLVE, NAMES, LIST), service-filter.c
 * (FILTER, CHANGE and their restore), service-written.c (the record of
 * what ftidx wrote), service-instances.c (the instances it created) and
 * service-hits.c (HITS, CANCEL). Nothing outside them includes this.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "glob.h"
#include "hits.h"
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
	/* the background audit: the filter read back as ftidx left it? */
	uint16_t audit;       /* FTIDX_HOLDS_*, or AUDIT_PENDING */
	struct written *next;
};

#define AUDIT_PENDING 0xffff

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
	struct rebuild_job *rebuild_job; /* the rebuild under way (service-rebuild.c) */
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
	void (*drain_uevents)(void *ctx);
	void *drain_ctx;
	struct written *written;
	struct created_instance *created; /* service-instances.c */
	struct hits_job *hits_job; /* the HITS run in progress, if any (service-hits.c) */
	struct audit_job *audit_job; /* the audit read in progress (service-audit.c) */
	struct status_waiter *status_waiters; /* STATUS waiting for the audit */
	struct drift *drift;       /* other writers of the files ftidx wrote */
	bool verify_full;          /* read every write back before answering */
	uint32_t audits, drifts;   /* audits done, and filters found changed */
	uint64_t write_seq;        /* filter writes so far */
	char state_dir[4096];      /* where intent records go, for messages */
	int state_fd;              /* that directory, or -1: no crash safety */
	bool intent_failed;        /* the last one could not be saved (said once) */
	char recovery[512];        /* what recovery at start found and did, for STATUS */
	atomic_uint_fast64_t last_write_ns; /* CLOCK_MONOTONIC of the last one */
	int completion_fd;         /* eventfd: deferred work is done */
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
	uint64_t waiting_for; /* the rebuild it waits for (rebuilds_started) */
	int attempt;          /* writes: how often the map changed under it */
	bool created;         /* writes: the instance was created for it */
	struct map *map;      /* what its tokens are resolved on (a reference) */
	uint64_t generation;  /* that map's */
	const struct proto_change *parts;
	size_t n_parts, part; /* part @part is being resolved */
	struct resolver *rs;
	struct resolution res[FTIDX_CHANGES_MAX];
};

/* Resolve @n_parts parts of @job's tokens afresh, on the current map. */
void service_job_pin(struct service *s, struct service_job *job, const struct proto_change *parts,
		     size_t n_parts);
/*
 * Go on resolving @job's parts (each a batch of its own, as one file's
 * change) into job->res, each token's own matches too with @per_token:
 * 0 once all are resolved, SERVICE_MORE when @deadline_ns passed first,
 * -ENOMEM, or -E2BIG (per-token matches past what a reply can carry).
 */
int service_job_resolve(struct service *s, struct service_job *job, bool per_token,
			uint64_t deadline_ns);

/* Before a request: is the map the kernel's? 0 if its record count and
 * module list say so, else SERVICE_BLOCKED, a rebuild under way (or
 * about to begin, once the kernel settles), or -errno. */
int service_catch_up(struct service *s);

/* Right before a write: the same, after taking in the module uevents
 * already queued. */
int service_fence(struct service *s);

/* ---- service-rebuild.c ---- */

/* Read the map (map_load()) with the module list's fingerprint the same
 * before and after. 0, or -errno (-EAGAIN: it kept moving). */
int service_load_fenced(const char *modules_path, struct map **out, uint64_t *fp);
/* Put @m (consumed), read with module list @fingerprint, in service: a
 * new generation unless it is the same text as the map in service. */
bool service_swap_map(struct service *s, struct map *m, uint64_t fingerprint);
/* Rebuild off the loop, unless one is under way: 0 or -errno. */
int service_rebuild_start(struct service *s);
/* A finished rebuild's map, swapped in (on the loop). */
void service_rebuild_complete(struct service *s);
void service_rebuild_shutdown(struct service *s);

/*
 * Right after a write: whether the map it was planned on is still the
 * kernel's, so that the indices written meant what they were meant to:
 * no module uevent queued (none lost), the record count and the module
 * list as the map has them. Loads append records and leave earlier
 * indices alone; an unload shows its module "Unloading" before ftrace
 * drops its records; a reload of the same module sends uevents. So a
 * write fenced on both sides landed on that map.
 */
bool service_fence_holds(struct service *s);

/* ---- service-written.c ---- */

void written_free_all(struct service *s);
struct written *written_find(struct service *s, const char *instance, uint16_t file);
void written_forget_instance(struct service *s, const char *instance);
/* Take the drift events queued so far: as other writers' (@foreign), or
 * as ftidx's own writes just made. */
void written_take_drift(struct service *s, bool foreign);
/* What a read of @w's file returns, if ftidx knows it without reading: a
 * complete record, no one else has written since, a tracefs that reads
 * back names. NULL otherwise, or when out of memory; free() it. */
char *written_known_text(struct service *s, const struct written *w);
/* Remember the state a successful @op with @res left in a filter file. */
void written_record(struct service *s, const char *instance, uint16_t file, uint16_t op,
		    const struct resolution *res);
/* Whether the filter of @w still holds what ftidx wrote (FTIDX_HOLDS_*),
 * as the audit last found it; AUDIT_PENDING when it has not read the file
 * since ftidx or anyone else last wrote it. */
uint16_t written_verdict(const struct service *s, const struct written *w);
/* Whether no record's verdict is pending. */
bool written_all_judged(const struct service *s);

/* ---- service-audit.c ---- */

/* A filter file is about to be written: audits wait for quiet, and one
 * in progress is void. */
void service_audit_note_write(struct service *s);
/* Read back a record whose audit is pending, off the loop, once writes
 * are quiet. */
void service_audit_soon(struct service *s);
/* Someone waits for the verdicts: read every pending record now, without
 * waiting for quiet. False when the audit cannot run at all. */
bool service_audit_hurry(struct service *s);
/* A finished audit read: compare it (on the loop). */
void service_audit_complete(struct service *s);
void service_audit_shutdown(struct service *s);

/* ---- service-recover.c ---- */

/*
 * Before the first write of a change of @n files of @instance: record,
 * per file, what it holds (@befores, as read or known) and what @ops with
 * @res will make of it. 0 or -errno (said once; the write goes on).
 */
int service_intent_begin(struct service *s, const char *instance, size_t n,
			 const uint16_t *files, const uint16_t *ops, char *const *befores,
			 const struct resolution *res);
/* The change is proven, or undone: its record goes. */
void service_intent_end(struct service *s);

/* ---- service-query.c ---- */

/* STATUS: answered once the audit has a verdict on every filter ftidx
 * wrote (SERVICE_LATER until then: service_status_complete() answers),
 * so that the file is never read on the loop. */
int service_status_begin(struct service *s, uint32_t id, void *requester, struct proto_buf *out);
/* Answer the STATUS requests that wait, if the verdicts are all in. */
void service_status_complete(struct service *s,
			     void (*deliver)(void *requester, struct proto_buf *frame));
/* @requester went away: its STATUS, if one waits, is forgotten. */
void service_status_forget(struct service *s, void *requester);
void service_status_free(struct service *s);
/* RESOLVE, a slice at a time: as service_job_step(). */
int service_resolve_step(struct service *s, struct service_job *job, uint64_t deadline_ns,
			 struct proto_buf *out);
int service_reply_names(struct service *s, const struct proto_request *req, uint32_t id,
			struct proto_buf *out);
int service_reply_list(struct service *s, const struct proto_request *req, uint32_t id,
		       struct proto_buf *out);
/*
 * The per-token results of @n_parts resolutions into @rep, over all parts
 * in order, with each token's own matches when the resolutions kept them;
 * a refused token makes @rep's status EINVAL. 0, -ENOMEM or -E2BIG.
 * Release with service_free_items() in every case.
 */
int service_fill_items(struct proto_reply *rep, const struct resolution *res, size_t n_parts);
/* Free what service_fill_items() put in @rep. */
void service_free_items(struct proto_reply *rep);
/* The reply to a request whose per-token matches would not fit. */
int service_reply_too_big(struct service *s, uint16_t type, uint32_t id, struct proto_buf *out);

/* ---- service-hits.c ---- */

/* A finished run's reply to its requester; @requester went away (its
 * run is cut short, with no reply). */
void service_hits_complete(struct service *s,
			   void (*deliver)(void *requester, struct proto_buf *frame));
void service_hits_forget(struct service *s, void *requester);

/* Start a HITS run: SERVICE_LATER, or an answer now in @out (0), or
 * -ENOMEM. */
int service_hits_begin(struct service *s, const struct proto_request *req, uint32_t id,
		       void *requester, struct proto_buf *out);
/* Stop a run in progress and wait for its thread (the service goes). */
void service_hits_shutdown(struct service *s);

/* ---- service-instances.c ---- */

/* ftidxd created instance @name for a client: REMOVE_INSTANCE may remove it. */
void service_instance_created(struct service *s, const char *name);
/* Instance @name is gone: it and what ftidx wrote there are forgotten. */
void service_instance_removed(struct service *s, const char *name);
void service_instances_free(struct service *s);
int service_reply_remove_instance(struct service *s, const struct proto_request *req, uint32_t id,
				  struct proto_buf *out);

/* ---- service-filter.c ---- */

/* FILTER and CHANGE, a slice at a time: as service_job_step(). The
 * tokens are resolved in slices; the write, once they are, in one. */
int service_filter_step(struct service *s, struct service_job *job, uint64_t deadline_ns,
			struct proto_buf *out);

/*
 * Merge sorted @a with sorted @add, leaving out sorted @drop, into a new
 * array (NULL: out of memory): the state a write leaves, from the one
 * before, or a filter less its notrace. O(na + nadd + ndrop).
 */
uint32_t *service_merge_sets(const uint32_t *a, size_t na, const uint32_t *add, size_t nadd,
			     const uint32_t *drop, size_t ndrop, size_t *n_out);

