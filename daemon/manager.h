/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's root object: event loop, bus connection, the VM registry and pending
 * authorizations. Everything else hangs off it. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "polkit.h"
#include "vm.h"

struct Manager {
        sd_event *event;
        sd_bus *bus;
        VM **vms;               /* owned, sorted by name for bsearch() */
        size_t n_vms;
        PolkitRegistry polkit_registry;
        sd_bus_vtable *vm_vtable;  /* owned; built from the schema, see vm-dbus.c */
        const char *config_dir;            /* borrowed constants */
        const char *runtime_config_dir;
        char *default_bridge;      /* owned; for NICs without Bridge= */
        unsigned n_sync_pending;   /* answers from systemd still due before we take the bus name */
        bool synced;
        bool machined_missing;     /* systemd-machined is not there: VMs are not registered with it */
};

/* default_bridge: from --bridge, or NULL for microvmd.conf's. */
int manager_new(const char *default_bridge, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_CLEANUP(Manager *, manager_free);

/* Bus objects, key files, then the bus name; afterwards the loop can run. */
int manager_startup(Manager *m);
int manager_run(Manager *m);

VM *manager_get_vm(Manager *m, const char *name);
/* Takes the VM into the registry (vm->manager is set). -EEXIST if the name is taken. */
int manager_add_vm(Manager *m, VM *vm);
void manager_remove_vm(Manager *m, VM *vm);

/* Reads every key file in the configuration directories; a broken one is logged and skipped. */
int manager_load_vms(Manager *m);

/* Every VM's unit state is known: takes the bus name, so clients never see a stale state. */
void manager_systemd_synced(Manager *m);

/* The key file a new persistent VM called name gets (free()). */
int manager_config_path(Manager *m, const char *name, bool transient, char **ret);
