/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmd's connection to a running VM's guest agent (its own virtio-serial channel): made when
 * the VM runs, kept while it does, and the calls of the bus API that go through it. */
#pragma once

#include "vm.h"

/* Connects when the VM runs, disconnects when it does not; called on every state change. */
void vm_agent_follow_state(VM *vm);
/* Drops the connection and what waits on it. */
void vm_agent_disconnect(VM *vm);

/* Forwards the call msg (its arguments after the VM's name, if by_name) to the agent's method and
 * answers msg with the agent's reply when it comes, within timeout_usec (UINT64_MAX: none).
 * Returns 1 when the call is on its way, or a negative errno with error set. */
int vm_agent_forward(VM *vm, sd_bus_message *msg, bool by_name, const char *method, uint64_t timeout_usec,
                     sd_bus_error *error);
