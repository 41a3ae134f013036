/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest agent benchmark's client. It runs as root in a throw-away systemd where microvm is
 * installed (bench/agent sets that up), defines one VM with the test guest carrying the agent, and
 * measures:
 *
 *   boot        StartVM to the VM's Ready signal against StartVM to the guest's ready line in the
 *               serial log, both within the same boot; StopVM between boots
 *   exec        Manager.Exec of "true" through microvmd against the same Exec sent straight to the
 *               agent on the unit's channel (agent-unit.sock), and Ping both ways, call by call
 *   throughput  Exec of a command printing 4 MiB, through microvmd and straight to the agent
 *
 * The direct calls take the channel the unit's launcher uses at start (WaitReady=yes) and stop
 * only: it is free while the VM runs, and it is released before every stop. */

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "agent-connect.h"
#include "agent-protocol.h"
#include "backend.h"
#include "bus-names.h"
#include "cgroup.h"
#include "figure.h"
#include "serial-watch.h"
#include "time-util.h"
#include "log.h"
#include "macro.h"
#include "unit.h"
#include "vm-files.h"

#define BOOT_TIMEOUT_NSEC       (60 * NSEC_PER_SEC)
#define STOP_TIMEOUT_NSEC       (60 * NSEC_PER_SEC)
#define STOP_TIMEOUT_USEC       UINT64_C(30000000)
#define CALL_TIMEOUT_USEC       UINT64_C(30000000)
/* After the Ready signal, before the calls are timed: the guest's init finishes its setup. */
#define SETTLE_MSEC             500
/* Between a stop and the next start: systemd finishes with the stopped unit. */
#define PAUSE_MSEC              200
#define WARMUP_CALLS            5

/* The command printing 4 MiB: cat of a file the benchmark writes once into the guest's tmpfs (its
 * initramfs root), so that making the bytes costs the guest little besides moving them. */
#define TRANSFER_SIZE           (UINT64_C(4) * 1024 * 1024)
#define TRANSFER_FILE           "/microvm-bench-4MiB"

/* microvm's targets for the agent (bench/README.md). */
#define TARGET_EXEC_MS          4.0
#define TARGET_THROUGHPUT_MIBS  50.0
#define TARGET_READY_RATIO      1.10

typedef enum CallKind {
        CALL_EXEC_MICROVM,      /* Manager.Exec(name, ["true"]) */
        CALL_EXEC_DIRECT,       /* Agent1.Exec(["true"]) on agent-unit.sock */
        CALL_PING_DIRECT,       /* Agent1.Ping on agent-unit.sock */
        CALL_PING_MICROVM,      /* Manager.Ping(name), which microvmd forwards to the agent */
        _CALL_KIND_MAX,
} CallKind;

static const char *const call_kind_label[_CALL_KIND_MAX] = {
        [CALL_EXEC_MICROVM] = "Exec through microvmd",
        [CALL_EXEC_DIRECT] = "Exec direct",
        [CALL_PING_DIRECT] = "Ping direct",
        [CALL_PING_MICROVM] = "Ping through microvmd",
};

typedef struct Boot {
        double ready_ms;                /* StartVM asked → the Ready signal received */
        double ready_at_ms;             /* StartVM asked → ReadyAt, microvmd's own stamp */
        double serial_ms;               /* StartVM asked → the ready line in the serial log */
        double stop_ms;                 /* StopVM asked → its reply */
} Boot;

typedef struct Options {
        size_t execs;                   /* timed calls of each kind, exec and ping */
        size_t transfers;               /* timed 4 MiB Execs of each kind */
        size_t boots;
        const char *name;               /* the VM */
        const char *guest;              /* directory with vmlinuz and initramfs.cpio.gz */
        const char *summary;            /* where the summary rows are appended, or NULL */
} Options;

typedef struct Bench {
        Options opt;
        sd_bus *bus;                    /* the system bus: microvmd */
        sd_bus *agent;                  /* straight to the agent on agent-unit.sock, while open */
        FILE *summary;
        char *unit;                     /* microvm@NAME.service */
        char *vm_path;
        char *state_dir;                /* /var/lib/microvm/NAME: the serial log */
        char *agent_socket;             /* /run/microvm/NAME/agent-unit.sock */
        sd_bus_slot *ready_slot;

        uint64_t wake_nsec;             /* when the last poll() returned: every event's stamp */

        SerialWatch serial;             /* the serial log of the current boot */

        /* The Ready signal of the current boot. */
        uint64_t ready_nsec;            /* 0 until received */
        uint64_t ready_at_usec;         /* its argument, CLOCK_REALTIME */

        /* The StartVM or StopVM call in flight. */
        sd_bus_slot *call_slot;
        bool call_done;
        uint64_t call_nsec;
        int call_error;
} Bench;

static int match_ready(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Bench *b = userdata;
        uint64_t ready_at;

        if (sd_bus_message_read(m, "t", &ready_at) < 0 || b->ready_nsec != 0)
                return 0;
        b->ready_nsec = b->wake_nsec;
        b->ready_at_usec = ready_at;
        return 0;
}

typedef bool (*Condition)(const Bench *b);

static bool is_booted(const Bench *b) {
        return (b->ready_nsec != 0 && b->serial.ready_nsec != 0 && b->call_done) ||
               (b->call_done && b->call_error < 0);
}

static bool is_call_done(const Bench *b) {
        return b->call_done;
}

static bool never(const Bench *b) {
        return false;
}

static int bench_process_bus(Bench *b) {
        for (;;) {
                int r = sd_bus_process(b->bus, NULL);

                if (r < 0)
                        return log_error_errno(r, "Failed to process the bus: %m");
                if (r == 0)
                        return 0;
        }
}

/* Serves the bus and the state directory's events until done(b) or the timeout (-ETIMEDOUT). Every
 * event is stamped with the time poll() returned, the ready line and the Ready signal alike. */
static int bench_wait(Bench *b, Condition done, uint64_t timeout_nsec) {
        uint64_t deadline = now_nsec() + timeout_nsec;
        int r;

        b->wake_nsec = now_nsec();
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = sd_bus_get_fd(b->bus), .events = (short) sd_bus_get_events(b->bus) },
                        { .fd = b->serial.inotify_fd, .events = POLLIN },
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
                b->wake_nsec = now_nsec();
                if (r < 0 && errno != EINTR)
                        return log_error_errno(errno, "poll() failed: %m");
                if (r > 0 && (p[1].revents & POLLIN)) {
                        r = serial_watch_process(&b->serial, b->wake_nsec);
                        if (r < 0)
                                return r;
                }
        }
}

static int bench_pause(Bench *b, uint64_t msec) {
        int r = bench_wait(b, never, msec * NSEC_PER_MSEC);
        return r == -ETIMEDOUT ? 0 : r;
}

static int reply_call(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Bench *b = userdata;

        b->call_nsec = now_nsec();
        b->call_done = true;
        b->call_slot = sd_bus_slot_unref(b->call_slot);
        if (e)
                b->call_error = log_error_errno(sd_bus_message_get_errno(reply) ?: EIO, "%s: %s", e->name, e->message);
        return 0;
}

/* Sends a call to microvmd without waiting: the reply is taken by bench_wait(). */
static int call_async(Bench *b, const char *method, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        b->call_done = false;
        b->call_error = 0;

        r = sd_bus_message_new_method_call(b->bus, &m, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, method);
        if (r < 0)
                return log_error_errno(r, "Failed to build %s: %m", method);
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return log_error_errno(r, "Failed to build %s: %m", method);
        r = sd_bus_call_async(b->bus, &b->call_slot, m, reply_call, b, STOP_TIMEOUT_NSEC / NSEC_PER_USEC);
        if (r < 0)
                return log_error_errno(r, "Failed to send %s: %m", method);
        return 0;
}

static int vm_stop(Bench *b, double *ret_ms) {
        uint64_t t0 = now_nsec();
        int r;

        r = call_async(b, "StopVM", "st", b->opt.name, STOP_TIMEOUT_USEC);
        if (r >= 0)
                r = bench_wait(b, is_call_done, STOP_TIMEOUT_NSEC);
        if (r >= 0)
                r = b->call_error;
        if (r < 0)
                return log_error_errno(r, "StopVM %s failed: %m", b->opt.name);
        if (ret_ms)
                *ret_ms = ms_between(t0, b->call_nsec);
        return bench_pause(b, PAUSE_MSEC);
}

/* One boot: StartVM, then both the Ready signal and the ready line, seen by the same loop. */
static int vm_boot(Bench *b, Boot *boot) {
        uint64_t t0, t0_usec;
        int r;

        r = serial_watch_reset(&b->serial, b->wake_nsec = now_nsec());
        if (r < 0)
                return r;
        b->ready_nsec = b->ready_at_usec = 0;

        t0_usec = now_usec(CLOCK_REALTIME);
        t0 = now_nsec();
        r = call_async(b, "StartVM", "s", b->opt.name);
        if (r < 0)
                return r;
        r = bench_wait(b, is_booted, BOOT_TIMEOUT_NSEC);
        if (r == -ETIMEDOUT)
                return log_error_errno(r, "VM %s not ready within 60 s: Ready signal %s, ready line %s (see %s).",
                                       b->opt.name, b->ready_nsec ? "received" : "missing",
                                       b->serial.ready_nsec ? "seen" : "missing", b->serial.path);
        if (r >= 0)
                r = b->call_error;
        if (r < 0)
                return log_error_errno(r, "StartVM %s failed: %m", b->opt.name);

        boot->ready_ms = ms_between(t0, b->ready_nsec);
        boot->serial_ms = ms_between(t0, b->serial.ready_nsec);
        boot->ready_at_ms = ((double) b->ready_at_usec - (double) t0_usec) / 1000;
        return 0;
}

/* Connects straight to the agent on the unit's channel. */
static int agent_open(Bench *b) {
        int fd = -EBADF, r;

        r = agent_socket_connect(b->agent_socket, &fd);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to %s: %m", b->agent_socket);
        r = agent_bus_new(fd, &b->agent);
        if (r >= 0)
                r = sd_bus_start(b->agent);
        if (r < 0)
                return log_error_errno(r, "Failed to start a bus connection on %s: %m", b->agent_socket);
        return 0;
}

/* Leaves the channel to the unit's stop. */
static void agent_close(Bench *b) {
        b->agent = sd_bus_close_unref(b->agent);
}

/* An Exec through microvmd or straight to the agent; checks that the command exited 0 with
 * expected_stdout bytes of output and nothing on stderr. *ret_nsec: from sending the call to
 * having its whole reply. */
static int call_exec(Bench *b, bool direct, char **argv, size_t expected_stdout, uint64_t *ret_nsec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const void *out, *err;
        size_t out_size, err_size;
        int32_t status, signo;
        uint64_t t0, t1;
        int r;

        if (direct)
                r = sd_bus_message_new_method_call(b->agent, &m, /* destination= */ NULL, MVM_AGENT_PATH,
                                                   MVM_AGENT_INTERFACE, "Exec");
        else {
                r = sd_bus_message_new_method_call(b->bus, &m, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE,
                                                   "Exec");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", b->opt.name);
        }
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 0);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', NULL, 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "tt", UINT64_C(0), UINT64_C(0));
        if (r < 0)
                return log_error_errno(r, "Failed to build Exec: %m");

        t0 = now_nsec();
        r = sd_bus_call(direct ? b->agent : b->bus, m, CALL_TIMEOUT_USEC, &error, &reply);
        t1 = now_nsec();
        if (r < 0)
                return log_error_errno(r, "Exec of '%s' %s failed: %s", argv[0], direct ? "direct" : "through microvmd",
                                       bus_error_text(&error, r));

        r = sd_bus_message_read(reply, "ii", &status, &signo);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &out, &out_size);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &err, &err_size);
        if (r < 0)
                return log_error_errno(r, "Bad Exec reply: %m");
        if (status != 0 || signo != 0 || out_size != expected_stdout || err_size != 0)
                return log_error_errno(EIO, "Exec of '%s' %s: exit status %" PRIi32 ", signal %" PRIi32 ", %zu bytes "
                                       "of stdout (expected %zu), %zu of stderr%s%.*s", argv[0],
                                       direct ? "direct" : "through microvmd", status, signo, out_size,
                                       expected_stdout, err_size, err_size > 0 ? ": " : "",
                                       (int) MIN(err_size, (size_t) 200), err_size > 0 ? (const char *) err : "");
        *ret_nsec = t1 - t0;
        return 0;
}

static int call_ping(Bench *b, bool direct, uint64_t *ret_nsec) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t t0, t1;
        int r;

        t0 = now_nsec();
        if (direct)
                r = sd_bus_call_method(b->agent, /* destination= */ NULL, MVM_AGENT_PATH, MVM_AGENT_INTERFACE, "Ping",
                                       &error, NULL, NULL);
        else
                r = sd_bus_call_method(b->bus, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "Ping", &error,
                                       NULL, "s", b->opt.name);
        t1 = now_nsec();
        if (r < 0)
                return log_error_errno(r, "Ping %s failed: %s", direct ? "direct" : "through microvmd",
                                       bus_error_text(&error, r));
        *ret_nsec = t1 - t0;
        return 0;
}

static int call_kind(Bench *b, CallKind k, double *ret_ms) {
        char *true_argv[] = { (char *) "true", NULL };
        uint64_t nsec;
        int r;

        switch (k) {
        case CALL_EXEC_MICROVM:
        case CALL_EXEC_DIRECT:
                r = call_exec(b, k == CALL_EXEC_DIRECT, true_argv, 0, &nsec);
                break;
        case CALL_PING_DIRECT:
        case CALL_PING_MICROVM:
                r = call_ping(b, k == CALL_PING_DIRECT, &nsec);
                break;
        default:
                assert(false);
                r = -EINVAL;
        }
        if (r < 0)
                return r;
        *ret_ms = (double) nsec / (double) NSEC_PER_MSEC;
        return 0;
}

/* CPU time the VM's cgroup has spent throttled by its CPUQuota= so far, in µs; UINT64_MAX where
 * that is unknown. */
static uint64_t vm_throttled_usec(Bench *b) {
        uint64_t usec;
        pid_t pid;

        if (unit_main_pid(b->bus, b->unit, &pid) < 0 || cgroup_throttled_usec(pid, &usec) < 0)
                return UINT64_MAX;
        return usec;
}

static void throttled_print(uint64_t before, uint64_t after, uint64_t from_nsec) {
        if (before == UINT64_MAX || after == UINT64_MAX)
                return;
        printf("  the VM's cgroup was throttled by its CPUQuota= for %.1f ms of these %.1f s\n",
               (double) (after - before) / 1000, (double) (now_nsec() - from_nsec) / (double) NSEC_PER_SEC);
}

typedef struct Spread {
        double median, p90;
} Spread;

static Spread spread_of(const double *v, size_t n) {
        _cleanup_free_ double *copy = calloc(n, sizeof(double));
        Spread s = {};

        if (!copy)
                return s;
        memcpy(copy, v, n * sizeof(double));
        s.median = median(copy, n);
        s.p90 = quantile(copy, n, 0.90);
        return s;
}

/* Exec of "true" and Ping, each way, in rotating order call by call. */
static int bench_exec(Bench *b) {
        size_t n = b->opt.execs;
        _cleanup_free_ double *all = calloc(_CALL_KIND_MAX * n, sizeof(double));
        double *ms[_CALL_KIND_MAX], scratch;
        Spread s[_CALL_KIND_MAX];
        uint64_t throttled, t0;
        Figure f;
        int r;

        if (!all)
                return log_oom();
        for (CallKind k = 0; k < _CALL_KIND_MAX; k++)
                ms[k] = all + k * n;

        for (size_t i = 0; i < WARMUP_CALLS; i++)
                for (CallKind k = 0; k < _CALL_KIND_MAX; k++) {
                        r = call_kind(b, k, &scratch);
                        if (r < 0)
                                return r;
                }
        throttled = vm_throttled_usec(b);
        t0 = now_nsec();
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < _CALL_KIND_MAX; j++) {
                        CallKind k = (CallKind) ((i + j) % _CALL_KIND_MAX);

                        r = call_kind(b, k, &ms[k][i]);
                        if (r < 0)
                                return r;
                }

        for (CallKind k = 0; k < _CALL_KIND_MAX; k++)
                s[k] = spread_of(ms[k], n);

        printf("\nexec: Exec of \"true\" (exit 0, no output) and Ping, through microvmd and straight to the agent on\n"
               "agent-unit.sock; %zu calls of each kind, in rotating order, after %d of each unmeasured\n", n,
               WARMUP_CALLS);
        figure_print(b->summary, &(Figure) {
                .name = "Exec round trip of true", .unit = "ms", .decimals = 2,
                .value = s[CALL_EXEC_MICROVM].median, .baseline = s[CALL_EXEC_DIRECT].median,
                .target_kind = TARGET_AT_MOST, .target = TARGET_EXEC_MS,
        });
        printf("  median / p90 (ms):");
        for (CallKind k = 0; k < _CALL_KIND_MAX; k++)
                printf("%s %s %.2f / %.2f", k == 0 ? "" : ";", call_kind_label[k], s[k].median, s[k].p90);
        printf("\n");
        f = (Figure) {
                .name = "Exec through microvmd beyond the direct Exec", .unit = "ms", .decimals = 2,
                .value = s[CALL_EXEC_MICROVM].median - s[CALL_EXEC_DIRECT].median,
                .baseline = fmax(s[CALL_PING_MICROVM].median - s[CALL_PING_DIRECT].median, 0),
                .interval = true,
        };
        median_interval(ms[CALL_EXEC_MICROVM], n, ms[CALL_EXEC_DIRECT], n, /* ratio= */ false, &f.lo, &f.hi);
        figure_print(b->summary, &f);
        printf("  (median through microvmd less median direct; baseline: the same for Ping, the hop through the\n"
               "  system bus and microvmd alone)\n");
        figure_print(b->summary, &(Figure) {
                .name = "agent Ping round trip, direct", .unit = "ms", .decimals = 2,
                .value = s[CALL_PING_DIRECT].median,
        });
        printf("  (the channel alone: virtio-serial both ways and the agent's dispatch; Exec direct less it,\n"
               "  %.2f ms, is the guest starting and reaping the command)\n",
               s[CALL_EXEC_DIRECT].median - s[CALL_PING_DIRECT].median);
        throttled_print(throttled, vm_throttled_usec(b), t0);
        return 0;
}

/* Exec of a command printing 4 MiB, each way, in rotating order. */
static int bench_transfer(Bench *b) {
        char *make_argv[] = { (char *) "sh", (char *) "-c",
                              (char *) "head -c 4194304 /dev/zero >" TRANSFER_FILE, NULL };
        char *cat_argv[] = { (char *) "cat", (char *) TRANSFER_FILE, NULL };
        size_t n = b->opt.transfers;
        _cleanup_free_ double *mibs = calloc(2 * n, sizeof(double)), *ms = calloc(2 * n, sizeof(double));
        uint64_t nsec, throttled, t0;
        int r;

        if (!mibs || !ms)
                return log_oom();

        r = call_exec(b, /* direct= */ true, make_argv, 0, &nsec);
        if (r < 0)
                return r;
        /* Unmeasured: the first read of the file, and each way once. */
        for (int direct = 0; direct < 2; direct++) {
                r = call_exec(b, direct, cat_argv, TRANSFER_SIZE, &nsec);
                if (r < 0)
                        return r;
        }
        throttled = vm_throttled_usec(b);
        t0 = now_nsec();
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < 2; j++) {
                        bool direct = (i + j) % 2;
                        size_t k = direct * n + i;

                        r = call_exec(b, direct, cat_argv, TRANSFER_SIZE, &nsec);
                        if (r < 0)
                                return r;
                        ms[k] = (double) nsec / (double) NSEC_PER_MSEC;
                        mibs[k] = ((double) TRANSFER_SIZE / (1024 * 1024)) / ((double) nsec / (double) NSEC_PER_SEC);
                }

        printf("\nthroughput: Exec of \"cat %s\", a 4 MiB file in the guest's tmpfs, its stdout checked to be\n"
               "4194304 bytes each time; %zu calls of each kind, in rotating order\n", TRANSFER_FILE, n);
        figure_print(b->summary, &(Figure) {
                .name = "Exec 4 MiB stdout throughput", .unit = "MiB/s", .decimals = 1,
                .value = median(mibs, n), .baseline = median(mibs + n, n),
                .target_kind = TARGET_AT_LEAST, .target = TARGET_THROUGHPUT_MIBS,
        });
        printf("  call time, median / p90 (ms): through microvmd %.1f / %.1f; direct %.1f / %.1f\n", median(ms, n),
               quantile(ms, n, 0.90), median(ms + n, n), quantile(ms + n, n, 0.90));
        throttled_print(throttled, vm_throttled_usec(b), t0);
        return 0;
}

/* xorshift64*, as figure.c's resampling: the same sequence every run. */
static uint64_t next_random(uint64_t *state) {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        return *state * UINT64_C(2685821657736338717);
}

/* A 95 % bootstrap interval of median(a) / median(b) where a[i] and b[i] come from the same boot:
 * the boots are resampled as pairs (2000 resamples, fixed seed), so that what the two share (a slow
 * boot is slow for both) does not count as noise, as it would with median_interval(), which
 * resamples each side on its own. */
static void paired_ratio_interval(const double *a, const double *b, size_t n, double *ret_lo, double *ret_hi) {
        enum { RESAMPLES = 2000 };
        _cleanup_free_ double *stats = calloc(RESAMPLES, sizeof(double)), *x = calloc(n, sizeof(double)),
                              *y = calloc(n, sizeof(double));
        uint64_t state = UINT64_C(0x9e3779b97f4a7c15);

        if (!stats || !x || !y) {
                *ret_lo = -INFINITY;
                *ret_hi = INFINITY;
                return;
        }
        for (size_t i = 0; i < RESAMPLES; i++) {
                for (size_t j = 0; j < n; j++) {
                        size_t k = next_random(&state) % n;

                        x[j] = a[k];
                        y[j] = b[k];
                }
                stats[i] = median(x, n) / median(y, n);
        }
        *ret_lo = quantile(stats, RESAMPLES, 0.025);
        *ret_hi = quantile(stats, RESAMPLES, 0.975);
}

static void bench_report_boots(Bench *b, const Boot *boots) {
        size_t n = b->opt.boots;
        _cleanup_free_ double *ready = calloc(n, sizeof(double)), *serial = calloc(n, sizeof(double)),
                              *ready_at = calloc(n, sizeof(double)), *after = calloc(n, sizeof(double)),
                              *stop = calloc(n, sizeof(double));
        Figure f;

        if (!ready || !serial || !ready_at || !after || !stop) {
                log_oom();
                return;
        }
        for (size_t i = 0; i < n; i++) {
                ready[i] = boots[i].ready_ms;
                serial[i] = boots[i].serial_ms;
                ready_at[i] = boots[i].ready_at_ms;
                after[i] = boots[i].ready_ms - boots[i].serial_ms;
                stop[i] = boots[i].stop_ms;
        }

        printf("\nboot: StartVM asked -> the VM's Ready signal, against -> the guest's ready line in the serial log,\n"
               "both within each of %zu boots (the interval resamples the boots, each with both of its times)\n", n);
        f = (Figure) {
                .name = "StartVM to Ready against StartVM to the ready line", .unit = "ms", .decimals = 1,
                .target_kind = TARGET_RATIO_AT_MOST, .target = TARGET_READY_RATIO, .interval = true,
        };
        paired_ratio_interval(ready, serial, n, &f.lo, &f.hi);
        f.value = median(ready, n);
        f.baseline = median(serial, n);
        figure_print(b->summary, &f);
        printf("  medians (ms): Ready signal received %.1f, ReadyAt (microvmd's stamp) %.1f, ready line %.1f;\n"
               "  Ready after the ready line, per boot: median %.1f, at most %.1f; StopVM (the agent's shutdown)\n"
               "  %.1f\n",
               f.value, median(ready_at, n), f.baseline, median(after, n), quantile(after, n, 1.0), median(stop, n));
}

static int bench_run(Bench *b) {
        _cleanup_free_ Boot *boots = calloc(b->opt.boots, sizeof(Boot));
        int r;

        if (!boots)
                return log_oom();

        printf("\nper boot, in ms: StartVM -> Ready signal / -> ReadyAt / -> ready line; StopVM\n");
        for (size_t i = 0; i < b->opt.boots; i++) {
                r = vm_boot(b, &boots[i]);
                if (r < 0)
                        return r;
                printf("boot %2zu: %.1f / %.1f / %.1f", i + 1, boots[i].ready_ms, boots[i].ready_at_ms,
                       boots[i].serial_ms);
                /* The last boot stays up for the calls, and is stopped after them. */
                if (i + 1 < b->opt.boots) {
                        r = vm_stop(b, &boots[i].stop_ms);
                        if (r < 0)
                                return r;
                        printf("; %.1f", boots[i].stop_ms);
                }
                printf("\n");
        }

        r = bench_pause(b, SETTLE_MSEC);
        if (r >= 0)
                r = agent_open(b);
        if (r >= 0)
                r = bench_exec(b);
        if (r >= 0)
                r = bench_transfer(b);
        agent_close(b);
        if (r < 0)
                return r;

        r = vm_stop(b, &boots[b->opt.boots - 1].stop_ms);
        if (r < 0)
                return r;
        bench_report_boots(b, boots);
        return 0;
}

static int bench_setup(Bench *b) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *kernel = NULL, *initrd = NULL, *runtime_dir = NULL;
        int r;

        if (asprintf(&b->unit, MVM_UNIT_PREFIX "%s" MVM_UNIT_SUFFIX, b->opt.name) < 0 ||
            asprintf(&kernel, "%s/vmlinuz", b->opt.guest) < 0 ||
            asprintf(&initrd, "%s/initramfs.cpio.gz", b->opt.guest) < 0)
                return log_oom();
        if (vm_state_dir(b->opt.name, &b->state_dir) < 0 || vm_runtime_dir(b->opt.name, &runtime_dir) < 0 ||
            asprintf(&b->agent_socket, "%s/" MVM_AGENT_UNIT_SOCKET, runtime_dir) < 0)
                return log_oom();
        r = sd_bus_path_encode(MVM_VM_PATH_PREFIX, b->opt.name, &b->vm_path);
        if (r < 0)
                return log_oom();

        r = sd_bus_open_system(&b->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        /* Watched from the start: the signal comes once per boot. */
        r = sd_bus_match_signal(b->bus, &b->ready_slot, MVM_BUS_NAME, b->vm_path, MVM_VM_INTERFACE, "Ready",
                                match_ready, b);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the Ready signal: %m");

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

        printf("VM %s: %s, %s, 256 MiB, 1 vCPU, no drive, no NIC; %zu boots, %zu exec and ping calls of each kind,\n"
               "%zu 4 MiB calls of each kind\n", b->opt.name, kernel, initrd, b->opt.boots, b->opt.execs,
               b->opt.transfers);
        return 0;
}

static void bench_done(Bench *b) {
        if (b->summary)
                (void) fclose(b->summary);
        sd_bus_slot_unref(b->call_slot);
        sd_bus_slot_unref(b->ready_slot);
        sd_bus_close_unref(b->agent);
        sd_bus_flush_close_unref(b->bus);
        serial_watch_close(&b->serial);
        free(b->unit);
        free(b->vm_path);
        free(b->state_dir);
        free(b->agent_socket);
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum {
                ARG_EXECS = 0x100,
                ARG_TRANSFERS,
                ARG_BOOTS,
                ARG_NAME,
                ARG_GUEST,
                ARG_SUMMARY,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "execs", required_argument, NULL, ARG_EXECS },
                { "transfers", required_argument, NULL, ARG_TRANSFERS },
                { "boots", required_argument, NULL, ARG_BOOTS },
                { "name", required_argument, NULL, ARG_NAME },
                { "guest", required_argument, NULL, ARG_GUEST },
                { "summary", required_argument, NULL, ARG_SUMMARY },
                {}
        };
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("%s --guest DIR [--execs N] [--transfers N] [--boots N] [--name NAME]\n"
                               "    [--summary FILE]\n\n"
                               "Times the guest agent through microvmd and straight. Run it through bench/agent.\n",
                               argv[0]);
                        return 0;
                case ARG_EXECS:
                case ARG_TRANSFERS:
                case ARG_BOOTS:
                        r = parse_count(optarg, 1, 100000,
                                        c == ARG_EXECS ? &o->execs : c == ARG_TRANSFERS ? &o->transfers : &o->boots);
                        if (r < 0)
                                return log_error_errno(r, "Bad number '%s': expected 1 to 100000.", optarg);
                        break;
                case ARG_NAME:
                        o->name = optarg;
                        break;
                case ARG_GUEST:
                        o->guest = optarg;
                        break;
                case ARG_SUMMARY:
                        o->summary = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes no arguments.", argv[0]);
        if (!o->guest)
                return log_error_errno(EINVAL, "--guest is required.");
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(bench_done) Bench b = {
                .opt = {
                        .execs = 200,
                        .transfers = 20,
                        .boots = 5,
                        .name = "bench-agent",
                },
                .serial = SERIAL_WATCH_INIT,
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
