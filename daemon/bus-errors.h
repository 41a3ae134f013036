/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The named errors of the bus API. Bad input gets one of these with a message that says what to
 * fix; only failures of the system itself surface as errno-based errors. */
#pragma once

#include <systemd/sd-bus.h>

#define MVM_ERROR_NO_SUCH_VM             "org.microvm.Error.NoSuchVM"
#define MVM_ERROR_VM_EXISTS              "org.microvm.Error.VMExists"
#define MVM_ERROR_INVALID_CONFIG         "org.microvm.Error.InvalidConfig"
#define MVM_ERROR_INVALID_DRIVE          "org.microvm.Error.InvalidDrive"
#define MVM_ERROR_INVALID_NAME           "org.microvm.Error.InvalidName"
#define MVM_ERROR_INVALID_STATE          "org.microvm.Error.InvalidState"
#define MVM_ERROR_INVALID_ARGUMENT       "org.microvm.Error.InvalidArgument"
#define MVM_ERROR_HYPERVISOR_UNAVAILABLE "org.microvm.Error.HypervisorUnavailable"
#define MVM_ERROR_START_FAILED           "org.microvm.Error.StartFailed"
#define MVM_ERROR_STOP_FAILED            "org.microvm.Error.StopFailed"
#define MVM_ERROR_AGENT_UNAVAILABLE      "org.microvm.Error.AgentUnavailable"
#define MVM_ERROR_CONSOLE_BUSY           "org.microvm.Error.ConsoleBusy"
#define MVM_ERROR_INVALID_SNAPSHOT       "org.microvm.Error.InvalidSnapshot"
#define MVM_ERROR_SNAPSHOT_MISMATCH      "org.microvm.Error.SnapshotMismatch"
#define MVM_ERROR_SNAPSHOT_FAILED        "org.microvm.Error.SnapshotFailed"
#define MVM_ERROR_SYSTEM_FAILURE         "org.microvm.Error.SystemFailure"

/* Maps our names to errnos for clients (sd_bus_error_add_map()); it does not name the errnos a
 * handler returns, which reach clients as System.Error.*: use bus_error_system() for those. */
extern const sd_bus_error_map mvm_bus_error_map[];

/* A failure of the host rather than of the request (a full disk, systemd unreachable): logs it
 * with errno r and sets SystemFailure with a message naming what failed. Returns < 0. */
int bus_error_system(sd_bus_error *error, int r, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Answers a method call whose reply was put off (a StartVM waiting for its job): with the named
 * error and the formatted message, or, with error_name NULL, with no arguments (format unused).
 * *request is unref'd and set to NULL; with *request NULL (answered already) nothing happens. A
 * reply that cannot be sent is logged and ignored. */
void bus_reply_pending(sd_bus_message **request, const char *error_name, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
