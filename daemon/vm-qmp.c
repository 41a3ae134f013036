/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QMP from microvmd: one connection per running VM on its own monitor socket, following QEMU's
 * run state through its STOP and RESUME events, and the calls that pause, resume and snapshot. */

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "bus-errors.h"
#include "fileio.h"
#include "fsync-async.h"
#include "log.h"
#include "manager.h"
#include "qmp-client.h"
#include "snapshot.h"
#include "strv.h"
#include "time-util.h"
#include "vm-files.h"
#include "vm-qmp.h"
#include "vm-unit.h"

#define QMP_RETRY_STARTING_USEC (20 * UINT64_C(1000))
#define QMP_RETRY_USEC (1000 * UINT64_C(1000))
/* A command QEMU does not answer in this time will not be answered. */
#define QMP_CALL_TIMEOUT_USEC (10 * UINT64_C(1000000))
/* Writing the state of a large guest to a slow disk takes a while; past this it is cancelled. */
#define SNAPSHOT_TIMEOUT_USEC (10 * 60 * UINT64_C(1000000))
/* QEMU's default migration bandwidth (128 MiB/s) would make a snapshot of a 256 MiB guest take
 * 0.7 s instead of 0.08 s; a snapshot has no network to spare. */
#define SNAPSHOT_MAX_BANDWIDTH INT64_C(10737418240)
#define SNAPSHOT_FD_NAME "microvm-snapshot"

struct VMQmp {
        VM *vm;
        QmpClient *client;
        sd_event_source *retry;
        bool ready;
        /* The run state was asked for once the unit's start was done: a restore's start may end
         * with QEMU paused, which no event tells. */
        bool status_checked;

        /* The Pause, Resume or Snapshot being done. */
        sd_bus_message *request;

        /* A snapshot under way. */
        char *snapshot_path, *snapshot_tmp;
        int snapshot_fd;
        bool snapshot_paused_by_us;
        bool snapshot_was_paused;
        bool migrating;         /* "migrate" sent; the MIGRATION event ends it */
        sd_event_source *snapshot_timer;
        unsigned snapshot_cont_tries;
        sd_event_source *snapshot_sync;         /* the state file's fsync, in a thread */
        char *snapshot_error_name, *snapshot_error;
};

static void snapshot_clear(VMQmp *q) {
        if (q->snapshot_tmp)
                (void) unlink(q->snapshot_tmp);
        q->snapshot_tmp = mfree(q->snapshot_tmp);
        q->snapshot_path = mfree(q->snapshot_path);
        if (q->snapshot_fd >= 0)
                close(q->snapshot_fd);
        q->snapshot_fd = -EBADF;
        q->snapshot_timer = sd_event_source_disable_unref(q->snapshot_timer);
        q->snapshot_sync = sd_event_source_disable_unref(q->snapshot_sync);
        q->snapshot_error_name = mfree(q->snapshot_error_name);
        q->snapshot_error = mfree(q->snapshot_error);
        q->snapshot_paused_by_us = q->migrating = false;
        q->snapshot_cont_tries = 0;
}

static void qmp_disconnect(VMQmp *q) {
        q->client = qmp_client_free(q->client);
        q->ready = false;
}

void vm_qmp_free(VM *vm) {
        VMQmp *q = vm->qmp;

        if (!q)
                return;
        qmp_disconnect(q);
        bus_reply_pending(&q->request, MVM_ERROR_INVALID_STATE, "VM '%s' stopped.", vm->name);
        snapshot_clear(q);
        sd_event_source_disable_unref(q->retry);
        free(q);
        vm->qmp = NULL;
        vm->hypervisor_paused = false;
}

bool vm_qmp_busy(const VM *vm) {
        return vm->qmp && vm->qmp->request;
}

/* ---- snapshot ---- */

static void snapshot_done(VMQmp *q) {
        VM *vm = q->vm;

        if (q->snapshot_error_name)
                bus_reply_pending(&q->request, q->snapshot_error_name, "Cannot snapshot VM '%s': %s", vm->name,
                                  q->snapshot_error);
        else {
                log_info("Saved VM %s to %s.", vm->name, q->snapshot_path);
                bus_reply_pending(&q->request, NULL, NULL);
        }
        snapshot_clear(q);
}

/* QEMU sends MIGRATION "completed" just before it leaves its finish-migrate state, and refuses
 * "cont" until then ("Migration is not finalized yet"): a refusal is tried again shortly. */
#define SNAPSHOT_CONT_RETRY_USEC UINT64_C(1000)
#define SNAPSHOT_CONT_TRIES 1000

static void snapshot_cont_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata);

static int snapshot_cont_again(sd_event_source *s, uint64_t usec, void *userdata) {
        VMQmp *q = userdata;
        int r;

        q->snapshot_timer = sd_event_source_disable_unref(q->snapshot_timer);
        if (!q->ready) {
                snapshot_cont_reply(NULL, -ECONNRESET, NULL, "the connection to QEMU was lost", q);
                return 0;
        }
        r = qmp_client_call(q->client, "cont", NULL, -EBADF, QMP_CALL_TIMEOUT_USEC, snapshot_cont_reply, q);
        if (r < 0)
                snapshot_cont_reply(q->client, r, NULL, NULL, q);
        return 0;
}

static void snapshot_cont_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata) {
        VMQmp *q = userdata;

        if (r == -EIO && ++q->snapshot_cont_tries < SNAPSHOT_CONT_TRIES &&
            sd_event_add_time_relative(q->vm->manager->event, &q->snapshot_timer, CLOCK_MONOTONIC,
                                       SNAPSHOT_CONT_RETRY_USEC, /* accuracy= */ 1, snapshot_cont_again, q) >= 0)
                return;
        if (r < 0) {
                log_warning("VM %s stays paused after its snapshot: QEMU refused to continue: %s", q->vm->name,
                            error ?: strerror(-r));
                if (!q->snapshot_error_name) {
                        q->snapshot_error_name = strdup(MVM_ERROR_SNAPSHOT_FAILED);
                        if (asprintf(&q->snapshot_error, "the state was saved to %s, but the VM stays paused: QEMU "
                                     "refused to continue (%s); resume it with ResumeVM", q->snapshot_path,
                                     error ?: strerror(-r)) < 0)
                                q->snapshot_error = NULL;
                }
        } else
                vm_set_hypervisor_paused(q->vm, false);
        snapshot_done(q);
}

/* The end of a snapshot, good or not: the VM goes on as it was before, then the caller hears. */
static void snapshot_finish(VMQmp *q, const char *error_name, const char *format, ...) _printf_(3, 4);
static void snapshot_finish(VMQmp *q, const char *error_name, const char *format, ...) {
        int r;

        q->snapshot_timer = sd_event_source_disable_unref(q->snapshot_timer);
        q->migrating = false;
        if (error_name && !q->snapshot_error_name) {
                va_list ap;

                va_start(ap, format);
                if (vasprintf(&q->snapshot_error, format, ap) < 0)
                        q->snapshot_error = NULL;
                va_end(ap);
                q->snapshot_error_name = strdup(error_name);
        }

        if (q->snapshot_paused_by_us && q->ready) {
                q->snapshot_paused_by_us = false;
                r = qmp_client_call(q->client, "cont", NULL, -EBADF, QMP_CALL_TIMEOUT_USEC, snapshot_cont_reply, q);
                if (r >= 0)
                        return;
        }
        snapshot_done(q);
}

/* The state is complete: the file goes where it was asked, its metadata beside it. */
static void snapshot_commit(VMQmp *q) {
        _cleanup_(snapshot_meta_done) SnapshotMeta m = {};
        VM *vm = q->vm;
        struct stat st;
        int r;

        if (fstat(q->snapshot_fd, &st) < 0)
                return snapshot_finish(q, MVM_ERROR_SNAPSHOT_FAILED, "cannot write %s: %m", q->snapshot_tmp);

        m = (SnapshotMeta) {
                .vm = strdup(vm->name),
                .hypervisor = strdup(config_get_string(vm->config, CONFIG_HYPERVISOR)),
                .hypervisor_version = q->client ? strdup(strna(qmp_client_version(q->client))) : NULL,
                .config_hash = snapshot_config_hash(vm->config),
                .created_usec = now_usec(CLOCK_REALTIME),
                .size = (uint64_t) st.st_size,
                .mtime_nsec = (uint64_t) st.st_mtim.tv_sec * UINT64_C(1000000000) + (uint64_t) st.st_mtim.tv_nsec,
                .paused = q->snapshot_was_paused,
        };
        if (!q->client)
                return snapshot_finish(q, MVM_ERROR_INVALID_STATE, "the connection to QEMU was lost");
        if (!m.vm || !m.hypervisor || !m.hypervisor_version || !m.config_hash)
                return snapshot_finish(q, MVM_ERROR_SYSTEM_FAILURE, "out of memory");

        if (rename(q->snapshot_tmp, q->snapshot_path) < 0)
                return snapshot_finish(q, MVM_ERROR_SNAPSHOT_FAILED, "cannot rename %s to %s: %m", q->snapshot_tmp,
                                       q->snapshot_path);
        q->snapshot_tmp = mfree(q->snapshot_tmp);

        r = snapshot_meta_write(q->snapshot_path, &m);
        if (r < 0) {
                (void) unlink(q->snapshot_path);
                return snapshot_finish(q, MVM_ERROR_SNAPSHOT_FAILED, "cannot write %s" SNAPSHOT_META_SUFFIX ": %s",
                                       q->snapshot_path, strerror(-r));
        }
        snapshot_finish(q, NULL, NULL);
}

/* The state reaches the disk before it gets its name, without the event loop waiting for the disk. */
static void snapshot_synced(int error, void *userdata) {
        VMQmp *q = userdata;

        q->snapshot_sync = sd_event_source_disable_unref(q->snapshot_sync);
        if (error != 0) {
                errno = error;
                return snapshot_finish(q, MVM_ERROR_SNAPSHOT_FAILED, "cannot write %s: %m", q->snapshot_tmp);
        }
        snapshot_commit(q);
}

static void snapshot_sync(VMQmp *q) {
        int r = fsync_paths_async(q->vm->manager->event, STRV_MAKE(q->snapshot_tmp), snapshot_synced, q,
                                  &q->snapshot_sync);

        if (r < 0) {
                errno = -r;
                return snapshot_finish(q, MVM_ERROR_SYSTEM_FAILURE, "cannot sync the state: %m");
        }
}

static void snapshot_migration_status(VMQmp *q, const char *status) {
        if (!q->migrating || !status)
                return;
        if (streq(status, "completed")) {
                /* Written: only the sync is left, which no timeout should cut short. */
                q->migrating = false;
                q->snapshot_timer = sd_event_source_disable_unref(q->snapshot_timer);
                snapshot_sync(q);
        }
        else if (streq(status, "failed") || streq(status, "cancelled"))
                snapshot_finish(q, MVM_ERROR_SNAPSHOT_FAILED, "QEMU could not write the state (migration %s); "
                                "'journalctl -u %s' may tell why", status, q->vm->unit);
}

static int snapshot_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        VMQmp *q = userdata;

        if (q->client)
                (void) qmp_client_call(q->client, "migrate_cancel", NULL, -EBADF, QMP_CALL_TIMEOUT_USEC, NULL, NULL);
        snapshot_finish(q, MVM_ERROR_SNAPSHOT_FAILED, "writing the state took longer than %" PRIu64 " s",
                        SNAPSHOT_TIMEOUT_USEC / 1000000);
        return 0;
}

static void snapshot_step_failed(VMQmp *q, const char *what, int r, const char *error) {
        snapshot_finish(q, r == -ECONNRESET ? MVM_ERROR_INVALID_STATE : MVM_ERROR_SNAPSHOT_FAILED, "QEMU %s: %s", what,
                        error ?: strerror(-r));
}

static void snapshot_migrate_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata) {
        VMQmp *q = userdata;

        if (r < 0) {
                q->migrating = false;
                return snapshot_step_failed(q, "refused to write the state", r, error);
        }
}

static void snapshot_getfd_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata) {
        VMQmp *q = userdata;
        json_object *args;

        if (r < 0)
                return snapshot_step_failed(q, "did not take the file", r, error);

        args = json_object_new_object();
        json_object_object_add(args, "uri", json_object_new_string("fd:" SNAPSHOT_FD_NAME));
        q->migrating = true;
        r = qmp_client_call(c, "migrate", args, -EBADF, QMP_CALL_TIMEOUT_USEC, snapshot_migrate_reply, q);
        if (r < 0) {
                q->migrating = false;
                return snapshot_step_failed(q, "cannot be asked to write the state", r, NULL);
        }
        r = sd_event_add_time_relative(q->vm->manager->event, &q->snapshot_timer, CLOCK_MONOTONIC,
                                       SNAPSHOT_TIMEOUT_USEC, 0, snapshot_timeout, q);
        if (r < 0)
                log_warning_errno(r, "Cannot bound the snapshot of VM %s in time, ignoring: %m", q->vm->name);
}

static void snapshot_params_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata) {
        VMQmp *q = userdata;
        json_object *args;

        if (r < 0)
                return snapshot_step_failed(q, "refused the migration parameters", r, error);

        args = json_object_new_object();
        json_object_object_add(args, "fdname", json_object_new_string(SNAPSHOT_FD_NAME));
        r = qmp_client_call(c, "getfd", args, q->snapshot_fd, QMP_CALL_TIMEOUT_USEC, snapshot_getfd_reply, q);
        if (r < 0)
                snapshot_step_failed(q, "cannot be given the file", r, NULL);
}

static void snapshot_caps_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata) {
        VMQmp *q = userdata;
        json_object *args;

        if (r < 0)
                return snapshot_step_failed(q, "refused the migration capabilities", r, error);

        args = json_object_new_object();
        json_object_object_add(args, "max-bandwidth", json_object_new_int64(SNAPSHOT_MAX_BANDWIDTH));
        r = qmp_client_call(c, "migrate-set-parameters", args, -EBADF, QMP_CALL_TIMEOUT_USEC, snapshot_params_reply, q);
        if (r < 0)
                snapshot_step_failed(q, "cannot be configured", r, NULL);
}

/* The completion comes as a MIGRATION event, which QEMU sends only with this capability. */
static void snapshot_set_caps(VMQmp *q) {
        json_object *args = json_object_new_object(), *caps = json_object_new_array(), *cap = json_object_new_object();
        int r;

        json_object_object_add(cap, "capability", json_object_new_string("events"));
        json_object_object_add(cap, "state", json_object_new_boolean(true));
        json_object_array_add(caps, cap);
        json_object_object_add(args, "capabilities", caps);
        r = qmp_client_call(q->client, "migrate-set-capabilities", args, -EBADF, QMP_CALL_TIMEOUT_USEC,
                            snapshot_caps_reply, q);
        if (r < 0)
                snapshot_step_failed(q, "cannot be configured", r, NULL);
}

static void snapshot_stop_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata) {
        VMQmp *q = userdata;

        if (r < 0)
                return snapshot_step_failed(q, "did not pause the VM", r, error);
        q->snapshot_paused_by_us = true;
        snapshot_set_caps(q);
}

int vm_qmp_snapshot(VM *vm, sd_bus_message *request, const char *path, uid_t uid, gid_t gid, sd_bus_error *error) {
        VMQmp *q = vm->qmp;
        _cleanup_free_ char *dir = strdup(path), *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        char *slash;
        int r;

        if (!q || !q->ready)
                return sd_bus_error_setf(error, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                         "The hypervisor of VM '%s' does not answer on its control socket yet.",
                                         vm->name);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        *slash = '\0';
        /* Hidden, and owned by the caller from the start. */
        if (asprintf(&tmp, "%s/.%s.XXXXXX", dir[0] ? dir : "", slash + 1) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_ARGUMENT,
                                         "Cannot write a snapshot to %s: %s. Choose a path in a writable directory.",
                                         path, strerror(errno));
        if ((uid != 0 || (gid != 0 && gid != (gid_t) -1)) && fchown(fd, uid, gid) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return bus_error_system(error, r, "Cannot give %s to its owner", tmp);
        }

        q->snapshot_path = strdup(path);
        if (!q->snapshot_path) {
                (void) unlink(tmp);
                return -ENOMEM;
        }
        q->snapshot_tmp = TAKE_PTR(tmp);
        q->snapshot_fd = TAKE_FD(fd);
        q->snapshot_was_paused = vm->state == VM_PAUSED;
        q->request = sd_bus_message_ref(request);
        log_info("Saving VM %s to %s.", vm->name, path);

        /* Stopped first: the state is written in one pass, with nothing changing under it. */
        if (q->snapshot_was_paused)
                snapshot_set_caps(q);
        else {
                r = qmp_client_call(q->client, "stop", NULL, -EBADF, QMP_CALL_TIMEOUT_USEC, snapshot_stop_reply, q);
                if (r < 0)
                        snapshot_step_failed(q, "cannot be asked to pause", r, NULL);
        }
        return 1;
}

/* ---- pause and resume ---- */

static void run_state_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata) {
        VMQmp *q = userdata;
        const char *member = sd_bus_message_get_member(q->request);
        bool pause = strstr(member, "Pause") != NULL;

        if (r < 0) {
                bus_reply_pending(&q->request,
                                  r == -ECONNRESET ? MVM_ERROR_INVALID_STATE : MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                  "QEMU did not %s VM '%s': %s", pause ? "pause" : "resume", q->vm->name,
                                  error ?: strerror(-r));
                return;
        }
        /* The event has said so already, or will: the state is what the caller sees next. */
        vm_set_hypervisor_paused(q->vm, pause);
        log_info("%s VM %s.", pause ? "Paused" : "Resumed", q->vm->name);
        bus_reply_pending(&q->request, NULL, NULL);
}

static int run_state_call(VM *vm, sd_bus_message *request, const char *command, sd_bus_error *error) {
        VMQmp *q = vm->qmp;
        int r;

        if (!q || !q->ready)
                return sd_bus_error_setf(error, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                         "The hypervisor of VM '%s' does not answer on its control socket yet.",
                                         vm->name);
        r = qmp_client_call(q->client, command, NULL, -EBADF, QMP_CALL_TIMEOUT_USEC, run_state_reply, q);
        if (r < 0)
                return sd_bus_error_setf(error, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                         "Cannot reach the hypervisor of VM '%s': %s", vm->name, strerror(-r));
        q->request = sd_bus_message_ref(request);
        return 1;
}

int vm_qmp_pause(VM *vm, sd_bus_message *request, sd_bus_error *error) {
        return run_state_call(vm, request, "stop", error);
}

int vm_qmp_resume(VM *vm, sd_bus_message *request, sd_bus_error *error) {
        return run_state_call(vm, request, "cont", error);
}

/* ---- the connection ---- */

static void qmp_on_event(QmpClient *c, const char *event, json_object *data, void *userdata) {
        VMQmp *q = userdata;
        json_object *status;

        if (streq(event, "STOP"))
                vm_set_hypervisor_paused(q->vm, true);
        else if (streq(event, "RESUME"))
                vm_set_hypervisor_paused(q->vm, false);
        else if (streq(event, "MIGRATION") && json_object_object_get_ex(data, "status", &status))
                snapshot_migration_status(q, json_object_get_string(status));
}

static void query_status_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata) {
        VMQmp *q = userdata;
        json_object *status;
        const char *s;

        if (r < 0 || !json_object_object_get_ex(result, "status", &status))
                return;
        s = json_object_get_string(status);
        /* Loading a snapshot is part of the start, not a pause. */
        vm_set_hypervisor_paused(q->vm, !streq(s, "running") && !streq(s, "inmigrate"));
}

static void qmp_query_status(VMQmp *q) {
        int r;

        q->status_checked = IN_SET(q->vm->state, VM_RUNNING, VM_PAUSED);
        r = qmp_client_call(q->client, "query-status", NULL, -EBADF, QMP_CALL_TIMEOUT_USEC, query_status_reply, q);
        if (r < 0)
                log_debug_errno(r, "Cannot ask VM %s for its run state: %m", q->vm->name);
}

static void qmp_schedule_retry(VMQmp *q);

static void qmp_on_state(QmpClient *c, int r, void *userdata) {
        VMQmp *q = userdata;

        if (r >= 0) {
                q->ready = true;
                log_debug("Connected to the QMP monitor of VM %s (QEMU %s).", q->vm->name,
                          strna(qmp_client_version(c)));
                qmp_query_status(q);
                return;
        }

        log_debug_errno(r, "The QMP connection of VM %s closed: %m", q->vm->name);
        qmp_disconnect(q);
        qmp_schedule_retry(q);
}

static int qmp_connect(VMQmp *q) {
        _cleanup_free_ char *dir = NULL, *path = NULL;

        if (vm_runtime_dir(q->vm->name, &dir) < 0 || asprintf(&path, "%s/" MVM_QMP_MANAGER_SOCKET, dir) < 0)
                return -ENOMEM;
        return qmp_client_connect(q->vm->manager->event, path, qmp_on_state, qmp_on_event, q, &q->client);
}

static bool qmp_wanted(const VM *vm) {
        const Backend *b = vm_backend(vm);

        return IN_SET(vm->state, VM_STARTING, VM_RUNNING, VM_PAUSED) && b && b->control == BACKEND_CONTROL_QMP;
}

static int qmp_retry_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        VMQmp *q = userdata;

        q->retry = sd_event_source_disable_unref(q->retry);
        if (!qmp_wanted(q->vm) || q->client)
                return 0;
        if (qmp_connect(q) < 0)
                qmp_schedule_retry(q);
        return 0;
}

static void qmp_schedule_retry(VMQmp *q) {
        int r;

        if (q->retry || !qmp_wanted(q->vm))
                return;
        r = sd_event_add_time_relative(q->vm->manager->event, &q->retry, CLOCK_MONOTONIC,
                                       q->vm->state == VM_STARTING ? QMP_RETRY_STARTING_USEC : QMP_RETRY_USEC,
                                       /* accuracy= */ 1, qmp_retry_handler, q);
        if (r < 0)
                log_warning_errno(r, "Cannot schedule connecting to the hypervisor of VM %s: %m", q->vm->name);
}

void vm_qmp_follow_state(VM *vm) {
        VMQmp *q = vm->qmp;

        if (!vm->manager || !vm->manager->event)
                return;
        if (vm_state_is_active(vm->state) <= 0) {
                vm_qmp_free(vm);
                return;
        }
        if (!qmp_wanted(vm))
                return;

        if (!q) {
                q = calloc(1, sizeof(VMQmp));
                if (!q)
                        return (void) log_oom();
                q->vm = vm;
                q->snapshot_fd = -EBADF;
                vm->qmp = q;
        }
        if (q->ready && !q->status_checked && vm->state == VM_RUNNING)
                qmp_query_status(q);
        if (q->client || q->retry)
                return;
        if (qmp_connect(q) < 0)
                qmp_schedule_retry(q);
}
