/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The files a VM's hypervisor uses but may not open: its kernel, initrd, drive images and TAP
 * devices. The unit's privileged preparation opens them and hands them to systemd, into the
 * unit's file descriptor store (FDSTORE=1, one name each); systemd passes them on to the unit's
 * start ($LISTEN_FDS, $LISTEN_FDNAMES), which gives them to the hypervisor. So the hypervisor,
 * unprivileged and with a read-only view of the system, reaches exactly these files, and they
 * need no permission for its user. The store empties when the unit stops. */
#pragma once

#include <stddef.h>

#define LAUNCH_FD_KERNEL "kernel"
#define LAUNCH_FD_INITRD "initrd"
/* Drive i is "drive<i>" (and a read-write one "drive<i>-ro" as well, opened read-only), NIC i's
 * TAP device "tap<i>". */
#define LAUNCH_FD_DRIVE_FMT "drive%zu"
#define LAUNCH_FD_DRIVE_RO_FMT "drive%zu-ro"
#define LAUNCH_FD_TAP_FMT "tap%zu"

/* Hands fd to systemd under name, replacing what the store held under it. fd stays the caller's. */
int launch_fd_store(const char *name, int fd);

typedef struct LaunchFds {
        char **names;
        int *fds;
        size_t n;
} LaunchFds;

/* What systemd passed this process; the environment variables are removed, the descriptors stay
 * open (for the hypervisor). */
int launch_fds_receive(LaunchFds *ret);
void launch_fds_done(LaunchFds *f);

/* The descriptor passed under name, or -EBADF. */
int launch_fds_get(const LaunchFds *f, const char *name);
