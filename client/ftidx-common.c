/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the ftidx command's commands share: patterns read as the kernel
 * reads a write, JSON, connecting, reporting a refusal or an error,
 * printing lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftidx-cli.h"
#include "ftidx.h"
#include "growbuf.h"
#include "macro.h"

void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

void json_line(const char *line)
{
	const char *sp = strchr(line, ' ');
	size_t len = strlen(line);

	printf("\"line\":");
	json_str(line);
	/* "name [module]", as available_filter_functions lists it */
	if (sp && sp[1] == '[' && line[len - 1] == ']') {
		printf(",\"name\":\"");
		for (const char *p = line; p < sp; p++)
			if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
				printf("\\u%04x", (unsigned char)*p);
			else
				putchar(*p);
		printf("\",\"module\":\"");
		for (const char *p = sp + 2; p < line + len - 1; p++)
			if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
				printf("\\u%04x", (unsigned char)*p);
			else
				putchar(*p);
		printf("\"");
	} else {
		printf(",\"name\":");
		json_str(line);
		printf(",\"module\":null");
	}
}

const char *errno_name(int e)
{
	static const struct {
		int e;
		const char *name;
	} names[] = {
	    {EINVAL, "EINVAL"},
	    {ESTALE, "ESTALE"},
	    {ENOENT, "ENOENT"},
	    {ENODATA, "ENODATA"},
	    {ERANGE, "ERANGE"},
	    {EIO, "EIO"},
	    {EBUSY, "EBUSY"},
	    {EACCES, "EACCES"},
	    {EPERM, "EPERM"},
	    {ECANCELED, "ECANCELED"},
	    {E2BIG, "E2BIG"},
	    {EOPNOTSUPP, "EOPNOTSUPP"},
	    {EAGAIN, "EAGAIN"},
	    {ETIMEDOUT, "ETIMEDOUT"},
	    {ECONNREFUSED, "ECONNREFUSED"},
	    {EMSGSIZE, "EMSGSIZE"},
	    {ENOMEM, "ENOMEM"},
	    {EPROTO, "EPROTO"},
	    {ECONNABORTED, "ECONNABORTED"},
	    {EUSERS, "EUSERS"},
	    {EBADMSG, "EBADMSG"},
	    {ENOSPC, "ENOSPC"},
	    {EPIPE, "EPIPE"},
	    {ECONNRESET, "ECONNRESET"},
	    {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
	    {ENOEXEC, "ENOEXEC"},
	};
	static char other[16];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].e == e)
			return names[i].name;
	snprintf(other, sizeof(other), "E%d", e);
	return other;
}

int cli_error(struct cli *cli, int status, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ftidx%s%s: %s%s%s\n", cli->cmd ? " " : "", cli->cmd ? cli->cmd->name : "",
		msg, err ? ": " : "", err ? strerror(err) : "");
	if (cli->json) {
		printf("{\"error\":{\"exit\":%d,\"errno\":", status);
		if (err)
			json_str(errno_name(err));
		else
			printf("null");
		printf(",\"message\":");
		if (err) {
			char full[1200];

			snprintf(full, sizeof(full), "%s: %s", msg, strerror(err));
			json_str(full);
		} else {
			json_str(msg);
		}
		printf("}}\n");
	}
	return status;
}

int strv_push(struct strv *sv, char *s)
{
	growbuf_append(&sv->buf, &s, sizeof(s));
	if (sv->buf.failed)
		return -ENOMEM;
	sv->v = (char **)sv->buf.data;
	sv->n = sv->buf.len / sizeof(s);
	return 0;
}

void strv_free(struct strv *sv)
{
	char **made = (char **)sv->made.data;

	for (size_t i = 0; i < sv->made.len / sizeof(*made); i++)
		free(made[i]);
	growbuf_deinit(&sv->made);
	growbuf_deinit(&sv->buf);
	free(sv->text);
	*sv = (struct strv){0};
}

/* All of @f, NUL-terminated, or NULL (errno set). */
static char *read_all(FILE *f)
{
	struct growbuf b = {0};
	size_t n;

	do {
		char *room = growbuf_room(&b, (64u << 10) + 1);

		if (!room) {
			errno = ENOMEM;
			return NULL;
		}
		n = fread(room, 1, 64u << 10, f);
		b.len += n;
	} while (n == 64u << 10);
	if (ferror(f)) {
		int e = errno ? errno : EIO;

		growbuf_deinit(&b);
		errno = e;
		return NULL;
	}
	b.data[b.len] = '\0';
	return (char *)b.data;
}

/* The kernel's whitespace, as its parser takes a write apart (isspace()). */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* "[module]": a module as available_filter_functions lists it. */
static bool is_module_token(const char *t)
{
	size_t len = strlen(t);

	if (len < 3 || t[0] != '[' || t[len - 1] != ']')
		return false;
	for (size_t i = 1; i < len - 1; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || t[i] == '-'))
			return false;
	return true;
}

/* "name" and "[module]" into "name:mod:module", owned by @out. */
static int merge_module(struct strv *out, const char *name, const char *module)
{
	size_t len = strlen(module);
	char *s = NULL;

	if (asprintf(&s, "%s:mod:%.*s", name, (int)(len - 2), module + 1) < 0)
		return -ENOMEM;
	growbuf_append(&out->made, &s, sizeof(s));
	if (out->made.failed) {
		free(s);
		return -ENOMEM;
	}
	out->v[out->n - 1] = s;
	return 0;
}

/* The tokens of @text (an argument, or a line of standard input), split
 * in place, onto @out. */
static int push_tokens(char *text, struct strv *out)
{
	size_t first = out->n;

	for (char *p = text; *p;) {
		char *tok;

		while (is_space(*p))
			p++;
		if (!*p)
			break;
		tok = p;
		while (*p && !is_space(*p))
			p++;
		if (*p)
			*p++ = '\0';
		/* a module after a name without one, as the kernel's list has it */
		if (out->n > first && is_module_token(tok) && !strchr(out->v[out->n - 1], ':')) {
			if (merge_module(out, out->v[out->n - 1], tok) < 0)
				return -ENOMEM;
			continue;
		}
		if (strv_push(out, tok) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The lines of @text, split in place, comments skipped, onto @out. */
static int push_lines(char *text, struct strv *out)
{
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (is_space(*line))
			line++;
		if (*line != '#' && push_tokens(line, out) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * A batch of thousands of names comes on standard input: read in one
 * block and split in place (an allocation per name cost more than the
 * request's encoding), the arguments split in place too.
 */
int collect_patterns(int argc, char **argv, struct strv *out)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-") != 0) {
			if (push_tokens(argv[i], out) < 0)
				return -ENOMEM;
			continue;
		}
		out->read_stdin = true;
		/* a second "-" finds standard input read */
		if (out->text)
			continue;
		out->text = read_all(stdin);
		if (!out->text) {
			fprintf(stderr, "ftidx: cannot read standard input: %s\n", strerror(errno));
			return -errno;
		}
		if (push_lines(out->text, out) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * On a terminal, from a second on: how long, and what the request waits
 * for, on one line rewritten in place (progress_done() takes it off).
 */
static void show_progress(void *userdata, int stage, uint32_t done, uint32_t total,
			  uint64_t elapsed_ms, const char *what)
{
	struct cli *cli = userdata;

	if (elapsed_ms < 1000)
		return;
	fprintf(stderr, "\rftidx: %" PRIu64 " s: ", elapsed_ms / 1000);
	if (stage == FTIDX_STAGE_RESOLVING && total)
		fprintf(stderr, "ftidxd resolves the patterns: %u of %u", done, total);
	else if (what[0])
		fputs(what, stderr);
	else if (stage == FTIDX_STAGE_MAP)
		fputs("waiting for ftidxd to read the kernel's functions anew", stderr);
	else if (stage == FTIDX_STAGE_RESTORING)
		fputs("a write that failed is being put back", stderr);
	else
		fputs("waiting for ftidxd's answer", stderr);
	fputs("\033[K", stderr);
	cli->progress_shown = true;
}

void progress_done(struct cli *cli)
{
	if (cli->progress_shown)
		fputs("\r\033[K", stderr);
	cli->progress_shown = false;
}

int connect_daemon(struct cli *cli)
{
	int r = ftidx_connect(cli->socket, &cli->c);

	if (r < 0)
		return cli_error(cli, EXIT_DAEMON, -r, "cannot reach ftidxd at %s",
				 cli->socket ? cli->socket
					     : (getenv("FTIDX_SOCKET") ? getenv("FTIDX_SOCKET")
								       : FTIDX_DEFAULT_SOCKET));
	if (cli->timeout_s >= 0)
		ftidx_set_timeout(cli->c, (unsigned)cli->timeout_s * 1000);
	ftidx_set_read_map(cli->c, cli->last_map ? FTIDX_READ_MAP_LAST : FTIDX_READ_MAP_CURRENT);
	if (isatty(STDERR_FILENO) && !cli->quiet)
		ftidx_set_progress(cli->c, show_progress, cli);
	return EXIT_OK;
}

int check_behind(struct cli *cli, const struct ftidx_result *res)
{
	uint64_t gen = ftidx_result_generation(res), newest = ftidx_result_newest_generation(res);

	if (!ftidx_result_map_behind(res))
		return EXIT_OK;
	if (newest > gen)
		fprintf(stderr,
			"ftidx: warning: answered from map generation %" PRIu64 ", which is behind "
			"the kernel's functions: ftidxd has read generation %" PRIu64 " since\n",
			gen, newest);
	else
		fprintf(stderr,
			"ftidx: warning: answered from map generation %" PRIu64 ", which is behind "
			"the kernel's functions: a module came or went, and ftidxd has not read them "
			"yet (that will be generation %" PRIu64 ")%s\n",
			gen, gen + 1,
			cli->last_map ? " (--last-map)"
				      : ", though it waited as long as ftidxd lets a read wait "
					"(--map-wait)");
	return EXIT_BEHIND;
}

int report_failure(struct cli *cli, int r, const struct ftidx_result *res, struct strv *tokens)
{
	const char *msg = ftidx_error_message(cli->c);
	size_t n = res && tokens ? ftidx_result_token_count(res) : 0, k = 0;
	/* No reply at all means the daemon or the connection failed, but for
	 * a request refused before it was sent: over a protocol limit. */
	int status = res || r == -ESTALE || r == -EINVAL || r == -ENOENT || r == -ERANGE ||
			     r == -EACCES || r == -ENODATA || r == -EBUSY || r == -EPERM ||
			     r == -EOPNOTSUPP || r == -E2BIG || r == -EMSGSIZE || r == -EAGAIN
			 ? EXIT_REFUSED
			 : EXIT_DAEMON;

	progress_done(cli);
	/* the daemon was reached, and may be working on it still */
	if (r == -ETIMEDOUT)
		return cli_error(cli, EXIT_TIMEOUT, ETIMEDOUT,
				 "no answer from ftidxd within %ld s (--timeout); it may still be "
				 "working on the request",
				 cli->timeout_s >= 0 ? cli->timeout_s : 120);
	for (size_t i = 0; i < n; i++) {
		const char *why = "";

		if (ftidx_result_token_error(res, i, &why) < 0)
			fprintf(stderr, "ftidx: '%s': %s\n", i < tokens->n ? tokens->v[i] : "?",
				why);
	}
	fprintf(stderr, "ftidx: %s\n", msg[0] ? msg : strerror(-r));
	if (!cli->json)
		return status;
	printf("{\"error\":{\"exit\":%d,\"errno\":\"%s\",\"message\":", status, errno_name(-r));
	json_str(msg[0] ? msg : strerror(-r));
	printf(",\"patterns\":[");
	for (size_t i = 0; i < n; i++) {
		const char *why = "";
		int e = ftidx_result_token_error(res, i, &why);

		if (e >= 0)
			continue;
		printf("%s{\"index\":%zu,\"pattern\":", k++ ? "," : "", i);
		json_str(i < tokens->n ? tokens->v[i] : "?");
		printf(",\"errno\":\"%s\",\"reason\":", errno_name(-e));
		json_str(why);
		putchar('}');
	}
	printf("]}}\n");
	return status;
}

/* Lines as INDEX<TAB>LINE, or INDEX<TAB>ADDRESS<TAB>LINE with @addresses
 * (in hex, as /proc/kallsyms shows them; 0 when the kernel lists none). */
void print_lines(struct cli *cli, const struct ftidx_result *res, bool addresses)
{
	size_t n = ftidx_result_count(res);

	if (cli->json) {
		printf("{\"generation\":%" PRIu64 ",\"behind\":%s,\"newest_generation\":%" PRIu64
		       ",\"functions\":[",
		       ftidx_result_generation(res), ftidx_result_map_behind(res) ? "true" : "false",
		       ftidx_result_newest_generation(res));
		for (size_t i = 0, k = 0; i < n; i++) {
			if (ftidx_result_line_error(res, i) < 0)
				continue;
			printf("%s{\"index\":%u,", k++ ? "," : "", ftidx_result_index(res, i));
			/* a string: JSON numbers lose 64-bit precision */
			if (addresses && ftidx_result_address(res, i))
				printf("\"address\":\"%016" PRIx64 "\",",
				       ftidx_result_address(res, i));
			else if (addresses)
				printf("\"address\":null,");
			json_line(ftidx_result_line(res, i) ? ftidx_result_line(res, i) : "");
			putchar('}');
		}
		printf("]}\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (ftidx_result_line_error(res, i) < 0)
			continue;
		printf("%u\t", ftidx_result_index(res, i));
		if (addresses)
			printf("%016" PRIx64 "\t", ftidx_result_address(res, i));
		printf("%s\n", ftidx_result_line(res, i) ? ftidx_result_line(res, i) : "");
	}
}

const char *file_name(int file)
{
	static const char *const names[] = {"?", "set_ftrace_filter", "set_ftrace_notrace",
					    "set_graph_function", "set_graph_notrace"};

	/* libftidx checks what the daemon sends; this is no place to trust it */
	return file > 0 && (size_t)file < ARRAY_SIZE(names) ? names[file] : names[0];
}

int parse_generation(struct cli *cli, const char *arg, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(arg, &end, 10);
	if (errno || *end || end == arg || arg[0] == '-' || *out == 0) {
		cli_error(cli, EXIT_USAGE, 0,
			  "--generation takes a map generation (a positive number from ftidx "
			  "status), not '%s'",
			  arg);
		return -EINVAL;
	}
	return 0;
}
