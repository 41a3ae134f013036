/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmd.conf, the host-wide settings that microvmd and the unit's launcher share:
 *
 *     [Network]
 *     DefaultBridge=microvm0
 *
 *     [Hypervisors]
 *     firecracker=/opt/firecracker/bin/firecracker
 *
 * [Hypervisors] names each hypervisor's executable by its Hypervisor= value, an absolute path;
 * a hypervisor not named there is looked up in $PATH. */
#pragma once

#include "mvm-config.h"

#define MVM_DAEMON_CONFIG_FILE MVM_SYSCONFDIR "/microvm/microvmd.conf"

/* The Hypervisor= values [Hypervisors] takes, in the order of DaemonConfig.binaries. */
#define DAEMON_CONFIG_HYPERVISORS { "qemu", "firecracker", "cloud-hypervisor" }
#define DAEMON_CONFIG_N_HYPERVISORS 3

typedef struct DaemonConfig {
        char *default_bridge;   /* the bridge of a NIC without Bridge= */
        char *binaries[DAEMON_CONFIG_N_HYPERVISORS];    /* NULL: look it up in $PATH */
} DaemonConfig;

/* The executable [Hypervisors] names for hypervisor, or NULL. */
const char *daemon_config_binary(const DaemonConfig *c, const char *hypervisor);

/* Reads path; a missing file gives the defaults. Errors name FILE:LINE. -EINVAL with the message
 * (g_free) for a bad file, or -errno when it cannot be read. */
int daemon_config_load(const char *path, DaemonConfig *ret, char **ret_error);
void daemon_config_done(DaemonConfig *c);
