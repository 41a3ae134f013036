/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM benchmark's client. It runs as root in a throw-away systemd where microvm is installed
 * (bench/vm sets that up), defines one VM with the test guest and boots it again and again, in
 * turn with the same QEMU command line run without microvm, interleaved run by run:
 *
 *   microvm     StartVM ... guest ready ... StopVM (QMP system_powerdown, unit inactive)
 *   direct      fork+exec of QEMU ... guest ready ... QMP system_powerdown, QEMU exits
 *   systemctl   StartUnit of a plain template unit whose ExecStart= is that QEMU command ...
 *               guest ready ... StopUnit
 *
 * The command line is the one microvm ran, read from /proc/PID/cmdline of its QEMU, so the
 * baselines boot exactly the same guest with the same serial log. "Guest ready" is the guest's
 * ready line appearing in the serial log, seen the same way for all three: inotify on the VM's
 * state directory, the log read as it grows. Besides, while each microvm run's VM is up, the
 * processes in the unit's cgroup other than QEMU and microvmd's resident memory are taken. */

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>

#include "backend.h"
#include "bus-names.h"
#include "cgroup.h"
#include "figure.h"
#include "serial-watch.h"
#include "log.h"
#include "macro.h"
#include "qmp-command.h"
#include "strv.h"
#include "unit.h"
#include "vm-files.h"

#define MICROVMD_UNIT           "microvmd.service"
#define BASELINE_TEMPLATE       "microvm-bench-qemu@"
#define UNIT_DIR                "/run/systemd/system"
#define SHUTDOWN_MARKER         "microvm-guest: power button, shutting down"
#define BOOT_TIMEOUT_NSEC       (60 * NSEC_PER_SEC)
#define STOP_TIMEOUT_NSEC       (60 * NSEC_PER_SEC)
#define STOP_TIMEOUT_USEC       UINT64_C(30000000)
#define PAUSE_MSEC              200

/* microvm's targets for its VMs (bench/README.md). */
#define TARGET_START_RATIO      1.03
#define TARGET_START_OVERHEAD_MS 15.0
#define TARGET_STOP_BEYOND_MS   100.0
#define TARGET_HELPER_KIB       0.0

typedef enum RunKind {
        RUN_MICROVM,
        RUN_DIRECT,
        RUN_SYSTEMCTL,
        _RUN_KIND_MAX,
} RunKind;

static const char *const run_kind_label[_RUN_KIND_MAX] = {
        [RUN_MICROVM] = "StartVM",
        [RUN_DIRECT] = "QEMU run directly",
        [RUN_SYSTEMCTL] = "systemctl start",
};

typedef struct Run {
        double ready_ms;                /* start asked → the guest's ready line in the serial log */
        double log_ms;                  /* start asked → QEMU created the serial log */
        double boot_ms;                 /* QEMU created the serial log → the ready line */
        double stop_ms;                 /* stop asked → QEMU gone (direct), the unit inactive (others) */
        double active_ms;               /* units: start asked → the unit active (READY=1, or forked) */
        /* microvm runs, while the VM is up */
        uint64_t helpers;               /* processes in the unit's cgroup besides QEMU */
        uint64_t helpers_kib;           /* their summed RSS */
        uint64_t qemu_kib;
        double microvmd_growth_kib;     /* microvmd's RSS now, less before StartVM */
        uint64_t throttled_usec;        /* CPU time the unit's cgroup was throttled (CPUQuota=) */
} Run;

typedef struct Options {
        size_t runs;                    /* measured runs of each kind */
        size_t warmup;                  /* unmeasured runs of each kind first */
        uint64_t settle_msec;           /* from the ready line to the stop */
        const char *name;               /* the VM */
        const char *guest;              /* directory with vmlinuz and initramfs.cpio.gz */
        const char *scratch;            /* QEMU's output when run directly */
        const char *summary;            /* where the summary rows are appended, or NULL */
} Options;

typedef struct Bench {
        Options opt;
        sd_bus *bus;
        UnitJobs jobs;
        FILE *summary;
        char *unit;                     /* microvm@NAME.service */
        char *baseline_unit;            /* microvm-bench-qemu@NAME.service */
        char *state_dir;                /* /var/lib/microvm/NAME: the serial log */
        char *runtime_dir;              /* /run/microvm/NAME: the sockets */
        char *qmp_socket;
        char **qemu_argv;               /* as microvm ran it */

        SerialWatch serial;             /* the serial log of the current run */

        /* The QEMU run directly. */
        pid_t child;
        int child_pidfd;
        uint64_t child_exit_nsec;       /* 0 while it runs */
        int child_status;

        /* The StartVM or StopVM call in flight. */
        sd_bus_slot *call_slot;
        bool call_done;
        uint64_t call_nsec;
        int call_error;
        char *call_result;              /* StopVM's stop reason */

        uint64_t microvmd_first_kib;    /* before the first measured run */
        uint64_t microvmd_last_kib;     /* after the last */
} Bench;

static int bench_process_bus(Bench *b) {
        for (;;) {
                int r = sd_bus_process(b->bus, NULL);

                if (r < 0)
                        return log_error_errno(r, "Failed to process the bus: %m");
                if (r == 0)
                        return 0;
        }
}


/* Whether the serial log has a line starting with marker. */
static bool serial_has_line(Bench *b, const char *marker) {
        _cleanup_free_ char *line = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t size = 0;

        f = fopen(b->serial.path, "re");
        if (!f)
                return false;
        while (getline(&line, &size, f) >= 0)
                if (strncmp(line, marker, strlen(marker)) == 0)
                        return true;
        return false;
}

typedef bool (*Condition)(const Bench *b);

static bool is_ready(const Bench *b) {
        return b->serial.ready_nsec != 0 || b->child_exit_nsec != 0 || (b->call_done && b->call_error < 0);
}

static bool is_call_done(const Bench *b) {
        return b->call_done;
}

static bool is_child_gone(const Bench *b) {
        return b->child_exit_nsec != 0;
}

static bool never(const Bench *b) {
        return false;
}

/* Serves the bus, the state directory's events and the QEMU run directly until done(b) or the
 * timeout (-ETIMEDOUT). Every event is stamped with the time poll() returned. */
static int bench_wait(Bench *b, Condition done, uint64_t timeout_nsec) {
        uint64_t deadline = now_nsec() + timeout_nsec;
        int r;

        for (;;) {
                struct pollfd p[3] = {
                        { .fd = sd_bus_get_fd(b->bus), .events = (short) sd_bus_get_events(b->bus) },
                        { .fd = b->serial.inotify_fd, .events = POLLIN },
                        { .fd = b->child_exit_nsec == 0 ? b->child_pidfd : -1, .events = POLLIN },
                };
                uint64_t now, bus_timeout, wait_nsec;

                r = bench_process_bus(b);
                if (r < 0)
                        return r;
                if (done(b))
                        return 0;

                now = now_nsec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                wait_nsec = deadline - now;
                if (sd_bus_get_timeout(b->bus, &bus_timeout) >= 0 && bus_timeout != UINT64_MAX) {
                        uint64_t bus_nsec = bus_timeout * NSEC_PER_USEC;

                        if (bus_nsec < now + wait_nsec)
                                wait_nsec = bus_nsec > now ? bus_nsec - now : 0;
                }

                r = poll(p, ELEMENTSOF(p), (int) ((wait_nsec + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC));
                now = now_nsec();
                if (r < 0 && errno != EINTR)
                        return log_error_errno(errno, "poll() failed: %m");
                if (r <= 0)
                        continue;
                if (p[1].revents & POLLIN) {
                        r = serial_watch_process(&b->serial, now);
                        if (r < 0)
                                return r;
                }
                if (p[2].revents & POLLIN)
                        b->child_exit_nsec = now;
        }
}

static int bench_pause(Bench *b, uint64_t msec) {
        int r = bench_wait(b, never, msec * NSEC_PER_MSEC);
        return r == -ETIMEDOUT ? 0 : r;
}

static int reply_call(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Bench *b = userdata;
        const char *result;

        b->call_nsec = now_nsec();
        b->call_done = true;
        b->call_slot = sd_bus_slot_unref(b->call_slot);
        if (e) {
                b->call_error = log_error_errno(sd_bus_message_get_errno(reply) ?: EIO, "%s: %s", e->name, e->message);
                return 0;
        }
        /* StopVM says why the VM stopped; StartVM returns nothing. */
        if (sd_bus_message_read(reply, "s", &result) > 0) {
                free(b->call_result);
                b->call_result = strdup(result);
        }
        return 0;
}

/* Sends a call to microvmd without waiting: the reply is taken by bench_wait(). */
static int call_async(Bench *b, const char *method, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        b->call_done = false;
        b->call_error = 0;
        b->call_result = mfree(b->call_result);

        r = sd_bus_message_new_method_call(b->bus, &m, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, method);
        if (r < 0)
                return log_error_errno(r, "Failed to build %s: %m", method);
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return log_error_errno(r, "Failed to build %s: %m", method);
        r = sd_bus_call_async(b->bus, &b->call_slot, m, reply_call, b, /* usec= */ STOP_TIMEOUT_NSEC / NSEC_PER_USEC);
        if (r < 0)
                return log_error_errno(r, "Failed to send %s: %m", method);
        return 0;
}

static int microvmd_rss_kib(Bench *b, uint64_t *ret) {
        pid_t pid;
        int r;

        r = unit_main_pid(b->bus, MICROVMD_UNIT, &pid);
        if (r < 0)
                return r;
        return process_rss_kib(pid, ret);
}

/* A word of ExecStart=: quoted, with what systemd would expand escaped. */
static int exec_quote(FILE *f, const char *arg) {
        fputc('"', f);
        for (const char *c = arg; *c; c++) {
                if (*c == '"' || *c == '\\')
                        fputc('\\', f);
                else if (*c == '%' || *c == '$')
                        fputc(*c, f);
                fputc(*c, f);
        }
        fputc('"', f);
        return ferror(f) ? -EIO : 0;
}

/* The systemctl baseline: a plain template unit that runs microvm's QEMU command line, with
 * the same runtime and state directories, nothing else. */
static int baseline_unit_write(Bench *b) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        const char *path = UNIT_DIR "/" BASELINE_TEMPLATE ".service";
        int r;

        f = fopen(path, "we");
        if (!f)
                return log_error_errno(errno, "Failed to create %s: %m", path);
        fputs("[Unit]\n"
              "Description=QEMU of VM %i without microvm (benchmark baseline)\n"
              "\n"
              "[Service]\n"
              "ExecStart=", f);
        for (char **a = b->qemu_argv; *a; a++) {
                if (a != b->qemu_argv)
                        fputc(' ', f);
                (void) exec_quote(f, *a);
        }
        fputs("\n"
              "RuntimeDirectory=microvm/%i\n"
              "StateDirectory=microvm/%i\n", f);
        if (fflush(f) != 0 || ferror(f))
                return log_error_errno(EIO, "Failed to write %s.", path);

        r = sd_bus_call_method(b->bus, SYSTEMD_BUS_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "Reload", &error, NULL,
                               NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to reload systemd: %s", bus_error_text(&error, r));
        return 0;
}

/* The boot's figures, once the ready line is there. */
static int run_booted(Bench *b, uint64_t t0, Run *run) {
        if (b->serial.ready_nsec == 0)
                return log_error_errno(EIO, "QEMU exited before the guest's ready line (see %s).", b->serial.path);
        if (b->serial.created_nsec == 0)
                b->serial.created_nsec = b->serial.ready_nsec;
        run->ready_ms = ms_between(t0, b->serial.ready_nsec);
        run->log_ms = ms_between(t0, b->serial.created_nsec);
        run->boot_ms = ms_between(b->serial.created_nsec, b->serial.ready_nsec);
        return 0;
}

/* When the unit became active, from systemd's timestamp (CLOCK_MONOTONIC, as ours): for microvm's
 * unit at the launcher's READY=1, right before it execs QEMU; for a Type=simple one once it forked. */
static int run_unit_active(Bench *b, const char *unit, uint64_t t0, Run *run) {
        uint64_t active;
        int r;

        r = unit_get_u64(b->bus, unit, SYSTEMD_UNIT_IFACE, "ActiveEnterTimestampMonotonic", &active);
        if (r < 0)
                return r;
        run->active_ms = ms_between(t0, active * NSEC_PER_USEC);
        return 0;
}

static int check_guest_shutdown(Bench *b) {
        if (!serial_has_line(b, SHUTDOWN_MARKER))
                return log_error_errno(EIO, "The guest did not shut itself down: no '%s' in %s.", SHUTDOWN_MARKER,
                                       b->serial.path);
        return 0;
}

static int run_microvm(Bench *b, Run *run) {
        uint64_t before_kib, during_kib, t0, t1;
        pid_t pid;
        int r;

        r = microvmd_rss_kib(b, &before_kib);
        if (r < 0)
                return r;
        r = serial_watch_reset(&b->serial, now_nsec());
        if (r < 0)
                return r;

        t0 = now_nsec();
        r = call_async(b, "StartVM", "s", b->opt.name);
        if (r < 0)
                return r;
        r = bench_wait(b, is_ready, BOOT_TIMEOUT_NSEC);
        if (r == -ETIMEDOUT)
                return log_error_errno(r, "No ready line from VM %s in %s within 60 s.", b->opt.name, b->serial.path);
        if (r >= 0)
                r = b->call_error;
        /* StartVM returns when systemd's start job is done: long before the guest is ready. */
        if (r >= 0)
                r = bench_wait(b, is_call_done, BOOT_TIMEOUT_NSEC);
        if (r >= 0)
                r = b->call_error;
        if (r < 0)
                return log_error_errno(r, "StartVM %s failed: %m", b->opt.name);
        r = run_booted(b, t0, run);
        if (r < 0)
                return r;

        r = bench_pause(b, b->opt.settle_msec);
        if (r < 0)
                return r;
        r = unit_main_pid(b->bus, b->unit, &pid);
        if (r >= 0)
                r = run_unit_active(b, b->unit, t0, run);
        if (r < 0)
                return r;
        if (!b->qemu_argv) {
                r = guest_argv_by_path(pid, b->opt.guest, &b->qemu_argv);
                if (r < 0)
                        return r;
        }
        r = cgroup_others(pid, &run->helpers, &run->helpers_kib);
        if (r < 0)
                return r;
        r = process_rss_kib(pid, &run->qemu_kib);
        if (r < 0)
                return r;
        r = microvmd_rss_kib(b, &during_kib);
        if (r < 0)
                return r;
        run->microvmd_growth_kib = (double) during_kib - (double) before_kib;
        if (cgroup_throttled_usec(pid, &run->throttled_usec) < 0)
                run->throttled_usec = UINT64_MAX;

        t1 = now_nsec();
        r = call_async(b, "StopVM", "st", b->opt.name, STOP_TIMEOUT_USEC);
        if (r >= 0)
                r = bench_wait(b, is_call_done, STOP_TIMEOUT_NSEC);
        if (r >= 0)
                r = b->call_error;
        if (r < 0)
                return log_error_errno(r, "StopVM %s failed: %m", b->opt.name);
        run->stop_ms = ms_between(t1, b->call_nsec);
        if (!streq_ptr(b->call_result, "stop-request"))
                return log_error_errno(EIO, "StopVM %s says the VM stopped by '%s', not by the stop request.",
                                       b->opt.name, strempty(b->call_result));
        return check_guest_shutdown(b);
}

/* Kills (if need be) and reaps the QEMU run directly, unless it was reaped already. */
static void child_forget(Bench *b) {
        if (b->child > 0) {
                if (b->child_exit_nsec == 0)
                        (void) kill(b->child, SIGKILL);
                (void) waitpid(b->child, NULL, 0);
        }
        b->child = 0;
        closep(&b->child_pidfd);
}

/* The QEMU run directly, from its boot to its exit after system_powerdown; t0 is when it was forked. */
static int direct_boot_and_stop(Bench *b, uint64_t t0, const char *out_path, Run *run) {
        uint64_t t1;
        int r;

        r = bench_wait(b, is_ready, BOOT_TIMEOUT_NSEC);
        if (r == -ETIMEDOUT)
                return log_error_errno(r, "No ready line from QEMU run directly in %s within 60 s.", b->serial.path);
        if (r < 0)
                return r;
        if (b->serial.ready_nsec == 0) {
                (void) waitpid(b->child, &b->child_status, 0);
                b->child = 0;
                return log_error_errno(EIO, "QEMU run directly exited (wait status %d) before the guest's ready line; "
                                       "see %s and %s.", b->child_status, b->serial.path, out_path);
        }
        r = run_booted(b, t0, run);
        if (r >= 0)
                r = bench_pause(b, b->opt.settle_msec);
        if (r < 0)
                return r;

        t1 = now_nsec();
        r = qmp_execute_simple(b->qmp_socket, "system_powerdown");
        if (r < 0)
                return log_error_errno(r, "QMP system_powerdown through %s failed: %m", b->qmp_socket);
        r = bench_wait(b, is_child_gone, STOP_TIMEOUT_NSEC);
        if (r < 0)
                return log_error_errno(r, "QEMU run directly did not exit after system_powerdown: %m");
        run->stop_ms = ms_between(t1, b->child_exit_nsec);

        if (waitpid(b->child, &b->child_status, 0) != b->child)
                return log_error_errno(errno, "waitpid() failed: %m");
        b->child = 0;
        if (!WIFEXITED(b->child_status) || WEXITSTATUS(b->child_status) != 0)
                return log_error_errno(EIO, "QEMU run directly ended with wait status %d (see %s).", b->child_status,
                                       out_path);
        return check_guest_shutdown(b);
}

static int run_direct(Bench *b, Run *run) {
        _cleanup_free_ char *out_path = NULL;
        _cleanup_close_ int out = -EBADF, null = -EBADF;
        uint64_t t0;
        int r;

        /* What RuntimeDirectory= makes for the unit; systemd removes it when the unit stops. */
        if (mkdir(b->runtime_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", b->runtime_dir);
        if (asprintf(&out_path, "%s/qemu-direct.log", b->opt.scratch) < 0) {
                out_path = NULL;
                return log_oom();
        }
        out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || null < 0)
                return log_error_errno(errno, "Failed to open %s or /dev/null: %m", out_path);
        r = serial_watch_reset(&b->serial, now_nsec());
        if (r < 0)
                return r;

        t0 = now_nsec();
        b->child = fork();
        if (b->child < 0) {
                b->child = 0;
                return log_error_errno(errno, "fork() failed: %m");
        }
        if (b->child == 0) {
                /* A QEMU left behind by a failure dies with us. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (dup2(null, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
                        _exit(127);
                execv(b->qemu_argv[0], b->qemu_argv);
                _exit(127);
        }

        b->child_pidfd = (int) syscall(SYS_pidfd_open, b->child, 0);
        if (b->child_pidfd < 0)
                r = log_error_errno(errno, "pidfd_open() failed: %m");
        else
                r = direct_boot_and_stop(b, t0, out_path, run);
        child_forget(b);
        return r;
}

static int run_systemctl(Bench *b, Run *run) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t t0, stop_nsec = 0;
        int r;

        r = serial_watch_reset(&b->serial, now_nsec());
        if (r < 0)
                return r;

        /* What "systemctl start" does: StartUnit; a Type=simple job is done once QEMU is forked. */
        t0 = now_nsec();
        r = sd_bus_call_method(b->bus, SYSTEMD_BUS_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "StartUnit", &error, NULL,
                               "ss", b->baseline_unit, "replace");
        if (r < 0)
                return log_error_errno(r, "StartUnit %s failed: %s", b->baseline_unit, bus_error_text(&error, r));
        r = bench_wait(b, is_ready, BOOT_TIMEOUT_NSEC);
        if (r == -ETIMEDOUT)
                r = log_error_errno(r, "No ready line from %s in %s within 60 s.", b->baseline_unit, b->serial.path);
        if (r >= 0)
                r = run_booted(b, t0, run);
        if (r >= 0)
                r = bench_pause(b, b->opt.settle_msec);
        if (r >= 0)
                r = run_unit_active(b, b->baseline_unit, t0, run);
        if (r >= 0)
                r = unit_job(&b->jobs, "StopUnit", b->baseline_unit, &stop_nsec);
        if (r < 0)
                return r;
        run->stop_ms = (double) stop_nsec / (double) NSEC_PER_MSEC;
        return 0;
}

static int run_once(Bench *b, RunKind kind, Run *run) {
        int r;

        *run = (Run) {};
        b->child_exit_nsec = 0;
        b->call_done = false;
        b->call_error = 0;
        switch (kind) {
        case RUN_MICROVM:
                r = run_microvm(b, run);
                break;
        case RUN_DIRECT:
                r = run_direct(b, run);
                break;
        case RUN_SYSTEMCTL:
                r = run_systemctl(b, run);
                break;
        default:
                assert(false);
                r = -EINVAL;
        }
        if (r < 0)
                return r;
        /* Lets systemd finish with the stopped unit before the next start. */
        return bench_pause(b, PAUSE_MSEC);
}

typedef struct Spread {
        double p10, median, p90;
} Spread;

/* One field of each run, as an array (free()). */
static double *values_of(const Run *runs, size_t n, size_t offset) {
        double *v = calloc(n, sizeof(double));

        if (!v)
                return NULL;
        for (size_t i = 0; i < n; i++)
                v[i] = *(const double *) ((const char *) &runs[i] + offset);
        return v;
}

static Spread spread_of(const Run *runs, size_t n, size_t offset) {
        _cleanup_free_ double *v = values_of(runs, n, offset);
        Spread s = {};

        if (!v)
                return s;
        s.median = median(v, n);
        s.p10 = quantile(v, n, 0.10);
        s.p90 = quantile(v, n, 0.90);
        return s;
}

/* Sets f's interval to that of the field's median under StartVM against the direct QEMU. */
static void figure_set_interval(Figure *f, Run *runs[_RUN_KIND_MAX], size_t n, size_t offset, bool ratio) {
        _cleanup_free_ double *a = values_of(runs[RUN_MICROVM], n, offset), *b = values_of(runs[RUN_DIRECT], n, offset);

        if (!a || !b)
                return;
        median_interval(a, n, b, n, ratio, &f->lo, &f->hi);
        f->interval = true;
}

static void spread_print(const char *what, const Spread s[_RUN_KIND_MAX], bool with_systemctl) {
        printf("  %s, p10 / median / p90 (ms):", what);
        for (RunKind k = 0; k < _RUN_KIND_MAX; k++)
                if (k != RUN_SYSTEMCTL || with_systemctl)
                        printf("%s %s %.1f / %.1f / %.1f", k == 0 ? "" : ";", run_kind_label[k], s[k].p10, s[k].median,
                               s[k].p90);
        printf("\n");
}

static void bench_report(Bench *b, Run *runs[_RUN_KIND_MAX]) {
        size_t n = b->opt.runs;
        Spread ready[_RUN_KIND_MAX], log[_RUN_KIND_MAX], boot[_RUN_KIND_MAX], stop[_RUN_KIND_MAX],
                active[_RUN_KIND_MAX];
        _cleanup_free_ double *growth = calloc(n, sizeof(double)), *throttled = calloc(n, sizeof(double)),
                              *qemu = calloc(n, sizeof(double));
        uint64_t helpers = 0, helpers_kib = 0;
        bool throttle_known = true;
        Figure f;

        if (!growth || !throttled || !qemu) {
                log_oom();
                return;
        }
        for (RunKind k = 0; k < _RUN_KIND_MAX; k++) {
                ready[k] = spread_of(runs[k], n, offsetof(Run, ready_ms));
                log[k] = spread_of(runs[k], n, offsetof(Run, log_ms));
                stop[k] = spread_of(runs[k], n, offsetof(Run, stop_ms));
                active[k] = spread_of(runs[k], n, offsetof(Run, active_ms));
                boot[k] = spread_of(runs[k], n, offsetof(Run, boot_ms));
        }
        for (size_t i = 0; i < n; i++) {
                const Run *r = &runs[RUN_MICROVM][i];

                helpers = MAX(helpers, r->helpers);
                helpers_kib = MAX(helpers_kib, r->helpers_kib);
                growth[i] = r->microvmd_growth_kib;
                qemu[i] = (double) r->qemu_kib / 1024;
                throttle_known = throttle_known && r->throttled_usec != UINT64_MAX;
                throttled[i] = (double) r->throttled_usec / 1000;
        }

        printf("\nboot: start asked -> the guest's ready line in the serial log; %zu runs of each kind\n", n);
        f = (Figure) {
                .name = "StartVM to guest ready", .unit = "ms", .decimals = 1,
                .value = ready[RUN_MICROVM].median, .baseline = ready[RUN_DIRECT].median,
                .target_kind = TARGET_RATIO_AT_MOST, .target = TARGET_START_RATIO,
        };
        figure_set_interval(&f, runs, n, offsetof(Run, ready_ms), /* ratio= */ true);
        figure_print(b->summary, &f);
        figure_print(b->summary, &(Figure) {
                .name = "systemctl start of the QEMU command to guest ready", .unit = "ms", .decimals = 1,
                .value = ready[RUN_SYSTEMCTL].median, .baseline = ready[RUN_DIRECT].median,
        });
        spread_print("guest ready", ready, true);
        f = (Figure) {
                .name = "StartVM host-side overhead", .unit = "ms", .decimals = 1,
                .value = ready[RUN_MICROVM].median - ready[RUN_DIRECT].median,
                .baseline = fmax(ready[RUN_SYSTEMCTL].median - ready[RUN_DIRECT].median, 0),
                .target_kind = TARGET_AT_MOST, .target = TARGET_START_OVERHEAD_MS,
        };
        figure_set_interval(&f, runs, n, offsetof(Run, ready_ms), /* ratio= */ false);
        figure_print(b->summary, &f);
        printf("  (median StartVM less median direct; baseline: the same for systemctl start. Boots vary by\n"
               "  far more than this difference: see the interval, and the overhead up to QEMU's start below.)\n");
        figure_print(b->summary, &(Figure) {
                .name = "StartVM to QEMU creating the serial log", .unit = "ms", .decimals = 1,
                .value = log[RUN_MICROVM].median, .baseline = log[RUN_DIRECT].median,
        });
        spread_print("serial log created", log, true);
        printf("  where it goes (medians, ms): StartVM call -> unit active (launcher's READY=1, just before it\n"
               "  execs QEMU) %.1f -> QEMU created the serial log %.1f; StartUnit -> unit active (QEMU forked) %.1f\n"
               "  -> serial log %.1f; QEMU run directly: fork -> serial log %.1f\n",
               active[RUN_MICROVM].median, log[RUN_MICROVM].median - active[RUN_MICROVM].median,
               active[RUN_SYSTEMCTL].median, log[RUN_SYSTEMCTL].median - active[RUN_SYSTEMCTL].median,
               log[RUN_DIRECT].median);
        printf("  the boot itself, from the serial log's creation to the ready line (medians, ms): StartVM %.1f;\n"
               "  QEMU run directly %.1f; systemctl start %.1f\n", boot[RUN_MICROVM].median, boot[RUN_DIRECT].median,
               boot[RUN_SYSTEMCTL].median);
        f = (Figure) {
                .name = "StartVM host-side overhead, up to QEMU's start", .unit = "ms", .decimals = 1,
                .value = log[RUN_MICROVM].median - log[RUN_DIRECT].median,
                .baseline = fmax(log[RUN_SYSTEMCTL].median - log[RUN_DIRECT].median, 0),
                .target_kind = TARGET_AT_MOST, .target = TARGET_START_OVERHEAD_MS,
        };
        figure_set_interval(&f, runs, n, offsetof(Run, log_ms), /* ratio= */ false);
        figure_print(b->summary, &f);

        printf("\nstop: StopVM -> unit inactive, against QMP system_powerdown -> QEMU run directly exits\n");
        figure_print(b->summary, &(Figure) {
                .name = "StopVM to unit inactive", .unit = "ms", .decimals = 1,
                .value = stop[RUN_MICROVM].median, .baseline = stop[RUN_DIRECT].median,
        });
        spread_print("stop", stop, false);
        f = (Figure) {
                .name = "StopVM beyond the guest's own shutdown", .unit = "ms", .decimals = 1,
                .value = stop[RUN_MICROVM].median - stop[RUN_DIRECT].median,
                .target_kind = TARGET_AT_MOST, .target = TARGET_STOP_BEYOND_MS,
        };
        figure_set_interval(&f, runs, n, offsetof(Run, stop_ms), /* ratio= */ false);
        figure_print(b->summary, &f);
        figure_print(b->summary, &(Figure) {
                .name = "systemctl stop of the QEMU command (SIGTERM, no guest shutdown)", .unit = "ms",
                .decimals = 1, .value = stop[RUN_SYSTEMCTL].median,
        });

        printf("\nmemory, while the VM runs (%zu runs)\n", n);
        figure_print(b->summary, &(Figure) {
                .name = "RSS besides QEMU in the VM's cgroup", .unit = "KiB", .decimals = 0,
                .value = (double) helpers_kib, .baseline = median(qemu, n) * 1024,
                .target_kind = TARGET_AT_MOST, .target = TARGET_HELPER_KIB,
        });
        printf("  (the most over the runs; baseline: QEMU's own RSS, %.1f MiB; processes besides QEMU: at most %" PRIu64
               ")\n", median(qemu, n), helpers);
        figure_print(b->summary, &(Figure) {
                .name = "microvmd RSS growth per running VM", .unit = "KiB", .decimals = 0,
                .value = median(growth, n), .baseline = (double) b->microvmd_first_kib, .summary = true,
        });
        printf("  (median over the runs of microvmd's RSS with the VM running less before StartVM; baseline:\n"
               "  microvmd's RSS before the first measured run; after the last: %" PRIu64 " KiB)\n",
               b->microvmd_last_kib);
        if (throttle_known)
                printf("CPU time the VM's cgroup was throttled (CPUQuota=) up to the stop: median %.1f ms, at most %.1f ms\n",
                       median(throttled, n), quantile(throttled, n, 1.0));
}

static int bench_run(Bench *b) {
        _cleanup_free_ Run *all = NULL;
        Run *runs[_RUN_KIND_MAX], scratch;
        int r;

        all = calloc(_RUN_KIND_MAX * b->opt.runs, sizeof(Run));
        if (!all)
                return log_oom();
        for (RunKind k = 0; k < _RUN_KIND_MAX; k++)
                runs[k] = all + k * b->opt.runs;

        /* The first StartVM also shows the command line the baselines run. */
        for (size_t i = 0; i < MAX(b->opt.warmup, (size_t) 1); i++) {
                r = run_once(b, RUN_MICROVM, &scratch);
                if (r < 0)
                        return r;
        }
        printf("QEMU command line (of StartVM's unit, run as is by the baselines):\n ");
        for (char **a = b->qemu_argv; *a; a++)
                printf(" %s", *a);
        printf("\n");
        r = baseline_unit_write(b);
        if (r < 0)
                return r;
        for (size_t i = 0; i < b->opt.warmup; i++)
                for (RunKind k = RUN_DIRECT; k < _RUN_KIND_MAX; k++) {
                        r = run_once(b, k, &scratch);
                        if (r < 0)
                                return r;
                }

        r = microvmd_rss_kib(b, &b->microvmd_first_kib);
        if (r < 0)
                return r;
        printf("\nper round, in ms: guest ready / serial log created / stopped; kinds in rotating order\n");
        for (size_t i = 0; i < b->opt.runs; i++) {
                printf("round %2zu:", i + 1);
                for (size_t j = 0; j < _RUN_KIND_MAX; j++) {
                        RunKind k = (RunKind) ((i + j) % _RUN_KIND_MAX);
                        Run *run = &runs[k][i];

                        r = run_once(b, k, run);
                        if (r < 0)
                                return r;
                        printf("  %s %.1f / %.1f / %.1f", run_kind_label[k], run->ready_ms, run->log_ms, run->stop_ms);
                        fflush(stdout);
                }
                printf("\n");
        }
        r = microvmd_rss_kib(b, &b->microvmd_last_kib);
        if (r < 0)
                return r;

        bench_report(b, runs);
        return 0;
}

static int bench_setup(Bench *b) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *kernel = NULL, *initrd = NULL;
        int r;

        if (asprintf(&b->unit, MVM_UNIT_PREFIX "%s" MVM_UNIT_SUFFIX, b->opt.name) < 0 ||
            asprintf(&b->baseline_unit, BASELINE_TEMPLATE "%s.service", b->opt.name) < 0 ||
            asprintf(&kernel, "%s/vmlinuz", b->opt.guest) < 0 ||
            asprintf(&initrd, "%s/initramfs.cpio.gz", b->opt.guest) < 0)
                return log_oom();
        if (vm_state_dir(b->opt.name, &b->state_dir) < 0 || vm_runtime_dir(b->opt.name, &b->runtime_dir) < 0 ||
            asprintf(&b->qmp_socket, "%s/" MVM_QMP_SOCKET, b->runtime_dir) < 0)
                return log_oom();

        r = sd_bus_open_system(&b->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = unit_jobs_watch(&b->jobs, b->bus);
        if (r < 0)
                return r;

        r = sd_bus_call_method(b->bus, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "CreateVM", &error, NULL,
                               "sa{sv}", b->opt.name, 4,
                               "Kernel", "s", kernel,
                               "Initrd", "s", initrd,
                               "MemoryMiB", "t", UINT64_C(256),
                               "VCPUs", "u", UINT32_C(1));
        if (r < 0)
                return log_error_errno(r, "CreateVM %s failed: %s", b->opt.name, bus_error_text(&error, r));

        /* Watched from the start, before any run creates the log. */
        r = serial_watch_open(&b->serial, b->state_dir);
        if (r < 0)
                return r;

        printf("VM %s: %s, %s, 256 MiB, 1 vCPU; %zu measured runs of each kind after %zu warm-up, "
               "%" PRIu64 " ms from ready to stop\n", b->opt.name, kernel, initrd, b->opt.runs, b->opt.warmup,
               b->opt.settle_msec);
        return 0;
}

static void bench_done(Bench *b) {
        child_forget(b);
        if (b->summary)
                (void) fclose(b->summary);
        sd_bus_slot_unref(b->call_slot);
        unit_jobs_done(&b->jobs);
        sd_bus_flush_close_unref(b->bus);
        serial_watch_close(&b->serial);
        free(b->unit);
        free(b->baseline_unit);
        free(b->state_dir);
        free(b->runtime_dir);
        free(b->qmp_socket);
        free(b->call_result);
        strv_free(b->qemu_argv);
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum {
                ARG_RUNS = 0x100,
                ARG_WARMUP,
                ARG_SETTLE,
                ARG_NAME,
                ARG_GUEST,
                ARG_SCRATCH,
                ARG_SUMMARY,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "runs", required_argument, NULL, ARG_RUNS },
                { "warmup", required_argument, NULL, ARG_WARMUP },
                { "settle-ms", required_argument, NULL, ARG_SETTLE },
                { "name", required_argument, NULL, ARG_NAME },
                { "guest", required_argument, NULL, ARG_GUEST },
                { "scratch", required_argument, NULL, ARG_SCRATCH },
                { "summary", required_argument, NULL, ARG_SUMMARY },
                {}
        };
        size_t settle;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("%s --guest DIR --scratch DIR [--runs N] [--warmup N] [--settle-ms MS] [--name NAME]\n"
                               "    [--summary FILE]\n\n"
                               "Boots VMs through microvmd and QEMU alone. Run it through bench/vm.\n", argv[0]);
                        return 0;
                case ARG_RUNS:
                        r = parse_count(optarg, 1, 100000, &o->runs);
                        if (r < 0)
                                return log_error_errno(r, "Bad number '%s': expected 1 to 100000.", optarg);
                        break;
                case ARG_WARMUP:
                        r = parse_count(optarg, 0, 100000, &o->warmup);
                        if (r < 0)
                                return log_error_errno(r, "Bad number '%s': expected 0 to 100000.", optarg);
                        break;
                case ARG_SETTLE:
                        r = parse_count(optarg, 0, 100000, &settle);
                        if (r < 0)
                                return log_error_errno(r, "Bad number '%s': expected 0 to 100000.", optarg);
                        o->settle_msec = settle;
                        break;
                case ARG_NAME:
                        o->name = optarg;
                        break;
                case ARG_GUEST:
                        o->guest = optarg;
                        break;
                case ARG_SCRATCH:
                        o->scratch = optarg;
                        break;
                case ARG_SUMMARY:
                        o->summary = optarg;
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes no arguments.", argv[0]);
        if (!o->guest || !o->scratch)
                return log_error_errno(EINVAL, "--guest and --scratch are required.");
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(bench_done) Bench b = {
                .opt = {
                        .runs = 15,
                        .warmup = 1,
                        .settle_msec = 250,
                        .name = "bench",
                },
                .serial = SERIAL_WATCH_INIT,
                .child_pidfd = -EBADF,
        };
        int r;

        /* The progress lines go out as they are made, in order with the errors. */
        setvbuf(stdout, NULL, _IOLBF, 0);

        r = parse_argv(argc, argv, &b.opt);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        if (b.opt.summary) {
                b.summary = fopen(b.opt.summary, "ae");
                if (!b.summary) {
                        log_error_errno(errno, "Failed to open %s: %m", b.opt.summary);
                        return EXIT_FAILURE;
                }
        }
        r = bench_setup(&b);
        if (r >= 0)
                r = bench_run(&b);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
