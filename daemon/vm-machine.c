/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Registration with systemd-machined: RegisterMachineWithNetwork with the hypervisor as the leader
 * (machined then follows the VM's unit) and the VM's TAP devices as its network interfaces;
 * UnregisterMachine when it stops. Both asynchronous. machined of systemd 252 takes no vsock CID. */

#include <net/if.h>
#include <stdio.h>

#include "fileio.h"
#include "log.h"
#include "manager.h"
#include "vm-files.h"
#include "vm-machine.h"
#include "vm-state.h"

#define MACHINED_BUS_NAME "org.freedesktop.machine1"
#define MACHINED_PATH "/org/freedesktop/machine1"
#define MACHINED_MANAGER_IFACE "org.freedesktop.machine1.Manager"

void vm_machine_free(VM *vm) {
        vm->machine_slot = sd_bus_slot_unref(vm->machine_slot);
}

static bool machined_is_missing(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      SD_BUS_ERROR_UNKNOWN_METHOD);
}

static int reply_register(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        VM *vm = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        vm->machine_slot = sd_bus_slot_unref(vm->machine_slot);
        if (!e) {
                log_debug("VM %s is registered with systemd-machined.", vm->name);
                return 0;
        }
        vm->machine_leader = 0;
        if (machined_is_missing(e)) {
                if (!vm->manager->machined_missing)
                        log_info("systemd-machined is not available (%s): VMs are not registered as machines.",
                                 e->name);
                vm->manager->machined_missing = true;
                return 0;
        }
        log_warning("Cannot register VM %s with systemd-machined, ignoring: %s", vm->name, e->message);
        return 0;
}

/* The ifindex of each TAP device the unit's start recorded; none where there are none. */
static int append_taps(VM *vm, sd_bus_message *m) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        int r;

        r = sd_bus_message_open_container(m, 'a', "i");
        if (r < 0)
                return r;
        if (vm_runtime_dir(vm->name, &dir) >= 0 && asprintf(&path, "%s/" MVM_TAPS_FILE, dir) >= 0 &&
            read_file(path, &text, NULL) >= 0) {
                g_auto(GStrv) taps = g_strsplit(text, "\n", -1);

                for (char **t = taps; *t; t++) {
                        unsigned ifindex = (*t)[0] ? if_nametoindex(*t) : 0;

                        if (ifindex > 0) {
                                r = sd_bus_message_append(m, "i", (int32_t) ifindex);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return sd_bus_message_close_container(m);
}

static void vm_machine_register(VM *vm) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(vm->manager->bus, &m, MACHINED_BUS_NAME, MACHINED_PATH,
                                           MACHINED_MANAGER_IFACE, "RegisterMachineWithNetwork");
        /* No machine ID of its own (machined allows none), no root directory: a VM has its own. */
        if (r >= 0)
                r = sd_bus_message_append(m, "s", vm->name);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', NULL, 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "ssus", "microvm", "vm", vm->main_pid, "");
        if (r >= 0)
                r = append_taps(vm, m);
        if (r >= 0)
                r = sd_bus_call_async(vm->manager->bus, &vm->machine_slot, m, reply_register, vm, 0);
        if (r < 0) {
                log_warning_errno(r, "Cannot register VM %s with systemd-machined, ignoring: %m", vm->name);
                return;
        }
        vm->machine_leader = vm->main_pid;
}

static int reply_unregister(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        /* machined forgets a machine whose unit stopped by itself: gone already is fine. */
        if (e && !sd_bus_error_has_name(e, "org.freedesktop.machine1.NoSuchMachine") && !machined_is_missing(e))
                log_debug("Cannot unregister a VM from systemd-machined, ignoring: %s", e->message);
        return 0;
}

static void vm_machine_unregister(VM *vm) {
        int r;

        vm->machine_slot = sd_bus_slot_unref(vm->machine_slot);
        vm->machine_leader = 0;
        r = sd_bus_call_method_async(vm->manager->bus, NULL, MACHINED_BUS_NAME, MACHINED_PATH, MACHINED_MANAGER_IFACE,
                                     "UnregisterMachine", reply_unregister, NULL, "s", vm->name);
        if (r < 0)
                log_debug_errno(r, "Cannot unregister VM %s from systemd-machined, ignoring: %m", vm->name);
}

void vm_machine_follow_state(VM *vm) {
        if (!vm->manager || !vm->manager->bus || vm->manager->machined_missing)
                return;
        if ((vm->state == VM_RUNNING || vm->state == VM_PAUSED) && vm->main_pid > 0) {
                /* A new hypervisor (a restart behind microvmd's back) is a new leader. */
                if (vm->machine_leader == vm->main_pid)
                        return;
                if (vm->machine_leader != 0)
                        vm_machine_unregister(vm);
                vm_machine_register(vm);
                return;
        }
        if (vm_state_is_active(vm->state) <= 0 && vm->machine_leader != 0)
                vm_machine_unregister(vm);
}
