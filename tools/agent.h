/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvm-agent, the program inside the guest: one sd-event loop that serves org.microvm.Agent1 peer
 * to peer on every channel the host can reach (virtio-serial ports, AF_VSOCK), and owns what the
 * calls start. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct AgentExec AgentExec;
typedef struct AgentPort AgentPort;
typedef struct AgentPower AgentPower;
typedef struct AgentServer AgentServer;
typedef struct AgentVsock AgentVsock;

typedef struct Agent {
        sd_event *event;
        sd_bus *system_bus;             /* to the guest's systemd, connected on first use */

        AgentPort **ports;              /* owned, as are the entries */
        size_t n_ports;
        AgentVsock **listeners;         /* vsock: its own, or passed by systemd; owned */
        size_t n_listeners;

        AgentServer *servers;           /* every open connection (a list), owned */
        AgentExec *execs;               /* every Exec whose process runs (a list), owned */
        AgentPower *power;              /* a Shutdown or Reboot under way */
} Agent;

int agent_new(Agent **ret);
Agent *agent_free(Agent *a);
DEFINE_CLEANUP(Agent *, agent_free);

/* Serves on the virtio-serial port with this name, now or once it appears. */
int agent_add_port(Agent *a, const char *name);
/* Serves on AF_VSOCK; 0 without doing so where the guest has no vsock. */
int agent_add_vsock(Agent *a);
/* Serves on the listening sockets systemd passed: how many (0 for none), or -errno. */
int agent_add_passed_sockets(Agent *a);
/* Runs until SIGTERM or SIGINT. */
int agent_run(Agent *a);

/* Whether answers written by a server have yet to leave through a port. */
bool agent_output_pending(Agent *a);

/* Whether systemd runs this guest: it creates /run/systemd/system early at boot. */
bool agent_has_systemd(void);
/* A connection to the guest's systemd (its private socket, else the system bus), connected and
 * attached to the loop on first use. *ret is borrowed. */
int agent_get_system_bus(Agent *a, sd_bus **ret);
