/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GVariant → sd_bus_message → GVariant for every type the schema and the bus API use. */

#include <criterion/criterion.h>
#include <sys/socket.h>

#include "bus-variant.h"
#include "test-util.h"

/* sd-bus makes messages only for a started bus; one end of a socket pair is enough, nothing
 * is ever sent. */
static sd_bus *bus;
static int peer = -EBADF;

static void setup(void) {
        int fds[2];

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0, "socketpair: %m");
        peer = fds[1];
        cr_assert_eq(sd_bus_new(&bus), 0);
        cr_assert_eq(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        cr_assert_geq(sd_bus_start(bus), 0);
}

static void teardown(void) {
        bus = sd_bus_close_unref(bus);
        closep(&peer);
}

TestSuite(bus_variant, .init = setup, .fini = teardown);

static sd_bus_message *message_new(void) {
        sd_bus_message *m = NULL;

        cr_assert_geq(sd_bus_message_new_method_call(bus, &m, "org.microvm.Manager", "/org/microvm/Manager",
                                                     "org.microvm.Manager", "Test"), 0);
        return m;
}

static void message_seal(sd_bus_message *m) {
        cr_assert_geq(sd_bus_message_seal(m, /* cookie= */ 1, /* timeout_usec= */ 0), 0);
        cr_assert_geq(sd_bus_message_rewind(m, /* complete= */ true), 0);
}

static const struct {
        const char *type;
        const char *text;       /* GVariant text form */
} values[] = {
        /* The schema's types. */
        { "s", "'web'" },
        { "s", "''" },
        { "s", "'caf\u00e9 console=ttyS0'" },
        { "b", "true" },
        { "b", "false" },
        { "u", "0" },
        { "u", "4294967295" },
        { "t", "0" },
        { "t", "18446744073709551615" },
        /* The bus API's. */
        { "o", "'/org/microvm/Manager/vm/web'" },
        { "o", "'/'" },
        { "a{sv}", "@a{sv} {}" },
        { "a{sv}", "{'Kernel': <'/boot/vmlinuz'>, 'VCPUs': <uint32 2>, 'MemoryMiB': <uint64 512>, "
                   "'Autostart': <true>}" },
        { "a{sv}", "{'Drives': <[{'Path': <'/a.img'>, 'Root': <true>}, {'Path': <'/b.img'>}]>}" },
        { "aa{sv}", "@aa{sv} []" },
        { "aa{sv}", "[{'Path': <'/a.img'>, 'ReadOnly': <false>}, @a{sv} {}, {'Path': <'/b.img'>}]" },
        { "v", "<'x'>" },
        { "v", "<<<uint32 7>>>" },
        { "v", "<{'a': <<objectpath '/x'>>}>" },
        { "a(sso)", "@a(sso) []" },
        { "a(sso)", "[('web', 'defined', objectpath '/org/microvm/Manager/vm/web'), "
                    "('db-1', 'running', objectpath '/org/microvm/Manager/vm/db_2d1')]" },
        { "(sso)", "('web', 'defined', objectpath '/org/microvm/Manager/vm/web')" },
        { "as", "['a', '', 'c']" },
        { "a{ss}", "{'a': 'b'}" },
        /* The other basic types, which GetSystemInfo and later verbs may use. */
        { "y", "byte 0xff" },
        { "n", "int16 -32768" },
        { "q", "uint16 65535" },
        { "i", "int32 -2147483648" },
        { "x", "int64 -9223372036854775808" },
        { "d", "1.5" },
        { "g", "signature 'a{sv}'" },
        { "ay", "[byte 0x00, 0x01]" },
        { "(ua(bt))", "(uint32 1, [(true, uint64 2)])" },
};

static GVariant *parse(const char *type, const char *text) {
        g_autoptr(GError) error = NULL;
        GVariant *v = g_variant_parse(G_VARIANT_TYPE(type), text, NULL, NULL, &error);

        cr_assert_not_null(v, "%s: %s", text, error ? error->message : "?");
        return g_variant_ref_sink(v);
}

Test(bus_variant, round_trip) {
        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = message_new();
                g_autoptr(GVariant) v = parse(values[i].type, values[i].text), got = NULL;
                g_autofree char *printed = NULL;
                int r;

                cr_expect_geq(bus_message_append_gvariant(m, v), 0, "%s: append", values[i].text);
                message_seal(m);
                expect_streq(sd_bus_message_get_signature(m, true), values[i].type, values[i].text);

                r = bus_message_read_gvariant(m, &got);
                cr_expect_geq(r, 0, "%s: read: %s", values[i].text, strerror(-r));
                if (!got)
                        continue;
                printed = g_variant_print(got, true);
                cr_expect(g_variant_equal(got, v), "%s: read back as %s", values[i].text, printed);
                cr_expect_not(g_variant_is_floating(got), "%s: not floating", values[i].text);
                cr_expect_gt(sd_bus_message_at_end(m, true), 0, "%s: all read", values[i].text);
        }
}

/* Several values in a row, as in CreateVM(s, a{sv}): each read takes exactly one. */
Test(bus_variant, sequence) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = message_new();

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                g_autoptr(GVariant) v = parse(values[i].type, values[i].text);

                cr_assert_geq(bus_message_append_gvariant(m, v), 0, "%s: append", values[i].text);
        }
        message_seal(m);

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                g_autoptr(GVariant) v = parse(values[i].type, values[i].text), got = NULL;

                cr_assert_geq(bus_message_read_gvariant(m, &got), 0, "%s: read", values[i].text);
                cr_expect(g_variant_equal(got, v), "%s: read back", values[i].text);
        }
        cr_expect_gt(sd_bus_message_at_end(m, true), 0, "all read");
}

/* What sd-bus itself appended reads back as the same GVariant: the CreateVM call of the README. */
Test(bus_variant, read_sd_bus_appended) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = message_new();
        g_autoptr(GVariant) name = NULL, config = NULL, expected = NULL;

        cr_assert_geq(sd_bus_message_append(m, "sa{sv}", "web", 3, "Kernel", "s", "/var/lib/microvm/images/vmlinuz",
                                            "MemoryMiB", "t", (uint64_t) 256, "VCPUs", "u", (uint32_t) 2), 0);
        message_seal(m);

        cr_expect_geq(bus_message_read_gvariant(m, &name), 0, "name");
        cr_expect_geq(bus_message_read_gvariant(m, &config), 0, "config");
        cr_assert_not_null(name);
        cr_assert_not_null(config);
        expect_streq(g_variant_get_string(name, NULL), "web", "name");
        expected = parse("a{sv}", "{'Kernel': <'/var/lib/microvm/images/vmlinuz'>, 'MemoryMiB': <uint64 256>, "
                                  "'VCPUs': <uint32 2>}");
        cr_expect(g_variant_equal(config, expected), "config");
}

/* Nothing left to read is an error, not a value. */
Test(bus_variant, read_at_end) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = message_new();
        GVariant *got = NULL;

        message_seal(m);
        cr_expect_eq(bus_message_read_gvariant(m, &got), -EBADMSG, "empty message");
        cr_expect_null(got, "empty message: nothing returned");
}

/* File descriptors have no place in a configuration: refused wherever they hide. */
Test(bus_variant, refuses_fds) {
        static const struct {
                const char *name;
                const char *signature;
        } cases[] = {
                { "bare", "h" },
                { "in a variant", "v" },
                { "in an array", "ah" },
                { "in a dictionary", "a{sv}" },
                { "in a struct", "(sh)" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = message_new();
                GVariant *got = NULL;
                int r = 0;

                switch (i) {
                case 0: r = sd_bus_message_append(m, "h", STDIN_FILENO); break;
                case 1: r = sd_bus_message_append(m, "v", "h", STDIN_FILENO); break;
                case 2: r = sd_bus_message_append(m, "ah", 2, STDIN_FILENO, STDIN_FILENO); break;
                case 3:
                        r = sd_bus_message_append(m, "a{sv}", 2, "Kernel", "s", "/k", "Fd", "h", STDIN_FILENO);
                        break;
                case 4: r = sd_bus_message_append(m, "(sh)", "x", STDIN_FILENO); break;
                }
                cr_assert_geq(r, 0, "%s: append: %s", cases[i].name, strerror(-r));
                message_seal(m);
                expect_streq(sd_bus_message_get_signature(m, true), cases[i].signature, cases[i].name);

                cr_expect_eq(bus_message_read_gvariant(m, &got), -EINVAL, "%s", cases[i].name);
                cr_expect_null(got, "%s: nothing returned", cases[i].name);
        }
}

/* GVariant types D-Bus lacks (maybe) or that would carry an index without its fd (handle). */
Test(bus_variant, append_refuses) {
        static const struct {
                const char *type;
                const char *text;
        } cases[] = {
                { "ms", "just 'x'" },
                { "ms", "@ms nothing" },
                { "h", "handle 0" },
                { "a{sv}", "{'x': <just true>}" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = message_new();
                g_autoptr(GVariant) v = parse(cases[i].type, cases[i].text);

                cr_expect_eq(bus_message_append_gvariant(m, v), -EINVAL, "%s", cases[i].text);
        }
}
