/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmd's control of a running Firecracker or cloud-hypervisor VM through the hypervisor's REST
 * API (hypervisor-api.h over http-client.h): its run state, pause, resume and snapshot. Each request
 * is bounded in time; none blocks the loop. */
#pragma once

#include <sys/types.h>

#include "vm.h"

/* Asks the hypervisor for its version and run state once the VM runs; forgets both when it stopped.
 * Called on every state change. */
void vm_api_follow_state(VM *vm);
void vm_api_free(VM *vm);

/* Whether a pause, resume or snapshot is under way. */
bool vm_api_busy(const VM *vm);

/* Each answers request when the hypervisor has done it; 1 when under way, or -errno with error set. */
int vm_api_pause(VM *vm, sd_bus_message *request, sd_bus_error *error);
int vm_api_resume(VM *vm, sd_bus_message *request, sd_bus_error *error);
/* Saves the VM's state at path (Firecracker: the state file, its memory in PATH.mem; cloud-hypervisor:
 * a directory), owned by uid and gid. */
int vm_api_snapshot(VM *vm, sd_bus_message *request, const char *path, uid_t uid, gid_t gid, sd_bus_error *error);
