/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.microvm.VM: the per-VM objects under /org/microvm/Manager/vm. */
#pragma once

#include "manager.h"

/* Registers the fallback vtable, the node enumerator and the object manager's children. */
int vm_dbus_register(Manager *m);

/* The verbs shared by org.microvm.VM and the by-name methods of org.microvm.Manager. Each reads
 * its remaining arguments from msg, checks authorization, acts and replies. */
int bus_vm_update(sd_bus_message *msg, VM *vm, sd_bus_error *error);
int bus_vm_delete(sd_bus_message *msg, VM *vm, sd_bus_error *error);
int bus_vm_start(sd_bus_message *msg, VM *vm, sd_bus_error *error);
int bus_vm_stop(sd_bus_message *msg, VM *vm, sd_bus_error *error);
int bus_vm_kill(sd_bus_message *msg, VM *vm, sd_bus_error *error);
int bus_vm_pause(sd_bus_message *msg, VM *vm, sd_bus_error *error);
int bus_vm_resume(sd_bus_message *msg, VM *vm, sd_bus_error *error);
int bus_vm_snapshot(sd_bus_message *msg, VM *vm, sd_bus_error *error);
int bus_vm_restore(sd_bus_message *msg, VM *vm, sd_bus_error *error);
int bus_vm_open_console(sd_bus_message *msg, VM *vm, sd_bus_error *error);
/* The guest agent's verbs: by_name when msg starts with the VM's name (the Manager's twins). */
int bus_vm_exec(sd_bus_message *msg, VM *vm, bool by_name, sd_bus_error *error);
int bus_vm_signal(sd_bus_message *msg, VM *vm, bool by_name, sd_bus_error *error);
int bus_vm_ping(sd_bus_message *msg, VM *vm, bool by_name, sd_bus_error *error);
int bus_vm_get_guest_info(sd_bus_message *msg, VM *vm, bool by_name, sd_bus_error *error);

/* Emits VMCreated/VMRemoved and the ObjectManager's InterfacesAdded/InterfacesRemoved. */
void vm_emit_created(VM *vm);
void vm_emit_removed(VM *vm);
