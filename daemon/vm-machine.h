/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Each running VM registered with systemd-machined as a machine of class "vm", so that machinectl
 * list and machinectl status show it beside containers; unregistered when it stops. Where machined
 * is not there, this is skipped, with one line in the log. */
#pragma once

#include "vm.h"

/* Registers the VM once it runs with a main PID, unregisters it when it stopped; called on every
 * state change and MainPID change. */
void vm_machine_follow_state(VM *vm);
void vm_machine_free(VM *vm);
