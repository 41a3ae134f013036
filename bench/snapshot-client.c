/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The snapshot benchmark's client. It runs as root in a throw-away systemd where microvm is
 * installed (bench/snapshot sets that up), defines one VM with the test guest, boots it, and boots
 * the same QEMU command line run directly beside it (its sockets and serial log moved to a directory
 * of its own). Both stay up, and each operation is taken on both in turn, round by round, in
 * alternating order:
 *
 *   pause, resume   PauseVM and ResumeVM, against QMP "stop" and "cont" on an open QMP connection
 *   console         OpenConsole to the first replayed byte on its descriptor, against connect() to
 *                   the direct QEMU's serial socket, a byte written and the guest's echo of it read
 *   snapshot        SnapshotVM of the running guest, against QMP "stop", "migrate-set-parameters"
 *                   (max-bandwidth 10 GiB/s), "getfd" and "migrate" to that file, the MIGRATION
 *                   event "completed" (and the run state out of "finish-migrate"), "cont"
 *   restore         RestoreVM of the stopped VM to its reply (its unit started, the VM running),
 *                   against fork+exec of QEMU with "-incoming defer", "migrate-incoming" from the
 *                   file's descriptor, the MIGRATION event "completed", "cont"
 *
 * Each restored guest is stopped through its power button before the next restore, and the guest's
 * own shutdown line is checked in its serial log: a restore that left no working guest fails. */

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "backend.h"
#include "bus-names.h"
#include "cgroup.h"
#include "figure.h"
#include "log.h"
#include "macro.h"
#include "serial-watch.h"
#include "strv.h"
#include "unit.h"
#include "vm-files.h"

#define BOOT_TIMEOUT_NSEC       (60 * NSEC_PER_SEC)
#define STOP_TIMEOUT_NSEC       (60 * NSEC_PER_SEC)
#define STOP_TIMEOUT_USEC       UINT64_C(30000000)
#define CALL_TIMEOUT_USEC       UINT64_C(60000000)
#define QMP_TIMEOUT_NSEC        (30 * NSEC_PER_SEC)
#define CONSOLE_TIMEOUT_MSEC    5000
/* After the ready line: the guest's init finishes its setup. */
#define SETTLE_MSEC             500
/* Between a stop and the next start: systemd finishes with the stopped unit. */
#define PAUSE_MSEC              200
/* Between two calls: what one started (a console closing, a resumed guest) settles. */
#define GAP_MSEC                20
#define SHUTDOWN_MARKER         "microvm-guest: power button, shutting down"
/* QEMU's migration bandwidth limit is 128 MiB/s by default: 90 MiB would take 0.7 s. */
#define MAX_BANDWIDTH           UINT64_C(10737418240)

/* microvm's targets (bench/README.md). */
#define TARGET_SNAPSHOT_MS      150.0
#define TARGET_RESTORE_MS       250.0
#define TARGET_CONSOLE_MS       5.0
#define TARGET_PAUSE_MS         2.0

typedef enum Kind {
        KIND_PAUSE,
        KIND_RESUME,
        KIND_CONSOLE,
        KIND_SNAPSHOT,
        KIND_RESTORE,
        _KIND_MAX,
} Kind;

typedef struct Options {
        size_t calls;                   /* timed pauses, resumes and console attaches of each way */
        size_t snapshots;               /* timed snapshots and restores of each way */
        const char *name;               /* the VM */
        const char *guest;              /* directory with vmlinuz and initramfs.cpio.gz */
        const char *scratch;            /* the direct QEMU's files */
        const char *snapshot_dir;       /* the snapshots; the scratch directory if NULL */
        const char *summary;            /* where the summary rows are appended, or NULL */
} Options;

/* A QMP connection, read as a stream of JSON objects; the status of the last MIGRATION event is
 * kept. */
typedef struct Qmp {
        int fd;
        json_tokener *tok;
        char buf[16384];
        size_t off, len;
        char migration[32];
} Qmp;

#define QMP_INIT { .fd = -EBADF }

typedef struct Bench {
        Options opt;
        sd_bus *bus;
        FILE *summary;
        char *unit;                     /* microvm@NAME.service */
        char *vm_path;
        char *state_dir;                /* /var/lib/microvm/NAME: the serial log */
        char *snapshot;                 /* SNAPSHOT_DIR/microvm.snapshot, written by microvmd */

        /* The QEMU run directly: microvm's command line with its files in SCRATCH/direct. */
        char **direct_argv;
        char *direct_dir;
        char *direct_qmp_socket;
        char *direct_serial_socket;
        char *direct_log;               /* QEMU's own output */
        char *direct_snapshot;          /* SNAPSHOT_DIR/direct.snapshot */
        pid_t direct_pid;
        Qmp qmp;

        SerialWatch serial;             /* microvm's VM */
        SerialWatch direct_serial;

        /* ms[kind][0..n) microvm, ms[kind][n..2n) direct */
        double *ms[_KIND_MAX];
        size_t replayed_min, replayed_max;      /* bytes of the console's replay */
        double *direct_fsync_ms;        /* fsync of each direct snapshot, after its timing */
        double *restore_throttled_ms;   /* the VM's cgroup throttled during each RestoreVM; < 0: unknown */
        uint64_t snapshot_size, direct_snapshot_size, meta_size;
        uint64_t throttled_usec;        /* the VM's cgroup during the snapshots; UINT64_MAX: unknown */
} Bench;

static void sleep_msec(uint64_t msec) {
        struct timespec ts = { .tv_sec = (time_t) (msec / 1000), .tv_nsec = (long) (msec % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* ---- QMP ---- */

static void qmp_close(Qmp *q) {
        closep(&q->fd);
        if (q->tok)
                json_tokener_free(q->tok);
        q->tok = NULL;
        q->off = q->len = 0;
        q->migration[0] = '\0';
}

/* The next JSON object QEMU sends, event or reply. */
static int qmp_next(Qmp *q, uint64_t deadline, json_object **ret) {
        for (;;) {
                struct pollfd p = { .fd = q->fd, .events = POLLIN };
                uint64_t now;
                ssize_t n;
                int r;

                while (q->off < q->len) {
                        json_object *o = json_tokener_parse_ex(q->tok, q->buf + q->off, (int) (q->len - q->off));
                        enum json_tokener_error e = json_tokener_get_error(q->tok);

                        if (e == json_tokener_continue) {
                                q->off = q->len;
                                break;
                        }
                        if (e != json_tokener_success)
                                return log_error_errno(EBADMSG, "Bad JSON from QEMU: %s", json_tokener_error_desc(e));
                        q->off += json_tokener_get_parse_end(q->tok);
                        json_tokener_reset(q->tok);
                        /* Whitespace between messages parses as nothing. */
                        if (!o)
                                continue;
                        *ret = o;
                        return 0;
                }
                q->off = q->len = 0;

                now = now_nsec();
                if (now >= deadline)
                        return log_error_errno(ETIMEDOUT, "QEMU did not answer on QMP in time.");
                r = poll(&p, 1, (int) ((deadline - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC));
                if (r < 0 && errno != EINTR)
                        return log_error_errno(errno, "poll() failed: %m");
                if (r <= 0)
                        continue;
                n = recv(q->fd, q->buf, sizeof(q->buf), MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        return log_error_errno(errno, "Failed to read from QMP: %m");
                }
                if (n == 0)
                        return log_error_errno(ECONNRESET, "QEMU closed its QMP connection.");
                q->len = (size_t) n;
        }
}

/* Takes an event: a MIGRATION event's status is kept. Returns whether o was an event. */
static bool qmp_event(Qmp *q, json_object *o) {
        json_object *event, *data, *status;

        if (!json_object_object_get_ex(o, "event", &event))
                return false;
        if (streq(json_object_get_string(event), "MIGRATION") && json_object_object_get_ex(o, "data", &data) &&
            json_object_object_get_ex(data, "status", &status))
                snprintf(q->migration, sizeof(q->migration), "%s", json_object_get_string(status));
        return true;
}

/* Sends command (a JSON object) with fd attached if fd >= 0, and waits for its reply: ret, if not
 * NULL, gets its "return" value (json_object_put() it). -EIO when QEMU answered "error". */
static int qmp_call(Qmp *q, const char *command, int fd, json_object **ret) {
        char control[CMSG_SPACE(sizeof(int))] = {};
        struct iovec iov = { .iov_base = (char *) command, .iov_len = strlen(command) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        uint64_t deadline = now_nsec() + QMP_TIMEOUT_NSEC;
        json_object *reply = NULL, *value;
        ssize_t n;
        int r;

        if (fd >= 0) {
                struct cmsghdr *c;

                mh.msg_control = control;
                mh.msg_controllen = sizeof(control);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        n = sendmsg(q->fd, &mh, MSG_NOSIGNAL);
        if (n < 0)
                return log_error_errno(errno, "Failed to send %s to QEMU: %m", command);
        if ((size_t) n != iov.iov_len)
                return log_error_errno(EIO, "Short write of %s to QEMU.", command);

        for (;;) {
                r = qmp_next(q, deadline, &reply);
                if (r < 0)
                        return r;
                if (!qmp_event(q, reply))
                        break;
                json_object_put(reply);
        }
        if (json_object_object_get_ex(reply, "error", &value)) {
                log_error("QMP %s failed: %s", command, json_object_to_json_string(value));
                json_object_put(reply);
                return -EIO;
        }
        if (ret)
                *ret = json_object_object_get_ex(reply, "return", &value) ? json_object_get(value) : NULL;
        json_object_put(reply);
        return 0;
}

/* Connects to QMP at path and negotiates; with retry, until QEMU listens there (it was just
 * started), checking again every 0.2 ms. */
static int qmp_open(Qmp *q, const char *path, bool retry) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t deadline = now_nsec() + QMP_TIMEOUT_NSEC;
        json_object *greeting = NULL;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(ENAMETOOLONG, "Socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        qmp_close(q);
        q->tok = json_tokener_new();
        if (!q->tok)
                return log_oom();

        for (;;) {
                q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (q->fd < 0)
                        return log_error_errno(errno, "socket() failed: %m");
                if (connect(q->fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0)
                        break;
                r = -errno;
                closep(&q->fd);
                if (!retry || !IN_SET(r, -ENOENT, -ECONNREFUSED) || now_nsec() >= deadline)
                        return log_error_errno(r, "Failed to connect to %s: %m", path);
                (void) nanosleep(&(struct timespec) { .tv_nsec = 200000 }, NULL);
        }

        r = qmp_next(q, deadline, &greeting);
        if (r < 0)
                return r;
        json_object_put(greeting);
        return qmp_call(q, "{\"execute\": \"qmp_capabilities\"}", -EBADF, NULL);
}

static bool migration_ended(const Qmp *q) {
        return streq(q->migration, "completed") || streq(q->migration, "failed") || streq(q->migration, "cancelled");
}

/* Waits for the MIGRATION event that ends the migration under way (q->migration cleared before it
 * started). */
static int qmp_wait_migration(Qmp *q) {
        uint64_t deadline = now_nsec() + QMP_TIMEOUT_NSEC;
        json_object *o = NULL;
        int r;

        while (!migration_ended(q)) {
                r = qmp_next(q, deadline, &o);
                if (r < 0)
                        return r;
                if (!qmp_event(q, o))
                        log_warning("Unexpected QMP reply while migrating: %s", json_object_to_json_string(o));
                json_object_put(o);
        }
        if (!streq(q->migration, "completed"))
                return log_error_errno(EIO, "QEMU's migration ended '%s'.", q->migration);
        return 0;
}

/* QEMU's run state. */
static int qmp_run_state(Qmp *q, char **ret) {
        json_object *status = NULL, *value;
        int r;

        r = qmp_call(q, "{\"execute\": \"query-status\"}", -EBADF, &status);
        if (r < 0)
                return r;
        if (!status || !json_object_object_get_ex(status, "status", &value)) {
                json_object_put(status);
                return log_error_errno(EBADMSG, "No status in QEMU's answer to query-status.");
        }
        *ret = strdup(json_object_get_string(value));
        json_object_put(status);
        return *ret ? 0 : log_oom();
}

/* The migration thread sends MIGRATION "completed" just before it leaves the run state
 * "finish-migrate", and "cont" is refused until it has: waits for that, as any client has to. */
static int qmp_wait_migration_finished(Qmp *q) {
        uint64_t deadline = now_nsec() + QMP_TIMEOUT_NSEC;

        for (;;) {
                _cleanup_free_ char *state = NULL;
                int r = qmp_run_state(q, &state);

                if (r < 0)
                        return r;
                if (!streq(state, "finish-migrate"))
                        return 0;
                if (now_nsec() >= deadline)
                        return log_error_errno(ETIMEDOUT, "QEMU stays in the run state finish-migrate.");
        }
}

/* ---- files and processes ---- */

/* Whether the file at path has marker in a line: the letters the console benchmark typed may precede
 * it in the same line. */
static bool file_has_line(const char *path, const char *marker) {
        _cleanup_free_ char *line = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t size = 0;

        f = fopen(path, "re");
        if (!f)
                return false;
        while (getline(&line, &size, f) >= 0)
                if (strstr(line, marker))
                        return true;
        return false;
}

static int file_size(const char *path, uint64_t *ret) {
        struct stat st;

        if (stat(path, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", path);
        *ret = (uint64_t) st.st_size;
        return 0;
}

/* s with every from replaced by to. */
static char *replace_all(const char *s, const char *from, const char *to) {
        size_t n = strlen(from), m = strlen(to), count = 0;
        char *result, *p;

        for (const char *c = strstr(s, from); c; c = strstr(c + n, from))
                count++;
        result = p = malloc(strlen(s) + count * m + 1);
        if (!result)
                return NULL;
        for (const char *c = s;;) {
                const char *hit = strstr(c, from);

                if (!hit) {
                        strcpy(p, c);
                        return result;
                }
                memcpy(p, c, (size_t) (hit - c));
                p += hit - c;
                memcpy(p, to, m);
                p += m;
                c = hit + n;
        }
}

/* microvm's command line for the QEMU run directly: its sockets and serial log move from the VM's
 * runtime and state directories to SCRATCH/direct, a vsock device gets another CID; nothing else
 * changes. */
static int direct_argv_make(Bench *b, char **argv, const char *runtime_dir) {
        _cleanup_strv_free_ char **direct = NULL;

        for (char **a = argv; *a; a++) {
                _cleanup_free_ char *x = replace_all(*a, runtime_dir, b->direct_dir), *y = NULL;
                const char *cid;

                if (x)
                        y = replace_all(x, b->state_dir, b->direct_dir);
                if (!y)
                        return log_oom();
                /* Two guests cannot have the same CID: the direct one takes one of its own. */
                cid = strstr(y, "guest-cid=");
                if (cid) {
                        _cleanup_free_ char *prefix = strndup(y, (size_t) (cid - y));

                        if (!prefix ||
                            strv_extendf(&direct, "%sguest-cid=%u", prefix, 0x10000000u + (unsigned) getpid()) < 0)
                                return log_oom();
                        continue;
                }
                if (strv_extend(&direct, y) < 0)
                        return log_oom();
        }
        b->direct_argv = TAKE_PTR(direct);
        return 0;
}

/* Starts the QEMU run directly; with incoming_fd >= 0, as a migration target ("-incoming defer"),
 * the descriptor inherited for "migrate-incoming". *ret_nsec: when it was forked. */
static int direct_start(Bench *b, int incoming_fd, uint64_t *ret_nsec) {
        _cleanup_close_ int out = -EBADF, null = -EBADF;
        _cleanup_strv_free_ char **argv = NULL;
        uint64_t t0;

        for (char **a = b->direct_argv; *a; a++)
                if (strv_extend(&argv, *a) < 0)
                        return log_oom();
        if (incoming_fd >= 0 && strv_extend_many(&argv, "-incoming", "defer", NULL) < 0)
                return log_oom();
        out = open(b->direct_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || null < 0)
                return log_error_errno(errno, "Failed to open %s or /dev/null: %m", b->direct_log);
        /* A socket left by the last one would take a connect() before QEMU listens. */
        if (unlink(b->direct_qmp_socket) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Failed to remove %s: %m", b->direct_qmp_socket);

        t0 = now_nsec();
        b->direct_pid = fork();
        if (b->direct_pid < 0) {
                b->direct_pid = 0;
                return log_error_errno(errno, "fork() failed: %m");
        }
        if (b->direct_pid == 0) {
                /* A QEMU left behind by a failure dies with us. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (dup2(null, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
                        _exit(127);
                if (incoming_fd >= 0 && fcntl(incoming_fd, F_SETFD, 0) < 0)
                        _exit(127);
                execv(argv[0], argv);
                _exit(127);
        }
        *ret_nsec = t0;
        return 0;
}

/* Kills (if need be) and reaps the QEMU run directly. */
static void direct_forget(Bench *b) {
        qmp_close(&b->qmp);
        if (b->direct_pid > 0) {
                (void) kill(b->direct_pid, SIGKILL);
                (void) waitpid(b->direct_pid, NULL, 0);
        }
        b->direct_pid = 0;
}

/* Waits until the QEMU run directly exits. */
static int direct_wait_exit(Bench *b) {
        uint64_t deadline = now_nsec() + STOP_TIMEOUT_NSEC;
        int status;

        for (;;) {
                pid_t pid = waitpid(b->direct_pid, &status, WNOHANG);

                if (pid < 0)
                        return log_error_errno(errno, "waitpid() failed: %m");
                if (pid > 0)
                        break;
                if (now_nsec() >= deadline)
                        return log_error_errno(ETIMEDOUT, "QEMU run directly did not exit within 60 s.");
                sleep_msec(5);
        }
        b->direct_pid = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_error_errno(EIO, "QEMU run directly ended with wait status %d (see %s).", status,
                                       b->direct_log);
        return 0;
}

/* Stops the QEMU run directly through the guest's power button (QMP system_powerdown): its guest
 * has to be alive to shut itself down. */
static int direct_stop(Bench *b) {
        int r;

        r = qmp_call(&b->qmp, "{\"execute\": \"system_powerdown\"}", -EBADF, NULL);
        if (r >= 0)
                r = direct_wait_exit(b);
        qmp_close(&b->qmp);
        if (r < 0)
                return r;
        if (!file_has_line(b->direct_serial.path, SHUTDOWN_MARKER))
                return log_error_errno(EIO, "The guest of the QEMU run directly did not shut itself down: no '%s' "
                                       "in %s.", SHUTDOWN_MARKER, b->direct_serial.path);
        return 0;
}

/* Waits for the guest's ready line in the serial log w watches; pid, if > 0, is the QEMU. */
static int wait_ready(SerialWatch *w, pid_t pid) {
        uint64_t deadline = now_nsec() + BOOT_TIMEOUT_NSEC;

        while (w->ready_nsec == 0) {
                struct pollfd p = { .fd = w->inotify_fd, .events = POLLIN };
                uint64_t now = now_nsec();
                int r;

                if (now >= deadline)
                        return log_error_errno(ETIMEDOUT, "No ready line in %s within 60 s.", w->path);
                if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
                        return log_error_errno(EIO, "QEMU exited before the guest's ready line (see %s).", w->path);
                r = poll(&p, 1, 100);
                if (r < 0 && errno != EINTR)
                        return log_error_errno(errno, "poll() failed: %m");
                if (r > 0) {
                        r = serial_watch_process(w, now_nsec());
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- microvm ---- */

/* A call to microvmd, waited for; *ret_sent and *ret_replied stamp it. */
static int manager_call(Bench *b, const char *method, sd_bus_message **ret_reply, uint64_t *ret_sent,
                        uint64_t *ret_replied, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t t0, t1;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &m, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, method);
        if (r >= 0) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to build %s: %m", method);

        t0 = now_nsec();
        r = sd_bus_call(b->bus, m, CALL_TIMEOUT_USEC, &error, &reply);
        t1 = now_nsec();
        if (r < 0)
                return log_error_errno(r, "%s %s failed: %s", method, b->opt.name, bus_error_text(&error, r));
        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        if (ret_sent)
                *ret_sent = t0;
        if (ret_replied)
                *ret_replied = t1;
        return 0;
}

/* Checks that the VM's State property says state. */
static int vm_check_state(Bench *b, const char *state, const char *after) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *s = NULL;
        int r;

        r = sd_bus_get_property_string(b->bus, MVM_BUS_NAME, b->vm_path, MVM_VM_INTERFACE, "State", &error, &s);
        if (r < 0)
                return log_error_errno(r, "Failed to read State of %s: %s", b->opt.name, bus_error_text(&error, r));
        if (!streq(s, state))
                return log_error_errno(EIO, "VM %s is '%s' after %s, not '%s'.", b->opt.name, s, after, state);
        return 0;
}

static int vm_main_pid(Bench *b, pid_t *ret) {
        return unit_main_pid(b->bus, b->unit, ret);
}

/* StopVM; the guest has to be alive to shut itself down through its power button. */
static int vm_stop(Bench *b) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *reason;
        int r;

        r = manager_call(b, "StopVM", &reply, NULL, NULL, "st", b->opt.name, STOP_TIMEOUT_USEC);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &reason);
        if (r < 0)
                return log_error_errno(r, "Bad StopVM reply: %m");
        if (!streq(reason, "stop-request"))
                return log_error_errno(EIO, "StopVM %s says the VM stopped by '%s', not by the stop request.",
                                       b->opt.name, reason);
        if (!file_has_line(b->serial.path, SHUTDOWN_MARKER))
                return log_error_errno(EIO, "The guest of VM %s did not shut itself down: no '%s' in %s.", b->opt.name,
                                       SHUTDOWN_MARKER, b->serial.path);
        sleep_msec(PAUSE_MSEC);
        return 0;
}

/* ---- the two VMs up ---- */

static int boot_both(Bench *b) {
        _cleanup_free_ char *runtime_dir = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        uint64_t t0;
        pid_t pid;
        int r;

        r = serial_watch_reset(&b->serial, now_nsec());
        if (r < 0)
                return r;
        r = manager_call(b, "StartVM", NULL, &t0, NULL, "s", b->opt.name);
        if (r >= 0)
                r = wait_ready(&b->serial, 0);
        if (r < 0)
                return r;
        printf("StartVM to the guest's ready line: %.0f ms\n", ms_between(t0, b->serial.ready_nsec));

        r = vm_main_pid(b, &pid);
        if (r >= 0)
                r = guest_argv_by_path(pid, b->opt.guest, &argv);
        if (r < 0)
                return r;
        if (vm_runtime_dir(b->opt.name, &runtime_dir) < 0)
                return log_oom();
        r = direct_argv_make(b, argv, runtime_dir);
        if (r < 0)
                return r;
        printf("QEMU run directly (the command line of StartVM's unit, its files in %s):\n ", b->direct_dir);
        for (char **a = b->direct_argv; *a; a++)
                printf(" %s", *a);
        printf("\n");

        r = serial_watch_reset(&b->direct_serial, now_nsec());
        if (r >= 0)
                r = direct_start(b, -EBADF, &t0);
        if (r >= 0)
                r = wait_ready(&b->direct_serial, b->direct_pid);
        if (r >= 0)
                r = qmp_open(&b->qmp, b->direct_qmp_socket, /* retry= */ false);
        if (r >= 0)
                r = qmp_call(&b->qmp, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": {\"capabilities\": "
                             "[{\"capability\": \"events\", \"state\": true}]}}", -EBADF, NULL);
        if (r < 0)
                return r;
        printf("QEMU run directly to the guest's ready line: %.0f ms\n", ms_between(t0, b->direct_serial.ready_nsec));
        sleep_msec(SETTLE_MSEC);
        return 0;
}

/* ---- the measurements ---- */

static size_t kind_count(const Bench *b, Kind kind) {
        return IN_SET(kind, KIND_SNAPSHOT, KIND_RESTORE) ? b->opt.snapshots : b->opt.calls;
}

/* Where round i (< 0: a warm-up, not kept) of one way goes: ms[kind][0..n) microvm, [n..2n) direct. */
static double *sample(Bench *b, Kind kind, bool direct, ssize_t i) {
        static double discard;

        if (i < 0)
                return &discard;
        return &b->ms[kind][(direct ? kind_count(b, kind) : 0) + (size_t) i];
}

static int pause_resume_microvm(Bench *b, ssize_t i) {
        uint64_t t0, t1;
        int r;

        r = manager_call(b, "PauseVM", NULL, &t0, &t1, "s", b->opt.name);
        if (r < 0)
                return r;
        *sample(b, KIND_PAUSE, false, i) = ms_between(t0, t1);
        r = vm_check_state(b, "paused", "PauseVM");
        if (r < 0)
                return r;
        sleep_msec(GAP_MSEC);
        r = manager_call(b, "ResumeVM", NULL, &t0, &t1, "s", b->opt.name);
        if (r < 0)
                return r;
        *sample(b, KIND_RESUME, false, i) = ms_between(t0, t1);
        return vm_check_state(b, "running", "ResumeVM");
}

static int pause_resume_direct(Bench *b, ssize_t i) {
        uint64_t t0, t1;
        int r;

        t0 = now_nsec();
        r = qmp_call(&b->qmp, "{\"execute\": \"stop\"}", -EBADF, NULL);
        t1 = now_nsec();
        if (r < 0)
                return r;
        *sample(b, KIND_PAUSE, true, i) = ms_between(t0, t1);
        sleep_msec(GAP_MSEC);
        t0 = now_nsec();
        r = qmp_call(&b->qmp, "{\"execute\": \"cont\"}", -EBADF, NULL);
        t1 = now_nsec();
        if (r < 0)
                return r;
        *sample(b, KIND_RESUME, true, i) = ms_between(t0, t1);
        return 0;
}

/* Waits up to timeout_msec for fd to be readable, then reads what is there (up to size). */
static ssize_t read_some(int fd, void *buf, size_t size, int timeout_msec) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;
        int r;

        do
                r = poll(&p, 1, timeout_msec);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (r == 0)
                return -ETIMEDOUT;
        n = recv(fd, buf, size, MSG_DONTWAIT);
        return n < 0 ? -errno : n;
}

static int console_microvm(Bench *b, ssize_t i) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[65536];
        size_t replayed;
        uint64_t t0, t1;
        ssize_t n;
        int r, console;

        r = manager_call(b, "OpenConsole", &reply, &t0, NULL, "s", b->opt.name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "h", &console);
        if (r < 0)
                return log_error_errno(r, "Bad OpenConsole reply: %m");
        /* The reply owns its descriptor. */
        fd = fcntl(console, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_error_errno(errno, "Failed to duplicate the console's descriptor: %m");
        n = read_some(fd, buf, 1, CONSOLE_TIMEOUT_MSEC);
        t1 = now_nsec();
        if (n == 0)
                return log_error_errno(EIO, "The console of VM %s closed before any output.", b->opt.name);
        if (n < 0)
                return log_error_errno((int) n, "No output on the console of VM %s: %m", b->opt.name);
        *sample(b, KIND_CONSOLE, false, i) = ms_between(t0, t1);

        /* The rest of the replay, untimed: until the console is quiet for 50 ms. */
        for (replayed = 1;; replayed += (size_t) n) {
                n = read_some(fd, buf, sizeof(buf), 50);
                if (n <= 0)
                        break;
        }
        if (n < 0 && n != -ETIMEDOUT)
                return log_error_errno((int) n, "Failed to read the console of VM %s: %m", b->opt.name);
        b->replayed_min = b->replayed_min == 0 ? replayed : MIN(b->replayed_min, replayed);
        b->replayed_max = MAX(b->replayed_max, replayed);
        return 0;
}

static int console_direct(Bench *b, ssize_t i) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        uint64_t t0, t1;
        char c;
        ssize_t n;

        if (strlen(b->direct_serial_socket) >= sizeof(sa.sun_path))
                return log_error_errno(ENAMETOOLONG, "Socket path too long: %s", b->direct_serial_socket);
        strcpy(sa.sun_path, b->direct_serial_socket);

        t0 = now_nsec();
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(errno, "socket() failed: %m");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return log_error_errno(errno, "Failed to connect to %s: %m", b->direct_serial_socket);
        /* A letter: the guest's tty (canonical mode, echo on) echoes it as it is. */
        if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
                return log_error_errno(errno, "Failed to write to %s: %m", b->direct_serial_socket);
        n = read_some(fd, &c, 1, CONSOLE_TIMEOUT_MSEC);
        t1 = now_nsec();
        if (n == 0)
                return log_error_errno(EIO, "QEMU closed its serial socket.");
        if (n < 0)
                return log_error_errno((int) n, "No echo on %s: %m", b->direct_serial_socket);
        if (c != 'x')
                log_warning("The first byte from the direct QEMU's serial socket is 0x%02x, not the echo of 'x'.",
                            (unsigned char) c);
        *sample(b, KIND_CONSOLE, true, i) = ms_between(t0, t1);
        return 0;
}

/* Writes back what earlier snapshots left dirty in the page cache, so that none pays for another's
 * writeback. */
static int sync_snapshot_dir(Bench *b) {
        _cleanup_close_ int fd = open(b->opt.snapshot_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 || syncfs(fd) < 0)
                return log_error_errno(errno, "Failed to sync %s: %m", b->opt.snapshot_dir);
        return 0;
}

static int remove_snapshot(const char *path) {
        _cleanup_free_ char *meta = NULL;

        if (asprintf(&meta, "%s.meta", path) < 0) {
                meta = NULL;
                return log_oom();
        }
        if ((unlink(path) < 0 && errno != ENOENT) || (unlink(meta) < 0 && errno != ENOENT))
                return log_error_errno(errno, "Failed to remove %s: %m", path);
        return 0;
}

static int snapshot_microvm(Bench *b, ssize_t i) {
        _cleanup_free_ char *meta = NULL;
        uint64_t t0, t1;
        int r;

        if (asprintf(&meta, "%s.meta", b->snapshot) < 0) {
                meta = NULL;
                return log_oom();
        }
        r = remove_snapshot(b->snapshot);
        if (r >= 0)
                r = sync_snapshot_dir(b);
        if (r >= 0)
                r = manager_call(b, "SnapshotVM", NULL, &t0, &t1, "ss", b->opt.name, b->snapshot);
        if (r < 0)
                return r;
        *sample(b, KIND_SNAPSHOT, false, i) = ms_between(t0, t1);
        r = file_size(b->snapshot, &b->snapshot_size);
        if (r >= 0)
                r = file_size(meta, &b->meta_size);
        if (r < 0)
                return r;
        return vm_check_state(b, "running", "SnapshotVM");
}

/* What a snapshot is with QEMU alone: stop, the migration to a file at full speed, cont. */
static int snapshot_direct(Bench *b, ssize_t i) {
        _cleanup_free_ char *parameters = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t t0, t1;
        int r;

        if (asprintf(&parameters, "{\"execute\": \"migrate-set-parameters\", "
                     "\"arguments\": {\"max-bandwidth\": %" PRIu64 "}}", MAX_BANDWIDTH) < 0) {
                parameters = NULL;
                return log_oom();
        }
        r = remove_snapshot(b->direct_snapshot);
        if (r >= 0)
                r = sync_snapshot_dir(b);
        if (r < 0)
                return r;

        t0 = now_nsec();
        r = qmp_call(&b->qmp, "{\"execute\": \"stop\"}", -EBADF, NULL);
        if (r >= 0)
                r = qmp_call(&b->qmp, parameters, -EBADF, NULL);
        if (r < 0)
                return r;
        fd = open(b->direct_snapshot, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create %s: %m", b->direct_snapshot);
        r = qmp_call(&b->qmp, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"snapshot\"}}", fd, NULL);
        b->qmp.migration[0] = '\0';
        if (r >= 0)
                r = qmp_call(&b->qmp, "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"fd:snapshot\"}}", -EBADF,
                             NULL);
        if (r >= 0)
                r = qmp_wait_migration(&b->qmp);
        if (r >= 0)
                r = qmp_wait_migration_finished(&b->qmp);
        if (r >= 0)
                r = qmp_call(&b->qmp, "{\"execute\": \"cont\"}", -EBADF, NULL);
        t1 = now_nsec();
        if (r < 0)
                return r;
        *sample(b, KIND_SNAPSHOT, true, i) = ms_between(t0, t1);

        /* Not part of the baseline: what writing the file durably would add (SnapshotVM does). */
        t0 = now_nsec();
        if (fsync(fd) < 0)
                return log_error_errno(errno, "Failed to fsync %s: %m", b->direct_snapshot);
        if (i >= 0)
                b->direct_fsync_ms[i] = ms_between(t0, now_nsec());
        return file_size(b->direct_snapshot, &b->direct_snapshot_size);
}

/* RestoreVM of the stopped VM: its reply comes once the unit's start job is done. */
static int restore_microvm(Bench *b, ssize_t i) {
        uint64_t t0, t1, throttled;
        pid_t pid;
        int r;

        r = vm_stop(b);
        if (r >= 0)
                r = serial_watch_reset(&b->serial, now_nsec());
        if (r >= 0)
                r = manager_call(b, "RestoreVM", NULL, &t0, &t1, "ss", b->opt.name, b->snapshot);
        if (r < 0)
                return r;
        *sample(b, KIND_RESTORE, false, i) = ms_between(t0, t1);
        /* The unit's cgroup is new with each start: all it was throttled is this restore's. */
        if (i >= 0)
                b->restore_throttled_ms[i] = vm_main_pid(b, &pid) >= 0 && cgroup_throttled_usec(pid, &throttled) >= 0 ?
                                             (double) throttled / 1000 : -1;
        return vm_check_state(b, "running", "RestoreVM");
}

/* What a restore is with QEMU alone: the same command line as a migration target, the migration
 * from the file's descriptor, cont; from the fork to cont's reply. */
static int restore_direct(Bench *b, ssize_t i) {
        _cleanup_free_ char *incoming = NULL, *state = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t t0, t1;
        int r;

        r = direct_stop(b);
        if (r >= 0)
                r = serial_watch_reset(&b->direct_serial, now_nsec());
        if (r < 0)
                return r;
        /* Inherited by QEMU (direct_start() clears its close-on-exec flag in the child). */
        fd = open(b->direct_snapshot, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", b->direct_snapshot);
        if (asprintf(&incoming, "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"fd:%d\"}}", fd) < 0) {
                incoming = NULL;
                return log_oom();
        }

        r = direct_start(b, fd, &t0);
        closep(&fd);
        if (r >= 0)
                r = qmp_open(&b->qmp, b->direct_qmp_socket, /* retry= */ true);
        if (r >= 0)
                r = qmp_call(&b->qmp, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": {\"capabilities\": "
                             "[{\"capability\": \"events\", \"state\": true}]}}", -EBADF, NULL);
        b->qmp.migration[0] = '\0';
        if (r >= 0)
                r = qmp_call(&b->qmp, incoming, -EBADF, NULL);
        if (r >= 0)
                r = qmp_wait_migration(&b->qmp);
        if (r >= 0)
                r = qmp_call(&b->qmp, "{\"execute\": \"cont\"}", -EBADF, NULL);
        t1 = now_nsec();
        if (r < 0)
                return r;
        *sample(b, KIND_RESTORE, true, i) = ms_between(t0, t1);

        r = qmp_run_state(&b->qmp, &state);
        if (r < 0)
                return r;
        if (!streq(state, "running"))
                return log_error_errno(EIO, "The restored QEMU run directly is '%s', not running.", state);
        return 0;
}

typedef int (*Step)(Bench *b, ssize_t i);

/* warmup rounds that are not kept, then n; each round takes both ways, which goes first alternating. */
static int rounds(Bench *b, Step microvm, Step direct, size_t warmup, size_t n, const char *label,
                  Kind kind) {
        for (ssize_t i = -(ssize_t) warmup; i < (ssize_t) n; i++) {
                for (int j = 0; j < 2; j++) {
                        bool d = (i + j + (ssize_t) warmup) % 2;
                        int r = d ? direct(b, i) : microvm(b, i);

                        if (r < 0)
                                return r;
                        sleep_msec(GAP_MSEC);
                }
                if (label && i >= 0)
                        printf("%s %2zd: microvm %.1f, direct %.1f\n", label, i + 1, *sample(b, kind, false, i),
                               *sample(b, kind, true, i));
        }
        return 0;
}

typedef struct Spread {
        double median, p90, max;
} Spread;

static Spread spread_of(Bench *b, Kind kind, bool direct) {
        size_t n = kind_count(b, kind);
        _cleanup_free_ double *v = calloc(n, sizeof(double));
        Spread s = {};

        if (!v)
                return s;
        memcpy(v, sample(b, kind, direct, 0), n * sizeof(double));
        s.median = median(v, n);
        s.p90 = quantile(v, n, 0.90);
        s.max = quantile(v, n, 1.0);
        return s;
}

static void figure_of(Bench *b, Kind kind, const char *name, int decimals, double target, const char *microvm_label,
                      const char *direct_label) {
        Spread m = spread_of(b, kind, false), d = spread_of(b, kind, true);

        figure_print(b->summary, &(Figure) {
                .name = name, .unit = "ms", .decimals = decimals,
                .value = m.median, .baseline = d.median,
                .target_kind = TARGET_AT_MOST, .target = target,
        });
        printf("  median / p90 / max (ms): %s %.*f / %.*f / %.*f; %s %.*f / %.*f / %.*f\n", microvm_label, decimals,
               m.median, decimals, m.p90, decimals, m.max, direct_label, decimals, d.median, decimals, d.p90, decimals,
               d.max);
}

static int bench_run(Bench *b) {
        uint64_t throttled_before = UINT64_MAX, throttled_after, log_size = 0;
        pid_t pid;
        int r;

        r = boot_both(b);
        if (r < 0)
                return r;

        printf("\npause and resume: PauseVM, ResumeVM against QMP stop, cont on an open QMP connection; %zu of each,\n"
               "after 2 unmeasured, alternating\n", b->opt.calls);
        r = rounds(b, pause_resume_microvm, pause_resume_direct, 2, b->opt.calls, NULL, KIND_PAUSE);
        if (r < 0)
                return r;
        figure_of(b, KIND_PAUSE, "PauseVM round trip", 2, TARGET_PAUSE_MS, "PauseVM", "QMP stop");
        figure_of(b, KIND_RESUME, "ResumeVM round trip", 2, TARGET_PAUSE_MS, "ResumeVM", "QMP cont");

        printf("\nconsole: OpenConsole called -> the first replayed byte read from its descriptor, against connect()\n"
               "to the direct QEMU's serial socket, \"x\" written and the first byte of the guest's echo read (QEMU\n"
               "replays nothing); %zu of each, after 2 unmeasured, alternating\n", b->opt.calls);
        r = rounds(b, console_microvm, console_direct, 2, b->opt.calls, NULL, KIND_CONSOLE);
        if (r < 0)
                return r;
        figure_of(b, KIND_CONSOLE, "OpenConsole to the first replayed byte", 2, TARGET_CONSOLE_MS, "OpenConsole",
                  "connect + echo");
        (void) file_size(b->serial.path, &log_size);
        printf("  replayed: %zu to %zu bytes; the serial log holds %" PRIu64 "\n", b->replayed_min, b->replayed_max,
               log_size);

        printf("\nsnapshot of the running guest: SnapshotVM called -> its reply, against QMP stop,\n"
               "migrate-set-parameters (max-bandwidth %" PRIu64 "), getfd of a new file, migrate to it, the\n"
               "MIGRATION event completed, cont; both into %s, the file system synced\n"
               "before each; %zu of each, after 1 unmeasured, alternating; in ms:\n", MAX_BANDWIDTH,
               b->opt.snapshot_dir, b->opt.snapshots);
        if (vm_main_pid(b, &pid) >= 0 && cgroup_throttled_usec(pid, &throttled_before) < 0)
                throttled_before = UINT64_MAX;
        r = rounds(b, snapshot_microvm, snapshot_direct, 1, b->opt.snapshots, "snapshot", KIND_SNAPSHOT);
        if (r < 0)
                return r;
        if (throttled_before != UINT64_MAX && vm_main_pid(b, &pid) >= 0 &&
            cgroup_throttled_usec(pid, &throttled_after) >= 0)
                b->throttled_usec = throttled_after - throttled_before;
        figure_of(b, KIND_SNAPSHOT, "SnapshotVM of the running 256 MiB guest", 1, TARGET_SNAPSHOT_MS, "SnapshotVM",
                  "QMP");
        printf("  fsync of the direct snapshot right after it (not in the baseline; SnapshotVM fsyncs its file\n"
               "  before it answers): median %.1f ms\n", median(b->direct_fsync_ms, b->opt.snapshots));
        printf("  sizes: microvm's snapshot %.1f MiB and its metadata %" PRIu64 " bytes; the direct one %.1f MiB\n",
               (double) b->snapshot_size / (1024 * 1024), b->meta_size,
               (double) b->direct_snapshot_size / (1024 * 1024));
        if (b->throttled_usec != UINT64_MAX)
                printf("  CPU time the VM's cgroup was throttled (CPUQuota=) during the snapshots: %.1f ms\n",
                       (double) b->throttled_usec / 1000);

        printf("\nrestore of the stopped VM: RestoreVM called -> its reply (the unit started, State \"running\"),\n"
               "against fork+exec of the direct command line with -incoming defer, migrate-incoming from the\n"
               "file's descriptor, the MIGRATION event completed, cont; every guest is stopped by its power button\n"
               "before the next restore (its shutdown checked); %zu of each, after 1 unmeasured, alternating; in ms:\n",
               b->opt.snapshots);
        r = rounds(b, restore_microvm, restore_direct, 1, b->opt.snapshots, "restore", KIND_RESTORE);
        if (r < 0)
                return r;
        figure_of(b, KIND_RESTORE, "RestoreVM to running", 1, TARGET_RESTORE_MS, "RestoreVM", "QEMU -incoming");
        if (b->restore_throttled_ms[0] >= 0) {
                printf("  CPU time the VM's cgroup was throttled (CPUQuota=) up to each RestoreVM's reply, in ms:");
                for (size_t i = 0; i < b->opt.snapshots; i++)
                        printf("%s %.1f", i == 0 ? "" : ",", b->restore_throttled_ms[i]);
                printf("\n");
        }

        /* The last restored guests have to be alive to shut down. */
        r = vm_stop(b);
        if (r >= 0)
                r = direct_stop(b);
        return r;
}

static int bench_setup(Bench *b) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *kernel = NULL, *initrd = NULL;
        int r;

        for (Kind k = 0; k < _KIND_MAX; k++) {
                b->ms[k] = calloc(2 * kind_count(b, k), sizeof(double));
                if (!b->ms[k])
                        return log_oom();
        }
        b->direct_fsync_ms = calloc(b->opt.snapshots, sizeof(double));
        b->restore_throttled_ms = calloc(b->opt.snapshots, sizeof(double));
        if (!b->direct_fsync_ms || !b->restore_throttled_ms)
                return log_oom();
        if (asprintf(&b->unit, MVM_UNIT_PREFIX "%s" MVM_UNIT_SUFFIX, b->opt.name) < 0 ||
            asprintf(&kernel, "%s/vmlinuz", b->opt.guest) < 0 ||
            asprintf(&initrd, "%s/initramfs.cpio.gz", b->opt.guest) < 0 ||
            asprintf(&b->snapshot, "%s/microvm.snapshot", b->opt.snapshot_dir) < 0 ||
            asprintf(&b->direct_snapshot, "%s/direct.snapshot", b->opt.snapshot_dir) < 0 ||
            asprintf(&b->direct_dir, "%s/direct", b->opt.scratch) < 0 ||
            asprintf(&b->direct_log, "%s/qemu-direct.log", b->opt.scratch) < 0 ||
            asprintf(&b->direct_qmp_socket, "%s/direct/" MVM_QMP_SOCKET, b->opt.scratch) < 0 ||
            asprintf(&b->direct_serial_socket, "%s/direct/" MVM_SERIAL_SOCKET, b->opt.scratch) < 0)
                return log_oom();
        if (vm_state_dir(b->opt.name, &b->state_dir) < 0)
                return log_oom();
        r = sd_bus_path_encode(MVM_VM_PATH_PREFIX, b->opt.name, &b->vm_path);
        if (r < 0)
                return log_oom();

        r = sd_bus_open_system(&b->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = sd_bus_call_method(b->bus, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "CreateVM", &error, NULL,
                               "sa{sv}", b->opt.name, 4,
                               "Kernel", "s", kernel,
                               "Initrd", "s", initrd,
                               "MemoryMiB", "t", UINT64_C(256),
                               "VCPUs", "u", UINT32_C(1));
        if (r < 0)
                return log_error_errno(r, "CreateVM %s failed: %s", b->opt.name, bus_error_text(&error, r));

        /* Watched from the start, before QEMU creates the logs. */
        r = serial_watch_open(&b->serial, b->state_dir);
        if (r >= 0)
                r = serial_watch_open(&b->direct_serial, b->direct_dir);
        if (r < 0)
                return r;

        printf("VM %s: %s, %s, 256 MiB, 1 vCPU, no drive, no NIC;\n"
               "%zu pauses, resumes and console attaches of each way, %zu snapshots and restores of each way\n",
               b->opt.name, kernel, initrd, b->opt.calls, b->opt.snapshots);
        return 0;
}

static void bench_done(Bench *b) {
        direct_forget(b);
        if (b->summary)
                (void) fclose(b->summary);
        sd_bus_flush_close_unref(b->bus);
        serial_watch_close(&b->serial);
        serial_watch_close(&b->direct_serial);
        for (Kind k = 0; k < _KIND_MAX; k++)
                free(b->ms[k]);
        free(b->direct_fsync_ms);
        free(b->restore_throttled_ms);
        free(b->unit);
        free(b->vm_path);
        free(b->state_dir);
        free(b->snapshot);
        strv_free(b->direct_argv);
        free(b->direct_dir);
        free(b->direct_qmp_socket);
        free(b->direct_serial_socket);
        free(b->direct_log);
        free(b->direct_snapshot);
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum {
                ARG_CALLS = 0x100,
                ARG_SNAPSHOTS,
                ARG_NAME,
                ARG_GUEST,
                ARG_SCRATCH,
                ARG_SNAPSHOT_DIR,
                ARG_SUMMARY,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "calls", required_argument, NULL, ARG_CALLS },
                { "snapshots", required_argument, NULL, ARG_SNAPSHOTS },
                { "name", required_argument, NULL, ARG_NAME },
                { "guest", required_argument, NULL, ARG_GUEST },
                { "scratch", required_argument, NULL, ARG_SCRATCH },
                { "snapshot-dir", required_argument, NULL, ARG_SNAPSHOT_DIR },
                { "summary", required_argument, NULL, ARG_SUMMARY },
                {}
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("%s --guest DIR --scratch DIR [--snapshot-dir DIR] [--calls N] [--snapshots N]\n"
                               "    [--name NAME] [--summary FILE]\n\n"
                               "Times pause, resume, console, snapshot and restore through microvmd and QEMU alone.\n"
                               "Run it through bench/snapshot.\n", argv[0]);
                        return 0;
                case ARG_CALLS:
                case ARG_SNAPSHOTS:
                        r = parse_count(optarg, 1, 100000, c == ARG_CALLS ? &o->calls : &o->snapshots);
                        if (r < 0)
                                return log_error_errno(r, "Bad number '%s': expected 1 to 100000.", optarg);
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
                case ARG_SNAPSHOT_DIR:
                        o->snapshot_dir = optarg;
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
        if (!o->guest || !o->scratch)
                return log_error_errno(EINVAL, "--guest and --scratch are required.");
        if (!o->snapshot_dir)
                o->snapshot_dir = o->scratch;
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(bench_done) Bench b = {
                .opt = {
                        .calls = 10,
                        .snapshots = 5,
                        .name = "bench-snapshot",
                },
                .serial = SERIAL_WATCH_INIT,
                .direct_serial = SERIAL_WATCH_INIT,
                .qmp = QMP_INIT,
                .throttled_usec = UINT64_MAX,
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
