/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Giving NICs their bridge, MAC and TAP with other VMs in the registry: a derived value taken by
 * another VM moves on to the next attempt, a given one is an error that names the VM, and a VM's
 * own values are no collision with itself. The registry is real (vm_new, manager_add_vm); no bus
 * is needed, as nothing on this path uses one. */

#include <criterion/criterion.h>

#include "keyfile.h"
#include "manager-network.h"
#include "manager.h"
#include "net-names.h"
#include "test-util.h"

#define BOOT "[Boot]\nKernel=/k\n"
#define DEFAULT_BRIDGE "br-default"

static Manager *m;

/* Placeholders in the texts below: {mac:NAME/INDEX/ATTEMPT} and {tap:NAME/INDEX/ATTEMPT} stand for
 * what net_mac_derive() and net_tap_derive() give (their own values are fixed in test-net-names.c). */
static char *expand(const char *s) {
        GString *out = g_string_new(NULL);
        const char *p = s;

        while (*p) {
                const char *open = strchr(p, '{'), *close;
                char name[65], kind[4];
                size_t index;
                unsigned attempt;
                int n = 0;

                if (!open) {
                        g_string_append(out, p);
                        break;
                }
                close = strchr(open, '}');
                cr_assert_not_null(close, "unterminated placeholder in %s", s);
                g_string_append_len(out, p, open - p);
                cr_assert_eq(sscanf(open, "{%3[a-z]:%64[^/]/%zu/%u}%n", kind, name, &index, &attempt, &n), 4,
                             "placeholder in %s", s);
                cr_assert_eq(open + n, close + 1, "placeholder in %s", s);
                if (streq(kind, "mac")) {
                        uint8_t mac[6];
                        char text[18];

                        net_mac_derive(name, index, attempt, mac);
                        net_mac_format(mac, text);
                        g_string_append(out, text);
                } else {
                        char tap[NET_IFNAME_MAX + 1];

                        cr_assert(streq(kind, "tap"), "placeholder kind '%s' in %s", kind, s);
                        net_tap_derive(name, index, attempt, tap);
                        g_string_append(out, tap);
                }
                p = close + 1;
        }
        return g_string_free(out, FALSE);
}

static Config *parse(const char *text) {
        g_autofree char *expanded = expand(text), *error = NULL;
        Config *c = NULL;

        cr_assert_eq(keyfile_parse(expanded, "test.vm", &c, &error), 0, "%s: %s", expanded, strempty(error));
        return c;
}

/* A VM in the registry, with the configuration c (taken). */
static void add_vm_config(const char *name, Config **c) {
        g_autofree char *path = g_strdup_printf("/nonexistent/%s.vm", name);
        VM *vm = NULL;

        cr_assert_eq(vm_new(name, path, false, c, &vm), 0, "%s", name);
        cr_assert_null(*c, "%s: the configuration taken", name);
        if (manager_add_vm(m, vm) < 0) {
                vm_free(vm);
                cr_assert_fail("%s: added", name);
        }
}

/* The same with the configuration of the key file text. */
static void add_vm(const char *name, const char *text) {
        _cleanup_(config_freep) Config *c = parse(text);

        add_vm_config(name, &c);
}

/* Every VM's key file, to see that nothing else changed. */
static char *registry_text(void) {
        GString *out = g_string_new(NULL);

        for (size_t i = 0; i < m->n_vms; i++) {
                g_autofree char *text = keyfile_print(m->vms[i]->config);

                g_string_append_printf(out, "== %s\n%s", m->vms[i]->name, text);
        }
        return g_string_free(out, FALSE);
}

/* The registry every case starts with. */
static const struct {
        const char *name;
        const char *text;
} registry[] = {
        /* Holds what "b"'s first NIC would derive first, and a NIC with values chosen by hand. */
        { "a", BOOT "[Network]\nBridge=br-a\nMACAddress={mac:b/0/0}\nTAP={tap:b/0/0}\n"
               "[Network]\nBridge=br-a\nMACAddress=02:00:00:00:00:aa\nTAP=tap-a\n" },
        /* Holds the TAP of "b"'s first NIC at the second attempt; MAC written in upper case. */
        { "c", BOOT "[Network]\nBridge=br-c\nMACAddress=02:00:00:00:00:CC\nTAP={tap:b/0/1}\n" },
        /* Written by hand: empty values, which the unit derives when it starts. */
        { "d", BOOT "[Network]\nBridge=br-d\n" },
        /* No NIC at all. */
        { "e", BOOT },
};

static void setup(void) {
        m = calloc(1, sizeof(Manager));
        cr_assert_not_null(m);
        m->default_bridge = strdup(DEFAULT_BRIDGE);
        cr_assert_not_null(m->default_bridge);
        for (size_t i = 0; i < ELEMENTSOF(registry); i++)
                add_vm(registry[i].name, registry[i].text);
}

static void teardown(void) {
        m = manager_free(m);
}

TestSuite(manager_network, .init = setup, .fini = teardown);

Test(manager_network, nothing_uses_the_bus) {
        cr_expect_null(m->bus, "the test's manager has no bus");
        cr_expect_eq(m->n_vms, ELEMENTSOF(registry), "the registry");
}

static const struct {
        const char *name;
        const char *vm;         /* the VM the configuration is for: new, or in the registry (UpdateVM) */
        const char *text;       /* its key file */
        const char *assigned;   /* the key file afterwards; NULL: refused */
        const char *error;
} cases[] = {
        { "no NIC", "b", BOOT, BOOT },
        { "an empty NIC: the next attempt while one is taken", "b",
          BOOT "[Network]\n",
          BOOT "\n[Network]\nBridge=" DEFAULT_BRIDGE "\nMACAddress={mac:b/0/1}\nTAP={tap:b/0/2}\n" },
        { "empty values set explicitly", "b",
          BOOT "[Network]\nBridge=\nMACAddress=\nTAP=\n",
          BOOT "\n[Network]\nBridge=" DEFAULT_BRIDGE "\nMACAddress={mac:b/0/1}\nTAP={tap:b/0/2}\n" },
        { "a second NIC, its first attempt free", "b",
          BOOT "[Network]\n[Network]\n",
          BOOT "\n[Network]\nBridge=" DEFAULT_BRIDGE "\nMACAddress={mac:b/0/1}\nTAP={tap:b/0/2}\n"
          "\n[Network]\nBridge=" DEFAULT_BRIDGE "\nMACAddress={mac:b/1/0}\nTAP=mvm-b-1\n" },
        { "nothing taken: the first attempt", "f",
          BOOT "[Network]\n",
          BOOT "\n[Network]\nBridge=" DEFAULT_BRIDGE "\nMACAddress={mac:f/0/0}\nTAP=mvm-f-0\n" },
        { "given values that are free are kept", "b",
          BOOT "[Network]\nBridge=br-a\nMACAddress=02:00:00:00:00:0B\nTAP=tap-b\n",
          BOOT "\n[Network]\nBridge=br-a\nMACAddress=02:00:00:00:00:0B\nTAP=tap-b\n" },
        { "a bridge is shared", "b",
          BOOT "[Network]\nBridge=br-c\nTAP=tap-b\n",
          BOOT "\n[Network]\nBridge=br-c\nMACAddress={mac:b/0/1}\nTAP=tap-b\n" },
        { "a derived value skips what another NIC of the VM is given", "b",
          BOOT "[Network]\n[Network]\nMACAddress={mac:b/0/1}\nTAP={tap:b/0/2}\n",
          BOOT "\n[Network]\nBridge=" DEFAULT_BRIDGE "\nMACAddress={mac:b/0/2}\nTAP={tap:b/0/3}\n"
          "\n[Network]\nBridge=" DEFAULT_BRIDGE "\nMACAddress={mac:b/0/1}\nTAP={tap:b/0/2}\n" },
        /* Given values another VM uses */
        { "a MAC of another VM", "b",
          BOOT "[Network]\nMACAddress=02:00:00:00:00:aa\n", NULL,
          "Networks[0].MACAddress: 02:00:00:00:00:aa is used by VM 'a': choose another or leave it empty to "
          "have one derived" },
        { "a MAC of another VM, in another case", "b",
          BOOT "[Network]\nMACAddress=02:00:00:00:00:cc\n", NULL,
          "Networks[0].MACAddress: 02:00:00:00:00:cc is used by VM 'c': choose another or leave it empty to "
          "have one derived" },
        { "a derived MAC of another VM", "b",
          BOOT "[Network]\nMACAddress={mac:b/0/0}\n", NULL,
          "Networks[0].MACAddress: {mac:b/0/0} is used by VM 'a': choose another or leave it empty to "
          "have one derived" },
        { "a TAP of another VM", "b",
          BOOT "[Network]\nTAP=tap-a\n", NULL,
          "Networks[0].TAP: tap-a is used by VM 'a': choose another or leave it empty to have one derived" },
        { "a derived TAP of another VM", "b",
          BOOT "[Network]\nTAP={tap:b/0/1}\n", NULL,
          "Networks[0].TAP: {tap:b/0/1} is used by VM 'c': choose another or leave it empty to have one "
          "derived" },
        { "the second NIC's MAC", "b",
          BOOT "[Network]\n[Network]\nMACAddress=02:00:00:00:00:AA\n", NULL,
          "Networks[1].MACAddress: 02:00:00:00:00:AA is used by VM 'a': choose another or leave it empty to "
          "have one derived" },
        /* A VM whose key file leaves them empty uses the first derived ones when it starts. */
        { "the TAP a hand-written VM will derive", "b",
          BOOT "[Network]\nTAP=mvm-d-0\n", NULL,
          "Networks[0].TAP: mvm-d-0 is used by VM 'd': choose another or leave it empty to have one derived" },
        { "the MAC a hand-written VM will derive", "b",
          BOOT "[Network]\nMACAddress={mac:d/0/0}\n", NULL,
          "Networks[0].MACAddress: {mac:d/0/0} is used by VM 'd': choose another or leave it empty to "
          "have one derived" },
        /* UpdateVM: the VM's own values are not taken from it */
        { "UpdateVM, unchanged", "a",
          BOOT "[Network]\nBridge=br-a\nMACAddress={mac:b/0/0}\nTAP={tap:b/0/0}\n"
          "[Network]\nBridge=br-a\nMACAddress=02:00:00:00:00:aa\nTAP=tap-a\n",
          BOOT "\n[Network]\nBridge=br-a\nMACAddress={mac:b/0/0}\nTAP={tap:b/0/0}\n"
          "\n[Network]\nBridge=br-a\nMACAddress=02:00:00:00:00:aa\nTAP=tap-a\n" },
        { "UpdateVM, NICs swapped", "a",
          BOOT "[Network]\nBridge=br-a\nMACAddress=02:00:00:00:00:aa\nTAP=tap-a\n"
          "[Network]\nBridge=br-a\nMACAddress={mac:b/0/0}\nTAP={tap:b/0/0}\n",
          BOOT "\n[Network]\nBridge=br-a\nMACAddress=02:00:00:00:00:aa\nTAP=tap-a\n"
          "\n[Network]\nBridge=br-a\nMACAddress={mac:b/0/0}\nTAP={tap:b/0/0}\n" },
        { "UpdateVM, a NIC added", "c",
          BOOT "[Network]\nBridge=br-c\nMACAddress=02:00:00:00:00:CC\nTAP={tap:b/0/1}\n[Network]\n",
          BOOT "\n[Network]\nBridge=br-c\nMACAddress=02:00:00:00:00:CC\nTAP={tap:b/0/1}\n"
          "\n[Network]\nBridge=" DEFAULT_BRIDGE "\nMACAddress={mac:c/1/0}\nTAP=mvm-c-1\n" },
        { "UpdateVM, values emptied", "d",
          BOOT "[Network]\nBridge=br-d\n",
          BOOT "\n[Network]\nBridge=br-d\nMACAddress={mac:d/0/0}\nTAP=mvm-d-0\n" },
        { "UpdateVM, another VM's TAP", "c",
          BOOT "[Network]\nTAP=tap-a\n", NULL,
          "Networks[0].TAP: tap-a is used by VM 'a': choose another or leave it empty to have one derived" },
        { "UpdateVM, another VM's MAC", "e",
          BOOT "[Network]\nMACAddress=02:00:00:00:00:cC\n", NULL,
          "Networks[0].MACAddress: 02:00:00:00:00:cC is used by VM 'c': choose another or leave it empty to "
          "have one derived" },
};

Test(manager_network, assign) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = parse(cases[i].text);
                g_autofree char *before = registry_text(), *after = NULL, *error = NULL, *printed = NULL;
                g_autofree char *expected = NULL, *expected_error = NULL;
                int r;

                r = manager_assign_networks(m, cases[i].vm, c, &error);
                if (cases[i].assigned) {
                        cr_expect_eq(r, 0, "%s: %s", cases[i].name, strempty(error));
                        cr_expect_null(error, "%s: no message", cases[i].name);
                        expected = expand(cases[i].assigned);
                        printed = keyfile_print(c);
                        expect_streq(printed, expected, cases[i].name);
                        cr_expect_eq(config_validate(c, NULL), 0, "%s: still valid", cases[i].name);
                } else {
                        cr_expect_eq(r, -EINVAL, "%s", cases[i].name);
                        expected_error = expand(cases[i].error);
                        expect_streq(error, expected_error, cases[i].name);
                }

                /* The other VMs are never touched. */
                after = registry_text();
                expect_streq(after, before, cases[i].name);
        }
}

/* Assigning again what was assigned changes nothing: UpdateVM keeps a VM's values. */
Test(manager_network, assign_is_idempotent) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = parse(cases[i].text);
                g_autofree char *once = NULL, *twice = NULL;

                if (!cases[i].assigned)
                        continue;
                cr_assert_eq(manager_assign_networks(m, cases[i].vm, c, NULL), 0, "%s", cases[i].name);
                once = keyfile_print(c);
                cr_assert_eq(manager_assign_networks(m, cases[i].vm, c, NULL), 0, "%s", cases[i].name);
                twice = keyfile_print(c);
                expect_streq(twice, once, cases[i].name);
        }
}

/* VMs created one after another, each with NICs to derive: every MAC and TAP on the host is
 * different, even where several attempts of one VM are taken. */
Test(manager_network, many_vms_unique) {
        g_autoptr(GHashTable) macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GHashTable) taps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        /* "z" finds its first NIC's first four attempts taken. */
        add_vm("y", BOOT "[Network]\nMACAddress={mac:z/0/0}\nTAP={tap:z/0/0}\n"
                    "[Network]\nMACAddress={mac:z/0/1}\nTAP={tap:z/0/1}\n"
                    "[Network]\nMACAddress={mac:z/0/2}\nTAP={tap:z/0/2}\n"
                    "[Network]\nMACAddress={mac:z/0/3}\nTAP={tap:z/0/3}\n");

        for (size_t i = 0; i < 20; i++) {
                g_autofree char *name = i == 0 ? g_strdup("z") : g_strdup_printf("vm%zu", i);
                _cleanup_(config_freep) Config *c = parse(BOOT "[Network]\n[Network]\n[Network]\n");
                g_autofree char *error = NULL;

                cr_assert_eq(manager_assign_networks(m, name, c, &error), 0, "%s: %s", name, strempty(error));
                if (i == 0) {
                        g_autoptr(GVariant) mac = config_group_get(&c->groups[CONFIG_SECTION_NETWORK][0],
                                                                   CONFIG_NETWORK_MAC_ADDRESS);
                        g_autofree char *expected = expand("{mac:z/0/4}");

                        expect_streq(g_variant_get_string(mac, NULL), expected, "z: the fifth attempt");
                }
                add_vm_config(name, &c);
        }

        for (size_t i = 0; i < m->n_vms; i++) {
                const VM *vm = m->vms[i];

                for (size_t j = 0; j < vm->config->n_groups[CONFIG_SECTION_NETWORK]; j++) {
                        const ConfigGroup *g = &vm->config->groups[CONFIG_SECTION_NETWORK][j];
                        g_autoptr(GVariant) mac = config_group_get(g, CONFIG_NETWORK_MAC_ADDRESS);
                        g_autoptr(GVariant) tap = config_group_get(g, CONFIG_NETWORK_TAP);
                        char *mac_text = g_ascii_strdown(g_variant_get_string(mac, NULL), -1);
                        char *tap_text = g_variant_dup_string(tap, NULL);

                        /* Left empty in a key file written by hand: what the unit derives at start. */
                        if (!mac_text[0]) {
                                g_autofree char *placeholder = g_strdup_printf("{mac:%s/%zu/0}", vm->name, j);

                                g_free(mac_text);
                                mac_text = expand(placeholder);
                        }
                        if (!tap_text[0]) {
                                g_autofree char *placeholder = g_strdup_printf("{tap:%s/%zu/0}", vm->name, j);

                                g_free(tap_text);
                                tap_text = expand(placeholder);
                        }
                        cr_expect(g_hash_table_add(macs, mac_text), "%s/%zu: MAC %s once", vm->name, j, mac_text);
                        cr_expect(g_hash_table_add(taps, tap_text), "%s/%zu: TAP %s once", vm->name, j, tap_text);
                }
        }
}
