/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ftidx wire protocol, defined once for the daemon and the client.
 * PROTOCOL.md beside this file describes it in prose; this header is the
 * reference.
 *
 * A frame is a 16-byte header and a body of header.length bytes. Integers
 * are in host byte order (the protocol runs over a Unix socket, so both
 * ends share a host); strings are NUL-terminated. Every request carries an
 * id that its reply echoes. A reply's type is its request's type with
 * FTIDX_MSG_REPLY set; a frame the daemon cannot decode is answered with
 * FTIDX_MSG_ERROR and the connection is closed.
 *
 * Compatibility: a receiver takes any version from FTIDX_PROTO_VERSION_MIN
 * on. Later versions only append fields to a body, and add types, flags
 * and enum values: a frame of a later version may carry bytes after the
 * fields this side knows (ignored), and a request this side does not
 * understand is answered with EOPNOTSUPP on its id, the connection kept
 * (PROTOCOL.md).
 *
 * Version history:
 *   1 (ftidx 0.1): STATUS, RESOLVE, NAMES, LIST, FILTER, HITS.
 *   2 (ftidx 0.3): CHANGE (several files of one instance, all or nothing),
 *      CANCEL, REMOVE_INSTANCE, VERSION; per-token index sets in RESOLVE,
 *      FILTER and CHANGE replies.
 *   3 (ftidx 0.4): per filter in STATUS replies, the probes and module
 *      patterns the kernel lists beside its functions; the path of the
 *      published function list.
 *   4 (ftidx 0.5): the uid ftidxd runs as at the end of STATUS replies,
 *      so that a reader of the published copy can tell it is ftidxd's;
 *      FILTER and CHANGE refuse to leave set_ftrace_filter or
 *      set_graph_function empty unless FTIDX_FILTER_ALLOW_EMPTY asks;
 *      what a read waits for (FTIDX_READ_*, a flags field of NAMES and
 *      STATUS), whether the map it was answered from is behind the
 *      kernel's (RESOLVE, NAMES, LIST), the published copy's generation
 *      (STATUS); PROGRESS frames, asked for per request; after the uid and
 *      that generation, the daemon's pid, start time, uptime and socket;
 *      at the end of FILTER and CHANGE replies, per file written, what it
 *      held before and holds after; SHOW (a filter file as it is) and
 *      INSTANCES (the tracing instances). Filter sessions
 *      (docs/filter-sessions.md): SESSION and SESSION_SYNC, and on a
 *      session's own socket SESSION_WRITE and SESSION_STATE.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "growbuf.h"

#define FTIDX_PROTO_MAGIC 0x78646966u /* "fidx" in memory on little-endian hosts */
#define FTIDX_PROTO_VERSION 4     /* what this side speaks */
#define FTIDX_PROTO_VERSION_MIN 1 /* the oldest it understands */

#define FTIDX_FRAME_MAX (16u << 20) /* body bytes, either direction */
#define FTIDX_BATCH_MAX 1000000u    /* tokens or indices in one request */
/* Bytes of one token, ":mod:" part included: a longer one is refused on
 * its own (the frame is fine), as the kernel's parser refuses it. */
#define FTIDX_TOKEN_MAX 1024u
#define FTIDX_INSTANCE_MAX 128u     /* bytes of an instance name */
#define FTIDX_HITS_MAX_SECONDS 3600 /* longest HITS run (plain, for STRINGIFY) */
#define FTIDX_CHANGES_MAX 4         /* files in one CHANGE: there are four */

struct ftidx_frame_header {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t id;
	uint32_t length;
};
_Static_assert(sizeof(struct ftidx_frame_header) == 16, "header layout");

enum ftidx_msg_type {
	FTIDX_MSG_STATUS = 1,
	FTIDX_MSG_RESOLVE = 2,
	FTIDX_MSG_NAMES = 3,
	FTIDX_MSG_LIST = 4,
	FTIDX_MSG_FILTER = 5,
	FTIDX_MSG_HITS = 6,
	FTIDX_MSG_CHANGE = 7,          /* version 2 */
	FTIDX_MSG_CANCEL = 8,          /* version 2: no reply of its own */
	FTIDX_MSG_REMOVE_INSTANCE = 9, /* version 2 */
	FTIDX_MSG_VERSION = 10,        /* version 2 */
	/* version 4: sent by the daemon only (as a reply type), before the
	 * reply of a request that asked for it (FTIDX_REQ_PROGRESS) */
	FTIDX_MSG_PROGRESS = 11,
	FTIDX_MSG_SHOW = 12,           /* version 4: a filter file as it is */
	FTIDX_MSG_INSTANCES = 13,      /* version 4: the tracing instances */
	/* version 4: filter sessions (docs/filter-sessions.md) */
	FTIDX_MSG_SESSION = 14,       /* open one; its socket comes with the reply */
	FTIDX_MSG_SESSION_SYNC = 15,  /* wait for sessions at their end to be committed */
	FTIDX_MSG_SESSION_WRITE = 16, /* on a session's socket only: one write() */
	FTIDX_MSG_SESSION_STATE = 17, /* on a session's socket only: what it is */
	FTIDX_MSG_ERROR = 0x7fff, /* reply to a frame that could not be decoded */
	FTIDX_MSG_REPLY = 0x8000, /* flag on every reply type */
};

/* RESOLVE flags */
#define FTIDX_RESOLVE_LINES 0x1u     /* also return each enabled line's text */
#define FTIDX_RESOLVE_PER_TOKEN 0x2u /* also each token's own matches (version 2) */

/*
 * Version 4, flags of RESOLVE, LIST, NAMES and STATUS (NAMES and STATUS
 * carry a flags field from version 4 on): what a read waits for. Without
 * either, a read waits for a rebuild under way for up to --read-wait,
 * then answers from the map there is (STATUS does not wait). READ_CURRENT
 * waits until the map is the kernel's, up to --map-wait (STATUS also
 * until its copy is published), then answers, said to be behind if it
 * still is; READ_LAST answers at once from the map there is. Both at once
 * are malformed. Every read's reply says whether its map is behind
 * (FTIDX_MAP_BEHIND), found by a fence taken after the request came.
 */
#define FTIDX_READ_CURRENT 0x10000u
#define FTIDX_READ_LAST 0x20000u
/* Version 4, also of FILTER and CHANGE: PROGRESS frames while the
 * request waits or is worked on, from a second after it came, once a
 * second. */
#define FTIDX_REQ_PROGRESS 0x40000u

/* Version 4: the map state of a RESOLVE, NAMES or LIST reply. */
#define FTIDX_MAP_BEHIND 0x1u /* the kernel's functions changed since that map was read */

/* Version 4: what a PROGRESS frame says the request waits for. */
enum ftidx_progress_stage {
	FTIDX_PROGRESS_TURN = 0,    /* its turn, behind other requests */
	FTIDX_PROGRESS_MAP = 1,     /* the map read anew after a module change */
	FTIDX_PROGRESS_RESOLVE = 2, /* its tokens resolved: done of total */
	FTIDX_PROGRESS_RESTORE = 3, /* a failed write being put back */
};

/* LIST flags */
#define FTIDX_LIST_PLACEHOLDERS 0x1u /* include placeholder lines */
#define FTIDX_LIST_MODULE 0x2u       /* only the lines of module @module ("": core) */
#define FTIDX_LIST_ADDRESSES 0x4u    /* each line's address too (write role only: they
					are kernel pointers, which KASLR hides) */

enum ftidx_filter_op {
	FTIDX_OP_SET = 1,    /* replace the filter (never with nothing) */
	FTIDX_OP_ADD = 2,    /* append */
	FTIDX_OP_REMOVE = 3, /* remove what the tokens match */
	FTIDX_OP_CLEAR = 4,  /* empty the filter: no tokens */
};

enum ftidx_filter_file {
	FTIDX_FILE_FILTER = 1,        /* set_ftrace_filter */
	FTIDX_FILE_NOTRACE = 2,       /* set_ftrace_notrace */
	FTIDX_FILE_GRAPH = 3,         /* set_graph_function: names, not indices */
	FTIDX_FILE_GRAPH_NOTRACE = 4, /* set_graph_notrace: names, not indices */
};

/* FILTER and CHANGE flags */
#define FTIDX_FILTER_CREATE_INSTANCE 0x1u
#define FTIDX_FILTER_PER_TOKEN 0x2u /* also each token's own matches (version 2) */
/* Version 4: a change may leave set_ftrace_filter or set_graph_function
 * empty (which traces every function); without it, one that would is
 * refused with ENODATA. The notrace files may always be left empty. */
#define FTIDX_FILTER_ALLOW_EMPTY 0x4u

/* VERSION: what the daemon can do, beyond version 1's requests. */
#define FTIDX_CAP_CHANGE 0x1u          /* CHANGE */
#define FTIDX_CAP_PER_TOKEN 0x2u       /* the PER_TOKEN flags */
#define FTIDX_CAP_CANCEL 0x4u          /* CANCEL cuts a HITS run short */
#define FTIDX_CAP_REMOVE_INSTANCE 0x8u /* REMOVE_INSTANCE */
#define FTIDX_CAP_HITS 0x10u           /* HITS can run here (a real tracefs) */
#define FTIDX_CAP_LIST_ADDRESSES 0x20u /* LIST's addresses flag */
#define FTIDX_CAP_ALLOW_EMPTY 0x40u    /* version 4: FTIDX_FILTER_ALLOW_EMPTY */
#define FTIDX_CAP_READ_MAP 0x80u       /* version 4: FTIDX_READ_*, FTIDX_MAP_BEHIND */
#define FTIDX_CAP_PROGRESS 0x100u      /* version 4: FTIDX_REQ_PROGRESS */
#define FTIDX_CAP_SHOW 0x200u          /* version 4: SHOW and INSTANCES */
#define FTIDX_CAP_SESSIONS 0x400u       /* version 4: filter sessions */
#define FTIDX_CAPS_KNOWN 0x7ffu

/*
 * Filter sessions (version 4). A SESSION request opens one on a filter
 * file of an instance; the reply carries its id, and the session's socket
 * (a SOCK_SEQPACKET socket passed with SCM_RIGHTS along the reply's
 * bytes). A SESSION_SYNC waits until sessions that have reached their end
 * (every reference to their socket closed) are committed. SESSION_WRITE
 * and SESSION_STATE are sent on the session's socket itself, each with a
 * socket for the reply attached; a message without one is bytes written
 * from inside libc.
 */
#define FTIDX_SESSION_TRUNCATE 0x1u  /* SESSION: opened with O_TRUNC */
#define FTIDX_SYNC_FILE 0x1u         /* SESSION_SYNC: every session of the file,
					not one session */
#define FTIDX_WRITE_NO_REPLY 0x1u    /* SESSION_WRITE: predicted, nothing to answer */
#define FTIDX_STATE_TAKE_ERROR 0x1u  /* SESSION_STATE: hand over (and forget) the
					first error of the raw writes */
#define FTIDX_STATE_TO_KERNEL 0x2u   /* SESSION_STATE: hand the session to the
					kernel, and pass its open file with the
					reply (for a program that execs one a
					preload does not reach) */
#define FTIDX_SESSION_WRITE_MAX (64u << 10) /* bytes in one SESSION_WRITE */
#define FTIDX_SESSION_STEPS_MAX 4096u       /* predictions in one reply */
#define FTIDX_STEP_AT_END 0x1u /* the step's outcome needs the buffer to end there */

/* SESSION_WRITE's reply: what a write() of the next @len bytes of the
 * buffer would return, when the program retries with the rest. */
struct proto_step {
	uint32_t len;   /* bytes the write() reads */
	int32_t result; /* what it returns: @len, or -errno */
	uint32_t flags; /* FTIDX_STEP_* */
};
_Static_assert(sizeof(struct proto_step) == 12, "step layout");

/* VERSION: what the asking client may do. */
#define FTIDX_ROLE_READ 0  /* queries only */
#define FTIDX_ROLE_WRITE 1 /* filters, hit counts and addresses too */

#define FTIDX_UID_UNKNOWN 0xffffffffu

/* STATUS flags */
#define FTIDX_STATUS_ADDRESSES 0x1u /* the kernel lists addresses (6.5+) */
#define FTIDX_STATUS_TRACEFS 0x2u   /* the directory is a real tracefs */
#define FTIDX_STATUS_STALE 0x4u     /* a module change is pending a rebuild */

/* One file's part of a CHANGE: @n_tokens of the request's tokens, from
 * @first_token on. */
struct proto_change {
	uint16_t op, file;
	uint32_t first_token, n_tokens;
};

/* A decoded request; pointers point into the frame body, except @tokens
 * and @indices, which proto_request_deinit() frees. */
struct proto_request {
	uint16_t type;
	uint32_t flags;
	uint64_t generation;   /* FILTER, CHANGE: 0, or the map the tokens were
				  resolved on */
	uint16_t op, file;     /* FILTER */
	const char *instance;  /* FILTER, CHANGE, HITS, REMOVE_INSTANCE: "" for the
				  top level */
	const char *module;    /* LIST */
	const char **tokens;   /* RESOLVE, FILTER, CHANGE (every change's, in order) */
	uint32_t n_tokens;
	uint32_t *indices;     /* NAMES */
	uint32_t n_indices;
	uint32_t seconds;      /* HITS: how long to count, 1..FTIDX_HITS_MAX_SECONDS */
	uint32_t target;       /* CANCEL: the id of the request to cut short */
	uint64_t session;      /* SESSION_SYNC: the session (0 with FTIDX_SYNC_FILE) */
	const uint8_t *bytes;  /* SESSION_WRITE: what was written */
	uint32_t n_bytes;
	/* CHANGE: one per file, each file at most once; a decoded FILTER has
	 * its one change here too */
	struct proto_change changes[FTIDX_CHANGES_MAX];
	uint32_t n_changes;
};

/* STATUS: a filter ftidx wrote, and whether it still holds that. */
struct proto_filter_state {
	const char *instance; /* "" for the top level */
	uint16_t file;        /* enum ftidx_filter_file */
	uint16_t holds;       /* FTIDX_HOLDS_* */
	uint32_t functions;   /* lines ftidx left enabled */
	/* Version 3: what the kernel listed there beside functions when ftidx
	 * last read the file: function probes and module patterns it keeps
	 * for modules not loaded (neither is ftidx's) */
	uint32_t probes, module_patterns;
};

#define FTIDX_HOLDS_NO 0      /* another writer changed it */
#define FTIDX_HOLDS_YES 1
#define FTIDX_HOLDS_UNKNOWN 2 /* not a tracefs: the file cannot say */
#define FTIDX_HOLDS_NOT_WRITTEN 3 /* SHOW (version 4): ftidx has not written the file */

/* ---- version 4 ----------------------------------------------------------- */

/* FILTER and CHANGE replies, per file written: the functions it held
 * before the change and holds after it, and how many came and went. A
 * count ftidxd cannot tell (it has not written the file, and another
 * writer has) is FTIDX_COUNT_UNKNOWN. */
#define FTIDX_COUNT_UNKNOWN UINT32_MAX
struct proto_file_count {
	uint32_t before, after, added, dropped;
};

/* SHOW: what each line of the filter file is. */
enum ftidx_shown_kind {
	FTIDX_SHOWN_FUNCTION = 1,       /* a function; index 0: one the map does not have */
	FTIDX_SHOWN_PROBE = 2,          /* a function probe: "schedule:traceoff:unlimited" */
	FTIDX_SHOWN_MODULE_PATTERN = 3, /* kept for a module not loaded: ":mod:nfsd" */
};
#define FTIDX_SHOWN_OURS 0x1u /* a function ftidx wrote there */
struct proto_shown {
	uint16_t kind, flags;
	uint32_t index;
};

/* INSTANCES: per instance. */
#define FTIDX_INSTANCE_CREATED 0x1u /* ftidxd created it (REMOVE_INSTANCE may remove it) */

struct proto_item {
	int32_t status; /* 0 or an errno value */
	uint32_t matches;
};
_Static_assert(sizeof(struct proto_item) == 8, "item layout");

/* CHANGE: what one file's change did. */
struct proto_change_result {
	uint16_t op, file;
	uint32_t written; /* tokens the kernel accepted */
	uint32_t *enable, *disable;
	uint32_t n_enable, n_disable;
};

/* A decoded reply. Arrays are allocated; strings point into the body. */
struct proto_reply {
	uint16_t type; /* the request type, without FTIDX_MSG_REPLY */
	int32_t status; /* 0 or an errno value */
	uint64_t generation;
	const char *message; /* "" when there is nothing to say */

	/* STATUS */
	uint32_t entries, placeholders, modules, module_entries, distinct_names, status_flags;
	uint32_t clients;
	uint64_t build_ns, built_at_ns;
	const char *tracing_dir, *kernel_release, *daemon_version;
	struct proto_filter_state *filters;
	uint32_t n_filters;
	const char *match_rules, *match_rules_how; /* the kernel's glob rules, and how
						     they were decided */
	const char *recovery; /* version 2: what recovery from a crash found and did,
				 or "" */
	const char *published; /* version 3: the published copy of the function
				  list, or "" (STATUS) */
	/* version 4 (STATUS): the uid ftidxd runs as, which owns the published
	 * copy; FTIDX_UID_UNKNOWN from an older daemon */
	uint32_t daemon_uid;

	/* RESOLVE and FILTER: per token, the sets, and why tokens failed */
	struct proto_item *items;
	uint32_t n_items, n_failed;
	uint32_t *enable, *disable;
	uint32_t n_enable, n_disable;
	const char **reasons; /* n_failed, in token order */
	uint32_t written;     /* FILTER: tokens written to the kernel */
	/* With a PER_TOKEN flag: token i matched token_sets[token_set_start[i]]
	 * up to token_set_start[i + 1], ascending; n_token_sets is n_items, or 0
	 * when not asked for */
	uint32_t *token_sets, *token_set_start;
	uint32_t n_token_sets;
	/* CHANGE: per file, in the request's order (items cover every
	 * change's tokens, in order; enable and disable are empty) */
	struct proto_change_result *changes;
	uint32_t n_changes;

	/* version 4: RESOLVE, NAMES, LIST: FTIDX_MAP_*, and the newest map the
	 * daemon had when it answered (the generation above, or later) */
	uint32_t map_flags;
	uint64_t newest_generation;
	/* version 4: STATUS: the published copy's map, 0: none */
	uint64_t published_generation;
	/* version 4: PROGRESS: what it waits for (enum ftidx_progress_stage),
	 * how far (done of total, 0 of 0 when it cannot say), since when */
	uint32_t stage, done, total;
	uint64_t elapsed_ns;

	/* VERSION */
	uint16_t proto_version, proto_version_min;
	uint32_t role; /* FTIDX_ROLE_* of the asking client */
	uint64_t capabilities; /* FTIDX_CAP_* */

	/* STATUS, version 4: the daemon's pid, when it started (CLOCK_REALTIME)
	 * and for how long it has run (CLOCK_MONOTONIC), the socket it serves */
	uint32_t daemon_pid;
	uint64_t started_at_ns, uptime_ns;
	const char *socket_path;

	/* FILTER and CHANGE, version 4: per file written, in order (0 when
	 * nothing was) */
	struct proto_file_count file_counts[FTIDX_CHANGES_MAX];
	uint32_t n_file_counts;

	/* SHOW: whether the file holds what ftidx wrote (FTIDX_HOLDS_*), how
	 * many functions ftidx wrote there, and per line (@lines, @n_lines)
	 * what it is */
	uint16_t holds;
	uint32_t ours;
	struct proto_shown *shown;

	/* INSTANCES: the names in @lines, per name FTIDX_INSTANCE_* */
	uint32_t *instance_flags;
	/* SESSION, SESSION_STATE (version 4): the session */
	uint64_t session;
	/* SESSION_STATE: its file, flags (FTIDX_SESSION_*) and instance, and
	 * the first error of the writes made without a frame since it was
	 * last taken (0: none) */
	uint16_t session_file;
	uint32_t session_flags;
	const char *session_instance;
	uint32_t raw_error;
	/* SESSION_WRITE: what the write() returns (bytes taken, or -errno),
	 * then the retries of the rest of the buffer, predicted */
	int32_t result;
	struct proto_step *steps;
	uint32_t n_steps;
	/* SESSION_SYNC: the commits it waited for */
	uint32_t committed;

	/* HITS: functions traced, records counted, records the kernel lost;
	 * per function that fired: indices (0: ambiguous), counts, lines */
	uint32_t enabled;
	uint64_t events, lost;
	uint64_t *counts;

	/* RESOLVE with FTIDX_RESOLVE_LINES (n_enable), NAMES, LIST, HITS (n_lines) */
	uint32_t *indices; /* LIST, HITS */
	uint64_t *addresses; /* LIST with FTIDX_LIST_ADDRESSES: n_lines, 0 unknown;
				else NULL */
	int32_t *line_status; /* NAMES: per index, 0 or an errno value */
	const char **lines;
	uint32_t n_lines;
};

/* Frames under construction: a growbuf (util/growbuf.h), readable by its
 * members directly. @failed: out of memory. */
struct proto_buf {
	union {
		struct growbuf buf;
		struct {
			GROWBUF_MEMBERS;
		};
	};
	size_t open; /* where the frame begun last starts */
};

void proto_buf_init(struct proto_buf *b);
void proto_buf_deinit(struct proto_buf *b);
void proto_buf_begin(struct proto_buf *b, uint16_t type, uint32_t id);
void proto_put_u16(struct proto_buf *b, uint16_t v);
void proto_put_u32(struct proto_buf *b, uint32_t v);
void proto_put_u64(struct proto_buf *b, uint64_t v);
void proto_put_str(struct proto_buf *b, const char *s);
void proto_put_bytes(struct proto_buf *b, const void *p, size_t len);
/* Close the frame begun last: fills in its length. 0, -ENOMEM or -EMSGSIZE. */
int proto_buf_end(struct proto_buf *b);

/*
 * Check a frame header. Returns 0, or -EBADMSG (bad magic, type 0),
 * -EPROTONOSUPPORT (a version before FTIDX_PROTO_VERSION_MIN), -EMSGSIZE
 * (length over FTIDX_FRAME_MAX). *@why explains a failure. A type this
 * side does not know passes: its frame can be skipped whole.
 */
int proto_check_header(const struct ftidx_frame_header *h, const char **why);

/* A message type's name in logs ("FILTER"), "?" for one this side does
 * not know. */
const char *proto_type_name(uint16_t type);

/* The part every reply starts with, from a whole frame @frame of @len
 * bytes (the header's type without FTIDX_MSG_REPLY, the status, the
 * message, which points into @frame), without decoding the rest: for
 * logs. 0, or -EBADMSG. */
int proto_reply_peek(const void *frame, size_t len, uint16_t *type, int32_t *status,
		     const char **message);

/* Encode @req as a whole frame appended to @b. 0 or -errno. */
int proto_encode_request(struct proto_buf *b, uint32_t id, const struct proto_request *req);

/*
 * Decode and validate a request body of @len bytes for message @type, sent
 * in protocol @version. @req points into @body afterwards. Returns 0,
 * -EBADMSG (malformed) or -EOPNOTSUPP (well-formed, but a type, operation,
 * file or flag this version does not know) with *@why set, or -ENOMEM.
 * Release @req with proto_request_deinit() in every case.
 */
int proto_decode_request(uint16_t version, uint16_t type, const void *body, size_t len,
			 struct proto_request *req, const char **why);
void proto_request_deinit(struct proto_request *req);

/* Encode @rep (for request type @rep->type, FTIDX_MSG_PROGRESS or
 * FTIDX_MSG_ERROR) as a whole frame. 0 or -errno. */
int proto_encode_reply(struct proto_buf *b, uint32_t id, const struct proto_reply *rep);

/* The version 4 fields at the end of a RESOLVE, NAMES or LIST reply's
 * body: what proto_encode_reply() puts there, for a body kept without
 * them and sent again (the daemon's LIST of the whole map). */
#define PROTO_MAP_STATE_SIZE 12
void proto_put_map_state(struct proto_buf *b, uint32_t map_flags, uint64_t newest_generation);

/*
 * Whether @name is an acceptable instance name: 1 to FTIDX_INSTANCE_MAX
 * bytes of [A-Za-z0-9_.-], not starting with '.' (so never "." or "..",
 * never a path). *@why explains a refusal. Both sides check it.
 */
bool proto_instance_name_valid(const char *name, const char **why);

/* Decode a reply body for frame type @type. As proto_decode_request(). */
int proto_decode_reply(uint16_t version, uint16_t type, const void *body, size_t len,
		       struct proto_reply *rep, const char **why);
void proto_reply_deinit(struct proto_reply *rep);
