/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fsync() in a thread. */

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fsync-async.h"
#include "macro.h"
#include "strv.h"

typedef struct FsyncJob {
        char **paths;
        int done_fd;            /* the thread's end of the socket pair */
} FsyncJob;

typedef struct FsyncReport {
        FsyncDone done;
        void *userdata;
} FsyncReport;

static void *fsync_thread(void *userdata) {
        FsyncJob *job = userdata;
        int error = 0;

        for (char **p = job->paths; *p; p++) {
                int fd = open(*p, O_RDONLY | O_CLOEXEC | O_NOCTTY);

                if (fd < 0 || fsync(fd) < 0)
                        error = errno;
                if (fd >= 0)
                        close(fd);
                if (error != 0)
                        break;
        }
        /* MSG_NOSIGNAL: a caller that gave up meanwhile has closed the other end. */
        (void) send(job->done_fd, &error, sizeof(error), MSG_NOSIGNAL);
        close(job->done_fd);
        strv_free(job->paths);
        free(job);
        return NULL;
}

static int on_synced(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FsyncReport *report = userdata;
        int error = EIO;

        if (read(fd, &error, sizeof(error)) != sizeof(error))
                error = EIO;
        /* Once: the source stays the caller's to free. */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        report->done(error, report->userdata);
        return 0;
}

int fsync_paths_async(sd_event *event, char *const *paths, FsyncDone done, void *userdata, sd_event_source **ret) {
        _cleanup_(sd_event_source_disable_unrefp) sd_event_source *source = NULL;
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        FsyncReport *report;
        FsyncJob *job;
        pthread_attr_t attr;
        pthread_t thread;
        int pair[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        rfd = pair[0];
        wfd = pair[1];

        report = malloc(sizeof(*report));
        if (!report)
                return -ENOMEM;
        *report = (FsyncReport) { .done = done, .userdata = userdata };
        r = sd_event_add_io(event, &source, rfd, EPOLLIN, on_synced, report);
        if (r < 0) {
                free(report);
                return r;
        }
        r = sd_event_source_set_destroy_callback(source, free);
        if (r < 0) {
                free(report);
                return r;
        }
        r = sd_event_source_set_io_fd_own(source, true);
        if (r < 0)
                return r;
        TAKE_FD(rfd);

        job = malloc(sizeof(*job));
        if (!job)
                return -ENOMEM;
        *job = (FsyncJob) { .done_fd = wfd };
        if (strv_extend_strv(&job->paths, paths) < 0 || !job->paths) {
                strv_free(job->paths);
                free(job);
                return -ENOMEM;
        }
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = -pthread_create(&thread, &attr, fsync_thread, job);
        pthread_attr_destroy(&attr);
        if (r < 0) {
                strv_free(job->paths);
                free(job);
                return r;
        }
        TAKE_FD(wfd);
        *ret = TAKE_PTR(source);
        return 0;
}
