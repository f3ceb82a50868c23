/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The intent of each write, and recovery at start (service-recover.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolve.h"

struct service;

/*
 * Before the first write of a change of @n files of @instance: record,
 * per file, what it holds (@befores, as read or known) and what @ops with
 * @res will make of it. 0 or -errno (said once; the write goes on).
 */
int service_recover_begin(struct service *s, const char *instance, size_t n,
			 const uint16_t *files, const uint16_t *ops, char *const *befores,
			 const struct resolution *res);
/* The change is proven, or undone: its record goes. */
void service_recover_end(struct service *s);

/*
 * Where intent records go: @dir, or NULL for the default
 * (intent_default_dir()), held for this service's life (its lock file,
 * intent_lock_dir()). Writes are crash-safe from then on. 0, -EBUSY when
 * another ftidxd holds @dir (said in the log: this one must not start),
 * or -errno when @dir cannot be used or is not to be trusted (another
 * user's, or writable by others: see intent_open_dir()); then writes are
 * not crash-safe, which the log and STATUS say.
 */
int service_recover_set_dir(struct service *s, const char *dir);

/* At start, before serving: finish or undo a write a crash interrupted,
 * from its intent record (STATUS then says what was found and done). */
void service_recover_start(struct service *s);
