/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's function list, published for tools that only read it
 * (bpftrace, bcc, libbpf at every start). Reading available_filter_functions
 * costs the kernel a linear kallsyms search per module record: seconds on
 * a machine with many modules. ftidxd holds the same text in its map, so
 * it writes a copy beside its socket after every map it reads, byte for
 * byte the kernel's file at that map's generation:
 *
 *   available_filter_functions         mode 0644; under --others deny, 0640
 *                                      and the write group's (0600 without
 *                                      one), as LIST is theirs alone then
 *   available_filter_functions_addrs   mode 0640, the write group's (0600
 *                                      without one): addresses defeat KASLR
 *   available_filter_functions.stamp   which map they are (below), with
 *                                      the list's mode
 *
 * Each is replaced whole (dirfile.h), the stamp last. The stamp reads
 *
 *   generation N
 *   records R
 *   modules HEX
 *
 * (R lines; HEX the fingerprint of /proc/modules they were read between),
 * so that a reader can tell whether the copy is the kernel's now.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "map.h"

#define PUBLISH_LIST "available_filter_functions"
#define PUBLISH_ADDRS "available_filter_functions_addrs"
#define PUBLISH_STAMP "available_filter_functions.stamp"

struct publish_stamp {
	uint64_t generation;
	uint64_t modules_fingerprint;
};

/* Write @m's copies into the directory @dirfd, which no one else may
 * write (intent_open_dir()); @gid: the write group, which may read the
 * addresses (and with @others_denied the list), or (gid_t)-1. A map
 * without addresses removes an old copy of them. 0; 1 when what was meant
 * for @gid could not be given to it (no CAP_CHOWN) and is root's alone;
 * or -errno. */
int publish_list(int dirfd, const struct map *m, const struct publish_stamp *st, gid_t gid,
		 bool others_denied);
