/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Giving each VM a vsock context ID, unique on the host, kept in its key file. */
#pragma once

#include "manager.h"

/* Gives c (the configuration of VM name) the lowest free context ID (VSOCK_CID_MIN or more) when
 * its VsockCID is 0, and checks a given one against every other VM. A deleted VM's ID is free
 * again. Returns 0, or -EINVAL and a message that says what to fix (g_free). */
int manager_assign_vsock_cid(Manager *m, const char *name, Config *c, char **ret_error);
