/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The states a VM reports on the bus. */
#pragma once

#include <errno.h>
#include <stdbool.h>

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

/* Why a VM last stopped, as its unit's ExecStopPost= recorded it. */
typedef enum StopReason {
        STOP_REASON_NONE,            /* has not stopped since it was defined */
        STOP_REASON_GUEST_POWEROFF,  /* the guest powered off by itself */
        STOP_REASON_STOP_REQUEST,    /* StopVM or systemctl stop, and the guest shut down */
        STOP_REASON_TIMEOUT_KILL,    /* asked to stop, did not in time, killed */
        STOP_REASON_KILLED,          /* KillVM */
        STOP_REASON_CRASHED,         /* the hypervisor died unasked */
        STOP_REASON_START_FAILED,    /* the launcher refused to start it */
        _STOP_REASON_MAX,
        _STOP_REASON_INVALID = -EINVAL,
} StopReason;

const char *stop_reason_to_string(StopReason r);
StopReason stop_reason_from_string(const char *s);

/* The one mapping from systemd's view of microvm@NAME.service (ActiveState, Result), the recorded
 * stop reason and whether the hypervisor's vCPUs are stopped (paused through the hypervisor, or
 * frozen by systemd) to the VM's state. */
VMState vm_state_from_unit(const char *active_state, const char *result, StopReason reason, bool paused);
