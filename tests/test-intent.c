/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The intent record: what is saved is what is loaded, field for field;
 * and a record cut short anywhere, corrupted anywhere, empty, of another
 * version, with a count that lies or bytes after its end, is refused with
 * a reason, never half trusted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intent.h"
#include "proto.h"
#include "testlib.h"

static char *before0[] = { "vfs_read", "type_show", "type_show", "lo_release [loop]" };
static char *after0[] = { "vfs_read", "vfs_write" };
static char *before1[] = { "" }; /* unused: an empty file */
static char *after1[] = { "schedule" };

static struct intent_file files[] = {
	{ "", FTIDX_FILE_FILTER, before0, 4, after0, 2 },
	{ "mine", FTIDX_FILE_NOTRACE, before1, 0, after1, 1 },
};
static const struct intent sample = { 1764640000123456789ull, files, 2, NULL };

static bool same_intent(const struct intent *a, const struct intent *b)
{
	if (a->time_ns != b->time_ns || a->n_files != b->n_files)
		return false;
	for (size_t k = 0; k < a->n_files; k++) {
		const struct intent_file *x = &a->files[k], *y = &b->files[k];

		if (strcmp(x->instance, y->instance) || x->file != y->file ||
		    x->n_before != y->n_before || x->n_after != y->n_after)
			return false;
		for (size_t i = 0; i < x->n_before; i++)
			if (strcmp(x->before[i], y->before[i]))
				return false;
		for (size_t i = 0; i < x->n_after; i++)
			if (strcmp(x->after[i], y->after[i]))
				return false;
	}
	return true;
}

/* Parse a copy of @len bytes of @text: the result, with *@why. */
static int parse_copy(const char *text, size_t len, const char **why)
{
	char *copy = malloc(len + 1);
	struct intent in;
	int r;

	memcpy(copy, text, len);
	copy[len] = '\0';
	*why = NULL;
	r = intent_parse(copy, len, &in, why);
	intent_deinit(&in); /* frees the copy */
	return r;
}

static void round_trip(const char *dir)
{
	struct intent in;
	const char *why = NULL;
	char *text;
	size_t len;

	CHECK_EQ_INT(intent_format(&sample, &text, &len), 0);
	CHECK(parse_copy(text, len, &why) == 0);
	free(text);

	CHECK_EQ_INT(intent_load(dir, &in, &why), -ENOENT);
	CHECK_EQ_INT(intent_save(dir, &sample), 0);
	CHECK_EQ_INT(intent_load(dir, &in, &why), 0);
	CHECK(same_intent(&sample, &in));
	intent_deinit(&in);
	/* saving again replaces it whole */
	CHECK_EQ_INT(intent_save(dir, &sample), 0);
	CHECK_EQ_INT(intent_remove(dir), 0);
	CHECK_EQ_INT(intent_load(dir, &in, &why), -ENOENT);
	CHECK_EQ_INT(intent_remove(dir), 0); /* none: fine */
}

/* Every prefix refused; every single flipped byte refused. */
static void damage(void)
{
	const char *why;
	char *text;
	size_t len, refused_cut = 0, refused_flip = 0;

	CHECK_EQ_INT(intent_format(&sample, &text, &len), 0);
	for (size_t cut = 0; cut < len; cut++)
		if (parse_copy(text, cut, &why) == -EBADMSG && why && why[0])
			refused_cut++;
	CHECK_EQ_INT(refused_cut, len);
	for (size_t at = 0; at < len; at++) {
		char *copy = strndup(text, len);

		copy[at] ^= 0x20;
		if (parse_copy(copy, len, &why) == -EBADMSG && why && why[0])
			refused_flip++;
		free(copy);
	}
	CHECK_EQ_INT(refused_flip, len);
	free(text);
}

static void malformed(void)
{
	static const char *const bad[] = {
		"",
		"\n",
		"ftidx-intent 2\ntime 1\nfiles 1\n",
		"ftidx-intent 1\ntime 1\nfiles 0\nend 0000000000000000\n",
		"ftidx-intent 1\ntime x\nfiles 1\n",
		"ftidx-intent 1\ntime 1\nfiles 9\n",
		"ftidx-intent 1\ntime 1\nfiles 1\nfile - set_ftrace_filter\nbefore 5\na\nafter 0\n",
		"ftidx-intent 1\ntime 1\nfiles 1\nfile ../x set_ftrace_filter\nbefore 0\nafter 0\n",
		"ftidx-intent 1\ntime 1\nfiles 1\nfile - /etc/passwd\nbefore 0\nafter 0\n",
		"ftidx-intent 1\ntime 1\nfiles 1\nfile - set_ftrace_filter\nbefore 1\n\nafter 0\n",
		"ftidx-intent 1\ntime 1\nfiles 1\nfile - set_ftrace_filter\nbefore 99999999999999999999\n",
	};
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse_copy(bad[i], strlen(bad[i]), &why);

		if (r != -EBADMSG)
			fprintf(stderr, "malformed record %zu was accepted\n", i);
		CHECK_EQ_INT(r, -EBADMSG);
		CHECK(why && why[0]);
	}

	/* bytes after a whole, valid record */
	{
		char *text, *more;
		size_t len;

		CHECK_EQ_INT(intent_format(&sample, &text, &len), 0);
		more = malloc(len + 2);
		memcpy(more, text, len);
		memcpy(more + len, "x\n", 2);
		CHECK_EQ_INT(parse_copy(more, len + 2, &why), -EBADMSG);
		free(more);
		free(text);
	}
}

/* A record that cannot be trusted is kept, under a name of its own. */
static void set_aside(const char *dir)
{
	char path[4096], file[4096];
	struct intent in;
	const char *why = NULL;
	struct stat st;
	const char *cut = "ftidx-intent 1\ntime 1\nfil";
	FILE *f;

	snprintf(file, sizeof(file), "%s/" INTENT_FILE, dir);
	f = fopen(file, "w");
	fputs(cut, f);
	fclose(f);
	CHECK_EQ_INT(intent_load(dir, &in, &why), -EBADMSG);
	CHECK(why && strstr(why, "cut short"));
	intent_deinit(&in);
	CHECK_EQ_INT(intent_set_aside(dir, path, sizeof(path)), 0);
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)strlen(cut));
	CHECK(stat(file, &st) < 0);
	unlink(path);
}

int main(void)
{
	char dir[] = "/tmp/ftidx-intent-XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	round_trip(dir);
	damage();
	malformed();
	set_aside(dir);
	rmdir(dir);
	return test_finish("test-intent");
}
