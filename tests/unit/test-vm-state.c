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
                cr_expect_eq(vm_state_from_unit(cases[i].active_state, cases[i].result, cases[i].reason, false),
                             cases[i].state, "%s/%s/%s: expected %s", cases[i].active_state ?: "(not loaded)",
                             cases[i].result ?: "(none)", stop_reason_to_string(cases[i].reason),
                             vm_state_to_string(cases[i].state));
}

/* Every ActiveState systemd reports, and what it means alone; _VM_STATE_INVALID: the unit is not
 * running, and the stop reason (then the Result) decides. */
static const struct {
        const char *active_state;       /* NULL: the unit is not loaded */
        VMState state;
} active_states[] = {
        { "activating", VM_STARTING },
        { "active", VM_RUNNING },
        { "reloading", VM_RUNNING },
        { "refreshing", VM_RUNNING },
        { "deactivating", VM_STOPPING },
        { "inactive", _VM_STATE_INVALID },
        { "failed", _VM_STATE_INVALID },
        { "maintenance", _VM_STATE_INVALID },   /* "systemctl clean": nothing runs */
        { NULL, _VM_STATE_INVALID },
};

/* Every Result of a service, and whether it says the main process died on its own. */
static const struct {
        const char *result;             /* NULL: none known */
        bool crash;
} results[] = {
        { NULL, false },
        { "success", false },
        { "resources", false },
        { "protocol", false },
        { "timeout", false },
        { "exit-code", true },
        { "signal", true },
        { "core-dump", true },
        { "watchdog", true },
        { "start-limit-hit", false },
        { "oom-kill", true },
        { "exec-condition", false },
};

/* What a unit that is not running shows, by the recorded stop reason; _VM_STATE_INVALID: none
 * recorded, the Result decides between crashed and defined. */
static const VMState after_stop[_STOP_REASON_MAX] = {
        [STOP_REASON_NONE] = _VM_STATE_INVALID,
        [STOP_REASON_GUEST_POWEROFF] = VM_STOPPED,
        [STOP_REASON_STOP_REQUEST] = VM_STOPPED,
        [STOP_REASON_TIMEOUT_KILL] = VM_STOPPED,
        [STOP_REASON_KILLED] = VM_STOPPED,
        [STOP_REASON_CRASHED] = VM_CRASHED,
        [STOP_REASON_START_FAILED] = VM_STOPPED,
};

/* What the table says for one ActiveState, stop reason and Result. */
static VMState expected_state(size_t a, StopReason reason, size_t r) {
        if (active_states[a].state != _VM_STATE_INVALID)
                return active_states[a].state;
        if (after_stop[reason] != _VM_STATE_INVALID)
                return after_stop[reason];
        return results[r].crash ? VM_CRASHED : VM_DEFINED;
}

/* Every row of the table: each ActiveState with each stop reason and each Result. */
Test(vm_state, from_unit_every_row) {
        for (size_t a = 0; a < ELEMENTSOF(active_states); a++)
                for (StopReason reason = 0; reason < _STOP_REASON_MAX; reason++)
                        for (size_t r = 0; r < ELEMENTSOF(results); r++) {
                                const char *active_state = active_states[a].active_state;
                                const char *result = results[r].result;
                                VMState expected = expected_state(a, reason, r);

                                cr_expect_eq(vm_state_from_unit(active_state, result, reason, false), expected,
                                             "%s/%s/'%s': expected %s", active_state ?: "(not loaded)",
                                             result ?: "(none)", stop_reason_to_string(reason),
                                             vm_state_to_string(expected));
                        }
}

/* Names systemd does not use: an unknown ActiveState is read as not running, an unknown Result
 * as no crash, and a reason out of range leaves the VM defined. */
Test(vm_state, from_unit_unknown) {
        static const struct {
                const char *active_state;
                const char *result;
                StopReason reason;
                VMState state;
        } cases[] = {
                { "", "success", STOP_REASON_NONE, VM_DEFINED },
                { "Active", "success", STOP_REASON_NONE, VM_DEFINED },
                { "running", "success", STOP_REASON_STOP_REQUEST, VM_STOPPED },
                { "inactive", "Signal", STOP_REASON_NONE, VM_DEFINED },
                { "inactive", "", STOP_REASON_NONE, VM_DEFINED },
                { "failed", "signal", _STOP_REASON_INVALID, VM_DEFINED },
                { "failed", "signal", _STOP_REASON_MAX, VM_DEFINED },
                { "active", "signal", _STOP_REASON_INVALID, VM_RUNNING },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                cr_expect_eq(vm_state_from_unit(cases[i].active_state, cases[i].result, cases[i].reason, false),
                             cases[i].state, "'%s'/'%s'/reason %d: expected %s", cases[i].active_state,
                             cases[i].result, (int) cases[i].reason, vm_state_to_string(cases[i].state));
}

/* Paused vCPUs make a started VM paused; a VM still starting (loading a snapshot) or stopping, or
 * one that is not running, shows what it would without. */
Test(vm_state, from_unit_paused) {
        for (size_t a = 0; a < ELEMENTSOF(active_states); a++)
                for (StopReason reason = 0; reason < _STOP_REASON_MAX; reason++)
                        for (size_t r = 0; r < ELEMENTSOF(results); r++) {
                                const char *active_state = active_states[a].active_state;
                                VMState expected = expected_state(a, reason, r);

                                if (expected == VM_RUNNING)
                                        expected = VM_PAUSED;
                                cr_expect_eq(vm_state_from_unit(active_state, results[r].result, reason, true),
                                             expected, "%s/%s/'%s' paused: expected %s",
                                             active_state ?: "(not loaded)", results[r].result ?: "(none)",
                                             stop_reason_to_string(reason), vm_state_to_string(expected));
                        }
}
