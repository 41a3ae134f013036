/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What microvmd and microvm-agent (the program inside the guest) agree on: the bus interface the
 * agent serves peer to peer, the channels it serves it on, and its named errors. */
#pragma once

#include <stdint.h>

/* The interface and object the agent serves on every channel (no bus daemon: peer to peer, so
 * callers pass no destination). */
#define MVM_AGENT_INTERFACE "org.microvm.Agent1"
#define MVM_AGENT_PATH "/org/microvm/Agent"
#define MVM_AGENT_VERSION "1"

/* The names of the virtio-serial ports the agent serves on. */
#define MVM_AGENT_PORT_NAME_HOST "org.microvm.agent.0"   /* virtio-serial port microvmd talks on */
#define MVM_AGENT_PORT_NAME_UNIT "org.microvm.agent.1"   /* the port the unit's own start/stop use */

/* The AF_VSOCK port the agent listens on, where the VM has a vsock device. */
#define MVM_AGENT_VSOCK_PORT 5100u

/* Exec's stdout+stderr limit when the caller passes output_max 0. */
#define MVM_AGENT_OUTPUT_MAX_DEFAULT (UINT64_C(16) * 1024 * 1024)

/* The agent's named errors. */
#define MVM_AGENT_ERROR_EXEC_FAILED "org.microvm.Agent1.Error.ExecFailed"      /* cannot execute argv[0] */
#define MVM_AGENT_ERROR_TIMEOUT "org.microvm.Agent1.Error.Timeout"            /* killed after timeout_usec */
#define MVM_AGENT_ERROR_OUTPUT_TOO_LARGE "org.microvm.Agent1.Error.OutputTooLarge"
#define MVM_AGENT_ERROR_NO_SUCH_PROCESS "org.microvm.Agent1.Error.NoSuchProcess"
#define MVM_AGENT_ERROR_NOT_SUPPORTED "org.microvm.Agent1.Error.NotSupported"
#define MVM_AGENT_ERROR_INVALID_ARGUMENT "org.microvm.Agent1.Error.InvalidArgument"
