/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A virtio-serial port the agent serves on. The port is one byte stream that the host may connect
 * to and disconnect from at any time: while nobody is connected the agent waits, while somebody is
 * it serves one connection on it. */
#pragma once

#include "agent.h"

/* Finds the port with this name (under /sys/class/virtio-ports, retrying until it appears) and
 * serves on it. */
int agent_port_new(Agent *a, const char *name, AgentPort **ret);
AgentPort *agent_port_free(AgentPort *p);
DEFINE_CLEANUP(AgentPort *, agent_port_free);
