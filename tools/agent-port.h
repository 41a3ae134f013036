/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A virtio-serial port the agent serves on: one byte stream that carries the host's connections one
 * after another, each served in turn. */
#pragma once

#include "agent.h"

/* Finds the port with this name (under /sys/class/virtio-ports, retrying until it appears) and
 * serves on it. */
int agent_port_new(Agent *a, const char *name, AgentPort **ret);
AgentPort *agent_port_free(AgentPort *p);

/* Whether output of the server has yet to reach the port. */
bool agent_port_output_pending(AgentPort *p);
DEFINE_CLEANUP(AgentPort *, agent_port_free);
