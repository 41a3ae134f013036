/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* String table of VM states. */

#include <stdbool.h>
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

static const char *const stop_reason_table[_STOP_REASON_MAX] = {
        [STOP_REASON_NONE] = "",
        [STOP_REASON_GUEST_POWEROFF] = "guest-poweroff",
        [STOP_REASON_STOP_REQUEST] = "stop-request",
        [STOP_REASON_TIMEOUT_KILL] = "timeout-kill",
        [STOP_REASON_KILLED] = "killed",
        [STOP_REASON_CRASHED] = "crashed",
        [STOP_REASON_START_FAILED] = "start-failed",
};

const char *stop_reason_to_string(StopReason r) {
        if (r < 0 || r >= _STOP_REASON_MAX)
                return NULL;
        return stop_reason_table[r];
}

StopReason stop_reason_from_string(const char *s) {
        if (!s)
                return _STOP_REASON_INVALID;
        for (StopReason i = 0; i < _STOP_REASON_MAX; i++)
                if (streq(stop_reason_table[i], s))
                        return i;
        return _STOP_REASON_INVALID;
}

/* Unit results that mean the main process died on its own. */
static bool result_is_crash(const char *result) {
        static const char *const crashes[] = { "exit-code", "signal", "core-dump", "watchdog", "oom-kill" };

        for (size_t i = 0; result && i < ELEMENTSOF(crashes); i++)
                if (streq(result, crashes[i]))
                        return true;
        return false;
}

VMState vm_state_from_unit(const char *active_state, const char *result, StopReason reason, bool paused) {
        static const struct {
                const char *active_state;
                VMState state;
        } running[] = {
                { "activating", VM_STARTING },
                { "active", VM_RUNNING },
                { "reloading", VM_RUNNING },
                /* Newer systemd: still running, while mounts in its namespace are updated. */
                { "refreshing", VM_RUNNING },
                { "deactivating", VM_STOPPING },
        };

        for (size_t i = 0; active_state && i < ELEMENTSOF(running); i++)
                if (streq(active_state, running[i].active_state))
                        /* Only a started VM is paused: a start may hold it while it loads a snapshot. */
                        return paused && running[i].state == VM_RUNNING ? VM_PAUSED : running[i].state;

        /* inactive, failed, or not loaded at all: what the last stop left behind decides. */
        switch (reason) {
        case STOP_REASON_NONE:
                return result_is_crash(result) ? VM_CRASHED : VM_DEFINED;
        case STOP_REASON_CRASHED:
                return VM_CRASHED;
        case STOP_REASON_GUEST_POWEROFF:
        case STOP_REASON_STOP_REQUEST:
        case STOP_REASON_TIMEOUT_KILL:
        case STOP_REASON_KILLED:
        case STOP_REASON_START_FAILED:
                return VM_STOPPED;
        default:
                return VM_DEFINED;
        }
}
