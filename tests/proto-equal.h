/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whole-message comparison of decoded protocol messages, for the codec's
 * tests and its fuzzer: every field a message of its type carries, so
 * that a codec that swapped two fields, or dropped one, is caught.
 */
#pragma once

#include <stdbool.h>
#include <string.h>

#include "proto.h"

static inline bool proto_eq_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static inline bool proto_eq_strs(const char *const *a, const char *const *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!proto_eq_str(a ? a[i] : NULL, b ? b[i] : NULL))
			return false;
	return true;
}

static inline bool proto_eq_mem(const void *a, const void *b, size_t len)
{
	return len == 0 || (a && b && memcmp(a, b, len) == 0);
}

static inline bool proto_request_equal(const struct proto_request *a, const struct proto_request *b)
{
	if (a->type != b->type || a->flags != b->flags || a->generation != b->generation ||
	    a->op != b->op || a->file != b->file || a->seconds != b->seconds ||
	    a->n_tokens != b->n_tokens || a->n_indices != b->n_indices || a->target != b->target ||
	    a->session != b->session || a->n_bytes != b->n_bytes ||
	    !proto_eq_mem(a->bytes, b->bytes, a->n_bytes))
		return false;
	if (a->type == FTIDX_MSG_CHANGE &&
	    (a->n_changes != b->n_changes ||
	     !proto_eq_mem(a->changes, b->changes, sizeof(a->changes[0]) * a->n_changes)))
		return false;
	return proto_eq_str(a->instance, b->instance) && proto_eq_str(a->module, b->module) &&
	       proto_eq_strs(a->tokens, b->tokens, a->n_tokens) &&
	       proto_eq_mem(a->indices, b->indices, sizeof(*a->indices) * a->n_indices);
}

static inline bool proto_token_sets_equal(const struct proto_reply *a, const struct proto_reply *b)
{
	uint32_t n = a->n_token_sets;

	return n == b->n_token_sets &&
	       (n == 0 ||
		(proto_eq_mem(a->token_set_start, b->token_set_start, sizeof(uint32_t) * (n + 1)) &&
		 proto_eq_mem(a->token_sets, b->token_sets,
			      sizeof(uint32_t) * a->token_set_start[n])));
}

static inline bool proto_items_equal(const struct proto_reply *a, const struct proto_reply *b)
{
	return a->n_items == b->n_items && a->n_failed == b->n_failed &&
	       a->n_enable == b->n_enable && a->n_disable == b->n_disable &&
	       a->written == b->written && a->n_lines == b->n_lines &&
	       proto_eq_mem(a->items, b->items, sizeof(*a->items) * a->n_items) &&
	       proto_eq_mem(a->enable, b->enable, sizeof(*a->enable) * a->n_enable) &&
	       proto_eq_mem(a->disable, b->disable, sizeof(*a->disable) * a->n_disable) &&
	       proto_eq_strs(a->reasons, b->reasons, a->n_failed) &&
	       proto_eq_strs(a->lines, b->lines, a->n_lines) && proto_token_sets_equal(a, b);
}

static inline bool proto_file_counts_equal(const struct proto_reply *a, const struct proto_reply *b)
{
	return a->n_file_counts == b->n_file_counts &&
	       proto_eq_mem(a->file_counts, b->file_counts,
			    sizeof(a->file_counts[0]) * a->n_file_counts);
}

static inline bool proto_reply_equal(const struct proto_reply *a, const struct proto_reply *b)
{
	if (a->type != b->type || a->status != b->status || a->generation != b->generation ||
	    !proto_eq_str(a->message, b->message))
		return false;
	switch (a->type) {
	case FTIDX_MSG_STATUS:
		if (a->entries != b->entries || a->placeholders != b->placeholders ||
		    a->modules != b->modules || a->module_entries != b->module_entries ||
		    a->distinct_names != b->distinct_names || a->status_flags != b->status_flags ||
		    a->clients != b->clients || a->build_ns != b->build_ns ||
		    a->built_at_ns != b->built_at_ns || a->n_filters != b->n_filters ||
		    a->daemon_uid != b->daemon_uid ||
		    !proto_eq_str(a->tracing_dir, b->tracing_dir) ||
		    !proto_eq_str(a->kernel_release, b->kernel_release) ||
		    !proto_eq_str(a->daemon_version, b->daemon_version) ||
		    !proto_eq_str(a->match_rules, b->match_rules) ||
		    !proto_eq_str(a->match_rules_how, b->match_rules_how) ||
		    !proto_eq_str(a->recovery, b->recovery) ||
		    !proto_eq_str(a->published, b->published) ||
		    a->published_generation != b->published_generation || a->daemon_pid != b->daemon_pid ||
		    a->started_at_ns != b->started_at_ns || a->uptime_ns != b->uptime_ns ||
		    !proto_eq_str(a->socket_path, b->socket_path))
			return false;
		for (uint32_t i = 0; i < a->n_filters; i++)
			if (a->filters[i].file != b->filters[i].file ||
			    a->filters[i].holds != b->filters[i].holds ||
			    a->filters[i].functions != b->filters[i].functions ||
			    a->filters[i].probes != b->filters[i].probes ||
			    a->filters[i].module_patterns != b->filters[i].module_patterns ||
			    !proto_eq_str(a->filters[i].instance, b->filters[i].instance))
				return false;
		return true;
	case FTIDX_MSG_RESOLVE:
		return proto_items_equal(a, b) && a->map_flags == b->map_flags &&
		       a->newest_generation == b->newest_generation;
	case FTIDX_MSG_FILTER:
		return proto_items_equal(a, b) && proto_file_counts_equal(a, b);
	case FTIDX_MSG_PROGRESS:
		return a->stage == b->stage && a->done == b->done && a->total == b->total &&
		       a->elapsed_ns == b->elapsed_ns;
	case FTIDX_MSG_CHANGE:
		if (!proto_items_equal(a, b) || a->n_changes != b->n_changes ||
		    !proto_file_counts_equal(a, b))
			return false;
		for (uint32_t k = 0; k < a->n_changes; k++) {
			const struct proto_change_result *x = &a->changes[k], *y = &b->changes[k];

			if (x->op != y->op || x->file != y->file || x->written != y->written ||
			    x->n_enable != y->n_enable || x->n_disable != y->n_disable ||
			    !proto_eq_mem(x->enable, y->enable, sizeof(uint32_t) * x->n_enable) ||
			    !proto_eq_mem(x->disable, y->disable, sizeof(uint32_t) * x->n_disable))
				return false;
		}
		return true;
	case FTIDX_MSG_VERSION:
		return a->proto_version == b->proto_version &&
		       a->proto_version_min == b->proto_version_min && a->role == b->role &&
		       a->capabilities == b->capabilities &&
		       proto_eq_str(a->daemon_version, b->daemon_version);
	case FTIDX_MSG_NAMES:
		return a->n_lines == b->n_lines && a->map_flags == b->map_flags &&
		       a->newest_generation == b->newest_generation &&
		       proto_eq_mem(a->line_status, b->line_status,
				    sizeof(*a->line_status) * a->n_lines) &&
		       proto_eq_strs(a->lines, b->lines, a->n_lines);
	case FTIDX_MSG_LIST:
		return a->n_lines == b->n_lines && !a->addresses == !b->addresses &&
		       a->map_flags == b->map_flags && a->newest_generation == b->newest_generation &&
		       proto_eq_mem(a->indices, b->indices, sizeof(*a->indices) * a->n_lines) &&
		       (!a->addresses ||
			proto_eq_mem(a->addresses, b->addresses, sizeof(*a->addresses) * a->n_lines)) &&
		       proto_eq_strs(a->lines, b->lines, a->n_lines);
	case FTIDX_MSG_SHOW:
		return a->holds == b->holds && a->ours == b->ours && a->n_lines == b->n_lines &&
		       proto_eq_mem(a->shown, b->shown, sizeof(*a->shown) * a->n_lines) &&
		       proto_eq_strs(a->lines, b->lines, a->n_lines);
	case FTIDX_MSG_INSTANCES:
		return a->n_lines == b->n_lines &&
		       proto_eq_mem(a->instance_flags, b->instance_flags,
				    sizeof(*a->instance_flags) * a->n_lines) &&
		       proto_eq_strs(a->lines, b->lines, a->n_lines);
	case FTIDX_MSG_HITS:
		return a->enabled == b->enabled && a->events == b->events && a->lost == b->lost &&
		       a->n_lines == b->n_lines &&
		       proto_eq_mem(a->indices, b->indices, sizeof(*a->indices) * a->n_lines) &&
		       proto_eq_mem(a->counts, b->counts, sizeof(*a->counts) * a->n_lines) &&
		       proto_eq_strs(a->lines, b->lines, a->n_lines);
	case FTIDX_MSG_SESSION:
		return a->session == b->session;
	case FTIDX_MSG_SESSION_SYNC:
		return a->committed == b->committed;
	case FTIDX_MSG_SESSION_WRITE:
		return a->result == b->result && a->n_steps == b->n_steps &&
		       proto_eq_mem(a->steps, b->steps, sizeof(*a->steps) * a->n_steps);
	case FTIDX_MSG_SESSION_STATE:
		return a->session == b->session && a->session_flags == b->session_flags &&
		       a->session_file == b->session_file && a->raw_error == b->raw_error &&
		       proto_eq_str(a->session_instance, b->session_instance);
	default:
		return true;
	}
}
