/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The matching rules of the running kernel, decided once at start-up (the
 * kernel cannot change under a running daemon). Distributions backport
 * fixes, so no rule is inferred from a version number: on a real tracefs
 * the kernel is asked, by writing a probe pattern by name to a scratch
 * instance's filter and reading back what it selected. A directory that
 * stands in for tracefs states its rules in a file, or gets the newest.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "glob.h"
#include "map.h"

/* The file a stand-in tracing directory states its rules in: one word,
 * as kernel_rules_name() spells it. */
#define KERNEL_RULES_FILE "ftidx-match-rules"

/* Scratch instances are named this prefix and the daemon's pid. */
#define KERNEL_RULES_PROBE_PREFIX "ftidx-probe-"

/*
 * Decide @rules for the kernel behind the tracing directory, which is a
 * real tracefs when @real_tracefs. @m is its map (the probe needs a name
 * from it). @how gets a sentence saying how it was decided. Never fails:
 * when the kernel cannot be asked, the rules are GLOB_CLASS_END_UNKNOWN,
 * under which every case where kernels differ is refused.
 */
void kernel_rules_decide(struct glob_rules *rules, const struct map *m, bool real_tracefs,
			 char *how, size_t how_size);

/* The rule set's name, as STATUS shows it. */
const char *kernel_rules_name(const struct glob_rules *rules);
