/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The ways a VM ends besides a graceful stop: QEMU killed behind microvmd's back (crashed), a
 * guest that ignores its power button (killed after StopVM's timeout), and KillVM. VM names
 * start with "itvs-". */

#include <inttypes.h>
#include <signal.h>

#include "bus-test.h"

#define PREFIX "itvs-"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(vm_stop, .init = cleanup, .fini = cleanup);

/* Starts the VM and returns QEMU's PID, once the launcher has exec'd it (it reports ready just
 * before). */
static uint32_t start_qemu(BusTest *t, const char *name, const char *what) {
        uint32_t pid;

        bt_start_vm(t, name);
        pid = bt_vm_main_pid(t, name);
        cr_assert_gt(pid, 0, "%s: MainPID is 0 after StartVM", what);
        for (int64_t deadline = g_get_monotonic_time() + BT_TIMEOUT_USEC;;) {
                g_autofree char *binary = bt_process_binary(pid);

                if (binary && g_str_has_prefix(binary, "qemu-system-"))
                        return pid;
                cr_assert(g_get_monotonic_time() < deadline, "%s: MainPID %" PRIu32 " runs %s, not QEMU", what, pid,
                          binary);
                g_usleep(5 * 1000);
        }
}

static void assert_ended(BusTest *t, const char *name, const char *state, const char *reason, const char *what) {
        g_autofree char *stop_reason = NULL;
        uint32_t pid;

        cr_assert(bt_wait_vm_state(t, name, state, BT_TIMEOUT_USEC), "%s: the VM did not become %s", what, state);
        stop_reason = bt_vm_stop_reason(t, name);
        cr_assert_str_eq(stop_reason, reason, "%s: StopReason is %s, not %s", what, stop_reason, reason);
        pid = bt_vm_main_pid(t, name);
        cr_assert_eq(pid, 0, "%s: MainPID is %" PRIu32 ", not 0", what, pid);
        bt_assert_vm_unit_gone(name, what);
}

Test(vm_stop, qemu_sigkill) {
        static const char name[] = PREFIX "crash";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", ""), *unit = bt_vm_unit(name), *log = NULL;
        uint32_t pid;

        g_free(bt_create_vm(t, name, config));
        pid = start_qemu(t, name, "QEMU SIGKILL");

        /* Behind microvmd's and systemd's back. */
        cr_assert(kill((pid_t) pid, SIGKILL) >= 0, "QEMU SIGKILL: kill(%" PRIu32 "): %s", pid, strerror(errno));
        assert_ended(t, name, "crashed", "crashed", "QEMU SIGKILL");
        cr_assert(bt_wait_journal(unit, "stopped: crashed (hypervisor killed, status KILL)", BT_TIMEOUT_USEC, &log),
                  "QEMU SIGKILL: the journal of %s lacks the crash:\n%s", unit, log);
}

Test(vm_stop, timeout_kill) {
        static const char name[] = PREFIX "stubborn";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("microvm.ignore_powerbutton=1 microvm.agent=0", ""), *reason = NULL;
        int64_t begin, ms;

        g_free(bt_create_vm(t, name, config));
        bt_boot_vm(t, name);

        begin = g_get_monotonic_time();
        reason = bt_stop_vm(t, name, 2 * G_USEC_PER_SEC);
        ms = (g_get_monotonic_time() - begin) / 1000;
        cr_assert_str_eq(reason, "timeout-kill", "timeout kill: StopVM returned %s after %" PRIi64 " ms", reason, ms);
        cr_assert(ms >= 2000 && ms < 10000, "timeout kill: StopVM with 2 s returned after %" PRIi64 " ms", ms);

        /* The button was pressed, and the guest said it would not listen. */
        bt_assert_serial_line(name, BT_GUEST_IGNORED, 0, "timeout kill");
        assert_ended(t, name, "stopped", "timeout-kill", "timeout kill");
}

Test(vm_stop, kill_vm) {
        static const char name[] = PREFIX "killed";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", "");

        g_free(bt_create_vm(t, name, config));
        (void) start_qemu(t, name, "KillVM");

        bt_kill_vm(t, name, SIGKILL);
        assert_ended(t, name, "stopped", "killed", "KillVM 9");
}
