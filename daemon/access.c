/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Access control (see access.h). Groups come from SO_PEERGROUPS (Linux
 * 4.13+), which the kernel fills from the peer's credentials at connect
 * time: no NSS lookups per client, and no race with the peer changing
 * its groups afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "access.h"
#include "macro.h"
#include "proto.h"

enum access_role access_role(const struct access_policy *p, uid_t uid, gid_t gid,
			     const gid_t *groups, size_t n_groups)
{
	if (uid == 0 || uid == p->daemon_uid)
		return ACCESS_WRITE;
	if (p->has_write_group) {
		if (gid == p->write_group)
			return ACCESS_WRITE;
		for (size_t i = 0; i < n_groups; i++)
			if (groups[i] == p->write_group)
				return ACCESS_WRITE;
	}
	return p->others_denied ? ACCESS_DENIED : ACCESS_READ;
}

enum access_role access_role_of_peer(const struct access_policy *p, int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	_cleanup_free_ gid_t *groups = NULL;
	size_t n = 0;

	*uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return ACCESS_DENIED;
	*uid = cred.uid;
	if (p->has_write_group) {
		socklen_t glen = 64 * sizeof(gid_t);

		for (int tries = 0; tries < 4; tries++) {
			gid_t *g = realloc(groups, glen);

			if (!g)
				return ACCESS_DENIED;
			groups = g;
			if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0) {
				n = glen / sizeof(gid_t);
				break;
			}
			if (errno != ERANGE)
				break;
		}
	}
	return access_role(p, cred.uid, cred.gid, groups, n);
}

bool access_allows(enum access_role role, unsigned type)
{
	if (role == ACCESS_DENIED)
		return false;
	if (role == ACCESS_WRITE)
		return true;
	/* Queries only; a hit count changes tracing too (it runs the function
	 * tracer), and a type added later is a writer's until said otherwise. */
	switch (type) {
	case FTIDX_MSG_STATUS:
	case FTIDX_MSG_RESOLVE:
	case FTIDX_MSG_NAMES:
	case FTIDX_MSG_LIST:
	case FTIDX_MSG_VERSION:
	case FTIDX_MSG_CANCEL:
	/* waiting for others' sessions to be committed changes nothing */
	case FTIDX_MSG_SESSION_SYNC:
		return true;
	default:
		return false;
	}
}

bool access_shows_addresses(enum access_role role)
{
	return role == ACCESS_WRITE;
}
