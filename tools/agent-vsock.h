/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The AF_VSOCK listener: each connection the host makes to MVM_AGENT_VSOCK_PORT is served on its
 * own, as long as it lasts. */
#pragma once

#include "agent.h"

/* Listens on port (any CID): 1 and *ret, 0 if the guest has no vsock (nothing to do), or -errno. */
int agent_vsock_new(Agent *a, unsigned port, AgentVsock **ret);
/* Serves on a listening socket systemd passed (socket activation; taken, also on failure). */
int agent_vsock_adopt(Agent *a, int fd, AgentVsock **ret);
AgentVsock *agent_vsock_free(AgentVsock *v);
DEFINE_CLEANUP(AgentVsock *, agent_vsock_free);
