/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shutdown and Reboot of org.microvm.Agent1: the answer goes out first, then the guest powers off
 * or reboots, through systemd where it runs the guest, else directly. */
#pragma once

#include "agent.h"

typedef enum AgentPowerAction {
        AGENT_POWER_OFF,
        AGENT_POWER_REBOOT,
        _AGENT_POWER_MAX,
        _AGENT_POWER_INVALID = -EINVAL,
} AgentPowerAction;

/* Answers the call m, then acts once the answer is written (or after a second at most). A second
 * call while one is under way is answered and changes nothing. Returns 1 or -errno. */
int agent_power_start(Agent *a, sd_bus_message *m, AgentPowerAction action);
AgentPower *agent_power_free(AgentPower *p);
