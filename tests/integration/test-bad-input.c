/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bad input over the bus: each case gets its named error with a message that says what is wrong,
 * and leaves nothing behind: no key file, no temporary file, no object, no signal. VM names start
 * with "itb-". */

#include <inttypes.h>
#include <unistd.h>

#include "bus-test.h"

#define PREFIX "itb-"
#define GOOD_CONFIG "{'Kernel': <'/var/lib/microvm/images/vmlinuz'>}"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(bad_input, .init = cleanup, .fini = cleanup);

Test(bad_input, names) {
        g_autofree char *long_name = g_strnfill(300, 'a');
        const struct {
                const char *label, *name;
        } cases[] = {
                { "empty", "" },
                { "dot", "." },
                { "dot-dot", ".." },
                { "parent path", "../x" },
                { "slash", "a/b" },
                { "300 bytes", long_name },
                { "leading dash", "-x" },
                { "newline", "\n" },
        };
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *before = bt_snapshot(t);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                static const char *const methods[] = { "GetVM", "DeleteVM" };
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                g_autofree char *what = g_strdup_printf("name %s", cases[i].label);
                int r;

                r = bt_try_create_vm(t, cases[i].name, GOOD_CONFIG, &error);
                bt_assert_error(r, &error, "org.microvm.Error.InvalidName", "is not a valid VM name", what);
                /* The message says what a valid name is. */
                bt_assert_error(r, &error, "org.microvm.Error.InvalidName", "1 to 64 characters", what);
                bt_assert_unchanged(t, before, what);

                for (size_t j = 0; j < ELEMENTSOF(methods); j++) {
                        g_autofree char *call = g_strdup_printf("%s: %s", what, methods[j]);

                        sd_bus_error_free(&error);
                        r = bt_call(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, methods[j],
                                    g_variant_new("(s)", cases[i].name), NULL, &error);
                        bt_assert_error(r, &error, "org.microvm.Error.InvalidName", "is not a valid VM name", call);
                }
                bt_assert_unchanged(t, before, what);
        }
}

Test(bad_input, name_not_utf8) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(bt_freep) BusTest *t = bt_new();
        int r;

        /* A D-Bus string is UTF-8 by definition: sd-bus refuses to marshal anything else, so such a
         * name never reaches microvmd (its validator refuses it too; the unit tests show that). */
        r = sd_bus_message_new_method_call(t->bus, &m, BT_BUS_NAME, BT_MANAGER_PATH, BT_MANAGER_INTERFACE,
                                           "CreateVM");
        cr_assert(r >= 0);
        r = sd_bus_message_append(m, "s", "itb-\xff\xfe");
        cr_assert(r < 0, "name not UTF-8: sd-bus marshalled it");
}

Test(bad_input, configs) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *before = bt_snapshot(t);
        g_autofree char *host = NULL, *too_much = NULL, *too_much_problem = NULL;
        guint64 host_mib;

        /* What GetSystemInfo reports is the ceiling. */
        g_autoptr(GVariant) reply = bt_manager_call(t, "GetSystemInfo", NULL, "GetSystemInfo");
        g_autoptr(GVariant) info = g_variant_get_child_value(reply, 0);
        cr_assert(g_variant_lookup(info, "MemoryMiB", "t", &host_mib), "GetSystemInfo has no MemoryMiB");
        too_much = g_strdup_printf("{'Kernel': <'/k'>, 'MemoryMiB': <uint64 %" G_GUINT64_FORMAT ">}", host_mib + 1);
        too_much_problem = g_strdup_printf("MemoryMiB: must be between 16 and %" G_GUINT64_FORMAT
                                           " (the host's memory), not %" G_GUINT64_FORMAT, host_mib, host_mib + 1);

        const struct {
                const char *label, *config, *fragment;
        } cases[] = {
                { "unknown key", "{'Kernel': <'/k'>, 'Colour': <'blue'>}", "Unknown key 'Colour'" },
                { "wrong type", "{'Kernel': <'/k'>, 'VCPUs': <'2'>}", "VCPUs: must be of D-Bus type 'u', not 's'" },
                { "VCPUs 0", "{'Kernel': <'/k'>, 'VCPUs': <uint32 0>}", "VCPUs: must be between 1 and 256, not 0" },
                { "MemoryMiB 0", "{'Kernel': <'/k'>, 'MemoryMiB': <uint64 0>}",
                  "MemoryMiB: must be between 16 and" },
                { "MemoryMiB above host RAM", too_much, too_much_problem },
                { "missing Kernel", "{'VCPUs': <uint32 2>}", "Kernel is required" },
                { "relative Kernel", "{'Kernel': <'vmlinuz'>}", "Kernel: must be an absolute path" },
                { "two Root drives",
                  "{'Kernel': <'/k'>, 'Drives': <[{'Path': <'/a.img'>, 'Root': <true>}, "
                  "{'Path': <'/b.img'>, 'Root': <true>}]>}",
                  "Drives[0] and Drives[1] both have Root=yes" },
                { "drive without Path", "{'Kernel': <'/k'>, 'Drives': <[{'ReadOnly': <true>}]>}",
                  "Drives[0].Path is required" },
                { "Drives of the wrong type", "{'Kernel': <'/k'>, 'Drives': <['/a.img']>}",
                  "Drives: must be of D-Bus type 'aa{sv}', not 'as'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                g_autofree char *what = g_strdup_printf("config %s", cases[i].label);
                int r;

                r = bt_try_create_vm(t, "itb-cfg", cases[i].config, &error);
                bt_assert_error(r, &error, "org.microvm.Error.InvalidConfig", cases[i].fragment, what);
                bt_assert_error(r, &error, "org.microvm.Error.InvalidConfig", "'itb-cfg'", what);
                bt_assert_unchanged(t, before, what);

                sd_bus_error_free(&error);
                r = bt_try_manager_call(t, "GetVM", g_variant_new("(s)", "itb-cfg"), &error);
                bt_assert_error(r, &error, "org.microvm.Error.NoSuchVM", "No VM 'itb-cfg'", what);
        }
}

Test(bad_input, duplicate) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *path = NULL, *before = NULL;
        int r;

        path = bt_create_vm(t, "itb-dup", "{'Kernel': <'/k'>, 'VCPUs': <uint32 2>}");
        bt_sync(t);
        bt_clear_signals(t);
        before = bt_snapshot(t);

        r = bt_try_create_vm(t, "itb-dup", "{'Kernel': <'/other'>, 'VCPUs': <uint32 4>}", &error);
        bt_assert_error(r, &error, "org.microvm.Error.VMExists", "VM 'itb-dup' exists already", "duplicate create");
        bt_assert_unchanged(t, before, "duplicate create");
}

Test(bad_input, unknown_vm) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *before = bt_snapshot(t);
        const struct {
                const char *method;
                GVariant *args;
        } cases[] = {
                { "GetVM", g_variant_new("(s)", "itb-nonesuch") },
                { "DeleteVM", g_variant_new("(s)", "itb-nonesuch") },
                { "UpdateVM", g_variant_new("(s@a{sv})", "itb-nonesuch", bt_config("{'VCPUs': <uint32 2>}")) },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                int r;

                r = bt_call(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, cases[i].method, cases[i].args, NULL, &error);
                bt_assert_error(r, &error, "org.microvm.Error.NoSuchVM", "No VM 'itb-nonesuch'", cases[i].method);
                /* The message says where to look. */
                bt_assert_error(r, &error, "org.microvm.Error.NoSuchVM", "microvmctl list", cases[i].method);
                bt_assert_unchanged(t, before, cases[i].method);
        }
}

Test(bad_input, update) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *path = NULL, *before = NULL, *file = NULL, *contents = NULL;
        g_autoptr(GVariant) props = NULL;
        const struct {
                const char *label, *config, *fragment;
        } cases[] = {
                { "VCPUs 0", "{'VCPUs': <uint32 0>}", "VCPUs: must be between 1 and 256, not 0" },
                { "unknown key", "{'Colour': <'blue'>}", "Unknown key 'Colour'" },
                { "wrong type", "{'MemoryMiB': <uint32 512>}", "MemoryMiB: must be of D-Bus type 't', not 'u'" },
                /* A good value beside a bad one is not applied either. */
                { "good and bad value", "{'VCPUs': <uint32 8>, 'Kernel': <''>}",
                  "Kernel: must be an absolute path" },
                { "two Root drives",
                  "{'Drives': <[{'Path': <'/a.img'>, 'Root': <true>}, {'Path': <'/b.img'>, 'Root': <true>}]>}",
                  "both have Root=yes" },
        };

        path = bt_create_vm(t, "itb-upd", "{'Kernel': <'/k'>, 'VCPUs': <uint32 2>, 'MemoryMiB': <uint64 512>}");
        file = bt_key_file("itb-upd");
        contents = bt_read_file(file);
        props = bt_vm_properties(t, path, "update");
        bt_sync(t);
        bt_clear_signals(t);
        before = bt_snapshot(t);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                g_autofree char *what = g_strdup_printf("UpdateVM %s", cases[i].label);
                g_autofree char *what_object = g_strdup_printf("VM.Update %s", cases[i].label);
                g_autoptr(GVariant) now_props = NULL;
                int r;

                r = bt_call(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "UpdateVM",
                            g_variant_new("(s@a{sv})", "itb-upd", bt_config(cases[i].config)), NULL, &error);
                bt_assert_error(r, &error, "org.microvm.Error.InvalidConfig", cases[i].fragment, what);
                bt_assert_unchanged(t, before, what);

                sd_bus_error_free(&error);
                r = bt_call(t, path, BT_VM_INTERFACE, "Update",
                            g_variant_new("(@a{sv})", bt_config(cases[i].config)), NULL, &error);
                bt_assert_error(r, &error, "org.microvm.Error.InvalidConfig", cases[i].fragment, what_object);
                bt_assert_unchanged(t, before, what_object);

                bt_assert_file(file, contents, what);
                now_props = bt_vm_properties(t, path, what);
                cr_assert(g_variant_equal(now_props, props), "%s: the properties changed", what);
        }
}
