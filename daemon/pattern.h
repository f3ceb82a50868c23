/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One filter token, parsed the way the kernel's ftrace_process_regex() and
 * match_records() split it: an optional '!' (removal), a function part,
 * and an optional ":mod:MODULE" part whose module may itself start with
 * '!' (every module but this one). A function part that starts with a
 * digit is a line index.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "glob.h"
#include "proto.h"

/* Longest token accepted, ":mod:" part included (the kernel's parser
 * buffer is of the same order): the protocol's limit. */
#define PATTERN_MAX FTIDX_TOKEN_MAX

/* Every placeholder line is this prefix followed by an offset. */
#define PLACEHOLDER_PREFIX "__ftrace_invalid_address___"

struct pattern {
	bool remove;        /* leading '!' */
	bool is_index;      /* func is a line index; see @index */
	uint32_t index;     /* 1-based, already checked to be plain decimal */
	struct glob func;   /* points into the parsed string */
	bool has_module;    /* ":mod:" given */
	bool module_exclude;
	struct glob module; /* len 0 means "any module" (or none, if excluded) */
};

/*
 * Parse NUL-terminated @s into @p, which points into @s afterwards.
 * Returns 0, or a negative errno with *@why set to a static explanation:
 * -EINVAL (malformed), -ENAMETOOLONG, -ERANGE (index 0 or too large),
 * -EPERM (a placeholder asked for by name).
 */
int pattern_parse(struct pattern *p, const char *s, const char **why);

/* Whether @name (NUL-terminated, @len bytes) is a placeholder line's name. */
bool pattern_is_placeholder_name(const char *name, size_t len);
