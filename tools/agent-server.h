/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One connection of the host to the agent: an sd-bus server, peer to peer, over a byte stream (a
 * virtio-serial port or an accepted AF_VSOCK socket). */
#pragma once

#include "agent.h"

/* Called once the host has gone (end of stream, error, protocol violation), just before the
 * server is freed. */
typedef void (*AgentServerClosed)(AgentServer *s, void *userdata);

struct AgentServer {
        Agent *agent;                   /* borrowed */
        sd_bus *bus;
        char *description;
        AgentServerClosed on_closed;
        void *userdata;                 /* borrowed, for on_closed */
        AgentServer *prev, *next;       /* in agent->servers */
};

/* Serves the agent's object on fd (taken, also on failure), and links the server into
 * a->servers, which owns it. */
int agent_server_new(Agent *a, int fd, const char *description, AgentServerClosed on_closed,
                     void *userdata, AgentServer **ret);
AgentServer *agent_server_free(AgentServer *s);
DEFINE_CLEANUP(AgentServer *, agent_server_free);
