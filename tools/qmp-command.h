/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One QMP command over a QEMU monitor socket, blocking with a bounded wait: for the unit's
 * short-lived helpers, never for microvmd. */
#pragma once

#include <json-c/json.h>

#include "macro.h"

typedef struct QmpSession QmpSession;

/* Connects to the QMP socket at path and negotiates capabilities; every wait is bounded. */
int qmp_session_open(const char *path, QmpSession **ret);
void qmp_session_close(QmpSession *s);
static inline void qmp_session_closep(QmpSession **s) {
        qmp_session_close(*s);
}
/* QEMU's version from the greeting, "7.2.11 (Debian ...)", or NULL. */
const char *qmp_session_version(const QmpSession *s);
/* Runs command with arguments (a JSON object's text, or NULL), passing pass_fd along (-EBADF: none).
 * 0 and the "return" value (json_object_put() it) in *ret if ret is given; -EIO and QEMU's error
 * description (free()) in *ret_error if given; -errno otherwise. */
int qmp_session_execute(QmpSession *s, const char *command, const char *arguments, int pass_fd, json_object **ret,
                        char **ret_error);

/* Connects to the QMP socket at path, negotiates capabilities and runs command (no arguments).
 * Returns 0 when QEMU answered "return", -EIO when it answered "error", -errno otherwise. */
int qmp_execute_simple(const char *path, const char *command);
