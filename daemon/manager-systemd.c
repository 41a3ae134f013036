/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Following microvm@*.service through systemd's signals: no polling. */

#include "bus-names.h"
#include "log.h"
#include "manager-systemd.h"
#include "vm-unit.h"

/* The VM whose unit is unit, or NULL. */
static VM *manager_get_vm_by_unit(Manager *m, const char *unit) {
        _cleanup_free_ char *name = NULL;
        size_t n, prefix = strlen(MVM_UNIT_PREFIX), suffix = strlen(MVM_UNIT_SUFFIX);

        n = strlen(unit);
        if (n <= prefix + suffix || strncmp(unit, MVM_UNIT_PREFIX, prefix) != 0 ||
            !streq(unit + n - suffix, MVM_UNIT_SUFFIX))
                return NULL;
        name = strndup(unit + prefix, n - prefix - suffix);
        return name ? manager_get_vm(m, name) : NULL;
}

static int match_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *unit = NULL;
        Manager *m = userdata;
        const char *interface;
        VM *vm;
        int r;

        r = sd_bus_path_decode(sd_bus_message_get_path(msg), SYSTEMD_UNIT_PATH, &unit);
        if (r <= 0)
                return 0;
        vm = manager_get_vm_by_unit(m, unit);
        if (!vm)
                return 0;

        r = sd_bus_message_read(msg, "s", &interface);
        if (r >= 0)
                r = vm_apply_unit_properties(vm, msg);
        if (r < 0)
                log_warning_errno(r, "Failed to read a change of %s, ignoring: %m", unit);
        return 0;
}

static int match_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *job, *unit, *result;
        Manager *m = userdata;
        uint32_t id;
        VM *vm;
        int r;

        r = sd_bus_message_read(msg, "uoss", &id, &job, &unit, &result);
        if (r < 0) {
                log_warning_errno(r, "Failed to read JobRemoved, ignoring: %m");
                return 0;
        }
        vm = manager_get_vm_by_unit(m, unit);
        if (vm)
                vm_job_removed(vm, job, result);
        return 0;
}

static void manager_sync_done(Manager *m) {
        assert(m->n_sync_pending > 0);
        if (--m->n_sync_pending == 0)
                manager_systemd_synced(m);
}

static int reply_get_service(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        Manager *m = vm->manager;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        sd_bus_slot *slot = sd_bus_get_current_slot(sd_bus_message_get_bus(reply));
        int r;

        for (size_t i = 0; i < ELEMENTSOF(vm->state_slots); i++)
                if (vm->state_slots[i] == slot)
                        vm->state_slots[i] = sd_bus_slot_unref(vm->state_slots[i]);

        if (e)
                log_warning("Failed to read the state of %s, ignoring: %s", vm->unit, e->message);
        else {
                r = vm_apply_unit_properties(vm, reply);
                if (r < 0)
                        log_warning_errno(r, "Failed to read the state of %s, ignoring: %m", vm->unit);
        }
        if (m->n_sync_pending > 0)
                manager_sync_done(m);
        return 0;
}

static int manager_get_unit_properties(Manager *m, VM *vm, size_t k, const char *interface) {
        int r;

        /* Kept with the VM, which cancels it when it goes. */
        vm->state_slots[k] = sd_bus_slot_unref(vm->state_slots[k]);
        r = sd_bus_call_method_async(m->bus, &vm->state_slots[k], SYSTEMD_BUS_NAME, vm->unit_path,
                                     "org.freedesktop.DBus.Properties", "GetAll", reply_get_service, vm, "s",
                                     interface);
        if (r < 0)
                return log_error_errno(r, "Failed to ask for the state of %s: %m", vm->unit);
        if (!m->synced)
                m->n_sync_pending++;
        return 0;
}

int manager_systemd_refresh_vm(Manager *m, VM *vm) {
        int r;

        r = manager_get_unit_properties(m, vm, 0, "org.freedesktop.systemd1.Unit");
        if (r < 0)
                return r;
        return manager_get_unit_properties(m, vm, 1, "org.freedesktop.systemd1.Service");
}

static int reply_list_units(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const char *name, *active, *path;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Manager *m = userdata;
        int r;

        if (e) {
                log_error("Failed to list the VM units: %s", e->message);
                manager_sync_done(m);
                return 0;
        }

        /* Loaded units tell their state here; the others are not running. */
        for (size_t i = 0; i < m->n_vms; i++)
                vm_set_unit_unloaded(m->vms[i]);

        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        while (r > 0) {
                VM *vm;

                r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, &active, NULL, NULL, &path, NULL,
                                        NULL, NULL);
                if (r <= 0)
                        break;
                vm = manager_get_vm_by_unit(m, name);
                if (!vm || streq(active, "inactive"))
                        continue;
                /* Properties of a running unit: MainPID, when it started, its Result. A failure is
                 * logged there and costs only this VM's state; the loop goes on for the others. */
                (void) manager_systemd_refresh_vm(m, vm);
        }
        if (r < 0)
                log_error_errno(r, "Failed to read the list of VM units: %m");

        manager_sync_done(m);
        return 0;
}

static int reply_subscribe(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_error("Failed to subscribe to systemd: %s; VM states will not update.", e->message);
        return 0;
}

int manager_systemd_startup(Manager *m) {
        int r;

        /* Matches before Subscribe, and Subscribe before the initial read: a change in between
         * is seen either in the read or as a signal, never lost. */
        r = sd_bus_add_match_async(m->bus, NULL,
                                   "type='signal',sender='" SYSTEMD_BUS_NAME "',"
                                   "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                                   "path_namespace='" SYSTEMD_UNIT_PATH "'",
                                   match_properties_changed, NULL, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch unit changes: %m");

        r = sd_bus_match_signal_async(m->bus, NULL, SYSTEMD_BUS_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE,
                                      "JobRemoved", match_job_removed, NULL, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch systemd's jobs: %m");

        r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_BUS_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE,
                                     "Subscribe", reply_subscribe, m, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to systemd: %m");

        r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_BUS_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE,
                                     "ListUnitsByPatterns", reply_list_units, m, "asas", 0,
                                     1, MVM_UNIT_PREFIX "*" MVM_UNIT_SUFFIX);
        if (r < 0)
                return log_error_errno(r, "Failed to list the VM units: %m");
        m->n_sync_pending++;
        return 0;
}
