/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Watching a VM's serial log for the guest's ready line, without polling: inotify on the state
 * directory tells when QEMU creates or writes the log, and each event is stamped with the time the
 * caller's loop woke up. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SerialWatch {
        char *path;             /* STATE_DIR/serial.log */
        int inotify_fd;         /* poll() it for POLLIN, then serial_watch_process() */
        int log_fd;
        uint64_t created_nsec;  /* when QEMU created the log; 0: not yet */
        uint64_t ready_nsec;    /* when the ready line came; 0: not yet */
        char line[512];         /* the last line read, so far */
        size_t line_len;
} SerialWatch;

#define SERIAL_WATCH_INIT { .inotify_fd = -EBADF, .log_fd = -EBADF }

/* Watches state_dir (made if missing: the unit's StateDirectory= takes it as it finds it). */
int serial_watch_open(SerialWatch *w, const char *state_dir);
void serial_watch_close(SerialWatch *w);

/* Reads the pending events and what the log gained; a ready line gets the stamp now. */
int serial_watch_process(SerialWatch *w, uint64_t now);
/* Forgets the last run: removes the log, so that QEMU creates it anew, and drops its events. */
int serial_watch_reset(SerialWatch *w, uint64_t now);
