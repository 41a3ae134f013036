/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The org.microvm.Manager interface: the VM registry by name. */

#include <unistd.h>

#include "bus-errors.h"
#include "launch-check.h"
#include "bus-names.h"
#include "bus-variant.h"
#include "fileio.h"
#include "log.h"
#include "manager-dbus.h"
#include "manager-network.h"
#include "manager-vsock.h"
#include "vm-dbus.h"
#include "vm-unit.h"
#include "vm-name.h"


/* Names are shown escaped: a bad one may hold a newline or worse. */
static int error_invalid_name(sd_bus_error *error, const char *name) {
        g_autofree char *shown = g_strescape(name, NULL);

        return sd_bus_error_setf(error, MVM_ERROR_INVALID_NAME, "'%s' is not a valid VM name: %s.", shown,
                                 MVM_VM_NAME_RULE);
}

/* Reads the name argument and finds its VM, or sets NoSuchVM/InvalidName. */
static int read_vm(sd_bus_message *msg, Manager *m, VM **ret, sd_bus_error *error) {
        const char *name;
        VM *vm;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;

        if (!vm_name_is_valid(name))
                return error_invalid_name(error, name);

        vm = manager_get_vm(m, name);
        if (!vm)
                return sd_bus_error_setf(error, MVM_ERROR_NO_SUCH_VM,
                                         "No VM '%s': 'microvmctl list' shows the VMs there are.", name);
        *ret = vm;
        return 0;
}

static int method_create_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_(vm_freep) VM *vm = NULL;
        g_autoptr(GVariant) dict = NULL;
        g_autofree char *problem = NULL;
        Manager *m = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = bus_message_read_gvariant(msg, &dict);
        if (r < 0)
                return r;

        /* Everything the caller got wrong is reported before anyone is asked for a password. */
        if (!vm_name_is_valid(name))
                return error_invalid_name(error, name);
        if (manager_get_vm(m, name))
                return sd_bus_error_setf(error, MVM_ERROR_VM_EXISTS,
                                         "VM '%s' exists already: choose another name, or change it with UpdateVM.",
                                         name);

        r = config_from_variant(dict, &config, &problem);
        if (r >= 0)
                r = manager_assign_networks(m, name, config, &problem);
        if (r >= 0)
                r = manager_assign_vsock_cid(m, name, config, &problem);
        if (r < 0 && !problem)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_CONFIG, "Invalid configuration for VM '%s': %s",
                                         name, problem);

        _cleanup_free_ char *message = NULL;
        const char *error_name;
        r = config_check_files(name, config, NULL, &error_name, &message);
        if (r < 0)
                return sd_bus_error_setf(error, error_name, "Invalid configuration for VM '%s': %s", name,
                                         strna(message));

        const char *details[] = { "vm", name, NULL };
        r = polkit_check(msg, MVM_ACTION_MANAGE, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* called again when polkit answers */

        r = manager_config_path(m, name, /* transient= */ false, &path);
        if (r < 0)
                return r;

        /* A key file that failed to load is still the user's: never overwrite it. */
        if (access(path, F_OK) >= 0)
                return sd_bus_error_setf(error, MVM_ERROR_VM_EXISTS,
                                         "%s exists but could not be loaded (see 'journalctl -u microvmd'): "
                                         "fix or remove it first.", path);

        r = mkdir_parents(m->config_dir, 0755);
        if (r < 0)
                return bus_error_system(error, r, "Cannot create %s", m->config_dir);

        r = vm_new(name, path, /* transient= */ false, &config, &vm);
        if (r < 0)
                return bus_error_system(error, r, "Cannot set up VM '%s'", name);

        r = vm_write_config(vm, vm->config);
        if (r < 0)
                return bus_error_system(error, r, "Cannot write %s", path);

        r = manager_add_vm(m, vm);
        if (r < 0) {
                (void) unlink_durable(path);
                return bus_error_system(error, r, "Cannot add VM '%s'", name);
        }

        if (config_get_bool(vm->config, CONFIG_AUTOSTART))
                (void) vm_set_autostart(vm, true);
        log_info("Created VM %s.", name);
        vm_emit_created(vm);
        return sd_bus_reply_method_return(msg, "o", TAKE_PTR(vm)->object_path);
}

/* The by-name twins of the VM object's methods. */
static int call_on_vm(sd_bus_message *msg, Manager *m, int (*verb)(sd_bus_message *, VM *, sd_bus_error *),
                      sd_bus_error *error) {
        VM *vm = NULL;
        int r;

        r = read_vm(msg, m, &vm, error);
        if (r < 0)
                return r;
        return verb(msg, vm, error);
}

static int method_update_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm(msg, userdata, bus_vm_update, error);
}

static int method_delete_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm(msg, userdata, bus_vm_delete, error);
}

static int method_start_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm(msg, userdata, bus_vm_start, error);
}

static int method_stop_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm(msg, userdata, bus_vm_stop, error);
}

static int method_kill_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm(msg, userdata, bus_vm_kill, error);
}

static int method_pause_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm(msg, userdata, bus_vm_pause, error);
}

static int method_resume_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm(msg, userdata, bus_vm_resume, error);
}

static int method_snapshot_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm(msg, userdata, bus_vm_snapshot, error);
}

static int method_restore_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm(msg, userdata, bus_vm_restore, error);
}

static int method_open_console(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm(msg, userdata, bus_vm_open_console, error);
}

/* The verbs that go to the guest agent forward the arguments after the name as they are. */
static int call_on_vm_agent(sd_bus_message *msg, Manager *m,
                            int (*verb)(sd_bus_message *, VM *, bool, sd_bus_error *), sd_bus_error *error) {
        VM *vm = NULL;
        int r;

        r = read_vm(msg, m, &vm, error);
        if (r < 0)
                return r;
        return verb(msg, vm, /* by_name= */ true, error);
}

static int method_exec(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm_agent(msg, userdata, bus_vm_exec, error);
}

static int method_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm_agent(msg, userdata, bus_vm_signal, error);
}

static int method_ping(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm_agent(msg, userdata, bus_vm_ping, error);
}

static int method_get_guest_info(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_on_vm_agent(msg, userdata, bus_vm_get_guest_info, error);
}

static int method_get_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        VM *vm = NULL;
        int r;

        r = read_vm(msg, userdata, &vm, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "o", vm->object_path);
}

static int method_list_vms(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sso)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_vms; i++) {
                VM *vm = m->vms[i];

                r = sd_bus_message_append(reply, "(sso)", vm->name, vm_state_to_string(vm->state), vm->object_path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* "Bridges": the bridges the VMs' NICs use, each once, sorted. */
static int manager_append_bridges(Manager *m, sd_bus_message *reply) {
        _cleanup_free_ const char **bridges = NULL;
        size_t n = 0;
        int r;

        for (size_t i = 0; i < m->n_vms; i++)
                n += m->vms[i]->config->n_groups[CONFIG_SECTION_NETWORK];
        bridges = calloc(n + 1, sizeof(char *));
        if (!bridges)
                return -ENOMEM;

        n = 0;
        for (size_t i = 0; i < m->n_vms; i++) {
                const Config *c = m->vms[i]->config;

                for (size_t j = 0; j < c->n_groups[CONFIG_SECTION_NETWORK]; j++) {
                        GVariant *v = c->groups[CONFIG_SECTION_NETWORK][j].values[CONFIG_NETWORK_BRIDGE];
                        const char *b = v ? g_variant_get_string(v, NULL) : "";

                        bridges[n++] = b[0] ? b : m->default_bridge;
                }
        }
        qsort(bridges, n, sizeof(char *), compare_strings);

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "Bridges");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (i == 0 || !streq(bridges[i], bridges[i - 1]))
                        r = sd_bus_message_append(reply, "s", bridges[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_get_system_info(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        uint64_t memory = 0;
        uint32_t vcpus = 0, running = 0;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int r;

        for (size_t i = 0; i < m->n_vms; i++) {
                vcpus += (uint32_t) config_get_number(m->vms[i]->config, CONFIG_VCPUS);
                memory += config_get_number(m->vms[i]->config, CONFIG_MEMORY_MIB);
                running += vm_state_is_active(m->vms[i]->state) > 0;
        }

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = manager_append_bridges(m, reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}",
                                  "CPUs", "u", (uint32_t) (cpus > 0 ? cpus : 0),
                                  "MemoryMiB", "t", config_host_memory_mib(),
                                  "VMs", "u", (uint32_t) m->n_vms,
                                  "ActiveVMs", "u", running,
                                  "AllocatedVCPUs", "u", vcpus,
                                  "AllocatedMemoryMiB", "t", memory,
                                  "Version", "s", MVM_VERSION);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("CreateVM", SD_BUS_ARGS("s", name, "a{sv}", config), SD_BUS_RESULT("o", path),
                                method_create_vm, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UpdateVM", SD_BUS_ARGS("s", name, "a{sv}", config), SD_BUS_NO_RESULT,
                                method_update_vm, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteVM", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_delete_vm,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartVM", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_start_vm,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StopVM", SD_BUS_ARGS("s", name, "t", timeout_usec), SD_BUS_RESULT("s", stop_reason),
                                method_stop_vm, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("KillVM", SD_BUS_ARGS("s", name, "i", signal), SD_BUS_NO_RESULT, method_kill_vm,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PauseVM", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_pause_vm,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResumeVM", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_resume_vm,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SnapshotVM", SD_BUS_ARGS("s", name, "s", path), SD_BUS_NO_RESULT,
                                method_snapshot_vm, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RestoreVM", SD_BUS_ARGS("s", name, "s", path), SD_BUS_NO_RESULT,
                                method_restore_vm, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OpenConsole", SD_BUS_ARGS("s", name), SD_BUS_RESULT("h", console),
                                method_open_console, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Exec",
                                SD_BUS_ARGS("s", name, "as", argv, "as", env, "ay", stdin, "t", timeout_usec,
                                            "t", output_max),
                                SD_BUS_RESULT("i", exit_status, "i", signal, "ay", stdout, "ay", stderr), method_exec,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Signal", SD_BUS_ARGS("s", name, "s", target, "i", signal), SD_BUS_NO_RESULT,
                                method_signal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Ping", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_ping,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetGuestInfo", SD_BUS_ARGS("s", name), SD_BUS_RESULT("a{sv}", info),
                                method_get_guest_info, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetVM", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", path), method_get_vm,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListVMs", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sso)", vms), method_list_vms,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetSystemInfo", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", info),
                                method_get_system_info, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("VMCreated", SD_BUS_ARGS("s", name, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("VMRemoved", SD_BUS_ARGS("s", name, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("VMStateChanged", SD_BUS_ARGS("s", name, "s", state), 0),
        SD_BUS_VTABLE_END,
};

int manager_dbus_register(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register %s: %m", MVM_MANAGER_INTERFACE);

        r = sd_bus_add_object_manager(m->bus, NULL, MVM_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add the object manager: %m");

        return 0;
}
