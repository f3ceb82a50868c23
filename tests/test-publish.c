/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The published function list on the real fixtures: byte for byte the
 * kernel's file (placeholders in a module's block included), the plain
 * list from the _addrs text where the kernel has one, modes that keep
 * addresses from everyone else (and the list too, when others may not
 * list), the stamp, and a planted file where the copy is made that is
 * never written through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture-map.h"
#include "map.h"
#include "publish.h"
#include "testlib.h"

static char dir[64];
static int dirfd_;

static char *read_published(const char *name, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return test_read_file(path, len);
}

static mode_t mode_of(const char *name)
{
	struct stat st;

	return fstatat(dirfd_, name, &st, 0) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* The fixture's text as available_filter_functions_addrs would list it. */
static char *with_addresses(const char *text, size_t len, size_t *out_len)
{
	char *out = malloc(len * 2 + 64), *o = out;
	unsigned long long addr = 0xffffffff81000000ull;

	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl + 1 : end) - p);

		o += sprintf(o, "%llx ", addr += 0x40);
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	*out_len = (size_t)(o - out);
	return out;
}

static void publishes_the_kernels_text(const char *fixtures)
{
	struct publish_stamp st = { 7, 0x1234abcdull };
	struct map *m = fixture_map(fixtures, "debian-6.1-many.txt");
	char path[4096], *want, *got, *stamp;
	size_t want_len, got_len, stamp_len;

	snprintf(path, sizeof(path), "%s/debian-6.1-many.txt", fixtures);
	want = test_read_file(path, &want_len);
	/* an old copy of addresses goes with a map that has none */
	CHECK_EQ_INT(mkdirat(dirfd_, PUBLISH_ADDRS, 0700) == 0 ? unlinkat(dirfd_, PUBLISH_ADDRS,
									   AT_REMOVEDIR)
							       : -1,
		     0);
	close(openat(dirfd_, PUBLISH_ADDRS, O_WRONLY | O_CREAT, 0600));
	CHECK_EQ_INT(publish_list(dirfd_, m, &st, (gid_t)-1, false), 0);
	got = read_published(PUBLISH_LIST, &got_len);
	CHECK_EQ_INT(got_len, want_len);
	CHECK(got_len == want_len && memcmp(got, want, want_len) == 0);
	CHECK_EQ_INT(mode_of(PUBLISH_LIST), 0644);
	CHECK_EQ_INT(faccessat(dirfd_, PUBLISH_ADDRS, F_OK, 0), -1);
	stamp = read_published(PUBLISH_STAMP, &stamp_len);
	CHECK_EQ_STR(stamp, "generation 7\nrecords 76480\nmodules 000000001234abcd\n");
	CHECK_EQ_INT(mode_of(PUBLISH_STAMP), 0644);
	free(stamp);
	free(got);
	free(want);
	map_free(m);
}

static void publishes_addresses_apart(const char *fixtures)
{
	struct publish_stamp st = { 8, 1 };
	char path[4096], *plain, *addrs, *got;
	size_t plain_len, addrs_len, got_len;
	struct map *m = NULL;

	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", fixtures);
	plain = test_read_file(path, &plain_len);
	addrs = with_addresses(plain, plain_len, &addrs_len);
	{
		char *copy = malloc(addrs_len);

		memcpy(copy, addrs, addrs_len);
		CHECK_EQ_INT(map_new_from_buffer(&m, copy, addrs_len, true), 0);
	}
	/* addresses: root's alone without a write group */
	CHECK_EQ_INT(publish_list(dirfd_, m, &st, (gid_t)-1, false), 0);
	got = read_published(PUBLISH_ADDRS, &got_len);
	CHECK(got_len == addrs_len && memcmp(got, addrs, addrs_len) == 0);
	free(got);
	CHECK_EQ_INT(mode_of(PUBLISH_ADDRS), 0600);
	got = read_published(PUBLISH_LIST, &got_len);
	CHECK_EQ_INT(got_len, plain_len);
	CHECK(got_len == plain_len && memcmp(got, plain, plain_len) == 0);
	free(got);
	/* ...and the write group's too with one */
	CHECK_EQ_INT(publish_list(dirfd_, m, &st, getgid(), false), 0);
	CHECK_EQ_INT(mode_of(PUBLISH_ADDRS), 0640);
	free(plain);
	free(addrs);
	map_free(m);
}

/* Without CAP_CHOWN (ftidxd.service's bounding set) the write group
 * cannot be given the addresses: they are root's alone, never everyone's,
 * and the rest is published all the same. In a child that drops it. */
static void addresses_without_chown(const char *fixtures)
{
	struct publish_stamp st = { 10, 3 };
	char path[4096], *plain, *addrs;
	size_t plain_len, addrs_len;
	struct map *m = NULL;
	int status = -1;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", fixtures);
	plain = test_read_file(path, &plain_len);
	addrs = with_addresses(plain, plain_len, &addrs_len);
	CHECK_EQ_INT(map_new_from_buffer(&m, addrs, addrs_len, true), 0);
	pid = fork();
	if (pid == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];

		if (syscall(SYS_capget, &h, d) < 0)
			_exit(2);
		d[0].effective &= ~(1u << CAP_CHOWN);
		if (syscall(SYS_capset, &h, d) < 0)
			_exit(2);
		/* a group this process is not in */
		_exit(publish_list(dirfd_, m, &st, getgid() + 4242, false) == 1 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ_INT(mode_of(PUBLISH_ADDRS), 0600);
	CHECK_EQ_INT(mode_of(PUBLISH_LIST), 0644);
	free(plain);
	map_free(m);
}

/* Under --others deny, LIST is root's and the write group's alone: so is
 * the copy, and its stamp (which says how long the list is). */
static gid_t group_of(const char *name)
{
	struct stat st;

	return fstatat(dirfd_, name, &st, 0) == 0 ? st.st_gid : (gid_t)-1;
}

static void others_denied(const char *fixtures)
{
	struct publish_stamp st = { 11, 4 };
	struct map *m = fixture_map(fixtures, "debian-6.1-base.txt");
	int status = -1;
	pid_t pid;

	/* with a write group: 0640, the group's */
	CHECK_EQ_INT(publish_list(dirfd_, m, &st, getgid(), true), 0);
	CHECK_EQ_INT(mode_of(PUBLISH_LIST), 0640);
	CHECK_EQ_INT(mode_of(PUBLISH_STAMP), 0640);
	CHECK_EQ_INT(group_of(PUBLISH_LIST), getgid());
	CHECK_EQ_INT(group_of(PUBLISH_STAMP), getgid());
	/* without one: root's alone */
	CHECK_EQ_INT(publish_list(dirfd_, m, &st, (gid_t)-1, true), 0);
	CHECK_EQ_INT(mode_of(PUBLISH_LIST), 0600);
	CHECK_EQ_INT(mode_of(PUBLISH_STAMP), 0600);
	/* a group it cannot give them to (no CAP_CHOWN): root's alone, said */
	pid = fork();
	if (pid == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];

		if (syscall(SYS_capget, &h, d) < 0)
			_exit(2);
		d[0].effective &= ~(1u << CAP_CHOWN);
		if (syscall(SYS_capset, &h, d) < 0)
			_exit(2);
		_exit(publish_list(dirfd_, m, &st, getgid() + 4242, true) == 1 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ_INT(mode_of(PUBLISH_LIST), 0600);
	CHECK_EQ_INT(mode_of(PUBLISH_STAMP), 0600);
	/* others may list again: everyone's again */
	CHECK_EQ_INT(publish_list(dirfd_, m, &st, getgid(), false), 0);
	CHECK_EQ_INT(mode_of(PUBLISH_LIST), 0644);
	CHECK_EQ_INT(mode_of(PUBLISH_STAMP), 0644);
	map_free(m);
}

/* A link planted where the copy is made is replaced, never followed. */
static void planted_link_not_followed(const char *fixtures)
{
	struct publish_stamp st = { 9, 2 };
	struct map *m = fixture_map(fixtures, "debian-6.1-base.txt");
	char victim[128], link[128];
	size_t len;
	char *text;

	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(link, sizeof(link), "%s/" PUBLISH_LIST ".new", dir);
	close(open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0600));
	CHECK_EQ_INT(symlink(victim, link), 0);
	CHECK_EQ_INT(publish_list(dirfd_, m, &st, (gid_t)-1, false), 0);
	text = test_read_file(victim, &len);
	CHECK_EQ_INT(len, 0);
	CHECK_EQ_INT(faccessat(dirfd_, PUBLISH_LIST ".new", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	free(text);
	unlink(victim);
	map_free(m);
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 1 ? argv[1] : "tests/fixtures";
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/ftidx-publish-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	publishes_the_kernels_text(fixtures);
	publishes_addresses_apart(fixtures);
	addresses_without_chown(fixtures);
	others_denied(fixtures);
	planted_link_not_followed(fixtures);
	close(dirfd_);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return test_finish("test-publish");
}
