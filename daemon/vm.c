/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VM objects: construction, key-file persistence and the setters that emit changes. */

#include <stdio.h>
#include <sys/stat.h>

#include "bus-names.h"
#include "fileio.h"
#include "keyfile.h"
#include "log.h"
#include "manager.h"
#include "time-util.h"
#include "vm-files.h"
#include "vm-unit.h"
#include "vm.h"
#include "vm-agent.h"
#include "vm-console.h"
#include "vm-qmp.h"
#include "vm-api.h"
#include "vm-machine.h"
#include "vm-poweroff.h"
#include "backend.h"

int vm_bus_path(const char *name, char **ret) {
        return sd_bus_path_encode(MVM_VM_PATH_PREFIX, name, ret);
}

int vm_new(const char *name, const char *config_path, bool transient, Config **config, VM **ret) {
        _cleanup_(vm_freep) VM *vm = NULL;
        struct stat st;
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
        r = sd_bus_path_encode(SYSTEMD_UNIT_PATH, vm->unit, &vm->unit_path);
        if (r < 0)
                return r;
        r = vm_state_dir(name, &vm->state_dir);
        if (r < 0)
                return r;
        if (stat(config_path, &st) >= 0)
                vm->config_written = (uint64_t) st.st_mtim.tv_sec * 1000000u + (uint64_t) st.st_mtim.tv_nsec / 1000u;

        vm->transient = transient;
        vm->state = VM_DEFINED;
        vm->agent_handshake_fd = -EBADF;
        vm->config = TAKE_PTR(*config);

        *ret = TAKE_PTR(vm);
        return 0;
}

VM *vm_free(VM *vm) {
        if (!vm)
                return NULL;

        if (vm->manager)
                manager_remove_vm(vm->manager, vm);

        /* Calls still waiting for a job get no answer from us; the bus tells their callers. */
        sd_bus_message_unref(vm->start_request);
        sd_bus_slot_unref(vm->start_slot);
        free(vm->start_job);
        sd_bus_message_unref(vm->stop_request);
        sd_bus_slot_unref(vm->stop_slot);
        free(vm->stop_job);
        sd_event_source_disable_unref(vm->stop_timer);
        for (size_t i = 0; i < ELEMENTSOF(vm->state_slots); i++)
                sd_bus_slot_unref(vm->state_slots[i]);
        vm_agent_disconnect(vm);
        vm_console_free(vm);
        vm_qmp_free(vm);
        vm_api_free(vm);
        vm_poweroff_free(vm);
        vm_machine_free(vm);
        free(vm->unit_path);
        free(vm->active_state);
        free(vm->unit_result);
        free(vm->state_dir);

        config_free(vm->config);
        free(vm->name);
        free(vm->object_path);
        free(vm->unit);
        free(vm->config_path);
        free(vm);
        return NULL;
}

int vm_write_config(VM *vm, const Config *config) {
        g_autofree char *text = keyfile_print(config);
        int r;

        r = write_file_atomic(vm->config_path, text, strlen(text), 0644);
        if (r < 0)
                return r;
        vm->config_written = now_usec(CLOCK_REALTIME);
        return 0;
}

void vm_emit_properties_changed(VM *vm, const char **names) {
        int r;

        if (!vm->manager || !names[0])
                return;
        r = sd_bus_emit_properties_changed_strv(vm->manager->bus, vm->object_path, MVM_VM_INTERFACE, (char **) names);
        if (r < 0)
                log_warning_errno(r, "Failed to emit PropertiesChanged for VM %s, ignoring: %m", vm->name);
}

void vm_set_config(VM *vm, Config *config) {
        g_autofree const char **changed = config_changed_properties(vm->config, config);

        config_free(vm->config);
        vm->config = config;
        vm_emit_properties_changed(vm, changed);

        if (vm_state_is_active(vm->state) > 0)
                vm_emit_properties_changed(vm, (const char *[]) { "NeedsRestart", NULL });
}

bool vm_needs_restart(const VM *vm) {
        return vm_state_is_active(vm->state) > 0 && vm->started_at > 0 && vm->config_written > vm->started_at;
}

static int vm_state_file_path(const VM *vm, const char *file, char **ret) {
        return asprintf(ret, "%s/%s", vm->state_dir, file) < 0 ? -ENOMEM : 0;
}

int vm_read_state_file(const VM *vm, const char *file, char **ret) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = vm_state_file_path(vm, file, &path);
        if (r < 0)
                return r;
        return read_file(path, ret, NULL);
}

int vm_write_state_file(const VM *vm, const char *file, const char *contents) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = vm_state_file_path(vm, file, &path);
        if (r < 0)
                return r;
        r = mkdir_parents(vm->state_dir, 0755);
        if (r < 0)
                return r;
        return write_file_atomic(path, contents, strlen(contents), 0644);
}

void vm_remove_state_file(const VM *vm, const char *file) {
        _cleanup_free_ char *path = NULL;

        if (vm_state_file_path(vm, file, &path) >= 0)
                (void) unlink(path);
}

const Backend *vm_backend(const VM *vm) {
        return vm->backend ?: backend_get(config_get_string(vm->config, CONFIG_HYPERVISOR));
}

/* Which hypervisor this run started: the key file may name another one since. */
static void vm_follow_backend(VM *vm) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;

        if (vm_state_is_active(vm->state) <= 0) {
                vm->backend = NULL;
                return;
        }
        if (vm->backend)
                return;
        if (vm_runtime_dir(vm->name, &dir) < 0 || asprintf(&path, "%s/" MVM_HYPERVISOR_FILE, dir) < 0 ||
            read_file(path, &text, NULL) < 0)
                return;
        text[strcspn(text, "\n")] = '\0';
        vm->backend = backend_get(text);
}

void vm_set_hypervisor_paused(VM *vm, bool paused) {
        if (vm->hypervisor_paused == paused)
                return;
        vm->hypervisor_paused = paused;
        vm_update_state(vm);
}

void vm_set_state(VM *vm, VMState state) {
        int r;

        if (vm->state == state)
                return;

        log_debug("VM %s: %s → %s", vm->name, vm_state_to_string(vm->state), vm_state_to_string(state));
        vm->state = state;

        if (!vm->manager)
                return;
        /* MainPID, StartedAt and NeedsRestart read as 0/false while the VM is not running. */
        r = sd_bus_emit_properties_changed(vm->manager->bus, vm->object_path, MVM_VM_INTERFACE, "State", "MainPID",
                                           "StartedAt", "NeedsRestart", NULL);
        if (r >= 0)
                r = sd_bus_emit_signal(vm->manager->bus, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "VMStateChanged",
                                       "ss", vm->name, vm_state_to_string(state));
        if (r < 0)
                log_warning_errno(r, "Failed to emit PropertiesChanged for VM %s, ignoring: %m", vm->name);
        vm_follow_backend(vm);
        vm_agent_follow_state(vm);
        vm_console_follow_state(vm);
        vm_qmp_follow_state(vm);
        vm_api_follow_state(vm);
        vm_poweroff_follow_state(vm);
        vm_machine_follow_state(vm);
}
