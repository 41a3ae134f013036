/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A guest that powers off where its hypervisor does not end with it (Firecracker on x86: the guest
 * halts and the process stays). The guest kernel says so on its console, which is then the
 * hypervisor's standard output, the unit's journal: microvmd follows the journal of the unit's
 * current run and stops the unit when the guest has powered off. */
#pragma once

#include "vm.h"

/* Follows the journal while such a hypervisor runs, stops following when it stopped; called on
 * every state change. */
void vm_poweroff_follow_state(VM *vm);
void vm_poweroff_free(VM *vm);
