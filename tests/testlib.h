/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A minimal test harness: CHECK() records a failure and goes on, so one
 * run reports every broken expectation; test_finish() prints the tally
 * and gives the exit status meson expects (0 pass, 1 fail, 77 skip).
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned test_checks, test_failures;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		test_checks++;                                                        \
		if (!(cond)) {                                                        \
			test_failures++;                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
		}                                                                     \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                              \
	do {                                                                            \
		long long _a = (long long)(a), _b = (long long)(b);                     \
		test_checks++;                                                          \
		if (_a != _b) {                                                         \
			test_failures++;                                                \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
				__LINE__, #a, _a, #b, _b);                              \
		}                                                                       \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                              \
	do {                                                                            \
		const char *_a = (a), *_b = (b);                                        \
		test_checks++;                                                          \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                \
			test_failures++;                                                \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, \
				__LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)");  \
		}                                                                       \
	} while (0)

static inline int test_finish(const char *name)
{
	printf("%s: %u checks, %u failed\n", name, test_checks, test_failures);
	if (test_checks == 0)
		return 1; /* a test that checked nothing proves nothing */
	return test_failures ? 1 : 0;
}

/* Read a whole file into a malloc'd, NUL-terminated buffer, or exit. */
static inline char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}
