/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.microvm.Manager on /org/microvm/Manager. */
#pragma once

#include "manager.h"

/* Registers the manager's vtable and the ObjectManager. */
int manager_dbus_register(Manager *m);
