/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The judge: ftidx against what the kernel itself does with the same
 * patterns and files, placeholders, modules and staleness, another
 * writer, half-applied batches, hit counts and addresses.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <tracefs.h>
#include <unistd.h>

#include "ftidx.h"
#include "macro.h"
#include "vm-common.h"

/* ---- equivalence ------------------------------------------------------- */

static const char *const patterns[] = {
	"vfs_read", "schedule", "type_show", "vfs_*", "__x64_sys_read*", "loop_*", "dummy*",
	"fat_*", "*_show", "*.isra.0", "*_store", "*alloc*", "*_rw_*", "*", "**", "vfs_rea?",
	"vfs_[rw]*", "[!a-y]*", "*_[0-9]", "security_*_inode", "??_??", "vfs\\_read",
	"*cpu*idle*", "*lo?_*", "lo_*:mod:loop", ":mod:loop", "*:mod:dummy", "dummy*:mod:dummy",
	"dummy*:mod:!dummy", "*:mod:!loop", "dummy_xmit:mod:dummy", "*do_show*:mod:lo*",
	"*:mod:*", "fat_*:mod:", "dummy*:mod:!", "*:mod:[fv]at", "vfat_*:mod:vfat",
	"vfs_* !vfs_read", "*:mod:fat !fat_*", "type_show !*:mod:!", "no_such_function_xyz",
	"*[!a-z0-9_.]*", "[!a-z_]*", "*[A-Z]*",
};

size_t equivalence_of(const char *what, const char *path, int file, const char *instance,
		      const char *const *pats, size_t limit)
{
	size_t agree = 0, n = 0;

	for (size_t i = 0; i < limit; i++, n++) {
		const char *p = pats[i];
		char text[256];
		struct lines k, x;
		int rk, rx;

		snprintf(text, sizeof(text), "%s\n", p);
		kclear(path);
		rk = kwrite(path, text, true);
		k = kread(path);
		kclear(path);
		rx = ftidx_set_batch(p, file, instance);
		x = kread(path);
		kclear(path);

		if (rk == 0 && k.n == 0 && (file == FTIDX_NOTRACE || file == FTIDX_GRAPH_NOTRACE)) {
			/* An empty notrace file excludes nothing, which is
			 * harmless: ftidx leaves it empty as the kernel does. */
			bool ok = rx == 0 && x.n == 0;

			result(ok, "%s '%s': the kernel leaves it empty (excludes nothing); so does "
				   "ftidx: %s",
			       what, p, ok ? "yes" : "NO");
			agree += ok;
		} else if (rk == 0 && k.n == 0) {
			/* The kernel took it and left an empty filter, which traces
			 * every function: ftidx refuses that by design. */
			bool ok = rx == -ENODATA && x.n == 0;

			result(ok, "%s '%s': the kernel leaves an empty filter (everything); ftidx "
				   "refuses: %s",
			       what, p, rx == -ENODATA ? "yes" : "NO");
			agree += ok;
		} else if (rk < 0 || rx < 0) {
			/* The kernel refused (nothing matched): ftidx must refuse too. */
			bool ok = rk < 0 && rx < 0 && x.n == 0;

			result(ok, "%s '%s': kernel %s, ftidx %s%s%s", what, p,
			       rk < 0 ? "refused" : "took it", rx < 0 ? "refused" : "took it",
			       rx < 0 ? ": " : "", rx < 0 ? ftidx_error_message(conn()) : "");
			agree += ok;
		} else {
			bool ok = lines_equal(&k, &x);

			result(ok, "%s '%s': kernel %zu lines, ftidx %zu lines%s", what, p, k.n, x.n,
			       ok ? ", same multiset" : ", DIFFERENT");
			agree += ok;
		}
		lines_free(&k);
		lines_free(&x);
	}
	printf("VM: %s equivalence: %zu of %zu patterns agree\n", what, agree, n);
	return agree;
}

static void equivalence(const char *what, const char *path, int file, const char *instance,
			size_t limit)
{
	equivalence_of(what, path, file, instance, patterns,
		       MIN(limit, sizeof(patterns) / sizeof(patterns[0])));
}

/* ---- placeholders ------------------------------------------------------ */

/* A placeholder name the kernel does not list: refused, filter unchanged. */
static void no_placeholders(void)
{
	const char *tok[1] = { "__ftrace_invalid_address___32" };
	struct ftidx_status *st = NULL;
	struct ftidx_result *r = NULL;
	struct lines before, after;
	const char *why = "";
	int rc, per_token;

	result(ftidx_status(conn(), &st) == 0 && st->placeholders == 0,
	       "this kernel lists no placeholders, and ftidx reports %u",
	       st ? st->placeholders : 0);
	ftidx_status_free(st);
	ftidx_set_batch("schedule", FTIDX_FILTER, NULL);
	before = kread(T "/set_ftrace_filter");
	rc = ftidx_filter(conn(), FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, tok, 1, &r);
	per_token = r ? ftidx_result_token_error(r, 0, &why) : 0;
	after = kread(T "/set_ftrace_filter");
	/* refused as a placeholder, not merely as a name that matches
	 * nothing: any unknown name would be that */
	result(rc == -EINVAL && per_token == -EPERM && strstr(why, "placeholder") &&
		       lines_equal(&before, &after) && after.n == 1,
	       "a placeholder's name is still refused as one (%s), filter unchanged", why);
	ftidx_result_free(r);
	kclear(T "/set_ftrace_filter");
	lines_free(&before);
	lines_free(&after);
}

static void placeholders(void)
{
	size_t len, listed = 0;
	char *aff = slurp(T "/available_filter_functions", &len), *save = NULL;
	uint32_t index = 0, i = 0, reported = 0;
	char name[128] = "";
	struct ftidx_status *st = NULL;
	struct lines before, after;
	const char *tok[1];
	char idx[16];

	for (char *l = strtok_r(aff, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		i++;
		if (strncmp(l, "__ftrace_invalid_address___", 27) != 0)
			continue;
		listed++;
		if (!index) {
			index = i;
			snprintf(name, sizeof(name), "%s", l);
		}
	}
	free(aff);
	if (index == 0) {
		/* 6.15 and its backports drop weak functions' records */
		printf("VM: info: available_filter_functions lists no placeholders\n");
		no_placeholders();
		return;
	}
	if (ftidx_status(conn(), &st) == 0)
		reported = st->placeholders;
	ftidx_status_free(st);
	result(reported == listed, "the kernel lists %zu placeholders (the first on line %u, %s), "
				   "and ftidx reports %u",
	       listed, index, name, reported);

	ftidx_set_batch("schedule", FTIDX_FILTER, NULL);
	before = kread(T "/set_ftrace_filter");
	for (int by_index = 0; by_index < 2; by_index++) {
		struct ftidx_result *r = NULL;
		const char *why = "";
		int rc, per_token;

		snprintf(idx, sizeof(idx), "%u", index);
		tok[0] = by_index ? idx : name;
		rc = ftidx_filter(conn(), by_index ? FTIDX_ADD : FTIDX_SET, FTIDX_FILTER, NULL, 0,
				  0, tok, 1, &r);
		per_token = r ? ftidx_result_token_error(r, 0, &why) : 0;
		/* refused as a placeholder, in words a user can act on */
		result(rc == -EINVAL && per_token == -EPERM && strstr(why, "placeholder"),
		       "placeholder by %s refused as one: %s",
		       by_index ? "index" : "name", why);
		ftidx_result_free(r);
	}
	after = kread(T "/set_ftrace_filter");
	result(lines_equal(&before, &after) && after.n == 1, "filter unchanged (%s)",
	       after.n ? after.v[0] : "empty");
	/* what the kernel would have done with that index */
	kwrite(T "/set_ftrace_filter", idx, true);
	kwrite(T "/set_ftrace_filter", "\n", false);
	{
		struct lines k = kread(T "/set_ftrace_filter");

		printf("VM: info: the kernel itself accepts placeholder index %u and enables %zu "
		       "line(s): %s\n",
		       index, k.n, k.n ? k.v[0] : "-");
		lines_free(&k);
	}
	kclear(T "/set_ftrace_filter");
	lines_free(&before);
	lines_free(&after);
}

/* ---- modules ----------------------------------------------------------- */

static unsigned long aff_lines(void)
{
	size_t len;
	char *s = slurp(T "/available_filter_functions", &len);
	unsigned long n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	free(s);
	return n;
}

static uint64_t status_generation(uint32_t *entries)
{
	struct ftidx_status *st;
	uint64_t g = 0;

	if (ftidx_status(conn(), &st) == 0) {
		g = st->generation;
		*entries = st->entries;
		ftidx_status_free(st);
	}
	return g;
}

static int resolve_one(const char *pattern, struct ftidx_result **r)
{
	return ftidx_resolve(conn(), &pattern, 1, FTIDX_RESOLVE_WITH_LINES, r);
}

static bool filter_is_only(const char *suffix, const char *prefix, size_t n)
{
	struct lines l = kread(T "/set_ftrace_filter");
	bool ok = l.n == n;

	for (size_t i = 0; i < l.n && ok; i++) {
		size_t len = strlen(l.v[i]);

		ok = strncmp(l.v[i], prefix, strlen(prefix)) == 0 && len >= strlen(suffix) &&
		     strcmp(l.v[i] + len - strlen(suffix), suffix) == 0;
	}
	lines_free(&l);
	return ok;
}

/* ftidxd's published copy of the list is the kernel's, byte for byte. */
static void published(const char *when)
{
	double ms = published_matches();

	result(ms >= 0, "the published function list is the kernel's byte for byte %s (%.0f ms)",
	       when, ms);
}

static void modules(void)
{
	struct ftidx_result *r = NULL;
	uint64_t g0, g1, g2;
	uint32_t entries = 0, idx_loop, idx_dummy, idx_after;
	size_t n_loop;
	int rc;

	g0 = status_generation(&entries);
	result(entries == aff_lines(), "map follows the kernel at start: %u lines, generation %llu",
	       entries, (unsigned long long)g0);

	published("at start");
	rc = system("insmod /modules/loop.ko");
	printf("VM: the map current %.0f ms after insmod loop\n", wait_map_current());
	published("after insmod loop");
	rc = resolve_one("loop_*:mod:loop", &r);
	g1 = r ? ftidx_result_generation(r) : 0;
	n_loop = r ? ftidx_result_count(r) : 0;
	idx_loop = n_loop ? ftidx_result_index(r, 0) : 0;
	result(rc == 0 && g1 > g0 && n_loop > 5, "insmod loop: map rebuilt (generation %llu), %zu loop_* lines",
	       (unsigned long long)g1, n_loop);
	result(ftidx_filter_indices(conn(), FTIDX_SET, FTIDX_FILTER, NULL, 0, g1,
				    ftidx_result_indices(r), n_loop, NULL) == 0 &&
		       filter_is_only(" [loop]", "loop_", n_loop),
	       "set by index at generation %llu: exactly the %zu loop_* functions of loop, by name",
	       (unsigned long long)g1, n_loop);
	r = ftidx_result_free(r);

	rc = system("insmod /modules/dummy.ko");
	result(ftidx_filter_indices(conn(), FTIDX_SET, FTIDX_FILTER, NULL, 0, g1, &idx_loop, 1,
				    NULL) == -ESTALE &&
		       filter_is_only(" [loop]", "loop_", n_loop),
	       "insmod dummy: a write at generation %llu is refused as stale, filter unchanged",
	       (unsigned long long)g1);

	wait_map_current();
	published("after insmod dummy");
	rc = resolve_one("dummy_xmit", &r);
	g2 = r ? ftidx_result_generation(r) : 0;
	idx_dummy = rc == 0 ? ftidx_result_index(r, 0) : 0;
	r = ftidx_result_free(r);
	rc = system("rmmod loop");
	result(ftidx_filter_indices(conn(), FTIDX_SET, FTIDX_FILTER, NULL, 0, g2, &idx_dummy, 1,
				    NULL) == -ESTALE,
	       "rmmod loop: index %u of generation %llu refused as stale", idx_dummy,
	       (unsigned long long)g2);
	wait_map_current();
	published("after rmmod loop");
	rc = resolve_one("dummy_xmit", &r);
	idx_after = rc == 0 ? ftidx_result_index(r, 0) : 0;
	result(rc == 0 && idx_after < idx_dummy &&
		       ftidx_filter_indices(conn(), FTIDX_SET, FTIDX_FILTER, NULL, 0,
					    ftidx_result_generation(r), &idx_after, 1, NULL) == 0 &&
		       filter_is_only("dummy_xmit [dummy]", "dummy_xmit", 1),
	       "dummy_xmit moved from %u to %u; set enables exactly dummy_xmit [dummy]", idx_dummy,
	       idx_after);
	r = ftidx_result_free(r);
	status_generation(&entries);
	result(entries == aff_lines(), "map follows the kernel after churn: %u lines", entries);
	kclear(T "/set_ftrace_filter");
}

/* ---- reads right after a module change --------------------------------- */

/* Lines of @mod in the kernel's list now. */
static size_t kernel_lines_of(const char *mod)
{
	char tag[64];
	struct lines l = read_lines(T "/available_filter_functions", false);
	size_t n = 0, len;

	len = (size_t)snprintf(tag, sizeof(tag), " [%s]", mod);
	for (size_t i = 0; i < l.n; i++)
		n += strlen(l.v[i]) > len && strcmp(l.v[i] + strlen(l.v[i]) - len, tag) == 0;
	lines_free(&l);
	return n;
}

/* Run the CLI: its exit status, and how many lines it printed (or, with
 * @grep, the number on the line that begins with @grep). */
static int cli_lines(const char *args, const char *grep, size_t *n)
{
	char cmd[256], line[512];
	FILE *p;
	int status;

	*n = 0;
	snprintf(cmd, sizeof(cmd), "ftidx %s 2>>/tmp/cli.err", args);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		if (!grep)
			(*n)++;
		else if (strncmp(line, grep, strlen(grep)) == 0)
			*n = strtoul(line + strlen(grep), NULL, 10);
	status = p ? pclose(p) : -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Right after @cmd (an insmod or rmmod of @mod), before the uevent is
 * in or the map read anew: resolve, list and status, first through
 * libftidx asking for the last map at once, then through the CLI, which
 * waits for the kernel's by default. Each answer is the kernel's, or says
 * it is behind: never a silently stale one. The CLI's are the kernel's.
 */
static void reads_right_after(const char *cmd, const char *mod)
{
	char pattern[64], args[96];
	struct ftidx *last = NULL;
	struct ftidx_result *r = NULL, *l = NULL;
	struct ftidx_status *st = NULL;
	size_t kernel, n_res = 0, n_list = 0, got;
	unsigned behind = 0;
	int rr, rl, rs, status;

	snprintf(pattern, sizeof(pattern), ":mod:%s", mod);
	if (ftidx_connect(NULL, &last) < 0 || ftidx_set_read_map(last, FTIDX_READ_MAP_LAST) < 0) {
		result(false, "%s: a connection asking for the last map", cmd);
		ftidx_unref(last);
		return;
	}
	if (system(cmd) != 0)
		result(false, "%s", cmd);
	{
		const char *p = pattern;

		rr = ftidx_resolve(last, &p, 1, 0, &r);
	}
	rl = ftidx_list(last, FTIDX_LIST_BY_MODULE, mod, &l);
	rs = ftidx_status(last, &st);
	kernel = kernel_lines_of(mod);
	n_res = rr == 0 ? ftidx_result_count(r) : 0;
	n_list = rl == 0 ? ftidx_result_count(l) : 0;
	behind = (r && ftidx_result_map_behind(r)) + (l && ftidx_result_map_behind(l)) +
		 (rs == 0 && st->is_stale);
	printf("VM: %s, the last map at once: resolve %d (%zu lines), list %d (%zu), status "
	       "generation %llu%s; %u of 3 said behind; the kernel lists %zu\n",
	       cmd, rr, n_res, rl, n_list, (unsigned long long)(rs == 0 ? st->generation : 0),
	       rs == 0 && st->is_stale ? " (stale)" : "", behind, kernel);
	result((r && ftidx_result_map_behind(r)) || (kernel ? rr == 0 && n_res == kernel : rr < 0),
	       "%s: resolve '%s' of the last map is the kernel's (%zu lines) or says it is behind",
	       cmd, pattern, kernel);
	result((l && ftidx_result_map_behind(l)) ||
		       (kernel ? rl == 0 && n_list == kernel : rl == -ENOENT),
	       "%s: list of module %s, the last map: the kernel's or said behind", cmd, mod);
	result(rs == 0 && (st->is_stale || st->entries == aff_lines()),
	       "%s: status of the last map: the kernel's or said stale", cmd);
	ftidx_result_free(r);
	ftidx_result_free(l);
	ftidx_status_free(st);
	ftidx_unref(last);

	/* the CLI waits for the kernel's map: its answers are the kernel's */
	snprintf(args, sizeof(args), "resolve '%s'", pattern);
	status = cli_lines(args, NULL, &got);
	result(kernel ? status == 0 && got == kernel : status == 1,
	       "%s: ftidx resolve '%s' is the kernel's (exit %d, %zu lines of %zu)", cmd, pattern,
	       status, got, kernel);
	snprintf(args, sizeof(args), "list --module %s", mod);
	status = cli_lines(args, NULL, &got);
	result(kernel ? status == 0 && got == kernel : status == 1,
	       "%s: ftidx list --module %s is the kernel's (exit %d, %zu lines)", cmd, mod, status,
	       got);
	status = cli_lines("status", "functions:", &got);
	result(status == 0 && got == aff_lines(),
	       "%s: ftidx status is the kernel's (exit %d, %zu lines)", cmd, status, got);
	status = cli_lines("list --path", NULL, &got);
	result(status == 0 && published_now(),
	       "%s: ftidx list --path names the kernel's list, at once (exit %d)", cmd, status);
}

static void reads_follow_modules(void)
{
	reads_right_after("insmod /modules/loop.ko", "loop");
	reads_right_after("rmmod loop", "loop");
}

/* ---- another writer, uevents ------------------------------------------- */

static int filter_holds(void)
{
	struct ftidx_status *st = NULL;
	int holds = -2;

	if (ftidx_status(conn(), &st) == 0) {
		for (size_t i = 0; i < st->n_filters; i++)
			if (st->filters[i].file == FTIDX_FILTER && !st->filters[i].instance[0])
				holds = st->filters[i].holds;
		ftidx_status_free(st);
	}
	return holds;
}

static void other_writer(void)
{
	ftidx_set_batch("vfs_read vfs_write", FTIDX_FILTER, NULL);
	result(filter_holds() == 1, "status: the filter ftidx wrote still holds");
	kwrite(T "/set_ftrace_filter", "schedule\n", false);
	result(filter_holds() == 0, "status: another writer's echo >> is noticed");
	kclear(T "/set_ftrace_filter");
}

/* Whether the last rebuild ftidxd logged left its map the kernel's (no
 * module change came while it read). */
static bool last_rebuild_current(void)
{
	static const char said[] = "map rebuilt off the loop in ";
	size_t len;
	char *log = slurp("/tmp/ftidxd.log", &len), *last = NULL, *end;
	bool current;

	for (char *at = log; (at = strstr(at, said)); at++)
		last = at;
	if (last && (end = strchr(last, '\n')))
		*end = '\0';
	current = last && !strstr(last, "stale again");
	free(log);
	return current;
}

static void uevents(void)
{
	struct ftidx_status *st = NULL;
	uint64_t before = 0, after = 0;
	unsigned heard, rebuilt;
	double bound, t0;

	if (ftidx_status(conn(), &st) == 0)
		before = st->generation;
	st = ftidx_status_free(st);
	heard = log_count("module loop: add");
	rebuilt = log_count("map rebuilt off the loop");
	bound = catch_up_bound_ms();
	if (system("insmod /modules/loop.ko") != 0)
		result(false, "insmod loop");
	/* no request meanwhile: only the uevent can tell. Its log says when
	 * (a rebuild takes seconds under TCG, more on a slower host) */
	t0 = now_ms();
	while ((log_count("module loop: add") == heard ||
		log_count("map rebuilt off the loop") == rebuilt || !last_rebuild_current()) &&
	       now_ms() - t0 < bound)
		usleep(100 * 1000);
	result(log_count("module loop: add") > heard &&
		       log_count("map rebuilt off the loop") > rebuilt,
	       "the daemon heard the module's uevent and rebuilt the map by itself (%.0f ms)",
	       now_ms() - t0);
	if (ftidx_status(conn(), &st) == 0)
		after = st->generation;
	result(after > before && st && !st->is_stale,
	       "generation %llu -> %llu, the map not stale any more", (unsigned long long)before,
	       (unsigned long long)after);
	ftidx_status_free(st);
	if (system("rmmod loop") != 0)
		result(false, "rmmod loop");
}

/* ---- churn: modules come and go while filters are written ------------- */

/* Every line in the filter is one of @want (names, with module suffix);
 * *@has: whether @must is among them. */
static bool filter_only(const char *const *want, size_t n, const char *must, bool *has)
{
	struct lines l = kread(T "/set_ftrace_filter");
	bool ok = true;

	*has = false;
	for (size_t i = 0; i < l.n && ok; i++) {
		bool known = false;

		for (size_t k = 0; k < n && !known; k++)
			known = strcmp(l.v[i], want[k]) == 0;
		ok = known;
		*has |= must && strcmp(l.v[i], must) == 0;
		if (!ok)
			printf("VM: info: unexpected line in the filter: %s\n", l.v[i]);
	}
	lines_free(&l);
	return ok;
}

/* A socket for the kernel's uevents, to tell whether a module came or
 * went between two moments (the judge's own watch, not ftidxd's); -1. */
static int module_watch_start(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			NETLINK_KOBJECT_UEVENT);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Whether a module's uevent came since @fd was opened (which is closed);
 * true without a watch, or when some were lost: then nobody knows. */
static bool module_changed(int fd)
{
	char buf[8192];
	bool changed = fd < 0;
	ssize_t n;

	while (fd >= 0 && (n = recv(fd, buf, sizeof(buf) - 1, 0)) != 0) {
		if (n < 0) {
			changed |= errno == ENOBUFS;
			if (errno != ENOBUFS)
				break;
			continue;
		}
		buf[n] = '\0';
		changed |= strstr(buf, "@/module/") != NULL;
	}
	if (fd >= 0)
		close(fd);
	return changed;
}

/* Modules come and go in every way: loads, unloads in the middle, a
 * change every $p seconds. */
#define CHURN_ANY                                                                               \
	"insmod /modules/dummy.ko; sleep $p; insmod /modules/loop.ko; sleep $p; "                 \
	"insmod /modules/fat.ko; sleep $p; rmmod loop; sleep $p; rmmod dummy; sleep $p; "         \
	"insmod /modules/loop.ko; sleep $p; rmmod fat; sleep $p; rmmod loop; sleep $p"
/* Two modules swap places, so that the record count is the same after
 * each pair: only the module list (or a uevent) says the indices moved. */
#define CHURN_SWAP                                                                              \
	"rmmod loop; insmod /modules/loop.ko; sleep $p; "                                         \
	"rmmod dummy; insmod /modules/dummy.ko; sleep $p"

/*
 * Requests race @script's module changes for @budget_s seconds, and at
 * least @requests of them however long those take: a host twice as slow
 * spends the same time, on fewer requests, and never fewer than
 * @requests.
 *
 * The changes come a second apart, or a rebuild's time apart where a
 * rebuild of the map takes longer (a slower host, a kernel slower to
 * list): changes faster than ftidxd can read the list leave it no
 * current map to write with, and each write would wait out --map-wait
 * (60 s) to be refused.
 */
static void churn(const char *what, const char *script, unsigned requests, unsigned budget_s)
{
	static const char *const targets[][2] = {
		{ "dummy_xmit", "dummy_xmit [dummy]" },
		{ "lo_release", "lo_release [loop]" },
		{ "vfs_read", "vfs_read" },
		{ "fat_get_cluster", "fat_get_cluster [fat]" },
	};
	unsigned done = 0, stale = 0, refused = 0, wrong = 0;
	double t0 = now_ms(), pace_s = MAX(1.0, last_rebuild_ms() / 1000);
	pid_t churner = fork();

	if (churner == 0) {
		char paced[1024];

		/* its own process group, so that its shells die with it */
		setpgid(0, 0);
		snprintf(paced, sizeof(paced), "p=%.1f; %s", pace_s, script);
		for (;;) {
			int rc = system(paced);

			(void)rc;
		}
	}
	for (unsigned i = 0; i < requests || now_ms() - t0 < budget_s * 1000.0; i++) {
		const char *const *t = targets[i % 4];
		const char *all[4] = { targets[0][1], targets[1][1], targets[2][1], targets[3][1] };
		const char *want[1] = { t[1] };
		bool add = i % 6 == 0, has, moved;
		struct ftidx_result *r = NULL;
		struct lines before = kread(T "/set_ftrace_filter"), after;
		int watch = module_watch_start(), rc;

		if (i % 3 == 0) {
			/* by name: the daemon resolves on the map it checks */
			const char *tok[1] = { t[0] };

			rc = ftidx_filter(conn(), add ? FTIDX_ADD : FTIDX_SET, FTIDX_FILTER, NULL,
					  0, 0, tok, 1, NULL);
		} else if (resolve_one(t[0], &r) == 0) {
			/* by index, pinned to the generation it was resolved on */
			rc = ftidx_filter_indices(conn(), FTIDX_SET, FTIDX_FILTER, NULL, 0,
						  ftidx_result_generation(r), ftidx_result_indices(r),
						  1, NULL);
		} else {
			rc = -ENOENT; /* the module is not loaded right now */
		}
		ftidx_result_free(r);
		done++;
		stale += rc == -ESTALE;
		refused += rc < 0 && rc != -ESTALE;
		if (rc == 0) {
			/* only what was asked: this function, or after ADD, targets;
			 * and the function itself, unless a module came or went
			 * since (its module's lines go with it; an empty filter
			 * traces every function, so without a module change it
			 * is wrong) */
			bool only = filter_only(add ? all : want, add ? 4 : 1, t[1], &has);

			moved = module_changed(watch);
			wrong += !only || (!has && !moved);
			if (only && !has && !moved)
				printf("VM: info: %s: request %u: written, but the filter lacks %s\n",
				       what, i, t[1]);
		} else {
			/* refused: unchanged, but for lines of a module that went */
			after = kread(T "/set_ftrace_filter");
			wrong += !filter_only(all, 4, NULL, &has) || after.n > before.n;
			lines_free(&after);
			module_changed(watch);
		}
		lines_free(&before);
		if (i % 50 == 49)
			kclear(T "/set_ftrace_filter");
		if (i % 100 == 99)
			printf("VM: %s: %u requests, %u stale, %u refused, %u wrong\n", what, done,
			       stale, refused, wrong);
	}
	kill(-churner, SIGKILL);
	kill(churner, SIGKILL);
	waitpid(churner, NULL, 0);
	usleep(200 * 1000);
	if (system("rmmod loop 2>/dev/null; rmmod dummy 2>/dev/null; rmmod fat 2>/dev/null")) {
	}
	wait_map_current();
	published(what[0] == 's' ? "after the swap churn" : "after the churn");
	printf("VM-CHURN: %s: %u requests while modules came and went (every %.1f s): %u written, "
	       "%u refused as stale, %u refused otherwise (module not loaded), %u wrong; %.0f s\n",
	       what, done, pace_s, done - stale - refused, stale, refused, wrong,
	       (now_ms() - t0) / 1000);
	result(wrong == 0 && done >= requests && done - stale - refused > 0,
	       "%s: %u requests (at least %u), %u wrong functions enabled", what, done, requests,
	       wrong);
	kclear(T "/set_ftrace_filter");
}

/* ---- all or nothing ---------------------------------------------------- */

static void half_failing(void)
{
	const char *batch = "vfs_read nosuch_function_xyz vfs_write";
	struct lines before, after, k;
	int rk, rx;

	ftidx_set_batch("schedule", FTIDX_FILTER, NULL);
	rk = kwrite(T "/set_ftrace_filter", "vfs_read nosuch_function_xyz vfs_write\n", true);
	k = kread(T "/set_ftrace_filter");
	printf("VM: info: the kernel by name: write %s, filter left with %zu line(s)%s%s\n",
	       rk < 0 ? "refused" : "accepted", k.n, k.n ? ": " : "", k.n ? k.v[0] : "");
	ftidx_set_batch("schedule", FTIDX_FILTER, NULL);
	before = kread(T "/set_ftrace_filter");
	rx = ftidx_set_batch(batch, FTIDX_FILTER, NULL);
	after = kread(T "/set_ftrace_filter");
	result(rx == -EINVAL && lines_equal(&before, &after),
	       "a batch the kernel half-applies is refused whole by ftidx; filter unchanged (%s)",
	       after.n ? after.v[0] : "empty");
	lines_free(&before);
	lines_free(&after);
	lines_free(&k);
	kclear(T "/set_ftrace_filter");
}

/* ---- hit counts --------------------------------------------------------- */

#define UMASK_CALLS 1000
#define GETPGID_CALLS 333

/* In a child: once the run traces, make exactly the calls it must count. */
static pid_t start_caller(void)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (!wait_hits_tracing())
		_exit(2);
	for (int i = 0; i < UMASK_CALLS; i++)
		umask(022);
	for (int i = 0; i < GETPGID_CALLS; i++)
		getpgid(0);
	_exit(0);
}

/* The count @h gives lines named @name (all of them: a name can repeat),
 * and the index of the first; 0 when none fired. */
static uint64_t hits_of(const struct ftidx_hits *h, const char *name, uint32_t *index)
{
	uint64_t n = 0;

	*index = 0;
	for (size_t i = 0; i < h->n; i++) {
		if (strcmp(h->lines[i], name) == 0) {
			if (!n)
				*index = h->indices[i];
			n += h->counts[i];
		}
	}
	return n;
}

/* The indices of the kernel's lines named @name (a name can repeat),
 * read off available_filter_functions itself, not asked of ftidx: up to
 * @max into @out; how many there are. */
static size_t kernel_lines_named(const char *name, uint32_t *out, size_t max)
{
	size_t len, n = 0, nlen = strlen(name);
	char *text = slurp(T "/available_filter_functions", &len), *save = NULL;
	uint32_t i = 0;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		i++;
		if (strncmp(l, name, nlen) == 0 && (l[nlen] == '\0' || l[nlen] == ' ')) {
			if (n < max)
				out[n] = i;
			n++;
		}
	}
	free(text);
	return n;
}

/* How many of the kernel's lines are named @name. */
static size_t lines_named(const char *name)
{
	return kernel_lines_named(name, NULL, 0);
}

/* Whether a hit count may report @index for calls of @name: its index
 * when the name is one line's; when it repeats (arm64 lists some system
 * call entries three times), the line's by address, or 0 where the kernel
 * lists no addresses to tell them apart. The lines are the kernel's. */
static bool index_fits(const char *name, uint32_t index)
{
	uint32_t at[64];
	size_t n = kernel_lines_named(name, at, ARRAY_SIZE(at));
	bool fits = n > 1 && index == 0;

	for (size_t i = 0; i < n && i < ARRAY_SIZE(at); i++)
		fits |= at[i] == index && index != 0;
	return fits;
}

/* The function through which system call @call enters on the running
 * kernel ("__x64_sys_umask", "__arm64_sys_umask"): whichever the kernel
 * lists, not what the architecture's name suggests. */
static void syscall_function(char *buf, size_t size, const char *call)
{
	static const char *const prefixes[] = { "__x64_sys_", "__arm64_sys_", "sys_" };

	struct ftidx_result *r = NULL;
	char pattern[64];

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		snprintf(buf, size, "%s%s", prefixes[i], call);
		if (lines_named(buf))
			return;
	}
	snprintf(pattern, sizeof(pattern), "*sys_%s*", call);
	resolve_one(pattern, &r);
	printf("VM: info: no system call entry of %s among the kernel's functions; %s matches",
	       call, pattern);
	for (size_t i = 0; r && i < ftidx_result_count(r) && i < 8; i++)
		printf(" %s", ftidx_result_line(r, i));
	printf("\n");
	ftidx_result_free(r);
}

/*
 * Count calls this guest makes itself, which nothing else here makes: the
 * counts must be exact, with the map's indices, and nothing but what the
 * filter of the counted instance enables less its notrace filter.
 */
static void hit_counts(void)
{
	struct ftidx_hits *h = NULL;
	struct lines before, after;
	char umask[64], pgid[64], acct[64], batch[256];
	size_t traced;
	uint32_t i_umask, i_pgid, i_acct;
	uint64_t n_umask, n_pgid, n_acct;
	int status = -1, r;
	bool tracing, done;
	pid_t pid;

	/* The top level enables three, and vfs_read, which notrace takes out;
	 * the instance enables only getpgid. */
	syscall_function(umask, sizeof(umask), "umask");
	syscall_function(pgid, sizeof(pgid), "getpgid");
	syscall_function(acct, sizeof(acct), "acct");
	snprintf(batch, sizeof(batch), "%s %s %s vfs_read", umask, pgid, acct);
	ftidx_set_batch(batch, FTIDX_FILTER, NULL);
	ftidx_set_batch("vfs_read", FTIDX_NOTRACE, NULL);
	mkdir(T "/instances/" INSTANCE, 0750);
	ftidx_set_batch(pgid, FTIDX_FILTER, INSTANCE);
	before = kread(T "/set_ftrace_filter");

	pid = start_caller();
	r = ftidx_hits(conn(), NULL, 4, &h);
	/* The caller must be done before the run ended, or counts are short. */
	done = waitpid(pid, &status, WNOHANG) == pid;
	result(done && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "hits: the calls to count were made inside the run (%s, wait status %d)",
	       done ? "done" : "still running", status);
	if (r < 0 || !h) {
		result(false, "hits: ftidx_hits() failed: %s", ftidx_error_message(conn()));
		waitpid(pid, NULL, 0);
		goto out;
	}
	n_umask = hits_of(h, umask, &i_umask);
	n_pgid = hits_of(h, pgid, &i_pgid);
	n_acct = hits_of(h, acct, &i_acct);
	printf("VM: info: hits: %u traced, %zu fired, %" PRIu64 " calls, %" PRIu64
	       " lost: umask %" PRIu64 ", getpgid %" PRIu64 "\n",
	       h->enabled, h->n, h->events, h->lost, n_umask, n_pgid);
	traced = lines_named(umask) + lines_named(pgid) + lines_named(acct);
	result(h->enabled == traced, "hits: traces the filter less notrace (%u functions, %zu lines)",
	       h->enabled, traced);
	result(n_umask == UMASK_CALLS && n_pgid == GETPGID_CALLS && h->lost == 0 &&
		       !h->short_by[0],
	       "hits: counts exactly %d umask and %d getpgid calls", UMASK_CALLS, GETPGID_CALLS);
	result(h->n == 2 && n_acct == 0, "hits: nothing that did not fire, nothing outside");
	result(index_fits(umask, i_umask) && index_fits(pgid, i_pgid),
	       "hits: reports the map's indices (%u, %u)", i_umask, i_pgid);
	h = ftidx_hits_free(h);
	after = kread(T "/set_ftrace_filter");
	result(lines_equal(&before, &after) && hits_instances(&tracing) == 0,
	       "hits: the filter is left as it was, the run's instance removed");
	lines_free(&after);

	/* An instance's own filter, not the top level's. */
	pid = start_caller();
	r = ftidx_hits(conn(), INSTANCE, 3, &h);
	waitpid(pid, &status, 0);
	n_umask = h ? hits_of(h, umask, &i_umask) : 0;
	n_pgid = h ? hits_of(h, pgid, &i_pgid) : 0;
	result(r == 0 && h && h->enabled == 1 && h->n == 1 && n_pgid == GETPGID_CALLS &&
		       n_umask == 0,
	       "hits --instance counts what that instance's filter enables");
	h = ftidx_hits_free(h);

	kclear(T "/set_ftrace_filter");
	kclear(T "/set_ftrace_notrace");
	r = ftidx_hits(conn(), NULL, 1, &h);
	result(r == -ENODATA && !h, "hits: an empty filter is refused (%d)", r);
out:
	ftidx_hits_free(h);
	lines_free(&before);
	kclear(T "/instances/" INSTANCE "/set_ftrace_filter");
	rmdir(T "/instances/" INSTANCE);
}

/* The daemon decided the kernel's matching rules by asking it. */
static void match_rules(void)
{
	struct ftidx_status *st = NULL;

	if (ftidx_status(conn(), &st) < 0) {
		result(false, "status");
		return;
	}
	printf("VM-RULES: kernel %s: %s (%s)\n", st->kernel_release, st->match_rules,
	       st->match_rules_how);
	result(strcmp(st->match_rules, "unknown") != 0 && strncmp(st->match_rules_how, "probed", 6) == 0,
	       "matching rules decided by probing the kernel: %s", st->match_rules);
	ftidx_status_free(st);
}

/* ---- the loop stays responsive during a hit count ---------------------- */

/* The worst time one RESOLVE of a single name takes, over @ms: how many
 * were asked (*@n) and how many failed or found nothing (*@n_failed). */
static double worst_resolve_ms(struct ftidx *conn, double ms, unsigned *n, unsigned *n_failed)
{
	const char *tok[1] = { "vfs_read" };
	double end = now_ms() + ms, worst = 0;

	*n = *n_failed = 0;
	while (now_ms() < end) {
		struct ftidx_result *r = NULL;
		double t0 = now_ms(), t;
		int rc = ftidx_resolve(conn, tok, 1, 0, &r);

		t = now_ms() - t0;
		worst = t > worst ? t : worst;
		*n_failed += rc < 0 || !r || ftidx_result_count(r) != 1;
		ftidx_result_free(r);
		(*n)++;
		usleep(20000);
	}
	return worst;
}

/* A RESOLVE that takes longer than this while a hit count runs was held
 * up by it: a run lasts seconds, and one answer takes milliseconds. */
#define HITS_RESOLVE_BOUND_MS 1000

/*
 * A hit count over busy functions reads its ring buffer and then parses
 * kallsyms: on a thread of its own, so that everyone else is served
 * meanwhile. The worst RESOLVE latency with and without a run going.
 */
/*
 * ftidxd reads the run's ring buffer with read(2), on a thread of its
 * own: those calls must not be counted, or each drain would feed the
 * next. With read's functions filtered and nothing else reading, the run
 * counts (almost) nothing.
 */
static void hits_not_self(void)
{
	struct ftidx_hits *h = NULL;
	int r;

	ftidx_set_batch("__x64_sys_read ksys_read vfs_read", FTIDX_FILTER, NULL);
	kclear(T "/set_ftrace_notrace");
	r = ftidx_hits(conn(), NULL, 2, &h);
	printf("VM: info: hits with nobody reading: %" PRIu64 " calls, %" PRIu64 " lost\n",
	       h ? h->events : 0, h ? h->lost : 0);
	result(r == 0 && h && h->events < 20 && h->lost == 0,
	       "hits: ftidxd's own reads of the ring buffer are not counted (%" PRIu64 " calls)",
	       h ? h->events : 0);
	ftidx_hits_free(h);
	kclear(T "/set_ftrace_filter");
}

/*
 * The largest writes there are, and a STATUS right after each, while the
 * stall prober looks on: every function set, then removed again.
 */
static void large_writes(void)
{
	const char *all[] = { "*" }, *none[] = { "*" };
	struct ftidx_status *st = NULL;
	struct ftidx_result *res = NULL;
	struct lines l;
	size_t selected;
	double t0;
	int r;

	t0 = now_ms();
	r = ftidx_filter(conn(), FTIDX_SET, FTIDX_FILTER, NULL, 0, 0, all, 1, &res);
	printf("VM-LARGE-WRITE: set every function: %d in %.0f ms\n", r, now_ms() - t0);
	selected = res ? ftidx_result_count(res) : 0;
	res = ftidx_result_free(res);
	l = kread(T "/set_ftrace_filter");
	result(r == 0 && selected > 0 && l.n == selected,
	       "large writes: every function set (%zu lines, the kernel's filter %zu)", selected,
	       l.n);
	lines_free(&l);
	t0 = now_ms();
	r = ftidx_status(conn(), &st);
	printf("VM-LARGE-WRITE: status after it: %d in %.0f ms\n", r, now_ms() - t0);
	ftidx_status_free(st);
	result(r == 0, "large writes: status is answered after every function was set");
	t0 = now_ms();
	/* (which leaves it empty: asked for) */
	r = ftidx_filter(conn(), FTIDX_REMOVE, FTIDX_FILTER, NULL, FTIDX_ALLOW_EMPTY, 0, none, 1, NULL);
	printf("VM-LARGE-WRITE: remove every function: %d in %.0f ms\n", r, now_ms() - t0);
	l = kread(T "/set_ftrace_filter");
	result(r == 0 && l.n == 0, "large writes: every function removed again (%d, %zu lines left)",
	       r, l.n);
	lines_free(&l);
	kclear(T "/set_ftrace_filter");
}

static void hits_latency(void)
{
	struct ftidx *other = NULL;
	double quiet, busy;
	unsigned n_quiet, n_busy, f_quiet, f_busy;
	bool tracing;
	int status = -1;
	pid_t run, load;

	if (ftidx_connect(NULL, &other) < 0) {
		result(false, "hits latency: a second connection");
		return;
	}
	ftidx_set_batch("vfs_* ksys_* __x64_sys_*", FTIDX_FILTER, NULL);
	kclear(T "/set_ftrace_notrace");
	quiet = worst_resolve_ms(other, 2000, &n_quiet, &f_quiet);
	/* something for the run to count, all the time */
	load = fork();
	if (load == 0) {
		char buf[64];
		int fd = open("/proc/version", O_RDONLY);

		for (;;)
			(void)!pread(fd, buf, sizeof(buf), 0);
	}
	run = fork();
	if (run == 0) {
		struct ftidx_hits *h = NULL;
		int r = ftidx_hits(conn(), NULL, 4, &h);

		ftidx_hits_free(h);
		_exit(r == 0 ? 0 : 1);
	}
	wait_hits_tracing();
	tracing = hits_tracing();
	/* within the run: it counts for 4 s once it traces */
	busy = worst_resolve_ms(other, 3500, &n_busy, &f_busy);
	waitpid(run, &status, 0);
	kill(load, SIGKILL);
	waitpid(load, NULL, 0);
	printf("VM-HITS-LATENCY: worst RESOLVE: %.1f ms over %u without a hit count, %.1f ms over "
	       "%u during one (%u and %u failed)\n",
	       quiet, n_quiet, busy, n_busy, f_quiet, f_busy);
	/* a daemon held up by the run answers a handful at most, late */
	result(WIFEXITED(status) && WEXITSTATUS(status) == 0 && tracing && n_busy >= 10 &&
		       f_busy == 0 && f_quiet == 0 && busy < HITS_RESOLVE_BOUND_MS,
	       "hits: others are served during a run: %u RESOLVEs, %u failed, the worst in "
	       "%.1f ms (under %d; %.1f ms without a run); the run %s, %s",
	       n_busy, f_busy, busy, HITS_RESOLVE_BOUND_MS, quiet,
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "succeeded" : "FAILED",
	       tracing ? "seen tracing" : "NOT seen tracing");
	ftidx_unref(other);
	kclear(T "/set_ftrace_filter");
}

/* ---- trace-cmd, unmodified, through the libtracefs drop-in ------------- */

/* The function lines of a filter file's text (not its comments). */
static size_t function_lines(const char *text)
{
	size_t n = 0;

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		n += *l != '#' && *l != '\n';
	return n;
}

/* Whether ftidxd's STATUS says it wrote the top level's @file, and that
 * the file holds what it wrote: @lines functions. */
static bool written_by_ftidxd(int file, size_t lines)
{
	struct ftidx_status *st = NULL;
	bool ours = false;

	if (ftidx_status(conn(), &st) < 0)
		return false;
	for (size_t i = 0; i < st->n_filters; i++)
		if (st->filters[i].file == file && !st->filters[i].instance[0])
			ours = st->filters[i].holds == 1 && st->filters[i].functions == lines;
	ftidx_status_free(st);
	return ours;
}

/* Run @cmd in a shell; its exit status, and what the two filter files
 * hold afterwards, byte for byte. With @ours, whether ftidxd says it
 * wrote each non-empty file and that it holds what it wrote: the proof
 * that the run went through ftidxd (a plain libtracefs leaves the same
 * bytes, so the bytes cannot tell). trace-cmd reset between runs is
 * another writer to ftidxd, so a run that went around it leaves no
 * record that holds. */
static int run_filtered(const char *cmd, char **filter, char **notrace, bool *ours)
{
	size_t len;
	int status = system(cmd);

	*filter = slurp(T "/set_ftrace_filter", &len);
	*notrace = slurp(T "/set_ftrace_notrace", &len);
	if (ours) {
		size_t nf = function_lines(*filter), nn = function_lines(*notrace);

		*ours = (nf == 0 || written_by_ftidxd(FTIDX_FILTER, nf)) &&
			(nn == 0 || written_by_ftidxd(FTIDX_NOTRACE, nn)) && nf + nn > 0;
	}
	if (system("trace-cmd reset >/dev/null 2>&1") != 0)
		printf("VM: info: trace-cmd reset failed\n");
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * "trace-cmd start" leaves the same filters, and exits the same way,
 * with and without "ftidx exec": the drop-in keeps libtracefs's matching
 * and contract while ftidxd writes the indices.
 */
static void tracecmd_equivalence(void)
{
	static const char *const args[] = {
		"-l vfs_read",
		"-l vfs_read -l vfs_write -l ksys_read",
		"-l 'vfs_*'",
		"-l VFS_READ",                    /* libtracefs ignores case */
		"-l 'vfs_rea[dv]'",               /* a regular expression */
		"-l '*.isra.0'",                  /* '.' is a dot */
		"-l '*alloc*'",                   /* a substring */
		"-l '*_show'",
		"-l no_such_function_xyz",        /* matches nothing */
		"-l vfs_read -l no_such_fn -l vfs_write", /* found and missing */
		"-l 'vfs_*' -n vfs_read",
		"-l '*alloc*' -n 'kmalloc*' -n 'vmalloc*'",
	};
	size_t same = 0, n = sizeof(args) / sizeof(args[0]), written = 0, through = 0;

	if (system("trace-cmd reset >/dev/null 2>&1") != 0)
		printf("VM: info: trace-cmd reset failed\n");
	unlink("/tmp/tc.err");
	for (size_t i = 0; i < n; i++) {
		char cmd[512], *f1, *n1, *f2, *n2;
		int s1, s2;
		bool ok, ours;

		/* -P 1: only init's calls are traced meanwhile, so that a filter
		 * left empty (a name that matches nothing) does not make the
		 * tracer take every call of this guest */
		snprintf(cmd, sizeof(cmd), "trace-cmd start -p function -P 1 %s >/dev/null 2>&1",
			 args[i]);
		s1 = run_filtered(cmd, &f1, &n1, NULL);
		snprintf(cmd, sizeof(cmd),
			 "ftidx exec -- trace-cmd start -p function -P 1 %s >/dev/null "
			 "2>>/tmp/tc.err",
			 args[i]);
		s2 = run_filtered(cmd, &f2, &n2, &ours);
		ok = s1 == s2 && strcmp(f1, f2) == 0 && strcmp(n1, n2) == 0;
		same += ok;
		written += function_lines(f1) + function_lines(n1) > 0;
		through += ours;
		result(ok, "trace-cmd start -p function %s: exit %d and %d, filters %s%s", args[i], s1,
		       s2, strcmp(f1, f2) == 0 && strcmp(n1, n2) == 0 ? "byte-identical" : "DIFFERENT",
		       ours ? ", written by ftidxd" : "");
		free(f1);
		free(n1);
		free(f2);
		free(n2);
	}
	{
		size_t len;
		char *err = slurp("/tmp/tc.err", &len);

		/* every run that left a filter went through ftidxd, as its
		 * STATUS records say, and none was handed to libtracefs */
		result(through == written && written >= n / 2 && strstr(err, "using libtracefs") == NULL,
		       "trace-cmd's calls went through ftidxd: %zu of the %zu runs that left a filter "
		       "were written by it, none by libtracefs",
		       through, written);
		free(err);
	}
	printf("VM: trace-cmd through ftidx exec: %zu of %zu runs the same as without\n", same, n);
}

/* ---- addresses --------------------------------------------------------- */

/* ftidx list --addresses shows, line for line, what the kernel lists. */
static void addresses(void)
{
	size_t len, i = 0, same = 0;
	char *text = slurp(T "/available_filter_functions_addrs", &len), *save = NULL;
	struct ftidx_result *r = NULL;
	int rc = ftidx_list(conn(), FTIDX_LIST_WITH_ADDRESSES | FTIDX_LIST_WITH_PLACEHOLDERS, NULL,
			    &r);
	size_t n = r ? ftidx_result_count(r) : 0;

	if (rc < 0) {
		result(false, "list with addresses: %s", ftidx_error_message(conn()));
		free(text);
		return;
	}
	if (len == 0) {
		for (i = 0; i < n; i++)
			same += ftidx_result_address(r, i) == 0;
		result(n > 0 && same == n && n == aff_lines(),
		       "list --addresses: the kernel lists none, and neither does ftidx (%zu lines)",
		       n);
	} else {
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
			char *name;
			uint64_t a = strtoull(l, &name, 16);

			same += i < n && a != 0 && ftidx_result_address(r, i) == a &&
				ftidx_result_index(r, i) == i + 1 &&
				strcmp(name + 1, ftidx_result_line(r, i)) == 0;
		}
		result(same == n && i == n,
		       "list --addresses: %zu of %zu lines carry the kernel's own address", same, i);
	}
	ftidx_result_free(r);
	free(text);
}

/* ---- one name on several lines, counted per line by address ---------- */

#define NET_TYPE "/sys/class/net/lo/type"  /* net-sysfs.c's type_show */
#define TTY_TYPE "/sys/class/tty/ttyS0/type" /* serial_core.c's type_show */
#define NET_READS 200
#define TTY_READS 100

static void read_attribute(const char *path, int times)
{
	char buf[64];

	for (int i = 0; i < times; i++) {
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			_exit(3);
		/* one read: one show() */
		if (read(fd, buf, sizeof(buf)) <= 0)
			_exit(4);
		close(fd);
	}
}

#define JUDGE_INSTANCE T "/instances/vmjudge"

/* The line of available_filter_functions_addrs whose address is @ip, or
 * 0: each line's address is the kernel's record of that function. */
static uint32_t line_of_address(uint64_t ip)
{
	size_t len;
	char *text = slurp(T "/available_filter_functions_addrs", &len), *save = NULL;
	uint32_t i = 0, found = 0;

	for (char *l = strtok_r(text, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
		i++;
		if (strtoull(l, NULL, 16) == ip)
			found = i;
	}
	free(text);
	return found;
}

/*
 * Which of type_show's lines the kernel itself says @reads reads of
 * @attr call: its own function tracer in an instance of the judge's, with
 * each traced function's address printed (options/sym-addr), and that
 * address looked up in available_filter_functions_addrs. 0 when the
 * trace shows no single line. Nothing of ftidx's is asked.
 */
static uint32_t kernel_line_of_reads(const char *attr, int reads)
{
	uint32_t line = 0;
	uint64_t ip = 0;
	bool one = true;
	size_t len;
	char *trace, *p;
	pid_t pid;

	mkdir(JUDGE_INSTANCE, 0750);
	kwrite(JUDGE_INSTANCE "/set_ftrace_filter", "type_show\n", true);
	kwrite(JUDGE_INSTANCE "/options/sym-addr", "1\n", true);
	kwrite(JUDGE_INSTANCE "/trace", "", true);
	kwrite(JUDGE_INSTANCE "/current_tracer", "function\n", true);
	pid = fork();
	if (pid == 0) {
		read_attribute(attr, reads);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	/* stopped, not switched to nop yet: a change of tracer empties the
	 * buffer */
	kwrite(JUDGE_INSTANCE "/tracing_on", "0\n", true);
	trace = slurp(JUDGE_INSTANCE "/trace", &len);
	kwrite(JUDGE_INSTANCE "/current_tracer", "nop\n", true);
	/* "... type_show <ffffffff8123abc0> <-dev_attr_show <...>" */
	for (p = strstr(trace, "type_show <"); p; p = strstr(p + 1, "type_show <")) {
		uint64_t at = strtoull(p + strlen("type_show <"), NULL, 16);

		one &= !ip || at == ip;
		ip = at;
	}
	if (ip && one)
		line = line_of_address(ip);
	printf("VM: info: the kernel's own tracer: %d reads of %s call type_show at %#" PRIx64
	       "%s, line %u\n",
	       reads, attr, ip, one ? "" : " (and elsewhere)", line);
	if (!line) {
		char *first = strstr(trace, "type_show");

		printf("VM: info: its trace (%zu bytes) %s%.*s\n", len,
		       first ? "first shows: " : "shows no type_show: ",
		       first ? (int)strcspn(first, "\n") : 600, first ? first : trace);
	}
	free(trace);
	kclear(JUDGE_INSTANCE "/set_ftrace_filter");
	rmdir(JUDGE_INSTANCE);
	return line;
}

/*
 * type_show is a static function on many lines. Where the kernel lists
 * addresses, each recorded call is tied to its own line: the reads of two
 * different attributes come back as two lines with their exact counts.
 * Without addresses, the calls can only be counted by name, under index 0.
 */
static void hits_by_line(void)
{
	struct ftidx_status *st = NULL;
	struct ftidx_hits *h = NULL;
	uint32_t lines[64];
	size_t n_lines;
	bool addrs = false, tty = access(TTY_TYPE, R_OK) == 0;
	bool exact, own_lines = true, by_name = true;
	uint64_t total = 0;
	int status = -1, r;
	pid_t pid;

	if (ftidx_status(conn(), &st) == 0)
		addrs = st->has_addresses;
	ftidx_status_free(st);
	ftidx_set_batch("type_show", FTIDX_FILTER, NULL);
	kclear(T "/set_ftrace_notrace");
	n_lines = MIN(kernel_lines_named("type_show", lines, ARRAY_SIZE(lines)), ARRAY_SIZE(lines));
	pid = fork();
	if (pid == 0) {
		if (!wait_hits_tracing())
			_exit(2);
		read_attribute(NET_TYPE, NET_READS);
		if (tty)
			read_attribute(TTY_TYPE, TTY_READS);
		_exit(0);
	}
	r = ftidx_hits(conn(), NULL, 4, &h);
	waitpid(pid, &status, 0);
	if (r < 0 || !h || !n_lines) {
		result(false, "hits by line: %s", ftidx_error_message(conn()));
		goto out;
	}
	for (size_t i = 0; i < h->n; i++) {
		total += h->counts[i];
		printf("VM: info: hits by line: %" PRIu64 " calls, index %u, %s\n", h->counts[i],
		       h->indices[i], h->lines[i]);
	}
	exact = h->n == (tty ? 2u : 1u) && h->counts[0] == NET_READS &&
		(!tty || h->counts[1] == TTY_READS);
	for (size_t i = 0; i < h->n; i++) {
		bool known = false;

		for (size_t k = 0; k < n_lines; k++)
			known |= lines[k] == h->indices[i];
		own_lines &= known && h->indices[i] != 0 && strcmp(h->lines[i], "type_show") == 0;
		by_name &= h->indices[i] == 0 && strcmp(h->lines[i], "type_show") == 0;
	}
	if (addrs) {
		/* each count on the line the kernel's own tracer says those
		 * reads call: the lines swapped would not do */
		uint32_t net_line = kernel_line_of_reads(NET_TYPE, 3);
		uint32_t tty_line = tty ? kernel_line_of_reads(TTY_TYPE, 3) : 0;
		bool tied = exact && net_line && h->indices[0] == net_line &&
			    (!tty || (tty_line && h->indices[1] == tty_line));

		result(WIFEXITED(status) && WEXITSTATUS(status) == 0 && exact && own_lines &&
			       (h->n < 2 || h->indices[0] != h->indices[1]),
		       "hits: type_show on %zu lines, counted per line by address: %d and %d calls "
		       "on lines of their own",
		       n_lines, NET_READS, tty ? TTY_READS : 0);
		result(tied,
		       "hits: the %d calls are on line %u and the %d on line %u, as the kernel's own "
		       "tracer says (lines %u and %u)",
		       NET_READS, exact ? h->indices[0] : 0, tty ? TTY_READS : 0,
		       exact && tty ? h->indices[1] : 0, net_line, tty_line);
	} else
		/* kallsyms tells the functions apart, but not which line is whose */
		result(WIFEXITED(status) && WEXITSTATUS(status) == 0 && exact && by_name,
		       "hits: without addresses, type_show's %" PRIu64 " calls are counted per "
		       "function, under index 0",
		       total);
out:
	ftidx_hits_free(h);
	kclear(T "/set_ftrace_filter");
}

/* How the running kernel lists its functions: the figures of docs/figures.md's
 * kernel table. */
static void kernel_shape(void)
{
	struct ftidx_status *st = NULL;
	struct utsname u;

	uname(&u);
	if (ftidx_status(conn(), &st) < 0) {
		result(false, "status for the kernel's shape");
		return;
	}
	printf("VM-SHAPE: %s %s: %u lines, %u placeholders, %s\n", u.release, u.machine,
	       st->entries, st->placeholders,
	       access(T "/available_filter_functions_addrs", F_OK) == 0
		       ? "with available_filter_functions_addrs"
		       : "without available_filter_functions_addrs");
	ftidx_status_free(st);
}

/*
 * The judge alone, for a second architecture, whose guest TCG runs
 * slower: every pattern on set_ftrace_filter, set_ftrace_notrace and an
 * instance; placeholders refused where the kernel lists them (and
 * said when it lists none); modules loaded and unloaded followed; churn;
 * hit counts.
 */
int run_judge(unsigned churn_requests, unsigned churn_s)
{
	kernel_shape();
	match_rules();
	modules();
	reads_follow_modules();
	churn("churn", CHURN_ANY, churn_requests, churn_s);
	placeholders();
	hit_counts();
	hits_by_line();
	if (system("insmod /modules/loop.ko; insmod /modules/dummy.ko; insmod /modules/fat.ko; "
		   "insmod /modules/vfat.ko") != 0)
		result(false, "loading modules for the equivalence test");
	mkdir(T "/instances/" INSTANCE, 0750);
	equivalence("filter", T "/set_ftrace_filter", FTIDX_FILTER, NULL, 1000);
	equivalence("notrace", T "/set_ftrace_notrace", FTIDX_NOTRACE, NULL, 1000);
	equivalence("instance", T "/instances/" INSTANCE "/set_ftrace_filter", FTIDX_FILTER, INSTANCE,
		    1000);
	rmdir(T "/instances/" INSTANCE);
	return 0;
}

int run_tests(unsigned churn_requests, unsigned churn_s, unsigned crash_runs)
{
	kernel_shape();
	stall_start();
	stall_phase("match rules, modules");
	match_rules();
	modules();
	reads_follow_modules();
	stall_phase("uevents, other writers");
	uevents();
	other_writer();
	stall_phase("churn (module loads)");
	churn("churn", CHURN_ANY, churn_requests, churn_s);
	if (system("insmod /modules/loop.ko; insmod /modules/dummy.ko") != 0)
		result(false, "loading loop and dummy for the swap churn");
	/* every swap makes the daemon re-read its map: a shorter run, 10 s,
	 * at least 50 requests */
	stall_phase("swap churn");
	churn("swap churn", CHURN_SWAP, 50, 10);
	stall_phase("placeholders, half-failing");
	placeholders();
	half_failing();
	stall_phase("hit counts");
	hit_counts();
	hits_by_line();
	hits_not_self();
	hits_latency();
	stall_phase("addresses, libftidx 0.3");
	addresses();
	tool_api();
	stall_phase("shared filter files");
	sharing();
	stall_phase("trace-cmd");
	tracecmd_equivalence();
	/* (6.12 leaves them out: FTIDX_VM_WRITERS=0, run.sh) */
	if (!getenv("FTIDX_VM_WRITERS") || strcmp(getenv("FTIDX_VM_WRITERS"), "0") != 0) {
		stall_phase("writers of the filter files");
		writers();
	}
	stall_phase("tools that read the function list");
	list_readers();
	if (system("insmod /modules/loop.ko; insmod /modules/dummy.ko; insmod /modules/fat.ko; "
		   "insmod /modules/vfat.ko") != 0)
		result(false, "loading modules for the equivalence test");
	mkdir(T "/instances/" INSTANCE, 0750);
	stall_phase("equivalence (writes)");
	equivalence("filter", T "/set_ftrace_filter", FTIDX_FILTER, NULL, 1000);
	equivalence("notrace", T "/set_ftrace_notrace", FTIDX_NOTRACE, NULL, 1000);
	equivalence("instance", T "/instances/" INSTANCE "/set_ftrace_filter", FTIDX_FILTER, INSTANCE,
		    1000);
	/* set_graph_function takes names, which ftidx writes for it: the first
	 * patterns (no ":mod:", which the graph files do not parse) */
	equivalence("graph", T "/set_graph_function", FTIDX_GRAPH, NULL, 14);
	rmdir(T "/instances/" INSTANCE);
	stall_phase("large writes, status after them");
	large_writes();
	/* last: it kills and restarts the daemon */
	stall_phase("crash safety (restarts)");
	crash_safety(crash_runs);
	stall_report();
	return 0;
}
