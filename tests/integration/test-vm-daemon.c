/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VMs are systemd's, not microvmd's: "systemctl start/stop microvm@NAME" runs and stops the guest
 * with microvmd stopped, and microvmd, started again or killed and back, reports every VM as it
 * really is. VM names start with "itvd-". */

#include <inttypes.h>

#include "bus-test.h"

#define PREFIX "itvd-"

/* This file starts microvmd more often than systemd's start rate limit allows (5 in 10 s). */
static void reset_start_limit(void) {
        g_autofree char *out = NULL;

        /* Fails when the unit is not loaded, which is just as good. */
        (void) bt_run(&out, "systemctl reset-failed " BT_UNIT);
}

static void cleanup(void) {
        reset_start_limit();
        bt_cleanup_prefix(PREFIX);
}

TestSuite(vm_daemon, .init = cleanup, .fini = cleanup);

static void systemctl(const char *what, const char *verb, const char *unit) {
        g_autofree char *out = NULL;
        int r;

        r = bt_run(&out, "systemctl %s %s", verb, unit);
        cr_assert(r == 0, "%s: systemctl %s %s failed: %s", what, verb, unit, out);
}

/* Stops microvmd and waits until its bus name is gone. */
static void stop_microvmd(BusTest *t, const char *what) {
        systemctl(what, "stop", BT_UNIT);
        cr_assert(bt_wait_name_owner(t, false, BT_TIMEOUT_USEC), "%s: " BT_BUS_NAME " still has an owner", what);
}

static void start_microvmd(const char *what) {
        reset_start_limit();
        systemctl(what, "start", BT_UNIT);
}

static uint32_t unit_main_pid(const char *unit, const char *what) {
        g_autofree char *text = bt_unit_property(unit, "MainPID");
        guint64 pid;

        cr_assert(g_ascii_string_to_unsigned(text, 10, 0, UINT32_MAX, &pid, NULL), "%s: MainPID of %s is '%s'", what,
                  unit, text);
        return (uint32_t) pid;
}

/* Asserts what microvmd reports for a VM: its state, its main PID and (if reason) StopReason. */
static void assert_reported(BusTest *t, const char *name, const char *state, uint32_t pid, const char *reason,
                            const char *what) {
        g_autofree char *s = bt_vm_state(t, name);
        uint32_t p = bt_vm_main_pid(t, name);

        cr_assert_str_eq(s, state, "%s: %s is %s, not %s", what, name, s, state);
        cr_assert_eq(p, pid, "%s: MainPID of %s is %" PRIu32 ", not %" PRIu32, what, name, p, pid);
        if (reason) {
                g_autofree char *r = bt_vm_stop_reason(t, name);

                cr_assert_str_eq(r, reason, "%s: StopReason of %s is %s, not %s", what, name, r, reason);
        }
}

Test(vm_daemon, systemctl) {
        static const char name[] = PREFIX "ctl";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        /* Without the agent: this stop is the power button's. */
        g_autofree char *config = bt_guest_config("microvm.agent=0", ""), *unit = bt_vm_unit(name),
                        *log = bt_serial_log(name);
        g_autofree char *binary = NULL, *processes = NULL, *expected = NULL, *journal = NULL, *line = NULL;
        uint32_t pid;

        g_free(bt_create_vm(t, name, config));
        stop_microvmd(t, "systemctl");

        /* Started by systemd alone: the launcher needs nothing from microvmd. */
        cr_assert(unlink(log) >= 0 || errno == ENOENT, "systemctl: removing %s: %s", log, strerror(errno));
        systemctl("systemctl without microvmd", "start", unit);
        bt_assert_serial_line(name, BT_GUEST_READY, BT_BOOT_TIMEOUT_USEC, "systemctl without microvmd");
        pid = unit_main_pid(unit, "systemctl without microvmd");
        binary = bt_process_binary(pid);
        cr_assert(binary && g_str_has_prefix(binary, "qemu-system-"),
                  "systemctl without microvmd: MainPID %" PRIu32 " runs %s, not QEMU", pid, binary);
        processes = bt_unit_processes(unit);
        expected = g_strdup_printf("%" PRIu32 " %s\n", pid, binary);
        cr_assert_str_eq(processes, expected, "systemctl without microvmd: the cgroup of %s holds\n%s", unit,
                         processes);
        cr_assert(!bt_name_has_owner(t), "systemctl without microvmd: something started microvmd");

        /* microvmd, started now, finds the VM running with QEMU's PID. */
        start_microvmd("microvmd started after systemctl start");
        assert_reported(t, name, "running", pid, NULL, "microvmd started after systemctl start");

        /* And stopped again, systemctl stop shuts the guest down gracefully. */
        stop_microvmd(t, "systemctl stop");
        systemctl("systemctl stop without microvmd", "stop", unit);
        bt_assert_serial_line(name, BT_GUEST_SHUTDOWN, 0, "systemctl stop without microvmd");
        line = g_strdup_printf("VM %s stopped: stop-request (hypervisor exited, status 0)", name);
        cr_assert(bt_wait_journal(unit, line, BT_TIMEOUT_USEC, &journal),
                  "systemctl stop without microvmd: the journal lacks '%s':\n%s", line, journal);
        bt_assert_vm_unit_gone(name, "systemctl stop without microvmd");
        cr_assert(!bt_name_has_owner(t), "systemctl stop without microvmd: something started microvmd");

        /* This call starts microvmd by bus activation; it knows how the VM stopped. */
        reset_start_limit();
        assert_reported(t, name, "stopped", 0, "stop-request", "microvmd activated after systemctl stop");
        bt_delete_vm(t, name);
}

Test(vm_daemon, sigkill) {
        static const char *const names[] = { PREFIX "kill-a", PREFIX "kill-b" };
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", ""), *old_pid = NULL, *out = NULL;
        uint32_t pids[ELEMENTSOF(names)];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                g_free(bt_create_vm(t, names[i], config));
                bt_start_vm(t, names[i]);
                pids[i] = bt_vm_main_pid(t, names[i]);
                cr_assert_gt(pids[i], 0, "microvmd SIGKILL: %s has no MainPID", names[i]);
        }
        old_pid = bt_unit_property(BT_UNIT, "MainPID");

        /* The main process only: see test-restart.c. */
        reset_start_limit();
        r = bt_run(&out, "systemctl kill --kill-whom=main -s KILL " BT_UNIT);
        cr_assert(r == 0, "microvmd SIGKILL: systemctl kill failed: %s", out);
        for (int64_t deadline = g_get_monotonic_time() + BT_TIMEOUT_USEC;;) {
                g_autofree char *pid = bt_unit_property(BT_UNIT, "MainPID");

                if (!streq(pid, old_pid))
                        break;
                cr_assert(g_get_monotonic_time() < deadline, "microvmd SIGKILL: MainPID is still %s", pid);
                g_usleep(20 * 1000);
        }

        /* Restarted by systemd or by this very call, microvmd takes its name only once it knows
         * every unit's state: the first answer is already right. */
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                assert_reported(t, names[i], "running", pids[i], NULL, "microvmd SIGKILL");
        cr_assert(bt_wait_unit_property(BT_UNIT, "ActiveState", "active", BT_TIMEOUT_USEC),
                  "microvmd SIGKILL: " BT_UNIT " did not become active");
}
