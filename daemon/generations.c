/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirfile.h"
#include "generations.h"
#include "macro.h"

#define GENERATIONS_FILE "generation"

int generations_load(int dirfd, uint64_t *out)
{
	char text[64];
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	fd = openat(dirfd, GENERATIONS_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	/* (the directory is ftidxd's own; the file must be too) */
	if (fstat(fd, &st) < 0)
		r = negative_errno();
	else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0022))
		r = -EPERM;
	n = r < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (r == 0 && n < 0)
		r = negative_errno();
	close(fd);
	if (r < 0)
		return r;
	text[n] = '\0';
	if (sscanf(text, "generation %" SCNu64 "\n", out) != 1)
		return -EBADMSG;
	return 0;
}

int generations_save(int dirfd, uint64_t generation)
{
	char text[64];
	int len = snprintf(text, sizeof(text), "generation %" PRIu64 "\n", generation);

	/* not durable: a crash of ftidxd leaves the page cache, and the
	 * directory is /run, which a reboot empties with every client */
	return dirfile_replace(dirfd, GENERATIONS_FILE, text, (size_t)len, 0644, (gid_t)-1, false);
}
