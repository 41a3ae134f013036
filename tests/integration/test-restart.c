/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmd's life under systemd: a restart or a SIGKILL loses no VM, the first call starts it by
 * bus activation, and a key file broken by hand is logged with file:line and skipped while the
 * rest is served. VM names start with "itr-". */

#include "bus-test.h"

#define PREFIX "itr-"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(restart, .init = cleanup, .fini = cleanup);

static const struct {
        const char *name, *config;
} fleet[] = {
        { "itr-full",
          "{'Kernel': <'/var/lib/microvm/images/vmlinuz'>, 'Initrd': <'/var/lib/microvm/images/initrd.img'>, "
          "'KernelCommandLine': <'console=ttyS0 quiet'>, 'Hypervisor': <'qemu'>, 'Accelerator': <'tcg'>, "
          "'VCPUs': <uint32 4>, 'MemoryMiB': <uint64 1024>, 'Autostart': <true>, "
          "'Drives': <[{'Path': <'/srv/root.img'>, 'Root': <true>}, "
          "{'Path': <'/srv/data.img'>, 'ReadOnly': <true>}]>}" },
        { "itr-min", "{'Kernel': <'/k'>}" },
        { "itr-odd.name_1", "{'Kernel': <'/k'>, 'MemoryMiB': <uint64 64>}" },
};

/* Every VM of the fleet as a user sees it: its properties and its key file, as text. */
static char *fleet_state(BusTest *t, const char *what) {
        g_autoptr(GString) s = g_string_new(NULL);

        for (size_t i = 0; i < ELEMENTSOF(fleet); i++) {
                g_autofree char *path = bt_vm_path(fleet[i].name), *file = bt_key_file(fleet[i].name);
                g_autofree char *contents = bt_read_file(file), *shown = NULL;
                g_autoptr(GVariant) props = NULL;

                cr_assert(bt_vm_listed(t, fleet[i].name), "%s: ListVMs does not list %s", what, fleet[i].name);
                props = bt_vm_properties(t, path, what);
                shown = g_variant_print(props, TRUE);
                g_string_append_printf(s, "%s:\n%s\n%s\n", fleet[i].name, shown, strempty(contents));
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static char *create_fleet(BusTest *t) {
        bt_make_image("/srv/root.img", "ext4");
        bt_make_image("/srv/data.img", "blank");
        for (size_t i = 0; i < ELEMENTSOF(fleet); i++)
                g_free(bt_create_vm(t, fleet[i].name, fleet[i].config));
        return fleet_state(t, "before");
}

/* This file starts microvmd more often within a few seconds than systemd's default start rate
 * limit allows (5 in 10 s): reset the count before each start. */
static void reset_start_limit(void) {
        g_autofree char *out = NULL;
        int r;

        r = bt_run(&out, "systemctl reset-failed " BT_UNIT);
        cr_assert(r == 0, "systemctl reset-failed: %s", out);
}

/* Makes sure microvmd runs, and returns its main PID. */
static char *main_pid(BusTest *t) {
        g_autoptr(GVariant) list = bt_list_vms(t);

        cr_assert(bt_wait_unit_property(BT_UNIT, "ActiveState", "active", BT_TIMEOUT_USEC),
                  BT_UNIT " did not become active");
        return bt_unit_property(BT_UNIT, "MainPID");
}

Test(restart, systemctl_restart) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *before = create_fleet(t), *after = NULL, *old_pid = main_pid(t), *new_pid = NULL;
        g_autofree char *out = NULL;
        int r;

        reset_start_limit();
        r = bt_run(&out, "systemctl restart " BT_UNIT);
        cr_assert(r == 0, "systemctl restart failed: %s", out);

        new_pid = main_pid(t);
        cr_assert(!streq(new_pid, old_pid) && !streq(new_pid, "0"), "restart: MainPID was %s, is %s", old_pid,
                  new_pid);
        after = fleet_state(t, "after systemctl restart");
        cr_assert_str_eq(after, before, "restart: the VMs differ.\nbefore:\n%s\nafter:\n%s", before, after);
}

Test(restart, sigkill) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *before = create_fleet(t), *after = NULL, *old_pid = main_pid(t), *new_pid = NULL;
        g_autofree char *out = NULL;
        int r;

        reset_start_limit();
        /* The main process, which is all there is: with the default, the whole cgroup, systemctl
         * failed now and then with "Failed to send signal SIGKILL to auxiliary processes:
         * Input/output error" after the main process was gone. */
        r = bt_run(&out, "systemctl kill --kill-whom=main -s KILL " BT_UNIT);
        cr_assert(r == 0, "systemctl kill failed: %s", out);

        /* Until systemd has seen it die: MainPID is 0 while the unit is failed or waits to restart,
         * or the PID of the new microvmd. */
        for (int64_t deadline = g_get_monotonic_time() + BT_TIMEOUT_USEC;;) {
                g_autofree char *pid = bt_unit_property(BT_UNIT, "MainPID");

                if (!streq(pid, old_pid))
                        break;
                cr_assert(g_get_monotonic_time() < deadline, "SIGKILL: MainPID is still %s", pid);
                g_usleep(20 * 1000);
        }

        /* The next call finds microvmd restarted by systemd, or starts it by bus activation. */
        new_pid = main_pid(t);
        cr_assert(!streq(new_pid, old_pid) && !streq(new_pid, "0"), "SIGKILL: MainPID was %s, is %s", old_pid,
                  new_pid);
        after = fleet_state(t, "after SIGKILL");
        cr_assert_str_eq(after, before, "SIGKILL: the VMs differ.\nbefore:\n%s\nafter:\n%s", before, after);
}

Test(restart, bus_activation) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *before = create_fleet(t), *after = NULL, *state = NULL, *out = NULL;
        int r;

        reset_start_limit();
        r = bt_run(&out, "systemctl stop " BT_UNIT);
        cr_assert(r == 0, "systemctl stop failed: %s", out);
        state = bt_unit_property(BT_UNIT, "ActiveState");
        cr_assert_str_eq(state, "inactive", "bus activation: after stop, " BT_UNIT " is %s", state);
        /* The bus sees the connection close a little after systemd sees the process exit. */
        cr_assert(bt_wait_name_owner(t, false, BT_TIMEOUT_USEC),
                  "bus activation: " BT_BUS_NAME " still has an owner after stop");

        /* The call itself starts microvmd, which has every VM when it answers. */
        g_autoptr(GVariant) list = bt_list_vms(t);
        for (size_t i = 0; i < ELEMENTSOF(fleet); i++) {
                g_autofree char *shown = g_variant_print(list, FALSE);

                cr_assert(strstr(shown, fleet[i].name), "bus activation: ListVMs lacks %s: %s", fleet[i].name,
                          shown);
        }
        cr_assert(bt_wait_unit_property(BT_UNIT, "ActiveState", "active", BT_TIMEOUT_USEC),
                  "bus activation: " BT_UNIT " did not become active");
        after = fleet_state(t, "after bus activation");
        cr_assert_str_eq(after, before, "bus activation: the VMs differ.\nbefore:\n%s\nafter:\n%s", before, after);
}

/* Waits (bounded) until microvmd with this PID has logged every line of expected; returns what
 * it logged. */
static char *wait_journal(const char *pid, const char *const *expected, size_t n) {
        for (int64_t deadline = g_get_monotonic_time() + BT_TIMEOUT_USEC;;) {
                g_autofree char *log = NULL;
                size_t found = 0;
                int r;

                r = bt_run(&log, "journalctl --no-pager -o cat -u " BT_UNIT " _PID=%s", pid);
                cr_assert(r == 0, "journalctl failed: %s", log);
                for (size_t j = 0; j < n; j++)
                        found += strstr(log, expected[j]) != NULL;
                if (found == n || g_get_monotonic_time() >= deadline)
                        return g_steal_pointer(&log);
                g_usleep(20 * 1000);
        }
}

Test(restart, broken_key_files) {
        static const struct {
                const char *name, *contents, *logged;
        } broken[] = {
                { "itr-bad-vcpus",
                  "[VM]\nVCPUs=0\n\n[Boot]\nKernel=/k\n",
                  BT_CONFIG_DIR "/itr-bad-vcpus.vm:2: VCPUs=: must be between 1 and 256, not 0" },
                { "itr-bad-key",
                  "# A key microvm does not know.\n[VM]\nVCPUs=1\n\n[Boot]\nKernel=/k\nColour=blue\n",
                  BT_CONFIG_DIR "/itr-bad-key.vm:7: Unknown key Colour= in [Boot]" },
                { "itr-bad-nokernel",
                  "[VM]\nVCPUs=2\n",
                  BT_CONFIG_DIR "/itr-bad-nokernel.vm: Kernel is required" },
        };
        const char *expected[ELEMENTSOF(broken)];
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *before = create_fleet(t), *after = NULL, *out = NULL, *pid = NULL, *log = NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(broken); i++) {
                g_autofree char *file = bt_key_file(broken[i].name);

                bt_write_file(file, broken[i].contents);
                expected[i] = broken[i].logged;
        }

        reset_start_limit();
        r = bt_run(&out, "systemctl restart " BT_UNIT);
        cr_assert(r == 0, "broken key files: systemctl restart failed: %s", out);
        pid = main_pid(t);

        /* Each broken file is named with its line and key in the journal... */
        log = wait_journal(pid, expected, ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(broken); i++)
                cr_assert(strstr(log, broken[i].logged), "%s: the journal lacks '%s':\n%s", broken[i].name,
                          broken[i].logged, log);

        /* ...the good VMs are all there... */
        after = fleet_state(t, "broken key files");
        cr_assert_str_eq(after, before, "broken key files: the good VMs differ.\nbefore:\n%s\nafter:\n%s", before,
                         after);

        for (size_t i = 0; i < ELEMENTSOF(broken); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                g_autofree char *file = bt_key_file(broken[i].name), *path = bt_vm_path(broken[i].name);
                g_autofree char *contents = NULL;

                /* ...the broken ones are not served... */
                cr_assert(!bt_vm_listed(t, broken[i].name), "%s: ListVMs lists it", broken[i].name);
                r = bt_call(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "GetVM", g_variant_new("(s)", broken[i].name),
                            NULL, &error);
                bt_assert_error(r, &error, "org.microvm.Error.NoSuchVM", "No VM", broken[i].name);
                sd_bus_error_free(&error);
                r = bt_call(t, path, "org.freedesktop.DBus.Properties", "Get",
                            g_variant_new("(ss)", BT_VM_INTERFACE, "Name"), NULL, &error);
                cr_assert(r < 0, "%s: its Name can be read", broken[i].name);
                sd_bus_error_free(&error);

                /* ...and their files stay the user's: CreateVM does not overwrite them. */
                r = bt_try_create_vm(t, broken[i].name, "{'Kernel': <'/k'>}", &error);
                bt_assert_error(r, &error, "org.microvm.Error.VMExists", "could not be loaded", broken[i].name);
                bt_assert_error(r, &error, "org.microvm.Error.VMExists", file, broken[i].name);
                contents = bt_read_file(file);
                cr_assert_str_eq(contents, broken[i].contents, "%s: CreateVM changed %s:\n%s", broken[i].name, file,
                                 contents);
        }

        /* Nothing broken is fatal. */
        g_autofree char *state = bt_unit_property(BT_UNIT, "ActiveState");
        cr_assert_str_eq(state, "active", "broken key files: " BT_UNIT " is %s", state);
}
