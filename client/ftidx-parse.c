/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The command line (see ftidx-cli.h). Global options are taken wherever
 * they are, before the command or among its own options and operands,
 * with getopt_long()'s permutation, over one table of both: "ftidx status
 * --json", "ftidx resolve --json x" and "ftidx -j status" mean the same.
 * exec stops at the program to run: what follows it is the program's.
 * The command then gets its own options back, in a vector of their own,
 * judged already, so that its getopt loop (cli_getopt()) never meets a
 * global option or a bad one.
 *
 * A bad option or operand gets a short usage of the command and where its
 * help is, never the whole help; a mistyped command or option name gets
 * the closest one ("did you mean"), as git does.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ftidx-cli.h"
#include "macro.h"

#define OPTIONS_MAX 48

/* getopt_long()'s arrays for @a and @b (either NULL), into @longopts
 * and @shortopts (which starts with @mode: "+:" or ":"). */
static void getopt_arrays(const struct cli_option *a, const struct cli_option *b,
			  struct option *longopts, char *shortopts, const char *mode)
{
	const struct cli_option *sets[] = {a, b};
	size_t n = 0;
	char *at = shortopts + strlen(strcpy(shortopts, mode));

	for (size_t k = 0; k < ARRAY_SIZE(sets); k++)
		for (const struct cli_option *o = sets[k]; o && o->name && n < OPTIONS_MAX - 1;
		     o++) {
			longopts[n++] = (struct option){
			    o->name, o->arg ? required_argument : no_argument, NULL, o->val};
			if (o->letter) {
				*at++ = o->letter;
				if (o->arg)
					*at++ = ':';
			}
		}
	longopts[n] = (struct option){0};
	*at = '\0';
}

int cli_getopt(struct cli *cli, int argc, char **argv)
{
	static const struct command *built;
	static struct option longopts[OPTIONS_MAX];
	static char shortopts[2 * OPTIONS_MAX + 3];

	if (built != cli->cmd) {
		getopt_arrays(cli->cmd->opts, NULL, longopts, shortopts, "+:");
		built = cli->cmd;
	}
	opterr = 0;
	return getopt_long(argc, argv, shortopts, longopts, NULL);
}

/* Edit distance with transpositions (Damerau, restricted): a swap of two
 * letters is one typo ("stauts"). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[34][34];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];

			d[i][j] =
			    MIN(MIN(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
				d[i][j] = MIN(d[i][j], d[i - 2][j - 2] + 1);
		}
	return d[la][lb];
}

const char *cli_suggest(const char *typo, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, len = strlen(typo);

	for (size_t i = 0; i < n; i++) {
		size_t d = distance(typo, names[i]);

		/* a prefix is what the user began to type */
		if (len >= 2 && strncmp(names[i], typo, len) == 0)
			d = 1;
		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	/* one typo in a short word, two in a longer one */
	return best && best_d <= (len > 4 ? 2u : 1u) ? best : NULL;
}

/* The names of the commands one may be given. */
static size_t command_names(const char **names, size_t size)
{
	size_t n = 0;

	for (const struct command *cmd = cli_commands; cmd->name && n < size; cmd++)
		if (!cmd->hidden)
			names[n++] = cmd->name;
	return n;
}

/* The long option of @name (which may be abbreviated, as getopt takes
 * it) among @opts and the global ones: *@ambiguous when several begin so. */
static const struct cli_option *long_option(const struct cli_option *opts, const char *name,
					    size_t len, bool *ambiguous)
{
	const struct cli_option *sets[] = {cli_global_options, opts}, *found = NULL;

	*ambiguous = false;
	for (size_t k = 0; k < ARRAY_SIZE(sets); k++)
		for (const struct cli_option *o = sets[k]; o && o->name; o++) {
			if (strncmp(o->name, name, len) != 0)
				continue;
			if (strlen(o->name) == len)
				return o;
			*ambiguous = found != NULL;
			found = o;
		}
	return *ambiguous ? NULL : found;
}

/* What was wrong with option @arg (an element of the command line) of
 * @cmd (NULL: before any command), said with a short usage. */
static int bad_option(struct cli *cli, const struct command *cmd, const char *arg, int c,
		      int letter)
{
	const char *names[OPTIONS_MAX], *hint = NULL;
	const struct cli_option *sets[] = {cli_global_options, cmd ? cmd->opts : NULL};
	char what[160];
	size_t n = 0;

	if (arg && arg[0] == '-' && arg[1] == '-') {
		size_t len = strcspn(arg + 2, "=");
		bool ambiguous;
		const struct cli_option *o =
		    long_option(cmd ? cmd->opts : NULL, arg + 2, len, &ambiguous);

		if (c == ':' && o)
			snprintf(what, sizeof(what), "option '--%s' needs an argument (%s)",
				 o->name, o->arg);
		else if (o && arg[2 + len] == '=' && !o->arg)
			snprintf(what, sizeof(what), "option '--%s' takes no argument", o->name);
		else if (ambiguous)
			snprintf(what, sizeof(what), "option '%.*s' is ambiguous", (int)(len + 2),
				 arg);
		else
			snprintf(what, sizeof(what), "unknown option '%.*s'", (int)(len + 2), arg);
		if (!o && !ambiguous) {
			char typo[64];

			snprintf(typo, sizeof(typo), "%.*s", (int)MIN(len, sizeof(typo) - 1),
				 arg + 2);
			for (size_t k = 0; k < ARRAY_SIZE(sets); k++)
				for (const struct cli_option *p = sets[k]; p && p->name; p++)
					if (n < ARRAY_SIZE(names))
						names[n++] = p->name;
			hint = cli_suggest(typo, names, n);
		}
	} else if (c == ':') {
		snprintf(what, sizeof(what), "option '-%c' needs an argument", letter);
	} else {
		snprintf(what, sizeof(what), "unknown option '-%c'", letter);
	}
	cli->cmd = cmd;
	cli_error(cli, EXIT_USAGE, 0, "%s%s%s%s", what, hint ? " (did you mean '--" : "",
		  hint ? hint : "", hint ? "'?)" : "");
	if (cmd && !cli->json)
		cli_command_usage_short(stderr, cmd);
	else if (!cli->json)
		fputs("Usage: ftidx [OPTION]... COMMAND [ARG]...\nSee 'ftidx --help'.\n", stderr);
	return EXIT_USAGE;
}

/* The element of a long option getopt refused (unknown, ambiguous, given
 * an argument it takes not, or missing one), or NULL for a short one,
 * which optopt names. */
static const char *offender(char **argv, int c)
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;

	if (!arg || strncmp(arg, "--", 2) != 0)
		return NULL;
	return optopt == 0 || c == ':' || strchr(arg, '=') ? arg : NULL;
}

/* A global option: 0, -1 when not one, or an exit status (+1, so that 0
 * stays "taken"). */
static int take_global(struct cli *cli, int c, bool *help)
{
	switch (c) {
	case 's':
		cli->socket = optarg;
		return 0;
	case 'j':
		cli->json = true;
		return 0;
	case 'q':
		cli->quiet = true;
		return 0;
	case 'h':
		*help = true;
		return 0;
	case 'V':
		printf("ftidx %s\n", FTIDX_VERSION);
		return EXIT_OK + 1;
	case OPT_TIMEOUT: {
		char *end;

		errno = 0;
		cli->timeout_s = strtol(optarg, &end, 10);
		/* a day at most: the library counts in ms */
		if (errno || *end || end == optarg || cli->timeout_s < 0 || cli->timeout_s > 86400)
			return cli_error(cli, EXIT_USAGE, 0,
					 "--timeout takes seconds, 0 (wait for ever) to 86400") +
			       1;
		return 0;
	}
	case OPT_LAST_MAP:
		cli->last_map = true;
		return 0;
	}
	return -1;
}

/* --json said anywhere holds for errors found before it is reached; but
 * what follows exec is the program's ("ftidx exec make -j"). */
static void prescan(struct cli *cli, int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const struct command *cmd = cli_find_command(argv[i]);

		if (cmd && cmd->stops_at_command)
			break;
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			cli->json = true;
	}
}

int cli_unknown_command(struct cli *cli, const char *name)
{
	const char *names[32];
	size_t n = command_names(names, ARRAY_SIZE(names));
	const char *hint = cli_suggest(name, names, n);

	cli_error(cli, EXIT_USAGE, 0, "'%s' is not an ftidx command%s%s%s", name,
		  hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
	if (!cli->json)
		fputs("See 'ftidx help'.\n", stderr);
	return EXIT_USAGE;
}

/* The options before the command: their exit status, or -1 with
 * optind at the command (or past the end). */
static int parse_before(struct cli *cli, int argc, char **argv, bool *help)
{
	struct option longopts[OPTIONS_MAX];
	char shortopts[2 * OPTIONS_MAX + 3];
	int c;

	getopt_arrays(cli_global_options, NULL, longopts, shortopts, "+:");
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int r = take_global(cli, c, help);

		if (r > 0)
			return r - 1;
		if (r < 0)
			return bad_option(cli, NULL, offender(argv, c), c, optopt);
	}
	return -1;
}

/* The command's options and operands, globals among them: exit status,
 * or -1 with the command's vector built. */
static int parse_command(struct cli *cli, int argc, char **argv, bool *help, int *cmd_argc,
			 char ***cmd_argv)
{
	/* "--name" of each option given: they outlive the parse */
	static char forms[OPTIONS_MAX][40];
	const struct command *cmd = cli->cmd;
	struct option longopts[OPTIONS_MAX];
	char shortopts[2 * OPTIONS_MAX + 3], **v;
	int c, n = 0, n_forms = 0;

	size_t room = 3;

	/* each element may hold as many options as letters, each with its
	 * argument; then a "--" and the end */
	for (int i = 0; i < argc; i++)
		room += MAX(strlen(argv[i]), (size_t)2);
	v = calloc(room, sizeof(*v));
	if (!v)
		return cli_error(cli, EXIT_DAEMON, ENOMEM, "out of memory");
	v[n++] = argv[0];
	getopt_arrays(cli_global_options, cmd->opts, longopts, shortopts,
		      cmd->stops_at_command ? "+:" : ":");
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int r = c == '?' || c == ':' ? -1 : take_global(cli, c, help);

		if (r > 0) {
			free(v);
			return r - 1;
		}
		if (r == 0)
			continue;
		if (c == '?' || c == ':' || n_forms == OPTIONS_MAX) {
			free(v);
			if (n_forms == OPTIONS_MAX)
				return cli_error(cli, EXIT_USAGE, 0, "too many options");
			return bad_option(cli, cmd, offender(argv, c), c, optopt);
		}
		/* the command's own, handed over as "--name" (and its argument) */
		for (const struct cli_option *o = cmd->opts; o->name; o++)
			if (o->val == c) {
				snprintf(forms[n_forms], sizeof(forms[n_forms]), "--%s", o->name);
				v[n++] = forms[n_forms++];
				if (o->arg)
					v[n++] = optarg;
			}
	}
	if (cmd->opts[0].name)
		v[n++] = "--";
	while (optind < argc)
		v[n++] = argv[optind++];
	v[n] = NULL;
	*cmd_argc = n;
	*cmd_argv = v;
	return -1;
}

int cli_parse(struct cli *cli, int argc, char **argv, int *cmd_argc, char ***cmd_argv)
{
	bool help = false;
	int r;

	*cmd_argv = NULL;
	prescan(cli, argc, argv);
	r = parse_before(cli, argc, argv, &help);
	if (r >= 0)
		return r;
	if (optind >= argc) {
		/* "ftidx" alone: what there is to do */
		cli_usage(help ? stdout : stderr);
		return help ? EXIT_OK : EXIT_USAGE;
	}
	cli->cmd = cli_find_command(argv[optind]);
	if (!cli->cmd)
		return cli_unknown_command(cli, argv[optind]);
	/* from the command on: its name first, for getopt */
	argv += optind;
	argc -= optind;
	r = parse_command(cli, argc, argv, &help, cmd_argc, cmd_argv);
	if (r >= 0)
		return r;
	if (help) {
		free(*cmd_argv);
		*cmd_argv = NULL;
		if (cli->cmd->fn == cmd_help)
			cli_usage(stdout);
		else
			cli_command_help(stdout, cli->cmd);
		return EXIT_OK;
	}
	return -1;
}
