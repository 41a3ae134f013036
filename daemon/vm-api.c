/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pause, resume, snapshot and the run state of Firecracker and cloud-hypervisor VMs, one HTTP
 * request per step on microvmd's loop. */

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>

#include "backend.h"
#include "fsync-async.h"
#include "bus-errors.h"
#include "http-client.h"
#include "hypervisor-api.h"
#include "log.h"
#include "manager.h"
#include "snapshot.h"
#include "strv.h"
#include "time-util.h"
#include "vm-api.h"
#include "vm-files.h"

/* A pause, resume or state query that takes longer has gone wrong. */
#define API_CALL_TIMEOUT_USEC (5 * UINT64_C(1000000))
/* Writing the guest's memory: as QEMU's snapshot is bounded. */
#define API_SNAPSHOT_TIMEOUT_USEC (10 * 60 * UINT64_C(1000000))

typedef enum SnapshotStep {
        SNAPSHOT_NONE,
        SNAPSHOT_PAUSE,
        SNAPSHOT_SAVE,
        SNAPSHOT_RESUME,
} SnapshotStep;

struct VMApi {
        VM *vm;
        HttpRequest *probe;             /* the version and state query, in the background */
        HttpRequest *call;              /* the step of the bus call under way */
        sd_bus_message *request;        /* that bus call */
        char *version;                  /* the hypervisor's, from API_PING; NULL: not yet */
        bool state_checked;

        SnapshotStep step;
        char *snapshot_path;            /* where the caller wants it */
        char *snapshot_tmp;             /* where the hypervisor writes it first */
        sd_event_source *snapshot_sync; /* its fsync, in a thread */
        uid_t uid;
        gid_t gid;
        bool paused_by_us;              /* the snapshot paused a running VM: it resumes it */
        char *error_name, *error;       /* a failed snapshot, told once the VM went on */
};

static const char *display_name(const VMApi *a) {
        const Backend *b = vm_backend(a->vm);
        return b ? b->display_name : "the hypervisor";
}

/* What went wrong with a request, for the caller: the hypervisor's own reason where it gave one. */
static char *request_problem(const VMApi *a, int r, unsigned status, const char *body) {
        char *s;

        if (r == -ETIMEDOUT)
                return asprintf(&s, "%s did not answer within its time", display_name(a)) < 0 ? NULL : s;
        if (r == -ECONNRESET)
                return asprintf(&s, "%s closed its API connection without answering", display_name(a)) < 0 ? NULL : s;
        if (r < 0)
                return asprintf(&s, "%s cannot be reached on its API socket: %s", display_name(a), strerror(-r)) < 0
                                       ? NULL : s;
        _cleanup_free_ char *fault = api_fault_message(status, body);
        return asprintf(&s, "%s refused: %s", display_name(a), strna(fault)) < 0 ? NULL : s;
}

static int api_socket_path(const VM *vm, char **ret) {
        _cleanup_free_ char *dir = NULL;

        if (vm_runtime_dir(vm->name, &dir) < 0 || asprintf(ret, "%s/" MVM_API_SOCKET, dir) < 0)
                return -ENOMEM;
        return 0;
}

static int api_send(VMApi *a, HttpRequest **slot, ApiOperation op, const char *path, bool resume, uint64_t timeout,
                    HttpReplyHandler handler) {
        _cleanup_(api_request_done) ApiRequest req = {};
        _cleanup_free_ char *socket = NULL;
        const Backend *b = vm_backend(a->vm);
        int r;

        if (!b)
                return -EOPNOTSUPP;
        r = api_request_build(b, op, path, resume, &req);
        if (r >= 0)
                r = api_socket_path(a->vm, &socket);
        if (r < 0)
                return r;
        return http_request_start(a->vm->manager->event, socket, req.method, req.path, req.body, timeout, handler, a,
                                  slot);
}

/* ---- the run state ---- */

static void state_reply(HttpRequest *req, int r, unsigned status, const char *body, size_t size, void *userdata) {
        VMApi *a = userdata;

        a->probe = NULL;
        if (r < 0 || !api_status_ok(status))
                return (void) log_debug("Cannot learn the run state of VM %s from %s.", a->vm->name, display_name(a));
        r = api_state_is_paused(body);
        if (r >= 0)
                vm_set_hypervisor_paused(a->vm, r > 0);
}

static void ping_reply(HttpRequest *req, int r, unsigned status, const char *body, size_t size, void *userdata) {
        VMApi *a = userdata;

        a->probe = NULL;
        if (r >= 0 && api_status_ok(status)) {
                free(a->version);
                a->version = api_version(body);
        }
        r = api_send(a, &a->probe, API_STATE, NULL, false, API_CALL_TIMEOUT_USEC, state_reply);
        if (r < 0)
                log_debug_errno(r, "Cannot ask VM %s for its run state: %m", a->vm->name);
}

void vm_api_follow_state(VM *vm) {
        const Backend *b = vm_backend(vm);
        VMApi *a = vm->api;
        int r;

        if (!vm->manager || !vm->manager->event)
                return;
        if (vm_state_is_active(vm->state) <= 0 || !b || b->control != BACKEND_CONTROL_HTTP) {
                vm_api_free(vm);
                return;
        }
        if (!a) {
                a = calloc(1, sizeof(VMApi));
                if (!a)
                        return (void) log_oom();
                a->vm = vm;
                vm->api = a;
        }
        /* Once per run, when the start is done: a restored VM may be paused. */
        if (a->state_checked || vm->state != VM_RUNNING || a->probe)
                return;
        a->state_checked = true;
        r = api_send(a, &a->probe, API_PING, NULL, false, API_CALL_TIMEOUT_USEC, ping_reply);
        if (r < 0)
                log_debug_errno(r, "Cannot ask VM %s for its version: %m", vm->name);
}

bool vm_api_busy(const VM *vm) {
        return vm->api && vm->api->request;
}

/* ---- pause and resume ---- */

static void run_state_reply(HttpRequest *req, int r, unsigned status, const char *body, size_t size, void *userdata) {
        VMApi *a = userdata;
        bool pause = strstr(sd_bus_message_get_member(a->request), "Pause") != NULL;
        _cleanup_free_ char *problem = NULL;

        a->call = NULL;
        if (r < 0 || !api_status_ok(status)) {
                problem = request_problem(a, r, status, body);
                log_warning("Could not %s VM %s: %s.", pause ? "pause" : "resume", a->vm->name, strna(problem));
                bus_reply_pending(&a->request, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "VM '%s' was not %s: %s.",
                                  a->vm->name, pause ? "paused" : "resumed", strna(problem));
                return;
        }
        vm_set_hypervisor_paused(a->vm, pause);
        log_info("%s VM %s.", pause ? "Paused" : "Resumed", a->vm->name);
        bus_reply_pending(&a->request, NULL, NULL);
}

static int run_state_call(VM *vm, sd_bus_message *request, ApiOperation op, sd_bus_error *error) {
        VMApi *a = vm->api;
        int r;

        if (!a)
                return sd_bus_error_setf(error, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                         "The hypervisor of VM '%s' is not running.", vm->name);
        r = api_send(a, &a->call, op, NULL, false, API_CALL_TIMEOUT_USEC, run_state_reply);
        if (r < 0)
                return sd_bus_error_setf(error, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                         "Cannot reach %s of VM '%s' on its API socket: %s", display_name(a), vm->name,
                                         strerror(-r));
        a->request = sd_bus_message_ref(request);
        return 1;
}

int vm_api_pause(VM *vm, sd_bus_message *request, sd_bus_error *error) {
        return run_state_call(vm, request, API_PAUSE, error);
}

int vm_api_resume(VM *vm, sd_bus_message *request, sd_bus_error *error) {
        return run_state_call(vm, request, API_RESUME, error);
}

/* ---- snapshot ---- */

static void snapshot_clear(VMApi *a) {
        const Backend *b = vm_backend(a->vm);

        a->snapshot_sync = sd_event_source_disable_unref(a->snapshot_sync);
        if (a->snapshot_tmp && b)
                api_snapshot_remove(b, a->snapshot_tmp);
        a->snapshot_tmp = mfree(a->snapshot_tmp);
        a->snapshot_path = mfree(a->snapshot_path);
        a->error_name = mfree(a->error_name);
        a->error = mfree(a->error);
        a->paused_by_us = false;
        a->step = SNAPSHOT_NONE;
}

static void snapshot_done(VMApi *a) {
        if (a->error_name)
                bus_reply_pending(&a->request, a->error_name, "%s", a->error);
        else
                bus_reply_pending(&a->request, NULL, NULL);
        snapshot_clear(a);
}

static void snapshot_resume_reply(HttpRequest *req, int r, unsigned status, const char *body, size_t size,
                                  void *userdata) {
        VMApi *a = userdata;

        a->call = NULL;
        if (r >= 0 && api_status_ok(status))
                vm_set_hypervisor_paused(a->vm, false);
        else if (!a->error_name) {
                _cleanup_free_ char *problem = request_problem(a, r, status, body);

                a->error_name = strdup(MVM_ERROR_SNAPSHOT_FAILED);
                (void) asprintf(&a->error, "The snapshot of VM '%s' is saved at %s, but the VM stays paused: %s. "
                                "Resume it with ResumeVM.", a->vm->name, a->snapshot_path, strna(problem));
        }
        snapshot_done(a);
}

/* Goes on with a VM the snapshot paused, then answers. */
static void snapshot_finish(VMApi *a) {
        int r;

        if (!a->paused_by_us)
                return snapshot_done(a);
        a->step = SNAPSHOT_RESUME;
        r = api_send(a, &a->call, API_RESUME, NULL, false, API_CALL_TIMEOUT_USEC, snapshot_resume_reply);
        if (r < 0)
                snapshot_resume_reply(NULL, r, 0, "", 0, a);
}

static void snapshot_failed(VMApi *a, const char *format, ...) _printf_(2, 3);
static void snapshot_failed(VMApi *a, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (!a->error_name) {
                a->error_name = strdup(MVM_ERROR_SNAPSHOT_FAILED);
                if (vasprintf(&a->error, format, ap) < 0)
                        a->error = NULL;
        }
        va_end(ap);
        log_warning("%s", strna(a->error));
        snapshot_finish(a);
}

/* The snapshot at tmp becomes its caller's. */
static int chown_snapshot(const VMApi *a, const Backend *b, const char *tmp) {
        _cleanup_(strv_freep) char **files = NULL;
        int r;

        r = api_snapshot_files(b, tmp, &files);
        if (r < 0)
                return r;
        for (char **f = files; *f; f++)
                if (lchown(*f, a->uid, a->gid) < 0 && errno != ENOENT)
                        return -errno;
        return 0;
}

/* The hypervisor wrote the snapshot at the temporary path: it takes the caller's name, with its
 * metadata beside it. */
static int snapshot_put_in_place(VMApi *a, const Backend *b) {
        _cleanup_(snapshot_meta_done) SnapshotMeta meta = {};
        _cleanup_free_ char *state = NULL;
        struct stat st;
        int r;

        r = chown_snapshot(a, b, a->snapshot_tmp);
        if (r < 0)
                return r;
        if (api_snapshot_is_directory(b)) {
                /* A directory does not replace another: the older snapshot goes first. */
                api_snapshot_remove(b, a->snapshot_path);
                if (rename(a->snapshot_tmp, a->snapshot_path) < 0)
                        return -errno;
        } else {
                _cleanup_free_ char *from = NULL, *to = NULL;
                const char *suffix = api_snapshot_memory_suffix(b);

                if (asprintf(&from, "%s%s", a->snapshot_tmp, suffix) < 0 ||
                    asprintf(&to, "%s%s", a->snapshot_path, suffix) < 0)
                        return -ENOMEM;
                if (rename(from, to) < 0 || rename(a->snapshot_tmp, a->snapshot_path) < 0)
                        return -errno;
        }
        a->snapshot_tmp = mfree(a->snapshot_tmp);

        r = snapshot_state_path(b->name, a->snapshot_path, &state);
        if (r < 0)
                return r;
        if (stat(state, &st) < 0)
                return -errno;
        meta = (SnapshotMeta) {
                .vm = strdup(a->vm->name),
                .hypervisor = strdup(b->name),
                .hypervisor_version = strdup(a->version ?: "unknown"),
                .config_hash = snapshot_config_hash(a->vm->config),
                .created_usec = now_usec(CLOCK_REALTIME),
                .size = (uint64_t) st.st_size,
                .mtime_nsec = (uint64_t) st.st_mtim.tv_sec * UINT64_C(1000000000) + (uint64_t) st.st_mtim.tv_nsec,
                .paused = !a->paused_by_us,
        };
        if (!meta.vm || !meta.hypervisor || !meta.hypervisor_version || !meta.config_hash)
                return -ENOMEM;
        return snapshot_meta_write(a->snapshot_path, &meta);
}

/* On the disk: the snapshot takes its name. */
static void snapshot_synced(int error, void *userdata) {
        VMApi *a = userdata;
        const Backend *b = vm_backend(a->vm);
        int r;

        a->snapshot_sync = sd_event_source_disable_unref(a->snapshot_sync);
        if (error != 0)
                return snapshot_failed(a, "The snapshot of VM '%s' could not be written to the disk: %s.", a->vm->name,
                                       strerror(error));
        r = b ? snapshot_put_in_place(a, b) : -EOPNOTSUPP;
        if (r < 0)
                return snapshot_failed(a, "The snapshot of VM '%s' could not be put at %s: %s.", a->vm->name,
                                       a->snapshot_path, strerror(-r));
        log_info("Saved a snapshot of VM %s to %s.", a->vm->name, a->snapshot_path);
        snapshot_finish(a);
}

static void snapshot_save_reply(HttpRequest *req, int r, unsigned status, const char *body, size_t size,
                                void *userdata) {
        VMApi *a = userdata;
        const Backend *b = vm_backend(a->vm);
        _cleanup_(strv_freep) char **files = NULL;
        _cleanup_free_ char *problem = NULL;

        a->call = NULL;
        if (r < 0 || !api_status_ok(status)) {
                problem = request_problem(a, r, status, body);
                return snapshot_failed(a, "No snapshot of VM '%s' was saved: %s.", a->vm->name, strna(problem));
        }
        /* Written, but perhaps only to the page cache. */
        r = b ? api_snapshot_files(b, a->snapshot_tmp, &files) : -EOPNOTSUPP;
        if (r >= 0)
                r = fsync_paths_async(a->vm->manager->event, files, snapshot_synced, a, &a->snapshot_sync);
        if (r < 0)
                return snapshot_failed(a, "The snapshot of VM '%s' could not be written to the disk: %s.", a->vm->name,
                                       strerror(-r));
}

static void snapshot_save(VMApi *a) {
        int r;

        a->step = SNAPSHOT_SAVE;
        r = api_send(a, &a->call, API_SNAPSHOT, a->snapshot_tmp, false, API_SNAPSHOT_TIMEOUT_USEC, snapshot_save_reply);
        if (r < 0)
                snapshot_save_reply(NULL, r, 0, "", 0, a);
}

static void snapshot_pause_reply(HttpRequest *req, int r, unsigned status, const char *body, size_t size,
                                 void *userdata) {
        VMApi *a = userdata;
        _cleanup_free_ char *problem = NULL;

        a->call = NULL;
        if (r < 0 || !api_status_ok(status)) {
                problem = request_problem(a, r, status, body);
                /* Nothing was paused: nothing to resume. */
                return snapshot_failed(a, "VM '%s' could not be paused for its snapshot: %s.", a->vm->name,
                                       strna(problem));
        }
        a->paused_by_us = true;
        vm_set_hypervisor_paused(a->vm, true);
        snapshot_save(a);
}

/* Where the hypervisor writes first: in the VM's state directory, the one place outside its runtime
 * directory where it may write, and as its own user. The snapshot then takes its name by a rename, so
 * the path must be on the same filesystem, in a directory microvmd may write. */
static int snapshot_make_tmp(VMApi *a, const Backend *b, const char *path, sd_bus_error *error) {
        _cleanup_free_ char *dir = strdup(path), *tmp = NULL;
        struct stat dir_st, state_st;
        struct passwd *pw;
        char *slash;
        int r;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        *slash = '\0';
        if (access(dir[0] ? dir : "/", W_OK) < 0 || stat(dir[0] ? dir : "/", &dir_st) < 0)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_ARGUMENT, "Cannot write a snapshot to %s: %s. "
                                         "Choose a path in a writable directory.", path, strerror(errno));
        if (stat(a->vm->state_dir, &state_st) < 0)
                return bus_error_system(error, -errno, "Cannot examine %s", a->vm->state_dir);
        if (dir_st.st_dev != state_st.st_dev)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_ARGUMENT, "Cannot write a snapshot to %s: %s "
                                         "writes snapshots into %s and moves them, so the path must be on the same "
                                         "filesystem; choose one below %s.", path, b->display_name,
                                         a->vm->state_dir, MVM_LOCALSTATEDIR "/lib/microvm");

        /* The user is looked up here, not at startup: sysusers may have made it since. */
        errno = 0;
        pw = getpwnam(MVM_HYPERVISOR_USER);
        if (!pw)
                return bus_error_system(error, errno > 0 ? -errno : -ESRCH, "Cannot find the user "
                                        MVM_HYPERVISOR_USER);

        if (asprintf(&tmp, "%s/.snapshot.XXXXXX", a->vm->state_dir) < 0)
                return -ENOMEM;
        if (api_snapshot_is_directory(b)) {
                if (!mkdtemp(tmp))
                        return bus_error_system(error, -errno, "Cannot make %s", tmp);
        } else {
                _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);

                if (fd < 0)
                        return bus_error_system(error, -errno, "Cannot make %s", tmp);
        }
        if (lchown(tmp, pw->pw_uid, pw->pw_gid) < 0) {
                r = -errno;
                api_snapshot_remove(b, tmp);
                return bus_error_system(error, r, "Cannot give %s to " MVM_HYPERVISOR_USER, tmp);
        }
        a->snapshot_tmp = TAKE_PTR(tmp);
        return 0;
}

int vm_api_snapshot(VM *vm, sd_bus_message *request, const char *path, uid_t uid, gid_t gid, sd_bus_error *error) {
        const Backend *b = vm_backend(vm);
        VMApi *a = vm->api;
        int r;

        if (!a || !b)
                return sd_bus_error_setf(error, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                         "The hypervisor of VM '%s' is not running.", vm->name);
        a->uid = uid;
        a->gid = gid;
        r = snapshot_make_tmp(a, b, path, error);
        if (r < 0)
                return r;
        a->snapshot_path = strdup(path);
        if (!a->snapshot_path) {
                snapshot_clear(a);
                return -ENOMEM;
        }
        a->request = sd_bus_message_ref(request);

        /* Both hypervisors save only a paused VM. */
        if (vm->state == VM_PAUSED) {
                snapshot_save(a);
                return 1;
        }
        a->step = SNAPSHOT_PAUSE;
        r = api_send(a, &a->call, API_PAUSE, NULL, false, API_CALL_TIMEOUT_USEC, snapshot_pause_reply);
        if (r < 0) {
                a->request = sd_bus_message_unref(a->request);
                snapshot_clear(a);
                return sd_bus_error_setf(error, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "Cannot reach %s of VM '%s' on its "
                                         "API socket: %s", b->display_name, vm->name, strerror(-r));
        }
        return 1;
}

void vm_api_free(VM *vm) {
        VMApi *a = vm->api;

        if (!a)
                return;
        a->probe = http_request_cancel(a->probe);
        a->call = http_request_cancel(a->call);
        bus_reply_pending(&a->request, MVM_ERROR_INVALID_STATE, "VM '%s' stopped.", vm->name);
        snapshot_clear(a);
        free(a->version);
        free(a);
        vm->api = NULL;
        vm->hypervisor_paused = false;
}
