/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Real traffic between guests and the host over microvm's bridges: two guests with static
 * addresses from their kernel command lines ping each other and are pinged from the host end of
 * their bridge, and with systemd-networkd running microvm's default network, a guest gets its
 * address by DHCP from microvm0 and pings the bridge. Each result is read where it shows: the
 * guests' own ping output on their serial consoles, and the host's echo replies. VM names start
 * with "itnt-". */

#include "bus-test.h"

#define PREFIX "itnt-"
#define BRIDGE PREFIX "br0"
/* What busybox's ping prints when every echo came back. */
#define PING_ALL_RECEIVED "3 packets transmitted, 3 packets received, 0% packet loss"
#define GUEST_RUN_EXIT "microvm-guest: run exit="
#define GUEST_DHCP_ADDRESS "microvm-guest: dhcp address="
/* How long the host waits for each echo reply (the first waits for ARP, too). */
#define PING_TIMEOUT_USEC (2 * G_USEC_PER_SEC)

/* The default network of units/network, as installed. */
#define DEFAULT_BRIDGE "microvm0"
#define DEFAULT_BRIDGE_ADDRESS "10.213.0.1"
#define NETWORKD_UNIT "systemd-networkd.service"
#define NETWORKD_SOCKET "systemd-networkd.socket"
/* The harness has no udev. systemd-networkd waits for udev to announce each link, except where
 * /sys is read-only, as in a container: make it so for networkd alone. */
#define NETWORKD_DROPIN_DIR "/run/systemd/system/" NETWORKD_UNIT ".d"
#define NETWORKD_DROPIN NETWORKD_DROPIN_DIR "/50-microvm-test-no-udev.conf"

static void cleanup(void) {
        g_autofree char *out = NULL;

        bt_cleanup_prefix(PREFIX);
        bt_link_delete(BRIDGE);
        /* The networkd test's: networkd stopped, its default bridge gone, as the suite found it. */
        if (g_file_test(NETWORKD_DROPIN, G_FILE_TEST_EXISTS)) {
                (void) bt_run(&out, "systemctl stop " NETWORKD_UNIT " " NETWORKD_SOCKET);
                (void) unlink(NETWORKD_DROPIN);
                (void) rmdir(NETWORKD_DROPIN_DIR);
                (void) bt_run(NULL, "systemctl daemon-reload");
                bt_link_delete(DEFAULT_BRIDGE);
        }
}

TestSuite(net_traffic, .init = cleanup, .fini = cleanup);

/* Waits for the guest's command to end and asserts that its ping got every reply. */
static void assert_guest_pinged(const char *name, const char *what) {
        g_autofree char *serial = NULL;

        bt_assert_serial_line(name, GUEST_RUN_EXIT, BT_BOOT_TIMEOUT_USEC, what);
        serial = bt_serial_text(name);
        cr_assert(bt_wait_serial_line(name, PING_ALL_RECEIVED, 0) && bt_wait_serial_line(name, GUEST_RUN_EXIT "0", 0),
                  "%s: the guest's ping did not get all its replies; its serial console said:\n%s", what, serial);
}

static void assert_host_pings(const char *address, const char *what) {
        unsigned replies = bt_ping(address, 3, PING_TIMEOUT_USEC);

        cr_assert_eq(replies, 3, "%s: the host pinged %s 3 times and got %u replies", what, address, replies);
}

Test(net_traffic, static_addresses) {
        static const char *const names[] = { PREFIX "a", PREFIX "b" };
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config_a = NULL, *config_b = NULL, *reason = NULL;
        const char *networks = "'Networks': <[{'Bridge': <'" BRIDGE "'>}]>";

        /* The bridge exists already, with the host's address: the launcher only enslaves to it. */
        bt_bridge_add(BRIDGE);
        bt_address_add(BRIDGE, "10.214.0.1/24");

        config_a = bt_guest_config("microvm.ip=10.214.0.2/24 microvm.gw=10.214.0.1 "
                                   "microvm.run=\"ip route && ping -c 3 -W 2 10.214.0.3\"", networks);
        config_b = bt_guest_config("microvm.ip=10.214.0.3/24", networks);
        g_free(bt_create_vm(t, names[0], config_a));
        g_free(bt_create_vm(t, names[1], config_b));

        /* B is up before A pings it. */
        bt_boot_vm(t, names[1]);
        bt_assert_serial_line(names[1], "microvm-guest: static address=10.214.0.3/24", 0, "static addresses: B");
        bt_boot_vm(t, names[0]);
        bt_assert_serial_line(names[0], "microvm-guest: static address=10.214.0.2/24", 0, "static addresses: A");

        assert_guest_pinged(names[0], "static addresses: A pings B");
        bt_assert_serial_line(names[0], "default via 10.214.0.1 dev eth0", 0, "static addresses: A's gateway");
        assert_host_pings("10.214.0.2", "static addresses: the host pings A");
        assert_host_pings("10.214.0.3", "static addresses: the host pings B");

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                reason = bt_stop_vm(t, names[i], 0);
                cr_assert_str_eq(reason, "stop-request", "static addresses: StopVM of %s returned %s", names[i],
                                 reason);
                g_clear_pointer(&reason, g_free);
        }
}

/* The address the guest says DHCP gave it must be in microvm0's pool, 10.213.0.100 to
 * 10.213.0.199, with the pool's prefix. Returns it without the prefix (owned). */
static char *dhcp_address(const char *name, const char *what) {
        g_autofree char *serial = bt_serial_text(name);
        g_auto(GStrv) lines = g_strsplit(serial, "\n", -1);

        for (char **l = lines; *l; l++) {
                const char *a = g_str_has_prefix(*l, GUEST_DHCP_ADDRESS) ? *l + strlen(GUEST_DHCP_ADDRESS) : NULL;
                g_autofree char *address = NULL;
                const char *host;
                guint64 n;

                if (!a)
                        continue;
                address = g_strchomp(g_strdup(a));
                cr_assert(g_str_has_prefix(address, "10.213.0.") && g_str_has_suffix(address, "/24"),
                          "%s: DHCP gave the guest %s, not an address of 10.213.0.0/24", what, address);
                *strchr(address, '/') = '\0';
                host = address + strlen("10.213.0.");
                cr_assert(g_ascii_string_to_unsigned(host, 10, 100, 199, &n, NULL),
                          "%s: DHCP gave the guest %s, outside the pool 10.213.0.100-199", what, address);
                return g_steal_pointer(&address);
        }
        cr_assert_fail("%s: the guest did not say what DHCP gave it; its serial console said:\n%s", what, serial);
        return NULL;
}

Test(net_traffic, networkd_dhcp) {
        static const char name[] = PREFIX "dhcp";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = NULL, *out = NULL, *links = NULL, *status = NULL, *address = NULL, *reason = NULL;
        g_autoptr(GVariant) networks = NULL, nic = NULL;
        int r;

        cr_assert(g_mkdir_with_parents(NETWORKD_DROPIN_DIR, 0755) >= 0, "networkd: creating %s: %s",
                  NETWORKD_DROPIN_DIR, strerror(errno));
        bt_write_file(NETWORKD_DROPIN, "[Service]\nBindReadOnlyPaths=/sys\n");
        r = bt_run(&out, "systemctl daemon-reload && systemctl start " NETWORKD_UNIT);
        cr_assert(r == 0, "networkd: systemctl start " NETWORKD_UNIT " failed: %s", out);

        /* networkd makes microvm0 from microvm0.netdev and gives it its address without a carrier. */
        if (!bt_wait_address(DEFAULT_BRIDGE, DEFAULT_BRIDGE_ADDRESS "/24", BT_TIMEOUT_USEC)) {
                links = bt_links();
                (void) bt_run(&status, "networkctl --no-pager status " DEFAULT_BRIDGE);
                cr_assert_fail("networkd: " DEFAULT_BRIDGE " did not get " DEFAULT_BRIDGE_ADDRESS "/24; the "
                               "links:\n%snetworkctl said:\n%s", links, status);
        }

        /* No Bridge=: microvmd's default bridge, microvm0. */
        config = bt_guest_config("microvm.dhcp=1 "
                                 "microvm.run=\"ip route && ping -c 3 -W 2 " DEFAULT_BRIDGE_ADDRESS "\"",
                                 "'Networks': <[@a{sv} {}]>");
        g_free(bt_create_vm(t, name, config));
        networks = bt_vm_property(t, name, "Networks");
        cr_assert(g_variant_n_children(networks) == 1, "networkd: the VM has %zu NICs",
                  g_variant_n_children(networks));
        nic = g_variant_get_child_value(networks, 0);
        bt_assert_entry(nic, "Bridge", "'" DEFAULT_BRIDGE "'", "networkd: the default bridge");

        /* The guest has its lease before its ready line. */
        bt_boot_vm(t, name);
        address = dhcp_address(name, "networkd: DHCP");
        assert_guest_pinged(name, "networkd: the guest pings " DEFAULT_BRIDGE);
        bt_assert_serial_line(name, "default via " DEFAULT_BRIDGE_ADDRESS " dev eth0", 0,
                              "networkd: the gateway DHCP gave");
        assert_host_pings(address, "networkd: the host pings the guest");

        reason = bt_stop_vm(t, name, 0);
        cr_assert_str_eq(reason, "stop-request", "networkd: StopVM returned %s", reason);
}
