/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Configuration meets a running VM: an update applies at the next start (NeedsRestart), a running
 * VM cannot be deleted, and Autostart= is the unit's symlink in microvm.target.wants/. VM names
 * start with "itvc-". */

#include <signal.h>
#include <sys/stat.h>

#include "bus-test.h"

#define PREFIX "itvc-"
#define WANTS_DIR "/etc/systemd/system/microvm.target.wants"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(vm_config, .init = cleanup, .fini = cleanup);

static bool needs_restart(BusTest *t, const char *name) {
        g_autoptr(GVariant) v = bt_vm_property(t, name, "NeedsRestart");

        return g_variant_get_boolean(v);
}

/* Whether a recorded PropertiesChanged of the VM carried NeedsRestart with this value. */
static bool needs_restart_announced(BusTest *t, const char *name, bool value) {
        g_autofree char *path = bt_vm_path(name);

        for (size_t i = 0; i < t->n_signals; i++) {
                const BusSignal *s = &t->signals[i];
                g_autoptr(GVariant) changed = NULL, invalidated = NULL, v = NULL;
                const char *iface;

                if (!streq_ptr(s->member, "PropertiesChanged") || !streq_ptr(s->path, path))
                        continue;
                g_variant_get(s->body, "(&s@a{sv}@as)", &iface, &changed, &invalidated);
                v = g_variant_lookup_value(changed, "NeedsRestart", G_VARIANT_TYPE_BOOLEAN);
                if (streq(iface, BT_VM_INTERFACE) && v && g_variant_get_boolean(v) == value)
                        return true;
        }
        return false;
}

Test(vm_config, needs_restart) {
        static const char name[] = PREFIX "restart";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", ""), *reason = NULL;
        g_autoptr(GVariant) vcpus = NULL;

        g_free(bt_create_vm(t, name, config));
        cr_assert(!needs_restart(t, name), "NeedsRestart: true for a VM never started");
        bt_boot_vm(t, name);
        cr_assert(!needs_restart(t, name), "NeedsRestart: true right after StartVM");

        /* The key file changes now; the running guest keeps what it was started with. */
        bt_sync(t);
        bt_clear_signals(t);
        bt_update_vm(t, name, "{'VCPUs': <uint32 2>}");
        vcpus = bt_vm_property(t, name, "VCPUs");
        cr_assert_eq(g_variant_get_uint32(vcpus), 2, "NeedsRestart: VCPUs was not updated");
        cr_assert(needs_restart(t, name), "NeedsRestart: false after UpdateVM of a running VM");
        bt_sync(t);
        cr_assert(needs_restart_announced(t, name, true), "NeedsRestart: no PropertiesChanged announced it");

        /* A stop and a start take the change in. */
        reason = bt_stop_vm(t, name, 0);
        cr_assert_str_eq(reason, "stop-request", "NeedsRestart: StopVM returned %s", reason);
        cr_assert(!needs_restart(t, name), "NeedsRestart: true while stopped");
        bt_sync(t);
        bt_clear_signals(t);
        bt_start_vm(t, name);
        cr_assert(!needs_restart(t, name), "NeedsRestart: still true after the VM was started again");

        bt_kill_vm(t, name, SIGKILL);
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_TIMEOUT_USEC), "NeedsRestart: the VM did not stop");
}

Test(vm_config, delete_running) {
        static const char name[] = PREFIX "busy";
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", ""), *before = NULL, *file = NULL;
        int r;

        g_free(bt_create_vm(t, name, config));
        bt_start_vm(t, name);
        bt_sync(t);
        before = bt_snapshot(t);
        bt_clear_signals(t);

        r = bt_try_manager_call(t, "DeleteVM", g_variant_new("(s)", name), &error);
        bt_assert_error(r, &error, "org.microvm.Error.InvalidState", "stop it before deleting it",
                        "DeleteVM of a running VM");
        bt_assert_unchanged(t, before, "DeleteVM of a running VM");
        file = bt_key_file(name);
        cr_assert(g_file_test(file, G_FILE_TEST_IS_REGULAR), "DeleteVM of a running VM: %s is gone", file);

        bt_kill_vm(t, name, SIGKILL);
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_TIMEOUT_USEC),
                  "DeleteVM of a running VM: the VM did not stop");
}

/* Waits (bounded: microvmd asks systemd without waiting for the answer) until the unit's
 * symlink in microvm.target.wants/ exists or not; returns whether that happened. */
static bool wait_wanted(const char *name, bool wanted) {
        g_autofree char *link = g_strdup_printf(WANTS_DIR "/microvm@%s.service", name);

        for (int64_t deadline = g_get_monotonic_time() + BT_TIMEOUT_USEC;;) {
                struct stat st;

                if ((lstat(link, &st) >= 0 && S_ISLNK(st.st_mode)) == wanted)
                        return true;
                if (g_get_monotonic_time() >= deadline)
                        return false;
                g_usleep(20 * 1000);
        }
}

Test(vm_config, autostart) {
        static const char name[] = PREFIX "boot";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", "'Autostart': <true>");
        g_autofree char *link = g_strdup_printf(WANTS_DIR "/microvm@%s.service", name), *target = NULL;

        g_free(bt_create_vm(t, name, config));
        cr_assert(wait_wanted(name, true), "Autostart: CreateVM with Autostart=true made no %s", link);
        target = g_file_read_link(link, NULL);
        cr_assert(target && g_str_has_suffix(target, "/microvm@.service"),
                  "Autostart: %s points to %s, not the template", link, target);

        bt_update_vm(t, name, "{'Autostart': <false>}");
        cr_assert(wait_wanted(name, false), "Autostart: UpdateVM with Autostart=false left %s", link);

        bt_update_vm(t, name, "{'Autostart': <true>}");
        cr_assert(wait_wanted(name, true), "Autostart: UpdateVM with Autostart=true made no %s", link);

        bt_delete_vm(t, name);
        cr_assert(wait_wanted(name, false), "Autostart: DeleteVM left %s", link);
}
