/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The two systemd protocols a service needs, implemented from their
 * documented wire formats so that the root daemon does not link
 * libsystemd (and the compression and crypto libraries it brings):
 *
 * - socket activation: the manager passes listening sockets from fd 3 on,
 *   with LISTEN_PID (our pid) and LISTEN_FDS (how many) in the environment;
 * - readiness notification: newline-separated "KEY=VALUE" lines sent as one
 *   datagram to the AF_UNIX socket named in NOTIFY_SOCKET ("/path", or
 *   "@name" for the abstract namespace).
 */
#pragma once

/* The first fd the manager passes (fixed by the protocol). */
#define SYSTEMD_LISTEN_FDS_START 3

/*
 * The listening socket passed to this process, if any. ftidxd takes exactly
 * one Unix stream socket that is already listening. The LISTEN_*
 * variables are removed so that no child mistakes them for its own.
 *
 * Returns the fd (made non-blocking and close-on-exec), 0 when nothing was
 * passed (no LISTEN_FDS, or LISTEN_PID names another process), -E2BIG for
 * more than one fd, -ENOTSOCK / -EPROTOTYPE / -EINVAL when the fd is not a
 * listening Unix stream socket, -EBADMSG for malformed variables.
 */
int systemd_listen_fd(void);

/*
 * Send @state (for example "READY=1\nSTATUS=...") to the service manager.
 * Returns 1 when sent, 0 when no manager listens (NOTIFY_SOCKET unset), or
 * -errno. A failure never stops the daemon: callers log it.
 */
int systemd_notify(const char *state);

/* printf-style systemd_notify(). */
int systemd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
