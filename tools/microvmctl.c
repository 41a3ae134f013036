/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmctl: the command-line client of microvmd. Each verb is a call or two on the system bus;
 * configuration options go through the schema, so values are checked before they are sent. */

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "backend.h"
#include "bus-names.h"
#include "bus-variant.h"
#include "config-args.h"
#include "config-schema.h"
#include "console-relay.h"
#include "macro.h"
#include "mvm-config.h"
#include "output.h"
#include "polkit-agent.h"
#include "time-util.h"
#include "vm-files.h"
#include "vm-name.h"
#include "vm-state.h"

#define MVM_EXIT_USAGE 2
#define MVM_PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"

/* sd-bus's own method call timeout (25 s). */
#define MVM_BUS_TIMEOUT_DEFAULT 0
/* Start and stop wait for systemd's job, which systemd and microvmd bound already
 * (TimeoutStartSec=, the stop timeout), and perhaps for someone to type a password: no limit of
 * our own, which could only cut a stop short that is still going on. */
#define MVM_BUS_TIMEOUT_JOB UINT64_MAX

/* How many lines of the serial console status shows. */
#define MVM_STATUS_LOG_LINES 10

/* console with standard input not a terminal: how long the console must be quiet after the input
 * ended before microvmctl leaves (--timeout changes it). */
#define MVM_CONSOLE_IDLE_USEC_DEFAULT (1 * G_USEC_PER_SEC)

static OutputFormat arg_output = { .json = JSON_OFF, .legend = true };
static bool arg_ask_password = true;
static bool arg_verbose = false;
static const char *arg_host = NULL;     /* borrowed from argv */
static ConfigArgs arg_config = {};
static uint64_t arg_timeout_usec = 0;   /* stop; 0: the unit's TimeoutStopSec= */
static int arg_signal = 0;              /* kill; 0: not given, SIGTERM */
static bool arg_follow = false;         /* logs */
static bool arg_quiet = false;          /* console */

/* What a verb works with. */
typedef struct Context {
        sd_bus *bus;            /* borrowed; NULL for verbs that do not talk to microvmd */
        GVariant *config;       /* borrowed; the a{sv} of the configuration options, or NULL */
        pid_t *polkit_agent;    /* the polkit agent's PID or 0; a verb may stop it early */
} Context;

_printf_(2, 3)
static int fail_errno(int r, const char *format, ...) {
        va_list ap;

        /* What was printed before the failure comes before it. */
        fflush(stdout);
        fputs("microvmctl: ", stderr);
        va_start(ap, format);
        errno = abs(r); /* for %m */
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -abs(r);
}

_printf_(1, 2)
static int fail_usage(const char *format, ...) {
        va_list ap;

        fputs("microvmctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputs("\nTry 'microvmctl --help' for more information.\n", stderr);
        return -EINVAL;
}

/* microvmd's errors carry a message meant for people; print that, not the error's name. */
static int fail_bus(int r, const sd_bus_error *error, const char *member) {
        if (sd_bus_error_is_set(error) && error->message)
                return fail_errno(r, "%s", error->message);
        return fail_errno(r, "%s failed: %m", member);
}

static int append_args(sd_bus_message *m, GVariant *args) {
        GVariantIter iter;
        GVariant *arg;
        int r;

        g_variant_iter_init(&iter, args);
        while ((arg = g_variant_iter_next_value(&iter))) {
                r = bus_message_append_gvariant(m, arg);
                g_variant_unref(arg);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Calls a method of microvmd with the members of the tuple args (consumed if floating; NULL
 * for none) as arguments, waiting for the reply for timeout_usec (MVM_BUS_TIMEOUT_*). Sets *ret to
 * the reply's first value if ret is given. */
static int bus_call(sd_bus *bus, const char *path, const char *interface, const char *member, GVariant *args,
                    uint64_t timeout_usec, sd_bus_error *error, GVariant **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        g_autoptr(GVariant) owned = args ? g_variant_ref_sink(args) : NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, MVM_BUS_NAME, path, interface, member);
        if (r < 0)
                return r;
        if (owned) {
                r = append_args(m, owned);
                if (r < 0)
                        return r;
        }

        r = sd_bus_call(bus, m, timeout_usec, error, &reply);
        if (r < 0)
                return r;

        return ret ? bus_message_read_gvariant(reply, ret) : 0;
}

/* The same, printing what went wrong. */
static int call_or_fail(sd_bus *bus, const char *path, const char *interface, const char *member,
                        GVariant *args, uint64_t timeout_usec, GVariant **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = bus_call(bus, path, interface, member, args, timeout_usec, &error, ret);
        if (r < 0)
                return fail_bus(r, &error, member);
        return 0;
}

static int manager_call(sd_bus *bus, const char *member, GVariant *args, GVariant **ret) {
        return call_or_fail(bus, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, member, args,
                            MVM_BUS_TIMEOUT_DEFAULT, ret);
}

/* The same, for a call that waits for a systemd job. */
static int manager_call_job(sd_bus *bus, const char *member, GVariant *args, GVariant **ret) {
        return call_or_fail(bus, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, member, args,
                            MVM_BUS_TIMEOUT_JOB, ret);
}

static GVariant *get_all_args(void) {
        return g_variant_new("(s)", MVM_VM_INTERFACE);
}

/* Printing fails only when out of memory. */
static int check_output(int r) {
        if (r < 0)
                return fail_errno(r, "Failed to format the output: %m");
        return 0;
}

/* MiB for people: "256M", "2G", "1.5G". */
static char *format_mib(GVariant *v) {
        uint64_t mib;

        if (!g_variant_is_of_type(v, G_VARIANT_TYPE_UINT64))
                return output_value_text(v);
        mib = g_variant_get_uint64(v);
        if (mib < 1024)
                return g_strdup_printf("%" PRIu64 "M", mib);
        if (mib % 1024 == 0)
                return g_strdup_printf("%" PRIu64 "G", mib / 1024);
        return g_strdup_printf("%.1fG", (double) mib / 1024);
}

/* A VM that does not run has MainPID 0: shown as "-". */
static char *format_pid(GVariant *v) {
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32) && g_variant_get_uint32(v) == 0)
                return NULL;
        return output_value_text(v);
}

static const Column list_columns[] = {
        { "NAME",       "Name"                   },
        { "STATE",      "State"                  },
        { "PID",        "MainPID",   format_pid  },
        { "VCPUS",      "VCPUs"                  },
        { "MEMORY",     "MemoryMiB", format_mib  },
        { "HYPERVISOR", "Hypervisor"             },
        {}
};

/* One VM's row: the properties the table shows, in its order. Returns 0 if the VM went away
 * after ListVMs, 1 otherwise. */
static int list_row(sd_bus *bus, const char *path, GVariant **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autoptr(GVariant) props = NULL;
        GVariantBuilder b;
        int r;

        r = bus_call(bus, path, MVM_PROPERTIES_INTERFACE, "GetAll", get_all_args(), MVM_BUS_TIMEOUT_DEFAULT,
                     &error, &props);
        if (r < 0 &&
            sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE))
                return 0;
        if (r < 0)
                return fail_bus(r, &error, "GetAll");

        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        for (const Column *c = list_columns; c->header; c++) {
                g_autoptr(GVariant) v = g_variant_lookup_value(props, c->key, NULL);

                if (v)
                        g_variant_builder_add(&b, "{sv}", c->key, v);
        }
        *ret = g_variant_ref_sink(g_variant_builder_end(&b));
        return 1;
}

static int verb_list(Context *c, int argc, char *argv[]) {
        g_autoptr(GVariant) vms = NULL, rows = NULL;
        GVariantBuilder b;
        GVariantIter iter;
        const char *path;
        int r;

        r = manager_call(c->bus, "ListVMs", /* args= */ NULL, &vms);
        if (r < 0)
                return r;

        g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
        g_variant_iter_init(&iter, vms);
        while (g_variant_iter_next(&iter, "(&s&s&o)", NULL, NULL, &path)) {
                g_autoptr(GVariant) row = NULL;

                r = list_row(c->bus, path, &row);
                if (r < 0) {
                        g_variant_builder_clear(&b);
                        return r;
                }
                if (r > 0)
                        g_variant_builder_add_value(&b, row);
        }
        rows = g_variant_ref_sink(g_variant_builder_end(&b));

        return check_output(output_rows(rows, list_columns, &arg_output, "VM", "VMs"));
}

/* All properties of the VM name. */
/* Every property of the VM, those GetAll leaves out included: DriveInfo, which probes the images
 * and so is read only when asked for. */
static int vm_properties(sd_bus *bus, const char *name, GVariant **ret) {
        g_autoptr(GVariant) path = NULL, props = NULL, drive_info = NULL, drive_info_value = NULL;
        GVariantBuilder b;
        GVariantIter iter;
        const char *key;
        GVariant *value;
        int r;

        r = manager_call(bus, "GetVM", g_variant_new("(s)", name), &path);
        if (r < 0)
                return r;

        r = call_or_fail(bus, g_variant_get_string(path, NULL), MVM_PROPERTIES_INTERFACE, "GetAll",
                         get_all_args(), MVM_BUS_TIMEOUT_DEFAULT, &props);
        if (r < 0)
                return r;
        r = call_or_fail(bus, g_variant_get_string(path, NULL), MVM_PROPERTIES_INTERFACE, "Get",
                         g_variant_new("(ss)", MVM_VM_INTERFACE, "DriveInfo"), MVM_BUS_TIMEOUT_DEFAULT, &drive_info);
        if (r < 0)
                return r;

        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        g_variant_iter_init(&iter, props);
        while (g_variant_iter_loop(&iter, "{&sv}", &key, &value))
                g_variant_builder_add(&b, "{sv}", key, value);
        drive_info_value = g_variant_get_variant(drive_info);
        g_variant_builder_add(&b, "{sv}", "DriveInfo", drive_info_value);
        *ret = g_variant_ref_sink(g_variant_builder_end(&b));
        return 0;
}

static int verb_show(Context *c, int argc, char *argv[]) {
        g_autoptr(GVariant) props = NULL;
        int r;

        r = vm_properties(c->bus, argv[1], &props);
        if (r < 0)
                return r;

        return check_output(output_properties(props, &arg_output));
}

/* CreateVM and UpdateVM: the name and the a{sv} of the configuration options. */
static int send_config(Context *c, const char *method, const char *name, const char *done) {
        int r;

        r = manager_call(c->bus, method, g_variant_new("(s@a{sv})", name, c->config), /* ret= */ NULL);
        if (r < 0)
                return r;

        if (arg_verbose)
                printf("%s VM '%s'.\n", done, name);
        return 0;
}

static int verb_create(Context *c, int argc, char *argv[]) {
        return send_config(c, "CreateVM", argv[1], "Created");
}

static int verb_update(Context *c, int argc, char *argv[]) {
        return send_config(c, "UpdateVM", argv[1], "Updated");
}

/* Runs fn for each VM named in argv, going on with the others after a failure; returns the
 * first failure. */
static int for_each_name(Context *c, int argc, char *argv[], int (*fn)(Context *c, const char *name)) {
        int ret = 0, r;

        for (int i = 1; i < argc; i++) {
                r = fn(c, argv[i]);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

static int delete_one(Context *c, const char *name) {
        int r;

        r = manager_call(c->bus, "DeleteVM", g_variant_new("(s)", name), /* ret= */ NULL);
        if (r < 0)
                return r;
        if (arg_verbose)
                printf("Deleted VM '%s'.\n", name);
        return 0;
}

static int verb_delete(Context *c, int argc, char *argv[]) {
        return for_each_name(c, argc, argv, delete_one);
}

static int start_one(Context *c, const char *name) {
        int r;

        r = manager_call_job(c->bus, "StartVM", g_variant_new("(s)", name), /* ret= */ NULL);
        if (r < 0)
                return r;
        if (arg_verbose)
                printf("Started VM '%s'.\n", name);
        return 0;
}

static int verb_start(Context *c, int argc, char *argv[]) {
        return for_each_name(c, argc, argv, start_one);
}

static int stop_one(Context *c, const char *name) {
        g_autoptr(GVariant) reason = NULL;
        const char *why;
        int r;

        r = manager_call_job(c->bus, "StopVM", g_variant_new("(st)", name, arg_timeout_usec), &reason);
        if (r < 0)
                return r;

        why = g_variant_get_string(reason, NULL);
        /* The VM is stopped, as asked; but its guest may have lost data, which its owner should
         * hear about even without -v. */
        if (stop_reason_from_string(why) == STOP_REASON_TIMEOUT_KILL) {
                fflush(stdout);
                fprintf(stderr, "microvmctl: VM '%s' did not shut down in time and was killed.\n", name);
        }
        if (arg_verbose)
                printf("Stopped VM '%s' (%s).\n", name, why);
        return 0;
}

static int verb_stop(Context *c, int argc, char *argv[]) {
        return for_each_name(c, argc, argv, stop_one);
}

static int kill_one(Context *c, const char *name) {
        int signo = arg_signal ?: SIGTERM;
        int r;

        r = manager_call(c->bus, "KillVM", g_variant_new("(si)", name, (int32_t) signo), /* ret= */ NULL);
        if (r < 0)
                return r;
        if (arg_verbose) {
                const char *abbrev = sigabbrev_np(signo);

                if (abbrev)
                        printf("Sent SIG%s to VM '%s'.\n", abbrev, name);
                else
                        printf("Sent signal %d to VM '%s'.\n", signo, name);
        }
        return 0;
}

static int verb_kill(Context *c, int argc, char *argv[]) {
        return for_each_name(c, argc, argv, kill_one);
}

static int pause_one(Context *c, const char *name) {
        int r;

        r = manager_call(c->bus, "PauseVM", g_variant_new("(s)", name), /* ret= */ NULL);
        if (r < 0)
                return r;
        if (arg_verbose)
                printf("Paused VM '%s'.\n", name);
        return 0;
}

static int verb_pause(Context *c, int argc, char *argv[]) {
        return for_each_name(c, argc, argv, pause_one);
}

static int resume_one(Context *c, const char *name) {
        int r;

        r = manager_call(c->bus, "ResumeVM", g_variant_new("(s)", name), /* ret= */ NULL);
        if (r < 0)
                return r;
        if (arg_verbose)
                printf("Resumed VM '%s'.\n", name);
        return 0;
}

static int verb_resume(Context *c, int argc, char *argv[]) {
        return for_each_name(c, argc, argv, resume_one);
}

/* A snapshot's path as microvmd needs it: absolute. A relative one is taken from our current
 * directory, which means nothing on another host. g_free(). */
static int snapshot_path(const char *path, char **ret) {
        if (!g_utf8_validate(path, -1, NULL)) {
                g_autofree char *shown = g_strescape(path, NULL);
                return fail_errno(-EINVAL, "'%s' cannot be sent: the bus carries UTF-8 paths only.", shown);
        }
        if (!g_path_is_absolute(path) && arg_host)
                return fail_errno(-EINVAL, "'%s' is relative: give an absolute path on the host %s.", path,
                                  arg_host);
        *ret = g_canonicalize_filename(path, /* relative_to= */ NULL);
        return 0;
}

/* SnapshotVM and RestoreVM: the name and the absolute path, which *ret_path gets (g_free()). Both
 * can take long (the state is written or read, and a restore waits for the unit's start job): no
 * limit of our own. */
static int send_snapshot(Context *c, const char *method, const char *name, const char *path,
                         char **ret_path) {
        g_autofree char *absolute = NULL;
        int r;

        r = snapshot_path(path, &absolute);
        if (r < 0)
                return r;

        r = manager_call_job(c->bus, method, g_variant_new("(ss)", name, absolute), /* ret= */ NULL);
        if (r < 0)
                return r;
        *ret_path = TAKE_PTR(absolute);
        return 0;
}

static int verb_snapshot(Context *c, int argc, char *argv[]) {
        g_autofree char *path = NULL;
        int r;

        r = send_snapshot(c, "SnapshotVM", argv[1], argv[2], &path);
        if (r < 0)
                return r;
        if (arg_verbose)
                printf("Saved VM '%s' to %s.\n", argv[1], path);
        return 0;
}

static int verb_restore(Context *c, int argc, char *argv[]) {
        g_autofree char *path = NULL;
        int r;

        r = send_snapshot(c, "RestoreVM", argv[1], argv[2], &path);
        if (r < 0)
                return r;
        if (arg_verbose)
                printf("Restored VM '%s' from %s.\n", argv[1], path);
        return 0;
}

/* The console's socket from OpenConsole, ours to close. */
static int open_console(sd_bus *bus, const char *name, int *ret_fd) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int fd, r;

        /* Over ssh (-H) the bus passes no file descriptors: say so, not what the failure would. */
        r = sd_bus_can_send(bus, SD_BUS_TYPE_UNIX_FD);
        if (r < 0)
                return fail_errno(r, "Cannot tell whether the bus passes file descriptors: %m");
        if (r == 0)
                return fail_errno(-EOPNOTSUPP, "The console needs a local bus connection: this one "
                                  "cannot pass file descriptors (run microvmctl on the host itself).");

        r = sd_bus_call_method(bus, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "OpenConsole",
                               &error, &reply, "s", name);
        if (r < 0)
                return fail_bus(r, &error, "OpenConsole");
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return fail_errno(r, "Cannot read the reply of OpenConsole: %m");

        /* The message owns the descriptor it carries. */
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return fail_errno(-errno, "Cannot keep the console's descriptor: %m");
        *ret_fd = fd;
        return 0;
}

/* console NAME: the serial console on our terminal (or pipes) until ^]^]^], or until it closes. */
static int verb_console(Context *c, int argc, char *argv[]) {
        _cleanup_close_ int fd = -EBADF;
        ConsoleRelayResult result;
        const char *name = argv[1];
        int r;

        r = open_console(c->bus, name, &fd);
        if (r < 0)
                return r;

        /* The agent's part is done, and the terminal is the guest's now. */
        polkit_agent_close(*c->polkit_agent);
        *c->polkit_agent = 0;

        fflush(stdout);
        if (!arg_quiet)
                fprintf(stderr, "Connected to the console of VM %s. Press ^] three times within 1s to "
                        "disconnect.\n", name);

        r = console_relay_run(fd, arg_timeout_usec ?: MVM_CONSOLE_IDLE_USEC_DEFAULT, &result);
        if (r < 0)
                return fail_errno(r, "Console of VM %s failed: %m", name);

        switch (result.end) {
        case CONSOLE_RELAY_ESCAPED:
                if (!arg_quiet)
                        fprintf(stderr, "Disconnected from the console of VM %s.\n", name);
                break;
        case CONSOLE_RELAY_CLOSED:
                if (!arg_quiet)
                        fprintf(stderr, "Console of VM %s closed.\n", name);
                break;
        case CONSOLE_RELAY_INPUT_DONE:
        case CONSOLE_RELAY_OUTPUT_CLOSED:
                break;
        case CONSOLE_RELAY_SIGNAL:
                /* The terminal is back as it was: now end as the signal would have ended us, which is
                 * what a shell expects of a command it interrupted. */
                closep(&fd);
                (void) signal(result.signo, SIG_DFL);
                (void) raise(result.signo);
                return -EINTR;
        }
        return 0;
}

/* logs NAME [-f]: the journal of the VM's unit, where microvmd also puts its serial output. */
static int verb_logs(Context *c, int argc, char *argv[]) {
        g_autofree char *unit = NULL;
        const char *args[5] = { "journalctl", "-u" };
        size_t n = 2;

        if (!vm_name_is_valid(argv[1])) {
                g_autofree char *shown = g_strescape(argv[1], NULL);
                return fail_errno(-EINVAL, "'%s' is not a valid VM name: %s.", shown, MVM_VM_NAME_RULE);
        }
        if (arg_host)
                return fail_errno(-EOPNOTSUPP, "'logs' reads this host's journal: run journalctl -u %s%s%s "
                                  "on %s.", MVM_UNIT_PREFIX, argv[1], MVM_UNIT_SUFFIX, arg_host);

        unit = g_strconcat(MVM_UNIT_PREFIX, argv[1], MVM_UNIT_SUFFIX, NULL);
        args[n++] = unit;
        if (arg_follow)
                args[n++] = "--follow";
        args[n] = NULL;

        fflush(stdout);
        execvp(args[0], (char **) args);
        return fail_errno(-errno, "Cannot run journalctl: %m");
}

/* A string property of a GetAll reply, held by *holder; "" if microvmd did not send it. */
static const char *lookup_string(GVariant *props, const char *key, GVariant **holder) {
        *holder = g_variant_lookup_value(props, key, G_VARIANT_TYPE_STRING);
        return *holder ? g_variant_get_string(*holder, NULL) : "";
}

/* "running since ...; 5s ago" while the VM runs; else the state alone. */
static char *status_state(GVariant *props) {
        g_autoptr(GVariant) state = NULL, started = NULL;
        const char *s = lookup_string(props, "State", &state);
        g_autofree char *when = NULL;

        started = g_variant_lookup_value(props, "StartedAt", G_VARIANT_TYPE_UINT64);
        if (!started || g_variant_get_uint64(started) == 0)
                return g_strdup(s);

        when = output_timestamp_relative(g_variant_get_uint64(started), now_usec(CLOCK_REALTIME));
        return g_strdup_printf("%s since %s", s, when);
}

/* "1234 (qemu-system-x86)": the process's name where this host can see it. */
static char *status_pid(uint32_t pid) {
        g_autofree char *path = NULL, *comm = NULL;

        if (pid == 0)
                return NULL;
        if (arg_host)
                return g_strdup_printf("%" PRIu32, pid);

        path = g_strdup_printf("/proc/%" PRIu32 "/comm", pid);
        if (!g_file_get_contents(path, &comm, NULL, NULL))
                return g_strdup_printf("%" PRIu32, pid);
        g_strchomp(comm);
        return g_strdup_printf("%" PRIu32 " (%s)", pid, comm);
}

/* A "Label: value" line, labels right-aligned as in systemctl status; NULL values are left out. */
static void status_field(const char *label, const char *value) {
        if (value)
                printf("%12s: %s\n", label, value);
}

/* The last lines of the VM's serial console, where this host has them. Returns 0 or -ENOMEM. */
static int status_serial_log(const char *name, char ***ret_lines, char **ret_path) {
        g_autofree char *dir = NULL, *path = NULL;
        char **lines = NULL;
        int r;

        *ret_lines = NULL;
        *ret_path = NULL;
        if (arg_host)
                return 0;

        r = vm_state_dir(name, &dir);
        if (r < 0)
                return r;
        path = g_strdup_printf("%s/" MVM_SERIAL_LOG, dir);

        r = output_read_tail(path, MVM_STATUS_LOG_LINES, &lines);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT)
                /* Never started. */
                return 0;
        if (r < 0)
                (void) fail_errno(r, "Cannot read the serial console log %s, ignoring: %m", path);

        *ret_lines = lines;
        *ret_path = TAKE_PTR(path);
        return 0;
}

static int status_print_json(GVariant *props, char **lines) {
        g_autoptr(GVariant) all = NULL;
        GVariantBuilder b;
        GVariantIter iter;
        GVariant *entry;

        /* The properties, and the serial console's lines where there are any. */
        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        g_variant_iter_init(&iter, props);
        while ((entry = g_variant_iter_next_value(&iter))) {
                g_variant_builder_add_value(&b, entry);
                g_variant_unref(entry);
        }
        if (lines)
                g_variant_builder_add(&b, "{sv}", "SerialConsole",
                                      g_variant_new_strv((const char *const *) lines, -1));
        all = g_variant_ref_sink(g_variant_builder_end(&b));
        return output_properties(all, &arg_output);
}

static void status_print_text(GVariant *props, char **lines, const char *log_path) {
        g_autoptr(GVariant) name = NULL, state = NULL, unit = NULL, hypervisor = NULL, accelerator = NULL,
                            reason = NULL, config = NULL, pid = NULL, vcpus = NULL, memory = NULL,
                            needs_restart = NULL;
        g_autofree char *state_text = status_state(props), *pid_text = NULL, *hv_text = NULL,
                        *vcpus_text = NULL, *memory_text = NULL;
        const char *reason_text;
        bool active;

        printf("%s\n", lookup_string(props, "Name", &name));
        status_field("State", state_text);
        status_field("Unit", lookup_string(props, "Unit", &unit));

        pid = g_variant_lookup_value(props, "MainPID", G_VARIANT_TYPE_UINT32);
        pid_text = pid ? status_pid(g_variant_get_uint32(pid)) : NULL;
        status_field("Main PID", pid_text);

        hv_text = g_strdup_printf("%s, accelerator %s", lookup_string(props, "Hypervisor", &hypervisor),
                                  lookup_string(props, "Accelerator", &accelerator));
        status_field("Hypervisor", hv_text);

        vcpus = g_variant_lookup_value(props, "VCPUs", NULL);
        vcpus_text = vcpus ? output_value_text(vcpus) : NULL;
        status_field("VCPUs", vcpus_text);

        memory = g_variant_lookup_value(props, "MemoryMiB", NULL);
        memory_text = memory ? format_mib(memory) : NULL;
        status_field("Memory", memory_text);

        /* Why it is not running; while it runs, the reason of the stop before is history. */
        active = vm_state_is_active(vm_state_from_string(lookup_string(props, "State", &state))) > 0;
        reason_text = lookup_string(props, "StopReason", &reason);
        if (!active && reason_text[0])
                status_field("Stop reason", reason_text);

        status_field("Config file", lookup_string(props, "ConfigFile", &config));

        needs_restart = g_variant_lookup_value(props, "NeedsRestart", G_VARIANT_TYPE_BOOLEAN);
        if (needs_restart && g_variant_get_boolean(needs_restart))
                printf("\nThe configuration changed while the VM ran: stop and start it to apply "
                       "the change.\n");

        if (lines && lines[0]) {
                printf("\nSerial console, %s:\n", log_path);
                for (char **l = lines; *l; l++)
                        printf("%s\n", *l);
        }
}

static int verb_status(Context *c, int argc, char *argv[]) {
        g_autoptr(GVariant) props = NULL;
        g_auto(GStrv) lines = NULL;
        g_autofree char *log_path = NULL;
        int r;

        r = vm_properties(c->bus, argv[1], &props);
        if (r < 0)
                return r;

        r = status_serial_log(argv[1], &lines, &log_path);
        if (r < 0)
                return check_output(r);

        if (arg_output.json != JSON_OFF)
                return check_output(status_print_json(props, lines));
        status_print_text(props, lines, log_path);
        return 0;
}

/* An empty default is shown as "" so that the column does not look blank. */
static char *format_default(GVariant *v) {
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) && g_variant_get_string(v, NULL)[0] == '\0')
                return g_strdup("\"\"");
        return output_value_text(v);
}

static const Column key_columns[] = {
        { "SECTION",     "Section"                                     },
        { "KEY",         "Key"                                         },
        { "TYPE",        "Type"                                        },
        { "DEFAULT",     "Default",     format_default, "(required)"   },
        { "DESCRIPTION", "Description"                                 },
        {}
};

/* A schema key as a row; a required key has no Default. */
static GVariant *key_row(ConfigKeyId id) {
        const ConfigKey *key = config_key_get(id);
        const char *section = config_section_get(key->section)->name;
        g_autoptr(GVariant) def = config_key_default(id);
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        g_variant_builder_add(&b, "{sv}", "Section", g_variant_new_string(section));
        g_variant_builder_add(&b, "{sv}", "Key", g_variant_new_string(key->name));
        g_variant_builder_add(&b, "{sv}", "Type", g_variant_new_string(key->type));
        g_variant_builder_add(&b, "{sv}", "Required", g_variant_new_boolean(def == NULL));
        if (def)
                g_variant_builder_add(&b, "{sv}", "Default", def);
        g_variant_builder_add(&b, "{sv}", "Description", g_variant_new_string(key->doc));
        return g_variant_builder_end(&b);
}

static int verb_keys(Context *c, int argc, char *argv[]) {
        g_autoptr(GVariant) rows = NULL;
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++)
                g_variant_builder_add_value(&b, key_row(id));
        rows = g_variant_ref_sink(g_variant_builder_end(&b));

        return check_output(output_rows(rows, key_columns, &arg_output, "key", "keys"));
}

static int verb_info(Context *c, int argc, char *argv[]) {
        g_autoptr(GVariant) info = NULL;
        int r;

        r = manager_call(c->bus, "GetSystemInfo", /* args= */ NULL, &info);
        if (r < 0)
                return r;
        return check_output(output_properties(info, &arg_output));
}

#define MVM_VERB_ANY UINT_MAX

/* exec: the guest command's exit status, which microvmctl exits with; -1 until it is known. */
static int exec_status = -1;
/* What the reply to an exec with --timeout may take beyond it: the guest's kill and the way back. */
#define EXEC_REPLY_MARGIN_USEC (30 * G_USEC_PER_SEC)
/* exec's own failures, told apart from any status a guest command can have, as ssh does. */
#define MVM_EXIT_EXEC_FAILED 255

/* All of standard input, unless it is a terminal (then none: nothing waits for typing). */
static int read_all_stdin(char **ret, size_t *ret_size) {
        g_autoptr(GByteArray) data = g_byte_array_new();
        char buf[65536];

        if (isatty(STDIN_FILENO)) {
                *ret = NULL;
                *ret_size = 0;
                return 0;
        }
        for (;;) {
                ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                g_byte_array_append(data, (const guint8 *) buf, (guint) n);
        }
        *ret_size = data->len;
        *ret = (char *) g_byte_array_free(g_steal_pointer(&data), FALSE);
        return 0;
}

static int write_all(int fd, const void *p, size_t n) {
        const char *c = p;

        while (n > 0) {
                ssize_t k = write(fd, c, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                c += k;
                n -= (size_t) k;
        }
        return 0;
}

/* exec NAME CMD...: the command's output when it ends, and its exit status as ours. */
static int verb_exec(Context *c, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autofree char *input = NULL;
        const void *out = NULL, *err = NULL;
        size_t input_size = 0, out_size = 0, err_size = 0;
        int32_t status, signo;
        int r;

        if (!g_utf8_validate(argv[1], -1, NULL))
                return fail_errno(-EINVAL, "'%s' is not a valid VM name: %s.", argv[1], MVM_VM_NAME_RULE);
        r = read_all_stdin(&input, &input_size);
        if (r < 0)
                return fail_errno(r, "Cannot read standard input: %m");

        r = sd_bus_message_new_method_call(c->bus, &m, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "Exec");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[1]);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv + 2);
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 0);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', input ?: "", input_size);
        if (r >= 0)
                r = sd_bus_message_append(m, "tt", arg_timeout_usec, UINT64_C(0));
        if (r < 0)
                return fail_errno(r, "Cannot build the Exec call: %m");

        /* microvmd bounds the call by the command's timeout; without one, the command may run for as
         * long as it takes. */
        r = sd_bus_call(c->bus, m, arg_timeout_usec > 0 ? arg_timeout_usec + EXEC_REPLY_MARGIN_USEC : UINT64_MAX,
                        &error, &reply);
        if (r < 0)
                return fail_bus(r, &error, "Exec");

        r = sd_bus_message_read(reply, "ii", &status, &signo);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &out, &out_size);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &err, &err_size);
        if (r < 0)
                return fail_errno(r, "Cannot read the reply of Exec: %m");

        (void) write_all(STDOUT_FILENO, out, out_size);
        (void) write_all(STDERR_FILENO, err, err_size);
        /* As a shell reports a command a signal ended. */
        exec_status = signo > 0 ? 128 + signo : status;
        return 0;
}

typedef enum VerbFlags {
        VERB_OFFLINE         = 1 << 0,                  /* does not talk to microvmd */
        VERB_NAMES           = 1 << 1,                  /* the arguments are VM names */
        VERB_MUTATES         = 1 << 2,                  /* polkit may want to ask the user */
        VERB_CONFIG          = 1 << 3,                  /* takes the configuration options */
        VERB_CONFIG_REQUIRED = 1 << 4 | VERB_CONFIG,    /* ... and needs at least one */
        VERB_TIMEOUT         = 1 << 5,                  /* takes --timeout */
        VERB_SIGNAL          = 1 << 6,                  /* takes --signal */
        VERB_PATH            = 1 << 7,                  /* NAME PATH: only the first argument is a name */
        VERB_FOLLOW          = 1 << 8,                  /* takes --follow */
        VERB_QUIET           = 1 << 9,                  /* takes --quiet */
} VerbFlags;

typedef struct Verb {
        const char *name;
        int (*run)(Context *c, int argc, char *argv[]);
        unsigned min_args, max_args;    /* not counting the verb itself */
        VerbFlags flags;
} Verb;

static const Verb verbs[] = {
        { "list",     verb_list,     0, 0,            0 },
        { "show",     verb_show,     1, 1,            VERB_NAMES },
        { "create",   verb_create,   1, 1,            VERB_NAMES | VERB_MUTATES | VERB_CONFIG },
        { "update",   verb_update,   1, 1,            VERB_NAMES | VERB_MUTATES | VERB_CONFIG_REQUIRED },
        { "delete",   verb_delete,   1, MVM_VERB_ANY, VERB_NAMES | VERB_MUTATES },
        { "start",    verb_start,    1, MVM_VERB_ANY, VERB_NAMES | VERB_MUTATES },
        { "stop",     verb_stop,     1, MVM_VERB_ANY, VERB_NAMES | VERB_MUTATES | VERB_TIMEOUT },
        { "kill",     verb_kill,     1, MVM_VERB_ANY, VERB_NAMES | VERB_MUTATES | VERB_SIGNAL },
        { "pause",    verb_pause,    1, MVM_VERB_ANY, VERB_NAMES | VERB_MUTATES },
        { "resume",   verb_resume,   1, MVM_VERB_ANY, VERB_NAMES | VERB_MUTATES },
        { "snapshot", verb_snapshot, 2, 2,            VERB_NAMES | VERB_PATH | VERB_MUTATES },
        { "restore",  verb_restore,  2, 2,            VERB_NAMES | VERB_PATH | VERB_MUTATES },
        { "status",   verb_status,   1, 1,            VERB_NAMES },
        { "console",  verb_console,  1, 1,            VERB_NAMES | VERB_MUTATES | VERB_TIMEOUT | VERB_QUIET },
        { "logs",     verb_logs,     1, 1,            VERB_NAMES | VERB_OFFLINE | VERB_FOLLOW },
        { "keys",     verb_keys,     0, 0,            VERB_OFFLINE },
        { "info",     verb_info,     0, 0,            0 },
        { "exec",     verb_exec,     2, MVM_VERB_ANY, VERB_MUTATES | VERB_TIMEOUT },
};

/* Finds the verb of argv (the first non-option argument; "list" if there is none) and checks its
 * arguments and options. */
static int verb_find(int argc, char *argv[], const Verb **ret) {
        const char *name = argc > 0 ? argv[0] : "list";
        unsigned n_args = argc > 0 ? (unsigned) argc - 1 : 0;

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                const Verb *v = &verbs[i];

                if (!streq(v->name, name))
                        continue;
                if (n_args < v->min_args && (v->flags & VERB_PATH))
                        return fail_usage("'%s' needs a VM name and a path.", name);
                if (n_args < v->min_args)
                        return fail_usage("'%s' needs %s.", name, v->max_args > 1 ? "VM names" : "a VM name");
                if (n_args > v->max_args)
                        return fail_usage("Too many arguments for '%s'.", name);
                if (!(v->flags & VERB_CONFIG) && !config_args_is_empty(&arg_config))
                        return fail_usage("--file, --set and the section options apply to "
                                          "'create' and 'update' only.");
                if (!(v->flags & VERB_TIMEOUT) && arg_timeout_usec > 0)
                        return fail_usage("--timeout applies to 'stop', 'exec' and 'console' only.");
                if (!(v->flags & VERB_SIGNAL) && arg_signal > 0)
                        return fail_usage("--signal applies to 'kill' only.");
                if (!(v->flags & VERB_FOLLOW) && arg_follow)
                        return fail_usage("--follow applies to 'logs' only.");
                if (!(v->flags & VERB_QUIET) && arg_quiet)
                        return fail_usage("--quiet applies to 'console' only.");
                if ((v->flags & VERB_CONFIG_REQUIRED) == VERB_CONFIG_REQUIRED &&
                    config_args_is_empty(&arg_config))
                        return fail_usage("Nothing to change: give --set, --file or a section option "
                                          "such as --drive.");
                *ret = v;
                return 0;
        }
        return fail_usage("Unknown command '%s'.", name);
}

/* The bus carries UTF-8 only; microvmd judges the rest of a name. */
static int check_names(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++)
                if (!g_utf8_validate(argv[i], -1, NULL)) {
                        g_autofree char *shown = g_strescape(argv[i], NULL);
                        return fail_errno(-EINVAL, "'%s' is not a valid VM name: %s.", shown,
                                          MVM_VM_NAME_RULE);
                }
        return 0;
}

static int bus_connect(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (arg_host)
                r = sd_bus_open_system_remote(&bus, arg_host);
        else
                r = sd_bus_open_system(&bus);
        if (r < 0)
                return fail_errno(r, "Failed to connect to the system bus%s%s: %m", arg_host ? " of " : "",
                                  strempty(arg_host));

        r = sd_bus_set_allow_interactive_authorization(bus, arg_ask_password);
        if (r < 0)
                return fail_errno(r, "Failed to allow interactive authorization: %m");

        *ret = TAKE_PTR(bus);
        return 0;
}

static int verb_run(const Verb *verb, int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        g_autoptr(GVariant) config = NULL;
        g_autofree char *problem = NULL;
        pid_t agent = 0;
        int r;

        /* Everything that can be checked here is, before anyone is asked for a password. */
        if (verb->flags & VERB_NAMES) {
                r = check_names(verb->flags & VERB_PATH ? 2 : argc, argv);
                if (r < 0)
                        return r;
        }
        if (verb->flags & VERB_CONFIG) {
                r = config_args_to_variant(&arg_config, &config, &problem);
                if (r < 0)
                        return fail_errno(r, "%s", problem);
        }
        if (!(verb->flags & VERB_OFFLINE)) {
                r = bus_connect(&bus);
                if (r < 0)
                        return r;
        }
        if ((verb->flags & VERB_MUTATES) && arg_ask_password && !arg_host) {
                r = polkit_agent_open(&agent);
                if (r < 0)
                        (void) fail_errno(r, "Failed to start the polkit agent, ignoring: %m");
        }

        r = verb->run(&(Context) { .bus = bus, .config = config, .polkit_agent = &agent }, argc, argv);
        polkit_agent_close(agent);
        return r;
}

static void help(void) {
        printf("microvmctl [OPTIONS...] COMMAND ...\n\n"
               "Create, run, inspect and change microvm's virtual machines.\n\n"
               "Commands:\n"
               "  list                    List the VMs (the default command)\n"
               "  status NAME             Show a VM's state, resources and latest serial output\n"
               "  show NAME               Show all properties of a VM\n"
               "  start NAME...           Start VMs\n"
               "  stop NAME...            Stop VMs: ask their guests to power off, kill them if\n"
               "                          they have not after the timeout\n"
               "  kill NAME...            Send a signal to the hypervisor of VMs\n"
               "  pause NAME...           Pause VMs: stop their vCPUs\n"
               "  resume NAME...          Resume paused VMs\n"
               "  snapshot NAME PATH      Save a running or paused VM's memory and device\n"
               "                          state to PATH (and PATH.meta); the VM goes on as it was\n"
               "  restore NAME PATH       Start a stopped VM from the snapshot at PATH\n"
               "  console NAME            Attach to a VM's serial console (its output since boot\n"
               "                          first); ^] three times within 1 s detaches\n"
               "  logs NAME               Show the journal of a VM's unit, its serial output\n"
               "                          included (journalctl -u microvm@NAME.service)\n"
               "  create NAME             Create a VM from the configuration options\n"
               "  update NAME             Change the keys of a VM that the options give\n"
               "  delete NAME...          Delete VMs and their key files\n"
               "  keys                    List the configuration keys with types and defaults\n"
               "  info                    Show the host's CPUs and memory and what the VMs take\n"
               "  exec NAME [--] CMD...   Run CMD in the guest through its agent: its standard\n"
               "                          input is ours (unless a terminal), its output ours when\n"
               "                          it ends, its exit status ours (255: exec itself failed)\n\n"
               "Options:\n"
               "  -h --help               Show this help\n"
               "     --version            Show the version\n"
               "  -H --host=[USER@]HOST   Operate on a remote host, over ssh\n"
               "     --no-ask-password    Do not ask for a password to authorize a change\n"
               "     --json[=MODE]        Print JSON; MODE is pretty or short (default: pretty\n"
               "                          on a terminal, else short)\n"
               "     --no-legend          Print neither column headers nor the count\n"
               "  -v --verbose            Say what create, update, delete, start, stop, kill,\n"
               "                          pause, resume, snapshot and restore did\n"
               "     --timeout=SECONDS    stop: kill a VM that has not shut down after SECONDS\n"
               "                          (default: its unit's TimeoutStopSec=, 30 s); exec: kill\n"
               "                          the command after SECONDS (default: no limit); console:\n"
               "                          how long the console must be quiet after the end of a\n"
               "                          piped input (default: 1)\n"
               "  -s --signal=SIGNAL      kill: the signal to send, by name (TERM, SIGKILL) or\n"
               "                          number (default: SIGTERM)\n"
               "  -f --follow             logs: show new entries as they come\n"
               "  -q --quiet              console: print no connect and disconnect messages\n\n"
               "Configuration options (create, update):\n"
               "     --file=PATH          Start from the key file PATH\n"
               "     --set=KEY=VALUE      Set a key of [VM] or [Boot]\n");
        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++) {
                g_autofree char *option = NULL;

                if (!config_section_is_repeatable(s))
                        continue;
                option = config_section_option(s);
                printf("     --%s=KEY=VALUE[,KEY=VALUE...]\n"
                       "                          Add a [%s] section; repeat the option for more\n",
                       option, config_section_get(s)->name);
        }
        printf("\nThe options apply on top of the file: --set replaces a key, and the --drive\n"
               "options together replace the file's drives. update changes only the keys\n"
               "given; a --drive list replaces all drives of the VM, and --drive= alone removes\n"
               "them. 'microvmctl keys' lists the keys, their types and defaults.\n"
               "\nconsole puts a terminal on standard input into raw mode, so that every key\n"
               "(^C too) goes to the guest, and puts it back when it ends. When standard input\n"
               "is not a terminal, its bytes go to the guest as they are (no ^] escape); after\n"
               "its end, the output goes on until the console has been quiet for --timeout\n"
               "seconds: 'echo uname -a | microvmctl console -q NAME' runs a command in the\n"
               "guest's console shell and prints what it answers. console ends with status 0\n"
               "when detached, when its input ended, or when the console closed (the VM\n"
               "stopped).\n");
}

enum {
        ARG_VERSION = 0x100,
        ARG_JSON,
        ARG_NO_LEGEND,
        ARG_NO_ASK_PASSWORD,
        ARG_FILE,
        ARG_SET,
        ARG_TIMEOUT,
        ARG_SECTION,    /* + the ConfigSection of a repeatable section */
};

static const struct option fixed_options[] = {
        { "help",            no_argument,       NULL, 'h'                 },
        { "version",         no_argument,       NULL, ARG_VERSION         },
        { "host",            required_argument, NULL, 'H'                 },
        { "json",            optional_argument, NULL, ARG_JSON            },
        { "no-legend",       no_argument,       NULL, ARG_NO_LEGEND       },
        { "no-ask-password", no_argument,       NULL, ARG_NO_ASK_PASSWORD },
        { "verbose",         no_argument,       NULL, 'v'                 },
        { "file",            required_argument, NULL, ARG_FILE            },
        { "set",             required_argument, NULL, ARG_SET             },
        { "timeout",         required_argument, NULL, ARG_TIMEOUT         },
        { "signal",          required_argument, NULL, 's'                 },
        { "follow",          no_argument,       NULL, 'f'                 },
        { "quiet",           no_argument,       NULL, 'q'                 },
};

static int parse_json_mode(const char *mode) {
        if (!mode)
                arg_output.json = isatty(STDOUT_FILENO) ? JSON_PRETTY : JSON_SHORT;
        else if (streq(mode, "pretty"))
                arg_output.json = JSON_PRETTY;
        else if (streq(mode, "short"))
                arg_output.json = JSON_SHORT;
        else
                return fail_usage("--json takes pretty or short, not '%s'.", mode);
        return 0;
}

static int parse_timeout(const char *arg) {
        guint64 seconds;

        /* A whole number of seconds; 0 would mean the unit's default on the bus, which is what
         * leaving the option out says. */
        if (!g_ascii_string_to_unsigned(arg, 10, 1, UINT64_MAX / G_USEC_PER_SEC, &seconds, /* error= */ NULL))
                return fail_usage("--timeout takes a whole number of seconds, at least 1, not '%s'.", arg);
        arg_timeout_usec = seconds * G_USEC_PER_SEC;
        return 0;
}

/* A signal by name, with or without "SIG", in any case, or by number, as kill(1) takes it. */
static int parse_signal(const char *arg) {
        const char *name = g_ascii_strncasecmp(arg, "SIG", 3) == 0 ? arg + 3 : arg;
        guint64 number;

        if (g_ascii_string_to_unsigned(arg, 10, 1, _NSIG - 1, &number, /* error= */ NULL)) {
                arg_signal = (int) number;
                return 0;
        }
        for (int signo = 1; signo < _NSIG; signo++) {
                const char *abbrev = sigabbrev_np(signo);

                if (abbrev && g_ascii_strcasecmp(abbrev, name) == 0) {
                        arg_signal = signo;
                        return 0;
                }
        }
        return fail_usage("Unknown signal '%s': give a name such as TERM or KILL, or a number from 1 to %d.",
                          arg, _NSIG - 1);
}

/* A configuration option: its syntax now, its values with the verb. */
static int parse_config_option(int c, const char *arg) {
        g_autofree char *problem = NULL;
        int r;

        if (c == ARG_FILE) {
                g_free(arg_config.file);
                arg_config.file = g_strdup(arg);
                return 0;
        }
        if (c == ARG_SET)
                r = config_args_add_set(&arg_config, arg, &problem);
        else
                r = config_args_add_group(&arg_config, (ConfigSection) (c - ARG_SECTION), arg, &problem);
        if (r < 0)
                return fail_usage("%s.", problem);
        return 0;
}

/* Returns 1 to go on, 0 when done (--help, --version), -EINVAL on a usage error. */
static int parse_argv(int argc, char *argv[]) {
        /* The fixed options, one per repeatable section of the schema, and the terminator. */
        struct option options[ELEMENTSOF(fixed_options) + _CONFIG_SECTION_MAX + 1] = {};
        g_auto(GStrv) section_options = g_new0(char *, _CONFIG_SECTION_MAX + 1);
        size_t n = ELEMENTSOF(fixed_options), k = 0;
        int c, r;

        memcpy(options, fixed_options, sizeof(fixed_options));
        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                if (config_section_is_repeatable(s)) {
                        section_options[k] = config_section_option(s);
                        options[n++] = (struct option) {
                                section_options[k++], required_argument, NULL, ARG_SECTION + s,
                        };
                }

        while ((c = getopt_long(argc, argv, "hH:vs:fq", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts("microvmctl " MVM_VERSION);
                        return 0;
                case 'H':
                        arg_host = optarg;
                        break;
                case ARG_JSON:
                        r = parse_json_mode(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_NO_LEGEND:
                        arg_output.legend = false;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case 'v':
                        arg_verbose = true;
                        break;
                case ARG_TIMEOUT:
                        r = parse_timeout(optarg);
                        if (r < 0)
                                return r;
                        break;
                case 's':
                        r = parse_signal(optarg);
                        if (r < 0)
                                return r;
                        break;
                case 'f':
                        arg_follow = true;
                        break;
                case 'q':
                        arg_quiet = true;
                        break;
                case '?':
                        /* getopt_long() said what was wrong. */
                        fputs("Try 'microvmctl --help' for more information.\n", stderr);
                        return -EINVAL;
                default:
                        r = parse_config_option(c, optarg);
                        if (r < 0)
                                return r;
                }

        return 1;
}

/* Returns the exit status: usage errors are told apart from failures, as scripts may care. */
static int run(int argc, char *argv[]) {
        const Verb *verb = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? MVM_EXIT_USAGE : EXIT_SUCCESS;

        r = verb_find(argc - optind, argv + optind, &verb);
        if (r < 0)
                return MVM_EXIT_USAGE;

        r = verb_run(verb, argc - optind, argv + optind);
        if (verb->run == verb_exec)
                return r < 0 ? MVM_EXIT_EXEC_FAILED : exec_status;
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        int status = run(argc, argv);

        config_args_done(&arg_config);
        return status;
}
