/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The instances ftidxd created for its clients (FILTER and CHANGE with
 * FTIDX_FILTER_CREATE_INSTANCE), and REMOVE_INSTANCE, which removes them
 * again (see service-instances.h).
 *
 * Only those: an instance someone else made is theirs (trace-cmd's, a
 * perf session's), and removing it would pull its ring buffer from under
 * them. The list lives as long as the daemon; an instance created before
 * a restart is removed with rmdir(2) like any other.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "service-instances.h"
#include "service-reply.h"
#include "service-state.h"
#include "service-written.h"
#include "tracing.h"

struct created_instance {
	char *name;
	struct created_instance *next;
};

static struct created_instance **find(struct service *s, const char *name)
{
	struct created_instance **at = &s->created;

	while (*at && strcmp((*at)->name, name) != 0)
		at = &(*at)->next;
	return at;
}

void service_instances_created(struct service *s, const char *name)
{
	struct created_instance *ci;

	if (*find(s, name))
		return;
	ci = calloc(1, sizeof(*ci));
	if (ci && (ci->name = strdup(name))) {
		ci->next = s->created;
		s->created = ci;
		return;
	}
	/* Then it cannot be removed through ftidx; nothing else is lost. */
	free(ci);
	log_warn("out of memory: instances/%s will not be removable through ftidx", name);
}

void service_instances_removed(struct service *s, const char *name)
{
	struct created_instance **at = find(s, name);
	struct created_instance *ci = *at;

	if (ci) {
		*at = ci->next;
		free(ci->name);
		free(ci);
	}
	service_written_forget_instance(s, name);
}

void service_instances_free(struct service *s)
{
	while (s->created) {
		struct created_instance *ci = s->created;

		s->created = ci->next;
		free(ci->name);
		free(ci);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A directory listing, in the loop: there are a handful of instances, and
 * the names are all it reads. Names no client could use are left out. */
int service_instances_list(struct service *s, const struct proto_request *req _unused_,
			   uint32_t id, struct proto_buf *out)
{
	struct proto_reply rep = { .type = FTIDX_MSG_INSTANCES, .generation = s->generation,
				   .message = "" };
	_cleanup_free_ const char **names = NULL;
	_cleanup_free_ uint32_t *flags = NULL;
	char **all = NULL;
	size_t n = 0, k = 0;
	int r = tracing_list_instances(&all);

	if (r < 0)
		return service_reply_plain(s, FTIDX_MSG_INSTANCES, id, -r,
					   "cannot list the tracing instances", out);
	while (all && all[n])
		n++;
	names = malloc(sizeof(*names) * (n ? n : 1));
	flags = malloc(sizeof(*flags) * (n ? n : 1));
	r = -ENOMEM;
	if (!names || !flags)
		goto done;
	for (size_t i = 0; i < n; i++) {
		const char *why;

		if (proto_instance_name_valid(all[i], &why))
			names[k++] = all[i];
	}
	qsort(names, k, sizeof(*names), cmp_str);
	for (size_t i = 0; i < k; i++)
		flags[i] = *find(s, names[i]) ? FTIDX_INSTANCE_CREATED : 0;
	rep.lines = names;
	rep.instance_flags = flags;
	rep.n_lines = (uint32_t)k;
	r = proto_encode_reply(out, id, &rep);
done:
	tracing_names_free(all);
	return r;
}

int service_instances_remove(struct service *s, const struct proto_request *req, uint32_t id,
				  struct proto_buf *out)
{
	struct created_instance *ci = *find(s, req->instance);
	char msg[256];
	int r;

	if (!tracing_instance_exists(req->instance)) {
		service_instances_removed(s, req->instance);
		return service_reply_plain(s, FTIDX_MSG_REMOVE_INSTANCE, id, ENOENT,
					   "no such instance", out);
	}
	if (!ci)
		return service_reply_plain(s, FTIDX_MSG_REMOVE_INSTANCE, id, EPERM,
					   "ftidxd removes only the instances it created; this one "
					   "is someone else's (or older than the daemon)",
					   out);
	r = tracing_remove_instance(req->instance);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot remove instances/%s: %s%s", req->instance,
			 strerror(-r),
			 r == -EBUSY ? " (a tracer runs there or a file of it is open)" : "");
		return service_reply_plain(s, FTIDX_MSG_REMOVE_INSTANCE, id, -r, msg, out);
	}
	service_instances_removed(s, req->instance);
	log_info("removed instances/%s", req->instance);
	return service_reply_plain(s, FTIDX_MSG_REMOVE_INSTANCE, id, 0, "", out);
}
