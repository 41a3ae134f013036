/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Giving each NIC of a VM its bridge, MAC address and TAP name, unique on the host. */
#pragma once

#include "manager.h"

/* Fills in each [Network] of c that lacks Bridge (microvmd's default bridge), MACAddress or TAP
 * (derived from name and the NIC's index, the next attempt while taken), and checks the ones given
 * against every other VM. Returns 0, or -EINVAL and a message that says what to fix (g_free). */
int manager_assign_networks(Manager *m, const char *name, Config *c, char **ret_error);
