/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM known to microvmd: its name, configuration (and the key file it lives in), bus object
 * and state. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "agent-connect.h"
#include "config.h"
#include "vm-state.h"

typedef struct Manager Manager;
typedef struct VMConsole VMConsole;
typedef struct VMQmp VMQmp;
typedef struct VMApi VMApi;
typedef struct VMPoweroff VMPoweroff;
typedef struct Backend Backend;

typedef struct VM {
        Manager *manager;       /* borrowed; the VM is in manager->vms while this is set */
        char *name;
        char *object_path;
        char *unit;             /* microvm@NAME.service */
        char *config_path;      /* the key file */
        bool transient;         /* the key file is under /run */
        char *state_dir;        /* /var/lib/microvm/NAME */
        Config *config;
        uint64_t config_written; /* µs since the epoch: when the key file last changed */
        VMState state;

        /* The unit, as systemd last told us. */
        char *unit_path;
        char *active_state;     /* NULL: not loaded */
        char *unit_result;
        uint32_t main_pid;
        uint64_t started_at;    /* ExecMainStartTimestamp, µs since the epoch; 0: not running */
        StopReason stop_reason;

        /* A StartVM or StopVM waiting for its job, and the calls to systemd on its way. */
        sd_bus_message *start_request;
        sd_bus_slot *start_slot;
        char *start_job;
        sd_bus_message *stop_request;
        sd_bus_slot *stop_slot;
        char *stop_job;
        sd_event_source *stop_timer;
        sd_bus_slot *state_slots[2];    /* the GetAll calls reading the unit's state */

        /* The guest agent (vm-agent.c), while the VM runs. */
        sd_bus *agent_bus;
        sd_bus_slot *agent_ping_slot;
        sd_event_source *agent_retry;
        /* The hybrid vsock handshake of Firecracker and cloud-hypervisor, while it runs. */
        int agent_handshake_fd;
        sd_event_source *agent_handshake;
        sd_event_source *agent_handshake_timeout;
        VsockHybridAnswer agent_answer;
        bool agent_connected;   /* the agent answered on this connection */
        uint64_t ready_at;      /* µs since the epoch: when the agent first answered this run; 0: not yet */

        /* The serial console (vm-console.c) and the hypervisor's control connection (vm-qmp.c),
         * while the hypervisor runs. */
        VMConsole *console;
        VMQmp *qmp;
        VMApi *api;             /* Firecracker's and cloud-hypervisor's REST API (vm-api.c) */
        VMPoweroff *poweroff;   /* following the journal for a poweroff the hypervisor outlives */
        /* Registered with systemd-machined for this leader PID (vm-machine.c); 0: not registered. */
        uint32_t machine_leader;
        sd_bus_slot *machine_slot;
        const Backend *backend; /* the hypervisor of this run, as its start recorded it; NULL: not running */
        bool hypervisor_paused; /* QEMU's run state is not "running" */
        bool frozen;            /* systemd froze the unit's processes ("systemctl freeze") */
} VM;

/* A VM named name whose configuration lives at config_path; takes config on success. */
int vm_new(const char *name, const char *config_path, bool transient, Config **config, VM **ret);
/* Unlinks the VM from its manager, then frees it. */
VM *vm_free(VM *vm);
DEFINE_CLEANUP(VM *, vm_free);

/* The bus path of the VM called name (free()); the only place paths are encoded. */
int vm_bus_path(const char *name, char **ret);

/* Writes config as the VM's key file, atomically; the VM's config is unchanged. */
int vm_write_config(VM *vm, const Config *config);
/* Takes config as the VM's configuration and emits PropertiesChanged for what differs. */
void vm_set_config(VM *vm, Config *config);
void vm_set_state(VM *vm, VMState state);
/* The hypervisor running the VM, or the one its configuration names when it is not running. */
const Backend *vm_backend(const VM *vm);
/* The hypervisor says the guest is paused (or not): the State follows. */
void vm_set_hypervisor_paused(VM *vm, bool paused);
/* Emits PropertiesChanged for the NULL-terminated list of property names. */
void vm_emit_properties_changed(VM *vm, const char **names);
/* Whether the key file changed after the running VM was started. */
bool vm_needs_restart(const VM *vm);

/* Reads, writes or removes a file in the VM's state directory. */
int vm_read_state_file(const VM *vm, const char *file, char **ret);
int vm_write_state_file(const VM *vm, const char *file, const char *contents);
void vm_remove_state_file(const VM *vm, const char *file);
