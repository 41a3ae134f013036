/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one asynchronous authorization step every mutating method goes through. */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

/* The actions of polkit/org.microvm.policy. */
#define MVM_ACTION_MANAGE    "org.microvm.manage"
#define MVM_ACTION_LIFECYCLE "org.microvm.lifecycle"
#define MVM_ACTION_EXEC      "org.microvm.exec"
#define MVM_ACTION_CONSOLE   "org.microvm.console"

#define POLKIT_UID_CACHE_SIZE 16

/* Pending and answered checks, keyed by the method call they belong to (a tsearch() root), and
 * the uids of the latest callers: a unique bus name is never reused, so what the bus said of it
 * stays true, and a busy client is asked about once. */
typedef struct PolkitRegistry {
        void *queries;
        struct {
                char *sender;
                uint32_t uid;
        } uids[POLKIT_UID_CACHE_SIZE];
        unsigned next_uid;
} PolkitRegistry;

/* Decides whether the sender of msg may do action. details are key/value pairs ending in
 * NULL, passed to polkit so that rules can look at them (the VM's name).
 * Returns 0 the first time: the caller's uid and, unless it is root, polkit are being asked; the
 * method returns 1 now and is called again with the same message once the answer is in. Then
 * returns 1: allowed (root always is). Returns < 0 with error set:
 * denied (-EACCES, or interactive authorization required) or the check itself failed. */
int polkit_check(sd_bus_message *msg, const char *action, const char **details, PolkitRegistry *registry,
                 sd_bus_error *error);

void polkit_registry_done(PolkitRegistry *registry);
