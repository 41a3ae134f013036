/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest agent through the bus API, in real guests: Exec's status, signal, stdin and output
 * (4 MiB, checksummed), several at once, its timeout and output bound; Signal and Ping; the Ready
 * property and signal; a guest without an agent; WaitReady= for "systemctl start"; and the
 * graceful stop that asks the agent first. VM names start with "ita-". */

#include <signal.h>

#include "bus-test.h"

#define PREFIX "ita-"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(agent, .init = cleanup, .fini = cleanup);

typedef struct ExecResult {
        int32_t status, signal;
        GBytes *out, *err;
} ExecResult;

static void exec_result_done(ExecResult *x) {
        g_clear_pointer(&x->out, g_bytes_unref);
        g_clear_pointer(&x->err, g_bytes_unref);
}

/* Manager.Exec; returns the call's result, and fills x when it succeeded. */
static int try_exec(BusTest *t, const char *name, const char *const *argv, const char *const *env, const char *input,
                    size_t input_size, uint64_t timeout_usec, uint64_t output_max, ExecResult *x, sd_bus_error *error) {
        static const char *const none[] = { NULL };
        g_autoptr(GVariant) reply = NULL, out = NULL, err = NULL;
        GVariant *args;
        int r;

        args = g_variant_new("(s^as^as@aytt)", name, argv, env ?: none,
                             g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, input ?: "", input_size, 1), timeout_usec,
                             output_max);
        r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "Exec", args,
                            timeout_usec > 0 ? timeout_usec + BT_TIMEOUT_USEC : BT_BOOT_TIMEOUT_USEC, &reply, error);
        if (r < 0)
                return r;
        g_variant_get(reply, "(ii@ay@ay)", &x->status, &x->signal, &out, &err);
        x->out = g_variant_get_data_as_bytes(out);
        x->err = g_variant_get_data_as_bytes(err);
        return 0;
}

static void exec_ok(BusTest *t, const char *name, const char *const *argv, const char *const *env, const char *input,
                    size_t input_size, ExecResult *x, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = try_exec(t, name, argv, env, input, input_size, 0, 0, x, &error);

        cr_assert_eq(r, 0, "%s: Exec failed: %s: %s", what, strempty(error.name), strempty(error.message));
}

/* stdout as a string (owned). */
static char *out_text(const ExecResult *x) {
        gsize n;
        const char *p = g_bytes_get_data(x->out, &n);

        return g_strndup(p, n);
}

/* A VM of the test guest (with its agent) booted, and ready. */
static void boot_ready(BusTest *t, const char *name, const char *cmdline, const char *more) {
        g_autofree char *config = bt_guest_config(cmdline, more), *path = bt_vm_path(name);
        g_autoptr(GVariant) ready = NULL;

        g_free(bt_create_vm(t, name, config));
        bt_clear_signals(t);
        bt_boot_vm(t, name);
        cr_assert_not_null(bt_wait_signal(t, path, BT_VM_INTERFACE, "Ready", BT_BOOT_TIMEOUT_USEC),
                           "%s: no Ready signal: %s", name, bt_serial_text(name));
        ready = bt_vm_property(t, name, "Ready");
        cr_assert(g_variant_get_boolean(ready), "%s: Ready is true after the signal", name);
}

/* The guest kernel's release as the guest printed it when it booted ("Linux version X ..."). */
static char *guest_kernel_release(const char *name) {
        g_autofree char *log = bt_serial_text(name);
        const char *p = strstr(log, "Linux version ");

        cr_assert_not_null(p, "the serial log names the kernel");
        p += strlen("Linux version ");
        return g_strndup(p, strcspn(p, " \r\n"));
}

Test(agent, exec) {
        static const char name[] = PREFIX "exec";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autofree char *release = NULL, *text = NULL, *expected = NULL;
        g_autoptr(GVariant) connected = NULL, ready_at = NULL;
        ExecResult x = {};

        boot_ready(t, name, "", "");
        connected = bt_vm_property(t, name, "AgentConnected");
        cr_expect(g_variant_get_boolean(connected), "AgentConnected");
        ready_at = bt_vm_property(t, name, "ReadyAt");
        cr_expect_gt(g_variant_get_uint64(ready_at), 0, "ReadyAt is set");

        /* The guest's own kernel, not the host's. */
        release = guest_kernel_release(name);
        {
                g_autoptr(GVariant) reply = bt_manager_call(t, "GetGuestInfo", g_variant_new("(s)", name), "GetGuestInfo");
                g_autoptr(GVariant) info = g_variant_get_child_value(reply, 0);
                const char *kernel = NULL, *version = NULL;
                uint64_t uptime = 0;

                cr_expect(g_variant_lookup(info, "Kernel", "&s", &kernel) && streq(kernel, release),
                          "GetGuestInfo's Kernel: %s", strempty(kernel));
                cr_expect(g_variant_lookup(info, "Version", "&s", &version) && streq(version, "1"),
                          "GetGuestInfo's Version: %s", strempty(version));
                cr_expect(g_variant_lookup(info, "UptimeUSec", "t", &uptime) && uptime > 0, "GetGuestInfo's UptimeUSec");
        }
        exec_ok(t, name, (const char *const[]) { "uname", "-r", NULL }, NULL, NULL, 0, &x, "uname -r");
        text = out_text(&x);
        expected = g_strdup_printf("%s\n", release);
        cr_expect_str_eq(text, expected, "uname -r in the guest");
        cr_expect_eq(x.status, 0);
        cr_expect_eq(x.signal, 0);
        exec_result_done(&x);

        exec_ok(t, name, (const char *const[]) { "sh", "-c", "exit 7", NULL }, NULL, NULL, 0, &x, "exit 7");
        cr_expect_eq(x.status, 7, "exit 7 gives %d", x.status);
        cr_expect_eq(x.signal, 0);
        exec_result_done(&x);

        exec_ok(t, name, (const char *const[]) { "sh", "-c", "kill -9 $$", NULL }, NULL, NULL, 0, &x, "kill -9");
        cr_expect_eq(x.signal, SIGKILL, "a killed process gives its signal, not %d", x.signal);
        cr_expect_eq(x.status, -1);
        exec_result_done(&x);

        /* stdin and stderr, and the environment given. */
        exec_ok(t, name, (const char *const[]) { "sh", "-c", "cat; echo \"to stderr $FOO\" >&2", NULL },
                (const char *const[]) { "FOO=bar", NULL }, "from the host\n", strlen("from the host\n"), &x, "stdin");
        g_free(text);
        text = out_text(&x);
        cr_expect_str_eq(text, "from the host\n", "stdin delivered");
        cr_expect(g_bytes_get_size(x.err) == strlen("to stderr bar\n") &&
                  memcmp(g_bytes_get_data(x.err, NULL), "to stderr bar\n", strlen("to stderr bar\n")) == 0,
                  "stderr and the environment");
        exec_result_done(&x);

        /* 4 MiB of random bytes: the guest's checksum of what it sent against ours of what came. */
        exec_ok(t, name, (const char *const[]) { "sh", "-c", "head -c 4194304 /dev/urandom >/tmp/blob && "
                                                 "md5sum </tmp/blob >&2 && cat /tmp/blob && rm /tmp/blob", NULL },
                NULL, NULL, 0, &x, "4 MiB");
        cr_assert_eq(g_bytes_get_size(x.out), 4194304, "4 MiB of stdout, not %zu bytes", g_bytes_get_size(x.out));
        {
                g_autofree char *sum = g_compute_checksum_for_bytes(G_CHECKSUM_MD5, x.out);
                g_autofree char *guest = g_strndup(g_bytes_get_data(x.err, NULL), g_bytes_get_size(x.err));

                cr_expect(g_str_has_prefix(guest, sum), "checksums: host %s, guest %s", sum, guest);
        }
        exec_result_done(&x);

        /* Errors, each named: nothing runs. */
        int r = try_exec(t, name, (const char *const[]) { "/no/such/program", NULL }, NULL, NULL, 0, 0, 0, &x, &error);
        bt_assert_error(r, &error, "org.microvm.Agent1.Error.ExecFailed", "/no/such/program", "Exec of a missing program");
        sd_bus_error_free(&error);

        bt_assert_refused(t, "Exec",
                          g_variant_new("(s^as^as@aytt)", name, (const char *const[]) { NULL },
                                        (const char *const[]) { NULL },
                                        g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "", 0, 1), UINT64_C(0), UINT64_C(0)),
                          "org.microvm.Error.InvalidArgument", "argv is empty", "Exec without argv");
        bt_assert_refused(t, "Exec",
                          g_variant_new("(s^as^as@aytt)", PREFIX "nosuch", (const char *const[]) { "true", NULL },
                                        (const char *const[]) { NULL },
                                        g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "", 0, 1), UINT64_C(0), UINT64_C(0)),
                          "org.microvm.Error.NoSuchVM", PREFIX "nosuch", "Exec in an unknown VM");
}

/* A command past its timeout is killed (its whole process group) and the call says so; output past
 * the bound kills it too. */
Test(agent, exec_bounds) {
        static const char name[] = PREFIX "bounds";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autofree char *text = NULL;
        ExecResult x = {};
        int r;

        boot_ready(t, name, "", "");
        r = try_exec(t, name, (const char *const[]) { "sh", "-c", "sleep 60 & sleep 61", NULL }, NULL, NULL, 0,
                     1 * G_USEC_PER_SEC, 0, &x, &error);
        bt_assert_error(r, &error, "org.microvm.Agent1.Error.Timeout", "killed", "Exec past its timeout");
        sd_bus_error_free(&error);

        exec_ok(t, name, (const char *const[]) { "sh", "-c", "ps | grep -c '[s]leep 6' || true", NULL }, NULL, NULL, 0,
                &x, "the timed-out processes are gone");
        text = out_text(&x);
        cr_expect_str_eq(text, "0\n", "sleeps left after the timeout: %s", text);
        exec_result_done(&x);

        r = try_exec(t, name, (const char *const[]) { "sh", "-c", "head -c 100000 /dev/zero; sleep 60", NULL }, NULL,
                     NULL, 0, 0, 1000, &x, &error);
        bt_assert_error(r, &error, "org.microvm.Agent1.Error.OutputTooLarge", NULL, "Exec past output_max");
}

typedef struct Pending {
        bool done;
        int status;
        char *out;
        char *error;
} Pending;

static int pending_handler(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pending *p = userdata;
        const void *out;
        size_t n;
        int32_t status, signo;

        p->done = true;
        if (sd_bus_message_is_method_error(m, NULL)) {
                p->error = g_strdup(sd_bus_message_get_error(m)->name);
                return 0;
        }
        if (sd_bus_message_read(m, "ii", &status, &signo) >= 0 && sd_bus_message_read_array(m, 'y', &out, &n) >= 0) {
                p->status = status;
                p->out = g_strndup(out, n);
        }
        return 0;
}

/* Eight commands of a second each run at once: together they take about a second, not eight. */
Test(agent, concurrent) {
        static const char name[] = PREFIX "conc";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        Pending pending[8] = {};
        sd_bus_slot *slots[8] = {};
        uint64_t start, elapsed;
        size_t done = 0;

        boot_ready(t, name, "", "");
        start = g_get_monotonic_time();
        for (size_t i = 0; i < ELEMENTSOF(pending); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                g_autofree char *env = g_strdup_printf("N=%zu", i);

                cr_assert_eq(sd_bus_message_new_method_call(t->bus, &m, BT_BUS_NAME, BT_MANAGER_PATH,
                                                            BT_MANAGER_INTERFACE, "Exec"), 0);
                cr_assert_geq(sd_bus_message_append(m, "s", name), 0);
                cr_assert_geq(sd_bus_message_append_strv(m, (char *[]) { (char *) "sh", (char *) "-c",
                                                                        (char *) "sleep 1; echo $N", NULL }), 0);
                cr_assert_geq(sd_bus_message_append_strv(m, (char *[]) { env, NULL }), 0);
                cr_assert_geq(sd_bus_message_append_array(m, 'y', "", 0), 0);
                cr_assert_geq(sd_bus_message_append(m, "tt", UINT64_C(0), UINT64_C(0)), 0);
                cr_assert_geq(sd_bus_call_async(t->bus, &slots[i], m, pending_handler, &pending[i], BT_BOOT_TIMEOUT_USEC),
                              0);
        }
        while (done < ELEMENTSOF(pending)) {
                cr_assert_geq(sd_bus_process(t->bus, NULL), 0);
                done = 0;
                for (size_t i = 0; i < ELEMENTSOF(pending); i++)
                        done += pending[i].done;
                if (done < ELEMENTSOF(pending))
                        (void) sd_bus_wait(t->bus, 100000);
        }
        elapsed = g_get_monotonic_time() - start;

        for (size_t i = 0; i < ELEMENTSOF(pending); i++) {
                g_autofree char *expected = g_strdup_printf("%zu\n", i);

                cr_expect_null(pending[i].error, "Exec %zu failed: %s", i, strempty(pending[i].error));
                cr_expect_str_eq(strempty(pending[i].out), expected, "Exec %zu's own output", i);
                g_free(pending[i].out);
                g_free(pending[i].error);
                sd_bus_slot_unref(slots[i]);
        }
        cr_expect_lt(elapsed, 5 * G_USEC_PER_SEC, "8 concurrent one-second commands took %" PRIu64 " ms",
                     elapsed / 1000);
}

Test(agent, signal_and_ping) {
        static const char name[] = PREFIX "sig";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *pid = NULL, *text = NULL, *path = bt_vm_path(name), *env = NULL;
        ExecResult x = {};

        boot_ready(t, name, "", "");
        g_variant_unref(bt_manager_call(t, "Ping", g_variant_new("(s)", name), "Manager.Ping"));
        {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                cr_assert_eq(bt_call(t, path, BT_VM_INTERFACE, "Ping", NULL, NULL, &error), 0, "VM.Ping: %s",
                             strempty(error.message));
        }

        exec_ok(t, name, (const char *const[]) { "sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!", NULL }, NULL, NULL,
                0, &x, "a background process");
        pid = g_strstrip(out_text(&x));
        exec_result_done(&x);

        g_variant_unref(bt_manager_call(t, "Signal", g_variant_new("(ssi)", name, pid, SIGTERM), "Signal"));
        exec_ok(t, name, (const char *const[]) { "sh", "-c", "sleep 0.2; test -e /proc/$P && echo alive || echo gone",
                                                 NULL },
                (const char *const[]) { (env = g_strdup_printf("P=%s", pid)), NULL }, NULL, 0, &x, "after the signal");
        text = out_text(&x);
        cr_expect_str_eq(text, "gone\n", "the signalled process: %s", text);
        exec_result_done(&x);

        bt_assert_refused(t, "Signal", g_variant_new("(ssi)", name, "999999", SIGTERM),
                          "org.microvm.Agent1.Error.NoSuchProcess", NULL, "Signal of no process");
        bt_assert_refused(t, "Signal", g_variant_new("(ssi)", name, "nginx.service", SIGHUP),
                          "org.microvm.Agent1.Error.NotSupported", "systemd", "Signal of a unit without systemd");
        bt_assert_refused(t, "Signal", g_variant_new("(ssi)", name, pid, 0), "org.microvm.Error.InvalidArgument",
                          "not a signal number", "Signal 0");
}

/* A guest without an agent: Exec says so at once, and the VM still stops with the power button. */
Test(agent, absent) {
        static const char name[] = PREFIX "none";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autofree char *config = bt_guest_config("microvm.agent=0", ""), *reason = NULL;
        g_autoptr(GVariant) ready = NULL;
        ExecResult x = {};
        uint64_t start;
        int r;

        g_free(bt_create_vm(t, name, config));
        bt_boot_vm(t, name);
        ready = bt_vm_property(t, name, "Ready");
        cr_expect(!g_variant_get_boolean(ready), "no agent: not Ready");

        start = g_get_monotonic_time();
        r = try_exec(t, name, (const char *const[]) { "true", NULL }, NULL, NULL, 0, 5 * G_USEC_PER_SEC, 0, &x, &error);
        bt_assert_error(r, &error, "org.microvm.Error.AgentUnavailable", "microvm-agent", "Exec without an agent");
        cr_expect_lt(g_get_monotonic_time() - (int64_t) start, 5 * G_USEC_PER_SEC, "within its timeout");

        reason = bt_stop_vm(t, name, BT_STOP_TIMEOUT_USEC);
        cr_expect_str_eq(reason, "stop-request");
}

/* The agent goes away while the VM runs: Exec fails within its timeout with a named error, and
 * microvmd answers other calls meanwhile. */
Test(agent, agent_stopped) {
        static const char name[] = PREFIX "gone";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        Pending pending = {};
        ExecResult x = {};
        uint64_t start;

        boot_ready(t, name, "", "");
        /* Stopped, not killed: the agent's channel stays open in the guest, and nothing answers. */
        (void) try_exec(t, name, (const char *const[]) { "sh", "-c", "kill -STOP $PPID", NULL }, NULL, NULL, 0,
                        2 * G_USEC_PER_SEC, 0, &x, &error);
        sd_bus_error_free(&error);
        exec_result_done(&x);

        start = g_get_monotonic_time();
        cr_assert_eq(sd_bus_message_new_method_call(t->bus, &m, BT_BUS_NAME, BT_MANAGER_PATH, BT_MANAGER_INTERFACE,
                                                    "Exec"), 0);
        cr_assert_geq(sd_bus_message_append(m, "s", name), 0);
        cr_assert_geq(sd_bus_message_append_strv(m, (char *[]) { (char *) "true", NULL }), 0);
        cr_assert_geq(sd_bus_message_append_strv(m, (char *[]) { NULL }), 0);
        cr_assert_geq(sd_bus_message_append_array(m, 'y', "", 0), 0);
        cr_assert_geq(sd_bus_message_append(m, "tt", 2 * G_USEC_PER_SEC, UINT64_C(0)), 0);
        cr_assert_geq(sd_bus_call_async(t->bus, &slot, m, pending_handler, &pending, BT_BOOT_TIMEOUT_USEC), 0);

        /* Meanwhile microvmd answers. */
        g_variant_unref(bt_manager_call(t, "ListVMs", NULL, "ListVMs while an Exec waits"));
        cr_expect(!pending.done, "the Exec still waits");

        while (!pending.done) {
                cr_assert_geq(sd_bus_process(t->bus, NULL), 0);
                if (!pending.done)
                        (void) sd_bus_wait(t->bus, 100000);
        }
        cr_expect_str_eq(strempty(pending.error), "org.microvm.Error.AgentUnavailable");
        cr_expect_lt(g_get_monotonic_time() - start, 20 * G_USEC_PER_SEC, "within its timeout and margin");
        g_free(pending.error);
        g_free(pending.out);
        bt_kill_vm(t, name, SIGKILL);
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_TIMEOUT_USEC));
}

/* StopVM asks the agent first: the guest shuts down through it. */
Test(agent, stop_asks_agent) {
        static const char name[] = PREFIX "stop";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *reason = NULL, *unit = bt_vm_unit(name);

        /* The guest ignores its power button: only the agent can shut it down in time. */
        boot_ready(t, name, "microvm.ignore_powerbutton=1", "");
        reason = bt_stop_vm(t, name, 10 * G_USEC_PER_SEC);
        cr_expect_str_eq(reason, "stop-request");
        cr_expect(bt_wait_journal(unit, "Asked the guest agent of VM " PREFIX "stop to shut down", BT_TIMEOUT_USEC, NULL),
                  "the journal says the agent was asked");
        cr_expect(!bt_wait_serial_line(name, BT_GUEST_IGNORED, 0), "the power button was not needed");
}

/* WaitReady=yes: "systemctl start" returns only once the agent answered, as the journal's order
 * shows, and fails with the reason when it never does. */
Test(agent, wait_ready) {
        static const char name[] = PREFIX "wait", never[] = PREFIX "never";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", "'WaitReady': <true>"), *unit = bt_vm_unit(name), *out = NULL;
        g_autofree char *config_never = NULL, *unit_never = bt_vm_unit(never), *order = NULL;
        _cleanup_free_ char *unit_path = NULL;
        g_autoptr(GVariant) ready = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        cr_assert_geq(sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &unit_path), 0);
        g_free(bt_create_vm(t, name, config));
        r = bt_run(&out, "systemctl start %s", unit);
        cr_assert_eq(r, 0, "systemctl start: %s", out);
        ready = bt_vm_property(t, name, "Ready");
        cr_expect(g_variant_get_boolean(ready), "Ready as soon as systemctl start returned");
        /* The agent answered before systemd counted the unit as started: the moment the launcher
         * recorded (CLOCK_REALTIME, µs) against the unit's ActiveEnterTimestamp, one clock. The
         * journal's own timestamps would not do: journald stamps a line when it reads it. */
        cr_assert_eq(bt_run(&order, "a=$(cat /run/microvm/%s/ready); "
                            "s=$(busctl get-property org.freedesktop.systemd1 %s "
                            "org.freedesktop.systemd1.Unit ActiveEnterTimestamp | cut -d' ' -f2); "
                            "echo \"$a $s\"; [ -n \"$a\" ] && [ \"$s\" -gt 0 ] && [ \"$a\" -le \"$s\" ]",
                            name, unit_path), 0, "the agent answered (µs) before the unit was active (µs): %s", order);
        g_free(bt_stop_vm(t, name, BT_STOP_TIMEOUT_USEC));

        config_never = bt_guest_config("microvm.agent=0", "'WaitReady': <true>, 'ReadyTimeoutSec': <uint32 3>");
        g_free(bt_create_vm(t, never, config_never));
        g_free(out);
        r = bt_run(&out, "systemctl start %s", unit_never);
        cr_expect_neq(r, 0, "systemctl start of a guest whose agent never answers succeeded");
        cr_expect(bt_wait_journal(unit_never, "did not answer within 3 s (ReadyTimeoutSec=)", BT_TIMEOUT_USEC, NULL),
                  "the journal says why");
        (void) bt_run(NULL, "systemctl reset-failed %s", unit_never);

        r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "StartVM", g_variant_new("(s)", never),
                            BT_BOOT_TIMEOUT_USEC, NULL, &error);
        bt_assert_error(r, &error, "org.microvm.Error.StartFailed", "ReadyTimeoutSec", "StartVM, agent never answers");
}

/* microvmd killed and restarted while the VM runs: it connects to the agent again, and the agent
 * serves the new connection. */
Test(agent, host_reconnects) {
        static const char name[] = PREFIX "again";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *text = NULL;
        ExecResult x = {};

        boot_ready(t, name, "", "");
        for (int round = 0; round < 2; round++) {
                g_autoptr(GVariant) connected = NULL;
                int64_t deadline;

                bt_kill_microvmd("agent: microvmd restarted");
                /* The restarted microvmd finds the VM running, connects and pings. */
                for (deadline = g_get_monotonic_time() + BT_BOOT_TIMEOUT_USEC;; g_usleep(50 * 1000)) {
                        g_clear_pointer(&connected, g_variant_unref);
                        connected = bt_vm_property(t, name, "AgentConnected");
                        if (g_variant_get_boolean(connected))
                                break;
                        cr_assert(g_get_monotonic_time() < deadline, "round %d: the agent did not connect again",
                                  round);
                }
                exec_ok(t, name, (const char *const[]) { "echo", "again", NULL }, NULL, NULL, 0, &x,
                        "Exec after microvmd restarted");
                g_free(text);
                text = out_text(&x);
                cr_expect_str_eq(text, "again\n", "round %d", round);
                exec_result_done(&x);
        }
}
