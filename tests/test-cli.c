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
		"list --path extra",	   "name abc",		    "name -1",
		"status extra",		   "resolve",		    "set --bogus f",
		"change",		   "change vfs_read",	    "change filter=set",
		"change filter=clear x",   "change filter=set a filter=add b",
		"change notrace=sett a",   "change -i ../x filter=set a",
		"change --generation 0 filter=set a",
		"change filter=set a notrace=set b graph=set c graph-notrace=set d filter=add e",
		"remove-instance",	   "remove-instance a b",   "version extra",
		"resolve --per-pattern",   "resolve --bogus x",	    "--timeout x status",
		"--timeout -1 status",	   "--timeout 86401 status",
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

/*
 * No change leaves set_ftrace_filter or set_graph_function empty, which
 * traces every function, unless asked with --allow-empty: a remove of
 * all the filter holds, an add of a removal alone, the same in a change
 * (before, only a set that selected nothing was refused). The refusal
 * names the file; an empty notrace file excludes nothing, and is allowed.
 */
static void test_cli_no_empty_filter(struct harness *h)
{
	static char out[1 << 16];

	fake_write(h->dir, "set_graph_function", "", 0);
	CHECK_EQ_INT(run_cli(h, "set vfs_read", NULL, out, sizeof(out)), 0);
	CHECK_EQ_INT(run_cli_err(h, "remove vfs_read", out, sizeof(out)), 1);
	CHECK(strstr(out, "set_ftrace_filter: this would leave it empty, and an empty "
			  "set_ftrace_filter makes the function tracer trace every function") != NULL);
	CHECK_EQ_INT(run_cli(h, "add '!vfs_read'", NULL, out, sizeof(out)), 1);
	CHECK_EQ_INT(run_cli(h, "change filter=remove vfs_read", NULL, out, sizeof(out)), 1);
	CHECK_EQ_INT(run_cli(h, "set '!vfs_read'", NULL, out, sizeof(out)), 1);
	check_filter(h, "set_ftrace_filter", want_vfs_read, 1);
	CHECK_EQ_INT(run_cli(h, "set --graph vfs_read", NULL, out, sizeof(out)), 0);
	CHECK_EQ_INT(run_cli_err(h, "remove --graph vfs_read", out, sizeof(out)), 1);
	CHECK(strstr(out, "set_graph_function: this would leave it empty, and an empty "
			  "set_graph_function makes the function_graph tracer graph every function") !=
	      NULL);
	/* asked for */
	CHECK_EQ_INT(run_cli(h, "remove --allow-empty vfs_read", NULL, out, sizeof(out)), 0);
	check_filter(h, "set_ftrace_filter", want_nothing, 0);
	CHECK_EQ_INT(run_cli(h, "change --allow-empty graph=remove vfs_read", NULL, out, sizeof(out)),
		     0);
	/* notrace: nothing excluded is harmless */
	CHECK_EQ_INT(run_cli(h, "set --notrace vfs_read", NULL, out, sizeof(out)), 0);
	CHECK_EQ_INT(run_cli(h, "remove --notrace vfs_read", NULL, out, sizeof(out)), 0);
	check_filter(h, "set_ftrace_notrace", want_nothing, 0);
	CHECK_EQ_INT(run_cli(h, "set --notrace vfs_read", NULL, out, sizeof(out)), 0);
	CHECK_EQ_INT(run_cli(h, "set --notrace '!vfs_read'", NULL, out, sizeof(out)), 0);
	check_filter(h, "set_ftrace_notrace", want_nothing, 0);
	CHECK_EQ_INT(run_cli(h, "clear --graph", NULL, out, sizeof(out)), 0);
}

/* Write @n lines of @line to @path. */
static void write_lines(const char *path, const char *line, size_t n)
{
	FILE *f = fopen(path, "w");

	for (size_t i = 0; f && i < n; i++)
		fputs(line, f);
	CHECK(f && fclose(f) == 0);
}

/*
 * A request past a limit of the protocol is refused before it is sent,
 * the limit named, with the status of a refused request (1): 1,213,872
 * patterns (before: "Invalid argument"), 17 MB of them (before: exit 3,
 * which says the daemon cannot be reached).
 */
static void test_cli_limits(struct harness *h)
{
	static char out[1 << 16];
	char path[256], args[320];

	snprintf(path, sizeof(path), "%s/many.txt", h->dir);
	write_lines(path, "a\n", 1213872);
	snprintf(args, sizeof(args), "resolve - < %s", path);
	CHECK_EQ_INT(run_cli_err(h, args, out, sizeof(out)), 1);
	CHECK(strstr(out, "more than 1,000,000 patterns or indices in one request") != NULL);
	write_lines(path, "a_name_forty_bytes_long_for_the_limit_x\n", 17000000 / 40);
	CHECK_EQ_INT(run_cli_err(h, args, out, sizeof(out)), 1);
	CHECK(strstr(out, "request larger than the protocol allows (16 MiB)") != NULL);
	snprintf(args, sizeof(args), "set - < %s", path);
	CHECK_EQ_INT(run_cli_err(h, args, out, sizeof(out)), 1);
	unlink(path);
	/* still serving */
	CHECK_EQ_INT(run_cli(h, "resolve vfs_read", NULL, out, sizeof(out)), 0);
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
	CHECK(strstr(out, "set: instances/inst/set_ftrace_filter holds ") != NULL);
	CHECK(strstr(out, "set: instances/inst/set_ftrace_notrace holds 1 function now: 1 added, 0 "
			  "dropped, 1 token written\n") != NULL);
	check_filter(h, "instances/inst/set_ftrace_notrace", want_vfs_read, 1);
	/* one refused pattern: neither file changes, and the pattern is named */
	CHECK_EQ_INT(run_cli(h, "change -i inst filter=set type_show notrace=add nosuch_fn", NULL,
			     out, sizeof(out)),
		     1);
	check_filter(h, "instances/inst/set_ftrace_notrace", want_vfs_read, 1);
	CHECK_EQ_INT(run_cli(h, "--json change -i inst filter=clear notrace=clear", NULL, out,
			     sizeof(out)),
		     0);
	CHECK(strstr(out, "\"op\":\"clear\",\"file\":\"set_ftrace_notrace\"") != NULL);
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

/* The drop-in beside the ftidx under test, as a build tree has it. */
static void dropin_beside_cli(char *buf, size_t size)
{
	char *dir = realpath(cli_path, NULL), *slash = dir ? strrchr(dir, '/') : NULL;

	if (slash)
		*slash = '\0';
	snprintf(buf, size, "%s/libftidx-tracefs.so", dir ? dir : ".");
	free(dir);
}

/*
 * ftidx exec runs the command with the drop-in first in LD_PRELOAD, and
 * the socket the CLI was told of (before the command, or among exec's
 * options) as the program's too. From a build tree, the drop-in is the
 * one beside the binary; one that cannot be loaded is an error, and the
 * program does not run.
 */
static void test_exec(struct harness *h)
{
	char out[4096], want[4600], dropin[4096];

	dropin_beside_cli(dropin, sizeof(dropin));
	unsetenv("FTIDX_PRELOAD");
	unsetenv("LD_PRELOAD");
#if defined(__SANITIZE_ADDRESS__)
	/* a sanitized drop-in loads only into a sanitized program, which sh
	 * is not: a library every program has stands in for it */
	snprintf(dropin, sizeof(dropin), "libc.so.6");
	setenv("FTIDX_PRELOAD", dropin, 1);
#endif
	CHECK_EQ_INT(run_cli(h, "exec -- sh -c 'echo $LD_PRELOAD $FTIDX_SOCKET'", NULL, out,
			     sizeof(out)),
		     0);
	snprintf(want, sizeof(want), "%s %s\n", dropin, h->socket);
	CHECK_EQ_STR(out, want);
	setenv("FTIDX_PRELOAD", dropin, 1);
#if !defined(__SANITIZE_ADDRESS__) /* (nothing may come before ASan's runtime) */
	setenv("LD_PRELOAD", "libc.so.6", 1);
	CHECK_EQ_INT(run_cli(h, "exec sh -c 'echo $LD_PRELOAD'", NULL, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s:libc.so.6\n", dropin);
	CHECK_EQ_STR(out, want);
	unsetenv("LD_PRELOAD");
#endif
	/* exec's own options come before the program: -s is ftidx's here */
	CHECK_EQ_INT(run_cli_on("/nonexistent/sock", "exec -s /tmp/other.sock -- sh -c 'echo "
						    "$FTIDX_SOCKET'",
				NULL, out, sizeof(out)),
		     0);
	CHECK_EQ_STR(out, "/tmp/other.sock\n");
	/* ...and the program's after it */
	CHECK_EQ_INT(run_cli(h, "exec sh -c 'echo $1' sh -s", NULL, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "-s\n");
	/* the command's own exit status, and its failures */
	CHECK_EQ_INT(run_cli(h, "exec -- sh -c 'exit 7'", NULL, out, sizeof(out)), 7);
	CHECK_EQ_INT(run_cli(h, "exec", NULL, out, sizeof(out)), 2);
	CHECK_EQ_INT(run_cli(h, "exec --", NULL, out, sizeof(out)), 2);
	CHECK_EQ_INT(run_cli(h, "exec -- /nonexistent/command", NULL, out, sizeof(out)), 127);
	/* a drop-in that cannot be loaded: an error, and nothing runs */
	setenv("FTIDX_PRELOAD", "/x/libftidx-tracefs.so", 1);
	CHECK_EQ_INT(run_cli(h, "exec -- sh -c 'echo ran'", NULL, out, sizeof(out)), 127);
	CHECK_EQ_STR(out, "");
	/* (the program's -j is no --json of ftidx's: the error is text) */
	CHECK_EQ_INT(run_cli(h, "exec sh -c 'echo ran' sh -j", NULL, out, sizeof(out)), 127);
	CHECK_EQ_STR(out, "");
	unsetenv("FTIDX_PRELOAD");
	/* --help is exec's help, not a program to run */
	CHECK_EQ_INT(run_cli(h, "exec --help", NULL, out, sizeof(out)), 0);
	CHECK(strncmp(out, "Usage: ftidx exec ", 18) == 0);
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

/* ---- what a user types and sees (issue 33) ------------------------- */

/* Run ftidx on @socket with @args, @input on its standard input (printf
 * format, as run_cli_on() takes it): its stdout in @out, its stderr in
 * @err; returns its exit status. */
static int run_cli_both(const char *socket, const char *args, const char *input, char *out,
			size_t size, char *err, size_t err_size)
{
	char cmd[2048], path[64];
	size_t len;
	char *text;
	int fd, r;

	snprintf(path, sizeof(path), "/tmp/ftidx-cli-err-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s%s%s%s -s %s %s 2>%s", input ? "printf '" : "",
		 input ? input : "", input ? "' | " : "", cli_path, socket, args, path);
	{
		FILE *p = popen(cmd, "r");
		size_t n;
		int status;

		if (!p)
			return -1;
		n = fread(out, 1, size - 1, p);
		out[n] = '\0';
		status = pclose(p);
		r = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	}
	text = test_read_file(path, &len);
	snprintf(err, err_size, "%s", text);
	free(text);
	unlink(path);
	return r;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/*
 * Help: "help", "help CMD" and "CMD --help" for every command (exec and
 * remove-instance too, with no daemon, and nothing sent or run); a typo
 * of a command gets the closest one; a bad option a short usage of the
 * command, without the binary's path.
 */
static void test_cli_help(void)
{
	static char out[1 << 16], err[1 << 14];
	static const char *const commands[] = { "status", "resolve", "name", "list", "show",
						"set", "add", "remove", "clear", "change",
						"hits", "exec", "remove-instance", "version" };
	const char *none = "/nonexistent/ftidx.sock";
	char args[128], want[128];

	CHECK_EQ_INT(run_cli_both(none, "help", NULL, out, sizeof(out), err, sizeof(err)), 0);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		snprintf(want, sizeof(want), "\n  %s ", commands[i]);
		CHECK(strstr(out, want) != NULL);
	}
	CHECK(strstr(out, "Exit status") != NULL);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		snprintf(want, sizeof(want), "Usage: ftidx %s", commands[i]);
		snprintf(args, sizeof(args), "%s --help", commands[i]);
		CHECK_EQ_INT(run_cli_both(none, args, NULL, out, sizeof(out), err, sizeof(err)), 0);
		if (strncmp(out, want, strlen(want)) != 0)
			fprintf(stderr, "ftidx %s: '%.60s'\n", args, out);
		CHECK(strncmp(out, want, strlen(want)) == 0);
		CHECK_EQ_STR(err, "");
		snprintf(args, sizeof(args), "help %s", commands[i]);
		CHECK_EQ_INT(run_cli_both(none, args, NULL, out, sizeof(out), err, sizeof(err)), 0);
		CHECK(strncmp(out, want, strlen(want)) == 0);
	}
	CHECK_EQ_INT(run_cli_both(none, "set -h", NULL, out, sizeof(out), err, sizeof(err)), 0);
	CHECK(strstr(out, "--generation N") != NULL);

	/* typos */
	CHECK_EQ_INT(run_cli_both(none, "stauts", NULL, out, sizeof(out), err, sizeof(err)), 2);
	CHECK(strstr(err, "did you mean 'status'?") != NULL);
	CHECK_EQ_INT(run_cli_both(none, "help remov", NULL, out, sizeof(out), err, sizeof(err)), 2);
	CHECK(strstr(err, "did you mean 'remove'?") != NULL);
	CHECK_EQ_INT(run_cli_both(none, "set --notrce x", NULL, out, sizeof(out), err, sizeof(err)),
		     2);
	CHECK(strstr(err, "did you mean '--notrace'?") != NULL);
	CHECK_EQ_INT(run_cli_both(none, "xyzzy", NULL, out, sizeof(out), err, sizeof(err)), 2);
	CHECK(strstr(err, "did you mean") == NULL);

	/* a bad option: a few lines naming the command, no path, no list */
	CHECK_EQ_INT(run_cli_both(none, "--bogus status", NULL, out, sizeof(out), err, sizeof(err)),
		     2);
	CHECK(count_char(err, '\n') <= 4);
	CHECK(strncmp(err, "ftidx: unknown option '--bogus'", 31) == 0);
	CHECK(strstr(err, cli_path) == NULL && strstr(err, "Commands:") == NULL);
	CHECK_EQ_INT(run_cli_both(none, "resolve -x vfs_read", NULL, out, sizeof(out), err,
				  sizeof(err)),
		     2);
	CHECK(strstr(err, "ftidx resolve: unknown option '-x'\nUsage: ftidx resolve ") == err);
	CHECK(count_char(err, '\n') <= 4);
	CHECK_EQ_INT(run_cli_both(none, "hits --seconds", NULL, out, sizeof(out), err, sizeof(err)),
		     2);
	CHECK(strstr(err, "option '--seconds' needs an argument") != NULL);
}

/* Global options anywhere: after the command, among its operands. */
static void test_cli_global_options(struct harness *h)
{
	static char out[1 << 16];

	CHECK_EQ_INT(run_cli(h, "status --json", NULL, out, sizeof(out)), 0);
	CHECK(out[0] == '{' && strstr(out, "\"entries\":38303") != NULL);
	CHECK_EQ_INT(run_cli(h, "resolve --json vfs_read", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "{\"index\":12408,\"line\":\"vfs_read\"") != NULL);
	CHECK_EQ_INT(run_cli(h, "resolve vfs_read -j", NULL, out, sizeof(out)), 0);
	CHECK(out[0] == '{');
	/* the socket, given after the command, wins over -s before it */
	{
		char args[256];

		snprintf(args, sizeof(args), "status --socket %s", h->socket);
		CHECK_EQ_INT(run_cli_on("/nonexistent/ftidx.sock", args, NULL, out, sizeof(out)),
			     0);
	}
}

/*
 * Patterns read as the kernel reads a write: several in one argument or
 * one line; lines of available_filter_functions, modules and all; indices
 * from standard input; an empty standard input the same usage error for
 * every command.
 */
static void test_cli_input(struct harness *h)
{
	static char out[1 << 16], err[4096];
	char want[256];

	CHECK_EQ_INT(run_cli(h, "resolve 'vfs_read  vfs_write'", NULL, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "12408\tvfs_read\n12412\tvfs_write\n");
	CHECK_EQ_INT(run_cli(h, "resolve -", "vfs_write vfs_read\\n", out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "12408\tvfs_read\n12412\tvfs_write\n");
	/* as "grep ^lo_ available_filter_functions" gives them */
	CHECK_EQ_INT(run_cli(h, "resolve -", "lo_release [loop]\\n\\tdummy_xmit [dummy]\\n", out,
			     sizeof(out)),
		     0);
	CHECK_EQ_STR(out, "38264\tlo_release [loop]\n38299\tdummy_xmit [dummy]\n");
	CHECK_EQ_INT(run_cli(h, "set - ", "lo_release [loop]\\n", out, sizeof(out)), 0);
	CHECK(strstr(out, "holds 1 function now") != NULL);
	CHECK_EQ_INT(run_cli(h, "clear", NULL, out, sizeof(out)), 0);
	/* indices from standard input */
	CHECK_EQ_INT(run_cli(h, "name -", "12408\\n 12412 1\\n", out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "12408\tvfs_read\n12412\tvfs_write\n1\t__traceiter_initcall_level\n");
	CHECK_EQ_INT(run_cli(h, "name -", "12408 vfs_read\\n", out, sizeof(out)), 2);
	/* nothing on standard input: a usage error, the same for all */
	{
		static const char *const empty[] = { "resolve -", "set -", "add -", "remove -",
						     "name -", "list -", "change filter=set -" };

		for (size_t i = 0; i < ARRAY_SIZE(empty); i++) {
			char cmd[64];

			snprintf(cmd, sizeof(cmd), "%.20s", empty[i]);
			*strchr(cmd, ' ') = '\0';
			CHECK_EQ_INT(run_cli_both(h->socket, empty[i], "", out, sizeof(out), err,
						  sizeof(err)),
				     2);
			if (strcmp(cmd, "change") == 0)
				continue;
			snprintf(want, sizeof(want),
				 "ftidx %s: no %s given (standard input held none)\n", cmd,
				 strcmp(cmd, "name") == 0 ? "index" : "pattern");
			CHECK_EQ_STR(err, want);
		}
	}
}

/* Whether a shell command's exit status is @status. */
static bool exits(const char *cmd, int status)
{
	int r = system(cmd);

	return WIFEXITED(r) && WEXITSTATUS(r) == status;
}

/*
 * Output: a write error on standard output fails the command; a change
 * says what the file holds now and what it did, a removal of what the
 * filter does not hold included, in text and JSON alike; with --json
 * every refusal and error is JSON on standard output; list's lines split
 * into name and module; times as strings.
 */
static void test_cli_output(struct harness *h)
{
	static char out[1 << 20], err[4096];
	char cmd[1024], want[256];
	size_t n_vfs_r = 0;

	for (size_t i = 0; i < n_lines; i++)
		n_vfs_r += starts(lines[i].name, "vfs_r");
	snprintf(cmd, sizeof(cmd), "%s -s %s list >/dev/full 2>/dev/null", cli_path, h->socket);
	CHECK(exits(cmd, 1));
	snprintf(cmd, sizeof(cmd), "%s -s %s --json status >/dev/full 2>/dev/null", cli_path,
		 h->socket);
	CHECK(exits(cmd, 1));

	CHECK_EQ_INT(run_cli(h, "set vfs_read", NULL, out, sizeof(out)), 0);
	CHECK_EQ_INT(run_cli(h, "remove vfs_write", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "remove: set_ftrace_filter holds 1 function now: 0 dropped (it held none "
			  "of the 1 function the patterns select)") != NULL);
	CHECK(strstr(out, "lost") == NULL);
	CHECK_EQ_INT(run_cli(h, "--json remove vfs_write", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"selected\":1,") && strstr(out, "\"after\":1,") &&
	      strstr(out, "\"dropped\":0}"));
	CHECK_EQ_INT(run_cli(h, "set 'vfs_r*'", NULL, out, sizeof(out)), 0);
	CHECK_EQ_INT(run_cli(h, "add '!vfs_read'", NULL, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "add: set_ftrace_filter holds %zu functions now: 0 added, 1 "
				     "dropped",
		 n_vfs_r - 1);
	CHECK(strstr(out, want) != NULL);
	CHECK_EQ_INT(run_cli(h, "--json clear", NULL, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "\"before\":%zu,\"after\":0,\"added\":0,\"dropped\":%zu}",
		 n_vfs_r - 1, n_vfs_r - 1);
	CHECK(strstr(out, want) != NULL);

	/* refusals and errors as JSON on standard output too */
	CHECK_EQ_INT(run_cli(h, "--json set nosuch_fn vfs_read", NULL, out, sizeof(out)), 1);
	CHECK(strstr(out, "{\"error\":{\"exit\":1,\"errno\":\"EINVAL\",") == out);
	CHECK(strstr(out, "\"patterns\":[{\"index\":0,\"pattern\":\"nosuch_fn\","
			  "\"errno\":\"ENOENT\",\"reason\":\"matches no function\"}]}}\n") != NULL);
	CHECK_EQ_INT(run_cli(h, "resolve --json nosuch_fn", NULL, out, sizeof(out)), 1);
	CHECK(strncmp(out, "{\"error\":", 9) == 0);
	CHECK_EQ_INT(run_cli(h, "--json stauts", NULL, out, sizeof(out)), 2);
	CHECK(strstr(out, "{\"error\":{\"exit\":2,\"errno\":null,\"message\":\"'stauts' is not an "
			  "ftidx command; did you mean 'status'?\"}}") == out);
	CHECK_EQ_INT(run_cli(h, "set --bogus x --json", NULL, out, sizeof(out)), 2);
	CHECK(strncmp(out, "{\"error\":{\"exit\":2,", 19) == 0);
	CHECK_EQ_INT(run_cli_on("/nonexistent/ftidx.sock", "--json status", NULL, out, sizeof(out)),
		     3);
	CHECK(strncmp(out, "{\"error\":{\"exit\":3,\"errno\":\"ENOENT\",", 35) == 0);

	/* JSON everywhere */
	snprintf(want, sizeof(want),
		 "{\"generation\":1,\"path\":\"%s/available_filter_functions\"}\n", h->state);
	CHECK_EQ_INT(run_cli(h, "--json list --path", NULL, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, want);
	CHECK_EQ_INT(run_cli(h, "--json list --module loop", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "{\"index\":38264,\"line\":\"lo_release [loop]\",\"name\":\"lo_release\","
			  "\"module\":\"loop\"}") != NULL);
	CHECK_EQ_INT(run_cli(h, "--json name 12408", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"name\":\"vfs_read\",\"module\":null}") != NULL);
	CHECK_EQ_INT(run_cli(h, "--json status", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"built_at_ns\":\"") != NULL && strstr(out, "\"uptime_ns\":\"") != NULL);
	(void)err;
}

/* list PATTERN, as trace-cmd list -f takes one; with its options. */
static void test_cli_list_patterns(struct harness *h)
{
	static char out[1 << 16];

	CHECK_EQ_INT(run_cli(h, "list 'vfs_rea*'", NULL, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "12390\tvfs_readv\n12408\tvfs_read\n12820\tvfs_readlink\n");
	CHECK_EQ_INT(run_cli(h, "list --module loop 'lo_re*'", NULL, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "38264\tlo_release [loop]\n");
	CHECK_EQ_INT(run_cli(h, "list --module '' 'lo_re*'", NULL, out, sizeof(out)), 1);
	CHECK_EQ_INT(run_cli(h, "list nosuch_fn", NULL, out, sizeof(out)), 1);
	CHECK_EQ_INT(run_cli(h, "list --placeholders vfs_read", NULL, out, sizeof(out)), 2);
}

/*
 * show: the filter as it is: ftidx's functions by index and name, a
 * user's probe and module pattern marked as such, another writer's
 * function marked, and whether the file still holds what ftidx wrote
 * (standard error, not with --quiet).
 */
static void test_cli_show(struct harness *h)
{
	static char out[1 << 16], err[4096];
	char path[512];
	FILE *f;

	CHECK_EQ_INT(run_cli(h, "set 'vfs_read vfs_write'", NULL, out, sizeof(out)), 0);
	CHECK_EQ_INT(run_cli_both(h->socket, "show", NULL, out, sizeof(out), err, sizeof(err)), 0);
	CHECK_EQ_STR(out, "12408\tvfs_read\n12412\tvfs_write\n");
	CHECK_EQ_STR(err,
		     "set_ftrace_filter: 2 functions; it holds what ftidx wrote (2 functions)\n");
	snprintf(path, sizeof(path), "%s/set_ftrace_filter", h->dir);
	f = fopen(path, "a");
	CHECK(f && fputs("schedule:traceoff:unlimited\n:mod:nfsd\nvfs_open\n", f) >= 0);
	if (f)
		fclose(f);
	CHECK_EQ_INT(run_cli_both(h->socket, "show", NULL, out, sizeof(out), err, sizeof(err)), 0);
	CHECK(strstr(out, "12408\tvfs_read\n") && strstr(out, "12412\tvfs_write\n"));
	CHECK(strstr(out, "probe\tschedule:traceoff:unlimited\n") != NULL);
	CHECK(strstr(out, "module\t:mod:nfsd\n") != NULL);
	CHECK(strstr(out, "\tvfs_open\t(not ftidx's)\n") != NULL);
	CHECK(strstr(err, "CHANGED since ftidx wrote it: 0 of ftidx's 2 functions are gone, 1 "
			  "other is there") != NULL);
	CHECK_EQ_INT(run_cli_both(h->socket, "-q show", NULL, out, sizeof(out), err, sizeof(err)),
		     0);
	CHECK_EQ_STR(err, "");
	CHECK_EQ_INT(run_cli(h, "--json show", NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"written_by_ftidx\":true,\"holds\":false,") != NULL);
	CHECK(strstr(out, "\"probes\":[\"schedule:traceoff:unlimited\"],\"module_patterns\":"
			  "[\":mod:nfsd\"]}") != NULL);
	CHECK_EQ_INT(run_cli_both(h->socket, "show -i inst -n", NULL, out, sizeof(out), err,
				  sizeof(err)),
		     0);
	CHECK_EQ_STR(out, "");
	CHECK(strstr(err, "ftidx has not written it") != NULL);
	CHECK_EQ_INT(run_cli(h, "show -i nosuch", NULL, out, sizeof(out)), 1);
	CHECK_EQ_INT(run_cli(h, "show extra", NULL, out, sizeof(out)), 2);
	fake_write(h->dir, "set_ftrace_filter", "", 0);
	CHECK_EQ_INT(run_cli(h, "clear", NULL, out, sizeof(out)), 0);
}

/* status says which daemon answered: its pid, uptime and socket. */
static void test_cli_status_daemon(struct harness *h)
{
	static char out[1 << 16];
	char want[256];

	CHECK_EQ_INT(run_cli(h, "status", NULL, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), ", pid %d, up ", (int)h->pid);
	CHECK(strstr(out, want) != NULL);
	snprintf(want, sizeof(want), "socket:          %s\n", h->socket);
	CHECK(strstr(out, want) != NULL);
	CHECK_EQ_INT(run_cli(h, "--json status", NULL, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "\"daemon_pid\":%d,", (int)h->pid);
	CHECK(strstr(out, want) != NULL);
	snprintf(want, sizeof(want), "\"socket\":\"%s\"", h->socket);
	CHECK(strstr(out, want) != NULL);
}

int main(int argc, char **argv)
{
	struct harness h;
	char path[4096];

	integration_setup(argc, argv, "test-cli", &h, path, sizeof(path));
	harness_start(&h, daemon_path, NULL);
	test_cli(&h);
	test_cli_no_empty_filter(&h);
	test_cli_limits(&h);
	test_cli_help();
	test_cli_global_options(&h);
	test_cli_input(&h);
	test_cli_output(&h);
	test_cli_list_patterns(&h);
	test_cli_show(&h);
	test_cli_status_daemon(&h);
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
