/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a VM's files are: its key file, runtime directory and state directory, and the small
 * files through which the unit tells microvmd how a start or stop went. */
#pragma once

#include <stdbool.h>

#include "mvm-config.h"

/* The key file of VM name: /run/microvm/vms/NAME.vm if it exists (transient), else
 * /etc/microvm/vms/NAME.vm. -ENOENT when neither exists. */
int vm_config_path_find(const char *name, char **ret_path, bool *ret_transient);

/* Per-VM directories (free()). */
int vm_runtime_dir(const char *name, char **ret);
int vm_state_dir(const char *name, char **ret);

/* In the state directory: why the unit last stopped (one word, see StopReason), what made the
 * last start fail ("<error name>\n<message>\n"), and the markers that say a stop or kill was
 * asked for rather than something the guest or the hypervisor did. */
#define MVM_STOP_REASON_FILE   "stop-reason"
#define MVM_START_ERROR_FILE   "start-error"
#define MVM_STOP_MARKER_FILE   "stop-requested"
#define MVM_KILL_MARKER_FILE   "kill-requested"
#define MVM_TIMEOUT_MARKER_FILE "timeout-killed"
/* In the state directory: microvmd saw the guest power off while its hypervisor stays (Firecracker
 * on x86), and stopped the unit: the stop has nothing to ask, and the reason is guest-poweroff. */
#define MVM_POWEROFF_MARKER_FILE "guest-powered-off"

/* In the runtime directory: when the guest agent first answered (the unit's start with WaitReady=yes,
 * or microvmd), in µs of CLOCK_REALTIME. The unit's stop asks the agent only where this exists. */
#define MVM_READY_FILE         "ready"
/* In the runtime directory: microvmd has passed this run's early serial output to the journal. */
#define MVM_CONSOLE_MARKER_FILE "console-journaled"
/* In the runtime directory: the snapshot the unit's start restores instead of booting (its path,
 * one line), written by RestoreVM. */
#define MVM_RESTORE_FILE       "restore"
/* In the runtime directory: the Hypervisor= this run started (one line), for the unit's stop and
 * microvmd, which must not go by a key file changed since. */
#define MVM_HYPERVISOR_FILE    "hypervisor"

/* In the runtime directory: the unit's invocation ID for this run ($INVOCATION_ID, one line), which
 * marks this run's entries in the journal. */
#define MVM_INVOCATION_FILE    "invocation"

/* In the runtime directory: the files lent to the hypervisor's user for this run, "UID GID PATH" a
 * line with the owner to give each back to (tools/launch-lend.h). */
#define MVM_LOANS_FILE         "loans"

/* In the runtime directory: the TAP devices this run created, one name a line. */
#define MVM_TAPS_FILE          "taps"

/* The accelerator probe's verdict and the TSC rate, per boot. */
#define MVM_KVM_PROBE_CACHE    MVM_RUNSTATEDIR "/microvm/kvm-probe"
#define MVM_TSC_KHZ_CACHE      MVM_RUNSTATEDIR "/microvm/tsc-khz"
