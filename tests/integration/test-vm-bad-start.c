/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Starts, stops and kills that cannot be done: each fails with a named error that says what to
 * fix, and leaves nothing behind: no unit, no runtime directory, no change to any VM and no
 * signal. VM names start with "itvb-". */

#include <signal.h>
#include <sys/stat.h>

#include "bus-test.h"

#define PREFIX "itvb-"
/* Outside /tmp: microvmd has a private one. */
#define NOT_A_KERNEL "/var/lib/microvm/images/itvb-not-a-kernel"
#define VANISHING_KERNEL "/var/lib/" PREFIX "vmlinuz"
#define PRIVATE_KERNEL "/var/lib/" PREFIX "private-vmlinuz"
#define KVM_PROBE_CACHE BT_RUNTIME_DIR "/kvm-probe"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
        (void) unlink(VANISHING_KERNEL);
        (void) unlink(PRIVATE_KERNEL);
}

TestSuite(vm_bad_start, .init = cleanup, .fini = cleanup);

Test(vm_bad_start, unknown_vm) {
        static const char name[] = PREFIX "nosuch";
        _cleanup_(bt_freep) BusTest *t = bt_new();

        bt_assert_refused(t, "StartVM", g_variant_new("(s)", name), "org.microvm.Error.NoSuchVM",
                       "No VM '" PREFIX "nosuch'", "StartVM of an unknown VM");
        bt_assert_vm_unit_gone(name, "StartVM of an unknown VM");
}

Test(vm_bad_start, kernel_vanished) {
        static const char name[] = PREFIX "nokernel";
        _cleanup_(bt_freep) BusTest *t = bt_new();

        bt_write_file(VANISHING_KERNEL, "not a kernel\n");
        g_free(bt_create_vm(t, name, "{'Kernel': <'" VANISHING_KERNEL "'>}"));
        cr_assert(unlink(VANISHING_KERNEL) >= 0, "kernel vanished: removing " VANISHING_KERNEL ": %s",
                  strerror(errno));

        bt_assert_refused(t, "StartVM", g_variant_new("(s)", name), "org.microvm.Error.InvalidConfig", VANISHING_KERNEL,
                       "StartVM without its kernel");
        bt_assert_vm_unit_gone(name, "StartVM without its kernel");
}

/* A kernel only root may read: microvmd can, the hypervisor's user cannot, and StartVM says so rather
 * than letting the hypervisor fail on it. */
Test(vm_bad_start, kernel_unreadable_by_hypervisor) {
        static const char name[] = PREFIX "privkernel";
        _cleanup_(bt_freep) BusTest *t = bt_new();

        bt_write_file(PRIVATE_KERNEL, "not a kernel\n");
        cr_assert(chmod(PRIVATE_KERNEL, 0600) >= 0);
        g_free(bt_create_vm(t, name, "{'Kernel': <'" PRIVATE_KERNEL "'>}"));

        bt_assert_refused(t, "StartVM", g_variant_new("(s)", name), "org.microvm.Error.InvalidConfig",
                          "cannot be read by the hypervisor's user microvm-hypervisor (mode 0600, owner 0): make it "
                          "readable to all", "StartVM with a kernel only root may read");
        bt_assert_vm_unit_gone(name, "StartVM with a kernel only root may read");
}

/* A file QEMU can read but not boot: the launcher's checks pass, QEMU exits as it starts, and the
 * start must fail with a named error rather than "succeed" into a crash. */
Test(vm_bad_start, hypervisor_dies_at_once) {
        static const char name[] = PREFIX "notakernel";
        _cleanup_(bt_freep) BusTest *t = bt_new();

        bt_write_file(NOT_A_KERNEL, "not a kernel\n");
        g_free(bt_create_vm(t, name, "{'Kernel': <'" NOT_A_KERNEL "'>}"));

        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        /* Its state does move (starting, then stopped): the unit did start, briefly. */
        r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "StartVM", g_variant_new("(s)", name),
                            BT_BOOT_TIMEOUT_USEC, NULL, &error);
        bt_assert_error(r, &error, "org.microvm.Error.StartFailed", "exited as it started",
                        "StartVM of a kernel QEMU cannot load");
        bt_assert_vm_unit_gone(name, "StartVM of a kernel QEMU cannot load");
        (void) unlink(NOT_A_KERNEL);
}

Test(vm_bad_start, running) {
        static const char name[] = PREFIX "running";
        static const struct {
                int signo;
                const char *what;
        } bad_signals[] = {
                { 0, "KillVM with signal 0" },
                { 1000, "KillVM with signal 1000" },
                { -9, "KillVM with signal -9" },
        };
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", ""), *unit = bt_vm_unit(name), *pid = NULL, *now = NULL;

        g_free(bt_create_vm(t, name, config));
        bt_start_vm(t, name);
        pid = bt_unit_property(unit, "MainPID");

        bt_assert_refused(t, "StartVM", g_variant_new("(s)", name), "org.microvm.Error.InvalidState", "running already",
                       "StartVM of a running VM");
        for (size_t i = 0; i < ELEMENTSOF(bad_signals); i++)
                bt_assert_refused(t, "KillVM", g_variant_new("(si)", name, bad_signals[i].signo),
                               "org.microvm.Error.InvalidArgument", "is not a signal number", bad_signals[i].what);

        /* The VM ran on, untouched. */
        now = bt_unit_property(unit, "MainPID");
        cr_assert_str_eq(now, pid, "refused calls on a running VM: MainPID of %s went from %s to %s", unit, pid, now);

        bt_kill_vm(t, name, SIGKILL);
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_TIMEOUT_USEC), "running: the VM did not stop");
}

Test(vm_bad_start, not_running) {
        static const char name[] = PREFIX "idle";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", "");

        /* Never started... */
        g_free(bt_create_vm(t, name, config));
        bt_assert_refused(t, "StopVM", g_variant_new("(st)", name, G_GUINT64_CONSTANT(0)),
                       "org.microvm.Error.InvalidState", "is not running (it is defined)", "StopVM of a defined VM");
        bt_assert_refused(t, "KillVM", g_variant_new("(si)", name, SIGKILL), "org.microvm.Error.InvalidState",
                       "is not running (it is defined)", "KillVM of a defined VM");
        bt_assert_vm_unit_gone(name, "StopVM of a defined VM");

        /* ...or stopped already. */
        bt_start_vm(t, name);
        bt_kill_vm(t, name, SIGKILL);
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_TIMEOUT_USEC), "not running: the VM did not stop");
        bt_assert_vm_unit_gone(name, "StopVM of a stopped VM");
        bt_assert_refused(t, "StopVM", g_variant_new("(st)", name, G_GUINT64_CONSTANT(0)),
                       "org.microvm.Error.InvalidState", "is not running (it is stopped)", "StopVM of a stopped VM");
        bt_assert_vm_unit_gone(name, "StopVM of a stopped VM");
}

/* Whether this CPU advertises hardware virtualization: without it, KVM cannot run a guest. */
static bool cpu_has_virtualization(void) {
        g_autofree char *cpuinfo = bt_read_file("/proc/cpuinfo");

        cr_assert(cpuinfo, "/proc/cpuinfo cannot be read");
        return strstr(cpuinfo, " vmx") || strstr(cpuinfo, " svm");
}

Test(vm_bad_start, kvm_unusable) {
        static const char *const names[] = { PREFIX "kvm-probe", PREFIX "kvm-cached" };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = NULL, *cache = NULL, *state = NULL, *reason = NULL, *changes = NULL;
        int r;

        if (cpu_has_virtualization())
                cr_skip_test("KVM may work here: the CPU advertises vmx or svm");

        config = bt_guest_config("", "'Accelerator': <'kvm'>");
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                g_free(bt_create_vm(t, names[i], config));

        /* Without a cached verdict microvmd cannot know (it never probes: that blocks), so the
         * launcher probes, fails the start and leaves the error where microvmd reads it. What the
         * unit ran is recorded: the VM stopped, because its start failed. */
        cr_assert(unlink(KVM_PROBE_CACHE) >= 0 || errno == ENOENT, "kvm: removing " KVM_PROBE_CACHE ": %s",
                  strerror(errno));
        bt_sync(t);
        bt_clear_signals(t);
        r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "StartVM", g_variant_new("(s)", names[0]),
                            BT_BOOT_TIMEOUT_USEC, NULL, &error);
        bt_assert_error(r, &error, "org.microvm.Error.HypervisorUnavailable", "KVM is not usable here",
                        "Accelerator=kvm, probed by the launcher");
        bt_assert_vm_unit_gone(names[0], "Accelerator=kvm, probed by the launcher");
        state = bt_vm_state(t, names[0]);
        reason = bt_vm_stop_reason(t, names[0]);
        cr_assert(streq(state, "stopped") && streq(reason, "start-failed"),
                  "Accelerator=kvm, probed by the launcher: the VM is %s (StopReason '%s'), not stopped "
                  "(start-failed)", state, reason);
        bt_sync(t);
        changes = bt_vm_state_changes(t, names[0]);
        cr_assert(!strstr(changes, "running") && g_str_has_suffix(changes, "stopped"),
                  "Accelerator=kvm, probed by the launcher: VMStateChanged announced '%s'", changes);
        g_free(changes);
        changes = bt_vm_state_changes(t, names[1]);
        cr_assert_str_empty(changes, "Accelerator=kvm, probed by the launcher: %s changed too: '%s'", names[1],
                            changes);

        /* The probe's verdict is cached now, and microvmd answers from it before any unit runs. */
        cache = bt_read_file(KVM_PROBE_CACHE);
        cr_assert(cache && g_str_has_prefix(cache, "tcg "), "kvm: the probe cached '%s', not a tcg verdict", cache);
        bt_assert_refused(t, "StartVM", g_variant_new("(s)", names[1]), "org.microvm.Error.HypervisorUnavailable",
                       "KVM is not usable here", "Accelerator=kvm, the verdict cached");
        bt_assert_vm_unit_gone(names[1], "Accelerator=kvm, the verdict cached");
}
