/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-errors.h"
#include "launch-restore.h"
#include "log.h"
#include "macro.h"
#include "problem.h"
#include "qmp-command.h"
#include "time-util.h"

/* Loading reads the whole file; on a slow disk a large guest takes a while. */
#define RESTORE_TIMEOUT_USEC (10 * 60 * UINT64_C(1000000))
#define RESTORE_POLL_MS 1
#define RESTORE_FD_NAME "microvm-restore"

/* Names the bus error and says what to fix. */
#define fail(ret_error_name, ret_message, name, ...) \
        (*(ret_error_name) = (name), problem_set(-EIO, (ret_message), __VA_ARGS__))

static int query_status(QmpSession *s, char **ret) {
        json_object *result = NULL, *status;
        int r;

        r = qmp_session_execute(s, "query-status", NULL, -EBADF, &result, NULL);
        if (r < 0)
                return r;
        r = json_object_object_get_ex(result, "status", &status) ? 0 : -EBADMSG;
        if (r >= 0)
                r = (*ret = strdup(json_object_get_string(status))) ? 0 : -ENOMEM;
        json_object_put(result);
        return r;
}

int launch_restore(const char *qmp_path, const char *path, const SnapshotMeta *meta, int pidfd,
                   const char **ret_error_name, char **ret_message) {
        _cleanup_(qmp_session_closep) QmpSession *s = NULL;
        _cleanup_free_ char *error = NULL, *status = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + RESTORE_TIMEOUT_USEC;
        const char *version;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return fail(ret_error_name, ret_message, MVM_ERROR_INVALID_SNAPSHOT, "cannot open the snapshot %s: %m",
                            path);

        r = qmp_session_open(qmp_path, &s);
        if (r < 0)
                return fail(ret_error_name, ret_message, MVM_ERROR_START_FAILED,
                            "cannot reach the hypervisor on %s: %s", qmp_path, strerror(-r));

        /* A state file is only sure to load into the QEMU that wrote it. */
        version = qmp_session_version(s);
        if (!streq_ptr(version, meta->hypervisor_version))
                return fail(ret_error_name, ret_message, MVM_ERROR_SNAPSHOT_MISMATCH,
                            "%s was taken with QEMU %s, but this is QEMU %s: restore it where that version runs, "
                            "or take a new snapshot", path, meta->hypervisor_version, strna(version));

        r = qmp_session_execute(s, "getfd", "{\"fdname\": \"" RESTORE_FD_NAME "\"}", fd, NULL, &error);
        if (r >= 0)
                r = qmp_session_execute(s, "migrate-incoming", "{\"uri\": \"fd:" RESTORE_FD_NAME "\"}", -EBADF,
                                        NULL, &error);
        if (r < 0)
                return fail(ret_error_name, ret_message, MVM_ERROR_START_FAILED,
                            "QEMU refused to load %s: %s", path, error ?: strerror(-r));

        /* QEMU exits when the state does not load; done, it waits paused (-S). */
        for (;;) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };

                status = mfree(status);
                r = query_status(s, &status);
                if (r < 0 || (pidfd >= 0 && poll(&p, 1, 0) > 0))
                        return fail(ret_error_name, ret_message, MVM_ERROR_INVALID_SNAPSHOT,
                                    "QEMU could not load %s, which is damaged or does not fit this VM: "
                                    "its journal tells more", path);
                if (!streq(status, "inmigrate"))
                        break;
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return fail(ret_error_name, ret_message, MVM_ERROR_START_FAILED,
                                    "loading %s took longer than %" PRIu64 " s", path,
                                    RESTORE_TIMEOUT_USEC / 1000000);
                (void) poll(&p, pidfd >= 0 ? 1 : 0, RESTORE_POLL_MS);
        }

        if (meta->paused) {
                log_info("Restored %s; the VM stays paused, as it was.", path);
                return 0;
        }
        r = qmp_session_execute(s, "cont", NULL, -EBADF, NULL, &error);
        if (r < 0)
                return fail(ret_error_name, ret_message, MVM_ERROR_START_FAILED,
                            "QEMU loaded %s but does not run it: %s", path, error ?: strerror(-r));
        log_info("Restored %s; the VM goes on.", path);
        return 0;
}
