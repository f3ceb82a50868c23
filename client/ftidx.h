/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftidx: enable kernel functions for ftrace by index, through ftidxd.
 *
 * The daemon keeps a map of available_filter_functions and writes
 * index-based filters that are validated, all-or-nothing and verified.
 * This library is a thin, synchronous client of its Unix socket.
 *
 * Errors: functions that can fail return 0 or a negative errno value.
 * When the daemon refused a request, the value is the daemon's reason as
 * -errno (-EINVAL: a pattern was refused, -ESTALE: the map changed since
 * the generation given, -ENOENT: no such instance, ...), and
 * ftidx_error_message() says why in words. A request past a limit of the
 * protocol is refused before it is sent, the limit said: more than
 * 1,000,000 patterns or indices, -E2BIG (since 0.5; -EINVAL before), a
 * request over 16 MiB, -EMSGSIZE.
 *
 * Ownership: a struct ftidx is reference-counted; everything else returned
 * through an out-parameter is the caller's, to be freed with the function
 * named in its comment. Strings returned by accessors belong to the object
 * they came from. Every call that has an out-parameter sets it, to NULL
 * when there is nothing to return.
 *
 * Threads: a connection carries one request at a time, so calls on one
 * struct ftidx must not overlap: use a connection per thread, or take a
 * lock around them. ftidx_ref() and ftidx_unref() may be called from any
 * thread. A result or status belongs to no connection and may be read
 * from any thread, but not freed while another reads it.
 *
 * Reconnecting (since 0.5): ftidxd closes a connection idle for its
 * --idle-timeout (300 s by default), and a restart closes them all. The
 * next call notices and connects again, to the same socket path, on the
 * same descriptor number (ftidx_get_fd()). When the daemon hangs up during
 * a call, a request that changes nothing (status, resolve, names, list,
 * the capabilities) is asked once more on a new connection; a write
 * (ftidx_filter(), a request, ftidx_remove_instance()) or a hit count that
 * had gone out whole fails with -ECONNABORTED: its reply was lost, and the
 * write may or may not have been made (ftidx_status() lists the filters
 * ftidx wrote; the filter file itself says what it holds). A write pinned
 * to a generation is never sent on a connection opened during its own
 * call: the daemon there may have restarted, and its generations count
 * from 1 again; it fails with -ESTALE, nothing written. Resolve again.
 * After fork(), a child that uses its parent's struct ftidx gets a
 * connection of its own at its first call.
 */
#ifndef FTIDX_H
#define FTIDX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where ftidxd listens unless told otherwise ($FTIDX_SOCKET overrides). */
#define FTIDX_DEFAULT_SOCKET "/run/ftidx/ftidxd.sock"

/* A connection to ftidxd. */
struct ftidx;

/* The outcome of one request: sets of indices, lines, per-token results. */
struct ftidx_result;

/**
 * ftidx_connect - connect to ftidxd
 * @socket_path: the daemon's socket; NULL for $FTIDX_SOCKET (ignored in
 *               set-uid and similar programs: secure_getenv(3)), else
 *               FTIDX_DEFAULT_SOCKET
 * @out: the new connection, holding one reference: ftidx_unref() it
 *
 * Returns 0, or a negative errno (-ENOENT, -ECONNREFUSED, -EACCES, ...).
 * Since: 0.1
 */
int ftidx_connect(const char *socket_path, struct ftidx **out);

/* Take and drop references; the last unref closes the connection.
 * ftidx_unref() returns NULL. Since: 0.1 */
struct ftidx *ftidx_ref(struct ftidx *c);
struct ftidx *ftidx_unref(struct ftidx *c);

/**
 * ftidx_set_timeout - how long to wait for a reply
 * @timeout_ms: 0 waits for ever; the default is 120000
 *
 * The timeout bounds both sending the request (a daemon that stops
 * reading) and waiting for its reply, the daemon's waits for a map
 * included (a write waits up to its --map-wait, 60 s by default). A
 * request that times out returns -ETIMEDOUT: the daemon was reached, and
 * may still be working on it. Its reply is lost, and the next call opens
 * a new connection (before 0.5, the connection was unusable afterwards).
 * The ftidx command's --timeout sets it.
 * Since: 0.1
 */
void ftidx_set_timeout(struct ftidx *c, unsigned timeout_ms);

/* The daemon's explanation of the last refused request on @c, or of a
 * protocol failure; "" when the last request succeeded. Owned by @c,
 * valid until its next request. Since: 0.1 */
const char *ftidx_error_message(const struct ftidx *c);

/* How many times @c connected to the daemon again since ftidx_connect()
 * (see "Reconnecting" above): a tool that keeps generations, or watches
 * ftidx_get_fd() with epoll(7), which follows the open socket rather than
 * its number, looks here after each call. Since: 0.5 */
unsigned ftidx_reconnects(const struct ftidx *c);

/* Flags of ftidx_resolve(). */
#define FTIDX_RESOLVE_WITH_LINES 0x1u  /* fill ftidx_result_line() */
#define FTIDX_RESOLVE_PER_PATTERN 0x2u /* fill ftidx_result_token_indices() (since 0.3) */

/**
 * ftidx_resolve - turn patterns into indices
 * @patterns: @n patterns as the kernel reads them when written by name:
 *            "vfs_read", "vfs_*", "*_show", "*alloc*", "vfs_[rw]*",
 *            "lo_*:mod:loop", ":mod:loop", "!pattern" (removal), "123"
 * @out: on return of 0, or of -EINVAL with per-pattern results, the
 *       result: free it with ftidx_result_free(); else NULL
 *
 * The result holds the enabled set in index order, the generation of the
 * map it came from (pass it to ftidx_filter() so that a changed map is
 * caught), and for each pattern its match count or why it was refused.
 * Since: 0.1
 */
int ftidx_resolve(struct ftidx *c, const char *const *patterns, size_t n, unsigned flags,
		  struct ftidx_result **out);

/**
 * ftidx_names - the lines of given indices
 * @out: one line per index (ftidx_result_line()); an index out of range
 *       has ftidx_result_line_error() -ERANGE and makes the call return
 *       -ERANGE with @out still set. Free with ftidx_result_free().
 * Since: 0.1
 */
int ftidx_names(struct ftidx *c, const uint32_t *indices, size_t n, struct ftidx_result **out);

/* Flags of ftidx_list(). */
#define FTIDX_LIST_WITH_PLACEHOLDERS 0x1u /* include placeholder lines */
#define FTIDX_LIST_BY_MODULE 0x2u         /* only @module's lines ("": the core kernel) */
#define FTIDX_LIST_WITH_ADDRESSES 0x4u    /* fill ftidx_result_address() (since 0.2) */

/**
 * ftidx_list - every line of the map (or of one module), with its index
 * @out: free with ftidx_result_free()
 *
 * With FTIDX_LIST_WITH_ADDRESSES, each line's kernel address too, where
 * the kernel lists them (available_filter_functions_addrs, 6.5 and later).
 * Addresses are kernel pointers that KASLR hides: only root and the
 * daemon's write group get them; anyone else gets -EACCES.
 * Since: 0.1
 */
int ftidx_list(struct ftidx *c, unsigned flags, const char *module, struct ftidx_result **out);

/* Filter operations. */
enum ftidx_op {
	FTIDX_SET = 1,    /* replace the filter; never with nothing (FTIDX_ALLOW_EMPTY) */
	FTIDX_ADD = 2,    /* add to the filter ("!pattern" removes) */
	FTIDX_REMOVE = 3, /* remove what the patterns match */
	FTIDX_CLEAR = 4,  /* empty the filter (which traces every function) */
};

/* Filter files. The graph files do not take indices: the daemon writes
 * names there, and a name selects every function that carries it. */
enum ftidx_file {
	FTIDX_FILTER = 1,        /* set_ftrace_filter */
	FTIDX_NOTRACE = 2,       /* set_ftrace_notrace */
	FTIDX_GRAPH = 3,         /* set_graph_function */
	FTIDX_GRAPH_NOTRACE = 4, /* set_graph_notrace */
};

/* Flags of ftidx_filter() and of a request. */
#define FTIDX_CREATE_INSTANCE 0x1u /* create @instance if it does not exist */
#define FTIDX_PER_PATTERN 0x2u     /* fill ftidx_result_token_indices() (since 0.3) */
/* Let the change leave set_ftrace_filter or set_graph_function empty,
 * which makes the tracer trace every function. Without it, a change that
 * would (a SET that selects nothing, a REMOVE of all the filter holds, an
 * ADD of "!name" alone) is refused with -ENODATA and writes nothing. The
 * notrace files may always be left empty: that excludes nothing. An
 * ftidxd older than 0.5 answers -EOPNOTSUPP (it refuses only the SET).
 * Since: 0.5 */
#define FTIDX_ALLOW_EMPTY 0x4u

/**
 * ftidx_filter - change a filter file
 * @op: enum ftidx_op
 * @file: enum ftidx_file
 * @instance: an instance under instances/, or NULL for the top level
 * @generation: 0, or the generation the tokens were resolved on: if the
 *              map has changed since, nothing is written (-ESTALE)
 * @tokens: @n patterns, as for ftidx_resolve() (none for FTIDX_CLEAR)
 * @out: as for ftidx_resolve(); may be NULL if the caller does not need it
 *
 * All or nothing: if any token is refused nothing is written; if the
 * kernel refuses a write midway, the previous filter is put back. On a
 * tracefs the daemon reads the filter back and checks it.
 * Since: 0.1
 */
int ftidx_filter(struct ftidx *c, int op, int file, const char *instance, unsigned flags,
		 uint64_t generation, const char *const *tokens, size_t n,
		 struct ftidx_result **out);

/* ftidx_filter() with indices (from ftidx_resolve()) as the tokens. Since: 0.1 */
int ftidx_filter_indices(struct ftidx *c, int op, int file, const char *instance, unsigned flags,
			 uint64_t generation, const uint32_t *indices, size_t n,
			 struct ftidx_result **out);

/* Free a result; returns NULL. Since: 0.1 */
struct ftidx_result *ftidx_result_free(struct ftidx_result *r);

/* The generation of the map the daemon answered from. Since: 0.1 */
uint64_t ftidx_result_generation(const struct ftidx_result *r);

/* Resolve and filter: the enabled set, ascending; names and list: the
 * lines. ftidx_result_indices() is NULL for names. Since: 0.1 */
size_t ftidx_result_count(const struct ftidx_result *r);
const uint32_t *ftidx_result_indices(const struct ftidx_result *r);
uint32_t ftidx_result_index(const struct ftidx_result *r, size_t i);

/* The text of line @i ("name" or "name [module]"), or NULL when the
 * result has no lines (resolve without FTIDX_RESOLVE_WITH_LINES). Since: 0.1 */
const char *ftidx_result_line(const struct ftidx_result *r, size_t i);

/* For names: 0, or -ERANGE for an index past the map. Since: 0.1 */
int ftidx_result_line_error(const struct ftidx_result *r, size_t i);

/* For a list with FTIDX_LIST_WITH_ADDRESSES: the address of line @i, or 0
 * when the kernel does not list addresses (or the list has none). Since: 0.2 */
uint64_t ftidx_result_address(const struct ftidx_result *r, size_t i);

/* Resolve and filter: lines a "!pattern" removed (for FTIDX_ADD). Since: 0.1 */
size_t ftidx_result_removed_count(const struct ftidx_result *r);
const uint32_t *ftidx_result_removed(const struct ftidx_result *r);

/* Resolve and filter: per pattern, 0 or -errno (-ENOENT: matches nothing,
 * -EINVAL: malformed, -ERANGE: index out of range, -EPERM: placeholder),
 * with @why (owned by @r) explaining a failure, and the match count. Since: 0.1 */
size_t ftidx_result_token_count(const struct ftidx_result *r);
int ftidx_result_token_error(const struct ftidx_result *r, size_t i, const char **why);
uint32_t ftidx_result_token_matches(const struct ftidx_result *r, size_t i);

/* Filter: how many tokens the kernel accepted. Since: 0.1 */
uint32_t ftidx_result_written(const struct ftidx_result *r);

/*
 * Per pattern, the indices it matched (ascending; for a "!pattern", the
 * lines it removes), when the request asked for them
 * (FTIDX_RESOLVE_PER_PATTERN, FTIDX_PER_PATTERN); NULL and *@n 0 when it
 * did not, or the pattern matched nothing or was refused. Patterns that
 * each match most of the map can make the reply too large: the request
 * then fails with -E2BIG; ask without per-pattern results. Since: 0.3
 */
const uint32_t *ftidx_result_token_indices(const struct ftidx_result *r, size_t i, size_t *n);

/*
 * A request's result per file, in the order the request named them
 * (ftidx_request_add_file()); ftidx_result_count() and the rest give the
 * first file's. For a one-file request, the file count is 1 and
 * ftidx_result_file() is -EINVAL (the caller knows the file); for
 * resolve, names and list, 0. Since: 0.3
 */
size_t ftidx_result_file_count(const struct ftidx_result *r);
int ftidx_result_file(const struct ftidx_result *r, size_t k);
const uint32_t *ftidx_result_file_indices(const struct ftidx_result *r, size_t k, size_t *n);
const uint32_t *ftidx_result_file_removed(const struct ftidx_result *r, size_t k, size_t *n);
uint32_t ftidx_result_file_written(const struct ftidx_result *r, size_t k);

/* A filter ftidx wrote, and whether it still holds that. Prefer the
 * accessors below (since 0.3): this struct's size is ABI. Since: 0.1 */
struct ftidx_filter_state {
	const char *instance; /* "" for the top level */
	int file;             /* enum ftidx_file */
	int holds;            /* 1: yes, 0: another writer changed it, -1: cannot tell */
	uint32_t functions;   /* how many ftidx left enabled */
};

/* The daemon's state. Free with ftidx_status_free(). Fields may be added
 * at the end in later versions; prefer ftidx_status_number() and the
 * other accessors (since 0.3), which do not depend on the layout. Since: 0.1 */
struct ftidx_status {
	uint64_t generation;   /* goes up with every rebuild of the map */
	uint32_t entries;      /* lines of available_filter_functions */
	uint32_t placeholders; /* __ftrace_invalid_address___* lines */
	uint32_t modules;
	uint32_t module_entries;
	uint32_t distinct_names;
	uint32_t clients;
	uint64_t build_ns;    /* time to build the map, parse and sort */
	uint64_t built_at_ns; /* CLOCK_REALTIME of the last build */
	int has_addresses;    /* available_filter_functions_addrs was read */
	int is_tracefs;       /* the tracing directory is a real tracefs */
	int is_stale;         /* a module came or went; the map is being rebuilt */
	const char *tracing_dir;
	const char *kernel_release;
	const char *daemon_version;
	const struct ftidx_filter_state *filters; /* n_filters of them */
	size_t n_filters;
	/* The running kernel's glob rules: "class-stops-at-end" (newer
	 * kernels), "class-takes-nul" (6.1: a negated class [!...] matches the
	 * end of a name), or "unknown" (globs whose answer differs between
	 * the two are refused); and how ftidxd decided. Since: 0.2 */
	const char *match_rules;
	const char *match_rules_how;
	/* What ftidxd found and did at start about a write a crash cut short
	 * ("recovered an interrupted write of set_ftrace_filter ..."), or "".
	 * Since: 0.3 */
	const char *recovery;
};

int ftidx_status(struct ftidx *c, struct ftidx_status **out);
struct ftidx_status *ftidx_status_free(struct ftidx_status *st);

/* What ftidx_status_number() and ftidx_status_text() read (since 0.3):
 * the fields of struct ftidx_status, by name, so that code written against
 * them does not depend on the struct's layout. */
enum ftidx_status_item {
	FTIDX_STAT_GENERATION = 1, /* numbers */
	FTIDX_STAT_ENTRIES,
	FTIDX_STAT_PLACEHOLDERS,
	FTIDX_STAT_MODULES,
	FTIDX_STAT_MODULE_ENTRIES,
	FTIDX_STAT_DISTINCT_NAMES,
	FTIDX_STAT_CLIENTS,
	FTIDX_STAT_BUILD_NS,
	FTIDX_STAT_BUILT_AT_NS,
	FTIDX_STAT_HAS_ADDRESSES, /* 0 or 1 */
	FTIDX_STAT_IS_TRACEFS,
	FTIDX_STAT_IS_STALE,
	/* the generation of the map the published copy holds (0: none, or a
	 * daemon older than 0.5); behind the status's own generation, or the
	 * status stale, and the copy is not the kernel's list. Since: 0.5 */
	FTIDX_STAT_PUBLISHED_GENERATION,
	/* the daemon's pid, when it started (CLOCK_REALTIME, ns) and how long
	 * it has run (ns); 0 from an ftidxd older than 0.5. Since: 0.5 */
	FTIDX_STAT_DAEMON_PID,
	FTIDX_STAT_STARTED_AT_NS,
	FTIDX_STAT_UPTIME_NS,
	FTIDX_STAT_TRACING_DIR = 100, /* texts */
	FTIDX_STAT_KERNEL_RELEASE,
	FTIDX_STAT_DAEMON_VERSION,
	FTIDX_STAT_MATCH_RULES,
	FTIDX_STAT_MATCH_RULES_HOW,
	FTIDX_STAT_RECOVERY, /* "" when there was nothing to recover */
	/* the published copy of the function list ("" when there is none, or
	 * the daemon is older than 0.4); Since: 0.4 */
	FTIDX_STAT_PUBLISHED,
	/* the socket the daemon serves ("" from one older than 0.5); Since: 0.5 */
	FTIDX_STAT_SOCKET,
};

/* A number of the status (0 for a text or an unknown item), a text of it
 * (NULL for a number or an unknown item; owned by @st). Since: 0.3 */
uint64_t ftidx_status_number(const struct ftidx_status *st, int which);
const char *ftidx_status_text(const struct ftidx_status *st, int which);

/* The uid ftidxd runs as, which owns the copy of the function list it
 * publishes (FTIDX_STAT_PUBLISHED): 0 with *@uid set, or -ENODATA from a
 * daemon older than 0.5, which does not say. Since: 0.5 */
int ftidx_status_daemon_uid(const struct ftidx_status *st, uint32_t *uid);

/* The filters ftidx wrote: instance ("" for the top level), file (enum
 * ftidx_file), holds (1, 0, or -1: cannot tell), functions. Since: 0.3 */
size_t ftidx_status_filter_count(const struct ftidx_status *st);
const char *ftidx_status_filter_instance(const struct ftidx_status *st, size_t i);
int ftidx_status_filter_file(const struct ftidx_status *st, size_t i);
int ftidx_status_filter_holds(const struct ftidx_status *st, size_t i);
uint32_t ftidx_status_filter_functions(const struct ftidx_status *st, size_t i);
/* What the kernel listed in that file beside its functions when ftidxd
 * last read it: function probes ("schedule:traceoff:unlimited") and
 * module patterns kept for modules not loaded (":mod:nfsd"). Neither is
 * ftidx's; a daemon older than 0.4 gives 0. Since: 0.4 */
uint32_t ftidx_status_filter_probes(const struct ftidx_status *st, size_t i);
uint32_t ftidx_status_filter_module_patterns(const struct ftidx_status *st, size_t i);

/*
 * Which functions of a filter fire, and how often: ftidxd runs the function
 * tracer for @seconds (1 to FTIDX_HITS_SECONDS_MAX) in an instance of its own, over what the
 * filter of @instance (NULL: the top level) enables less its notrace
 * filter, and counts the calls. The call blocks for @seconds. Needs the
 * right to change filters. Free with ftidx_hits_free(). Since: 0.1
 */
#define FTIDX_HITS_SECONDS_MAX 3600 /* the longest run ftidxd accepts */

struct ftidx_hits {
	uint32_t enabled; /* functions traced */
	uint64_t events;  /* calls counted */
	uint64_t lost;    /* calls the kernel's buffer dropped: counts may be short */
	size_t n;         /* functions that fired, most calls first: */
	const uint32_t *indices;  /* index, or 0 when the name is on several lines */
	const uint64_t *counts;   /* calls */
	const char *const *lines; /* "name" or "name [module]" */
	const char *short_by;     /* "" or why the counts fall short by an unknown amount */
};

int ftidx_hits(struct ftidx *c, const char *instance, unsigned seconds, struct ftidx_hits **out);
struct ftidx_hits *ftidx_hits_free(struct ftidx_hits *h);

/* The fields of struct ftidx_hits, without depending on its layout: the
 * functions that fired are 0 to ftidx_hits_count() - 1. Since: 0.3 */
uint32_t ftidx_hits_enabled(const struct ftidx_hits *h);
uint64_t ftidx_hits_events(const struct ftidx_hits *h);
uint64_t ftidx_hits_lost(const struct ftidx_hits *h);
size_t ftidx_hits_count(const struct ftidx_hits *h);
uint32_t ftidx_hits_index(const struct ftidx_hits *h, size_t i);
uint64_t ftidx_hits_calls(const struct ftidx_hits *h, size_t i);
const char *ftidx_hits_line(const struct ftidx_hits *h, size_t i);
const char *ftidx_hits_short_by(const struct ftidx_hits *h);

/* ---- requests (since 0.3) ---------------------------------------------
 *
 * A request changes the filter files of one instance: one file, or up to
 * FTIDX_FILES_MAX of them at once (filter, notrace and the graph files,
 * as "trace-cmd record -l -n -g" sets them). All or nothing: if any
 * pattern of any file is refused, nothing is written; if the kernel
 * refuses a write, that file and every file written before it are put
 * back as they were.
 *
 * A new request changes set_ftrace_filter with FTIDX_SET. The setters act
 * on the file being built, the last one added; ftidx_request_add_file()
 * begins the next. Setters return 0, -EINVAL (a bad value, a file named
 * twice, an invalid instance name), -E2BIG (past FTIDX_FILES_MAX files or
 * the protocol's million patterns) or -ENOMEM; a failed one changes
 * nothing. Tokens are copied.
 */
#define FTIDX_FILES_MAX 4

struct ftidx_request;

int ftidx_request_new(struct ftidx_request **out);
struct ftidx_request *ftidx_request_free(struct ftidx_request *rq);
/* NULL: the top level (the default). */
int ftidx_request_set_instance(struct ftidx_request *rq, const char *instance);
/* FTIDX_CREATE_INSTANCE, FTIDX_PER_PATTERN, FTIDX_ALLOW_EMPTY (since 0.5). */
int ftidx_request_set_flags(struct ftidx_request *rq, unsigned flags);
int ftidx_request_set_create_instance(struct ftidx_request *rq, int create);
/* 0, or the generation the patterns were resolved on (see ftidx_filter()). */
int ftidx_request_set_generation(struct ftidx_request *rq, uint64_t generation);
/* The file being built: its file (enum ftidx_file) and op (enum ftidx_op). */
int ftidx_request_set_file(struct ftidx_request *rq, int file);
int ftidx_request_set_op(struct ftidx_request *rq, int op);
/* Patterns (as for ftidx_resolve()) or indices for the file being built. */
int ftidx_request_add_tokens(struct ftidx_request *rq, const char *const *tokens, size_t n);
int ftidx_request_add_indices(struct ftidx_request *rq, const uint32_t *indices, size_t n);
/* Begin the change of another file of the same instance. */
int ftidx_request_add_file(struct ftidx_request *rq, int file, int op);

/*
 * Send @rq and wait for its result, as ftidx_filter() does. Requests of
 * several files need an ftidxd of 0.3 or later (FTIDX_CAN_CHANGE_FILES);
 * an older one answers -EOPNOTSUPP and writes nothing.
 */
int ftidx_request_run(struct ftidx *c, const struct ftidx_request *rq, struct ftidx_result **out);

/* ---- driven from the caller's poll loop (since 0.3) --------------------
 *
 * A connection carries one call at a time. ftidx_request_send() and
 * ftidx_hits_send() begin one and return at once (-EBUSY if one is in
 * flight); they send what the socket takes and read what is there, so
 * the reply may be in already. Call ftidx_process(): 1 when the reply is
 * in, 0 when it is not yet, or -errno (the connection is lost:
 * reconnect); on 0, wait until ftidx_get_fd() is ready for
 * ftidx_get_events() (POLLIN, POLLOUT; 0 when nothing is in flight or the
 * reply is in) and call it again. Collect the reply with the matching _collect()
 * call, which returns what the synchronous call would have, or -EAGAIN
 * while it is not in. The timeout of ftidx_set_timeout() does not apply:
 * the loop keeps its own time. Synchronous calls on a connection with a
 * call in flight return -EBUSY.
 *
 * The _send() calls reopen a connection the daemon closed, before
 * anything is sent, and ftidx_process() sends a request once more when
 * the daemon hung up before it went out whole; both keep ftidx_get_fd()'s
 * number, so a poll() set stays right (an epoll(7) set must add it again
 * when ftidx_reconnects() changed). A reply lost after the request went
 * out makes ftidx_process() return -ECONNABORTED.
 */
int ftidx_get_fd(const struct ftidx *c);
int ftidx_get_events(const struct ftidx *c);
int ftidx_process(struct ftidx *c);

int ftidx_request_send(struct ftidx *c, const struct ftidx_request *rq);
int ftidx_request_collect(struct ftidx *c, struct ftidx_result **out);

int ftidx_hits_send(struct ftidx *c, const char *instance, unsigned seconds);
/* -ECANCELED with *@out set: the run was cancelled, and *@out holds what
 * it counted until then. */
int ftidx_hits_collect(struct ftidx *c, struct ftidx_hits **out);

/*
 * Ask the daemon to cut the call in flight short. A hit count stops and
 * answers with its counts so far (ftidx_hits_collect() returns
 * -ECANCELED); any other call is answered as usual, since the daemon
 * handles it at once. Collect the reply as usual afterwards. Returns 0,
 * -ENOENT (nothing in flight), -EOPNOTSUPP (an ftidxd older than 0.3), or
 * -errno.
 */
int ftidx_cancel(struct ftidx *c);

/* ---- maps behind the kernel, and long requests (since 0.5) -------------
 *
 * A module that comes or goes changes the kernel's functions, and ftidxd
 * reads them anew, which takes a while (seconds with many modules). A
 * read answered meanwhile comes from the map ftidxd has, which is then
 * behind the kernel's: ftidxd fences every read against the kernel (its
 * record count and module list) after the read came, so it knows, even
 * before the module's uevent, and says so.
 */

/* What a read (ftidx_resolve(), ftidx_names(), ftidx_list(),
 * ftidx_status()) on the connection waits for. */
enum ftidx_read_map {
	/* as before 0.5: a map being read, for up to the daemon's
	 * --read-wait (150 ms); STATUS does not wait */
	FTIDX_READ_MAP_DEFAULT = 0,
	/* the kernel's current map, for up to the daemon's --map-wait (60 s);
	 * STATUS also for the published copy of it (FTIDX_STAT_PUBLISHED) */
	FTIDX_READ_MAP_CURRENT = 1,
	/* the map the daemon has, at once: for tools that prefer speed while
	 * modules keep coming (a storm at boot) */
	FTIDX_READ_MAP_LAST = 2,
};

/*
 * ftidx_set_read_map - what reads on @c wait for (enum ftidx_read_map)
 *
 * Returns 0, or -EINVAL for an unknown value. An ftidxd older than 0.5
 * knows neither wait: the request is then asked again without it, and
 * answered as before 0.5.
 */
int ftidx_set_read_map(struct ftidx *c, int which);

/* Whether the map a resolve, names or list result came from is behind the
 * kernel's functions (1) or not (0; also from an ftidxd older than 0.5,
 * which cannot say; its status's FTIDX_STAT_IS_STALE can). The newest map
 * the daemon had when it answered: ftidx_result_generation() or later
 * (ftidx_result_generation() from an older daemon). */
int ftidx_result_map_behind(const struct ftidx_result *r);
uint64_t ftidx_result_newest_generation(const struct ftidx_result *r);

/* What a request waits for, in progress reports. */
enum ftidx_stage {
	FTIDX_STAGE_WAITING = 0,   /* its turn, or no word from ftidxd yet */
	FTIDX_STAGE_MAP = 1,       /* the kernel's functions read anew after a module change */
	FTIDX_STAGE_RESOLVING = 2, /* its patterns resolved: @done of @total */
	FTIDX_STAGE_RESTORING = 3, /* a write that failed being put back */
};

/*
 * Progress of a request that takes long: @stage (enum ftidx_stage), how
 * far (@done of @total; 0 of 0 when it cannot say), the time since it
 * was sent (ms), and what it waits for in words ("" when @stage says it
 * all; owned by the connection, valid during the call).
 */
typedef void (*ftidx_progress_fn)(void *userdata, int stage, uint32_t done, uint32_t total,
				  uint64_t elapsed_ms, const char *what);

/*
 * ftidx_set_progress - report the progress of long requests on @c
 * @fn: called from within the calls of @c (NULL: none, the default)
 *
 * Reads and filter changes then ask ftidxd for progress frames: from a
 * second after it took the request, once a second, while it waits for a
 * map or resolves. While none comes (the daemon is busy with another
 * request, or older than 0.5), @fn is still called once a second with
 * FTIDX_STAGE_WAITING (or the last stage said). Synchronous calls call
 * it; in a poll loop, ftidx_process() calls it for each frame that
 * comes.
 */
void ftidx_set_progress(struct ftidx *c, ftidx_progress_fn fn, void *userdata);

/* ---- instances and capabilities (since 0.3) ---------------------------- */

/*
 * Remove instance @instance, which ftidxd created for a request with
 * FTIDX_CREATE_INSTANCE. ftidxd removes only those, and only while it
 * runs: -EPERM for any other, -ENOENT for none, -EBUSY when a tracer or an
 * open file holds it. Needs the right to change filters.
 */
int ftidx_remove_instance(struct ftidx *c, const char *instance);

/* What the daemon can do (FTIDX_CAN_*), and what this client may. */
#define FTIDX_CAN_CHANGE_FILES 0x1ull    /* requests of several files */
#define FTIDX_CAN_PER_PATTERN 0x2ull     /* per-pattern results */
#define FTIDX_CAN_CANCEL 0x4ull          /* ftidx_cancel() cuts a hit count short */
#define FTIDX_CAN_REMOVE_INSTANCE 0x8ull /* ftidx_remove_instance() */
#define FTIDX_CAN_HITS 0x10ull           /* hit counts (a real tracefs) */
#define FTIDX_CAN_LIST_ADDRESSES 0x20ull /* FTIDX_LIST_WITH_ADDRESSES */
#define FTIDX_CAN_ALLOW_EMPTY 0x40ull    /* FTIDX_ALLOW_EMPTY (since 0.5) */
#define FTIDX_CAN_READ_MAP 0x80ull       /* ftidx_set_read_map(), ftidx_result_map_behind() (0.5) */
#define FTIDX_CAN_PROGRESS 0x100ull      /* ftidx_set_progress() from the daemon (since 0.5) */
#define FTIDX_CAN_SHOW 0x200ull          /* ftidx_show(), ftidx_instances() (since 0.5) */
/* The filter sessions of "ftidx exec" (docs/filter-sessions.md). Since: 0.5 */
#define FTIDX_CAN_SESSIONS 0x400ull
#define FTIDX_CAN_WRITE (1ull << 63)     /* this client may change filters */

/*
 * Ask the daemon for its capabilities, once per connection (later calls
 * return what it said). An ftidxd older than 0.3 knows no such question:
 * *@caps is then 0, and its version 1 requests are all it has.
 * Afterwards ftidx_daemon_version() is its version ("" or NULL for an
 * older one) and ftidx_protocol_version() the protocol version of its
 * replies (0 before any reply).
 */
int ftidx_query_capabilities(struct ftidx *c, uint64_t *caps);
const char *ftidx_daemon_version(const struct ftidx *c);
unsigned ftidx_protocol_version(const struct ftidx *c);

/* ---- what a change did, a filter as it is, the instances (since 0.5) -- */

/*
 * What file @k of a change (as ftidx_result_file_count() counts them) held
 * before it and holds after it, and how many functions came and went:
 * @which is FTIDX_BEFORE, FTIDX_AFTER, FTIDX_ADDED or FTIDX_DROPPED.
 * Returns 0 with *@n set; -ENODATA when ftidxd cannot tell (it had not
 * written the file and another writer had, so it knows what it changed
 * but not what else the file holds); -EOPNOTSUPP from an ftidxd older
 * than 0.5; -EINVAL for a @k or @which out of range, or a result of no
 * change. So "remove vfs_write" of a filter that does not hold it
 * reports FTIDX_DROPPED 0, though the pattern selected a function.
 */
enum ftidx_change_count {
	FTIDX_BEFORE = 1,
	FTIDX_AFTER,
	FTIDX_ADDED,
	FTIDX_DROPPED,
};

int ftidx_result_file_functions(const struct ftidx_result *r, size_t k, int which, uint32_t *n);

/*
 * A filter file as it is, read from the kernel by ftidxd: @file (enum
 * ftidx_file) of @instance (NULL: the top level). Needs the right to
 * change filters. The result's lines (ftidx_result_count(),
 * ftidx_result_line()) are the file's, in the order the kernel lists
 * them, comments left out; ftidx_result_index() is a function line's
 * index (0 for one the map does not have, and for the others). Free with
 * ftidx_result_free(). -EOPNOTSUPP from an ftidxd older than 0.5,
 * -ENOENT for no such instance or file.
 */
int ftidx_show(struct ftidx *c, const char *instance, int file, struct ftidx_result **out);

/* What line @i of a shown filter is: one of these, or -EINVAL. */
enum ftidx_line_kind {
	FTIDX_LINE_FUNCTION = 1,       /* a function the filter enables */
	FTIDX_LINE_PROBE = 2,          /* a function probe ("schedule:traceoff:unlimited") */
	FTIDX_LINE_MODULE_PATTERN = 3, /* kept for a module not loaded (":mod:nfsd") */
};

int ftidx_result_line_kind(const struct ftidx_result *r, size_t i);
/* 1 when ftidx wrote function line @i there, else 0. */
int ftidx_result_line_is_ours(const struct ftidx_result *r, size_t i);
/* Whether the shown file holds what ftidx wrote there: 1; 0 (another
 * writer changed it); -1 (cannot tell: see ftidx_error_message()); or
 * -ENOENT (ftidx has not written it). */
int ftidx_result_holds(const struct ftidx_result *r);
/* How many functions ftidx wrote to the shown file. */
uint32_t ftidx_result_ours_count(const struct ftidx_result *r);

/*
 * The tracing instances, by name (ftidx_result_count(), ftidx_result_line()),
 * sorted. Needs the right to change filters. Free with ftidx_result_free().
 * -EOPNOTSUPP from an ftidxd older than 0.5.
 */
int ftidx_instances(struct ftidx *c, struct ftidx_result **out);
/* 1 when ftidxd created instance @i (FTIDX_CREATE_INSTANCE), and so may
 * remove it (ftidx_remove_instance()); else 0. */
int ftidx_result_instance_created(const struct ftidx_result *r, size_t i);

#ifdef __cplusplus
}
#endif

#endif
