/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's module list as a fence for the map. An index is only
 * valid for the module state its map was read in, and the record count
 * alone cannot tell every change: "rmmod loop; insmod loop" leaves it as
 * it was while loop's lines move to the end. /proc/modules lists the
 * modules newest first with their state, and an unload shows a module as
 * "Unloading" before ftrace drops its records and removes it from the
 * list afterwards, so its names and states in order change with every
 * load, unload and reordering.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * A fingerprint of the module list read from @path (normally
 * /proc/modules): the names and states in order. *@settled (NULL: not
 * asked) says that no module is loading or unloading. A missing file is
 * an empty list.
 * Returns 0 or -errno.
 */
int modules_fingerprint(const char *path, uint64_t *fingerprint, bool *settled);
