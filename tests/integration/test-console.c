/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The serial console and the run state, in real guests: OpenConsole replays the boot and carries a
 * shell session both ways, one client at a time; the boot is in the unit's journal; PauseVM and
 * ResumeVM stop and continue the guest (its counter on the serial port stops and goes on), and
 * "systemctl freeze" shows as paused. VM names start with "itc-". */

#include <unistd.h>

#include "bus-test.h"

#define PREFIX "itc-"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(console, .init = cleanup, .fini = cleanup);

/* The guest's shell prompt on its serial console (microvm.shell=1). */
#define PROMPT "microvm# "

Test(console, replay_shell_and_journal, .timeout = 240) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autofree char *config = bt_guest_config("microvm.shell=1", ""), *unit = bt_vm_unit(PREFIX "shell"),
                        *log = NULL, *before = NULL;
        int fd, second = -1, r;

        g_free(bt_create_vm(t, PREFIX "shell", config));
        bt_boot_vm(t, PREFIX "shell");

        /* Attached after the boot: the replay has it, and the prompt that came after. */
        fd = bt_open_console(t, PREFIX "shell", "first console");
        bt_console_expect(fd, BT_GUEST_READY, BT_TIMEOUT_USEC, "the replay of the boot");
        bt_console_expect(fd, PROMPT, BT_TIMEOUT_USEC, "the shell's prompt");

        bt_console_send(fd, "echo console-$((6*7))\r", "a command");
        bt_console_expect(fd, "console-42", BT_TIMEOUT_USEC, "the command's output");

        /* One client at a time. */
        bt_sync(t);
        before = bt_snapshot(t);
        bt_clear_signals(t);
        r = bt_try_open_console(t, PREFIX "shell", &second, &error);
        bt_assert_error(r, &error, "org.microvm.Error.ConsoleBusy", "open already", "a second console");
        bt_assert_unchanged(t, before, "a second console");

        /* Closing frees it; the next one replays what the first saw. */
        close(fd);
        for (int i = 0; i < 100; i++) {
                sd_bus_error_free(&error);
                r = bt_try_open_console(t, PREFIX "shell", &second, &error);
                if (r >= 0 || !sd_bus_error_has_name(&error, "org.microvm.Error.ConsoleBusy"))
                        break;
                g_usleep(10 * 1000);
        }
        cr_assert_eq(r, 0, "reopening the console: %s: %s", strempty(error.name), strempty(error.message));
        bt_console_expect(second, "console-42", BT_TIMEOUT_USEC, "the replay after reopening");
        bt_console_send(second, "echo again-$((5+5))\r", "a second command");
        bt_console_expect(second, "again-10", BT_TIMEOUT_USEC, "the second command's output");

        /* The guest's boot, as journalctl -u shows it. */
        cr_assert(bt_wait_journal(unit, "Linux version", BT_TIMEOUT_USEC, &log),
                  "the kernel's first line is not in the journal of %s:\n%s", unit, log);
        g_free(log);
        cr_assert(bt_wait_journal(unit, BT_GUEST_READY, BT_TIMEOUT_USEC, &log),
                  "the guest's ready line is not in the journal of %s:\n%s", unit, log);

        /* The console ends with the VM. */
        g_free(bt_stop_vm(t, PREFIX "shell", 0));
        cr_assert(!bt_console_wait(second, "never printed", 5 * G_USEC_PER_SEC, NULL), "console open after stop");
        char c;
        cr_assert_eq(read(second, &c, 1), 0, "the console did not close when the VM stopped");
        close(second);
}

Test(console, refused_when_not_running, .timeout = 60) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", "");
        int fd = -1;

        g_free(bt_create_vm(t, PREFIX "idle", config));
        bt_assert_refused(t, "OpenConsole", g_variant_new("(s)", PREFIX "idle"), "org.microvm.Error.InvalidState",
                          "is not running", "console of a stopped VM");
        bt_assert_refused(t, "OpenConsole", g_variant_new("(s)", PREFIX "none"), "org.microvm.Error.NoSuchVM",
                          PREFIX "none", "console of no VM");
        bt_assert_refused(t, "OpenConsole", g_variant_new("(s)", "bad/name"), "org.microvm.Error.InvalidName",
                          "not a valid VM name", "console of a bad name");
        (void) fd;
}

/* The last "tick N" the guest printed, -1 for none. */
static int last_tick(const char *name) {
        g_autofree char *text = bt_serial_text(name);
        const char *p = text, *q;
        int last = -1;

        while ((q = strstr(p, "tick ")) != NULL) {
                last = atoi(q + 5);
                p = q + 5;
        }
        return last;
}

static bool wait_tick_beyond(const char *name, int tick, uint64_t timeout_usec) {
        uint64_t deadline = (uint64_t) g_get_monotonic_time() + timeout_usec;

        while (last_tick(name) <= tick)
                if ((uint64_t) g_get_monotonic_time() >= deadline)
                        return false;
                else
                        g_usleep(20 * 1000);
        return true;
}

Test(console, pause_resume, .timeout = 240) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        static const char counter[] = "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done";
        g_autofree char *run64 = g_base64_encode((const guchar *) counter, strlen(counter)),
                        *cmdline = g_strdup_printf("microvm.run64=%s", run64),
                        *config = bt_guest_config(cmdline, ""), *state = NULL;
        int tick;

        g_free(bt_create_vm(t, PREFIX "tick", config));
        bt_boot_vm(t, PREFIX "tick");
        cr_assert(wait_tick_beyond(PREFIX "tick", 3, BT_BOOT_TIMEOUT_USEC), "the guest does not count:\n%s",
                  bt_serial_text(PREFIX "tick"));

        g_variant_unref(bt_manager_call(t, "PauseVM", g_variant_new("(s)", PREFIX "tick"), "PauseVM"));
        state = bt_vm_state(t, PREFIX "tick");
        cr_assert_str_eq(state, "paused", "State after PauseVM");

        /* A paused guest makes no progress at all. */
        g_usleep(200 * 1000);
        tick = last_tick(PREFIX "tick");
        g_usleep(1500 * 1000);
        cr_assert_eq(last_tick(PREFIX "tick"), tick, "the guest counted while paused");

        bt_assert_refused(t, "PauseVM", g_variant_new("(s)", PREFIX "tick"), "org.microvm.Error.InvalidState",
                          "paused already", "pausing a paused VM");

        g_variant_unref(bt_manager_call(t, "ResumeVM", g_variant_new("(s)", PREFIX "tick"), "ResumeVM"));
        g_free(state);
        state = bt_vm_state(t, PREFIX "tick");
        cr_assert_str_eq(state, "running", "State after ResumeVM");
        cr_assert(wait_tick_beyond(PREFIX "tick", tick, 5 * G_USEC_PER_SEC), "the guest does not go on counting");

        bt_assert_refused(t, "ResumeVM", g_variant_new("(s)", PREFIX "tick"), "org.microvm.Error.InvalidState",
                          "is not paused", "resuming a running VM");

        /* A paused VM stops gracefully: it goes on to shut down, in well under the stop timeout. */
        g_variant_unref(bt_manager_call(t, "PauseVM", g_variant_new("(s)", PREFIX "tick"), "PauseVM again"));
        g_free(state);
        uint64_t stop_started = (uint64_t) g_get_monotonic_time();
        state = bt_stop_vm(t, PREFIX "tick", 0);
        cr_assert_str_eq(state, "stop-request", "the stop reason of a paused VM");
        cr_assert_lt((uint64_t) g_get_monotonic_time() - stop_started, 20 * G_USEC_PER_SEC,
                     "the paused VM took the whole stop timeout");

        /* Not running: nothing to pause or resume. */
        bt_assert_refused(t, "PauseVM", g_variant_new("(s)", PREFIX "tick"), "org.microvm.Error.InvalidState",
                          "is not running", "pausing a stopped VM");
        bt_assert_refused(t, "ResumeVM", g_variant_new("(s)", PREFIX "tick"), "org.microvm.Error.InvalidState",
                          "is not paused", "resuming a stopped VM");
        bt_assert_refused(t, "PauseVM", g_variant_new("(s)", PREFIX "none"), "org.microvm.Error.NoSuchVM",
                          PREFIX "none", "pausing no VM");
        bt_assert_refused(t, "ResumeVM", g_variant_new("(s)", "-bad"), "org.microvm.Error.InvalidName",
                          "not a valid VM name", "resuming a bad name");
}

/* systemd's freezer stops the hypervisor's threads: microvmd shows the VM paused, and leaves the
 * thaw to systemd. */
Test(console, systemctl_freeze, .timeout = 240) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", ""), *unit = bt_vm_unit(PREFIX "frozen"), *out = NULL;
        int r;

        g_free(bt_create_vm(t, PREFIX "frozen", config));
        bt_boot_vm(t, PREFIX "frozen");

        r = bt_run(&out, "systemctl freeze %s", unit);
        /* systemd freezes through the cgroup v2 freezer, which a host may not give it. */
        if (r != 0 && strstr(out, "does not support freezing")) {
                g_free(bt_stop_vm(t, PREFIX "frozen", 0));
                cr_skip_test("systemd here cannot freeze units: %s", out);
        }
        cr_assert_eq(r, 0, "systemctl freeze %s: %s", unit, out);
        cr_assert(bt_wait_vm_state(t, PREFIX "frozen", "paused", BT_TIMEOUT_USEC), "a frozen VM is not paused");
        bt_assert_refused(t, "ResumeVM", g_variant_new("(s)", PREFIX "frozen"), "org.microvm.Error.InvalidState",
                          "systemctl thaw", "resuming a frozen VM");

        g_free(out);
        r = bt_run(&out, "systemctl thaw %s", unit);
        cr_assert_eq(r, 0, "systemctl thaw %s: %s", unit, out);
        cr_assert(bt_wait_vm_state(t, PREFIX "frozen", "running", BT_TIMEOUT_USEC), "a thawed VM is not running");
        g_free(bt_stop_vm(t, PREFIX "frozen", 0));
}
