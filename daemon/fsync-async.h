/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Syncing files to disk without the event loop waiting for the disk: a thread fsync()s them, and a
 * socket pair tells the loop when it is done. */
#pragma once

#include <systemd/sd-event.h>

/* error: 0, or the errno of the first path that failed. */
typedef void (*FsyncDone)(int error, void *userdata);

/* Opens and fsync()s each of paths (files or directories; copied) in a thread, then calls done on
 * the loop. *ret is the event source that reports: freeing it (sd_event_source_disable_unref())
 * before it reported means done is never called; the thread finishes alone. */
int fsync_paths_async(sd_event *event, char *const *paths, FsyncDone done, void *userdata, sd_event_source **ret);
