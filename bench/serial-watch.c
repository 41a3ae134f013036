/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest's ready line, as the serial log gets it. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "macro.h"
#include "serial-watch.h"

/* The test guest's line (tools/guest-image/init). */
#define READY_MARKER "microvm-guest: ready "

int serial_watch_open(SerialWatch *w, const char *state_dir) {
        if (asprintf(&w->path, "%s/" MVM_SERIAL_LOG, state_dir) < 0)
                return log_oom();
        if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", state_dir);
        w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->inotify_fd < 0)
                return log_error_errno(errno, "inotify_init1() failed: %m");
        if (inotify_add_watch(w->inotify_fd, state_dir, IN_CREATE | IN_MODIFY) < 0)
                return log_error_errno(errno, "Failed to watch %s: %m", state_dir);
        return 0;
}

void serial_watch_close(SerialWatch *w) {
        closep(&w->inotify_fd);
        closep(&w->log_fd);
        w->path = mfree(w->path);
}

/* New bytes of the log, line by line. */
static int serial_read(SerialWatch *w, uint64_t now) {
        char buf[4096];

        for (;;) {
                ssize_t n = read(w->log_fd, buf, sizeof(buf));

                if (n < 0)
                        return log_error_errno(errno, "Failed to read %s: %m", w->path);
                if (n == 0)
                        return 0;

                for (ssize_t i = 0; i < n; i++) {
                        if (buf[i] != '\n') {
                                if (w->line_len < sizeof(w->line) - 1)
                                        w->line[w->line_len++] = buf[i];
                                continue;
                        }
                        w->line[w->line_len] = '\0';
                        if (w->ready_nsec == 0 && strncmp(w->line, READY_MARKER, strlen(READY_MARKER)) == 0)
                                w->ready_nsec = now;
                        w->line_len = 0;
                }
        }
}

int serial_watch_process(SerialWatch *w, uint64_t now) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool changed = false;

        for (;;) {
                ssize_t n = read(w->inotify_fd, buf, sizeof(buf));

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
                        if ((e->mask & IN_CREATE) && w->created_nsec == 0)
                                w->created_nsec = now;
                        changed = true;
                }
        }
        if (!changed || w->ready_nsec != 0)
                return 0;

        if (w->log_fd < 0) {
                w->log_fd = open(w->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                if (w->log_fd < 0)
                        return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", w->path);
        }
        return serial_read(w, now);
}

int serial_watch_reset(SerialWatch *w, uint64_t now) {
        closep(&w->log_fd);
        if (unlink(w->path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Failed to remove %s: %m", w->path);
        w->created_nsec = w->ready_nsec = 0;
        w->line_len = 0;
        /* The events of the removal and of the last run go with it. */
        return serial_watch_process(w, now);
}
