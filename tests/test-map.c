/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The map on the real fixtures: line, placeholder, duplicate and module
 * counts, the module shift after rmmod, loading through a tracing
 * directory, the torn-read guard, a load cancelled mid-read and the
 * addresses file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-tracefs.h"
#include "map.h"
#include "fixture-map.h"
#include "testlib.h"
#include "tracing.h"

static const char *fixtures;

static struct map *load_fixture(const char *name)
{
	return fixture_map(fixtures, name);
}

static uint32_t count_name(const struct map *m, const char *name)
{
	uint32_t n = 0;

	for (uint32_t pos = map_sorted_lower_bound(m, name, strlen(name));
	     pos < map_sorted_count(m) && strcmp(map_name(m, map_sorted_at(m, pos)), name) == 0;
	     pos++)
		n++;
	return n;
}

static uint32_t find_in_module(const struct map *m, const char *name, const char *module)
{
	for (uint32_t i = 1; i <= map_size(m); i++)
		if (strcmp(map_name(m, i), name) == 0 && map_module(m, i) &&
		    strcmp(map_module(m, i), module) == 0)
			return i;
	return 0;
}

static void test_base(void)
{
	struct map *m = load_fixture("debian-6.1-base.txt");
	struct map_stats st;
	uint32_t prev;

	map_get_stats(m, &st);
	CHECK_EQ_INT(st.entries, 38252);
	CHECK_EQ_INT(map_size(m), 38252);
	CHECK_EQ_INT(st.placeholders, 597);
	CHECK_EQ_INT(st.modules, 0);
	CHECK_EQ_INT(st.module_entries, 0);
	CHECK_EQ_INT(map_sorted_count(m), 38252 - 597);
	CHECK(st.distinct_names > 30000 && st.distinct_names < 38252 - 597);
	CHECK_EQ_STR(map_name(m, 1), "__traceiter_initcall_level");
	CHECK(map_module(m, 1) == NULL);
	CHECK_EQ_INT(count_name(m, "type_show"), 17);
	CHECK_EQ_INT(count_name(m, "__ftrace_invalid_address___32"), 0); /* not resolvable */

	/* placeholders keep their line: count them by index */
	{
		uint32_t n32 = 0, n = 0;

		for (uint32_t i = 1; i <= map_size(m); i++) {
			n += map_is_placeholder(m, i);
			n32 += strcmp(map_name(m, i), "__ftrace_invalid_address___32") == 0;
		}
		CHECK_EQ_INT(n, 597);
		CHECK_EQ_INT(n32, 34);
	}

	/* the sorted view is sorted by name, then index */
	prev = map_sorted_at(m, 0);
	for (uint32_t pos = 1; pos < map_sorted_count(m); pos++) {
		uint32_t cur = map_sorted_at(m, pos);
		int c = strcmp(map_name(m, prev), map_name(m, cur));

		if (c > 0 || (c == 0 && prev >= cur)) {
			CHECK(!"sorted view out of order");
			break;
		}
		prev = cur;
	}
	/* bytes per entry beyond the names: target at most 64 */
	CHECK((st.bytes - st.text_bytes) / st.entries <= 64);
	map_free(m);
}

/*
 * A guest shaped like users' machines (tests/vm/run.sh many, 6.1 with 302
 * modules): 38,228 of its lines are modules', and 16 of those are
 * placeholders, all in kvm's block. A placeholder keeps its line and its
 * module there too, and is never a name to resolve.
 */
static void test_many_modules(void)
{
	struct map *m = load_fixture("debian-6.1-many.txt");
	struct map_stats st;
	uint32_t in_modules = 0, first = 0;

	map_get_stats(m, &st);
	CHECK_EQ_INT(st.entries, 76480);
	CHECK_EQ_INT(st.module_entries, 38228);
	CHECK_EQ_INT(st.modules, 302);
	CHECK_EQ_INT(st.placeholders, 613);
	for (uint32_t i = 1; i <= map_size(m); i++)
		if (map_is_placeholder(m, i) && map_module(m, i)) {
			in_modules++;
			first = first ? first : i;
			CHECK_EQ_STR(map_module(m, i), "kvm");
		}
	CHECK_EQ_INT(in_modules, 16);
	CHECK_EQ_INT(first, 75240);
	CHECK_EQ_STR(map_name(m, first), "__ftrace_invalid_address___288");
	CHECK_EQ_INT(map_sorted_count(m), 76480 - 613);
	CHECK_EQ_INT(count_name(m, "__ftrace_invalid_address___288"), 0);
	/* the lines on either side are kvm's own functions */
	CHECK(map_module(m, first - 1) && strcmp(map_module(m, first - 1), "kvm") == 0 &&
	      !map_is_placeholder(m, first - 1));
	map_free(m);
}

static void test_module_shift(void)
{
	struct map *both = load_fixture("debian-6.1-loop-dummy.txt");
	struct map *dummy = load_fixture("debian-6.1-dummy-only.txt");
	struct map *base = load_fixture("debian-6.1-base.txt");
	struct map_stats st;
	uint32_t a, b;

	map_get_stats(both, &st);
	CHECK_EQ_INT(st.entries, 38303);
	CHECK_EQ_INT(st.modules, 2);
	CHECK_EQ_INT(st.module_entries, 51);
	CHECK_EQ_STR(map_module_name(both, 0), "loop");
	CHECK_EQ_STR(map_module_name(both, 1), "dummy");
	CHECK_EQ_STR(map_module(both, 38253), "loop");
	CHECK_EQ_STR(map_name(both, 38253), "max_loop_param_set_int");

	map_get_stats(dummy, &st);
	CHECK_EQ_INT(st.entries, 38261);
	CHECK_EQ_INT(st.modules, 1);
	CHECK_EQ_INT(st.module_entries, 9);

	/* the core prefix is the same in all three */
	for (uint32_t i = 1; i <= 38252; i++) {
		if (strcmp(map_name(base, i), map_name(both, i)) != 0 ||
		    strcmp(map_name(base, i), map_name(dummy, i)) != 0) {
			CHECK(!"core prefix differs");
			break;
		}
	}

	/* after rmmod loop, dummy's lines moved down by loop's 42 */
	a = find_in_module(both, "dummy_xmit", "dummy");
	b = find_in_module(dummy, "dummy_xmit", "dummy");
	CHECK(a > 38252 + 42);
	CHECK_EQ_INT(a - b, 42);
	/* the index that was dummy_xmit now points elsewhere or past the end */
	CHECK(a > map_size(dummy) || strcmp(map_name(dummy, a), "dummy_xmit") != 0);

	map_free(both);
	map_free(dummy);
	map_free(base);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"ok\n\nnext\n",          /* empty line */
		"name [mod\n",           /* module not closed */
		"name []\n",             /* empty module */
		"name [mod] junk\n",     /* junk after module */
		"name junk\n",           /* not a module */
	};
	struct map *m = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(map_new_from_buffer(&m, strdup(bad[i]), strlen(bad[i]), false), -EBADMSG);

	/* a last line without newline is still a line */
	CHECK_EQ_INT(map_new_from_buffer(&m, strdup("a\nb [m]"), 7, false), 0);
	CHECK_EQ_INT(map_size(m), 2);
	CHECK_EQ_STR(map_module(m, 2), "m");
	m = map_free(m);

	CHECK_EQ_INT(map_new_from_buffer(&m, strdup(""), 0, false), 0);
	CHECK_EQ_INT(map_size(m), 0);
	CHECK_EQ_INT(map_sorted_lower_bound(m, "x", 1), 0);
	m = map_free(m);

	/* addresses: "ADDR NAME [module]" */
	{
		const char *text = "ffffffff81000000 a\nffffffffc0001000 b [m]\n";

		CHECK_EQ_INT(map_new_from_buffer(&m, strdup(text), strlen(text), true), 0);
	}
	CHECK_EQ_INT(map_size(m), 2);
	CHECK(map_address(m, 1) == 0xffffffff81000000ull);
	CHECK(map_address(m, 2) == 0xffffffffc0001000ull);
	CHECK_EQ_STR(map_name(m, 2), "b");
	m = map_free(m);
	CHECK_EQ_INT(map_new_from_buffer(&m, strdup("xyz a\n"), 6, true), -EBADMSG);
	CHECK_EQ_INT(map_new_from_buffer(&m, strdup("ffff\n"), 5, true), -EBADMSG);
}

static void test_load(void)
{
	char dir[] = "/tmp/ftidx-test-map-XXXXXX";
	char path[4096];
	struct map *m = NULL;
	size_t len;
	char *data;

	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", fixtures);
	data = test_read_file(path, &len);
	fake_tracefs_new(dir, data, len);
	CHECK_EQ_INT(tracing_init(dir), 0);

	CHECK_EQ_INT(map_load(&m, NULL), 0);
	CHECK(m && map_size(m) == 38303);
	m = map_free(m);

	/* a record count that disagrees with the lines read: a torn read */
	fake_write(dir, "dyn_ftrace_total_info", "38252 pages:152 groups: 3\n", 26);
	CHECK_EQ_INT(map_load(&m, NULL), -EAGAIN);
	CHECK(m == NULL);
	fake_write(dir, "dyn_ftrace_total_info", "garbage\n", 8);
	CHECK_EQ_INT(map_load(&m, NULL), -EBADMSG);

	/* with the 6.5+ addresses file, that one is read */
	fake_write(dir, "dyn_ftrace_total_info", "2 pages:1 groups: 1\n", 20);
	fake_write(dir, "available_filter_functions_addrs",
		   "ffffffff81000010 first\nffffffffc0000020 second [mod]\n", 53);
	CHECK_EQ_INT(map_load(&m, NULL), 0);
	CHECK(m && map_size(m) == 2 && map_address(m, 2) == 0xffffffffc0000020ull);
	map_free(m);

	fake_tracefs_remove(dir);
	CHECK_EQ_INT(tracing_init("/nonexistent/ftidx"), -ENOENT);
	free(data);
}

/* The kernel's list through a FIFO: its first 256 KiB, then the cancel,
 * then the rest. */
struct feeder {
	char path[4096];
	const char *data;
	size_t len;
	atomic_bool cancel;
	bool rest_taken; /* the reader read the file to its end */
};

static void *feed(void *ctx)
{
	struct feeder *f = ctx;
	int fd = open(f->path, O_WRONLY);
	size_t first = 256u << 10;
	bool ok = fd >= 0 && write(fd, f->data, first) == (ssize_t)first;

	/* the reader has taken what came so far, and asks for more; it
	 * stops reading once it sees the cancel, so the rest cannot all go
	 * (EPIPE, SIGPIPE ignored) */
	usleep(100 * 1000);
	atomic_store(&f->cancel, true);
	if (ok)
		f->rest_taken = write(fd, f->data + first, f->len - first) ==
				(ssize_t)(f->len - first);
	if (fd >= 0)
		close(fd);
	return ok ? NULL : f;
}

/* A module change while the list is read makes the read worthless: the
 * load gives up as soon as it is told, in the middle of the file, and
 * not after reading it to the end. */
static void test_load_cancelled(void)
{
	char dir[] = "/tmp/ftidx-test-map-XXXXXX";
	char path[4096];
	struct feeder f = { .cancel = false };
	struct map *m = NULL;
	pthread_t thread;
	void *failed = NULL;
	size_t len;
	char *data;

	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "%s/debian-6.1-base.txt", fixtures);
	data = test_read_file(path, &len);
	fake_tracefs_new(dir, data, len);
	CHECK_EQ_INT(tracing_init(dir), 0);
	snprintf(f.path, sizeof(f.path), "%s/available_filter_functions", dir);
	f.data = data;
	f.len = len;
	unlink(f.path);
	CHECK_EQ_INT(mkfifo(f.path, 0600), 0);
	CHECK_EQ_INT(pthread_create(&thread, NULL, feed, &f), 0);
	CHECK_EQ_INT(map_load(&m, &f.cancel), -ECANCELED);
	CHECK(m == NULL);
	CHECK_EQ_INT(pthread_join(thread, &failed), 0);
	CHECK(failed == NULL);
	CHECK(!f.rest_taken);

	/* told before it begins: nothing is read */
	unlink(f.path);
	fake_write(dir, "available_filter_functions", data, len);
	CHECK_EQ_INT(map_load(&m, &f.cancel), -ECANCELED);
	atomic_store(&f.cancel, false);
	CHECK_EQ_INT(map_load(&m, &f.cancel), 0);
	CHECK(m && map_size(m) == 38252);
	map_free(m);
	fake_tracefs_remove(dir);
	free(data);
}

int main(int argc, char **argv)
{
	fixtures = argc > 1 ? argv[1] : "tests/fixtures";
	test_base();
	test_module_shift();
	test_malformed();
	test_load();
	test_load_cancelled();
	test_many_modules();
	return test_finish("test-map");
}
