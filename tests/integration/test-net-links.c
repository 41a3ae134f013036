/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The links a VM's NICs make, read with a netlink dump of every link: while the VM runs, each NIC
 * has its TAP device, up and enslaved to its bridge; a stop (graceful or killed) removes the TAPs
 * and keeps the bridges; a delete leaves nothing of the VM; a microvmd killed and back neither adds
 * nor removes a TAP; a TAP left over from a crash is taken over. VM names start with "itnl-". */

#include "bus-test.h"

#define PREFIX "itnl-"
#define BRIDGE0 PREFIX "br0"
#define BRIDGE1 PREFIX "br1"
#define BRIDGE2 PREFIX "br2"

static void cleanup(void) {
        /* The bridges, and the TAPs (derived names) a failed test may leave. */
        static const char *const links[] = {
                BRIDGE0, BRIDGE1, BRIDGE2, "mvm-" PREFIX "vm-0", "mvm-" PREFIX "vm-1", "mvm-" PREFIX "left-0",
        };

        /* microvmd may have been killed too often for systemd's start rate limit. */
        (void) bt_run(NULL, "systemctl reset-failed " BT_UNIT);
        bt_cleanup_prefix(PREFIX);
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                bt_link_delete(links[i]);
}

TestSuite(net_links, .init = cleanup, .fini = cleanup);

/* NIC index's TAP, as microvmd derived it and shows it (owned). */
static char *nic_tap(BusTest *t, const char *name, size_t index) {
        g_autoptr(GVariant) networks = bt_vm_property(t, name, "Networks"), nic = NULL, tap = NULL;

        cr_assert(index < g_variant_n_children(networks), "%s has %zu NICs, not %zu", name,
                  g_variant_n_children(networks), index + 1);
        nic = g_variant_get_child_value(networks, index);
        tap = g_variant_lookup_value(nic, "TAP", G_VARIANT_TYPE_STRING);
        cr_assert(tap && g_variant_get_string(tap, NULL)[0], "NIC %zu of %s has no TAP", index, name);
        return g_variant_dup_string(tap, NULL);
}

/* Whether GetSystemInfo's Bridges lists bridge. */
static bool system_info_has_bridge(BusTest *t, const char *bridge) {
        g_autoptr(GVariant) reply = bt_manager_call(t, "GetSystemInfo", NULL, "GetSystemInfo"), info = NULL;
        g_autoptr(GVariant) bridges = NULL;
        g_autofree const char **list = NULL;

        g_variant_get(reply, "(@a{sv})", &info);
        bridges = g_variant_lookup_value(info, "Bridges", G_VARIANT_TYPE_STRING_ARRAY);
        cr_assert(bridges, "GetSystemInfo has no Bridges (as)");
        list = g_variant_get_strv(bridges, NULL);
        return g_strv_contains(list, bridge);
}

/* links (as bt_links() prints them) without line, which must be one of them (owned). */
static char *links_minus(const char *links, const char *line, const char *what) {
        g_auto(GStrv) lines = g_strsplit(links, "\n", -1);
        g_autoptr(GString) s = g_string_new(NULL);
        bool found = false;

        for (char **l = lines; *l; l++) {
                if (streq(*l, line))
                        found = true;
                else if (**l)
                        g_string_append_printf(s, "%s\n", *l);
        }
        cr_assert(found, "%s: no link '%s' in\n%s", what, line, links);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

Test(net_links, lifecycle) {
        static const char name[] = PREFIX "vm";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = NULL, *tap0 = NULL, *tap1 = NULL, *before = NULL, *running = NULL;
        g_autofree char *stopped = NULL, *reason = NULL, *state = NULL;
        g_autofree char *tap0_line = NULL, *tap1_line = NULL;
        int ifindex0, ifindex1;

        /* Two NICs on two bridges that do not exist yet: the launcher makes them. */
        config = bt_guest_config("", "'Networks': <[{'Bridge': <'" BRIDGE0 "'>}, {'Bridge': <'" BRIDGE1 "'>}]>");
        before = bt_links();
        cr_assert(!strstr(before, BRIDGE0 " ") && !strstr(before, BRIDGE1 " "), "lifecycle: a bridge is left:\n%s",
                  before);

        /* Defining a VM makes no link; its bridges are in use. */
        g_free(bt_create_vm(t, name, config));
        bt_assert_links(before, "lifecycle: after CreateVM");
        cr_assert(system_info_has_bridge(t, BRIDGE0) && system_info_has_bridge(t, BRIDGE1),
                  "lifecycle: GetSystemInfo's Bridges lacks " BRIDGE0 " or " BRIDGE1);
        tap0 = nic_tap(t, name, 0);
        tap1 = nic_tap(t, name, 1);
        tap0_line = g_strdup_printf("%s tun master=" BRIDGE0 " up", tap0);
        tap1_line = g_strdup_printf("%s tun master=" BRIDGE1 " up", tap1);
        running = bt_links_plus(before, BRIDGE0 " bridge up", BRIDGE1 " bridge up", tap0_line, tap1_line, NULL);
        stopped = bt_links_plus(before, BRIDGE0 " bridge up", BRIDGE1 " bridge up", NULL);

        /* Running: each NIC's TAP, up, in its bridge; both bridges made and up. */
        bt_boot_vm(t, name);
        bt_assert_links(running, "lifecycle: running");
        ifindex0 = bt_link_ifindex(tap0);
        ifindex1 = bt_link_ifindex(tap1);

        /* microvmd killed and back: the VM runs on, with the very same TAPs. */
        bt_kill_microvmd("lifecycle: microvmd SIGKILL");
        state = bt_vm_state(t, name);
        cr_assert_str_eq(state, "running", "lifecycle: after microvmd's SIGKILL the VM is %s", state);
        cr_assert(bt_wait_unit_property(BT_UNIT, "ActiveState", "active", BT_TIMEOUT_USEC),
                  "lifecycle: " BT_UNIT " did not become active again");
        bt_assert_links(running, "lifecycle: after microvmd's SIGKILL");
        cr_assert(bt_link_ifindex(tap0) == ifindex0 && bt_link_ifindex(tap1) == ifindex1,
                  "lifecycle: after microvmd's SIGKILL, a TAP was made anew");

        /* A graceful stop: the TAPs go, the bridges stay for other VMs. */
        reason = bt_stop_vm(t, name, 0);
        cr_assert_str_eq(reason, "stop-request", "lifecycle: StopVM returned %s", reason);
        bt_assert_links(stopped, "lifecycle: after StopVM");

        /* Started again, killed: the same. */
        bt_start_vm(t, name);
        bt_assert_links(running, "lifecycle: started again");
        bt_kill_vm(t, name, SIGKILL);
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_TIMEOUT_USEC), "lifecycle: the killed VM did not stop");
        /* The ExecStopPost= that removes the TAPs is over once the unit is gone. */
        bt_assert_vm_unit_gone(name, "lifecycle: after KillVM");
        bt_assert_links(stopped, "lifecycle: after KillVM");

        /* Deleted: nothing of the VM's, and its bridges are no longer in use. */
        bt_delete_vm(t, name);
        bt_assert_links(stopped, "lifecycle: after DeleteVM");
        cr_assert(!system_info_has_bridge(t, BRIDGE0) && !system_info_has_bridge(t, BRIDGE1),
                  "lifecycle: after DeleteVM, GetSystemInfo's Bridges still lists " BRIDGE0 " or " BRIDGE1);
        bt_assert_vm_unit_gone(name, "lifecycle: after DeleteVM");
}

Test(net_links, leftover_tap) {
        static const char name[] = PREFIX "left";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = NULL, *tap = NULL, *before = NULL, *without = NULL, *left_line = NULL;
        g_autofree char *tap_line = NULL, *running = NULL, *stopped = NULL, *reason = NULL;
        unsigned replies;
        int ifindex;

        config = bt_guest_config("microvm.ip=10.215.0.2/24", "'Networks': <[{'Bridge': <'" BRIDGE2 "'>}]>");
        g_free(bt_create_vm(t, name, config));
        tap = nic_tap(t, name, 0);

        /* As a crash leaves it: persistent, down, in no bridge. */
        bt_tap_add(tap);
        ifindex = bt_link_ifindex(tap);
        left_line = g_strdup_printf("%s tun", tap);
        before = bt_links();
        without = links_minus(before, left_line, "leftover TAP: before the start");

        /* Taken over as it is: the same link, now up and in the bridge. */
        bt_boot_vm(t, name);
        cr_assert_eq(bt_link_ifindex(tap), ifindex, "leftover TAP: %s was made anew, not taken over", tap);
        tap_line = g_strdup_printf("%s tun master=" BRIDGE2 " up", tap);
        running = bt_links_plus(without, BRIDGE2 " bridge up", tap_line, NULL);
        stopped = bt_links_plus(without, BRIDGE2 " bridge up", NULL);
        bt_assert_links(running, "leftover TAP: running");

        /* And the guest's traffic goes through it. */
        bt_address_add(BRIDGE2, "10.215.0.1/24");
        replies = bt_ping("10.215.0.2", 3, 2 * G_USEC_PER_SEC);
        cr_assert_eq(replies, 3, "leftover TAP: the host pinged the guest 3 times and got %u replies", replies);

        reason = bt_stop_vm(t, name, 0);
        cr_assert_str_eq(reason, "stop-request", "leftover TAP: StopVM returned %s", reason);
        bt_assert_links(stopped, "leftover TAP: after StopVM");
}
