/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exec of org.microvm.Agent1: runs a command in a session of its own, feeds it the stdin given,
 * collects its output, and answers the call once it has exited. Many run at once; none blocks the
 * loop. */
#pragma once

#include "agent.h"

/* Starts what the Exec call m asks for; the answer to m comes once the command has exited.
 * Returns 1, or fails: a named error in *error for bad input, -errno when the system fails. */
int agent_exec_start(Agent *a, sd_bus_message *m, sd_bus_error *error);

/* Kills the commands started by calls that came on bus: nobody is left to read their answers. */
void agent_exec_abandon_bus(Agent *a, sd_bus *bus);

/* Kills the command if it still runs (without reaping it) and frees the call. */
AgentExec *agent_exec_free(AgentExec *e);
DEFINE_CLEANUP(AgentExec *, agent_exec_free);
