/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The introspection XML in dbus/ is the contract of the bus API: what microvmd serves must be
 * exactly that, comments and white space aside. VM names start with "iti-". */

#include <unistd.h>

#include "bus-test.h"

#define PREFIX "iti-"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(introspection, .init = cleanup, .fini = cleanup);

static const char *env(const char *name) {
        const char *v = getenv(name);

        cr_assert(v && *v, "$%s is not set: run the tests with meson test", name);
        return v;
}

/* The contract's file for an interface, in the source tree. */
static char *contract(const char *interface) {
        return g_strdup_printf("%s/dbus/%s.xml", env("MVM_SOURCE_ROOT"), interface);
}

static char *introspect(BusTest *t, const char *path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autoptr(GVariant) reply = NULL;
        char *xml;
        int r;

        r = bt_call(t, path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL, &reply, &error);
        cr_assert(r >= 0, "Introspect %s failed: %s: %s", path, error.name, error.message);
        g_variant_get(reply, "(s)", &xml);
        return xml;
}

/* A temporary file holding contents; its path (owned). */
static char *write_temporary(const char *contents) {
        g_autoptr(GError) e = NULL;
        char *path = NULL;
        int fd;

        fd = g_file_open_tmp("microvm-introspection-XXXXXX.xml", &path, &e);
        cr_assert(fd >= 0, "creating a temporary file: %s", e ? e->message : "");
        close(fd);
        bt_write_file(path, contents);
        return path;
}

/* Compares an interface of the document in expected_file with live XML; returns the exit status
 * of the comparison (0 the same, 1 different, 2 unusable) and its output. */
static int compare(const char *interface, const char *expected_file, const char *live, char **ret_output) {
        g_autofree char *live_file = write_temporary(live);
        int r;

        r = bt_run(ret_output, "'%s' '%s/tests/integration/compare-introspection.py' '%s' '%s' '%s'",
                   env("MVM_PYTHON3"), env("MVM_SOURCE_ROOT"), interface, expected_file, live_file);
        (void) unlink(live_file);
        return r;
}

static void assert_matches_contract(const char *interface, const char *live, const char *what) {
        g_autofree char *file = contract(interface), *out = NULL;
        int r;

        r = compare(interface, file, live, &out);
        cr_assert(r == 0, "%s: the live %s differs from %s (exit %d):\n%s", what, interface, file, r, out);
}

Test(introspection, manager) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *xml = introspect(t, BT_MANAGER_PATH);

        assert_matches_contract(BT_MANAGER_INTERFACE, xml, BT_MANAGER_PATH);
}

Test(introspection, vm) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *path = NULL, *xml = NULL;

        path = bt_create_vm(t, "iti-vm", "{'Kernel': <'/k'>}");
        xml = introspect(t, path);
        assert_matches_contract(BT_VM_INTERFACE, xml, path);
}

/* The comparison itself, on the live XML against a copy of itself: it sees a renamed method and
 * a missing interface, and takes a comment for no change. */
Test(introspection, comparison) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *xml = introspect(t, BT_MANAGER_PATH), *file = write_temporary(xml);
        g_autofree char *renamed = NULL, *commented = NULL, *out = NULL;
        g_auto(GStrv) parts = NULL;
        int r;

        r = compare(BT_MANAGER_INTERFACE, file, xml, &out);
        cr_assert(r == 0, "the same XML: exit %d:\n%s", r, out);

        parts = g_strsplit(xml, "name=\"ListVMs\"", 2);
        cr_assert(parts[1], "no ListVMs in the live XML:\n%s", xml);
        renamed = g_strjoinv("name=\"ListAllVMs\"", parts);
        g_clear_pointer(&out, g_free);
        r = compare(BT_MANAGER_INTERFACE, file, renamed, &out);
        cr_assert(r == 1 && strstr(out, "ListAllVMs"), "a renamed method: exit %d:\n%s", r, out);

        g_clear_pointer(&out, g_free);
        r = compare(BT_VM_INTERFACE, file, xml, &out);
        cr_assert(r == 2, "a missing interface: exit %d:\n%s", r, out);

        g_strfreev(parts);
        parts = g_strsplit(xml, "<method", 2);
        commented = g_strjoinv("<!-- A comment. -->\n\n   <method", parts);
        g_clear_pointer(&out, g_free);
        r = compare(BT_MANAGER_INTERFACE, file, commented, &out);
        cr_assert(r == 0, "a comment: exit %d:\n%s", r, out);
        (void) unlink(file);
}

/* What meson install put where D-Bus tools look is the same contract. */
Test(introspection, installed) {
        static const char *const interfaces[] = { BT_MANAGER_INTERFACE, BT_VM_INTERFACE };

        for (size_t i = 0; i < ELEMENTSOF(interfaces); i++) {
                g_autofree char *source = contract(interfaces[i]);
                g_autofree char *installed = g_strdup_printf("%s/%s.xml", env("MVM_INTERFACES_DIR"), interfaces[i]);
                g_autofree char *a = bt_read_file(source), *b = bt_read_file(installed);

                cr_assert(a, "%s does not exist", source);
                cr_assert(b, "%s is not installed", installed);
                cr_assert_str_eq(b, a, "%s differs from %s", installed, source);
        }
}
