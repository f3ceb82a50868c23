/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A directory that looks enough like tracefs for the map and the writer:
 * a fixture as available_filter_functions, a matching
 * dyn_ftrace_total_info and empty filter files. Removed by the caller with
 * fake_tracefs_remove().
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void fake_write(const char *dir, const char *name, const char *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
}

static inline unsigned long count_lines(const char *data, size_t len)
{
	unsigned long n = 0;

	for (size_t i = 0; i < len; i++)
		n += data[i] == '\n';
	return n;
}

/* Make a fake tracing directory from fixture text @data; @dir is a template
 * buffer like "/tmp/ftidx-XXXXXX" and is filled in. */
static inline void fake_tracefs_new(char *dir, const char *data, size_t len)
{
	char info[64];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	fake_write(dir, "available_filter_functions", data, len);
	snprintf(info, sizeof(info), "%lu pages:1 groups: 1\n", count_lines(data, len));
	fake_write(dir, "dyn_ftrace_total_info", info, strlen(info));
	fake_write(dir, "set_ftrace_filter", "", 0);
	fake_write(dir, "set_ftrace_notrace", "", 0);
}

static inline void fake_tracefs_remove(const char *dir)
{
	static const char *const files[] = {
		"available_filter_functions", "available_filter_functions_addrs",
		"dyn_ftrace_total_info", "set_ftrace_filter", "set_ftrace_notrace",
	};
	char path[4096];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}
