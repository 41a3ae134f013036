/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM state table: names on the bus, which states have a running unit, stop reasons, and
 * the mapping from the unit's state to the VM's. */

#include <criterion/criterion.h>

#include "test-util.h"
#include "vm-state.h"

static const struct {
        VMState state;
        const char *name;
        int active;
} states[] = {
        { VM_DEFINED, "defined", 0 },
        { VM_STARTING, "starting", 1 },
        { VM_RUNNING, "running", 1 },
        { VM_PAUSED, "paused", 1 },
        { VM_STOPPING, "stopping", 1 },
        { VM_STOPPED, "stopped", 0 },
        { VM_CRASHED, "crashed", 0 },
};

Test(vm_state, table_covers_every_state) {
        cr_expect_eq(ELEMENTSOF(states), (size_t) _VM_STATE_MAX, "a case for every state");
        for (size_t i = 0; i < ELEMENTSOF(states); i++)
                cr_expect_eq(states[i].state, (VMState) i, "%s: cases are in enum order", states[i].name);
}

Test(vm_state, round_trip) {
        for (size_t i = 0; i < ELEMENTSOF(states); i++) {
                expect_streq(vm_state_to_string(states[i].state), states[i].name, states[i].name);
                cr_expect_eq(vm_state_from_string(states[i].name), states[i].state, "%s", states[i].name);
        }
}

Test(vm_state, unknown_strings) {
        static const char *const unknown[] = {
                "", "Defined", "RUNNING", "running ", " running", "run", "active", "unknown", "defined\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(unknown); i++)
                cr_expect_eq(vm_state_from_string(unknown[i]), _VM_STATE_INVALID, "'%s'", unknown[i]);
        cr_expect_eq(vm_state_from_string(NULL), _VM_STATE_INVALID, "NULL");
}

Test(vm_state, out_of_range) {
        static const VMState bad[] = { _VM_STATE_MAX, _VM_STATE_INVALID, (VMState) -1, (VMState) 100 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                cr_expect_null(vm_state_to_string(bad[i]), "state %d has no name", (int) bad[i]);
                cr_expect_eq(vm_state_is_active(bad[i]), -EINVAL, "state %d", (int) bad[i]);
        }
}

Test(vm_state, is_active) {
        for (size_t i = 0; i < ELEMENTSOF(states); i++)
                cr_expect_eq(vm_state_is_active(states[i].state), states[i].active, "%s", states[i].name);
}

static const struct {
        StopReason reason;
        const char *name;
} reasons[] = {
        { STOP_REASON_NONE, "" },
        { STOP_REASON_GUEST_POWEROFF, "guest-poweroff" },
        { STOP_REASON_STOP_REQUEST, "stop-request" },
        { STOP_REASON_TIMEOUT_KILL, "timeout-kill" },
        { STOP_REASON_KILLED, "killed" },
        { STOP_REASON_CRASHED, "crashed" },
        { STOP_REASON_START_FAILED, "start-failed" },
};

Test(stop_reason, round_trip) {
        cr_expect_eq(ELEMENTSOF(reasons), (size_t) _STOP_REASON_MAX, "a case for every stop reason");
        for (size_t i = 0; i < ELEMENTSOF(reasons); i++) {
                cr_expect_eq(reasons[i].reason, (StopReason) i, "'%s': cases are in enum order", reasons[i].name);
                expect_streq(stop_reason_to_string(reasons[i].reason), reasons[i].name, reasons[i].name);
                cr_expect_eq(stop_reason_from_string(reasons[i].name), reasons[i].reason, "'%s'", reasons[i].name);
        }
}

Test(stop_reason, unknown) {
        static const char *const unknown[] = { "none", "Crashed", "poweroff", "crashed ", "timeout" };
        static const StopReason bad[] = { _STOP_REASON_MAX, _STOP_REASON_INVALID, (StopReason) 100 };

        for (size_t i = 0; i < ELEMENTSOF(unknown); i++)
                cr_expect_eq(stop_reason_from_string(unknown[i]), _STOP_REASON_INVALID, "'%s'", unknown[i]);
        cr_expect_eq(stop_reason_from_string(NULL), _STOP_REASON_INVALID, "NULL");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_expect_null(stop_reason_to_string(bad[i]), "reason %d has no name", (int) bad[i]);
}

/* The one mapping from the unit's state and the recorded stop reason to the VM's state. */
Test(vm_state, from_unit) {
        static const struct {
                const char *active_state;       /* NULL: the unit is not loaded */
                const char *result;
                StopReason reason;
                VMState state;
        } cases[] = {
                /* A unit on its way or running decides alone. */
                { "activating", "success", STOP_REASON_NONE, VM_STARTING },
                { "active", "success", STOP_REASON_NONE, VM_RUNNING },
                { "reloading", "success", STOP_REASON_NONE, VM_RUNNING },
                { "deactivating", "success", STOP_REASON_NONE, VM_STOPPING },
                { "active", "success", STOP_REASON_CRASHED, VM_RUNNING },
                { "activating", "exit-code", STOP_REASON_GUEST_POWEROFF, VM_STARTING },
                /* Never stopped: the unit's result tells a crash from a clean state. */
                { NULL, NULL, STOP_REASON_NONE, VM_DEFINED },
                { "inactive", NULL, STOP_REASON_NONE, VM_DEFINED },
                { "inactive", "success", STOP_REASON_NONE, VM_DEFINED },
                { "failed", "exit-code", STOP_REASON_NONE, VM_CRASHED },
                { "failed", "signal", STOP_REASON_NONE, VM_CRASHED },
                { "failed", "core-dump", STOP_REASON_NONE, VM_CRASHED },
                { "failed", "watchdog", STOP_REASON_NONE, VM_CRASHED },
                { "failed", "oom-kill", STOP_REASON_NONE, VM_CRASHED },
                /* A recorded reason wins over the result. */
                { "inactive", "success", STOP_REASON_GUEST_POWEROFF, VM_STOPPED },
                { "inactive", "success", STOP_REASON_STOP_REQUEST, VM_STOPPED },
                { "failed", "signal", STOP_REASON_TIMEOUT_KILL, VM_STOPPED },
                { "failed", "signal", STOP_REASON_KILLED, VM_STOPPED },
                { "failed", "exit-code", STOP_REASON_START_FAILED, VM_STOPPED },
                { "inactive", "success", STOP_REASON_CRASHED, VM_CRASHED },
                { "failed", "core-dump", STOP_REASON_CRASHED, VM_CRASHED },
                { NULL, NULL, STOP_REASON_STOP_REQUEST, VM_STOPPED },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                cr_expect_eq(vm_state_from_unit(cases[i].active_state, cases[i].result, cases[i].reason),
                             cases[i].state, "%s/%s/%s: expected %s", cases[i].active_state ?: "(not loaded)",
                             cases[i].result ?: "(none)", stop_reason_to_string(cases[i].reason),
                             vm_state_to_string(cases[i].state));
}
