/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record of what ftidx wrote to each filter file (service-written.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "resolve.h"

struct service;
struct written;

void service_written_free_all(struct service *s);
struct written *service_written_find(struct service *s, const char *instance, uint16_t file);
void service_written_forget_instance(struct service *s, const char *instance);
/* Take the drift events queued so far: as other writers' (@foreign), or
 * as ftidx's own writes just made. */
void service_written_take_drift(struct service *s, bool foreign);
/* What a read of @w's file returns, if ftidx knows it without reading: a
 * complete record, no one else has written since, a tracefs that reads
 * back names. NULL otherwise, or when out of memory; free() it. */
char *service_written_known_text(struct service *s, const struct written *w);
/* Remember the state a successful @op with @res left in a filter file,
 * its verdict pending (the caller schedules the audit). @before: what the
 * file was read to hold before the write (the filter files'), which then
 * makes the record whole whatever was known before; NULL when it came
 * from the record. *@count: what the file held before and holds now, and
 * how many functions came and went, where ftidx can tell. 0, or -ENOMEM:
 * then the file has no record, since what it holds is not known. */
int service_written_record(struct service *s, const char *instance, uint16_t file, uint16_t op,
			   const char *before, const struct resolution *res,
			   struct proto_file_count *count);
/* Whether the filter of @w still holds what ftidx wrote (FTIDX_HOLDS_*),
 * as the audit last found it; AUDIT_PENDING when it has not read the file
 * since ftidx or anyone else last wrote it. */
uint16_t service_written_verdict(const struct service *s, const struct written *w);
/* Whether no record's verdict is pending. */
bool service_written_all_judged(const struct service *s);
