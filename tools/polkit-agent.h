/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A polkit text agent for the duration of a call, so that a user on a terminal can authenticate
 * when microvmd asks polkit interactively (as systemctl does). */
#pragma once

#include <sys/types.h>

/* Starts pkttyagent (if it is installed) when there is someone to ask: not root, stdin a
 * terminal. Waits until it has registered. Sets *ret_pid to the agent's PID, or 0 when none
 * was started. Returns 0 or -errno. */
int polkit_agent_open(pid_t *ret_pid);
/* Stops the agent; takes 0. */
void polkit_agent_close(pid_t pid);
