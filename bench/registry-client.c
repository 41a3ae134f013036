/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The registry benchmark's client. It runs as root in a throw-away systemd where microvm is
 * installed and the VM directory is on a real disk (bench/registry sets that up), drives
 * microvmd over the system bus, and prints each figure beside its target and a baseline
 * measured in the same run, interleaved with it:
 *
 *   CreateVM/s            raw durable writes of the same file into the same directory
 *   ListVMs, GetVM + Get  org.freedesktop.DBus.Peer.Ping to microvmd (the bus round trip)
 *   microvmd RSS          microvmd's RSS with no VM
 *   microvmd start-up     microvmd without key files, and a service that only says READY=1 */

#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "bus-names.h"
#include "figure.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "unit.h"

#define MICROVMD_UNIT           "microvmd.service"
#define BENCH_VM_FORMAT         "bench-%05zu"
#define BENCH_RAW_FORMAT        ".bench-raw-%05zu"
#define BENCH_KERNEL            "/var/lib/microvm/images/vmlinuz"
#define WARMUP_CALLS            100
#define SETTLE_USEC             50000

/* microvm's targets for its registry (bench/README.md). */
#define TARGET_CREATE_PER_SEC   2000.0
#define TARGET_LIST_MS          2.0
#define TARGET_RSS_MIB          8.0
#define TARGET_STARTUP_MS       100.0

typedef struct Options {
        size_t vms;                     /* VMs created, and key files read at start-up */
        size_t calls;                   /* latency samples per figure */
        size_t rounds;                  /* CreateVM runs of each kind */
        size_t starts;                  /* start-ups of each kind */
        size_t window;                  /* CreateVM calls in flight when pipelined */
        const char *state_dir;          /* on the disk measured: a fresh directory per run, and "empty" */
        const char *baseline_unit;      /* the service that only says READY=1 */
        const char *summary;            /* where the summary rows are appended, or NULL */
} Options;

typedef struct Bench {
        Options opt;
        sd_bus *bus;
        UnitJobs jobs;
        FILE *summary;
        char *payload;                  /* a key file as CreateVM writes it */
        size_t payload_size;
        size_t n_dirs;                  /* directories made so far under the state directory */
        bool dir_mounted;               /* one of them is mounted over the VM directory */
} Bench;

typedef struct Samples {
        uint64_t *nsec;
        size_t n;
} Samples;

static int samples_init(Samples *s, size_t capacity) {
        s->nsec = calloc(capacity, sizeof(uint64_t));
        s->n = 0;
        return s->nsec ? 0 : -ENOMEM;
}

static void samples_done(Samples *s) {
        free(s->nsec);
        s->nsec = NULL;
        s->n = 0;
}

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least q of them at or below it. */
static double samples_quantile_ms(Samples *s, double q) {
        size_t i;

        assert(s->n > 0);
        qsort(s->nsec, s->n, sizeof(uint64_t), compare_u64);
        i = (size_t) ceil(q * (double) s->n);
        i = i > 0 ? i - 1 : 0;
        return (double) s->nsec[i] / (double) NSEC_PER_MSEC;
}

static void vm_name(size_t i, char *buf, size_t size) {
        snprintf(buf, size, BENCH_VM_FORMAT, i);
}

static int call_ping(Bench *b) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(b->bus, MVM_BUS_NAME, MVM_MANAGER_PATH, PEER_IFACE, "Ping", &error, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Ping to microvmd failed: %s", bus_error_text(&error, r));
        return 0;
}

static int call_list_vms(Bench *b, sd_bus_message **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(b->bus, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "ListVMs", &error, ret,
                               NULL);
        if (r < 0)
                return log_error_errno(r, "ListVMs failed: %s", bus_error_text(&error, r));
        return 0;
}

static int list_vms_count(sd_bus_message *reply, size_t *ret) {
        const char *name, *state, *path;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(sso)");
        if (r < 0)
                return log_error_errno(r, "Bad ListVMs reply: %m");
        while ((r = sd_bus_message_read(reply, "(sso)", &name, &state, &path)) > 0)
                n++;
        if (r < 0)
                return log_error_errno(r, "Bad ListVMs reply: %m");
        *ret = n;
        return 0;
}

/* GetVM, then one property of the object it names: what a client does to read a VM. */
static int call_get_vm_property(Bench *b, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *value = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *path;
        uint64_t memory;
        int r;

        r = sd_bus_call_method(b->bus, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "GetVM", &error, &reply,
                               "s", name);
        if (r < 0)
                return log_error_errno(r, "GetVM %s failed: %s", name, bus_error_text(&error, r));
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_error_errno(r, "Bad GetVM reply: %m");

        r = sd_bus_call_method(b->bus, MVM_BUS_NAME, path, PROPERTIES_IFACE, "Get", &error, &value, "ss",
                               MVM_VM_INTERFACE, "MemoryMiB");
        if (r < 0)
                return log_error_errno(r, "Get MemoryMiB of %s failed: %s", path, bus_error_text(&error, r));
        r = sd_bus_message_read(value, "v", "t", &memory);
        if (r < 0)
                return log_error_errno(r, "Bad Get reply: %m");
        return 0;
}

/* Several calls in flight: each reply frees a place in the window for the next call. */
typedef int (*BuildCall)(Bench *b, size_t i, sd_bus_message **ret);

typedef struct Pipeline {
        size_t in_flight;
        size_t done;
        int error;      /* the first failure */
} Pipeline;

static int pipeline_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Pipeline *p = userdata;

        p->in_flight--;
        p->done++;
        if (e && p->error >= 0)
                p->error = log_error_errno(sd_bus_message_get_errno(reply), "%s: %s", e->name, e->message);
        return 0;
}

static int pipeline_run(Bench *b, size_t n, size_t window, BuildCall build, uint64_t *ret_nsec) {
        Pipeline p = {};
        size_t sent = 0;
        uint64_t start;
        int r;

        start = now_nsec();
        while (p.done < sent || (sent < n && p.error >= 0)) {
                while (p.in_flight < window && sent < n && p.error >= 0) {
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;

                        r = build(b, sent, &call);
                        if (r < 0)
                                return log_error_errno(r, "Failed to build a call: %m");
                        /* A floating slot: the reply callback runs even though nobody holds it. */
                        r = sd_bus_call_async(b->bus, NULL, call, pipeline_reply, &p, /* usec= */ 0);
                        if (r < 0)
                                return log_error_errno(r, "Failed to send a call: %m");
                        sent++;
                        p.in_flight++;
                }

                r = sd_bus_process(b->bus, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to process the bus: %m");
                if (r > 0)
                        continue;
                r = sd_bus_wait(b->bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return log_error_errno(r, "Failed to wait for the bus: %m");
        }
        if (p.error < 0)
                return p.error;

        *ret_nsec = now_nsec() - start;
        return 0;
}

static int build_create_vm(Bench *b, size_t i, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char name[32];
        int r;

        vm_name(i, name, sizeof(name));
        r = sd_bus_message_new_method_call(b->bus, &m, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE,
                                           "CreateVM");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "sa{sv}", name, 3,
                                  "Kernel", "s", BENCH_KERNEL,
                                  "MemoryMiB", "t", UINT64_C(256),
                                  "VCPUs", "u", UINT32_C(2));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int build_delete_vm(Bench *b, size_t i, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char name[32];
        int r;

        vm_name(i, name, sizeof(name));
        r = sd_bus_message_new_method_call(b->bus, &m, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE,
                                           "DeleteVM");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int microvmd_rss_mib(Bench *b, double *ret) {
        uint64_t kib;
        pid_t pid = 0;
        int r;

        r = unit_main_pid(b->bus, MICROVMD_UNIT, &pid);
        if (r < 0)
                return r;
        r = process_rss_kib(pid, &kib);
        if (r < 0)
                return r;
        *ret = (double) kib / 1024;
        return 0;
}

static int bench_list_once(Bench *b) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        size_t n;
        int r;

        r = call_list_vms(b, &reply);
        if (r < 0)
                return r;
        r = list_vms_count(reply, &n);
        if (r < 0)
                return r;
        if (n != b->opt.vms)
                return log_error_errno(EBADMSG, "microvmd loaded %zu VMs, expected %zu.", n, b->opt.vms);
        return 0;
}

/* Starts microvmd afresh, with whatever the VM directory holds. */
static int microvmd_restart(Bench *b) {
        int r;

        r = unit_job(&b->jobs, "StopUnit", MICROVMD_UNIT, NULL);
        if (r < 0)
                return r;
        return unit_job(&b->jobs, "StartUnit", MICROVMD_UNIT, NULL);
}

/* Lets systemd finish what a mount or a stop left it to do (it reacts to every change of the mount
 * table), so that none of it is counted in the next start-up. */
static int systemd_settle(Bench *b) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(b->bus, SYSTEMD_BUS_NAME, SYSTEMD_PATH, PEER_IFACE, "Ping", &error, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Ping to systemd failed: %s", bus_error_text(&error, r));
        (void) usleep(SETTLE_USEC);
        return 0;
}

/* The floor of CreateVM: a durable write of the same bytes into a directory like microvmd's
 * (temporary file, fsync, rename, fsync of the directory), and nothing else. */
static int raw_write(Bench *b, const char *dir, size_t i) {
        _cleanup_free_ char *tmp = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF, dir_fd = -EBADF;
        int r;

        if (asprintf(&path, "%s/" BENCH_RAW_FORMAT, dir, i) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0) {
                tmp = NULL;
                return -ENOMEM;
        }

        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = write_full(fd, b->payload, b->payload_size);
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = negative_errno();
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && rename(tmp, path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }

        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return negative_errno();
        if (fsync(dir_fd) < 0)
                return negative_errno();
        return 0;
}

/* A new, empty directory under the state directory. Every run writes into its own and nothing
 * is deleted until the end: on ext4 without a journal, each inode freed in the last minutes is
 * skipped, one by one, by every later file creation in its group, so deleting between runs
 * would slow down the next ones. */
static int dir_new(Bench *b, char **ret) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/run-%zu", b->opt.state_dir, b->n_dirs++) < 0) {
                path = NULL;
                return log_oom();
        }
        if (mkdir(path, 0755) < 0)
                return log_error_errno(errno, "Failed to create %s: %m", path);
        *ret = TAKE_PTR(path);
        return 0;
}

static int raw_write_run(Bench *b, double *ret_per_sec) {
        _cleanup_free_ char *dir = NULL;
        uint64_t start, elapsed;
        int r;

        r = dir_new(b, &dir);
        if (r < 0)
                return r;

        start = now_nsec();
        for (size_t i = 0; i < b->opt.vms; i++) {
                r = raw_write(b, dir, i);
                if (r < 0)
                        return log_error_errno(r, "Failed to write into %s: %m", dir);
        }
        elapsed = now_nsec() - start;

        *ret_per_sec = (double) b->opt.vms * (double) NSEC_PER_SEC / (double) elapsed;
        return 0;
}

/* Runs a fresh microvmd on a fresh VM directory, which stays mounted until the next one. */
static int microvmd_restart_on_new_dir(Bench *b) {
        _cleanup_free_ char *dir = NULL;
        int r;

        r = dir_new(b, &dir);
        if (r < 0)
                return r;
        r = unit_job(&b->jobs, "StopUnit", MICROVMD_UNIT, NULL);
        if (r < 0)
                return r;
        if (b->dir_mounted) {
                if (umount2(MVM_CONFIG_DIR, 0) < 0)
                        return log_error_errno(errno, "Failed to unmount %s: %m", MVM_CONFIG_DIR);
                b->dir_mounted = false;
        }
        if (mount(dir, MVM_CONFIG_DIR, NULL, MS_BIND, NULL) < 0)
                return log_error_errno(errno, "Failed to mount %s on %s: %m", dir, MVM_CONFIG_DIR);
        b->dir_mounted = true;

        r = systemd_settle(b);
        if (r < 0)
                return r;
        return unit_job(&b->jobs, "StartUnit", MICROVMD_UNIT, NULL);
}

static int create_run(Bench *b, size_t window, double *ret_per_sec) {
        uint64_t elapsed = 0;
        int r;

        r = microvmd_restart_on_new_dir(b);
        if (r < 0)
                return r;

        r = pipeline_run(b, b->opt.vms, window, build_create_vm, &elapsed);
        if (r < 0)
                return log_error_errno(r, "CreateVM failed: %m");
        *ret_per_sec = (double) b->opt.vms * (double) NSEC_PER_SEC / (double) elapsed;
        return 0;
}

/* Reads what CreateVM writes for one VM, so that the raw writes write the same bytes. */
static int probe_key_file(Bench *b) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t elapsed = 0;
        struct stat st;
        ssize_t k;
        int r;

        r = pipeline_run(b, 1, 1, build_create_vm, &elapsed);
        if (r < 0)
                return log_error_errno(r, "CreateVM failed: %m");

        if (asprintf(&path, "%s/" BENCH_VM_FORMAT "%s", MVM_CONFIG_DIR, (size_t) 0, MVM_CONFIG_SUFFIX) < 0) {
                path = NULL;
                return log_oom();
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return log_error_errno(errno, "Failed to open %s: %m", path);
        b->payload = malloc((size_t) st.st_size + 1);
        if (!b->payload)
                return log_oom();
        k = read(fd, b->payload, (size_t) st.st_size);
        if (k != st.st_size)
                return log_error_errno(k < 0 ? errno : EIO, "Failed to read %s: %m", path);
        b->payload_size = (size_t) k;

        r = pipeline_run(b, 1, 1, build_delete_vm, &elapsed);
        if (r < 0)
                return log_error_errno(r, "DeleteVM failed: %m");
        return 0;
}

/* Interleaved Ping and ListVMs. */
static int bench_list(Bench *b, size_t expected, TargetKind target_kind) {
        _cleanup_(samples_done) Samples list = {}, ping = {};
        char name50[64], name99[64];
        int r;

        if (samples_init(&list, b->opt.calls) < 0 || samples_init(&ping, b->opt.calls) < 0)
                return log_oom();

        for (size_t i = 0; i < WARMUP_CALLS + b->opt.calls; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                uint64_t t0, t1, t2;

                t0 = now_nsec();
                r = call_ping(b);
                if (r < 0)
                        return r;
                t1 = now_nsec();
                r = call_list_vms(b, &reply);
                if (r < 0)
                        return r;
                t2 = now_nsec();

                if (i == 0) {
                        size_t n;

                        r = list_vms_count(reply, &n);
                        if (r < 0)
                                return r;
                        if (n != expected)
                                return log_error_errno(EBADMSG, "ListVMs returned %zu VMs, expected %zu.", n,
                                                       expected);
                }
                if (i < WARMUP_CALLS)
                        continue;
                ping.nsec[ping.n++] = t1 - t0;
                list.nsec[list.n++] = t2 - t1;
        }

        snprintf(name50, sizeof(name50), "ListVMs(%zu) p50", expected);
        snprintf(name99, sizeof(name99), "ListVMs(%zu) p99", expected);
        figure_print(b->summary, &(Figure) {
                .name = name50, .unit = "ms", .decimals = 3,
                .value = samples_quantile_ms(&list, 0.50), .baseline = samples_quantile_ms(&ping, 0.50),
                .target_kind = target_kind, .target = TARGET_LIST_MS,
        });
        figure_print(b->summary, &(Figure) {
                .name = name99, .unit = "ms", .decimals = 3,
                .value = samples_quantile_ms(&list, 0.99), .baseline = samples_quantile_ms(&ping, 0.99),
                .target_kind = target_kind, .target = TARGET_LIST_MS,
        });
        return 0;
}

/* Interleaved GetVM + Get and two Pings (the same number of round trips). */
static int bench_get(Bench *b) {
        _cleanup_(samples_done) Samples get = {}, ping = {};
        int r;

        if (samples_init(&get, b->opt.calls) < 0 || samples_init(&ping, b->opt.calls) < 0)
                return log_oom();

        for (size_t i = 0; i < WARMUP_CALLS + b->opt.calls; i++) {
                uint64_t t0, t1, t2;
                char name[32];

                vm_name((i * 7919) % b->opt.vms, name, sizeof(name));
                t0 = now_nsec();
                r = call_ping(b);
                if (r >= 0)
                        r = call_ping(b);
                if (r < 0)
                        return r;
                t1 = now_nsec();
                r = call_get_vm_property(b, name);
                if (r < 0)
                        return r;
                t2 = now_nsec();

                if (i < WARMUP_CALLS)
                        continue;
                ping.nsec[ping.n++] = t1 - t0;
                get.nsec[get.n++] = t2 - t1;
        }

        figure_print(b->summary, &(Figure) {
                .name = "GetVM + Get(MemoryMiB) p50", .unit = "ms", .decimals = 3,
                .value = samples_quantile_ms(&get, 0.50), .baseline = samples_quantile_ms(&ping, 0.50),
        });
        figure_print(b->summary, &(Figure) {
                .name = "GetVM + Get(MemoryMiB) p99", .unit = "ms", .decimals = 3,
                .value = samples_quantile_ms(&get, 0.99), .baseline = samples_quantile_ms(&ping, 0.99),
        });
        return 0;
}

typedef enum RunKind {
        RUN_RAW,
        RUN_PIPELINED,
        RUN_SERIAL,
        _RUN_KIND_MAX,
} RunKind;

/* Rounds of one run of each kind, in a rotating order so that none is always first; each run
 * in a fresh directory. The last CreateVM run's microvmd and VMs stay. */
static int bench_create(Bench *b) {
        _cleanup_free_ double *rates = NULL;
        double med[_RUN_KIND_MAX];
        char name[64];
        int r;

        rates = calloc(_RUN_KIND_MAX * b->opt.rounds, sizeof(double));
        if (!rates)
                return log_oom();

        for (size_t round = 0; round < b->opt.rounds; round++)
                for (size_t j = 0; j < _RUN_KIND_MAX; j++) {
                        RunKind kind = (RunKind) ((round + j) % _RUN_KIND_MAX);
                        double *rate = &rates[kind * b->opt.rounds + round];

                        switch (kind) {
                        case RUN_RAW:
                                r = raw_write_run(b, rate);
                                break;
                        case RUN_PIPELINED:
                                r = create_run(b, b->opt.window, rate);
                                break;
                        case RUN_SERIAL:
                                r = create_run(b, 1, rate);
                                break;
                        default:
                                assert(false);
                                r = -EINVAL;
                        }
                        if (r < 0)
                                return r;
                }

        for (RunKind k = 0; k < _RUN_KIND_MAX; k++)
                med[k] = median(rates + k * b->opt.rounds, b->opt.rounds);

        snprintf(name, sizeof(name), "CreateVM x%zu, %zu in flight", b->opt.vms, b->opt.window);
        figure_print(b->summary, &(Figure) {
                .name = name, .unit = "/s", .decimals = 0,
                .value = med[RUN_PIPELINED], .baseline = med[RUN_RAW],
                .target_kind = TARGET_AT_LEAST, .target = TARGET_CREATE_PER_SEC,
        });
        snprintf(name, sizeof(name), "CreateVM x%zu, one at a time", b->opt.vms);
        figure_print(b->summary, &(Figure) {
                .name = name, .unit = "/s", .decimals = 0,
                .value = med[RUN_SERIAL], .baseline = med[RUN_RAW],
        });
        snprintf(name, sizeof(name), "raw durable writes x%zu", b->opt.vms);
        figure_print(b->summary, &(Figure) {
                .name = name, .unit = "/s", .decimals = 0, .value = med[RUN_RAW],
        });
        return 0;
}

typedef enum StartKind {
        START_MICROVMD_FULL,
        START_MICROVMD_EMPTY,
        START_TRIVIAL,
        _START_KIND_MAX,
} StartKind;

typedef struct StartTimes {
        double job_ms;          /* StartUnit sent → its job done (what systemctl start waits for) */
        double exec_ms;         /* main process forked → READY=1 (the unit became active) */
} StartTimes;

static int start_once(Bench *b, StartKind kind, StartTimes *ret) {
        const char *unit = kind == START_TRIVIAL ? b->opt.baseline_unit : MICROVMD_UNIT;
        uint64_t job_nsec = 0, exec_usec = 0, active_usec = 0;
        _cleanup_free_ char *empty = NULL;
        bool mounted = false;
        int r;

        if (kind == START_MICROVMD_EMPTY) {
                if (asprintf(&empty, "%s/empty", b->opt.state_dir) < 0) {
                        empty = NULL;
                        return log_oom();
                }
                if (mkdir(empty, 0755) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create %s: %m", empty);
                if (mount(empty, MVM_CONFIG_DIR, NULL, MS_BIND, NULL) < 0)
                        return log_error_errno(errno, "Failed to mount %s on %s: %m", empty, MVM_CONFIG_DIR);
                mounted = true;
        }

        r = systemd_settle(b);
        if (r >= 0)
                r = unit_job(&b->jobs, "StartUnit", unit, &job_nsec);
        if (r >= 0)
                r = unit_get_u64(b->bus, unit, SYSTEMD_SERVICE_IFACE, "ExecMainStartTimestampMonotonic", &exec_usec);
        if (r >= 0)
                r = unit_get_u64(b->bus, unit, SYSTEMD_UNIT_IFACE, "ActiveEnterTimestampMonotonic", &active_usec);
        if (r >= 0)
                r = unit_job(&b->jobs, "StopUnit", unit, NULL);

        if (mounted && umount2(MVM_CONFIG_DIR, 0) < 0 && r >= 0)
                r = log_error_errno(errno, "Failed to unmount %s: %m", MVM_CONFIG_DIR);
        if (r < 0)
                return r;

        ret->job_ms = (double) job_nsec / (double) NSEC_PER_MSEC;
        ret->exec_ms = (double) (active_usec - exec_usec) / 1000.0;
        return 0;
}

static int bench_startup(Bench *b) {
        _cleanup_free_ double *job = NULL, *exec = NULL;
        double job_med[_START_KIND_MAX], exec_med[_START_KIND_MAX];
        char name[96];
        int r;

        job = calloc(_START_KIND_MAX * b->opt.starts, sizeof(double));
        exec = calloc(_START_KIND_MAX * b->opt.starts, sizeof(double));
        if (!job || !exec)
                return log_oom();

        r = unit_job(&b->jobs, "StopUnit", MICROVMD_UNIT, NULL);
        if (r < 0)
                return r;

        for (size_t i = 0; i < b->opt.starts; i++)
                for (StartKind k = 0; k < _START_KIND_MAX; k++) {
                        StartTimes t;

                        r = start_once(b, k, &t);
                        if (r < 0)
                                return r;
                        job[k * b->opt.starts + i] = t.job_ms;
                        exec[k * b->opt.starts + i] = t.exec_ms;
                }

        for (StartKind k = 0; k < _START_KIND_MAX; k++) {
                job_med[k] = median(job + k * b->opt.starts, b->opt.starts);
                exec_med[k] = median(exec + k * b->opt.starts, b->opt.starts);
        }

        snprintf(name, sizeof(name), "start-up, %zu key files, StartUnit to ready", b->opt.vms);
        figure_print(b->summary, &(Figure) {
                .name = name, .unit = "ms", .decimals = 1,
                .value = job_med[START_MICROVMD_FULL], .baseline = job_med[START_MICROVMD_EMPTY],
                .target_kind = TARGET_AT_MOST, .target = TARGET_STARTUP_MS,
        });
        snprintf(name, sizeof(name), "start-up, %zu key files, exec to READY=1", b->opt.vms);
        figure_print(b->summary, &(Figure) {
                .name = name, .unit = "ms", .decimals = 1,
                .value = exec_med[START_MICROVMD_FULL], .baseline = exec_med[START_MICROVMD_EMPTY],
                .target_kind = TARGET_AT_MOST, .target = TARGET_STARTUP_MS,
        });
        figure_print(b->summary, &(Figure) {
                .name = "start-up, no key file, StartUnit to ready", .unit = "ms", .decimals = 1,
                .value = job_med[START_MICROVMD_EMPTY], .baseline = job_med[START_TRIVIAL],
        });
        figure_print(b->summary, &(Figure) {
                .name = "start-up, no key file, exec to READY=1", .unit = "ms", .decimals = 1,
                .value = exec_med[START_MICROVMD_EMPTY], .baseline = exec_med[START_TRIVIAL],
        });
        figure_print(b->summary, &(Figure) {
                .name = "start-up, trivial notify service, StartUnit to ready", .unit = "ms", .decimals = 1,
                .value = job_med[START_TRIVIAL],
        });
        figure_print(b->summary, &(Figure) {
                .name = "start-up cost per key file", .unit = "us", .decimals = 1,
                .value = (exec_med[START_MICROVMD_FULL] - exec_med[START_MICROVMD_EMPTY]) * 1000.0 /
                         (double) b->opt.vms,
        });
        return 0;
}

static int bench_rss_figures(Bench *b, double rss_empty, double rss_created, double rss_loaded) {
        char name[64];

        figure_print(b->summary, &(Figure) {
                .name = "RSS(0)", .unit = "MiB", .decimals = 2, .value = rss_empty,
        });
        snprintf(name, sizeof(name), "RSS(%zu) after CreateVM", b->opt.vms);
        figure_print(b->summary, &(Figure) {
                .name = name, .unit = "MiB", .decimals = 2, .value = rss_created, .baseline = rss_empty,
                .target_kind = TARGET_AT_MOST, .target = TARGET_RSS_MIB,
        });
        snprintf(name, sizeof(name), "RSS(%zu) loaded at start-up", b->opt.vms);
        figure_print(b->summary, &(Figure) {
                .name = name, .unit = "MiB", .decimals = 2, .value = rss_loaded, .baseline = rss_empty,
                .target_kind = TARGET_AT_MOST, .target = TARGET_RSS_MIB,
        });
        figure_print(b->summary, &(Figure) {
                .name = "RSS per VM", .unit = "KiB", .decimals = 2,
                .value = (fmax(rss_created, rss_loaded) - rss_empty) * 1024 / (double) b->opt.vms,
        });
        return 0;
}

static int bench_run(Bench *b) {
        double rss_empty, rss_created, rss_loaded;
        int r;

        /* A fresh daemon with no VM: RSS and ListVMs at 0. */
        r = microvmd_restart(b);
        if (r < 0)
                return r;
        r = bench_list(b, 0, TARGET_NONE);
        if (r < 0)
                return r;
        r = microvmd_rss_mib(b, &rss_empty);
        if (r < 0)
                return r;

        r = probe_key_file(b);
        if (r < 0)
                return r;
        printf("baselines: CreateVM: the same %zu-byte durable write (temporary file, fsync, rename, fsync of\n"
               "           the directory) by a plain loop, each run in a fresh directory on the same disk;\n"
               "           ListVMs: Peer.Ping to microvmd; GetVM + Get: two Pings; RSS: microvmd with no VM;\n"
               "           start-up: microvmd with no key file, and that against a service that only sends READY=1\n",
               b->payload_size);

        r = bench_create(b);
        if (r < 0)
                return r;
        r = bench_list(b, b->opt.vms, TARGET_AT_MOST);
        if (r < 0)
                return r;
        r = bench_get(b);
        if (r < 0)
                return r;
        r = microvmd_rss_mib(b, &rss_created);
        if (r < 0)
                return r;

        r = bench_startup(b);
        if (r < 0)
                return r;

        /* The same VMs read from their key files by a fresh daemon, after one ListVMs. */
        r = unit_job(&b->jobs, "StartUnit", MICROVMD_UNIT, NULL);
        if (r < 0)
                return r;
        r = bench_list_once(b);
        if (r < 0)
                return r;
        r = microvmd_rss_mib(b, &rss_loaded);
        if (r < 0)
                return r;

        return bench_rss_figures(b, rss_empty, rss_created, rss_loaded);
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum {
                ARG_VMS = 0x100,
                ARG_CALLS,
                ARG_ROUNDS,
                ARG_STARTS,
                ARG_WINDOW,
                ARG_STATE_DIR,
                ARG_BASELINE_UNIT,
                ARG_SUMMARY,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "vms", required_argument, NULL, ARG_VMS },
                { "calls", required_argument, NULL, ARG_CALLS },
                { "rounds", required_argument, NULL, ARG_ROUNDS },
                { "starts", required_argument, NULL, ARG_STARTS },
                { "window", required_argument, NULL, ARG_WINDOW },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "baseline-unit", required_argument, NULL, ARG_BASELINE_UNIT },
                { "summary", required_argument, NULL, ARG_SUMMARY },
                {}
        };
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("%s --state-dir DIR --baseline-unit UNIT [--vms N] [--calls N] [--rounds N]\n"
                               "    [--starts N] [--window N] [--summary FILE]\n\n"
                               "Measures microvmd on the system bus. Run it through bench/registry.\n", argv[0]);
                        return 0;
                case ARG_VMS:
                        r = parse_count(optarg, 1, 1000000, &o->vms);
                        break;
                case ARG_CALLS:
                        r = parse_count(optarg, 1, 1000000, &o->calls);
                        break;
                case ARG_ROUNDS:
                        r = parse_count(optarg, 1, 1000000, &o->rounds);
                        break;
                case ARG_STARTS:
                        r = parse_count(optarg, 1, 1000000, &o->starts);
                        break;
                case ARG_WINDOW:
                        r = parse_count(optarg, 1, 1000000, &o->window);
                        break;
                case ARG_STATE_DIR:
                        o->state_dir = optarg;
                        break;
                case ARG_BASELINE_UNIT:
                        o->baseline_unit = optarg;
                        break;
                case ARG_SUMMARY:
                        o->summary = optarg;
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0)
                        return log_error_errno(r, "Bad number '%s': expected a count from 1 to 1000000.", optarg);
        }

        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes no arguments.", argv[0]);
        if (!o->state_dir || !o->baseline_unit)
                return log_error_errno(EINVAL, "--state-dir and --baseline-unit are required.");
        return 1;
}

static void bench_done(Bench *b) {
        if (b->summary)
                (void) fclose(b->summary);
        unit_jobs_done(&b->jobs);
        sd_bus_flush_close_unref(b->bus);
        free(b->payload);
}

static int bench_connect(Bench *b) {
        int r;

        r = sd_bus_open_system(&b->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        return unit_jobs_watch(&b->jobs, b->bus);
}

int main(int argc, char *argv[]) {
        _cleanup_(bench_done) Bench b = {
                .opt = {
                        .vms = 1000,
                        .calls = 2000,
                        .rounds = 3,
                        .starts = 10,
                        .window = 16,
                },
        };
        int r;

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

        r = bench_connect(&b);
        if (r < 0)
                return EXIT_FAILURE;
        r = bench_run(&b);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
