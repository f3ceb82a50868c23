/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libc's own functions, for the drop-in's wrappers of them (the list
 * redirect's opens, the filter redirect's writes and closes).
 */
#pragma once

#include <dlfcn.h>
#include <stdatomic.h>

/* libc's own @name, looked up once into @slot: the wrapped calls come
 * often enough that a dlsym() on each would cost every program run
 * under the drop-in. */
static inline void *real_symbol(_Atomic(void *) *slot, const char *name)
{
	void *fn = atomic_load_explicit(slot, memory_order_acquire);

	if (!fn) {
		fn = dlsym(RTLD_NEXT, name);
		atomic_store_explicit(slot, fn, memory_order_release);
	}
	return fn;
}
