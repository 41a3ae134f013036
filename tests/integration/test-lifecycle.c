/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM's life over the bus: create, read, update, delete, enumerate, and the totals of
 * GetSystemInfo, each checked where a user sees it: the reply, the key file, the properties
 * and the signals. VM names start with "itl-". */

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "bus-test.h"

#define PREFIX "itl-"
#define KERNEL "/var/lib/microvm/images/vmlinuz"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(lifecycle, .init = cleanup, .fini = cleanup);

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The keys of an a{sv}, sorted and joined by commas. */
static char *dict_keys(GVariant *dict) {
        size_t n = g_variant_n_children(dict);
        g_autofree const char **keys = g_new0(const char *, n + 1);

        for (size_t i = 0; i < n; i++)
                g_variant_get_child(dict, i, "{&sv}", &keys[i], NULL);
        qsort(keys, n, sizeof(char *), compare_strings);
        return g_strjoinv(",", (char **) keys);
}

#define DRIVE_DEFAULTS "'Format': <'auto'>, 'Cache': <'writeback'>, 'Discard': <false>"

Test(lifecycle, create) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *path = NULL, *file = NULL, *busctl = NULL, *body = NULL;
        g_autoptr(GVariant) props = NULL, reply = NULL, ifaces = NULL, vm_props = NULL;
        const char *listed;
        const BusSignal *s;
        int r;

        bt_make_image("/var/lib/microvm/images/web.img", "ext4");
        path = bt_create_vm(t, "itl-web",
                            "{'Kernel': <'" KERNEL "'>, 'VCPUs': <uint32 2>, 'MemoryMiB': <uint64 512>, "
                            "'Drives': <[{'Path': <'/var/lib/microvm/images/web.img'>, 'Root': <true>}]>}");
        /* sd_bus_path_encode() escapes everything but letters and digits. */
        cr_assert_str_eq(path, "/org/microvm/Manager/vm/itl_2dweb", "create: CreateVM returned %s", path);

        /* The key file holds exactly what was set, in schema order; defaults stay unwritten. */
        file = bt_key_file("itl-web");
        bt_assert_file(file,
                       "[VM]\n"
                       "VCPUs=2\n"
                       "MemoryMiB=512\n"
                       "VsockCID=3\n"
                       "\n"
                       "[Boot]\n"
                       "Kernel=" KERNEL "\n"
                       "\n"
                       "[Drive]\n"
                       "Path=/var/lib/microvm/images/web.img\n"
                       "Root=yes\n",
                       "create");

        /* The object exists: GetVM finds it, and its properties hold the values and the defaults. */
        reply = bt_manager_call(t, "GetVM", g_variant_new("(s)", "itl-web"), "create: GetVM");
        g_variant_get(reply, "(&o)", &listed);
        cr_assert_str_eq(listed, path, "create: GetVM returned %s", listed);

        static const struct {
                const char *key, *value;
        } expected[] = {
                { "Name", "'itl-web'" },
                { "State", "'defined'" },
                { "Unit", "'microvm@itl-web.service'" },
                { "ConfigFile", "'/etc/microvm/vms/itl-web.vm'" },
                { "Transient", "false" },
                { "Drives",
                  "[{'Path': <'/var/lib/microvm/images/web.img'>, 'ReadOnly': <false>, 'Root': <true>, "
                  "'Format': <'auto'>, 'Cache': <'writeback'>, 'Discard': <false>}]" },
                { "Hypervisor", "'qemu'" },
                { "Accelerator", "'auto'" },
                { "VCPUs", "uint32 2" },
                { "MemoryMiB", "uint64 512" },
                { "Autostart", "false" },
                { "Kernel", "'" KERNEL "'" },
                { "Initrd", "''" },
                { "KernelCommandLine", "''" },
        };
        /* Which properties there are is the introspection test's business. */
        props = bt_vm_properties(t, path, "create");
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                bt_assert_entry(props, expected[i].key, expected[i].value, "create: GetAll");

        /* What a user of busctl sees. */
        r = bt_run(&busctl, "busctl get-property " BT_BUS_NAME " %s " BT_VM_INTERFACE " MemoryMiB VCPUs", path);
        cr_assert(r == 0 && streq(busctl, "t 512\nu 2\n"), "create: busctl get-property: %s", busctl);

        /* VMCreated(name, path) and InterfacesAdded(path, {org.microvm.VM: {...}}), once each. */
        s = bt_wait_signal(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "VMCreated", BT_TIMEOUT_USEC);
        cr_assert(s, "create: no VMCreated");
        body = g_variant_print(s->body, TRUE);
        cr_assert_str_eq(body, "('itl-web', objectpath '/org/microvm/Manager/vm/itl_2dweb')",
                         "create: VMCreated%s", body);

        s = bt_wait_signal(t, BT_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                           BT_TIMEOUT_USEC);
        cr_assert(s, "create: no InterfacesAdded");
        g_variant_get(s->body, "(&o@a{sa{sv}})", &listed, &ifaces);
        cr_assert_str_eq(listed, path, "create: InterfacesAdded for %s", listed);
        vm_props = g_variant_lookup_value(ifaces, BT_VM_INTERFACE, G_VARIANT_TYPE_VARDICT);
        cr_assert(vm_props, "create: InterfacesAdded lacks " BT_VM_INTERFACE);
        bt_assert_entry(vm_props, "Name", "'itl-web'", "create: InterfacesAdded");
        bt_assert_entry(vm_props, "VCPUs", "uint32 2", "create: InterfacesAdded");

        bt_sync(t);
        cr_assert_eq(bt_count_signals(t, BT_MANAGER_INTERFACE, "VMCreated"), 1, "create: VMCreated sent %zu times",
                     bt_count_signals(t, BT_MANAGER_INTERFACE, "VMCreated"));
        cr_assert_eq(bt_count_signals(t, NULL, "InterfacesAdded"), 1, "create: InterfacesAdded sent %zu times",
                     bt_count_signals(t, NULL, "InterfacesAdded"));
}

/* Waits for the one PropertiesChanged of an update and returns the names it carries. */
static char *expect_properties_changed(BusTest *t, const char *path, GVariant **ret_changed, const char *what) {
        g_autoptr(GVariant) changed = NULL, invalidated = NULL;
        const BusSignal *s;
        const char *iface;

        s = bt_wait_signal(t, path, "org.freedesktop.DBus.Properties", "PropertiesChanged", BT_TIMEOUT_USEC);
        cr_assert(s, "%s: no PropertiesChanged on %s", what, path);
        g_variant_get(s->body, "(&s@a{sv}@as)", &iface, &changed, &invalidated);
        cr_assert_str_eq(iface, BT_VM_INTERFACE, "%s: PropertiesChanged for %s", what, iface);
        cr_assert_eq(g_variant_n_children(invalidated), 0, "%s: properties invalidated instead of sent", what);

        bt_sync(t);
        cr_assert_eq(bt_count_signals(t, NULL, "PropertiesChanged"), 1, "%s: PropertiesChanged sent %zu times",
                     what, bt_count_signals(t, NULL, "PropertiesChanged"));

        if (ret_changed)
                *ret_changed = g_variant_ref(changed);
        return dict_keys(changed);
}

Test(lifecycle, update) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *path = NULL, *file = NULL, *names = NULL;
        g_autoptr(GVariant) changed = NULL, props = NULL;

        path = bt_create_vm(t, "itl-upd", "{'Kernel': <'" KERNEL "'>, 'MemoryMiB': <uint64 512>}");
        bt_sync(t);
        bt_clear_signals(t);

        /* MemoryMiB is given but unchanged: it must not be named. */
        bt_update_vm(t, "itl-upd",
                     "{'VCPUs': <uint32 4>, 'MemoryMiB': <uint64 512>, 'KernelCommandLine': <'console=hvc0 quiet'>}");
        names = expect_properties_changed(t, path, &changed, "update");
        cr_assert_str_eq(names, "KernelCommandLine,VCPUs", "update: PropertiesChanged names %s", names);
        bt_assert_entry(changed, "VCPUs", "uint32 4", "update: PropertiesChanged");
        bt_assert_entry(changed, "KernelCommandLine", "'console=hvc0 quiet'", "update: PropertiesChanged");

        file = bt_key_file("itl-upd");
        bt_assert_file(file,
                       "[VM]\n"
                       "VCPUs=4\n"
                       "MemoryMiB=512\n"
                       "VsockCID=3\n"
                       "\n"
                       "[Boot]\n"
                       "Kernel=" KERNEL "\n"
                       "KernelCommandLine=console=hvc0 quiet\n",
                       "update");

        props = bt_vm_properties(t, path, "update");
        bt_assert_entry(props, "VCPUs", "uint32 4", "update: GetAll");
        bt_assert_entry(props, "MemoryMiB", "uint64 512", "update: GetAll");
        bt_assert_entry(props, "KernelCommandLine", "'console=hvc0 quiet'", "update: GetAll");

        /* An update that changes nothing emits nothing. */
        bt_clear_signals(t);
        bt_update_vm(t, "itl-upd", "{'VCPUs': <uint32 4>}");
        bt_sync(t);
        cr_assert_eq(bt_count_signals(t, NULL, "PropertiesChanged"), 0,
                     "update without change: PropertiesChanged was sent");
}

Test(lifecycle, update_drives) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *path = NULL, *file = NULL, *names = NULL;
        g_autoptr(GVariant) props = NULL, changed = NULL;

        bt_make_image("/srv/a.img", "ext4");
        bt_make_image("/srv/b.img", "blank");
        bt_make_image("/srv/c.img", "blank");
        path = bt_create_vm(t, "itl-drv",
                            "{'Kernel': <'" KERNEL "'>, 'Drives': <[{'Path': <'/srv/a.img'>, 'Root': <true>}, "
                            "{'Path': <'/srv/b.img'>, 'ReadOnly': <true>}]>}");
        file = bt_key_file("itl-drv");
        bt_sync(t);
        bt_clear_signals(t);

        /* The list given replaces the whole list. */
        bt_update_vm(t, "itl-drv", "{'Drives': <[{'Path': <'/srv/c.img'>, 'ReadOnly': <true>}]>}");
        names = expect_properties_changed(t, path, &changed, "update Drives");
        cr_assert_str_eq(names, "Drives", "update Drives: PropertiesChanged names %s", names);
        bt_assert_entry(changed, "Drives", "[{'Path': <'/srv/c.img'>, 'ReadOnly': <true>, 'Root': <false>, " DRIVE_DEFAULTS "}]",
                        "update Drives: PropertiesChanged");
        props = bt_vm_properties(t, path, "update Drives");
        bt_assert_entry(props, "Drives", "[{'Path': <'/srv/c.img'>, 'ReadOnly': <true>, 'Root': <false>, " DRIVE_DEFAULTS "}]",
                        "update Drives: GetAll");
        bt_assert_file(file,
                       "[VM]\n"
                       "VsockCID=3\n"
                       "\n"
                       "[Boot]\n"
                       "Kernel=" KERNEL "\n"
                       "\n"
                       "[Drive]\n"
                       "Path=/srv/c.img\n"
                       "ReadOnly=yes\n",
                       "update Drives");

        /* An empty list removes every drive. */
        bt_clear_signals(t);
        g_clear_pointer(&names, g_free);
        g_clear_pointer(&props, g_variant_unref);
        bt_update_vm(t, "itl-drv", "{'Drives': <@aa{sv} []>}");
        names = expect_properties_changed(t, path, NULL, "update Drives to none");
        cr_assert_str_eq(names, "Drives", "update Drives to none: PropertiesChanged names %s", names);
        props = bt_vm_properties(t, path, "update Drives to none");
        bt_assert_entry(props, "Drives", "@aa{sv} []", "update Drives to none: GetAll");
        bt_assert_file(file, "[VM]\nVsockCID=3\n\n[Boot]\nKernel=" KERNEL "\n", "update Drives to none");
}

Test(lifecycle, object_methods) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *path = NULL, *names = NULL, *file = NULL, *contents = NULL;
        int r;

        /* org.microvm.VM.Update and .Delete act on the VM of the object they are called on. */
        path = bt_create_vm(t, "itl-obj", "{'Kernel': <'" KERNEL "'>}");
        file = bt_key_file("itl-obj");
        bt_sync(t);
        bt_clear_signals(t);

        r = bt_call(t, path, BT_VM_INTERFACE, "Update",
                    g_variant_new("(@a{sv})", bt_config("{'Autostart': <true>}")), NULL, &error);
        cr_assert(r >= 0, "VM.Update failed: %s: %s", error.name, error.message);
        names = expect_properties_changed(t, path, NULL, "VM.Update");
        cr_assert_str_eq(names, "Autostart", "VM.Update: PropertiesChanged names %s", names);
        bt_assert_file(file, "[VM]\nAutostart=yes\nVsockCID=3\n\n[Boot]\nKernel=" KERNEL "\n", "VM.Update");

        bt_clear_signals(t);
        r = bt_call(t, path, BT_VM_INTERFACE, "Delete", NULL, NULL, &error);
        cr_assert(r >= 0, "VM.Delete failed: %s: %s", error.name, error.message);
        contents = bt_read_file(file);
        cr_assert_null(contents, "VM.Delete: %s still exists", file);
        cr_assert(!bt_vm_listed(t, "itl-obj"), "VM.Delete: ListVMs still lists it");
        cr_assert(bt_wait_signal(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "VMRemoved", BT_TIMEOUT_USEC),
                  "VM.Delete: no VMRemoved");
}

Test(lifecycle, delete) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *path = NULL, *file = NULL, *contents = NULL, *body = NULL, *removed = NULL;
        g_autoptr(GVariant) ifaces = NULL;
        const char *listed;
        const BusSignal *s;
        int r;

        path = bt_create_vm(t, "itl-del", "{'Kernel': <'" KERNEL "'>}");
        file = bt_key_file("itl-del");
        bt_sync(t);
        bt_clear_signals(t);

        bt_delete_vm(t, "itl-del");

        contents = bt_read_file(file);
        cr_assert_null(contents, "delete: %s still exists", file);

        r = bt_try_manager_call(t, "GetVM", g_variant_new("(s)", "itl-del"), &error);
        bt_assert_error(r, &error, "org.microvm.Error.NoSuchVM", "No VM 'itl-del'", "delete: GetVM");
        sd_bus_error_free(&error);

        /* The object is gone: nothing answers on its path any more. */
        r = bt_call(t, path, "org.freedesktop.DBus.Properties", "Get",
                    g_variant_new("(ss)", BT_VM_INTERFACE, "Name"), NULL, &error);
        bt_assert_error(r, &error, "org.freedesktop.DBus.Error.UnknownObject", "", "delete: reading Name");
        cr_assert(!bt_vm_listed(t, "itl-del"), "delete: ListVMs still lists it");

        s = bt_wait_signal(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "VMRemoved", BT_TIMEOUT_USEC);
        cr_assert(s, "delete: no VMRemoved");
        body = g_variant_print(s->body, TRUE);
        cr_assert_str_eq(body, "('itl-del', objectpath '/org/microvm/Manager/vm/itl_2ddel')", "delete: VMRemoved%s",
                         body);

        s = bt_wait_signal(t, BT_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                           BT_TIMEOUT_USEC);
        cr_assert(s, "delete: no InterfacesRemoved");
        g_variant_get(s->body, "(&o@as)", &listed, &ifaces);
        cr_assert_str_eq(listed, path, "delete: InterfacesRemoved for %s", listed);
        removed = g_variant_print(ifaces, FALSE);
        cr_assert(strstr(removed, "'" BT_VM_INTERFACE "'"), "delete: InterfacesRemoved names %s", removed);
}

Test(lifecycle, enumerate) {
        static const char *const names[] = { "itl-enum-a", "itl-enum-b", "itl-enum-c" };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autoptr(GVariant) objects = NULL, managed = NULL, introspected = NULL, list = NULL;
        g_autofree char *xml = NULL, *tree = NULL;
        const char *prev = NULL, *name, *state, *path;
        size_t n_ours = 0, n_listed = 0;
        GVariantIter iter;
        int r;

        /* Created out of order: the registry sorts. */
        g_free(bt_create_vm(t, "itl-enum-b", "{'Kernel': <'" KERNEL "'>}"));
        g_free(bt_create_vm(t, "itl-enum-c", "{'Kernel': <'" KERNEL "'>}"));
        g_free(bt_create_vm(t, "itl-enum-a", "{'Kernel': <'" KERNEL "'>}"));

        /* ListVMs: a(sso) sorted by name, every VM "defined" at its encoded path. */
        list = bt_list_vms(t);
        g_variant_iter_init(&iter, list);
        while (g_variant_iter_next(&iter, "(&s&s&o)", &name, &state, &path)) {
                g_autofree char *expected = bt_vm_path(name);

                cr_assert(!prev || strcmp(prev, name) < 0, "ListVMs: '%s' comes after '%s'", name, prev);
                cr_assert_str_eq(state, "defined", "ListVMs: %s is %s", name, state);
                cr_assert_str_eq(path, expected, "ListVMs: %s is at %s", name, path);
                if (g_str_has_prefix(name, "itl-enum-")) {
                        cr_assert(n_ours < ELEMENTSOF(names) && streq(name, names[n_ours]),
                                  "ListVMs: '%s' out of place", name);
                        n_ours++;
                }
                prev = name;
                n_listed++;
        }
        cr_assert_eq(n_ours, ELEMENTSOF(names), "ListVMs: lists %zu of the 3 VMs", n_ours);

        /* GetManagedObjects: every VM, and nothing else. */
        r = bt_call(t, BT_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL, &managed,
                    &error);
        cr_assert(r >= 0, "GetManagedObjects failed: %s: %s", error.name, error.message);
        g_variant_get(managed, "(@a{oa{sa{sv}}})", &objects);
        cr_assert_eq(g_variant_n_children(objects), n_listed, "GetManagedObjects: %zu objects for %zu VMs",
                     g_variant_n_children(objects), n_listed);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                g_autofree char *p = bt_vm_path(names[i]), *shown = g_strdup_printf("'%s'", names[i]);
                g_autoptr(GVariant) ifaces = g_variant_lookup_value(objects, p, G_VARIANT_TYPE("a{sa{sv}}"));
                g_autoptr(GVariant) props = NULL;

                cr_assert(ifaces, "GetManagedObjects: no %s", p);
                props = g_variant_lookup_value(ifaces, BT_VM_INTERFACE, G_VARIANT_TYPE_VARDICT);
                cr_assert(props, "GetManagedObjects: %s lacks " BT_VM_INTERFACE, p);
                bt_assert_entry(props, "Name", shown, "GetManagedObjects");
                bt_assert_entry(props, "State", "'defined'", "GetManagedObjects");
        }

        /* Introspection lists each VM as a child node of /org/microvm/Manager/vm. */
        r = bt_call(t, BT_VM_PATH_PREFIX, "org.freedesktop.DBus.Introspectable", "Introspect", NULL,
                    &introspected, &error);
        cr_assert(r >= 0, "Introspect " BT_VM_PATH_PREFIX " failed: %s: %s", error.name, error.message);
        g_variant_get(introspected, "(s)", &xml);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                g_autofree char *p = bt_vm_path(names[i]);
                g_autofree char *node = g_strdup_printf("<node name=\"%s\"/>", p + strlen(BT_VM_PATH_PREFIX "/"));

                cr_assert(strstr(xml, node), "Introspect " BT_VM_PATH_PREFIX ": no %s in\n%s", node, xml);
        }

        /* And busctl tree finds them by walking it. */
        r = bt_run(&tree, "busctl tree --list " BT_BUS_NAME);
        cr_assert(r == 0, "busctl tree failed: %s", tree);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                g_autofree char *p = bt_vm_path(names[i]), *line = g_strdup_printf("%s\n", p);

                cr_assert(strstr(tree, line), "busctl tree: no %s in\n%s", p, tree);
        }
}

/* The host's memory in MiB, as the first line of /proc/meminfo tells: "MemTotal:   24684084 kB". */
static uint64_t host_memory_mib(void) {
        g_autofree char *meminfo = bt_read_file("/proc/meminfo");
        guint64 kib;

        cr_assert(meminfo && g_str_has_prefix(meminfo, "MemTotal:"), "/proc/meminfo does not start with MemTotal");
        kib = g_ascii_strtoull(meminfo + strlen("MemTotal:"), NULL, 10);
        cr_assert(kib > 0, "MemTotal in /proc/meminfo is not a number");
        return kib / 1024;
}

static GVariant *system_info(BusTest *t) {
        g_autoptr(GVariant) reply = bt_manager_call(t, "GetSystemInfo", NULL, "GetSystemInfo");
        GVariant *info;

        g_variant_get(reply, "(@a{sv})", &info);
        return info;
}

static uint64_t info_number(GVariant *info, const char *key) {
        g_autoptr(GVariant) v = g_variant_lookup_value(info, key, NULL);

        cr_assert(v, "GetSystemInfo: no %s", key);
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32))
                return g_variant_get_uint32(v);
        cr_assert(g_variant_is_of_type(v, G_VARIANT_TYPE_UINT64), "GetSystemInfo: %s is of type %s", key,
                  g_variant_get_type_string(v));
        return g_variant_get_uint64(v);
}

static void assert_change(GVariant *before, GVariant *now, const char *key, int64_t delta, const char *when) {
        uint64_t b = info_number(before, key), n = info_number(now, key);

        cr_assert_eq((int64_t) (n - b), delta,
                     "GetSystemInfo: %s went from %" PRIu64 " to %" PRIu64 " %s, not by %" PRId64, key, b, n, when,
                     delta);
}

Test(lifecycle, system_info) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autoptr(GVariant) before = NULL, after = NULL, later = NULL, last = NULL;
        g_autofree char *cpus = NULL, *memory = NULL;
        static const struct {
                const char *key;
                int64_t one, two;  /* the change after one VM, after both */
        } sums[] = {
                { "VMs", 1, 2 },
                { "AllocatedVCPUs", 3, 3 + 1 },
                { "AllocatedMemoryMiB", 300, 300 + 256 },
        };

        before = system_info(t);
        cpus = g_strdup_printf("uint32 %ld", sysconf(_SC_NPROCESSORS_ONLN));
        memory = g_strdup_printf("uint64 %" G_GUINT64_FORMAT, host_memory_mib());
        bt_assert_entry(before, "CPUs", cpus, "GetSystemInfo");
        bt_assert_entry(before, "MemoryMiB", memory, "GetSystemInfo");

        /* One VM with explicit values, one with the defaults (1 VCPU, 256 MiB), then delete both. */
        g_free(bt_create_vm(t, "itl-sys-1",
                            "{'Kernel': <'" KERNEL "'>, 'VCPUs': <uint32 3>, 'MemoryMiB': <uint64 300>}"));
        after = system_info(t);
        g_free(bt_create_vm(t, "itl-sys-2", "{'Kernel': <'" KERNEL "'>}"));
        later = system_info(t);
        bt_delete_vm(t, "itl-sys-1");
        bt_delete_vm(t, "itl-sys-2");
        last = system_info(t);

        for (size_t i = 0; i < ELEMENTSOF(sums); i++) {
                assert_change(before, after, sums[i].key, sums[i].one, "after one create");
                assert_change(before, later, sums[i].key, sums[i].two, "after two creates");
                assert_change(before, last, sums[i].key, 0, "after the deletes");
        }
}
