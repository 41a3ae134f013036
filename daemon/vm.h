/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM known to microvmd: its name, configuration (and the key file it lives in), bus object
 * and state. */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "vm-state.h"

typedef struct Manager Manager;

typedef struct VM {
        Manager *manager;       /* borrowed; the VM is in manager->vms while this is set */
        char *name;
        char *object_path;
        char *unit;             /* microvm@NAME.service */
        char *config_path;      /* the key file */
        bool transient;         /* the key file is under /run */
        Config *config;
        VMState state;
} VM;

/* A VM named name whose configuration lives at config_path; takes config on success. */
int vm_new(const char *name, const char *config_path, bool transient, Config **config, VM **ret);
/* Unlinks the VM from its manager, then frees it. */
VM *vm_free(VM *vm);
DEFINE_CLEANUP(VM *, vm_free);

/* The bus path of the VM called name (free()); the only place paths are encoded. */
int vm_bus_path(const char *name, char **ret);

/* Writes config as the VM's key file, atomically; the VM's config is unchanged. */
int vm_write_config(const VM *vm, const Config *config);
/* Takes config as the VM's configuration and emits PropertiesChanged for what differs. */
void vm_set_config(VM *vm, Config *config);
void vm_set_state(VM *vm, VMState state);
