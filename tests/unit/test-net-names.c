/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Interface names and MAC addresses: the checks, the text form, and the derivations, which must
 * stay the same forever (a VM keeps its MAC across upgrades), be locally administered unicast
 * addresses and valid interface names, and differ by NIC and attempt. */

#include <criterion/criterion.h>

#include "config.h"
#include "keyfile.h"
#include "net-names.h"
#include "test-util.h"

static char *mac_text(const uint8_t mac[6]) {
        char buf[18];

        net_mac_format(mac, buf);
        return g_strdup(buf);
}

Test(net_names, interface_name_is_valid) {
        static const struct {
                const char *name;
                bool ok;
        } cases[] = {
                { "", false },
                { "a", true },
                { "br0", true },
                { "microvm0", true },
                { "mvm-web-0", true },
                { "TAP_0", true },
                { "a,b", true },
                { "a.b", true },
                { "-", true },
                { "...", true },
                { "abcdefghijklmno", true },            /* 15 */
                { "abcdefghijklmnop", false },          /* 16 */
                { "abcdefghijklmnopqrstuvwxyz", false },
                { ".", false },
                { "..", false },
                { "/", false },
                { "a/b", false },
                { ":", false },
                { "eth0:1", false },
                { " ", false },
                { "a b", false },
                { " a", false },
                { "a ", false },
                { "a\tb", false },
                { "a\nb", false },
                { "a\x7f", false },
                { "\x01", false },
                { "br\xc3\xa9", false },                /* non-ASCII */
                { "\xe2\x82\xac", false },
                { "\xff", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *escaped = g_strescape(cases[i].name, NULL);

                cr_expect_eq(net_interface_name_is_valid(cases[i].name), cases[i].ok, "'%s'", escaped);
        }
}

Test(net_names, mac_parse) {
        static const struct {
                const char *text;
                const char *canonical;  /* NULL: refused */
        } cases[] = {
                { "02:00:00:12:34:56", "02:00:00:12:34:56" },
                { "52:54:00:AB:CD:EF", "52:54:00:ab:cd:ef" },
                { "0a:Bc:dE:f0:12:34", "0a:bc:de:f0:12:34" },
                { "ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff" },   /* parsing is not checking */
                { "00:00:00:00:00:00", "00:00:00:00:00:00" },
                { "01:00:5e:00:00:01", "01:00:5e:00:00:01" },
                { "", NULL },
                { "02:00:00:12:34", NULL },
                { "02:00:00:12:34:5", NULL },
                { "02:00:00:12:34:567", NULL },
                { "02:00:00:12:34:56:", NULL },
                { "02:00:00:12:34:56:78", NULL },
                { "02-00-00-12-34-56", NULL },
                { "02:00:00-12:34:56", NULL },
                { "02.00.00.12.34.56", NULL },
                { "0200.0012.3456", NULL },
                { "020000123456", NULL },
                { "2:0:0:12:34:56", NULL },
                { "02::00:12:34:56:", NULL },
                { "02:00:00:12:34:5g", NULL },
                { "g2:00:00:12:34:56", NULL },
                { "02:00:00:12:34:+5", NULL },
                { "02:00:00:12:34: 5", NULL },
                { " 02:00:00:12:34:56", NULL },
                { "02:00:00:12:34:56 ", NULL },
                { "\xef\xbc\x90\x32:00:00:12:34:56", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint8_t mac[6] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
                g_autofree char *escaped = g_strescape(cases[i].text, NULL), *printed = NULL;
                int r = net_mac_parse(cases[i].text, mac);

                if (!cases[i].canonical) {
                        static const uint8_t untouched[6] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };

                        cr_expect_eq(r, -EINVAL, "'%s': refused", escaped);
                        cr_expect_arr_eq(mac, untouched, 6, "'%s': the result untouched", escaped);
                        continue;
                }
                cr_expect_eq(r, 0, "'%s': accepted", escaped);
                printed = mac_text(mac);
                expect_streq(printed, cases[i].canonical, escaped);
        }
}

Test(net_names, mac_format_parse_round_trip) {
        static const uint8_t macs[][6] = {
                { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },
                { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
                { 0x02, 0x00, 0x00, 0x12, 0x34, 0x56 },
                { 0x0a, 0xbc, 0xde, 0xf0, 0x01, 0x09 },
                { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef },
        };

        for (size_t i = 0; i < ELEMENTSOF(macs); i++) {
                g_autofree char *text = mac_text(macs[i]);
                uint8_t back[6];

                cr_expect_eq(strlen(text), 17, "%s: 17 characters", text);
                cr_expect_eq(net_mac_parse(text, back), 0, "%s", text);
                cr_expect_arr_eq(back, macs[i], 6, "%s: the same bytes back", text);
        }

        /* Every byte value in every position prints as two lower-case hex digits. */
        for (unsigned v = 0; v < 256; v++)
                for (size_t pos = 0; pos < 6; pos++) {
                        uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 }, back[6];
                        g_autofree char *text = NULL, *lower = NULL;

                        mac[pos] = (uint8_t) v;
                        text = mac_text(mac);
                        lower = g_ascii_strdown(text, -1);
                        expect_streq(text, lower, "lower case");
                        cr_assert_eq(net_mac_parse(text, back), 0, "%s", text);
                        cr_assert_arr_eq(back, mac, 6, "%s", text);
                }
}

/* Fixed values: a change of the hash would give every VM a new MAC, and its guest a new
 * interface (and DHCP lease). FNV-1a of "NAME/INDEX/ATTEMPT". */
static const struct {
        const char *name;
        size_t index;
        unsigned attempt;
        const char *mac;
        const char *tap;
} derived[] = {
        { "web", 0, 0, "4a:ba:42:e3:73:77", "mvm-web-0" },
        { "web", 1, 0, "be:94:75:e8:73:2e", "mvm-web-1" },
        { "web", 0, 1, "96:b8:42:e3:73:76", "mvme342b896.0" },
        { "web", 0, 2, "e2:b6:42:e3:73:75", "mvme342b6e3.0" },
        { "web", 1, 1, NULL, "mvme8759671.1" },
        { "a", 0, 0, "16:10:66:25:bd:1c", "mvm-a-0" },
        { "db.backup_2", 3, 0, "0a:ac:67:ab:7c:30", "mvmab67ac09.3" },
        { "db.backup_2", 0, 0, NULL, "mvma749ca94.0" },
        { "database-server", 0, 0, NULL, "mvmd3cf4aac.0" },
        { "abcdefghi", 0, 0, NULL, "mvm-abcdefghi-0" },         /* 15: still fits */
        { "abcdefgh", 10, 0, NULL, "mvm-abcdefgh-10" },
        { "web", 1234, 0, NULL, "mvm-web-1234" },
        { "web", 1234, 1, NULL, "mvm06eca336.234" },            /* the index modulo 1000 */
};

Test(net_names, derivations_are_stable) {
        for (size_t i = 0; i < ELEMENTSOF(derived); i++) {
                g_autofree char *what = g_strdup_printf("%s/%zu/%u", derived[i].name, derived[i].index,
                                                        derived[i].attempt);
                char tap[NET_IFNAME_MAX + 1];

                if (derived[i].mac) {
                        uint8_t mac[6];
                        g_autofree char *text = NULL;

                        net_mac_derive(derived[i].name, derived[i].index, derived[i].attempt, mac);
                        text = mac_text(mac);
                        expect_streq(text, derived[i].mac, what);
                }
                net_tap_derive(derived[i].name, derived[i].index, derived[i].attempt, tap);
                expect_streq(tap, derived[i].tap, what);
        }
}

static const char *const names[] = {
        "web", "db", "a", "A", "web2", "web-2", "db.backup_2", "_x", "abcdefghi", "abcdefghij",
        "database-server", "0123456789012345678901234567890123456789012345678901234567890123",
};

#define N_INDEX 8u
#define N_ATTEMPT 8u

/* Locally administered (bit 1 of the first octet), unicast (bit 0 clear), never all zeros,
 * and passing the MACAddress= check. */
Test(net_names, mac_is_local_unicast) {
        for (size_t n = 0; n < ELEMENTSOF(names); n++)
                for (size_t index = 0; index < N_INDEX; index++)
                        for (unsigned attempt = 0; attempt < N_ATTEMPT; attempt++) {
                                uint8_t mac[6];
                                g_autofree char *text = NULL, *problem = NULL;
                                g_autoptr(GVariant) v = NULL;

                                net_mac_derive(names[n], index, attempt, mac);
                                text = mac_text(mac);
                                cr_expect(mac[0] & 0x02, "%s/%zu/%u: %s locally administered", names[n], index,
                                          attempt, text);
                                cr_expect(!(mac[0] & 0x01), "%s/%zu/%u: %s unicast", names[n], index, attempt,
                                          text);
                                cr_expect_eq(config_value_from_text(CONFIG_NETWORK_MAC_ADDRESS, text, &v, &problem),
                                             0, "%s/%zu/%u: %s: %s", names[n], index, attempt, text,
                                             strempty(problem));
                        }
}

/* Every (name, index, attempt) gets its own MAC and TAP name. */
Test(net_names, derivations_differ) {
        g_autoptr(GHashTable) macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        g_autoptr(GHashTable) taps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

        for (size_t n = 0; n < ELEMENTSOF(names); n++)
                for (size_t index = 0; index < N_INDEX; index++)
                        for (unsigned attempt = 0; attempt < N_ATTEMPT; attempt++) {
                                g_autofree char *what = g_strdup_printf("%s/%zu/%u", names[n], index, attempt);
                                char tap[NET_IFNAME_MAX + 1];
                                uint8_t mac[6];
                                char *text;
                                const char *seen;

                                net_mac_derive(names[n], index, attempt, mac);
                                text = mac_text(mac);
                                seen = g_hash_table_lookup(macs, text);
                                cr_expect_null(seen, "%s: MAC %s also for %s", what, text, strempty(seen));
                                g_hash_table_replace(macs, text, g_strdup(what));

                                net_tap_derive(names[n], index, attempt, tap);
                                seen = g_hash_table_lookup(taps, tap);
                                cr_expect_null(seen, "%s: TAP %s also for %s", what, tap, strempty(seen));
                                g_hash_table_replace(taps, g_strdup(tap), g_strdup(what));
                        }
}

/* The readable form when it fits and it is the first attempt, else the hashed one; always a
 * valid interface name, the same every time. */
Test(net_names, tap_names) {
        static const size_t indexes[] = { 0, 1, 2, 9, 10, 99, 100, 999, 1000, 1005, 123456 };

        for (size_t n = 0; n < ELEMENTSOF(names); n++)
                for (size_t x = 0; x < ELEMENTSOF(indexes); x++)
                        for (unsigned attempt = 0; attempt < N_ATTEMPT; attempt++) {
                                size_t index = indexes[x];
                                g_autofree char *what = g_strdup_printf("%s/%zu/%u", names[n], index, attempt);
                                g_autofree char *readable = g_strdup_printf("mvm-%s-%zu", names[n], index);
                                char tap[NET_IFNAME_MAX + 1], again[NET_IFNAME_MAX + 1];
                                g_autofree char *problem = NULL;
                                g_autoptr(GVariant) v = NULL;

                                net_tap_derive(names[n], index, attempt, tap);
                                cr_expect_leq(strlen(tap), NET_IFNAME_MAX, "%s: '%s' fits", what, tap);
                                cr_expect(net_interface_name_is_valid(tap), "%s: '%s' is a valid name", what, tap);
                                cr_expect_eq(config_value_from_text(CONFIG_NETWORK_TAP, tap, &v, &problem), 0,
                                             "%s: '%s': %s", what, tap, strempty(problem));
                                cr_expect(g_str_has_prefix(tap, "mvm"), "%s: '%s' is microvm's", what, tap);

                                if (attempt == 0 && strlen(readable) <= NET_IFNAME_MAX)
                                        expect_streq(tap, readable, what);
                                else {
                                        g_autofree char *suffix = g_strdup_printf(".%zu", index % 1000);

                                        cr_expect_eq(strlen(tap), 11 + strlen(suffix), "%s: '%s' hashed", what, tap);
                                        cr_expect(g_str_has_suffix(tap, suffix), "%s: '%s' ends in %s", what, tap,
                                                  suffix);
                                        for (size_t k = 3; k < 11; k++)
                                                cr_expect(g_ascii_isxdigit(tap[k]) && !g_ascii_isupper(tap[k]),
                                                          "%s: '%s' a lower-case hash", what, tap);
                                }

                                net_tap_derive(names[n], index, attempt, again);
                                expect_streq(again, tap, what);
                        }
}

/* The 15-character limit, from both sides. */
Test(net_names, tap_name_lengths) {
        static const struct {
                const char *name;
                size_t index;
                bool readable;
        } cases[] = {
                { "abcdefghi", 0, true },       /* mvm-abcdefghi-0: 15 */
                { "abcdefghij", 0, false },     /* 16 */
                { "abcdefgh", 10, true },       /* mvm-abcdefgh-10: 15 */
                { "abcdefgh", 100, false },
                { "abcdefghi", 10, false },
                { "a", 123456789, true },       /* mvm-a-123456789: 15 */
                { "a", 1234567890, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *readable = g_strdup_printf("mvm-%s-%zu", cases[i].name, cases[i].index);
                char tap[NET_IFNAME_MAX + 1];

                net_tap_derive(cases[i].name, cases[i].index, 0, tap);
                cr_expect_eq(streq(tap, readable), cases[i].readable, "%s: '%s'", readable, tap);
                cr_expect(net_interface_name_is_valid(tap), "%s: '%s' valid", readable, tap);
        }
}

/* Only what is empty is filled: the default bridge, and the first derived MAC and TAP. */
Test(net_names, fill_config) {
        static const char text[] =
                "[Boot]\n"
                "Kernel=/k\n"
                "\n"
                "[Network]\n"
                "\n"
                "[Network]\n"
                "Bridge=br1\n"
                "MACAddress=02:00:00:00:00:01\n"
                "TAP=tap1\n"
                "\n"
                "[Network]\n"
                "Bridge=\n"
                "TAP=tap2\n"
                "\n"
                "[Network]\n"
                "MACAddress=52:54:00:AB:CD:EF\n";
        static const char filled[] =
                "[Boot]\n"
                "Kernel=/k\n"
                "\n"
                "[Network]\n"
                "Bridge=br-default\n"
                "MACAddress=4a:ba:42:e3:73:77\n"
                "TAP=mvm-web-0\n"
                "\n"
                "[Network]\n"
                "Bridge=br1\n"
                "MACAddress=02:00:00:00:00:01\n"
                "TAP=tap1\n"
                "\n"
                "[Network]\n"
                "Bridge=br-default\n"
                "MACAddress=%s\n"
                "TAP=tap2\n"
                "\n"
                "[Network]\n"
                "Bridge=br-default\n"
                "MACAddress=52:54:00:AB:CD:EF\n"
                "TAP=mvm-web-3\n";
        _cleanup_(config_freep) Config *c = NULL;
        g_autofree char *error = NULL, *printed = NULL, *expected = NULL, *mac2 = NULL, *again = NULL;
        uint8_t mac[6];

        cr_assert_eq(keyfile_parse(text, "web.vm", &c, &error), 0, "%s", strempty(error));
        cr_assert_eq(net_fill_config(c, "web", "br-default"), 0);

        net_mac_derive("web", 2, 0, mac);
        mac2 = mac_text(mac);
        expected = g_strdup_printf(filled, mac2);
        printed = keyfile_print(c);
        expect_streq(printed, expected, "filled");
        cr_expect_eq(config_validate(c, NULL), 0, "still valid");

        /* Filling again changes nothing. */
        cr_assert_eq(net_fill_config(c, "web", "br-other"), 0);
        again = keyfile_print(c);
        expect_streq(again, expected, "filled twice");
}

Test(net_names, fill_config_without_nics) {
        _cleanup_(config_freep) Config *c = NULL;
        g_autofree char *printed = NULL;

        cr_assert_eq(keyfile_parse("[Boot]\nKernel=/k\n", "web.vm", &c, NULL), 0);
        cr_expect_eq(net_fill_config(c, "web", "microvm0"), 0);
        cr_expect_eq(c->n_groups[CONFIG_SECTION_NETWORK], 0, "no NIC made");
        printed = keyfile_print(c);
        expect_streq(printed, "[Boot]\nKernel=/k\n", "unchanged");
}

/* A bad default bridge is refused by the key's check, not written. */
Test(net_names, fill_config_bad_bridge) {
        _cleanup_(config_freep) Config *c = NULL;
        g_autoptr(GVariant) bridge = NULL;

        cr_assert_eq(keyfile_parse("[Boot]\nKernel=/k\n[Network]\n", "web.vm", &c, NULL), 0);
        cr_expect_eq(net_fill_config(c, "web", "br/0"), -EINVAL);
        bridge = config_group_get(&c->groups[CONFIG_SECTION_NETWORK][0], CONFIG_NETWORK_BRIDGE);
        expect_streq(g_variant_get_string(bridge, NULL), "", "Bridge still empty");
}
