/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM state table: names on the bus and which states have a running unit. */

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
