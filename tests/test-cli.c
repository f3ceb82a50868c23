/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration, the ftidx binary: what a user types and sees, exit
 * statuses, and usage errors found before any daemon is reached.
 */
#include "integration.h"

/* With no daemon at the socket: usage errors are still usage errors (2),
 * found before connecting; a well-formed request cannot be served (3). */
static void test_cli_without_daemon(void)
{
	static const char *const usage_errors[] = {
		"hits --seconds 4000",	   "hits --seconds 0",	    "hits extra",
		"set --generation abc f",  "set --generation 0 f",   "set --generation -1 f",
		"set",			   "clear vfs_read",	    "list --module",
		"list extra",		   "name abc",		    "name -1",
		"status extra",		   "resolve",		    "set --bogus f",
		"change",		   "change vfs_read",	    "change filter=set",
		"change filter=clear x",   "change filter=set a filter=add b",
		"change notrace=sett a",   "change -i ../x filter=set a",
		"change --generation 0 filter=set a",
		"change filter=set a notrace=set b graph=set c graph-notrace=set d filter=add e",
		"remove-instance",	   "remove-instance a b",   "version extra",
		"resolve --per-pattern",   "resolve --bogus x",
	};
	char out[256];

	for (size_t i = 0; i < ARRAY_SIZE(usage_errors); i++) {
		int r = run_cli_on("/nonexistent/ftidx.sock", usage_errors[i], NULL, out, sizeof(out));

		if (r != 2)
			fprintf(stderr, "ftidx %s: exit %d without a daemon\n", usage_errors[i], r);
		CHECK_EQ_INT(r, 2);
	}
	CHECK_EQ_INT(run_cli_on("/nonexistent/ftidx.sock", "status", NULL, out, sizeof(out)), 3);
	CHECK_EQ_INT(run_cli_on("/nonexistent/ftidx.sock", "set --generation 7 vfs_read", NULL, out,
				sizeof(out)),
		     3);
}

static void test_cli(struct harness *h)
{
	static char out[1 << 20];
	size_t n = 0;

	CHECK_EQ_INT(run_cli(h, "resolve type_show", NULL, out, sizeof(out)), 0);
	for (char *l = out; *l; l = strchr(l, '\n') + 1) {
		char *tab = strchr(l, '\t');

		CHECK(tab && strncmp(tab, "\ttype_show\n", 11) == 0);
		n++;
		if (!strchr(l, '\n'))
			break;
	}
	CHECK_EQ_INT(n, 17);
	CHECK_EQ_INT(run_cli(h, "resolve nosuch_fn", NULL, out, sizeof(out)), 1);
	CHECK_EQ_INT(run_cli(h, "resolve -", "vfs_read\\n\\n# comment\\ndummy_xmit\\n", out,
			     sizeof(out)),
		     0);
	CHECK(strstr(out, "\tvfs_read\n") && strstr(out, "\tdummy_xmit [dummy]\n"));
	CHECK_EQ_INT(run_cli(h, "--json status", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"entries\":") && out[0] == '{');
	CHECK_EQ_INT(run_cli(h, "set --notrace vfs_read", NULL, out, sizeof(out)), 0);
	check_filter(h, "set_ftrace_notrace", want_vfs_read, count_where(want_vfs_read));
	CHECK_EQ_INT(run_cli(h, "clear --notrace", NULL, out, sizeof(out)), 0);
	CHECK_EQ_INT(run_cli(h, "name 1 99999999", NULL, out, sizeof(out)), 1);
	CHECK_EQ_INT(run_cli(h, "bogus", NULL, out, sizeof(out)), 2);
	CHECK_EQ_INT(run_cli(h, "set", NULL, out, sizeof(out)), 2);
	CHECK_EQ_INT(run_cli(h, "--help", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "Exit status") != NULL);
	CHECK(strstr(out, "change") != NULL && strstr(out, "remove-instance") != NULL);
}

/* change, resolve --per-pattern, remove-instance and version. */
static void test_cli_0_3(struct harness *h)
{
	static char out[1 << 16];
	char want[64];
	size_t n_vfs_r = 0;

	CHECK_EQ_INT(run_cli(h, "change -i inst filter=set 'vfs_*' notrace=set vfs_read", NULL,
			     out, sizeof(out)),
		     0);
	CHECK(strstr(out, "set: instances/inst/set_ftrace_filter selects") != NULL);
	CHECK(strstr(out, "set: instances/inst/set_ftrace_notrace selects 1 function,") != NULL);
	check_filter(h, "instances/inst/set_ftrace_notrace", want_vfs_read, 1);
	/* one refused pattern: neither file changes, and the pattern is named */
	CHECK_EQ_INT(run_cli(h, "change -i inst filter=set type_show notrace=add nosuch_fn", NULL,
			     out, sizeof(out)),
		     1);
	check_filter(h, "instances/inst/set_ftrace_notrace", want_vfs_read, 1);
	CHECK_EQ_INT(run_cli(h, "--json change -i inst filter=clear notrace=clear", NULL, out,
			     sizeof(out)),
		     0);
	CHECK(strstr(out, "\"file\":\"set_ftrace_notrace\",\"op\":\"clear\"") != NULL);
	check_filter(h, "instances/inst/set_ftrace_notrace", want_nothing, 0);
	check_filter(h, "instances/inst/set_ftrace_filter", want_nothing, 0);

	CHECK_EQ_INT(run_cli(h, "resolve --per-pattern vfs_read type_show", NULL, out, sizeof(out)),
		     0);
	CHECK(strncmp(out, "vfs_read\t1\t", 11) == 0);
	CHECK(strstr(out, "\ntype_show\t17\t") != NULL);
	for (size_t i = 0; i < n_lines; i++)
		n_vfs_r += starts(lines[i].name, "vfs_r");
	snprintf(want, sizeof(want), "\"pattern\":\"vfs_r*\",\"matches\":%zu,", n_vfs_r);
	CHECK_EQ_INT(run_cli(h, "--json resolve -p 'vfs_r*'", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, want) != NULL);

	CHECK_EQ_INT(run_cli(h, "remove-instance inst", NULL, out, sizeof(out)), 1);
	CHECK_EQ_INT(run_cli(h, "remove-instance ../inst", NULL, out, sizeof(out)), 2);
	CHECK_EQ_INT(run_cli(h, "version", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "daemon:          ftidxd " FTIDX_VERSION " (protocol " STRINGIFY(FTIDX_PROTO_VERSION) ")") != NULL);
	CHECK(strstr(out, "may change filters") != NULL);
	CHECK_EQ_INT(run_cli(h, "--json version", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"may_write\":true") && strstr(out, "\"change-files\""));
}

/* ftidx exec runs the command with the drop-in first in LD_PRELOAD, and
 * the socket the CLI was told of as the program's too. */
static void test_exec(struct harness *h)
{
	char out[4096], want[512];

	setenv("FTIDX_PRELOAD", "/x/libftidx-tracefs.so", 1);
	unsetenv("LD_PRELOAD");
	CHECK_EQ_INT(run_cli(h, "exec -- sh -c 'echo $LD_PRELOAD $FTIDX_SOCKET'", NULL, out,
			     sizeof(out)),
		     0);
	snprintf(want, sizeof(want), "/x/libftidx-tracefs.so %s\n", h->socket);
	CHECK_EQ_STR(out, want);
	setenv("LD_PRELOAD", "/y/other.so", 1);
	CHECK_EQ_INT(run_cli(h, "exec sh -c 'echo $LD_PRELOAD'", NULL, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "/x/libftidx-tracefs.so:/y/other.so\n");
	unsetenv("LD_PRELOAD");
	/* the command's own exit status, and its failures */
	CHECK_EQ_INT(run_cli(h, "exec -- sh -c 'exit 7'", NULL, out, sizeof(out)), 7);
	CHECK_EQ_INT(run_cli(h, "exec", NULL, out, sizeof(out)), 2);
	CHECK_EQ_INT(run_cli(h, "exec --", NULL, out, sizeof(out)), 2);
	CHECK_EQ_INT(run_cli(h, "exec -- /nonexistent/command", NULL, out, sizeof(out)), 127);
	unsetenv("FTIDX_PRELOAD");
}

/* Whether the published copy holds exactly @path's bytes. */
static bool published_is(struct harness *h, const char *path)
{
	char copy[256];
	size_t a_len, b_len;
	char *a, *b;
	bool same;

	snprintf(copy, sizeof(copy), "%s/available_filter_functions", h->state);
	if (access(copy, R_OK) < 0)
		return false;
	a = test_read_file(copy, &a_len);
	b = test_read_file(path, &b_len);
	same = a_len == b_len && memcmp(a, b, a_len) == 0;
	free(a);
	free(b);
	return same;
}

/* The stand-in kernel's list becomes fixture @name, the map is read
 * again (SIGHUP): whether the published copy follows within 10 s. */
static bool stand_in_list_published(struct harness *h, const char *name)
{
	char path[4096], info[64];
	bool followed = false;
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	text = test_read_file(path, &len);
	fake_write(h->dir, "available_filter_functions", text, len);
	snprintf(info, sizeof(info), "%lu pages:1 groups: 1\n", count_lines(text, len));
	fake_write(h->dir, "dyn_ftrace_total_info", info, strlen(info));
	free(text);
	kill(h->pid, SIGHUP);
	for (int i = 0; i < 500 && !followed; i++) {
		followed = published_is(h, path);
		if (!followed)
			harness_sleep_ms(20);
	}
	return followed;
}

/*
 * The published function list: list --path names it; it is the stand-in
 * kernel's file byte for byte, and after a module goes and the map is
 * read again (SIGHUP), the new file's.
 */
static void test_published(struct harness *h)
{
	static char out[4096];
	char want[256], path[4096];

	snprintf(want, sizeof(want), "%s/available_filter_functions\n", h->state);
	CHECK_EQ_INT(run_cli(h, "list --path", NULL, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, want);
	CHECK_EQ_INT(run_cli(h, "list --path --module loop", NULL, out, sizeof(out)), 2);
	snprintf(path, sizeof(path), "%s/available_filter_functions", h->dir);
	CHECK(published_is(h, path));

	/* a module goes; then the list the other checks read comes back */
	CHECK(stand_in_list_published(h, "debian-6.1-dummy-only.txt"));
	CHECK(stand_in_list_published(h, "debian-6.1-loop-dummy.txt"));
}

int main(int argc, char **argv)
{
	struct harness h;
	char path[4096];

	integration_setup(argc, argv, "test-cli", &h, path, sizeof(path));
	harness_start(&h, daemon_path, NULL);
	test_cli(&h);
	test_cli_0_3(&h);
	test_cli_without_daemon();
	test_exec(&h);
	test_published(&h);
	CHECK(harness_alive(&h));
	CHECK_EQ_INT(harness_stop(&h), 0);
	harness_cleanup(&h);
	free(lines);
	return test_finish("test-cli");
}
