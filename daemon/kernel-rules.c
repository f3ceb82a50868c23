/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Deciding the running kernel's matching rules (see kernel-rules.h).
 *
 * The probe is "NAME[!!-~]*" for a NAME on a line of the map: the class
 * holds every printable character, and no function name has any other, so
 * a kernel whose negated class stops at the end of a name matches nothing
 * (the write fails with EINVAL), while 6.1's, whose class takes the NUL
 * and then meets the final '*', matches exactly the lines named NAME. Its
 * answer is determined on both: nothing is read past the name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel-rules.h"
#include "log.h"
#include "macro.h"
#include "tracing.h"

static const char *const rule_names[] = {
	[GLOB_CLASS_END_STOPS] = "class-stops-at-end",
	[GLOB_CLASS_END_TAKES_NUL] = "class-takes-nul",
	[GLOB_CLASS_END_UNKNOWN] = "unknown",
};

const char *kernel_rules_name(const struct glob_rules *rules)
{
	return rule_names[rules->class_end];
}

/* A core function's name to probe with: plain, so that the probe is the
 * only glob in the pattern. NULL when the map has none. */
static const char *probe_name(const struct map *m, size_t *len)
{
	for (uint32_t index = 1; index <= map_size(m); index++) {
		const char *name = map_name(m, index);

		*len = map_name_len(m, index);
		if (map_is_placeholder(m, index) || map_module(m, index) || *len == 0 ||
		    *len > 200 || strcspn(name, "*?[]\\!:") < *len)
			continue;
		return name;
	}
	return NULL;
}

/* Lines of @text that are @name exactly, or -1 if any other line is there. */
static int count_lines_named(const char *text, const char *name, size_t len)
{
	int n = 0;

	for (const char *line = text; *line;) {
		size_t l = strcspn(line, "\n");

		if (line[0] != '#') {
			if (l != len || memcmp(line, name, len) != 0)
				return -1;
			n++;
		}
		line += l + (line[l] == '\n');
	}
	return n;
}

static int probe(struct glob_rules *rules, const struct map *m, char *how, size_t how_size)
{
	char instance[64], pattern[256];
	_cleanup_free_ char *back = NULL;
	const char *name;
	size_t len, back_len;
	int r, w, lines;

	name = probe_name(m, &len);
	if (!name) {
		snprintf(how, how_size, "not decided: no core function to probe with");
		return -ENOENT;
	}
	snprintf(pattern, sizeof(pattern), "%.*s[!!-~]*\n", (int)len, name);
	snprintf(instance, sizeof(instance), KERNEL_RULES_PROBE_PREFIX "%d", (int)getpid());
	if (tracing_remove_orphans(KERNEL_RULES_PROBE_PREFIX) > 0)
		log_info("removed scratch instances left by an ftidxd that died");
	/* Left by an earlier ftidxd with our pid (in a container, say). */
	if (tracing_instance_exists(instance))
		tracing_remove_instance(instance);
	r = tracing_create_instance(instance);
	if (r < 0) {
		snprintf(how, how_size, "not decided: cannot create a scratch instance (%s)",
			 strerror(-r));
		return r;
	}
	w = tracing_write_file(instance, "set_ftrace_filter", pattern);
	r = tracing_read_file(instance, "set_ftrace_filter", &back, &back_len);
	tracing_remove_instance(instance);
	if (r < 0) {
		snprintf(how, how_size, "not decided: cannot read the scratch filter back (%s)",
			 strerror(-r));
		return r;
	}
	pattern[strlen(pattern) - 1] = '\0';
	lines = count_lines_named(back, name, len);
	if (w == -EINVAL && lines == 0) {
		rules->class_end = GLOB_CLASS_END_STOPS;
	} else if (w == 0 && lines > 0) {
		rules->class_end = GLOB_CLASS_END_TAKES_NUL;
	} else {
		snprintf(how, how_size,
			 "not decided: the kernel answered the probe '%s' with %s and %d line(s)",
			 pattern, w < 0 ? strerror(-w) : "success", lines);
		return -EPROTO;
	}
	snprintf(how, how_size, "probed: '%s' written by name to a scratch instance %s", pattern,
		 lines ? "selected the lines of that name" : "matched nothing");
	return 0;
}

/* A stand-in directory's own statement, if it makes one. */
static int stated(struct glob_rules *rules, char *how, size_t how_size)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = tracing_read_file(NULL, KERNEL_RULES_FILE, &text, &len);

	if (r < 0)
		return r;
	len = strcspn(text, " \t\n");
	for (size_t i = 0; i < sizeof(rule_names) / sizeof(rule_names[0]); i++) {
		if (strlen(rule_names[i]) == len && memcmp(text, rule_names[i], len) == 0) {
			rules->class_end = (enum glob_class_end)i;
			snprintf(how, how_size, "stated in %s/%s", tracing_dir(),
				 KERNEL_RULES_FILE);
			return 0;
		}
	}
	snprintf(how, how_size, "not decided: %s/%s names no known rule set", tracing_dir(),
		 KERNEL_RULES_FILE);
	return -EINVAL;
}

void kernel_rules_decide(struct glob_rules *rules, const struct map *m, bool real_tracefs,
			 char *how, size_t how_size)
{
	int r;

	*rules = (struct glob_rules){ .class_end = GLOB_CLASS_END_STOPS };
	if (real_tracefs) {
		r = probe(rules, m, how, how_size);
	} else {
		r = stated(rules, how, how_size);
		if (r == -ENOENT) {
			snprintf(how, how_size, "the default: not a tracefs, and no %s file",
				 KERNEL_RULES_FILE);
			r = 0;
		}
	}
	if (r < 0) {
		rules->class_end = GLOB_CLASS_END_UNKNOWN;
		log_warn("matching rules %s; globs whose answer differs between kernels are "
			 "refused",
			 how);
	} else {
		log_info("matching rules %s: %s", kernel_rules_name(rules), how);
	}
}
