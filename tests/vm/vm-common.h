/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the real-kernel judge (vm-judge.c) and the speed table
 * (vm-speed.c) share, inside the qemu guest (vm-common.c): the verdicts on
 * the serial console, tracefs used the way a shell or a tool would, and
 * the connection to ftidxd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "ftidx.h"

#define T "/sys/kernel/tracing"
#define INSTANCE "vmtest"

/* The checks so far. */
extern unsigned passed, failed;

/*
 * The judge's connection to ftidxd, for each request: ftidxd drops a
 * client silent for its --idle-timeout (FTIDX_VM_IDLE_TIMEOUT, which
 * init.sh passes to both), and a phase that runs tools, loads modules or
 * waits on the kernel can leave this one silent that long. A connection
 * silent for half the timeout is replaced before its next request (the
 * old one is closed, and kept until the end, so that a pointer still
 * held fails instead of pointing at freed memory): no phase's length
 * decides the checks after it. None is replaced while a call is in
 * flight. conn_set() puts in another (NULL: none), taking it over.
 */
struct ftidx *conn(void);
void conn_set(struct ftidx *fresh);
/* ftidxd's idle timeout (s); how often the connection was replaced, and
 * the longest silence that made it so (ms). */
unsigned conn_idle_timeout(void);
unsigned conn_replaced(double *longest_silence_ms);

/* One verdict: "VM: ok ..." or "VM: FAIL ..." on the console. */
void result(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
double now_ms(void);

/* Write @text as echo does: one open, short writes continued. Returns 0 or
 * the -errno of the first refused write. */
int kwrite(const char *path, const char *text, bool trunc);
void kclear(const char *path);

struct lines {
	char **v;
	size_t n;
	char *buf;
};

int cmp_str(const void *a, const void *b);
/* A whole file, NUL-terminated (free() it); "" when it cannot be read. */
char *slurp(const char *path, size_t *len);
/* The filter as a sorted multiset of lines (comments skipped). */
struct lines kread(const char *path);
/* The lines of a file, comments skipped, @sorted or as they come. */
struct lines read_lines(const char *path, bool sorted);
void lines_free(struct lines *l);
bool lines_equal(const struct lines *a, const struct lines *b);

/* Split @batch on spaces into tokens (pointers into a copy). */
size_t split(const char *batch, char **copy, const char **tokens, size_t max);
int ftidx_set_batch(const char *batch, int file, const char *instance);

/* How often ftidxd's log (/tmp/ftidxd.log) says @what so far. */
unsigned log_count(const char *what);
/* How long the last rebuild of the map took, by ftidxd's log (ms, or -1). */
double last_rebuild_ms(void);

/* The slowest whole read of the kernel's function list here so far, in
 * ms (one is made if none was): a measure of this guest's speed. */
double list_read_ms(void);

/* How long ftidxd may take on this guest to catch up with a change of
 * the kernel's list (a rebuild of its map, its published copy) or to
 * start: derived from what this guest measured, the last rebuild ftidxd
 * logged and the slowest read of the kernel's list here, so that a
 * guest twice as slow waits twice as long; never under the 20 s that
 * was the bound before it was measured. In ms. */
double catch_up_bound_ms(void);

/* After a module came or went: until STATUS says the map is the kernel's
 * again (reads answer from the map there is, marked with its generation,
 * after waiting a while for a rebuild: SERVICE_DEFAULT_READ_WAIT_MS). How long
 * that took, in ms, or -1 after catch_up_bound_ms(). */
double wait_map_current(void);

/* ftidxd's copy of the kernel's function list (and of the addresses,
 * where the kernel lists them), in its state directory. */
#define PUBLISHED "/run/ftidx/"

/* Whether the copy is the kernel's file byte for byte, polled for up to
 * catch_up_bound_ms() (it is written after the map is read): how long
 * that took, in ms, or -1. */
double published_matches(void);
/* Whether it is, at this moment (no wait). */
bool published_now(void);

/* Tools that read the function list, plainly and under "ftidx exec"
 * (vm-readers.c); read_list() is "ftidx-vm read-list PATH". */
void list_readers(void);
int read_list(const char *path);
/* Debian's bpftrace and bcc tools, plainly and under "ftidx exec". */
int bpf_tools(void);

/* How many hit-count instances of ftidxd's exist; *@tracing: whether one
 * of them traces yet. hits_tracing(): just the latter. wait_hits_tracing():
 * until one traces, up to catch_up_bound_ms(); whether one does. */
size_t hits_instances(bool *tracing);
bool hits_tracing(void);
bool wait_hits_tracing(void);

/* For each of @n patterns: the filter @path (@file of @instance) the
 * kernel leaves when the pattern is written by name, and the one ftidx
 * leaves, the same line for line; a verdict each. How many agree. */
size_t equivalence_of(const char *what, const char *path, int file, const char *instance,
		      const char *const *pats, size_t n);

/* libftidx 0.3 on the real kernel (vm-tools.c): changes of several files,
 * per-pattern results, a hit count cancelled from a poll loop. */
void tool_api(void);

/* Filter files shared with a user's probes, module patterns, other
 * writers and instances removed behind ftidxd's back (vm-share.c). */
void sharing(void);

/* ftidxd killed in the middle of @runs writes of each kind, and started
 * again: the filters old or new, never partial (vm-crash.c). */
void crash_safety(unsigned runs);

/* The loop's worst stall as a client sees it, per phase of the run
 * (vm-stall.c): start the prober, name each phase, print at the end. */
void stall_start(void);
void stall_phase(const char *name);
void stall_report(void);

/* Every writer of the filter files (bash, dash, cat, perf ftrace, a C
 * program), plainly and under "ftidx exec" (vm-writers.c); the C
 * program is "ftidx-vm write CASE". */
void writers(void);
int write_case(const char *what);

/* The modes: the judge (vm-judge.c) and the speed table (vm-speed.c).
 * The churn races module changes for @churn_s seconds, with at least
 * @churn_requests requests however long they take. */
int run_tests(unsigned churn_requests, unsigned churn_s, unsigned crash_runs);
/* The judge alone (vm-judge.c), for a second architecture. */
int run_judge(unsigned churn_requests, unsigned churn_s);
/* The speed table (vm-speed.c); the costs that grow with the kernel's
 * list per name (the kernel's by-name walk, libtracefs, plain trace-cmd)
 * timed on @samples names and scaled. */
int run_speed(unsigned samples);
/* The many-modules guest (vm-many.c), with the speed table on its map if
 * @speed. */
int run_many(bool speed, bool tools);
