/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM's serial console, from microvmd's side: microvmd is the one client of the hypervisor's
 * serial socket while the VM runs. What the guest writes goes to a bounded ring (replayed to each
 * console that opens), to the journal of the VM's unit, and to the console open at the time. */
#pragma once

#include "vm.h"

/* How much output a console replays when it opens. */
#define VM_CONSOLE_RING_SIZE (64 * 1024)

/* Connects to the serial socket while the hypervisor runs, disconnects when it stopped; called on
 * every state change. */
void vm_console_follow_state(VM *vm);
void vm_console_free(VM *vm);

/* Opens the console for one client: returns the client's end of a stream socket (close it after
 * sending it), or -EBUSY when a console is open already, -ENOTCONN when the serial socket is not
 * connected. */
int vm_console_open(VM *vm, int *ret_fd);
