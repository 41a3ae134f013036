/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One request to Firecracker's or cloud-hypervisor's API, waiting for its reply with a bound: for
 * the unit's short-lived helpers, never for microvmd (which uses http-client.c on its loop). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "hypervisor-api.h"

/* Sends operation op of backend b to the API socket at socket_path and waits at most timeout_usec
 * for the reply. 0 when the hypervisor did it, with the reply's body in *ret_body if given
 * (free()); -EIO when it refused, with its reason in *ret_fault if given (free()); -errno when it
 * could not be asked (-ENOENT, -ECONNREFUSED: nothing listens; -ETIMEDOUT; -ECONNRESET). */
int api_execute(const Backend *b, const char *socket_path, ApiOperation op, const char *path, bool resume,
                uint64_t timeout_usec, char **ret_body, char **ret_fault);
