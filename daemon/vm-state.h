/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The states a VM reports on the bus. */
#pragma once

#include <errno.h>

typedef enum VMState {
        VM_DEFINED,     /* configured, never started or cleanly stopped */
        VM_STARTING,
        VM_RUNNING,
        VM_PAUSED,
        VM_STOPPING,
        VM_STOPPED,
        VM_CRASHED,     /* the hypervisor died unasked */
        _VM_STATE_MAX,
        _VM_STATE_INVALID = -EINVAL,
} VMState;

const char *vm_state_to_string(VMState s);
VMState vm_state_from_string(const char *s);
/* Whether the VM's unit may be running: such a VM cannot be deleted. */
int vm_state_is_active(VMState s);
