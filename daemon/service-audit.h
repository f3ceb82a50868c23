/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Filters read back off the loop, and judged on it (service-audit.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct service;

/* A filter file is about to be written: audits wait for quiet, and one
 * in progress is void. */
void service_audit_note_write(struct service *s);
/* Read back a record whose audit is pending, off the loop, once writes
 * are quiet. */
void service_audit_soon(struct service *s);
/* Someone waits for the verdicts: read every pending record now, without
 * waiting for quiet. False when the audit cannot run at all. */
bool service_audit_hurry(struct service *s);
/* A finished audit read: compare it (on the loop). */
void service_audit_complete(struct service *s);
void service_audit_shutdown(struct service *s);
