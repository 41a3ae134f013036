/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A running VM is a machine of class "vm" in systemd-machined (the real one, bus-activated in the
 * private systemd): machinectl lists it with its hypervisor as the leader and the VM's unit; once
 * stopped it is gone. VM names start with "imc-". */

#include <criterion/criterion.h>

#include "bus-test.h"

#define PREFIX "imc-"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(machine, .init = cleanup, .fini = cleanup);

/* machinectl show NAME -p PROPERTY --value, or NULL when machinectl fails (no such machine). */
static char *machine_property(const char *name, const char *property) {
        g_autofree char *out = NULL;

        if (bt_run(&out, "machinectl show %s -p %s --value 2>&1", name, property) != 0)
                return NULL;
        return g_strdup(g_strstrip(out));
}

Test(machine, registered_while_running) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        const char *name = PREFIX "vm";
        g_autofree char *config = bt_guest_config("", ""), *list = NULL, *class = NULL, *leader = NULL;
        g_autofree char *unit = NULL, *service = NULL, *gone = NULL, *expected_leader = NULL;
        int64_t deadline;

        g_free(bt_create_vm(t, name, config));
        bt_boot_vm(t, name);

        /* Registered as the VM runs; the answer comes from machined, asynchronously. */
        deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
        while (!(class = machine_property(name, "Class")) && g_get_monotonic_time() < deadline)
                g_usleep(100000);
        cr_assert_not_null(class, "%s is not a machine while it runs", name);
        cr_expect_str_eq(class, "vm");
        leader = machine_property(name, "Leader");
        expected_leader = g_strdup_printf("%u", bt_vm_main_pid(t, name));
        cr_expect_str_eq(leader, expected_leader, "the hypervisor leads the machine");
        unit = machine_property(name, "Unit");
        cr_expect_str_eq(unit, "microvm@imc-vm.service");
        service = machine_property(name, "Service");
        cr_expect_str_eq(service, "microvm");
        cr_assert_eq(bt_run(&list, "machinectl list --no-legend --no-pager"), 0, "%s", list);
        cr_expect(strstr(list, name) && strstr(list, " vm "), "machinectl list: %s", list);

        g_free(bt_stop_vm(t, name, BT_STOP_TIMEOUT_USEC));
        deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
        while ((gone = machine_property(name, "Class")) && g_get_monotonic_time() < deadline) {
                g_free(gone);
                gone = NULL;
                g_usleep(100000);
        }
        cr_expect_null(gone, "%s is still a machine after it stopped", name);
}
