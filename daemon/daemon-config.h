/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmd.conf, the host-wide settings that microvmd and the unit's launcher share:
 *
 *     [Network]
 *     DefaultBridge=microvm0
 */
#pragma once

#include "mvm-config.h"

#define MVM_DAEMON_CONFIG_FILE MVM_SYSCONFDIR "/microvm/microvmd.conf"

typedef struct DaemonConfig {
        char *default_bridge;   /* the bridge of a NIC without Bridge= */
} DaemonConfig;

/* Reads path; a missing file gives the defaults. Errors name FILE:LINE. -EINVAL with the message
 * (g_free) for a bad file, or -errno when it cannot be read. */
int daemon_config_load(const char *path, DaemonConfig *ret, char **ret_error);
void daemon_config_done(DaemonConfig *c);
