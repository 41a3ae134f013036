/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvm-launch: what microvm@NAME.service runs.
 *
 *   microvm-launch prepare NAME  ExecStartPre=+, as root: checks NAME's key file and the files it
 *                                names, makes the VM's cloud-init seed and the bridges and TAP
 *                                devices of its NICs, sets the unit's resource limits, and opens
 *                                the kernel, drives and TAPs for the hypervisor (launch-fds.h).
 *   microvm-launch start NAME    ExecStart, as the unprivileged hypervisor user: reads NAME's key
 *                                file, probes the drives it was handed, chooses the accelerator,
 *                                reports READY=1 and execs the hypervisor, which so becomes the
 *                                unit's main process.
 *   microvm-launch started NAME  ExecStartPost=+: waits, bounded, until the hypervisor answers on its
 *                                control socket, so that one that dies at once fails the start;
 *                                loads a snapshot RestoreVM asked for.
 *   microvm-launch stop NAME     ExecStop=+: asks the guest to power off through the hypervisor's
 *                                control socket and waits for the hypervisor to exit; systemd
 *                                bounds the wait with TimeoutStopSec= and kills after it.
 *   microvm-launch stopped NAME  ExecStopPost=+: records why the VM stopped and removes its TAP
 *                                devices.
 *
 * Nothing stays resident: start execs, stop and stopped exit. prepare is launch-prepare.c, start
 * launch-start.c, what the verbs share launch.c; started, stop and stopped are here. */

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <systemd/sd-bus.h>

#include "agent-connect.h"
#include "agent-protocol.h"
#include "api-command.h"
#include "bus-errors.h"
#include "bus-names.h"
#include "fileio.h"
#include "hypervisor-api.h"
#include "launch-lend.h"
#include "launch-restore.h"
#include "launch.h"
#include "log.h"
#include "problem.h"
#include "qmp-command.h"
#include "snapshot.h"
#include "time-util.h"
#include "vm-files.h"
#include "vm-state.h"

typedef struct AgentReply {
        bool done;
        char error[256];        /* the agent's error, "" when the method returned */
} AgentReply;

static int agent_reply_handler(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        AgentReply *reply = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        reply->done = true;
        if (e)
                snprintf(reply->error, sizeof(reply->error), "%s: %s", e->name, strempty(e->message));
        return 0;
}

/* How often the hybrid vsock is tried while nothing listens in the guest yet. */
#define VSOCK_RETRY_MS 100

/* The unit's own channel to the guest agent. QEMU's virtio-serial socket takes what is sent before
 * the agent runs; a hybrid vsock refuses until the agent listens, so it is tried again until the
 * deadline. -EHOSTDOWN when the hypervisor exited meanwhile. */
static int launch_agent_connect(const Launch *l, uint64_t deadline, int pidfd, int *ret_fd) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!l->backend || !l->backend->agent_over_vsock) {
                if (launch_runtime_path(l, MVM_AGENT_UNIT_SOCKET, &path) < 0)
                        return -ENOMEM;
                return agent_socket_connect(path, ret_fd);
        }

        if (launch_runtime_path(l, MVM_VSOCK_SOCKET, &path) < 0)
                return -ENOMEM;
        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                uint64_t t = now_usec(CLOCK_MONOTONIC);

                if (t >= deadline)
                        return -ETIMEDOUT;
                r = agent_socket_connect(path, &fd);
                if (r >= 0)
                        r = vsock_hybrid_handshake(fd, MVM_AGENT_VSOCK_PORT, deadline - t);
                if (r >= 0) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
                if (!IN_SET(r, -ECONNREFUSED, -ENOENT, -ECONNRESET, -EPROTO))
                        return r;
                if (pidfd >= 0 && poll(&p, 1, VSOCK_RETRY_MS) > 0)
                        return -EHOSTDOWN;
                if (pidfd < 0)
                        (void) poll(NULL, 0, VSOCK_RETRY_MS);
        }
}

/* The guest agent, on the unit's own channel (microvmd has the other): one call, answered or not
 * within timeout_usec. The connection goes first: the hypervisor's socket exists from its start,
 * and what is sent before the agent runs waits in it, so a guest still booting just answers later.
 * Returns 0 when the method returned, -ETIMEDOUT, -EHOSTDOWN when the hypervisor exited, or
 * -errno (the agent's error is logged). Blocks: only the launcher's verbs use it. */
static int launch_agent_call(const Launch *l, const char *method, uint64_t timeout_usec, int pidfd) {
        /* Not flushed when done: with no agent the connection never leaves authentication, and a
         * flush would wait for it. */
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec;
        AgentReply reply = {};
        int fd = -EBADF, r;

        r = launch_agent_connect(l, deadline, pidfd, &fd);
        if (r < 0)
                return r;
        r = agent_bus_new(fd, &bus);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_call_method_async(bus, &slot, NULL, MVM_AGENT_PATH, MVM_AGENT_INTERFACE, method,
                                             agent_reply_handler, &reply, NULL);
        if (r < 0)
                return r;

        while (!reply.done) {
                struct pollfd p[2] = {
                        { .fd = sd_bus_get_fd(bus), .events = (short) sd_bus_get_events(bus) },
                        { .fd = pidfd, .events = POLLIN },
                };
                uint64_t t = now_usec(CLOCK_MONOTONIC);

                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                if (t >= deadline)
                        return -ETIMEDOUT;
                r = poll(p, pidfd >= 0 ? 2 : 1, (int) MIN((deadline - t + 999) / 1000, (uint64_t) 1000));
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r > 0 && pidfd >= 0 && (p[1].revents & POLLIN))
                        return -EHOSTDOWN;
        }
        if (reply.error[0])
                return log_debug_errno(EBADMSG, "The guest agent refused %s: %s", method, reply.error);
        return 0;
}

#define STARTED_TIMEOUT_MS 10000
#define STARTED_POLL_MS 5

/* With WaitReady=yes the start ends only when the guest agent answers, so that units ordered after
 * this one start with the guest ready; the moment is recorded for microvmd (MVM_READY_FILE). */
static int launch_wait_ready(const Launch *l, int pidfd) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *path = NULL, *line = NULL;
        g_autofree char *message = NULL;
        const char *error_name;
        uint64_t timeout, started = now_usec(CLOCK_MONOTONIC);
        int r;

        r = launch_load_config(l, &config, NULL, &error_name, &message);
        if (r < 0)
                return start_failed(l, r, error_name, "%s.", message);
        if (!config_get_bool(config, CONFIG_WAIT_READY))
                return 0;

        timeout = config_get_number(config, CONFIG_READY_TIMEOUT_SEC) * 1000000u;
        log_info("Waiting up to %" PRIu64 " s for the guest agent of VM %s (WaitReady=yes).", timeout / 1000000u,
                 l->name);
        r = launch_agent_call(l, "Ping", timeout, pidfd);
        if (r == -ETIMEDOUT)
                return start_failed(l, r, MVM_ERROR_START_FAILED, "The guest agent of VM %s did not answer within "
                                    "%" PRIu64 " s (ReadyTimeoutSec=): is microvm-agent running in the guest?",
                                    l->name, timeout / 1000000u);
        if (r == -EHOSTDOWN)
                return start_failed(l, r, MVM_ERROR_START_FAILED, "The hypervisor of VM %s exited while waiting "
                                    "for the guest agent: 'journalctl -u " MVM_UNIT_PREFIX "%s" MVM_UNIT_SUFFIX
                                    "' shows why.", l->name, l->name);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_START_FAILED, "Cannot reach the guest agent of VM %s: %m.",
                                    l->name);

        if (asprintf(&path, "%s/" MVM_READY_FILE, l->runtime_dir) < 0 ||
            asprintf(&line, "%" PRIu64 "\n", now_usec(CLOCK_REALTIME)) < 0)
                return log_oom();
        r = write_file_atomic(path, line, strlen(line), 0644);
        if (r < 0)
                log_warning_errno(r, "Cannot record that VM %s is ready, ignoring: %m", l->name);
        log_info("The guest agent of VM %s answered after %" PRIu64 " ms: ready.", l->name,
                 (now_usec(CLOCK_MONOTONIC) - started) / 1000u);
        return 0;
}

/* How long a snapshot's load may take (the guest's memory is read in). */
#define API_RESTORE_TIMEOUT_USEC (120 * 1000000u)
/* How long one request of the start and stop may wait for the hypervisor's API. */
#define API_CALL_TIMEOUT_USEC (1000000u)

/* A restore through the hypervisor's API: its version first, then the load into the empty
 * hypervisor, which resumes the guest unless the snapshot was of a paused VM. */
static int launch_api_restore(const Launch *l, const char *socket_path, const char *path, const SnapshotMeta *meta,
                              const char **ret_error_name, char **ret_message) {
        _cleanup_free_ char *ping = NULL, *version = NULL, *fault = NULL;
        int r;

        r = api_execute(l->backend, socket_path, API_PING, NULL, false, API_CALL_TIMEOUT_USEC, &ping, &fault);
        if (r >= 0)
                version = api_version(ping);
        if (!version) {
                *ret_error_name = MVM_ERROR_START_FAILED;
                return problem_set(r < 0 ? r : -EBADMSG, ret_message, "%s did not say its version: %s",
                                   l->backend->display_name, fault ?: (r < 0 ? strerror(-r) : "no version in its reply"));
        }
        if (!streq(version, meta->hypervisor_version)) {
                *ret_error_name = MVM_ERROR_SNAPSHOT_MISMATCH;
                return problem_set(-EXDEV, ret_message, "%s was taken with %s %s, but this is %s %s; restore it where "
                                   "that version runs, or take a new snapshot", path, l->backend->display_name,
                                   meta->hypervisor_version, l->backend->display_name, version);
        }

        r = api_execute(l->backend, socket_path, API_RESTORE, path, !meta->paused, API_RESTORE_TIMEOUT_USEC, NULL,
                        &fault);
        if (r < 0) {
                *ret_error_name = MVM_ERROR_INVALID_SNAPSHOT;
                return problem_set(r, ret_message, "%s could not load %s: %s", l->backend->display_name, path,
                                   fault ?: strerror(-r));
        }
        log_info("Restored %s%s.", path, meta->paused ? "; the VM stays paused, as it was" : "; the VM goes on");
        return 0;
}

/* Firecracker and cloud-hypervisor read a snapshot by its path, as the hypervisor's user, in a view
 * where the caller's files are not theirs to read: the snapshot is copied into the VM's state
 * directory, as that user's, for the load (free() the copy's path; remove the copy after). */
static int launch_stage_snapshot(const Launch *l, const char *path, char **ret) {
        _cleanup_strv_free_ char **from = NULL, **to = NULL;
        _cleanup_free_ char *staged = NULL;
        uid_t uid;
        gid_t gid;
        int r;

        r = hypervisor_user(&uid, &gid);
        if (r < 0)
                return r;
        if (asprintf(&staged, "%s/.restore", l->state_dir) < 0)
                return -ENOMEM;
        api_snapshot_remove(l->backend, staged);
        r = api_snapshot_files(l->backend, path, &from);
        if (r >= 0)
                r = api_snapshot_files(l->backend, staged, &to);
        if (r < 0)
                return r;
        if (api_snapshot_is_directory(l->backend)) {
                if (mkdir(staged, 0700) < 0 || chown(staged, uid, gid) < 0)
                        return -errno;
        }
        for (size_t i = 0; from[i] && to[i]; i++) {
                struct stat st;

                if (stat(from[i], &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                r = copy_file(from[i], to[i], uid, gid, 0600);
                if (r < 0) {
                        api_snapshot_remove(l->backend, staged);
                        return r;
                }
        }
        *ret = TAKE_PTR(staged);
        return 0;
}

/* A restore's start: the state goes in before the start is done, so that the VM runs when it is. */
static int launch_load_snapshot(const Launch *l, const char *socket_path, int pidfd) {
        _cleanup_(snapshot_meta_done) SnapshotMeta meta = {};
        _cleanup_free_ char *snapshot = NULL, *message = NULL;
        const char *error_name;
        int r;

        if (launch_restore_request(l, &snapshot) < 0)
                return 0;
        launch_remove_restore_request(l);

        r = snapshot_meta_read(snapshot, &meta, &message);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_INVALID_SNAPSHOT, "Cannot restore VM %s: the metadata of %s "
                                    "cannot be read: %s.", l->name, snapshot, message ?: strerror(-r));
        if (l->backend->control == BACKEND_CONTROL_HTTP) {
                _cleanup_free_ char *staged = NULL;

                r = launch_stage_snapshot(l, snapshot, &staged);
                if (r < 0)
                        return start_failed(l, r, MVM_ERROR_START_FAILED, "Cannot restore VM %s: %s cannot be copied "
                                            "for its hypervisor: %m.", l->name, snapshot);
                r = launch_api_restore(l, socket_path, staged, &meta, &error_name, &message);
                api_snapshot_remove(l->backend, staged);
        } else
                r = launch_restore(socket_path, snapshot, &meta, pidfd, &error_name, &message);
        if (r < 0)
                return start_failed(l, r, error_name, "Cannot restore VM %s: %s.", l->name, strna(message));
        return 0;
}

/* The socket the unit's start and stop drive the hypervisor through. */
static int launch_control_socket(const Launch *l, char **ret) {
        return launch_runtime_path(l, l->backend->control == BACKEND_CONTROL_QMP ? MVM_QMP_SOCKET : MVM_API_SOCKET,
                                   ret);
}

static int launch_hypervisor_answers(const Launch *l, const char *socket_path) {
        if (l->backend->control == BACKEND_CONTROL_QMP)
                return qmp_execute_simple(socket_path, "query-status");
        return api_execute(l->backend, socket_path, API_PING, NULL, false, API_CALL_TIMEOUT_USEC, NULL, NULL);
}

/* ExecStartPost: the start job ends only once the hypervisor answers on its control socket, so
 * that a hypervisor that fails as it starts (a kernel it cannot load, say) fails the start, with
 * a named error for StartVM, instead of "succeeding" and crashing right after. */
static int verb_started(Launch *l) {
        _cleanup_free_ char *socket_path = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        const char *e = getenv("MAINPID");
        int r = -ENOENT;

        if (!l->backend)
                return start_failed(l, -ENOENT, MVM_ERROR_START_FAILED, "The start of VM %s did not record its "
                                    "hypervisor.", l->name);
        if (launch_control_socket(l, &socket_path) < 0)
                return log_oom();
        if (e && e[0])
                pidfd = (int) syscall(SYS_pidfd_open, (pid_t) strtol(e, NULL, 10), 0);

        for (int waited = 0; waited < STARTED_TIMEOUT_MS; waited += STARTED_POLL_MS) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };

                r = launch_hypervisor_answers(l, socket_path);
                if (r >= 0) {
                        r = launch_load_snapshot(l, socket_path, pidfd);
                        if (r < 0)
                                return r;
                        return launch_wait_ready(l, pidfd);
                }
                if (pidfd < 0 || poll(&p, 1, STARTED_POLL_MS) > 0)
                        return start_failed(l, ESRCH, MVM_ERROR_START_FAILED,
                                            "The hypervisor of VM %s exited as it started: 'journalctl -u "
                                            MVM_UNIT_PREFIX "%s" MVM_UNIT_SUFFIX "' shows why.", l->name, l->name);
        }
        return start_failed(l, r, MVM_ERROR_START_FAILED, "The hypervisor of VM %s did not answer on %s within %d s: %m.",
                            l->name, socket_path, STARTED_TIMEOUT_MS / 1000);
}

/* How long the agent may take to answer Shutdown, and how long its shutdown may take before the
 * power button is pressed as well (within TimeoutStopSec=, 30 s). */
#define AGENT_SHUTDOWN_ASK_USEC (2 * 1000000u)
#define AGENT_SHUTDOWN_GRACE_MS 15000

static bool launch_ready_recorded(const Launch *l) {
        _cleanup_free_ char *path = NULL;

        return asprintf(&path, "%s/" MVM_READY_FILE, l->runtime_dir) >= 0 && access(path, F_OK) >= 0;
}

/* Waits up to timeout_ms for the hypervisor to exit, or for microvmd to see the guest power off where
 * the hypervisor stays (then systemd's SIGTERM ends it): whether either happened. */
static bool launch_wait_end(const Launch *l, int pidfd, int timeout_ms) {
        for (int waited = 0; waited < timeout_ms; waited += 200) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };

                if (poll(&p, 1, MIN(200, timeout_ms - waited)) > 0)
                        return true;
                if (!l->backend->exits_on_poweroff && launch_has(l, MVM_POWEROFF_MARKER_FILE))
                        return true;
        }
        return false;
}

/* A guest still booting may not listen to its power button yet: press it again this often. */
#define POWER_BUTTON_REPEAT_MS 1000

static int verb_stop(Launch *l) {
        _cleanup_free_ char *socket_path = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        const char *e = getenv("MAINPID");
        pid_t pid;
        int r;

        /* Without $MAINPID the hypervisor has already exited: nothing to ask. */
        if (!e || !e[0])
                return 0;
        pid = (pid_t) strtol(e, NULL, 10);

        /* Wait on the hypervisor's exit itself, not on a socket or stdin. */
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return errno == ESRCH ? 0 : log_error_errno(errno, "Cannot watch process %d: %m", (int) pid);

        /* A guest already powered off has nothing to hear: systemd's SIGTERM ends its hypervisor. */
        if (launch_has(l, MVM_POWEROFF_MARKER_FILE))
                return 0;
        (void) launch_write(l, MVM_STOP_MARKER_FILE, "\n");

        if (!l->backend)
                return 0;       /* systemd's SIGTERM, then SIGKILL, end it */
        if (launch_control_socket(l, &socket_path) < 0)
                return log_oom();

        /* A paused guest would not see the request: it goes on first, to shut down. */
        r = l->backend->control == BACKEND_CONTROL_QMP
                ? qmp_execute_simple(socket_path, "cont")
                : api_execute(l->backend, socket_path, API_RESUME, NULL, false, API_CALL_TIMEOUT_USEC, NULL, NULL);
        if (r < 0)
                log_debug_errno(r, "Could not resume VM %s before stopping it: %m", l->name);

        /* The guest agent first: it shuts down the guest's own way (systemd's poweroff where it has
         * one), and works where the guest ignores the power button. Only where an agent answered in
         * this run: waiting for one that is not there would only delay the power button. */
        r = launch_ready_recorded(l)
                ? launch_agent_call(l, l->backend->exits_on_poweroff ? "Shutdown" : "Reboot", AGENT_SHUTDOWN_ASK_USEC,
                                    pidfd)
                : -ENOENT;
        if (r >= 0) {
                log_info("Asked the guest agent of VM %s to shut down; waiting for the guest.", l->name);
                if (launch_wait_end(l, pidfd, AGENT_SHUTDOWN_GRACE_MS))
                        return 0;
                log_info("VM %s still runs after %d s: pressing its power button too.", l->name,
                         AGENT_SHUTDOWN_GRACE_MS / 1000);
        } else if (r == -EHOSTDOWN)
                return 0;
        else
                log_debug_errno(r, "No guest agent of VM %s answered, using the power button: %m", l->name);

        /* No timeout of our own: systemd's TimeoutStopSec= ends this and kills the hypervisor. */
        for (unsigned presses = 0;; presses++) {
                /* A QEMU still starting has no socket yet, and one busy with another client does not
                 * greet: keep trying while the process lives, within TimeoutStopSec=. */
                r = l->backend->control == BACKEND_CONTROL_QMP
                        ? qmp_execute_simple(socket_path, "system_powerdown")
                        : api_execute(l->backend, socket_path, API_POWER_BUTTON, NULL, false, API_CALL_TIMEOUT_USEC,
                                      NULL, NULL);
                if (r < 0)
                        log_debug_errno(r, "Could not press the power button of VM %s through %s, trying again: %m",
                                        l->name, socket_path);
                else if (presses == 0)
                        log_info("Asked VM %s to power off; waiting for the guest to shut down.", l->name);

                if (launch_wait_end(l, pidfd, POWER_BUTTON_REPEAT_MS))
                        return 0;
        }
}

/* ExecStopPost: systemd passes $SERVICE_RESULT, $EXIT_CODE and $EXIT_STATUS; the markers say
 * what was asked for: a stop (ExecStop), a kill or a kill after a stop timeout (microvmd). */
static StopReason stop_reason(const Launch *l) {
        const char *result = getenv("SERVICE_RESULT") ?: "", *code = getenv("EXIT_CODE") ?: "",
                   *status = getenv("EXIT_STATUS") ?: "";
        bool asked = launch_has(l, MVM_STOP_MARKER_FILE);

        if (launch_has(l, MVM_START_ERROR_FILE))
                return STOP_REASON_START_FAILED;
        /* microvmd stopped the unit because the guest had powered off, unless a stop was asked first. */
        if (launch_has(l, MVM_POWEROFF_MARKER_FILE))
                return asked ? STOP_REASON_STOP_REQUEST : STOP_REASON_GUEST_POWEROFF;
        /* A start that timed out never ran: only a stop can time out into a kill. */
        if ((asked && streq(result, "timeout")) || launch_has(l, MVM_TIMEOUT_MARKER_FILE))
                return STOP_REASON_TIMEOUT_KILL;
        if (launch_has(l, MVM_KILL_MARKER_FILE))
                return STOP_REASON_KILLED;
        if (streq(code, "exited") && streq(status, "0"))
                return asked ? STOP_REASON_STOP_REQUEST : STOP_REASON_GUEST_POWEROFF;
        /* The guest could not be asked (no control socket), so systemd's SIGTERM ended it. */
        if (asked && streq(code, "killed") && streq(status, "TERM"))
                return STOP_REASON_STOP_REQUEST;
        return STOP_REASON_CRASHED;
}

static int verb_stopped(Launch *l) {
        _cleanup_free_ char *line = NULL;
        const char *reason = stop_reason_to_string(stop_reason(l));
        int r;

        launch_unlink(l, MVM_STOP_MARKER_FILE);
        launch_unlink(l, MVM_KILL_MARKER_FILE);
        launch_unlink(l, MVM_TIMEOUT_MARKER_FILE);
        launch_unlink(l, MVM_POWEROFF_MARKER_FILE);

        /* The TAP devices go with the VM; the bridges stay for the others. */
        launch_remove_recorded_taps(l);
        return_lent_files(l->runtime_dir);

        if (asprintf(&line, "%s\n", reason) < 0)
                return log_oom();
        r = launch_write(l, MVM_STOP_REASON_FILE, line);
        if (r < 0)
                return log_error_errno(r, "Failed to record the stop reason of VM %s: %m", l->name);
        log_info("VM %s stopped: %s (hypervisor %s, status %s).", l->name, reason,
                 strempty(getenv("EXIT_CODE")), strempty(getenv("EXIT_STATUS")));
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct {
                const char *verb;
                int (*run)(Launch *l);
        } verbs[] = {
                { "prepare", verb_prepare },
                { "start", verb_start },
                { "started", verb_started },
                { "stop", verb_stop },
                { "stopped", verb_stopped },
        };
        int (*run)(Launch *l) = NULL;
        Launch l = {};
        int r;

        for (size_t i = 0; argc == 3 && i < ELEMENTSOF(verbs); i++)
                if (streq(argv[1], verbs[i].verb))
                        run = verbs[i].run;
        if (!run) {
                fprintf(stderr, "Usage: %s prepare|start|started|stop|stopped NAME\n", program_invocation_short_name);
                return 2;
        }

        r = launch_init(&l, argv[2]);
        if (r >= 0)
                r = run(&l);
        launch_done(&l);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
