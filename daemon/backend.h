/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hypervisor backend interface: what the launcher and microvmd ask of each hypervisor. One
 * backend per file: qemu.c, firecracker.c, cloud-hypervisor.c. */
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
        bool vsock;                 /* the host can give the guest a vsock device (QEMU: /dev/vhost-vsock;
                                     * Firecracker and cloud-hypervisor always have their hybrid one) */
        bool restore;               /* start paused, waiting for a snapshot's state instead of booting */
        /* What the hypervisor inherits open instead of opening itself, for a backend with takes_fds:
         * drive i's image, opened read-only or read-write as the drive is, and NIC i's TAP device.
         * The unit's privileged preparation opens them; the hypervisor could not. NULL: by path and
         * by name. */
        const int *drive_fds;
        /* For a read-write drive, the image opened read-only as well, which QEMU asks for too: -EBADF
         * where there is none. Only with drive_fds. */
        const int *drive_ro_fds;
        const int *tap_fds;
} BackendContext;

/* How the unit and microvmd drive the hypervisor once it runs. */
typedef enum BackendControl {
        BACKEND_CONTROL_QMP,        /* QEMU's QMP monitors (qmp.sock for the unit, qmp-manager.sock for microvmd) */
        BACKEND_CONTROL_HTTP,       /* a REST API on MVM_API_SOCKET (hypervisor-api.h) */
} BackendControl;

typedef struct Backend {
        const char *name;           /* the Hypervisor= value, and its key in microvmd.conf's [Hypervisors] */
        const char *display_name;   /* as its makers write it */
        const char *binary;         /* looked up in $PATH unless absolute */
        /* What the hypervisor itself needs beyond the guest's memory, per accelerator (TCG keeps
         * its translated code besides). The unit's MemoryMax= is MemoryMiB plus this. */
        uint64_t overhead_mib[_ACCELERATOR_MAX];
        bool kvm_only;              /* no TCG: Accelerator=tcg is refused, auto means KVM */
        bool takes_fds;             /* takes drives and TAP devices as inherited descriptors */
        BackendControl control;
        /* The guest's serial console is MVM_SERIAL_SOCKET, which microvmd connects to; false: it is
         * the hypervisor's standard output, the unit's journal. */
        bool serial_socket;
        /* The guest agent is reached through the hybrid vsock socket MVM_VSOCK_SOCKET ("CONNECT
         * port"); false: through QEMU's virtio-serial ports (MVM_AGENT_SOCKET, MVM_AGENT_UNIT_SOCKET). */
        bool agent_over_vsock;
        /* The hypervisor exits when the guest powers off; false: it stays, halted (Firecracker on
         * x86), and microvmd ends the unit when the guest's console says it powered off. Such a
         * hypervisor exits when the guest reboots instead, so the unit's stop asks the agent for
         * that. */
        bool exits_on_poweroff;
        /* What this hypervisor cannot do with a configuration that is otherwise valid: 0, or
         * -EINVAL and a sentence saying what to change (g_free()). Checked at CreateVM/UpdateVM. */
        int (*check_config)(const Config *c, char **ret_problem);
        /* The hypervisor's argv (argv[0] = ctx->binary); strv_free() it. -errno on failure. */
        int (*build_argv)(const BackendContext *ctx, char ***ret_argv);
        /* A configuration file the hypervisor reads (config_file, in the runtime directory), or
         * NULL for none; its contents (free()). */
        const char *config_file;
        int (*build_config_file)(const BackendContext *ctx, char **ret_text);
        /* The hypervisor's own log in the runtime directory, which must exist before it starts;
         * NULL: it logs to its standard error, the unit's journal. */
        const char *log_file;
} Backend;

/* The backend for a Hypervisor= value, or NULL when this build has none. */
const Backend *backend_get(const char *hypervisor);
/* Every backend, NULL-terminated. */
extern const Backend *const backends[];

/* The configuration's hypervisor's check_config(). */
int backend_check_config(const Config *c, char **ret_problem);

/* The kernel command line every backend gives the guest: its console, and KernelCommandLine=
 * (free()). extra_first (NULL: none) comes before KernelCommandLine=. */
int backend_kernel_command_line(const BackendContext *ctx, const char *extra_first, char **ret);

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
/* Firecracker's and cloud-hypervisor's REST API, and their hybrid vsock socket (the guest's
 * AF_VSOCK, reached with "CONNECT port"). */
#define MVM_API_SOCKET        "api.sock"
#define MVM_VSOCK_SOCKET      "vsock.sock"
