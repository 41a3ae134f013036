/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager's link to systemd: the matches and Subscribe() that bring unit changes and job
 * completions to us, and the initial read of every VM unit's state at start-up. */
#pragma once

#include "manager.h"

/* Installs the matches, subscribes and asks for the state of every microvm@*.service; calls
 * manager_systemd_synced() once every answer is in. */
int manager_systemd_startup(Manager *m);

/* Asks systemd for the state of vm's unit (after a VM appears). */
int manager_systemd_refresh_vm(Manager *m, VM *vm);
