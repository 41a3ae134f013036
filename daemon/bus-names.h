/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bus names, object paths, interfaces and file locations, defined once. */
#pragma once

#include "mvm-config.h"

#define MVM_BUS_NAME            "org.microvm.Manager"
#define MVM_MANAGER_PATH        "/org/microvm/Manager"
#define MVM_MANAGER_INTERFACE   "org.microvm.Manager"
#define MVM_VM_PATH_PREFIX      "/org/microvm/Manager/vm"
#define MVM_VM_INTERFACE        "org.microvm.VM"

/* Persistent VMs; transient ones live under the runtime directory and vanish at reboot. */
#define MVM_CONFIG_DIR          MVM_SYSCONFDIR "/microvm/vms"
#define MVM_RUNTIME_CONFIG_DIR  MVM_RUNSTATEDIR "/microvm/vms"
#define MVM_CONFIG_SUFFIX       ".vm"
#define MVM_UNIT_PREFIX         "microvm@"
#define MVM_UNIT_SUFFIX         ".service"
