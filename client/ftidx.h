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
 * ftidx_error_message() says why in words.
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
 * reading) and waiting for its reply. A request that times out returns
 * -ETIMEDOUT and the connection is unusable afterwards (reconnect).
 * Since: 0.1
 */
void ftidx_set_timeout(struct ftidx *c, unsigned timeout_ms);

/* The daemon's explanation of the last refused request on @c, or of a
 * protocol failure; "" when the last request succeeded. Owned by @c,
 * valid until its next request. Since: 0.1 */
const char *ftidx_error_message(const struct ftidx *c);

/* Flags of ftidx_resolve(). */
#define FTIDX_RESOLVE_WITH_LINES 0x1u /* fill ftidx_result_line() */

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
	FTIDX_SET = 1,    /* replace the filter; never with nothing */
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

/* Flags of ftidx_filter(). */
#define FTIDX_CREATE_INSTANCE 0x1u /* create @instance if it does not exist */

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

/* A filter ftidx wrote, and whether it still holds that. Since: 0.1 */
struct ftidx_filter_state {
	const char *instance; /* "" for the top level */
	int file;             /* enum ftidx_file */
	int holds;            /* 1: yes, 0: another writer changed it, -1: cannot tell */
	uint32_t functions;   /* how many ftidx left enabled */
};

/* The daemon's state. Free with ftidx_status_free(). Fields may be added
 * at the end in later versions. Since: 0.1 */
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
};

int ftidx_status(struct ftidx *c, struct ftidx_status **out);
struct ftidx_status *ftidx_status_free(struct ftidx_status *st);

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

#ifdef __cplusplus
}
#endif

#endif
