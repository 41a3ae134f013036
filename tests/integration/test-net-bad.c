/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Network settings that cannot work, each refused with a named error that says what to fix and
 * nothing left behind: bad MACs, TAP and bridge names, and MACs or TAPs used twice are refused by
 * CreateVM and UpdateVM with nothing changed; a TAP name taken by a link that is not a TAP, a
 * bridge name taken by a link that is not a bridge, and a missing /dev/net/tun are refused by
 * StartVM with no link made and no unit left. Links are read with a netlink dump. VM names start
 * with "itnb-". */

#include <sys/mount.h>

#include "bus-test.h"

#define PREFIX "itnb-"
#define VETH PREFIX "veth0"
#define VETH_PEER PREFIX "veth1"
#define TAKEN_BRIDGE PREFIX "br0"
#define TAKEN_TAP PREFIX "tap0"
/* Bridges that do not exist and must not be made. */
#define NEW_BRIDGE PREFIX "new0"
#define NEW_BRIDGE_1 PREFIX "new1"
#define TUN_DIR "/dev/net"

static void cleanup(void) {
        static const char *const links[] = {
                VETH, TAKEN_BRIDGE, TAKEN_TAP, NEW_BRIDGE, NEW_BRIDGE_1, "mvm-" PREFIX "ok-0",
        };

        bt_cleanup_prefix(PREFIX);
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                bt_link_delete(links[i]);
}

TestSuite(net_bad, .init = cleanup, .fini = cleanup);

/* A configuration of the test guest with these NICs ("{...}, {...}"), owned. */
static char *nics_config(const char *nics) {
        g_autofree char *more = g_strdup_printf("'Networks': <[%s]>", nics);

        return bt_guest_config("", more);
}

/* Makes the call, which must fail with InvalidConfig and a message containing fragment, and change
 * nothing: not microvmd's VMs, key files or signals, and not the links. */
static void assert_config_refused(BusTest *t, const char *member, const char *name, const char *config_text,
                                  const char *fragment, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autofree char *before = NULL, *links = bt_links();
        int r;

        bt_sync(t);
        before = bt_snapshot(t);
        bt_clear_signals(t);

        r = bt_try_manager_call(t, member, g_variant_new("(s@a{sv})", name, bt_config(config_text)), &error);
        bt_assert_error(r, &error, "org.microvm.Error.InvalidConfig", fragment, what);
        bt_assert_unchanged(t, before, what);
        bt_assert_links(links, what);
}

Test(net_bad, config) {
        static const struct {
                const char *label, *nics, *fragment;
        } cases[] = {
                { "multicast MAC", "{'MACAddress': <'03:00:00:00:00:01'>}", "'03:00:00:00:00:01' is multicast" },
                { "all-zero MAC", "{'MACAddress': <'00:00:00:00:00:00'>}", "must not be all zeros" },
                { "MAC too short", "{'MACAddress': <'02:00:00:00:00'>}", "must be a MAC address like" },
                { "MAC with dashes", "{'MACAddress': <'02-00-00-00-00-01'>}", "must be a MAC address like" },
                { "MAC not hex", "{'MACAddress': <'02:00:00:00:00:zz'>}", "must be a MAC address like" },
                { "MAC too long", "{'MACAddress': <'02:00:00:00:00:01:02'>}", "must be a MAC address like" },
                { "TAP name of 16 characters", "{'TAP': <'" PREFIX "0123456789a'>}",
                  "1 to 15 characters" },
                { "TAP name with a slash", "{'TAP': <'" PREFIX "a/b'>}", "1 to 15 characters" },
                { "bridge name of 16 characters", "{'Bridge': <'" PREFIX "0123456789a'>}",
                  "1 to 15 characters" },
                { "two NICs, one MAC", "{'MACAddress': <'02:00:00:00:00:01'>}, {'MACAddress': <'02:00:00:00:00:01'>}",
                  "Networks[0] and Networks[1] both have MACAddress=02:00:00:00:00:01" },
                { "two NICs, one MAC in two cases",
                  "{'MACAddress': <'02:00:00:00:00:0a'>}, {'MACAddress': <'02:00:00:00:00:0A'>}",
                  "Networks[0] and Networks[1] both have MACAddress=" },
                { "two NICs, one TAP", "{'TAP': <'" PREFIX "t'>}, {'TAP': <'" PREFIX "t'>}",
                  "Networks[0] and Networks[1] both have TAP=" PREFIX "t" },
        };
        _cleanup_(bt_freep) BusTest *t = bt_new();

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *config = nics_config(cases[i].nics);
                g_autofree char *what = g_strdup_printf("%s: CreateVM", cases[i].label);

                assert_config_refused(t, "CreateVM", PREFIX "bad", config, cases[i].fragment, what);
        }
}

/* What another VM uses already, in any case: refused to a new VM and to an existing one. */
Test(net_bad, taken_by_another_vm) {
        static const struct {
                const char *label, *nics, *fragment;
        } cases[] = {
                { "another VM's MAC", "{'MACAddress': <'02:00:00:00:00:4a'>}",
                  "Networks[0].MACAddress: 02:00:00:00:00:4a is used by VM '" PREFIX "other'" },
                { "another VM's MAC in upper case", "{'MACAddress': <'02:00:00:00:00:4A'>}",
                  "02:00:00:00:00:4A is used by VM '" PREFIX "other'" },
                { "another VM's TAP", "{'TAP': <'" PREFIX "tap-other'>}",
                  "Networks[0].TAP: " PREFIX "tap-other is used by VM '" PREFIX "other'" },
        };
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *other = nics_config("{'MACAddress': <'02:00:00:00:00:4a'>, 'TAP': <'" PREFIX "tap-other'>}");
        g_autofree char *existing = nics_config("@a{sv} {}");

        g_free(bt_create_vm(t, PREFIX "other", other));
        g_free(bt_create_vm(t, PREFIX "existing", existing));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *config = nics_config(cases[i].nics);
                g_autofree char *update = g_strdup_printf("{'Networks': <[%s]>}", cases[i].nics);
                g_autofree char *what = g_strdup_printf("%s: CreateVM", cases[i].label);
                g_autofree char *what_update = g_strdup_printf("%s: UpdateVM", cases[i].label);

                assert_config_refused(t, "CreateVM", PREFIX "bad", config, cases[i].fragment, what);
                assert_config_refused(t, "UpdateVM", PREFIX "existing", update, cases[i].fragment, what_update);
        }
}

/* StartVM of the VM must fail with error_name and a message containing fragment, make no link, and
 * leave no unit; the VM is stopped, because its start failed. */
static void assert_start_refused(BusTest *t, const char *name, const char *error_name, const char *fragment,
                                 const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autofree char *links = bt_links(), *state = NULL, *reason = NULL;
        int r;

        r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "StartVM", g_variant_new("(s)", name),
                            BT_BOOT_TIMEOUT_USEC, NULL, &error);
        bt_assert_error(r, &error, error_name, fragment, what);
        bt_assert_vm_unit_gone(name, what);
        bt_assert_links(links, what);
        state = bt_vm_state(t, name);
        reason = bt_vm_stop_reason(t, name);
        cr_assert(streq(state, "stopped") && streq(reason, "start-failed"),
                  "%s: the VM is %s (StopReason '%s'), not stopped (start-failed)", what, state, reason);
}

Test(net_bad, links_taken) {
        static const struct {
                const char *label, *nics, *fragment;
        } cases[] = {
                { "TAP name of a veth", "{'Bridge': <'" NEW_BRIDGE "'>, 'TAP': <'" VETH "'>}",
                  "TAP=" VETH " is taken by a link that is not a TAP device" },
                { "TAP name of a bridge", "{'Bridge': <'" NEW_BRIDGE "'>, 'TAP': <'" TAKEN_BRIDGE "'>}",
                  "TAP=" TAKEN_BRIDGE " is taken by a link that is not a TAP device" },
                { "bridge name of a TAP", "{'Bridge': <'" TAKEN_TAP "'>}",
                  "Bridge=" TAKEN_TAP ": a link of that name exists but is not a bridge" },
                { "bridge name of a veth", "{'Bridge': <'" VETH_PEER "'>}",
                  "Bridge=" VETH_PEER ": a link of that name exists but is not a bridge" },
                /* The first NIC alone would work: neither its bridge nor its TAP is made. */
                { "second NIC's TAP name taken",
                  "{'Bridge': <'" NEW_BRIDGE "'>}, {'Bridge': <'" NEW_BRIDGE_1 "'>, 'TAP': <'" VETH "'>}",
                  "TAP=" VETH " is taken by a link that is not a TAP device" },
                { "second NIC's bridge name taken", "{'Bridge': <'" NEW_BRIDGE "'>}, {'Bridge': <'" VETH "'>}",
                  "Bridge=" VETH ": a link of that name exists but is not a bridge" },
        };
        _cleanup_(bt_freep) BusTest *t = bt_new();

        bt_veth_add(VETH, VETH_PEER);
        bt_bridge_add(TAKEN_BRIDGE);
        bt_tap_add(TAKEN_TAP);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *name = g_strdup_printf(PREFIX "s%zu", i);
                g_autofree char *config = nics_config(cases[i].nics);

                g_free(bt_create_vm(t, name, config));
                assert_start_refused(t, name, "org.microvm.Error.InvalidConfig", cases[i].fragment, cases[i].label);
                bt_delete_vm(t, name);
        }
}

static bool tun_hidden;

/* Puts /dev/net/tun back; for the test's .fini, which runs even when it fails. */
static void restore_tun(void) {
        if (tun_hidden && umount2(TUN_DIR, 0) < 0)
                fprintf(stderr, "unmounting the tmpfs over " TUN_DIR " failed: %s\n", strerror(errno));
        tun_hidden = false;
        cleanup();
}

Test(net_bad, tun_missing, .fini = restore_tun) {
        static const char name[] = PREFIX "ok";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = nics_config("{'Bridge': <'" NEW_BRIDGE "'>}"), *before = NULL, *running = NULL;
        g_autofree char *tap_line = NULL;

        g_free(bt_create_vm(t, name, config));

        /* An empty /dev/net, in this mount namespace (the harness's own), for the start alone. */
        cr_assert(mount("tmpfs", TUN_DIR, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") >= 0,
                  "tun missing: mounting a tmpfs over " TUN_DIR ": %s", strerror(errno));
        tun_hidden = true;
        assert_start_refused(t, name, "org.microvm.Error.HypervisorUnavailable", "/dev/net/tun is missing",
                             "tun missing");
        cr_assert(umount2(TUN_DIR, 0) >= 0, "tun missing: unmounting " TUN_DIR ": %s", strerror(errno));
        tun_hidden = false;

        /* /dev/net/tun back, the same VM starts, with its bridge and TAP. */
        before = bt_links();
        bt_start_vm(t, name);
        tap_line = g_strdup_printf("mvm-%s-0 tun master=" NEW_BRIDGE " up", name);
        running = bt_links_plus(before, NEW_BRIDGE " bridge up", tap_line, NULL);
        bt_assert_links(running, "tun back");
        bt_kill_vm(t, name, SIGKILL);
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_TIMEOUT_USEC), "tun back: the killed VM did not stop");
        bt_assert_vm_unit_gone(name, "tun back: after KillVM");
}
