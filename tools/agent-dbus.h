/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.microvm.Agent1 at MVM_AGENT_PATH: the object every connection of the agent serves. */
#pragma once

#include "agent.h"

/* Adds the object to bus, for as long as the bus lives. */
int agent_dbus_add_object(Agent *a, sd_bus *bus);
