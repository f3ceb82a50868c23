/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The resolver against an independent reference, on every fixture.
 *
 * The reference shares no code with the daemon: it reads the fixture with
 * stdio, matches function and module parts with fnmatch(3), and spells out
 * the kernel's rules itself (placeholders never match a name, an empty
 * function part with ":mod:" means every function, an empty module means
 * "in some module", "!" before it means "in no module", tokens apply in
 * order). Both must agree on every set and every per-token count.
 *
 * fnmatch(3) never lets a class match the end of a name, which is what
 * newer kernels do (GLOB_CLASS_END_STOPS), so the differential runs under
 * those rules; 6.1's own rule (a negated class takes the NUL) is checked
 * against the counts the 6.1 kernel gave.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <string.h>

#include "fixture-map.h"
#include "macro.h"
#include "map.h"
#include "resolve.h"
#include "testlib.h"

struct ref_line {
	char name[600];
	char module[128]; /* "" for the core kernel */
};

struct ref {
	struct ref_line *lines;
	size_t n;
};

static const char *fixtures;

static const struct glob_rules newer = { GLOB_CLASS_END_STOPS };
static const struct glob_rules v6_1 = { GLOB_CLASS_END_TAKES_NUL };
static const struct glob_rules unknown = { GLOB_CLASS_END_UNKNOWN };

static void ref_load(struct ref *ref, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t cap = 0;

	ref->lines = NULL;
	ref->n = 0;
	if (!f)
		exit(1);
	while (fgets(line, sizeof(line), f)) {
		struct ref_line *l;

		if (ref->n == cap) {
			cap = cap ? cap * 2 : 4096;
			ref->lines = realloc(ref->lines, sizeof(*ref->lines) * cap);
			if (!ref->lines)
				exit(1);
		}
		l = &ref->lines[ref->n++];
		l->module[0] = '\0';
		if (sscanf(line, "%599s [%127[^]]]", l->name, l->module) < 1)
			exit(1);
	}
	fclose(f);
}

static bool ref_placeholder(const struct ref_line *l)
{
	return strncmp(l->name, "__ftrace_invalid_address___", 27) == 0;
}

static bool ref_line_matches(const struct ref_line *l, const char *func, const char *module)
{
	if (ref_placeholder(l))
		return false;
	if (module) {
		bool exclude = module[0] == '!';
		const char *mpat = module + exclude;
		bool in_module = l->module[0] != '\0';

		if (mpat[0] == '\0' || strcmp(mpat, "*") == 0) {
			if (in_module == exclude)
				return false;
		} else if ((in_module && fnmatch(mpat, l->module, 0) == 0) == exclude) {
			return false;
		}
		if (func[0] == '\0' || strcmp(func, "*") == 0)
			return true;
	}
	return fnmatch(func, l->name, 0) == 0;
}

/* Apply one token; returns how many lines it matched. */
static size_t ref_apply(const struct ref *ref, const char *token, signed char *state)
{
	char buf[1100];
	bool remove = token[0] == '!';
	char *module = NULL, *sep;
	size_t matched = 0;

	snprintf(buf, sizeof(buf), "%s", token + remove);
	sep = strstr(buf, ":mod:");
	if (sep) {
		*sep = '\0';
		module = sep + 5;
	}
	if (isdigit((unsigned char)buf[0])) {
		size_t idx = strtoul(buf, NULL, 10);

		if (idx < 1 || idx > ref->n || ref_placeholder(&ref->lines[idx - 1]))
			return 0;
		state[idx - 1] = remove ? -1 : 1;
		return 1;
	}
	for (size_t i = 0; i < ref->n; i++) {
		if (ref_line_matches(&ref->lines[i], buf, module)) {
			state[i] = remove ? -1 : 1;
			matched++;
		}
	}
	return matched;
}

/* The tokens, covering every class the resolver knows. Fixture names. */
static const char *const single[] = {
	"vfs_read",                 /* full */
	"type_show",                /* full, 17 static copies */
	"schedule",                 /* full */
	"vfs_*",                    /* prefix */
	"__x64_sys_*",              /* prefix */
	"loop_*",                   /* prefix, module lines on some fixtures */
	"dummy*",                   /* prefix, core and module */
	"*_show",                   /* suffix */
	"*.isra.0",                 /* suffix with dots */
	"*alloc*",                  /* substring */
	"*_rw_*",                   /* substring */
	"*",                        /* everything but placeholders */
	"**",                       /* substring of "" */
	"vfs_rea?",                 /* ? */
	"vfs_[rw]*",                /* class */
	"[!a-y]*",                  /* negated class */
	"*_[0-9]",                  /* class at the end */
	"security_*_inode",         /* star in the middle */
	"*lo?_*",                   /* leading star then ? */
	"??_??",                    /* only ? */
	"vfs\\_read",               /* backslash escape */
	"*cpu*idle*",               /* two substrings */
	"lo_*:mod:loop",            /* prefix in a module */
	":mod:loop",                /* every function of a module */
	"*:mod:dummy",              /* the same, spelled with * */
	"dummy*:mod:dummy",         /* prefix within the module */
	"dummy*:mod:!dummy",        /* prefix outside the module */
	"*:mod:!loop",              /* everything but loop */
	"dummy_xmit:mod:dummy",     /* full name in a module */
	"*do_show*:mod:lo*",        /* module given as a prefix */
	"*:mod:*",                  /* every module function */
	"*_init:mod:",              /* empty module: in some module */
	"dummy*:mod:!",             /* "!" empty module: core only */
	"*:mod:[dl]*",              /* module class */
	"*:mod:nosuchmod",          /* matches nothing */
	"no_such_function_xyz",     /* matches nothing */
	"1",                        /* the first line */
	"38252",                    /* the last core line */
	"38253",                    /* the first module line, when loaded */
	"41",                       /* an index somewhere */
	"*[!a-z0-9_.]*",            /* negated class at the end (rule-dependent) */
	"*[!a-z_]*",                /* the same, wider */
	"*_[!0-9]",                 /* negated class that may meet the end */
	"x*[!a-z]",                 /* ... after a star */
	/* many modules (debian-6.1-many.txt) */
	"*:mod:kvm",                /* a module with placeholders in its block */
	":mod:!kvm",                /* every core function */
	"*:mod:ext4",               /* a file system's every function */
	"nf_*",                     /* across several modules */
	"*_init:mod:nf*",           /* ...of modules a prefix names */
	"offset_show",              /* in vmlinux and in md_mod */
	"offset_show:mod:md_mod",   /* ...only md_mod's */
	"75240",                    /* kvm's first placeholder there: refused */
};

/* Ordered batches: removals after adds, adds after removals, repeats. */
static const char *const batch_a[] = { "vfs_*", "!vfs_read", "type_show", "!*_show:mod:loop" };
static const char *const batch_b[] = { "!vfs_read", "vfs_*", "vfs_read", "!vfs_write" };
static const char *const batch_c[] = { ":mod:loop", "!lo_*", "dummy*", "!:mod:!dummy", "100", "!100", "100" };
static const char *const batch_d[] = { "*", "!*alloc*", "!*free*", "kmalloc" };

static bool same_sets(const struct ref *ref, const signed char *state, const struct resolution *res)
{
	size_t ie = 0, id = 0;

	for (size_t i = 0; i < ref->n; i++) {
		uint32_t idx = (uint32_t)i + 1;

		if (state[i] == 1) {
			if (ie >= res->n_enable || res->enable[ie++] != idx)
				return false;
		} else if (state[i] == -1) {
			if (id >= res->n_disable || res->disable[id++] != idx)
				return false;
		}
	}
	return ie == res->n_enable && id == res->n_disable;
}

static void compare(const struct map *m, const struct ref *ref, const char *const *tokens, size_t n,
		    const char *fixture)
{
	signed char *state = calloc(ref->n, 1);
	struct resolution res;
	bool agree = true;

	CHECK_EQ_INT(resolve_batch(m, &newer, tokens, n, &res), 0);
	for (size_t i = 0; i < n; i++) {
		size_t want = ref_apply(ref, tokens[i], state);

		if (res.items[i].matches != want || (want == 0) != (res.items[i].status < 0)) {
			fprintf(stderr, "%s: '%s': resolver %u (status %d), reference %zu\n", fixture,
				tokens[i], res.items[i].matches, res.items[i].status, want);
			agree = false;
		}
	}
	if (!same_sets(ref, state, &res)) {
		fprintf(stderr, "%s: sets differ for batch starting '%s'\n", fixture, tokens[0]);
		agree = false;
	}
	CHECK(agree);
	resolution_deinit(&res);
	free(state);
}

/*
 * The same through the resolver a slice at a time, stopped at every point
 * it may stop (a deadline always past), with per-token sets or without:
 * the items, the sets and each token's own matches must be the
 * reference's, and a batch that scans must have been cut into slices.
 */
static void compare_sliced(const struct map *m, const struct ref *ref, const char *const *tokens,
			   size_t n, bool per_token, const char *fixture)
{
	signed char *state = calloc(ref->n, 1);
	struct resolver *rs = NULL;
	struct resolution res;
	size_t slices = 1;
	bool agree = true;
	int r;

	CHECK_EQ_INT(resolver_new(&rs, m, &newer, tokens, n, per_token ? 1u << 24 : 0), 0);
	while ((r = resolver_run(rs, 1)) == RESOLVE_MORE)
		slices++;
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(resolver_finish(rs, &res), 0);
	/* a scan stops every few thousand lines once its deadline is past */
	if (resolver_lines_scanned(rs) >= map_size(m))
		CHECK(slices > resolver_lines_scanned(rs) / map_size(m));
	for (size_t i = 0; i < n; i++) {
		signed char *own = calloc(ref->n, 1);
		size_t want = ref_apply(ref, tokens[i], state), k;

		ref_apply(ref, tokens[i], own);
		if (res.items[i].matches != want || (want == 0) != (res.items[i].status < 0))
			agree = false;
		for (size_t l = 0, at = per_token ? res.token_set_start[i] : 0; per_token && l < ref->n;
		     l++) {
			if (!own[l])
				continue;
			k = at++;
			if (k >= res.token_set_start[i + 1] || res.token_sets[k] != l + 1)
				agree = false;
		}
		if (per_token && res.token_set_start[i + 1] - res.token_set_start[i] != want)
			agree = false;
		if (!agree) {
			fprintf(stderr, "%s: '%s' (token %zu) differs sliced%s\n", fixture, tokens[i], i,
				per_token ? ", per token" : "");
			free(own);
			break;
		}
		free(own);
	}
	if (!same_sets(ref, state, &res)) {
		fprintf(stderr, "%s: sliced sets differ for batch starting '%s'\n", fixture, tokens[0]);
		agree = false;
	}
	CHECK(agree);
	resolution_deinit(&res);
	resolver_free(rs);
	free(state);
}

/* Repeats of costly tokens, with what lies between them mattering. */
static const char *const repeats[] = {
	"*alloc*", "!kmalloc", "*alloc*",    /* the last one re-enables kmalloc */
	"!*_show", "type_show", "!*_show",   /* and takes type_show out again */
	"vfs_*", "!vfs_read", "vfs_*", "!vfs_read", "vfs_*:mod:!", "vfs_*",
	"*", "!*", "*", ":mod:loop", "!:mod:loop", ":mod:loop", "vfs_read", "vfs_read",
	"nosuch*", "x*[!a-z]", "nosuch*", "x*[!a-z]",
};

static void differential(const char *fixture, size_t min_matching)
{
	char path[4096];
	struct map *m = NULL;
	struct ref ref;
	size_t len, total = 0;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", fixtures, fixture);
	ref_load(&ref, path);
	buf = test_read_file(path, &len);
	CHECK_EQ_INT(map_new_from_buffer(&m, buf, len, false), 0);
	CHECK_EQ_INT(map_size(m), ref.n);

	for (size_t i = 0; i < ARRAY_SIZE(single); i++)
		compare(m, &ref, &single[i], 1, fixture);
	for (size_t i = 0; i < ARRAY_SIZE(single); i++)
		compare(m, &ref, &single[i], 1, fixture);
	compare(m, &ref, single, ARRAY_SIZE(single), fixture);
	compare(m, &ref, batch_a, ARRAY_SIZE(batch_a), fixture);
	compare(m, &ref, batch_b, ARRAY_SIZE(batch_b), fixture);
	compare(m, &ref, batch_c, ARRAY_SIZE(batch_c), fixture);
	compare(m, &ref, batch_d, ARRAY_SIZE(batch_d), fixture);
	compare(m, &ref, repeats, ARRAY_SIZE(repeats), fixture);
	for (int per_token = 0; per_token < 2; per_token++) {
		compare_sliced(m, &ref, single, ARRAY_SIZE(single), per_token, fixture);
		compare_sliced(m, &ref, batch_c, ARRAY_SIZE(batch_c), per_token, fixture);
		compare_sliced(m, &ref, repeats, ARRAY_SIZE(repeats), per_token, fixture);
	}

	/* the differential must not be vacuous: most tokens match something */
	for (size_t i = 0; i < ARRAY_SIZE(single); i++) {
		signed char *state = calloc(ref.n, 1);

		if (ref_apply(&ref, single[i], state) > 0)
			total++;
		else
			printf("%s: '%s' matches nothing\n", fixture, single[i]);
		free(state);
	}
	CHECK(total >= min_matching);
	printf("%s: %zu tokens, %zu match something\n", fixture, ARRAY_SIZE(single), total);

	map_free(m);
	free(ref.lines);
}

static void check_item_under(const struct glob_rules *rules, const struct map *m,
			     const char *token, int status, uint32_t matches)
{
	struct resolution res;

	CHECK_EQ_INT(resolve_batch(m, rules, &token, 1, &res), 0);
	if (res.items[0].status != status || res.items[0].matches != matches)
		fprintf(stderr, "token '%s'\n", token);
	CHECK_EQ_INT(res.items[0].status, status);
	CHECK_EQ_INT(res.items[0].matches, matches);
	CHECK_EQ_INT(res.n_failed, status < 0);
	if (status < 0)
		CHECK(res.items[0].why != NULL);
	resolution_deinit(&res);
}

/* The fixtures come from 6.1: its rules unless a test says otherwise. */
static void check_item(const struct map *m, const char *token, int status, uint32_t matches)
{
	check_item_under(&v6_1, m, token, status, matches);
}

/* How many lines of @m a glob matches under @rules, or -errno. */
static long count_under(const struct glob_rules *rules, const struct map *m, const char *token)
{
	struct resolution res;
	long n;

	CHECK_EQ_INT(resolve_batch(m, rules, &token, 1, &res), 0);
	n = res.items[0].status < 0 ? res.items[0].status : (long)res.items[0].matches;
	resolution_deinit(&res);
	return n;
}

/*
 * The one rule that differs between kernels, applied under each rule set.
 * 6.1 enabled every function for "*[!a-z0-9_.]*"; newer kernels enable
 * only the names with some other character, and ftidx must not mix them
 * up either way.
 */
static void rule_sets(void)
{
	struct map *m = fixture_map(fixtures, "debian-6.1-base.txt");
	long all = 38252 - 597, odd = 0;

	for (uint32_t i = 1; i <= map_size(m); i++)
		odd += !map_is_placeholder(m, i) &&
		       strspn(map_name(m, i), "abcdefghijklmnopqrstuvwxyz0123456789_.") <
			       map_name_len(m, i);
	CHECK(odd > 0 && odd < all);
	CHECK_EQ_INT(count_under(&v6_1, m, "*[!a-z0-9_.]*"), all);
	CHECK_EQ_INT(count_under(&newer, m, "*[!a-z0-9_.]*"), odd);
	CHECK_EQ_INT(count_under(&unknown, m, "*[!a-z0-9_.]*"), -EINVAL);
	/* the class meets the end with more pattern left: 6.1 reads past the
	 * name, so ftidx refuses there; newer kernels simply do not match */
	CHECK_EQ_INT(count_under(&v6_1, m, "*[!a-z0-9_.]"), -EINVAL);
	CHECK(count_under(&newer, m, "*[!a-z0-9_.]") > 0);
	/* where no class meets the end, every rule set agrees */
	CHECK_EQ_INT(count_under(&v6_1, m, "vfs_[!a-q]*"), count_under(&newer, m, "vfs_[!a-q]*"));
	CHECK_EQ_INT(count_under(&unknown, m, "vfs_[!a-q]*"), count_under(&newer, m, "vfs_[!a-q]*"));
	printf("rule sets: '*[!a-z0-9_.]*' matches %ld lines on 6.1's rules, %ld on newer\n", all,
	       odd);
	map_free(m);
}

/* Placeholders inside a module's block (kvm's, on 6.1 with many modules
 * loaded): refused by index and by name, never in a module's pattern. */
static void module_placeholders(void)
{
	struct map *m = fixture_map(fixtures, "debian-6.1-many.txt");

	check_item(m, "75240", -EPERM, 0);
	check_item(m, "75239", 0, 1);
	check_item(m, "__ftrace_invalid_address___288", -EPERM, 0);
	check_item(m, "__ftrace_invalid_address___288:mod:kvm", -EPERM, 0);
	check_item(m, "*:mod:kvm", 0, 1323 - 16);
	check_item(m, "*", 0, 76480 - 613);
	map_free(m);
}

static void bad_input(void)
{
	struct map *m = NULL;
	uint32_t placeholder = 0;
	char token[32];

	m = fixture_map(fixtures, "debian-6.1-base.txt");
	for (uint32_t i = 1; i <= map_size(m) && !placeholder; i++)
		if (map_is_placeholder(m, i))
			placeholder = i;
	CHECK(placeholder > 0);

	check_item(m, "type_show", 0, 17);
	check_item(m, "", -EINVAL, 0);
	check_item(m, "0", -ERANGE, 0);
	check_item(m, "38253", -ERANGE, 0);
	check_item(m, "4294967295", -ERANGE, 0);
	check_item(m, "010", -EINVAL, 0);
	check_item(m, "0x10", -EINVAL, 0);
	check_item(m, "__ftrace_invalid_address___32", -EPERM, 0);
	check_item(m, "__ftrace_invalid*", -ENOENT, 0);
	snprintf(token, sizeof(token), "%u", placeholder);
	check_item(m, token, -EPERM, 0);
	check_item(m, "foo:mod", -EINVAL, 0);
	check_item(m, "foo:mod:a:b", -EINVAL, 0);
	check_item(m, "5:mod:loop", -EINVAL, 0);
	check_item(m, "vfs_read:mod:loop", -ENOENT, 0);
	/* the kernel's negated-class quirk: every name matches (see glob.c) */
	check_item(m, "*[!a-z0-9_.]*", 0, 38252 - 597);
	check_item(m, "*[!x]", -EINVAL, 0); /* undetermined in the kernel: refused */

	/* one bad token among good ones: reported alone, sets still computed */
	{
		const char *tokens[] = { "vfs_read", "nosuch_fn", "type_show", "0" };
		struct resolution res;

		CHECK_EQ_INT(resolve_batch(m, &v6_1, tokens, 4, &res), 0);
		CHECK_EQ_INT(res.n_failed, 2);
		CHECK_EQ_INT(res.items[1].status, -ENOENT);
		CHECK_EQ_INT(res.items[3].status, -ERANGE);
		CHECK_EQ_INT(res.n_enable, 18);
		resolution_deinit(&res);
	}
	/* an empty batch resolves to nothing */
	{
		struct resolution res;

		CHECK_EQ_INT(resolve_batch(m, &v6_1, NULL, 0, &res), 0);
		CHECK_EQ_INT(res.n_enable + res.n_disable + res.n_failed, 0);
		resolution_deinit(&res);
	}
	map_free(m);
}

/* A batch of one costly token many times over costs one scan, with
 * per-token sets or without, and gives every occurrence the same answer. */
static void merged_repeats(void)
{
	struct map *m = fixture_map(fixtures, "debian-6.1-base.txt");
	const char **tokens = malloc(sizeof(*tokens) * 3000);

	for (size_t i = 0; i < 3000; i++)
		tokens[i] = i % 3 == 0 ? "*alloc*" : i % 3 == 1 ? "!*free*" : "vfs_read";
	for (int per_token = 0; per_token < 2; per_token++) {
		struct resolver *rs = NULL;
		struct resolution res;
		bool same = true;

		CHECK_EQ_INT(resolver_new(&rs, m, &v6_1, tokens, 3000, per_token ? 1u << 24 : 0), 0);
		CHECK_EQ_INT(resolver_run(rs, UINT64_MAX), 0);
		CHECK_EQ_INT(resolver_finish(rs, &res), 0);
		CHECK_EQ_INT(resolver_lines_scanned(rs), 2 * map_size(m));
		for (size_t i = 3; i < 3000; i++)
			same &= res.items[i].status == res.items[i % 3].status &&
				res.items[i].matches == res.items[i % 3].matches;
		CHECK(same);
		CHECK(res.items[0].matches > 100 && res.items[1].matches > 100);
		printf("merged repeats%s: 3000 tokens, %llu lines scanned\n",
		       per_token ? " (per token)" : "",
		       (unsigned long long)resolver_lines_scanned(rs));
		resolution_deinit(&res);
		resolver_free(rs);
	}
	free(tokens);
	map_free(m);
}

int main(int argc, char **argv)
{
	fixtures = argc > 1 ? argv[1] : "tests/fixtures";
	differential("debian-6.1-base.txt", 28);
	differential("debian-6.1-loop-dummy.txt", 38);
	differential("debian-6.1-dummy-only.txt", 35);
	differential("debian-6.1-many.txt", 45);
	bad_input();
	module_placeholders();
	rule_sets();
	merged_repeats();
	return test_finish("test-resolve");
}
