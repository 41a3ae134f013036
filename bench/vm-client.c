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
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>

#include "backend.h"
#include "bus-names.h"
#include "figure.h"
#include "log.h"
#include "macro.h"
#include "qmp-command.h"
#include "unit.h"
#include "vm-files.h"

#define MICROVMD_UNIT           "microvmd.service"
#define BASELINE_TEMPLATE       "microvm-bench-qemu@"
#define UNIT_DIR                "/run/systemd/system"
#define READY_MARKER            "microvm-guest: ready "
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
        double stop_ms;                 /* stop asked → QEMU gone (direct), the unit inactive (others) */
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
        char *serial_log;
        char *qmp_socket;
        char **qemu_argv;               /* as microvm ran it */

        /* The serial log of the current run. */
        int inotify_fd;
        int log_fd;
        uint64_t log_nsec;              /* 0 until QEMU created it */
        uint64_t ready_nsec;            /* 0 until the ready line */
        char line[512];                 /* the last line read, so far */
        size_t line_len;

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

/* New bytes of the serial log: looks for the ready line, line by line. */
static int serial_read(Bench *b, uint64_t now) {
        char buf[4096];

        for (;;) {
                ssize_t n = read(b->log_fd, buf, sizeof(buf));

                if (n < 0)
                        return log_error_errno(errno, "Failed to read %s: %m", b->serial_log);
                if (n == 0)
                        return 0;

                for (ssize_t i = 0; i < n; i++) {
                        if (buf[i] != '\n') {
                                if (b->line_len < sizeof(b->line) - 1)
                                        b->line[b->line_len++] = buf[i];
                                continue;
                        }
                        b->line[b->line_len] = '\0';
                        if (b->ready_nsec == 0 && strncmp(b->line, READY_MARKER, strlen(READY_MARKER)) == 0)
                                b->ready_nsec = now;
                        b->line_len = 0;
                }
        }
}

/* The events of the state directory: the serial log created (QEMU opened it) or written. */
static int serial_watch_process(Bench *b, uint64_t now) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool changed = false;

        for (;;) {
                ssize_t n = read(b->inotify_fd, buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EAGAIN)
                                break;
                        return log_error_errno(errno, "Failed to read inotify events: %m");
                }
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;

                        p += sizeof(struct inotify_event) + e->len;
                        if (e->len == 0 || !streq(e->name, MVM_SERIAL_LOG))
                                continue;
                        if ((e->mask & IN_CREATE) && b->log_nsec == 0)
                                b->log_nsec = now;
                        changed = true;
                }
        }
        if (!changed || b->ready_nsec != 0)
                return 0;

        if (b->log_fd < 0) {
                b->log_fd = open(b->serial_log, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                if (b->log_fd < 0)
                        return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", b->serial_log);
        }
        return serial_read(b, now);
}

/* Forgets the last run's serial log: removed, so that QEMU creates it anew. */
static int serial_reset(Bench *b) {
        closep(&b->log_fd);
        if (unlink(b->serial_log) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Failed to remove %s: %m", b->serial_log);
        b->log_nsec = b->ready_nsec = 0;
        b->line_len = 0;
        /* Drop events of the removal and of the last run. */
        return serial_watch_process(b, now_nsec());
}

static bool serial_has_line(Bench *b, const char *marker) {
        _cleanup_free_ char *line = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0;
        bool found = false;
        FILE *f;

        fd = open(b->serial_log, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        f = fdopen(TAKE_FD(fd), "r");
        if (!f)
                return false;
        while (!found && getline(&line, &size, f) >= 0)
                found = strncmp(line, marker, strlen(marker)) == 0;
        (void) fclose(f);
        return found;
}

typedef bool (*Condition)(const Bench *b);

static bool is_ready(const Bench *b) {
        return b->ready_nsec != 0 || b->child_exit_nsec != 0 || (b->call_done && b->call_error < 0);
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
                        { .fd = b->inotify_fd, .events = POLLIN },
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
                        r = serial_watch_process(b, now);
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

