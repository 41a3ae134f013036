/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hypervisor backend interface: what the launcher asks of each hypervisor. One backend per
 * file (qemu.c now; Firecracker and cloud-hypervisor behind the same interface). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

typedef enum Accelerator {
        ACCELERATOR_KVM,
        ACCELERATOR_TCG,
        _ACCELERATOR_MAX,
        _ACCELERATOR_INVALID = -EINVAL,
} Accelerator;

/* Everything a backend needs to turn a configuration into a command line. The configuration is
 * complete: each NIC's bridge, MAC and TAP, each drive's Format= and the root= of the kernel
 * command line are filled in (net_fill_config(), drives_fill_config()). */
typedef struct BackendContext {
        const char *name;           /* the VM's name */
        const Config *config;
        const char *binary;         /* the hypervisor executable */
        const char *runtime_dir;    /* /run/microvm/NAME: control and serial sockets */
        const char *state_dir;      /* /var/lib/microvm/NAME: serial log */
        Accelerator accelerator;    /* resolved: never "auto" here */
        uint64_t tsc_khz;           /* the host's TSC frequency, for TCG guests; 0 if unknown */
        const char *seed_path;      /* the cloud-init seed, attached read-only after the drives; NULL: none */
        bool vsock;                 /* the host can give the guest a vsock device (QEMU: /dev/vhost-vsock) */
        bool restore;               /* start paused, waiting for a snapshot's state instead of booting */
} BackendContext;

typedef struct Backend {
        const char *name;           /* the Hypervisor= value */
        const char *binary;         /* looked up in $PATH unless absolute */
        /* What the hypervisor itself needs beyond the guest's memory, per accelerator (TCG keeps
         * its translated code besides). The unit's MemoryMax= is MemoryMiB plus this. */
        uint64_t overhead_mib[_ACCELERATOR_MAX];
        /* The hypervisor's argv (argv[0] = ctx->binary); strv_free() it. -errno on failure. */
        int (*build_argv)(const BackendContext *ctx, char ***ret_argv);
} Backend;

/* The backend for a Hypervisor= value, or NULL when this build has none. */
const Backend *backend_get(const char *hypervisor);

const char *accelerator_to_string(Accelerator a);

/* File names inside the runtime and state directories, shared with microvmd. */
#define MVM_QMP_SOCKET      "qmp.sock"
/* microvmd's own QMP monitor, which it keeps connected while the VM runs. */
#define MVM_QMP_MANAGER_SOCKET "qmp-manager.sock"
#define MVM_SERIAL_SOCKET   "serial.sock"
#define MVM_SERIAL_LOG      "serial.log"
/* The guest agent's two channels (virtio-serial ports for QEMU): microvmd's, and the unit's own
 * for the readiness wait and the graceful stop, so that neither waits for the other. */
#define MVM_AGENT_SOCKET      "agent.sock"
#define MVM_AGENT_UNIT_SOCKET "agent-unit.sock"
