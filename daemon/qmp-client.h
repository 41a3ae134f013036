/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An asynchronous QMP client on sd-event: one connection to a QEMU monitor socket, commands
 * answered through callbacks, events delivered as they come. Nothing here blocks. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct QmpClient QmpClient;

/* A command's answer: r = 0 and its "return" value, or r < 0: -EIO with QEMU's error description,
 * -ETIMEDOUT, -ECONNRESET when the connection went. result and error are borrowed. */
typedef void (*QmpReplyHandler)(QmpClient *c, int r, json_object *result, const char *error, void *userdata);
/* An asynchronous event ("STOP", "RESUME", "MIGRATION", ...); data may be NULL. */
typedef void (*QmpEventHandler)(QmpClient *c, const char *event, json_object *data, void *userdata);
/* Once when the connection is ready for commands (r = 0: greeting and capabilities negotiated),
 * and once when it is gone (r < 0); or only the latter, if it never became ready. */
typedef void (*QmpStateHandler)(QmpClient *c, int r, void *userdata);

/* Connects to the monitor socket at path. Fails at once (-ENOENT, -ECONNREFUSED, ...) when nobody
 * listens; the rest happens on the event loop. */
int qmp_client_connect(sd_event *event, const char *path, QmpStateHandler on_state, QmpEventHandler on_event,
                       void *userdata, QmpClient **ret);

/* The same over a socket already connected (taken, also on failure; non-blocking). */
int qmp_client_new_fd(sd_event *event, int fd, QmpStateHandler on_state, QmpEventHandler on_event, void *userdata,
                      QmpClient **ret);

/* Sends command with arguments (taken; NULL for none), and with fd (not taken; -EBADF for none)
 * passed along for "getfd". The reply handler (NULL: none) runs exactly once unless the client is
 * freed first;
 * timeout_usec of 0 means none. -ENOTCONN before the connection is ready or after it went. */
int qmp_client_call(QmpClient *c, const char *command, json_object *arguments, int fd, uint64_t timeout_usec,
                    QmpReplyHandler callback, void *userdata);

/* QEMU's version from its greeting, "7.2.11 (Debian 1:7.2+dfsg-7)"; NULL before it came. */
const char *qmp_client_version(const QmpClient *c);

/* Closes the connection; no handler runs afterwards, pending replies are dropped. Safe from inside
 * a handler of the same client. */
QmpClient *qmp_client_free(QmpClient *c);

/* The version string of a greeting's "version" object (free()), or NULL. */
char *qmp_version_string(json_object *version);
