/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VM objects: construction, key-file persistence and the setters that emit changes. */

#include <stdio.h>

#include "bus-names.h"
#include "fileio.h"
#include "keyfile.h"
#include "log.h"
#include "manager.h"
#include "vm.h"

int vm_bus_path(const char *name, char **ret) {
        return sd_bus_path_encode(MVM_VM_PATH_PREFIX, name, ret);
}

int vm_new(const char *name, const char *config_path, bool transient, Config **config, VM **ret) {
        _cleanup_(vm_freep) VM *vm = NULL;
        int r;

        vm = calloc(1, sizeof(VM));
        if (!vm)
                return -ENOMEM;

        vm->name = strdup(name);
        vm->config_path = strdup(config_path);
        if (!vm->name || !vm->config_path)
                return -ENOMEM;
        if (asprintf(&vm->unit, MVM_UNIT_PREFIX "%s" MVM_UNIT_SUFFIX, name) < 0) {
                vm->unit = NULL;
                return -ENOMEM;
        }
        r = vm_bus_path(name, &vm->object_path);
        if (r < 0)
                return r;

        vm->transient = transient;
        vm->state = VM_DEFINED;
        vm->config = TAKE_PTR(*config);

        *ret = TAKE_PTR(vm);
        return 0;
}

VM *vm_free(VM *vm) {
        if (!vm)
                return NULL;

        if (vm->manager)
                manager_remove_vm(vm->manager, vm);

        config_free(vm->config);
        free(vm->name);
        free(vm->object_path);
        free(vm->unit);
        free(vm->config_path);
        free(vm);
        return NULL;
}

int vm_write_config(const VM *vm, const Config *config) {
        g_autofree char *text = keyfile_print(config);

        return write_file_atomic(vm->config_path, text, strlen(text), 0644);
}

void vm_set_config(VM *vm, Config *config) {
        g_autofree const char **changed = config_changed_properties(vm->config, config);
        int r;

        config_free(vm->config);
        vm->config = config;

        if (!vm->manager || !changed[0])
                return;
        r = sd_bus_emit_properties_changed_strv(vm->manager->bus, vm->object_path, MVM_VM_INTERFACE,
                                                (char **) changed);
        if (r < 0)
                log_warning_errno(r, "Failed to emit PropertiesChanged for VM %s, ignoring: %m", vm->name);
}

void vm_set_state(VM *vm, VMState state) {
        int r;

        if (vm->state == state)
                return;

        log_debug("VM %s: %s → %s", vm->name, vm_state_to_string(vm->state), vm_state_to_string(state));
        vm->state = state;

        if (!vm->manager)
                return;
        r = sd_bus_emit_properties_changed(vm->manager->bus, vm->object_path, MVM_VM_INTERFACE, "State", NULL);
        if (r >= 0)
                r = sd_bus_emit_signal(vm->manager->bus, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "VMStateChanged",
                                       "ss", vm->name, vm_state_to_string(state));
        if (r < 0)
                log_warning_errno(r, "Failed to emit PropertiesChanged for VM %s, ignoring: %m", vm->name);
}
