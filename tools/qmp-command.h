/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One QMP command over a QEMU monitor socket, blocking with a bounded wait: for the unit's
 * short-lived helpers, never for microvmd. */
#pragma once

/* Connects to the QMP socket at path, negotiates capabilities and runs command (no arguments).
 * Returns 0 when QEMU answered "return", -EIO when it answered "error", -errno otherwise. */
int qmp_execute_simple(const char *path, const char *command);
