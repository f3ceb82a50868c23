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

static void round_trip(int dir)
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
static void set_aside(const char *dir, int dfd)
{
	char name[64], path[4096], file[4096];
	struct intent in;
	const char *why = NULL;
	struct stat st;
	const char *cut = "ftidx-intent 1\ntime 1\nfil";
	FILE *f;

	snprintf(file, sizeof(file), "%s/" INTENT_FILE, dir);
	f = fopen(file, "w");
	fputs(cut, f);
	fclose(f);
	CHECK_EQ_INT(intent_load(dfd, &in, &why), -EBADMSG);
	CHECK(why && strstr(why, "cut short"));
	intent_deinit(&in);
	CHECK_EQ_INT(intent_set_aside(dfd, name, sizeof(name)), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)strlen(cut));
	CHECK(stat(file, &st) < 0);
	unlink(path);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		exit(1);
}

/*
 * Whoever can write the state directory can forge a record that the next
 * daemon writes into the filters: only a directory and a record that no
 * one but ftidxd's user may write are trusted, and nothing is ever
 * written through a link planted there.
 */
static void trust(const char *dir, int dfd)
{
	char sub[4096], link[4096], file[4096], target[4096], *text;
	const char *why = "";
	struct intent in;
	struct stat st;
	size_t len;
	int fd;

	snprintf(sub, sizeof(sub), "%s/public", dir);
	CHECK_EQ_INT(mkdir(sub, 0755), 0);
	CHECK_EQ_INT(chmod(sub, 01777), 0);
	CHECK_EQ_INT(intent_open_dir(sub, &fd, &why), -EPERM);
	CHECK(strstr(why, "others may write") != NULL);
	CHECK_EQ_INT(fd, -1);
	CHECK_EQ_INT(chmod(sub, 0755), 0);
	CHECK_EQ_INT(intent_open_dir(sub, &fd, &why), 0);
	close(fd);
	if (geteuid() == 0) {
		CHECK_EQ_INT(chown(sub, 65534, 65534), 0);
		CHECK_EQ_INT(intent_open_dir(sub, &fd, &why), -EPERM);
		CHECK(strstr(why, "another user") != NULL);
	}
	rmdir(sub);
	snprintf(link, sizeof(link), "%s/link", dir);
	CHECK_EQ_INT(symlink(dir, link), 0);
	CHECK_EQ_INT(intent_open_dir(link, &fd, &why), -ELOOP);
	unlink(link);
	/* missing: made, as only this user may write it */
	CHECK_EQ_INT(intent_open_dir(sub, &fd, &why), 0);
	CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_uid == geteuid());
	close(fd);
	rmdir(sub);

	/* a record: well-formed, but writable by others, or a link */
	CHECK_EQ_INT(intent_format(&sample, &text, &len), 0);
	snprintf(file, sizeof(file), "%s/" INTENT_FILE, dir);
	write_file(file, text);
	CHECK_EQ_INT(chmod(file, 0666), 0);
	CHECK_EQ_INT(intent_load(dfd, &in, &why), -EBADMSG);
	CHECK(strstr(why, "others may write") != NULL);
	intent_deinit(&in);
	CHECK_EQ_INT(chmod(file, 0600), 0);
	if (geteuid() == 0) {
		CHECK_EQ_INT(chown(file, 65534, 65534), 0);
		CHECK_EQ_INT(intent_load(dfd, &in, &why), -EBADMSG);
		CHECK(strstr(why, "another user") != NULL);
		intent_deinit(&in);
		CHECK_EQ_INT(chown(file, 0, 0), 0);
	}
	CHECK_EQ_INT(intent_load(dfd, &in, &why), 0);
	intent_deinit(&in);
	snprintf(target, sizeof(target), "%s/target", dir);
	write_file(target, text);
	unlink(file);
	CHECK_EQ_INT(symlink(target, file), 0);
	CHECK_EQ_INT(intent_load(dfd, &in, &why), -EBADMSG);
	CHECK(strstr(why, "symbolic link") != NULL);
	intent_deinit(&in);
	unlink(file);

	/* a link planted where the record is written is not written through */
	write_file(target, "precious\n");
	snprintf(link, sizeof(link), "%s/" INTENT_FILE ".new", dir);
	CHECK_EQ_INT(symlink(target, link), 0);
	CHECK_EQ_INT(intent_save(dfd, &sample), 0);
	{
		char *kept = test_read_file(target, &len);

		CHECK_EQ_STR(kept, "precious\n");
		free(kept);
	}
	CHECK(lstat(link, &st) < 0);
	CHECK(lstat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
	CHECK_EQ_INT(intent_load(dfd, &in, &why), 0);
	CHECK(same_intent(&sample, &in));
	intent_deinit(&in);
	unlink(file);
	unlink(target);
	free(text);
}

int main(void)
{
	char dir[] = "/tmp/ftidx-intent-XXXXXX";
	const char *why;
	int dfd;

	if (!mkdtemp(dir) || intent_open_dir(dir, &dfd, &why) < 0)
		return 1;
	round_trip(dfd);
	damage();
	malformed();
	set_aside(dir, dfd);
	trust(dir, dfd);
	close(dfd);
	rmdir(dir);
	return test_finish("test-intent");
}
