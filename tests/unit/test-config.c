/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM's configuration between its faces: schema ↔ a{sv} ↔ key file for every key, effective and
 * set-only views, UpdateVM's merge, change detection and every a{sv} error. */

#include <criterion/criterion.h>
#include <inttypes.h>

#include "config.h"
#include "keyfile.h"
#include "test-util.h"

#define KERNEL "/var/lib/microvm/images/vmlinuz"

static GVariant *parse(const char *text) {
        g_autoptr(GError) error = NULL;
        GVariant *v = g_variant_parse(NULL, text, NULL, NULL, &error);

        cr_assert_not_null(v, "%s: %s", text, error ? error->message : "?");
        return g_variant_ref_sink(v);
}

static char *print(GVariant *v) {
        return v ? g_variant_print(v, true) : g_strdup("(null)");
}

/* Equal as D-Bus dictionaries: the same keys with equal values, in any order; lists of them
 * element by element; anything else by g_variant_equal(). */
static bool dict_equal(GVariant *a, GVariant *b) {
        if (!a || !b)
                return a == b;
        if (!g_variant_type_equal(g_variant_get_type(a), g_variant_get_type(b)))
                return false;

        if (g_variant_is_of_type(a, G_VARIANT_TYPE_VARDICT)) {
                GVariantIter iter;
                const char *key;
                GVariant *value;

                if (g_variant_n_children(a) != g_variant_n_children(b))
                        return false;
                g_variant_iter_init(&iter, a);
                while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
                        g_autoptr(GVariant) va = value, vb = g_variant_lookup_value(b, key, NULL);

                        if (!dict_equal(va, vb))
                                return false;
                }
                return true;
        }

        if (g_variant_is_of_type(a, G_VARIANT_TYPE("aa{sv}"))) {
                if (g_variant_n_children(a) != g_variant_n_children(b))
                        return false;
                for (size_t i = 0; i < g_variant_n_children(a); i++) {
                        g_autoptr(GVariant) ca = g_variant_get_child_value(a, i);
                        g_autoptr(GVariant) cb = g_variant_get_child_value(b, i);

                        if (!dict_equal(ca, cb))
                                return false;
                }
                return true;
        }

        return g_variant_equal(a, b);
}

#define expect_variant(actual, expected, name)                                                  \
        do {                                                                                    \
                GVariant *_a = (actual), *_e = (expected);                                      \
                g_autofree char *_pa = print(_a), *_pe = print(_e);                             \
                cr_expect(dict_equal(_a, _e), "%s:\n    got      %s\n    expected %s", (name), _pa, _pe); \
        } while (0)

static Config *from_variant_ok(const char *text) {
        g_autoptr(GVariant) dict = parse(text);
        g_autofree char *error = NULL;
        Config *c = NULL;

        cr_assert_eq(config_from_variant(dict, &c, &error), 0, "%s: %s", text, strempty(error));
        return c;
}

static Config *from_keyfile_ok(const char *text) {
        g_autofree char *error = NULL;
        Config *c = NULL;

        cr_assert_eq(keyfile_parse(text, "test.vm", &c, &error), 0, "%s: %s", text, strempty(error));
        return c;
}

/* Texts tried in order for a key's sample values: those that pass the key's checks and differ
 * from its default. A new key whose checks none of these pass fails sample_value(). */
static const char *const candidates[] = {
        /* A hypervisor and accelerator that take every drive setting below. */
        "console=ttyS0 quiet", "mvm-sample0", "cloud-hypervisor", "kvm", "02:00:00:12:34:56",
        "/var/lib/microvm/images/sample.img", "2", "512", "yes", "qcow2", "none",
        /* Second choices, for a second group whose values must differ from the first's. */
        "/var/lib/microvm/images/other.img", "mvm-other0", "02:00:00:ab:cd:ef", "raw", "unsafe",
};

/* The key's nth sample value (0: the first); a new reference. */
static GVariant *sample_value_nth(ConfigKeyId id, size_t nth) {
        g_autoptr(GVariant) def = config_key_default(id);

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                GVariant *v = NULL;

                if (config_value_from_text(id, candidates[i], &v, NULL) < 0)
                        continue;
                if ((!def || !g_variant_equal(v, def)) && nth-- == 0)
                        return v;
                g_variant_unref(v);
        }
        cr_assert_fail("%s: no sample value: add a candidate its checks accept", config_key_get(id)->name);
        return NULL;
}

static GVariant *sample_value(ConfigKeyId id) {
        return sample_value_nth(id, 0);
}

/* Adds the keys of section s but skip to b: every key (all = true) or only the required ones,
 * each with its nth sample value. */
static void add_group_keys(GVariantBuilder *b, ConfigSection s, bool all, size_t nth, ConfigKeyId skip) {
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++)
                if (id != skip && config_key_get(id)->section == s && (all || config_key_is_required(id))) {
                        g_autoptr(GVariant) v = sample_value_nth(id, nth);

                        g_variant_builder_add(b, "{sv}", config_key_get(id)->name, v);
                }
}

/* The same as a group of its own. Floating. */
static GVariant *group_of(ConfigSection s, bool all, size_t nth) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        add_group_keys(&b, s, all, nth, _CONFIG_KEY_INVALID);
        return g_variant_builder_end(&b);
}

/* Two groups of a repeated section: every key in the first, and only the required keys in the
 * second, with second sample values so that the two differ. Floating. */
static GVariant *repeated_groups(ConfigSection s) {
        return g_variant_new_array(G_VARIANT_TYPE_VARDICT, (GVariant *[]) {
                group_of(s, true, 0),
                group_of(s, false, 1),
        }, 2);
}

/* A valid a{sv} that sets the key to its sample, and the least else a valid VM needs. */
static GVariant *dict_with(ConfigKeyId id, GVariant *sample) {
        const ConfigKey *key = config_key_get(id);
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        if (id != CONFIG_KERNEL)
                g_variant_builder_add(&b, "{sv}", "Kernel", g_variant_new_string(KERNEL));

        if (config_section_is_repeatable(key->section)) {
                GVariantBuilder group;

                g_variant_builder_init(&group, G_VARIANT_TYPE_VARDICT);
                add_group_keys(&group, key->section, false, 0, id);
                g_variant_builder_add(&group, "{sv}", key->name, sample);
                g_variant_builder_add(&b, "{sv}", config_section_get(key->section)->bus_name,
                                      g_variant_new_array(G_VARIANT_TYPE_VARDICT,
                                                          (GVariant *[]) { g_variant_builder_end(&group) }, 1));
        } else
                g_variant_builder_add(&b, "{sv}", key->name, sample);

        return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* The value a configuration shows for a key: a property, or inside the first group's a{sv}. */
static GVariant *shown_value(const Config *c, ConfigKeyId id) {
        const ConfigKey *key = config_key_get(id);
        g_autoptr(GVariant) groups = NULL, first = NULL;

        if (!config_section_is_repeatable(key->section))
                return config_get_property(c, key->name);
        groups = config_get_property(c, config_section_get(key->section)->bus_name);
        if (!groups || g_variant_n_children(groups) < 1)
                return NULL;
        first = g_variant_get_child_value(groups, 0);
        return g_variant_lookup_value(first, key->name, NULL);
}

/* Through every face and back: a{sv} → Config → key file → Config → a{sv}. */
static void check_equivalence(GVariant *dict, const char *name) {
        _cleanup_(config_freep) Config *c = NULL, *back = NULL;
        g_autofree char *error = NULL, *text = NULL, *text_again = NULL;
        g_autoptr(GVariant) set = NULL, set_back = NULL, effective = NULL, effective_back = NULL;

        cr_assert_eq(config_from_variant(dict, &c, &error), 0, "%s: %s", name, strempty(error));
        set = g_variant_ref_sink(config_to_variant(c, /* effective= */ false));
        expect_variant(set, dict, name);

        text = keyfile_print(c);
        cr_assert_eq(keyfile_parse(text, "equivalence.vm", &back, &error), 0, "%s: %s\n%s", name, strempty(error),
                     text);
        set_back = g_variant_ref_sink(config_to_variant(back, false));
        cr_expect(g_variant_equal(set_back, set), "%s: set keys survive the key file", name);
        effective = g_variant_ref_sink(config_to_variant(c, true));
        effective_back = g_variant_ref_sink(config_to_variant(back, true));
        cr_expect(g_variant_equal(effective_back, effective), "%s: effective values survive the key file", name);

        text_again = keyfile_print(back);
        expect_streq(text_again, text, name);
}

Test(config, every_key_through_every_face) {
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                const ConfigKey *key = config_key_get(id);
                g_autoptr(GVariant) sample = sample_value(id), dict = dict_with(id, sample), shown = NULL;
                _cleanup_(config_freep) Config *c = NULL;
                g_autofree char *error = NULL, *text = NULL, *value_text = NULL, *line = NULL;

                check_equivalence(dict, key->name);

                cr_assert_eq(config_from_variant(dict, &c, &error), 0, "%s: %s", key->name, strempty(error));
                shown = shown_value(c, id);
                expect_variant(shown, sample, key->name);

                /* The key file holds the value in its text form, as Key=text. */
                text = keyfile_print(c);
                value_text = config_value_to_text(id, sample);
                line = g_strdup_printf("\n%s=%s\n", key->name, value_text);
                cr_expect_not_null(g_strstr_len(text, -1, line), "%s: '%s=%s' in\n%s", key->name, key->name,
                                   value_text, text);
        }
}

/* All keys at once, the keys of each repeated section in two groups. */
Test(config, all_keys_through_every_face) {
        GVariantBuilder b;
        g_autoptr(GVariant) dict = NULL;

        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                const ConfigKey *key = config_key_get(id);

                if (!config_section_is_repeatable(key->section)) {
                        g_autoptr(GVariant) v = sample_value(id);

                        g_variant_builder_add(&b, "{sv}", key->name, v);
                }
        }
        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                if (config_section_is_repeatable(s))
                        g_variant_builder_add(&b, "{sv}", config_section_get(s)->bus_name, repeated_groups(s));
        dict = g_variant_ref_sink(g_variant_builder_end(&b));

        check_equivalence(dict, "all keys");
}

#define AGENT_DEFAULTS "'VsockCID': <uint32 0>, 'WaitReady': <false>, 'ReadyTimeoutSec': <uint32 60>"
#define EFFECTIVE_DEFAULTS                                                                      \
        "'Hypervisor': <'qemu'>, 'Accelerator': <'auto'>, 'VCPUs': <uint32 1>, "                \
        "'MemoryMiB': <uint64 256>, 'Autostart': <false>, " AGENT_DEFAULTS

#define DRIVE_DEFAULTS "'Format': <'auto'>, 'Cache': <'writeback'>, 'Discard': <false>"
#define CLOUD_INIT_DEFAULTS                                                                     \
        "'UserData': <''>, 'MetaData': <''>, 'NetworkConfig': <''>, 'InstanceID': <''>, "       \
        "'LocalHostname': <''>"

Test(config, effective_and_set) {
        static const struct {
                const char *name;
                const char *dict;
                const char *set;
                const char *effective;
        } cases[] = {
                { "minimal",
                  "{'Kernel': <'/k'>}",
                  "{'Kernel': <'/k'>}",
                  "{" EFFECTIVE_DEFAULTS ", 'Kernel': <'/k'>, 'Initrd': <''>, 'KernelCommandLine': <''>, "
                  "'Drives': <@aa{sv} []>, 'Networks': <@aa{sv} []>, " CLOUD_INIT_DEFAULTS "}" },
                { "defaults set explicitly",
                  "{'Kernel': <'/k'>, 'VCPUs': <uint32 1>, 'Initrd': <''>}",
                  "{'VCPUs': <uint32 1>, 'Kernel': <'/k'>, 'Initrd': <''>}",
                  "{" EFFECTIVE_DEFAULTS ", 'Kernel': <'/k'>, 'Initrd': <''>, 'KernelCommandLine': <''>, "
                  "'Drives': <@aa{sv} []>, 'Networks': <@aa{sv} []>, " CLOUD_INIT_DEFAULTS "}" },
                { "empty drive list",
                  "{'Kernel': <'/k'>, 'Drives': <@aa{sv} []>}",
                  "{'Kernel': <'/k'>}",
                  "{" EFFECTIVE_DEFAULTS ", 'Kernel': <'/k'>, 'Initrd': <''>, 'KernelCommandLine': <''>, "
                  "'Drives': <@aa{sv} []>, 'Networks': <@aa{sv} []>, " CLOUD_INIT_DEFAULTS "}" },
                { "drives",
                  "{'Drives': <[{'Path': <'/a'>}, {'Root': <true>, 'Path': <'/b'>}]>, 'Kernel': <'/k'>, "
                  "'MemoryMiB': <uint64 512>}",
                  "{'MemoryMiB': <uint64 512>, 'Kernel': <'/k'>, "
                  "'Drives': <[{'Path': <'/a'>}, {'Path': <'/b'>, 'Root': <true>}]>}",
                  "{'Hypervisor': <'qemu'>, 'Accelerator': <'auto'>, 'VCPUs': <uint32 1>, "
                  "'MemoryMiB': <uint64 512>, "
                  "'Autostart': <false>, " AGENT_DEFAULTS ", 'Kernel': <'/k'>, 'Initrd': <''>, 'KernelCommandLine': <''>, "
                  "'Drives': <[{'Path': <'/a'>, 'ReadOnly': <false>, 'Root': <false>, " DRIVE_DEFAULTS "}, "
                  "{'Path': <'/b'>, 'ReadOnly': <false>, 'Root': <true>, " DRIVE_DEFAULTS "}]>, 'Networks': <@aa{sv} []>, " CLOUD_INIT_DEFAULTS "}" },
                { "networks",
                  "{'Networks': <[@a{sv} {}, {'TAP': <'tap1'>, 'Bridge': <'br1'>}, "
                  "{'MACAddress': <'02:00:00:00:00:02'>}]>, 'Kernel': <'/k'>}",
                  "{'Kernel': <'/k'>, "
                  "'Networks': <[@a{sv} {}, {'Bridge': <'br1'>, 'TAP': <'tap1'>}, "
                  "{'MACAddress': <'02:00:00:00:00:02'>}]>}",
                  "{" EFFECTIVE_DEFAULTS ", 'Kernel': <'/k'>, 'Initrd': <''>, 'KernelCommandLine': <''>, "
                  "'Drives': <@aa{sv} []>, "
                  "'Networks': <[{'Bridge': <''>, 'MACAddress': <''>, 'TAP': <''>}, "
                  "{'Bridge': <'br1'>, 'MACAddress': <''>, 'TAP': <'tap1'>}, "
                  "{'Bridge': <''>, 'MACAddress': <'02:00:00:00:00:02'>, 'TAP': <''>}]>, " CLOUD_INIT_DEFAULTS "}" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = from_variant_ok(cases[i].dict);
                g_autoptr(GVariant) set = g_variant_ref_sink(config_to_variant(c, false));
                g_autoptr(GVariant) effective = g_variant_ref_sink(config_to_variant(c, true));
                g_autoptr(GVariant) expected_set = parse(cases[i].set);
                g_autoptr(GVariant) expected_effective = parse(cases[i].effective);
                g_autofree char *pset = print(set), *peff = print(effective);

                /* In schema order, exactly. */
                cr_expect(g_variant_equal(set, expected_set), "%s: set-only\n    got      %s\n    expected %s",
                          cases[i].name, pset, cases[i].set);
                cr_expect(g_variant_equal(effective, expected_effective),
                          "%s: effective\n    got      %s\n    expected %s", cases[i].name, peff,
                          cases[i].effective);

                /* Each property is the effective value. */
                for (size_t j = 0; j < g_variant_n_children(effective); j++) {
                        g_autoptr(GVariant) entry = g_variant_get_child_value(effective, j);
                        g_autoptr(GVariant) boxed = g_variant_get_child_value(entry, 1);
                        g_autoptr(GVariant) value = g_variant_get_variant(boxed), property = NULL;
                        const char *key = NULL;

                        g_variant_get_child(entry, 0, "&s", &key);
                        property = config_get_property(c, key);
                        cr_expect(property && g_variant_equal(property, value), "%s: property %s", cases[i].name,
                                  key);
                }
        }
}

/* The effective view lists every key the schema has, whether set or not. */
Test(config, effective_has_every_key) {
        GVariantBuilder b;
        _cleanup_(config_freep) Config *c = NULL;
        g_autoptr(GVariant) dict = NULL, effective = NULL;
        g_autofree char *error = NULL;

        /* Kernel, and one group of each repeated section with its required keys only. */
        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        g_variant_builder_add(&b, "{sv}", "Kernel", g_variant_new_string("/k"));
        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                if (config_section_is_repeatable(s))
                        g_variant_builder_add(&b, "{sv}", config_section_get(s)->bus_name,
                                              g_variant_new_array(G_VARIANT_TYPE_VARDICT,
                                                                  (GVariant *[]) { group_of(s, false, 0) }, 1));
        dict = g_variant_ref_sink(g_variant_builder_end(&b));
        cr_assert_eq(config_from_variant(dict, &c, &error), 0, "%s", strempty(error));
        effective = g_variant_ref_sink(config_to_variant(c, true));

        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                const ConfigKey *key = config_key_get(id);
                bool repeated = config_section_is_repeatable(key->section);
                g_autoptr(GVariant) groups = NULL, group = NULL, v = NULL;
                g_autoptr(GVariant) def = config_key_default(id);

                if (repeated) {
                        groups = g_variant_lookup_value(effective, config_section_get(key->section)->bus_name,
                                                        G_VARIANT_TYPE("aa{sv}"));
                        cr_assert(groups && g_variant_n_children(groups) == 1, "%s: one group shown", key->name);
                        group = g_variant_get_child_value(groups, 0);
                }
                v = g_variant_lookup_value(repeated ? group : effective, key->name, NULL);

                cr_expect_not_null(v, "%s: shown", key->name);
                if (def)
                        expect_variant(v, def, key->name);
        }
}

Test(config, getters) {
        _cleanup_(config_freep) Config *c =
                from_variant_ok("{'Kernel': <'/k'>, 'VCPUs': <uint32 3>, 'Autostart': <true>}");
        g_autoptr(GVariant) networks = config_get_property(c, "Networks");

        expect_streq(config_get_string(c, CONFIG_KERNEL), "/k", "Kernel, set");
        expect_streq(config_get_string(c, CONFIG_HYPERVISOR), "qemu", "Hypervisor, default");
        expect_streq(config_get_string(c, CONFIG_INITRD), "", "Initrd, default");
        cr_expect_eq(config_get_number(c, CONFIG_VCPUS), 3, "VCPUs, set");
        cr_expect_eq(config_get_number(c, CONFIG_MEMORY_MIB), 256, "MemoryMiB, default");
        cr_expect(config_get_bool(c, CONFIG_AUTOSTART), "Autostart, set");
        cr_expect_null(config_get_property(c, "Nope"), "an unknown property");
        cr_expect_null(config_get_property(c, "Path"), "a drive key is no property");
        cr_expect_null(config_get_property(c, "Drive"), "the key-file section name is no property");
        cr_expect_null(config_get_property(c, "Network"), "the key-file section name is no property");
        cr_expect_null(config_get_property(c, "TAP"), "a network key is no property");
        cr_expect_null(config_get_property(c, "MACAddress"), "a network key is no property");
        cr_expect(networks && g_variant_is_of_type(networks, G_VARIANT_TYPE("aa{sv}")) &&
                  g_variant_n_children(networks) == 0, "Networks: an empty list");
}

/* A repeated group's keys: the value set, else the schema's default; the string lives as long as its
 * holder, not the configuration. */
Test(config, group_getters) {
        _cleanup_(config_freep) Config *c =
                from_variant_ok("{'Kernel': <'/k'>, 'Drives': <[{'Path': <'/a'>, 'ReadOnly': <true>}, "
                                "{'Path': <'/b'>, 'Cache': <'none'>}]>, 'Networks': <[{'TAP': <'tap-web'>}]>}");
        const ConfigGroup *drives = c->groups[CONFIG_SECTION_DRIVE], *nic = c->groups[CONFIG_SECTION_NETWORK];
        g_autoptr(GVariant) h1 = NULL, h2 = NULL, h3 = NULL, h4 = NULL, h5 = NULL, h6 = NULL;
        const char *path = config_group_get_string(&drives[0], CONFIG_DRIVE_PATH, &h1);

        cr_assert_eq(c->n_groups[CONFIG_SECTION_DRIVE], 2);
        cr_assert_eq(c->n_groups[CONFIG_SECTION_NETWORK], 1);
        expect_streq(config_group_get_string(&drives[0], CONFIG_DRIVE_CACHE, &h2), "writeback", "Cache, default");
        expect_streq(config_group_get_string(&drives[1], CONFIG_DRIVE_CACHE, &h3), "none", "Cache, set");
        expect_streq(config_group_get_string(&nic[0], CONFIG_NETWORK_TAP, &h4), "tap-web", "TAP, set");
        expect_streq(config_group_get_string(&nic[0], CONFIG_NETWORK_BRIDGE, &h5), "", "Bridge, default");
        expect_streq(config_group_get_string(NULL, CONFIG_DRIVE_FORMAT, &h6), "auto", "no group: Format, default");
        cr_expect(config_group_get_bool(&drives[0], CONFIG_DRIVE_READ_ONLY), "ReadOnly, set");
        cr_expect_not(config_group_get_bool(&drives[1], CONFIG_DRIVE_READ_ONLY), "ReadOnly, default");
        cr_expect_not(config_group_get_bool(NULL, CONFIG_DRIVE_ROOT), "no group: Root, default");

        c = config_free(c);
        expect_streq(path, "/a", "Path, held past the configuration");
}

/* A required key unset has no effective value. */
Test(config, required_unset) {
        _cleanup_(config_freep) Config *c = config_new();
        g_autoptr(GVariant) kernel = config_get(c, CONFIG_KERNEL);
        g_autofree char *error = NULL;

        cr_expect_null(kernel, "Kernel unset");
        expect_streq(config_get_string(c, CONFIG_KERNEL), NULL, "Kernel unset");
        cr_expect_eq(config_validate(c, &error), -EINVAL, "empty configuration");
        expect_streq(error, "Kernel is required (the absolute path of the guest kernel image)",
                     "empty configuration");
}

Test(config, copy) {
        static const char text[] =
                "# head\n"
                "[VM]\n"
                "VCPUs=2\n"
                "\n"
                "[Boot]\n"
                "# k\n"
                "Kernel=/k\n"
                "\n"
                "[Drive]\n"
                "Path=/a\n"
                "# tail\n";
        _cleanup_(config_freep) Config *c = from_keyfile_ok(text), *copy = NULL;
        g_autofree char *printed = NULL;

        cr_assert_eq(config_copy(c, &copy), 0);
        c = config_free(c);
        printed = keyfile_print(copy);
        expect_streq(printed, text, "a copy outlives its original, comments and all");
}

static const char update_base[] =
        "# web server\n"
        "[VM]\n"
        "# two is enough\n"
        "VCPUs=2\n"
        "MemoryMiB=512\n"
        "\n"
        "[Boot]\n"
        "Kernel=/boot/vmlinuz\n"
        "\n"
        "# the root disk\n"
        "[Drive]\n"
        "Path=/a.img\n"
        "Root=yes\n"
        "\n"
        "[Drive]\n"
        "Path=/b.img\n"
        "\n"
        "# the uplink\n"
        "[Network]\n"
        "MACAddress=02:00:00:00:00:01\n"
        "TAP=tap-web\n"
        "# end\n";

Test(config, update) {
        static const struct {
                const char *name;
                const char *dict;
                const char *expected;   /* the key file afterwards */
        } cases[] = {
                { "nothing", "@a{sv} {}", update_base },
                { "a value and the drive list",
                  "{'VCPUs': <uint32 4>, 'Drives': <[{'Path': <'/c.img'>, 'Root': <true>}]>}",
                  "# web server\n"
                  "[VM]\n"
                  "# two is enough\n"
                  "VCPUs=4\n"
                  "MemoryMiB=512\n"
                  "\n"
                  "[Boot]\n"
                  "Kernel=/boot/vmlinuz\n"
                  "\n"
                  "[Drive]\n"
                  "Path=/c.img\n"
                  "Root=yes\n"
                  "\n"
                  "# the uplink\n"
                  "[Network]\n"
                  "MACAddress=02:00:00:00:00:01\n"
                  "TAP=tap-web\n"
                  "# end\n" },
                { "no drives",
                  "{'Drives': <@aa{sv} []>}",
                  "# web server\n"
                  "[VM]\n"
                  "# two is enough\n"
                  "VCPUs=2\n"
                  "MemoryMiB=512\n"
                  "\n"
                  "[Boot]\n"
                  "Kernel=/boot/vmlinuz\n"
                  "\n"
                  "# the uplink\n"
                  "[Network]\n"
                  "MACAddress=02:00:00:00:00:01\n"
                  "TAP=tap-web\n"
                  "# end\n" },
                { "the NIC list",
                  "{'Networks': <[{'Bridge': <'br1'>}, {'TAP': <'tap-web'>, 'MACAddress': <'02:00:00:00:00:01'>}]>}",
                  "# web server\n"
                  "[VM]\n"
                  "# two is enough\n"
                  "VCPUs=2\n"
                  "MemoryMiB=512\n"
                  "\n"
                  "[Boot]\n"
                  "Kernel=/boot/vmlinuz\n"
                  "\n"
                  "# the root disk\n"
                  "[Drive]\n"
                  "Path=/a.img\n"
                  "Root=yes\n"
                  "\n"
                  "[Drive]\n"
                  "Path=/b.img\n"
                  "\n"
                  "[Network]\n"
                  "Bridge=br1\n"
                  "\n"
                  "[Network]\n"
                  "MACAddress=02:00:00:00:00:01\n"
                  "TAP=tap-web\n"
                  "# end\n" },
                { "no NICs",
                  "{'Networks': <@aa{sv} []>}",
                  "# web server\n"
                  "[VM]\n"
                  "# two is enough\n"
                  "VCPUs=2\n"
                  "MemoryMiB=512\n"
                  "\n"
                  "[Boot]\n"
                  "Kernel=/boot/vmlinuz\n"
                  "\n"
                  "# the root disk\n"
                  "[Drive]\n"
                  "Path=/a.img\n"
                  "Root=yes\n"
                  "\n"
                  "[Drive]\n"
                  "Path=/b.img\n"
                  "# end\n" },
                { "keys not set before",
                  "{'Initrd': <'/boot/initrd.img'>, 'Autostart': <true>, 'Hypervisor': <'qemu'>}",
                  "# web server\n"
                  "[VM]\n"
                  "Hypervisor=qemu\n"
                  "# two is enough\n"
                  "VCPUs=2\n"
                  "MemoryMiB=512\n"
                  "Autostart=yes\n"
                  "\n"
                  "[Boot]\n"
                  "Kernel=/boot/vmlinuz\n"
                  "Initrd=/boot/initrd.img\n"
                  "\n"
                  "# the root disk\n"
                  "[Drive]\n"
                  "Path=/a.img\n"
                  "Root=yes\n"
                  "\n"
                  "[Drive]\n"
                  "Path=/b.img\n"
                  "\n"
                  "# the uplink\n"
                  "[Network]\n"
                  "MACAddress=02:00:00:00:00:01\n"
                  "TAP=tap-web\n"
                  "# end\n" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *old = from_keyfile_ok(update_base), *new = NULL;
                g_autoptr(GVariant) dict = parse(cases[i].dict);
                g_autofree char *error = NULL, *printed = NULL, *old_printed = NULL;

                cr_expect_eq(config_update_from_variant(old, dict, &new, &error), 0, "%s: %s", cases[i].name,
                             strempty(error));
                if (!new)
                        continue;
                printed = keyfile_print(new);
                expect_streq(printed, cases[i].expected, cases[i].name);
                old_printed = keyfile_print(old);
                expect_streq(old_printed, update_base, cases[i].name);
        }
}

/* An update that fails leaves the old configuration as it was and returns nothing. */
Test(config, update_refused) {
        static const struct {
                const char *dict;
                const char *error;
        } cases[] = {
                { "{'VCPUs': <uint32 0>}", "VCPUs: must be between 1 and 256, not 0" },
                { "{'Kernel': <''>}", "Kernel: must be an absolute path, not ''" },
                { "{'VCPUs': <uint32 4>, 'Memory': <uint64 1>}",
                  "Unknown key 'Memory': see 'microvmctl keys' for the keys microvm knows" },
                { "{'Drives': <[{'Path': <'/a.img'>}, {'Path': <'/a.img'>}]>}",
                  "Drives[0] and Drives[1] both use '/a.img': attach each image once" },
                { "{'Drives': <[{'ReadOnly': <true>}]>}",
                  "Drives[0].Path is required (the absolute path of the image file or block device)" },
                { "{'Drives': <[{'Path': <'/c.img'>, 'Root': <true>}, {'Path': <'/d.img'>, 'Root': <true>}]>}",
                  "Drives[0] and Drives[1] both have Root=yes: at most one drive holds the root file system" },
                { "{'Networks': <[{'TAP': <'tap-web'>}, {'TAP': <'tap-web'>}]>}",
                  "Networks[0] and Networks[1] both have TAP=tap-web: give each NIC its own" },
                { "{'Networks': <[{'MACAddress': <'01:00:00:00:00:01'>}]>}",
                  "Networks[0].MACAddress: must be a unicast address, but '01:00:00:00:00:01' is multicast "
                  "(the first octet is odd)" },
                { "{'Networks': <[{'Bridge': <'br0'>, 'Path': <'/a.img'>}]>}",
                  "Unknown key 'Networks[0].Path': see 'microvmctl keys' for the keys of [Network]" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *old = from_keyfile_ok(update_base);
                g_autoptr(GVariant) dict = parse(cases[i].dict);
                g_autofree char *error = NULL, *printed = NULL;
                Config *new = NULL;

                cr_expect_eq(config_update_from_variant(old, dict, &new, &error), -EINVAL, "%s", cases[i].dict);
                cr_expect_null(new, "%s: nothing returned", cases[i].dict);
                expect_streq(error, cases[i].error, cases[i].dict);
                printed = keyfile_print(old);
                expect_streq(printed, update_base, cases[i].dict);
        }
}

static char *changed(const Config *a, const Config *b) {
        g_autofree const char **names = config_changed_properties(a, b);

        return g_strjoinv(" ", (char **) names);
}

Test(config, changed_properties) {
        static const struct {
                const char *dict;
                const char *changed;    /* property names, in order, space-separated */
        } cases[] = {
                { "@a{sv} {}", "" },
                { "{'VCPUs': <uint32 2>}", "" },
                { "{'VCPUs': <uint32 3>}", "VCPUs" },
                { "{'Hypervisor': <'qemu'>}", "" },                     /* the default, now set */
                { "{'Accelerator': <'tcg'>}", "Accelerator" },
                { "{'Autostart': <true>, 'Kernel': <'/other'>}", "Autostart Kernel" },
                { "{'Kernel': <'/boot/vmlinuz'>, 'MemoryMiB': <uint64 512>}", "" },
                { "{'Drives': <[{'Path': <'/a.img'>, 'Root': <true>}, {'Path': <'/b.img'>}]>}", "" },
                { "{'Drives': <[{'Path': <'/a.img'>, 'Root': <true>}, {'Path': <'/b.img'>, 'ReadOnly': <false>}]>}",
                  "" },
                { "{'Drives': <[{'Path': <'/b.img'>}, {'Path': <'/a.img'>, 'Root': <true>}]>}", "Drives" },
                { "{'Drives': <@aa{sv} []>}", "Drives" },
                { "{'Drives': <[{'Path': <'/a.img'>}]>, 'MemoryMiB': <uint64 1024>, 'VCPUs': <uint32 1>}",
                  "Drives VCPUs MemoryMiB" },
                { "{'Initrd': <'/i'>, 'KernelCommandLine': <'quiet'>}", "Initrd KernelCommandLine" },
                { "{'Networks': <[{'TAP': <'tap-web'>, 'MACAddress': <'02:00:00:00:00:01'>}]>}", "" },
                { "{'Networks': <[{'TAP': <'tap-web'>, 'MACAddress': <'02:00:00:00:00:01'>, 'Bridge': <''>}]>}",
                  "" },                                                  /* the default, now set */
                { "{'Networks': <[{'TAP': <'tap-web'>, 'MACAddress': <'02:00:00:00:00:02'>}]>}", "Networks" },
                { "{'Networks': <[{'TAP': <'tap-web'>, 'MACAddress': <'02:00:00:00:00:01'>}, @a{sv} {}]>}",
                  "Networks" },
                { "{'Networks': <@aa{sv} []>, 'Drives': <@aa{sv} []>}", "Drives Networks" },
                { "{'Networks': <@aa{sv} []>, 'VCPUs': <uint32 8>}", "Networks VCPUs" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *old = from_keyfile_ok(update_base), *new = NULL;
                g_autoptr(GVariant) dict = parse(cases[i].dict);
                g_autofree char *names = NULL, *back = NULL;

                cr_assert_eq(config_update_from_variant(old, dict, &new, NULL), 0, "%s", cases[i].dict);
                names = changed(old, new);
                expect_streq(names, cases[i].changed, cases[i].dict);
                back = changed(new, old);
                expect_streq(back, cases[i].changed, cases[i].dict);
        }
}

/* Every key changed at once: each property is named once, the repeated sections first. */
Test(config, changed_properties_every_key) {
        _cleanup_(config_freep) Config *a = from_variant_ok("{'Kernel': <'/k'>}"), *b = NULL;
        g_autofree char *names = NULL, *same = NULL;
        GVariantBuilder dict;
        GString *expected = g_string_new(NULL);
        g_autofree char *expected_text = NULL;
        g_autoptr(GVariant) d = NULL;

        g_variant_builder_init(&dict, G_VARIANT_TYPE_VARDICT);
        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                if (config_section_is_repeatable(s)) {
                        g_variant_builder_add(&dict, "{sv}", config_section_get(s)->bus_name,
                                              g_variant_new_array(G_VARIANT_TYPE_VARDICT,
                                                                  (GVariant *[]) { group_of(s, true, 0) }, 1));
                        g_string_append_printf(expected, "%s%s", expected->len ? " " : "",
                                               config_section_get(s)->bus_name);
                }
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                const ConfigKey *key = config_key_get(id);
                g_autoptr(GVariant) v = NULL;

                if (config_section_is_repeatable(key->section))
                        continue;
                v = sample_value(id);
                g_variant_builder_add(&dict, "{sv}", key->name, v);
                g_string_append_printf(expected, "%s%s", expected->len ? " " : "", key->name);
        }
        expected_text = g_string_free(expected, FALSE);

        d = g_variant_ref_sink(g_variant_builder_end(&dict));
        cr_assert_eq(config_from_variant(d, &b, NULL), 0);
        names = changed(a, b);
        expect_streq(names, expected_text, "every key");
        same = changed(b, b);
        expect_streq(same, "", "no change");
}

static const struct {
        const char *name;
        const char *dict;       /* GVariant text */
        const char *error;
} errors[] = {
        { "not a dictionary", "'web'", "The configuration must be of type a{sv}, not s" },
        { "a{ss}", "{'Kernel': '/k'}", "The configuration must be of type a{sv}, not a{ss}" },
        { "unknown key", "{'Kernel': <'/k'>, 'Memory': <uint64 512>}",
          "Unknown key 'Memory': see 'microvmctl keys' for the keys microvm knows" },
        { "key names are case-sensitive", "{'Kernel': <'/k'>, 'vcpus': <uint32 2>}",
          "Unknown key 'vcpus': see 'microvmctl keys' for the keys microvm knows" },
        { "a drive key at the top", "{'Kernel': <'/k'>, 'Path': <'/a'>}",
          "Unknown key 'Path': see 'microvmctl keys' for the keys microvm knows" },
        { "the key-file section name", "{'Kernel': <'/k'>, 'Drive': <@aa{sv} []>}",
          "Unknown key 'Drive': see 'microvmctl keys' for the keys microvm knows" },
        { "empty key", "{'': <'x'>}", "Unknown key '': see 'microvmctl keys' for the keys microvm knows" },
        { "u as t", "{'Kernel': <'/k'>, 'VCPUs': <uint64 2>}", "VCPUs: must be of D-Bus type 'u', not 't'" },
        { "u as i", "{'Kernel': <'/k'>, 'VCPUs': <int32 2>}", "VCPUs: must be of D-Bus type 'u', not 'i'" },
        { "u as s", "{'Kernel': <'/k'>, 'VCPUs': <'2'>}", "VCPUs: must be of D-Bus type 'u', not 's'" },
        { "u in a variant", "{'Kernel': <'/k'>, 'VCPUs': <<uint32 2>>}",
          "VCPUs: must be of D-Bus type 'u', not 'v'" },
        { "t as u", "{'Kernel': <'/k'>, 'MemoryMiB': <uint32 512>}",
          "MemoryMiB: must be of D-Bus type 't', not 'u'" },
        { "b as s", "{'Kernel': <'/k'>, 'Autostart': <'yes'>}", "Autostart: must be of D-Bus type 'b', not 's'" },
        { "b as u", "{'Kernel': <'/k'>, 'Autostart': <uint32 1>}",
          "Autostart: must be of D-Bus type 'b', not 'u'" },
        { "s as o", "{'Kernel': <objectpath '/k'>}", "Kernel: must be of D-Bus type 's', not 'o'" },
        { "s as as", "{'Kernel': <['/k']>}", "Kernel: must be of D-Bus type 's', not 'as'" },
        { "VCPUs 0", "{'Kernel': <'/k'>, 'VCPUs': <uint32 0>}", "VCPUs: must be between 1 and 256, not 0" },
        { "VCPUs 257", "{'Kernel': <'/k'>, 'VCPUs': <uint32 257>}", "VCPUs: must be between 1 and 256, not 257" },
        { "MemoryMiB 0", "{'Kernel': <'/k'>, 'MemoryMiB': <uint64 0>}",
          "MemoryMiB: must be between 16 and {host} (the host's memory), not 0" },
        { "MemoryMiB 15", "{'Kernel': <'/k'>, 'MemoryMiB': <uint64 15>}",
          "MemoryMiB: must be between 16 and {host} (the host's memory), not 15" },
        { "MemoryMiB above the host", "{'Kernel': <'/k'>, 'MemoryMiB': <uint64 {host+1}>}",
          "MemoryMiB: must be between 16 and {host} (the host's memory), not {host+1}" },
        { "Hypervisor", "{'Kernel': <'/k'>, 'Hypervisor': <'xen'>}",
          "Hypervisor: must be one of 'qemu', 'firecracker', 'cloud-hypervisor', not 'xen'" },
        { "Accelerator", "{'Kernel': <'/k'>, 'Accelerator': <'hvf'>}",
          "Accelerator: must be one of 'auto', 'kvm', 'tcg', not 'hvf'" },
        { "relative Kernel", "{'Kernel': <'vmlinuz'>}", "Kernel: must be an absolute path, not 'vmlinuz'" },
        { "relative Initrd", "{'Kernel': <'/k'>, 'Initrd': <'initrd'>}",
          "Initrd: must be an absolute path, not 'initrd'" },
        { "newline in a string", "{'Kernel': <'/k'>, 'KernelCommandLine': <'quiet\\nsplash'>}",
          "KernelCommandLine: must not contain control characters such as newlines" },
        { "white space around a string", "{'Kernel': <'/k'>, 'KernelCommandLine': <' quiet'>}",
          "KernelCommandLine: must not begin or end with white space" },
        { "missing Kernel", "@a{sv} {}", "Kernel is required (the absolute path of the guest kernel image)" },
        { "missing Kernel, other keys set", "{'VCPUs': <uint32 2>}",
          "Kernel is required (the absolute path of the guest kernel image)" },
        { "Drives as s", "{'Kernel': <'/k'>, 'Drives': <'/a.img'>}",
          "Drives: must be of D-Bus type 'aa{sv}', not 's'" },
        { "Drives as a{sv}", "{'Kernel': <'/k'>, 'Drives': <{'Path': <'/a.img'>}>}",
          "Drives: must be of D-Bus type 'aa{sv}', not 'a{sv}'" },
        { "Drives as as", "{'Kernel': <'/k'>, 'Drives': <['/a.img']>}",
          "Drives: must be of D-Bus type 'aa{sv}', not 'as'" },
        { "Drives as aa{ss}", "{'Kernel': <'/k'>, 'Drives': <[{'Path': '/a.img'}]>}",
          "Drives: must be of D-Bus type 'aa{sv}', not 'aa{ss}'" },
        { "Drives[0].Path missing", "{'Kernel': <'/k'>, 'Drives': <[@a{sv} {}]>}",
          "Drives[0].Path is required (the absolute path of the image file or block device)" },
        { "Drives[1].Path missing", "{'Kernel': <'/k'>, 'Drives': <[{'Path': <'/a.img'>}, {'ReadOnly': <true>}]>}",
          "Drives[1].Path is required (the absolute path of the image file or block device)" },
        { "Drives[1].Path relative", "{'Kernel': <'/k'>, 'Drives': <[{'Path': <'/a.img'>}, {'Path': <'b.img'>}]>}",
          "Drives[1].Path: must be an absolute path, not 'b.img'" },
        { "Drives[0].Path as b", "{'Kernel': <'/k'>, 'Drives': <[{'Path': <true>}]>}",
          "Drives[0].Path: must be of D-Bus type 's', not 'b'" },
        { "Drives[0].Root as s", "{'Kernel': <'/k'>, 'Drives': <[{'Path': <'/a'>, 'Root': <'yes'>}]>}",
          "Drives[0].Root: must be of D-Bus type 'b', not 's'" },
        { "Drives[0] unknown key", "{'Kernel': <'/k'>, 'Drives': <[{'Path': <'/a'>, 'Size': <uint64 1>}]>}",
          "Unknown key 'Drives[0].Size': see 'microvmctl keys' for the keys of [Drive]" },
        { "Drives[0] with a top-level key", "{'Kernel': <'/k'>, 'Drives': <[{'Path': <'/a'>, 'Kernel': <'/k'>}]>}",
          "Unknown key 'Drives[0].Kernel': see 'microvmctl keys' for the keys of [Drive]" },
        { "two root drives",
          "{'Kernel': <'/k'>, 'Drives': <[{'Path': <'/a'>, 'Root': <true>}, {'Path': <'/b'>}, "
          "{'Path': <'/c'>, 'Root': <true>}]>}",
          "Drives[0] and Drives[2] both have Root=yes: at most one drive holds the root file system" },
        { "the same drive twice",
          "{'Kernel': <'/k'>, 'Drives': <[{'Path': <'/a'>}, {'Path': <'/b'>}, "
          "{'Path': <'/b'>, 'ReadOnly': <true>}]>}",
          "Drives[1] and Drives[2] both use '/b': attach each image once" },
        { "the network key-file section name", "{'Kernel': <'/k'>, 'Network': <@aa{sv} []>}",
          "Unknown key 'Network': see 'microvmctl keys' for the keys microvm knows" },
        { "a network key at the top", "{'Kernel': <'/k'>, 'TAP': <'tap0'>}",
          "Unknown key 'TAP': see 'microvmctl keys' for the keys microvm knows" },
        { "Networks as a{sv}", "{'Kernel': <'/k'>, 'Networks': <{'TAP': <'tap0'>}>}",
          "Networks: must be of D-Bus type 'aa{sv}', not 'a{sv}'" },
        { "Networks given twice", "{'Kernel': <'/k'>, 'Networks': <@aa{sv} []>, 'Networks': <@aa{sv} []>}",
          "Networks is given twice: give it once" },
        { "Networks[0] unknown key", "{'Kernel': <'/k'>, 'Networks': <[{'Mac': <'02:00:00:00:00:01'>}]>}",
          "Unknown key 'Networks[0].Mac': see 'microvmctl keys' for the keys of [Network]" },
        { "Networks[0] with a drive key", "{'Kernel': <'/k'>, 'Networks': <[{'ReadOnly': <true>}]>}",
          "Unknown key 'Networks[0].ReadOnly': see 'microvmctl keys' for the keys of [Network]" },
        { "Networks[0] key twice",
          "{'Kernel': <'/k'>, 'Networks': <[{'TAP': <'tap0'>, 'TAP': <'tap1'>}]>}",
          "Networks[0].TAP is given twice: give it once" },
        { "Networks[0].MACAddress as ay",
          "{'Kernel': <'/k'>, 'Networks': <[{'MACAddress': <[byte 2, 0, 0, 0, 0, 1]>}]>}",
          "Networks[0].MACAddress: must be of D-Bus type 's', not 'ay'" },
        { "Networks[1].MACAddress malformed",
          "{'Kernel': <'/k'>, 'Networks': <[@a{sv} {}, {'MACAddress': <'02:00:00:00:00:1'>}]>}",
          "Networks[1].MACAddress: must be a MAC address like 02:00:00:12:34:56, not '02:00:00:00:00:1'" },
        { "Networks[0].MACAddress multicast",
          "{'Kernel': <'/k'>, 'Networks': <[{'MACAddress': <'ff:ff:ff:ff:ff:ff'>}]>}",
          "Networks[0].MACAddress: must be a unicast address, but 'ff:ff:ff:ff:ff:ff' is multicast "
          "(the first octet is odd)" },
        { "Networks[0].MACAddress all zeros",
          "{'Kernel': <'/k'>, 'Networks': <[{'MACAddress': <'00:00:00:00:00:00'>}]>}",
          "Networks[0].MACAddress: must not be all zeros" },
        { "Networks[0].TAP too long", "{'Kernel': <'/k'>, 'Networks': <[{'TAP': <'abcdefghijklmnop'>}]>}",
          "Networks[0].TAP: must be a network interface name of 1 to 15 characters without '/', ':' or white "
          "space, not 'abcdefghijklmnop'" },
        { "Networks[0].Bridge with ':'", "{'Kernel': <'/k'>, 'Networks': <[{'Bridge': <'br0:1'>}]>}",
          "Networks[0].Bridge: must be a network interface name of 1 to 15 characters without '/', ':' or white "
          "space, not 'br0:1'" },
        { "two NICs, one MAC",
          "{'Kernel': <'/k'>, 'Networks': <[{'MACAddress': <'02:00:00:00:00:0a'>}, @a{sv} {}, "
          "{'MACAddress': <'02:00:00:00:00:0A'>}]>}",
          "Networks[0] and Networks[2] both have MACAddress=02:00:00:00:00:0A: give each NIC its own" },
        { "two NICs, one TAP",
          "{'Kernel': <'/k'>, 'Networks': <[{'TAP': <'tap0'>, 'Bridge': <'br0'>}, "
          "{'TAP': <'tap0'>, 'Bridge': <'br1'>}]>}",
          "Networks[0] and Networks[1] both have TAP=tap0: give each NIC its own" },
};

static char *expand_host(const char *s) {
        g_autofree char *host = g_strdup_printf("%" PRIu64, config_host_memory_mib());
        g_autofree char *above = g_strdup_printf("%" PRIu64, config_host_memory_mib() + 1);
        g_auto(GStrv) a = g_strsplit(s, "{host+1}", -1), b = NULL;
        g_autofree char *partial = g_strjoinv(above, a);

        b = g_strsplit(partial, "{host}", -1);
        return g_strjoinv(host, b);
}

Test(config, variant_errors) {
        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                g_autofree char *text = expand_host(errors[i].dict), *expected = expand_host(errors[i].error);
                g_autoptr(GVariant) dict = parse(text);
                g_autofree char *error = NULL;
                Config *c = NULL;

                cr_expect_eq(config_from_variant(dict, &c, &error), -EINVAL, "%s", errors[i].name);
                cr_expect_null(c, "%s: nothing returned", errors[i].name);
                expect_streq(error, expected, errors[i].name);
        }
}

/* The same errors from UpdateVM's path, where Kernel is already set. */
Test(config, variant_errors_on_update) {
        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                g_autofree char *text = expand_host(errors[i].dict), *expected = expand_host(errors[i].error);
                _cleanup_(config_freep) Config *old = from_keyfile_ok("[Boot]\nKernel=/k\n");
                g_autoptr(GVariant) dict = parse(text);
                g_autofree char *error = NULL, *printed = NULL;
                Config *c = NULL;
                int r;

                r = config_update_from_variant(old, dict, &c, &error);
                if (g_str_has_prefix(errors[i].name, "missing Kernel")) {
                        /* Not an error here: the old configuration has one. */
                        cr_expect_eq(r, 0, "%s: %s", errors[i].name, strempty(error));
                        config_free(c);
                        continue;
                }
                cr_expect_eq(r, -EINVAL, "%s", errors[i].name);
                cr_expect_null(c, "%s: nothing returned", errors[i].name);
                expect_streq(error, expected, errors[i].name);
                printed = keyfile_print(old);
                expect_streq(printed, "[Boot]\nKernel=/k\n", errors[i].name);
        }
}

/* A message is optional: refusing works without one. */
Test(config, variant_errors_without_message) {
        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                g_autofree char *text = expand_host(errors[i].dict);
                g_autoptr(GVariant) dict = parse(text);
                Config *c = NULL;

                cr_expect_eq(config_from_variant(dict, &c, NULL), -EINVAL, "%s", errors[i].name);
        }
}
