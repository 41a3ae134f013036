/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bridges and TAP devices through netlink (libnl-route) and the TUNSETIFF ioctl, never `ip`.
 * Blocking: for the unit's privileged preparation and cleanup, not for microvmd. */
#pragma once

#include <sys/types.h>

#include "macro.h"

typedef struct nl_sock NetSocket;

int net_open(NetSocket **ret);
NetSocket *net_close(NetSocket *sk);
DEFINE_CLEANUP(NetSocket *, net_close);

/* Creates the bridge if missing and brings it up. -EEXIST: a link of that name is not a bridge. */
int net_bridge_ensure(NetSocket *sk, const char *bridge);

/* Creates the persistent TAP device owned by owner (or takes over one left from a crash), enslaves
 * it to bridge and brings it up. -EEXIST: the name is taken by a link that is not a TAP device;
 * -EBUSY: a process has that TAP open; -ENOENT: /dev/net/tun is missing. */
int net_tap_ensure(NetSocket *sk, const char *tap, const char *bridge, uid_t owner);

/* An open descriptor of the TAP device tap, for a hypervisor that may not open /dev/net/tun itself:
 * what it reads and writes are the TAP's frames. A missing TAP is made, and goes with the descriptor
 * unless made persistent. -EBUSY: a process has it open. */
int net_tap_open(const char *tap, int *ret_fd);

/* Removes the TAP device; a missing one is fine, a link that is not a TAP is left alone (-EEXIST). */
int net_tap_remove(NetSocket *sk, const char *tap);

/* The kind of link name ("bridge", "tun", "veth", …; "" for a plain device) (free()), or -ENODEV. */
int net_link_kind(NetSocket *sk, const char *name, char **ret_kind);
