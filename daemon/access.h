/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may do what: from a peer's credentials (SO_PEERCRED) and groups
 * (SO_PEERGROUPS), a role. Root and the daemon's own user may do
 * everything; members of the write group may also change filters;
 * everyone else may read (resolve, names, list, status), or is refused.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum access_role {
	ACCESS_DENIED = 0,
	ACCESS_READ = 1,  /* STATUS, RESOLVE, NAMES, LIST */
	ACCESS_WRITE = 2, /* and FILTER */
};

struct access_policy {
	bool has_write_group;
	gid_t write_group;
	bool others_denied; /* else others may read */
	uid_t daemon_uid;
};

/* The role of a peer with @uid, primary @gid and supplementary @groups. */
enum access_role access_role(const struct access_policy *p, uid_t uid, gid_t gid,
			     const gid_t *groups, size_t n_groups);

/* The role of the peer on connected socket @fd, and its uid in *@uid.
 * Denied when the kernel will not say who it is. */
enum access_role access_role_of_peer(const struct access_policy *p, int fd, uid_t *uid);

/* Whether request type @type (enum ftidx_msg_type) is allowed to @role. */
bool access_allows(enum access_role role, unsigned type);

/* Whether @role may see kernel addresses. They would defeat KASLR, which
 * /proc/kallsyms guards with CAP_SYSLOG: only those who may change
 * tracing anyway see them. */
bool access_shows_addresses(enum access_role role);
