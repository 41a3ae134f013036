/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM's unit, microvm@NAME.service: starting, stopping and killing it through systemd without
 * blocking, and following its state from systemd's signals. */
#pragma once

#include "vm.h"

#define SYSTEMD_BUS_NAME        "org.freedesktop.systemd1"
#define SYSTEMD_PATH            "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER_IFACE   "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT_PATH       "/org/freedesktop/systemd1/unit"

/* StartUnit; request is answered when the job completes: with nothing, or with a named error
 * (the launcher's own, when it refused to start). */
int vm_start(VM *vm, sd_bus_message *request);
/* StopUnit; request is answered with the stop reason when the job completes. With a timeout,
 * a VM that has not stopped by then is killed. */
int vm_stop(VM *vm, sd_bus_message *request, uint64_t timeout_usec);
/* KillUnit with signo; request is answered when systemd has sent it. */
int vm_kill(VM *vm, sd_bus_message *request, int signo);

/* Adds the unit to microvm.target.wants/ (or removes it), as "systemctl enable|disable" does, so
 * that the VM starts at boot. Asynchronous; a failure is logged. */
int vm_set_autostart(VM *vm, bool enable);

/* When a VM is deleted: disables its unit, reverts its drop-ins and removes its state
 * directory, so that nothing of it stays behind. */
int vm_forget_unit(VM *vm);

/* Whether a start or stop of this VM is under way. */
bool vm_has_pending_job(const VM *vm);

/* systemd's JobRemoved for this VM's unit. */
void vm_job_removed(VM *vm, const char *job, const char *result);
/* Reads an a{sv} of unit or service properties (from PropertiesChanged or GetAll) and updates
 * the VM's view of its unit, its state and its properties. */
int vm_apply_unit_properties(VM *vm, sd_bus_message *msg);
/* Recomputes the state from the unit and the recorded stop reason. */
void vm_update_state(VM *vm);
/* The unit is not loaded in systemd: it is not running. */
void vm_set_unit_unloaded(VM *vm);
