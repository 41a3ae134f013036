/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* String table of VM states. */

#include <stddef.h>

#include "macro.h"
#include "vm-state.h"

static const char *const vm_state_table[_VM_STATE_MAX] = {
        [VM_DEFINED] = "defined",
        [VM_STARTING] = "starting",
        [VM_RUNNING] = "running",
        [VM_PAUSED] = "paused",
        [VM_STOPPING] = "stopping",
        [VM_STOPPED] = "stopped",
        [VM_CRASHED] = "crashed",
};

const char *vm_state_to_string(VMState s) {
        if (s < 0 || s >= _VM_STATE_MAX)
                return NULL;
        return vm_state_table[s];
}

VMState vm_state_from_string(const char *s) {
        if (!s)
                return _VM_STATE_INVALID;
        for (VMState i = 0; i < _VM_STATE_MAX; i++)
                if (streq(vm_state_table[i], s))
                        return i;
        return _VM_STATE_INVALID;
}

int vm_state_is_active(VMState s) {
        switch (s) {
        case VM_STARTING:
        case VM_RUNNING:
        case VM_PAUSED:
        case VM_STOPPING:
                return 1;
        case VM_DEFINED:
        case VM_STOPPED:
        case VM_CRASHED:
                return 0;
        default:
                return -EINVAL;
        }
}
