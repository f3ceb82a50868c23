/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whole-file replacement in a trusted directory (see dirfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirfile.h"
#include "macro.h"

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int dirfile_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    gid_t gid, bool durable)
{
	char tmp[256];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT)
		return negative_errno();
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return negative_errno();
	r = write_all(fd, data, len);
	/* the group first: the mode may open the file to it */
	if (r == 0 && gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0)
		r = negative_errno();
	if (r == 0 && fchmod(fd, mode) < 0)
		r = negative_errno();
	if (r == 0 && durable && fsync(fd) < 0)
		r = negative_errno();
	if (close(fd) < 0 && r == 0)
		r = negative_errno();
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = negative_errno();
	if (r == 0 && durable && fsync(dirfd) < 0)
		r = negative_errno();
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

bool dirfile_trusted(const struct stat *st, const char **why)
{
	if (st->st_uid != geteuid()) {
		*why = "it belongs to another user";
		return false;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		*why = "its group or others may write it";
		return false;
	}
	return true;
}

int dirfile_read(int dirfd, const char *name, size_t max, char **text, size_t *len,
		 const char **why)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	ssize_t n;

	*text = NULL;
	*len = 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP) {
		*why = "it is a symbolic link";
		return -EBADMSG;
	}
	if (fd < 0 || fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode)) {
		*why = "it is not a regular file";
		return -EBADMSG;
	}
	if (!dirfile_trusted(&st, why))
		return -EBADMSG;
	if ((uint64_t)st.st_size > max) {
		*why = "it is too large";
		return -EBADMSG;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text)
		return -ENOMEM;
	n = read(fd, *text, (size_t)st.st_size);
	if (n != st.st_size) {
		free(*text);
		*text = NULL;
		*why = "it could not be read whole";
		return -EBADMSG;
	}
	(*text)[n] = '\0';
	*len = (size_t)n;
	return 0;
}
