/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Real VMs over the bus: the test guest boots under TCG to its ready line, shuts itself down when
 * StopVM presses its power button, powers off by itself, and runs beside another. Each step is
 * checked where it shows: the reply, the VM's properties and signals, the guest's serial
 * console, and the unit's journal, cgroup and limits. VM names start with "itvr-". */

#include <inttypes.h>

#include "bus-test.h"

#define PREFIX "itvr-"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(vm_run, .init = cleanup, .fini = cleanup);

/* Asserts what a stopped VM shows: its state, its reason, no process, and nothing of its unit. */
static void assert_stopped(BusTest *t, const char *name, const char *reason, const char *what) {
        g_autofree char *state = bt_vm_state(t, name), *stop_reason = bt_vm_stop_reason(t, name);
        g_autoptr(GVariant) started_at = bt_vm_property(t, name, "StartedAt");
        uint32_t pid = bt_vm_main_pid(t, name);

        cr_assert_str_eq(state, "stopped", "%s: State is %s, not stopped", what, state);
        cr_assert_str_eq(stop_reason, reason, "%s: StopReason is %s, not %s", what, stop_reason, reason);
        cr_assert_eq(pid, 0, "%s: MainPID is %" PRIu32 ", not 0", what, pid);
        cr_assert_eq(g_variant_get_uint64(started_at), 0, "%s: StartedAt is not 0", what);
        bt_assert_vm_unit_gone(name, what);
}

/* Asserts that the unit's journal has the launcher's last word on the stop. */
static void assert_stop_logged(const char *name, const char *reason, const char *what) {
        g_autofree char *unit = bt_vm_unit(name), *log = NULL;
        g_autofree char *line = g_strdup_printf("VM %s stopped: %s (hypervisor exited, status 0)", name, reason);

        cr_assert(bt_wait_journal(unit, line, BT_TIMEOUT_USEC, &log), "%s: the journal of %s lacks '%s':\n%s", what,
                  unit, line, log);
}

Test(vm_run, bus) {
        static const char name[] = PREFIX "bus";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        /* Without the agent: this stop is the power button's (test-agent.c has the agent's). */
        g_autofree char *config = bt_guest_config("microvm.agent=0", "'VCPUs': <uint32 2>, 'MemoryMiB': <uint64 192>");
        g_autofree char *unit = bt_vm_unit(name), *state = NULL, *changes = NULL, *binary = NULL;
        g_autofree char *processes = NULL, *expected = NULL, *memory_max = NULL, *memory_expected = NULL;
        g_autofree char *quota = NULL, *reason = NULL;
        g_autoptr(GVariant) started_at = NULL;
        uint32_t pid;

        g_free(bt_create_vm(t, name, config));
        bt_sync(t);
        bt_clear_signals(t);

        /* StartVM answers once systemd's job is done, and systemd sends the unit's change before
         * the job's end: the VM is running, and both of its changes were announced, in order. */
        bt_start_vm(t, name);
        state = bt_vm_state(t, name);
        cr_assert_str_eq(state, "running", "bus: after StartVM, State is %s", state);
        bt_dispatch(t);
        changes = bt_vm_state_changes(t, name);
        cr_assert_str_eq(changes, "starting running", "bus: VMStateChanged announced '%s'", changes);
        started_at = bt_vm_property(t, name, "StartedAt");
        cr_assert_gt(g_variant_get_uint64(started_at), 0, "bus: StartedAt is 0 while running");
        pid = bt_vm_main_pid(t, name);
        cr_assert_gt(pid, 0, "bus: MainPID is 0 while running");

        /* The guest's userspace comes up. */
        bt_assert_serial_line(name, BT_GUEST_READY, BT_BOOT_TIMEOUT_USEC, "bus");

        /* QEMU is the unit's main process, and the only process in its cgroup: the launcher
         * exec'd it and left nothing behind. */
        cr_assert_eq(bt_vm_main_pid(t, name), pid, "bus: MainPID changed while the guest booted");
        binary = bt_process_binary(pid);
        cr_assert(binary && g_str_has_prefix(binary, "qemu-system-"), "bus: MainPID %" PRIu32 " runs %s, not QEMU",
                  pid, binary);
        processes = bt_unit_processes(unit);
        expected = g_strdup_printf("%" PRIu32 " %s\n", pid, binary);
        cr_assert_str_eq(processes, expected, "bus: the cgroup of %s holds\n%sinstead of just QEMU", unit,
                         processes);

        /* The unit's limits follow the VM's size: guest memory plus QEMU's 256 MiB under TCG, one
         * CPU per vCPU. */
        memory_max = bt_unit_property(unit, "MemoryMax");
        memory_expected = g_strdup_printf("%" PRIu64, (uint64_t) (192 + 256) * 1024 * 1024);
        cr_assert_str_eq(memory_max, memory_expected, "bus: MemoryMax is %s, not %s", memory_max, memory_expected);
        quota = bt_unit_property(unit, "CPUQuotaPerSecUSec");
        cr_assert_str_eq(quota, "2.500000s", "bus: CPUQuotaPerSecUSec is %s, not 2.5s (2 vCPUs and half a CPU for QEMU)",
                         quota);

        /* The stop presses the power button, the guest shuts itself down, and QEMU exits on its
         * own with status 0. */
        bt_clear_signals(t);
        reason = bt_stop_vm(t, name, 0);
        cr_assert_str_eq(reason, "stop-request", "bus: StopVM returned %s", reason);
        /* Complete: QEMU wrote it before it exited. */
        bt_assert_serial_line(name, BT_GUEST_SHUTDOWN, 0, "bus: the guest's own shutdown");
        assert_stop_logged(name, "stop-request", "bus");
        assert_stopped(t, name, "stop-request", "bus: after StopVM");
        bt_dispatch(t);
        g_free(changes);
        changes = bt_vm_state_changes(t, name);
        cr_assert_str_eq(changes, "stopping stopped", "bus: VMStateChanged announced '%s' for the stop", changes);

        bt_delete_vm(t, name);
        bt_assert_vm_unit_gone(name, "bus: after DeleteVM");
}

Test(vm_run, guest_poweroff) {
        static const char name[] = PREFIX "poweroff";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("microvm.poweroff=1", ""), *changes = NULL, *serial = NULL;

        g_free(bt_create_vm(t, name, config));
        bt_sync(t);
        bt_clear_signals(t);

        /* Nobody asks it to stop: the guest powers off right after its ready line. */
        bt_start_vm(t, name);
        if (!bt_wait_vm_state(t, name, "stopped", BT_BOOT_TIMEOUT_USEC)) {
                serial = bt_serial_text(name);
                cr_assert_fail("guest poweroff: the VM did not stop by itself; its serial console said:\n%s",
                               serial);
        }
        bt_assert_serial_line(name, BT_GUEST_POWEROFF, 0, "guest poweroff");
        assert_stop_logged(name, "guest-poweroff", "guest poweroff");
        assert_stopped(t, name, "guest-poweroff", "guest poweroff");

        bt_dispatch(t);
        changes = bt_vm_state_changes(t, name);
        cr_assert(g_str_has_prefix(changes, "starting running ") && g_str_has_suffix(changes, " stopped") &&
                  !strstr(changes, "crashed"),
                  "guest poweroff: VMStateChanged announced '%s'", changes);
}

/* A StopVM sent without waiting for its reply, so that several are under way at once. */
typedef struct PendingStop {
        const char *name;
        bool done;
        char *reason;
        char *error;
} PendingStop;

static int on_stop_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingStop *p = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *reason;

        p->done = true;
        if (e)
                p->error = g_strdup_printf("%s: %s", e->name, e->message);
        else if (sd_bus_message_read(reply, "s", &reason) >= 0)
                p->reason = g_strdup(reason);
        else
                p->error = g_strdup("unreadable reply");
        return 0;
}

Test(vm_run, two_vms) {
        static const char *const names[] = { PREFIX "two-a", PREFIX "two-b" };
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("microvm.agent=0", "");
        PendingStop stops[ELEMENTSOF(names)] = {};
        uint32_t pids[ELEMENTSOF(names)];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                g_free(bt_create_vm(t, names[i], config));

        /* Both boot at the same time. */
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                bt_start_vm(t, names[i]);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                g_autofree char *state = bt_vm_state(t, names[i]);

                cr_assert_str_eq(state, "running", "two VMs: %s is %s", names[i], state);
                bt_assert_serial_line(names[i], BT_GUEST_READY, BT_BOOT_TIMEOUT_USEC, "two VMs");
                pids[i] = bt_vm_main_pid(t, names[i]);
                cr_assert_gt(pids[i], 0, "two VMs: %s has no MainPID", names[i]);
        }
        cr_assert_neq(pids[0], pids[1], "two VMs: both have MainPID %" PRIu32, pids[0]);

        /* Both stops at once: microvmd waits for either job without blocking the other. */
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                stops[i].name = names[i];
                r = sd_bus_call_method_async(t->bus, NULL, BT_BUS_NAME, BT_MANAGER_PATH, BT_MANAGER_INTERFACE,
                                             "StopVM", on_stop_reply, &stops[i], "st", names[i], UINT64_C(0));
                cr_assert(r >= 0, "two VMs: sending StopVM for %s: %s", names[i], strerror(-r));
        }
        for (int64_t deadline = g_get_monotonic_time() + BT_STOP_TIMEOUT_USEC; !stops[0].done || !stops[1].done;) {
                int64_t now = g_get_monotonic_time();

                cr_assert(now < deadline, "two VMs: StopVM did not return for %s",
                          !stops[0].done ? names[0] : names[1]);
                r = sd_bus_wait(t->bus, (uint64_t) (deadline - now));
                cr_assert(r >= 0, "two VMs: waiting for the bus: %s", strerror(-r));
                bt_dispatch(t);
        }

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                g_autofree char *what = g_strdup_printf("two VMs: %s", names[i]);

                cr_assert_null(stops[i].error, "%s: StopVM failed: %s", what, stops[i].error);
                cr_assert_str_eq(stops[i].reason, "stop-request", "%s: StopVM returned %s", what, stops[i].reason);
                bt_assert_serial_line(names[i], BT_GUEST_SHUTDOWN, 0, what);
                assert_stop_logged(names[i], "stop-request", what);
                assert_stopped(t, names[i], "stop-request", what);
                g_free(stops[i].reason);
                g_free(stops[i].error);
        }
}
