/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The REST APIs of Firecracker and cloud-hypervisor: the request for each operation microvm
 * needs, and what their replies say. Shared by microvmd (asynchronously, over http-client.c) and
 * the unit's start and stop. */
#pragma once

#include <stdbool.h>

#include "backend.h"

typedef enum ApiOperation {
        API_PING,               /* does the API answer? (Firecracker: GET /, cloud-hypervisor: vmm.ping) */
        API_STATE,              /* the VM's run state (GET / or vm.info) */
        API_PAUSE,
        API_RESUME,
        API_POWER_BUTTON,       /* the graceful stop: Ctrl-Alt-Del or the ACPI power button */
        API_SNAPSHOT,           /* to a state file and its memory file, or a directory */
        API_RESTORE,            /* into a hypervisor started without a VM */
        _API_OPERATION_MAX,
        _API_OPERATION_INVALID = -EINVAL,
} ApiOperation;

typedef struct ApiRequest {
        const char *method;
        char *path;
        char *body;             /* JSON; NULL: none (cloud-hypervisor refuses a body where none belongs) */
} ApiRequest;

void api_request_done(ApiRequest *r);

/* Where a snapshot of a VM on backend b lives, given the path microvm's caller named: Firecracker
 * writes the state to the path itself and the guest's memory beside it (PATH.mem); cloud-hypervisor
 * writes a directory of files (PATH is the directory). */
const char *api_snapshot_memory_suffix(const Backend *b);
bool api_snapshot_is_directory(const Backend *b);

/* Every file of the snapshot at path, cloud-hypervisor's directory last (strv_free()). */
int api_snapshot_files(const Backend *b, const char *path, char ***ret);

/* Removes the snapshot at path, what there is of it. */
void api_snapshot_remove(const Backend *b, const char *path);

/* The request of operation op on backend b. path: the snapshot's (API_SNAPSHOT, API_RESTORE);
 * resume: whether a restored VM runs (API_RESTORE). -EOPNOTSUPP for a backend without an API. */
int api_request_build(const Backend *b, ApiOperation op, const char *path, bool resume, ApiRequest *ret);

/* Whether a reply's status means the operation was done (2xx). */
bool api_status_ok(unsigned status);

/* The hypervisor's reason in a failed reply (free()): Firecracker's {"fault_message": …},
 * cloud-hypervisor's array of error strings joined with ": ", else the body as it came, shortened,
 * else "HTTP status N". */
char *api_fault_message(unsigned status, const char *body);

/* From an API_STATE reply: 1 if the VM is paused, 0 if it runs, -EBADMSG if the body says
 * neither (Firecracker "Not started", cloud-hypervisor "Shutdown", or not JSON). */
int api_state_is_paused(const char *body);

/* The hypervisor's version in an API_PING reply (Firecracker's "vmm_version", cloud-hypervisor's
 * "version"; free()), or NULL. */
char *api_version(const char *body);

const char *api_operation_to_string(ApiOperation op);
