/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whether a change leaves a traced file empty (service-empty.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolve.h"

struct service;

/*
 * An empty set_ftrace_filter makes the function tracer trace every
 * function, and an empty set_graph_function makes the function_graph
 * tracer graph every function: a change that empties either by accident
 * (a removal of what the filter holds, an ADD of "!name" alone) is as
 * bad as a SET that selects nothing. An empty notrace file excludes
 * nothing, which is harmless.
 *
 * Whether @op (enum ftidx_filter_op) with @res leaves @file of @instance
 * empty of functions, from what it holds: ftidx's record of its own last
 * write when that is the whole filter and no one wrote it since, else
 * @before (the file read, or NULL). CLEAR asks for it, and the notrace
 * files are never refused. Where the file's text cannot say (a line the
 * map does not have, a stand-in's text), it is not.
 */
bool service_leaves_empty(struct service *s, const char *instance, uint16_t file, uint16_t op,
			  const struct resolution *res, const char *before);

/* Why a change that leaves @file empty is refused, for the reply. */
const char *service_empty_why(uint16_t file);
