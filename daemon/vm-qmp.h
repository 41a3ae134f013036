/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmd's control connection to a running VM's QEMU (its own QMP monitor, so that the unit's
 * start and stop never wait for it): the hypervisor's run state, pause, resume and snapshot. */
#pragma once

#include <sys/types.h>

#include "vm.h"

/* Connects while the hypervisor runs, disconnects when it stopped; called on every state change. */
void vm_qmp_follow_state(VM *vm);
void vm_qmp_free(VM *vm);

/* Whether a pause, resume or snapshot is under way. */
bool vm_qmp_busy(const VM *vm);

/* Each answers request when QEMU has done it; 1 when under way, or -errno with error set. */
int vm_qmp_pause(VM *vm, sd_bus_message *request, sd_bus_error *error);
int vm_qmp_resume(VM *vm, sd_bus_message *request, sd_bus_error *error);
/* Saves the VM's state to path, a file owned by uid and gid. */
int vm_qmp_snapshot(VM *vm, sd_bus_message *request, const char *path, uid_t uid, gid_t gid, sd_bus_error *error);
