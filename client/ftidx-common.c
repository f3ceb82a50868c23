/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the ftidx command's commands share: arguments, JSON, connecting,
 * reporting a refusal, printing lines.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
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
	growbuf_deinit(&sv->buf);
	free(sv->text);
	*sv = (struct strv){ 0 };
}

/* All of @f, NUL-terminated, or NULL (errno set). */
static char *read_all(FILE *f)
{
	struct growbuf b = { 0 };
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

/* The lines of @text, split in place, trimmed, blank ones and comments
 * skipped, onto @out. */
static int push_lines(char *text, struct strv *out)
{
	for (char *line = text, *next; line && *line; line = next) {
		char *end;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line && *line != '#' && strv_push(out, line) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * A batch of thousands of names comes on standard input: read in one
 * block and split in place (an allocation per name cost more than the
 * request's encoding), the arguments used as they are.
 */
int collect_patterns(int argc, char **argv, struct strv *out)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-") != 0) {
			if (strv_push(out, argv[i]) < 0)
				return -ENOMEM;
			continue;
		}
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

	if (r < 0) {
		fprintf(stderr, "ftidx: cannot reach ftidxd at %s: %s\n",
			cli->socket ? cli->socket
				    : (getenv("FTIDX_SOCKET") ? getenv("FTIDX_SOCKET")
							      : FTIDX_DEFAULT_SOCKET),
			strerror(-r));
		return EXIT_DAEMON;
	}
	if (cli->timeout_s >= 0)
		ftidx_set_timeout(cli->c, (unsigned)cli->timeout_s * 1000);
	ftidx_set_read_map(cli->c, cli->last_map ? FTIDX_READ_MAP_LAST : FTIDX_READ_MAP_CURRENT);
	if (isatty(STDERR_FILENO))
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

int report_failure(struct cli *cli, int r, const struct ftidx_result *res,
			  struct strv *tokens)
{
	const char *msg = ftidx_error_message(cli->c);

	progress_done(cli);
	/* the daemon was reached, and may be working on it still */
	if (r == -ETIMEDOUT) {
		fprintf(stderr,
			"ftidx: no answer from ftidxd within %ld s (--timeout); it may still be "
			"working on the request\n",
			cli->timeout_s >= 0 ? cli->timeout_s : 120);
		return EXIT_TIMEOUT;
	}
	for (size_t i = 0; res && tokens && i < ftidx_result_token_count(res); i++) {
		const char *why = "";

		if (ftidx_result_token_error(res, i, &why) < 0)
			fprintf(stderr, "ftidx: '%s': %s\n", i < tokens->n ? tokens->v[i] : "?",
				why);
	}
	fprintf(stderr, "ftidx: %s\n", msg[0] ? msg : strerror(-r));
	/* No reply at all means the daemon or the connection failed, but for
	 * a request refused before it was sent: over a protocol limit. */
	return res || r == -ESTALE || r == -EINVAL || r == -ENOENT || r == -ERANGE || r == -EACCES ||
			       r == -ENODATA || r == -EBUSY || r == -EPERM || r == -E2BIG ||
			       r == -EMSGSIZE || r == -EAGAIN || r == -EOPNOTSUPP
		       ? EXIT_REFUSED
		       : EXIT_DAEMON;
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
				printf("\"address\":\"%016" PRIx64 "\",", ftidx_result_address(res, i));
			else if (addresses)
				printf("\"address\":null,");
			printf("\"line\":");
			json_str(ftidx_result_line(res, i) ? ftidx_result_line(res, i) : "");
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
	static const char *const names[] = { "?", "set_ftrace_filter", "set_ftrace_notrace",
					     "set_graph_function", "set_graph_notrace" };

	/* libftidx checks what the daemon sends; this is no place to trust it */
	return file > 0 && (size_t)file < ARRAY_SIZE(names) ? names[file] : names[0];
}

int parse_generation(const char *command, const char *arg, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(arg, &end, 10);
	if (errno || *end || end == arg || arg[0] == '-' || *out == 0) {
		fprintf(stderr, "ftidx %s: --generation takes a map generation (a positive number "
				"from ftidx status)\n",
			command);
		return -EINVAL;
	}
	return 0;
}
