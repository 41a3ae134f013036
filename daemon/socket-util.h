/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Connecting to a local stream socket by its path. */
#pragma once

/* A stream socket connected to the Unix socket at path, close-on-exec, with flags (SOCK_NONBLOCK or
 * 0) added to its type. A local stream socket connects at once or not at all: -ENOENT, -ECONNREFUSED
 * (nobody listens), -EAGAIN (its backlog is full), -ENAMETOOLONG. */
int unix_connect(const char *path, int flags, int *ret_fd);
