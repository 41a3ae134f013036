/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmd.conf: the defaults without a file, DefaultBridge=, and every error with its FILE:LINE. */

#include <criterion/criterion.h>

#include "daemon-config.h"
#include "net-names.h"
#include "test-util.h"

/* A scratch directory per test; the fixture removes it even when an assertion ends the test. */
static char *dir;

static void setup(void) {
        dir = tmpdir_new();
}

static void teardown(void) {
        dir = tmpdir_free(dir);
}

TestSuite(daemon_config, .init = setup, .fini = teardown);

Test(daemon_config, the_default_is_microvm0) {
        expect_streq(NET_DEFAULT_BRIDGE, "microvm0", "the default bridge");
}

Test(daemon_config, missing_file) {
        g_autofree char *path = g_build_filename(dir, "microvmd.conf", NULL), *error = NULL;
        _cleanup_(daemon_config_done) DaemonConfig c = {};

        cr_expect_eq(daemon_config_load(path, &c, &error), 0, "%s", strempty(error));
        cr_expect_null(error, "no message");
        expect_streq(c.default_bridge, "microvm0", "no file");
}

Test(daemon_config, missing_directory) {
        g_autofree char *path = g_build_filename(dir, "nope", "microvmd.conf", NULL);
        _cleanup_(daemon_config_done) DaemonConfig c = {};

        cr_expect_eq(daemon_config_load(path, &c, NULL), 0);
        expect_streq(c.default_bridge, "microvm0", "no directory");
}

Test(daemon_config, good) {
        static const struct {
                const char *name;
                const char *text;
                const char *bridge;
        } cases[] = {
                { "empty", "", "microvm0" },
                { "only comments", "# DefaultBridge=br9\n; nothing\n\n", "microvm0" },
                { "an empty [Network]", "[Network]\n", "microvm0" },
                { "DefaultBridge", "[Network]\nDefaultBridge=br-lan\n", "br-lan" },
                { "no final newline", "[Network]\nDefaultBridge=br0", "br0" },
                { "white space", "  [Network]  \n\t DefaultBridge =  br0  \n", "br0" },
                { "CRLF", "[Network]\r\nDefaultBridge=br0\r\n", "br0" },
                { "comments around", "# host-wide\n[Network]\n# the LAN\nDefaultBridge=lan0\n# end\n", "lan0" },
                { "15 characters", "[Network]\nDefaultBridge=abcdefghijklmno\n", "abcdefghijklmno" },
                { "the last one wins", "[Network]\nDefaultBridge=br0\nDefaultBridge=br1\n", "br1" },
                { "[Network] twice", "[Network]\nDefaultBridge=br0\n[Network]\n", "br0" },
                { "the default named", "[Network]\nDefaultBridge=microvm0\n", "microvm0" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *path = g_build_filename(dir, "microvmd.conf", NULL), *error = NULL;
                _cleanup_(daemon_config_done) DaemonConfig c = {};

                file_write(path, cases[i].text, strlen(cases[i].text));
                cr_expect_eq(daemon_config_load(path, &c, &error), 0, "%s: %s", cases[i].name, strempty(error));
                cr_expect_null(error, "%s: no message", cases[i].name);
                expect_streq(c.default_bridge, cases[i].bridge, cases[i].name);
        }
}

#define NOT_A_NAME(line, t) "{path}:" line ": DefaultBridge=: '" t "' is not a network interface name"
#define UNKNOWN(line, t) \
        "{path}:" line ": '" t "' is not a setting microvmd knows: the file holds [Network] DefaultBridge= and " \
        "[Hypervisors] qemu=, firecracker=, cloud-hypervisor="
#define NOT_ABSOLUTE(line, k, t) \
        "{path}:" line ": " k "=: '" t "' is not an absolute path; name the executable, or remove the line to " \
        "look it up in $PATH"

static const struct {
        const char *name;
        const char *text;
        const char *error;      /* {path}: the file's path */
} errors[] = {
        /* The bridge's name */
        { "empty", "[Network]\nDefaultBridge=\n", NOT_A_NAME("2", "") },
        { "16 characters", "[Network]\nDefaultBridge=abcdefghijklmnop\n", NOT_A_NAME("2", "abcdefghijklmnop") },
        { "'/'", "[Network]\nDefaultBridge=br/0\n", NOT_A_NAME("2", "br/0") },
        { "':'", "[Network]\nDefaultBridge=br0:1\n", NOT_A_NAME("2", "br0:1") },
        { "space", "[Network]\nDefaultBridge=br 0\n", NOT_A_NAME("2", "br 0") },
        { "non-ASCII", "[Network]\nDefaultBridge=br\xc3\xa9\n", NOT_A_NAME("2", "br\xc3\xa9") },
        { "'..'", "[Network]\nDefaultBridge=..\n", NOT_A_NAME("2", "..") },
        { "after comments", "# c\n\n[Network]\n# d\nDefaultBridge=a/b\n", NOT_A_NAME("5", "a/b") },
        { "a bad one after a good one", "[Network]\nDefaultBridge=br0\nDefaultBridge=br:0\n",
          NOT_A_NAME("3", "br:0") },
        /* Keys and sections microvmd does not know */
        { "unknown key", "[Network]\nBridge=br0\n", UNKNOWN("2", "Bridge=br0") },
        { "keys are case-sensitive", "[Network]\ndefaultbridge=br0\n", UNKNOWN("2", "defaultbridge=br0") },
        { "unknown key, white space", "[Network]\n  Bridge = br0 \n", UNKNOWN("2", "Bridge = br0") },
        { "outside any section", "DefaultBridge=br0\n[Network]\n", UNKNOWN("1", "DefaultBridge=br0") },
        { "unknown section", "[Bridge]\nDefaultBridge=br0\n", UNKNOWN("1", "[Bridge]") },
        { "unknown empty section", "[Network]\nDefaultBridge=br0\n\n[VM]\n", UNKNOWN("4", "[VM]") },
        { "sections are case-sensitive", "[network]\n", UNKNOWN("1", "[network]") },
        { "bad header", "[Network\nDefaultBridge=br0\n", UNKNOWN("1", "[Network") },
        { "empty header", "[]\n", UNKNOWN("1", "[]") },
        { "no '='", "[Network]\nDefaultBridge br0\n", UNKNOWN("2", "DefaultBridge br0") },
        { "the first error wins", "[Network]\nFoo=1\nDefaultBridge=a/b\n", UNKNOWN("2", "Foo=1") },
        /* [Hypervisors] */
        { "a relative path", "[Hypervisors]\nfirecracker=bin/firecracker\n",
          NOT_ABSOLUTE("2", "firecracker", "bin/firecracker") },
        { "an empty path", "[Hypervisors]\ncloud-hypervisor=\n", NOT_ABSOLUTE("2", "cloud-hypervisor", "") },
        { "an unknown hypervisor", "[Hypervisors]\nxen=/usr/bin/xl\n", UNKNOWN("2", "xen=/usr/bin/xl") },
        { "hypervisors are named as in Hypervisor=", "[Hypervisors]\nFirecracker=/usr/bin/firecracker\n",
          UNKNOWN("2", "Firecracker=/usr/bin/firecracker") },
        { "a hypervisor key under [Network]", "[Network]\nqemu=/usr/bin/qemu\n", UNKNOWN("2", "qemu=/usr/bin/qemu") },
};

/* Each hypervisor's executable, where [Hypervisors] names it. */
Test(daemon_config, hypervisors) {
        static const char text[] = "[Hypervisors]\nfirecracker=/opt/fc/firecracker\n"
                                   "cloud-hypervisor=/opt/ch/cloud hypervisor\n\n[Network]\nDefaultBridge=br0\n";
        g_autofree char *path = g_build_filename(dir, "microvmd.conf", NULL), *error = NULL;
        _cleanup_(daemon_config_done) DaemonConfig c = {};

        file_write(path, text, strlen(text));
        cr_assert_eq(daemon_config_load(path, &c, &error), 0, "%s", strempty(error));
        expect_streq(daemon_config_binary(&c, "firecracker"), "/opt/fc/firecracker", "firecracker");
        expect_streq(daemon_config_binary(&c, "cloud-hypervisor"), "/opt/ch/cloud hypervisor", "cloud-hypervisor");
        expect_streq(daemon_config_binary(&c, "qemu"), NULL, "qemu: from $PATH");
        expect_streq(daemon_config_binary(&c, "xen"), NULL, "no such hypervisor");
        expect_streq(c.default_bridge, "br0", "the bridge too");
}

static char *expand(const char *s, const char *path) {
        g_auto(GStrv) parts = g_strsplit(s, "{path}", -1);

        return g_strjoinv(path, parts);
}

Test(daemon_config, errors) {
        g_autofree char *path = g_build_filename(dir, "microvmd.conf", NULL);

        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                g_autofree char *error = NULL, *expected = expand(errors[i].error, path);
                DaemonConfig c = {};

                file_write(path, errors[i].text, strlen(errors[i].text));
                cr_expect_eq(daemon_config_load(path, &c, &error), -EINVAL, "%s", errors[i].name);
                cr_expect_null(c.default_bridge, "%s: nothing returned", errors[i].name);
                expect_streq(error, expected, errors[i].name);
                daemon_config_done(&c);
        }
}

/* No message wanted: still refused. */
Test(daemon_config, errors_without_message) {
        g_autofree char *path = g_build_filename(dir, "microvmd.conf", NULL);

        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                DaemonConfig c = {};

                file_write(path, errors[i].text, strlen(errors[i].text));
                cr_expect_eq(daemon_config_load(path, &c, NULL), -EINVAL, "%s", errors[i].name);
                cr_expect_null(c.default_bridge, "%s: nothing returned", errors[i].name);
                daemon_config_done(&c);
        }
}

Test(daemon_config, unreadable) {
        g_autofree char *path = g_build_filename(dir, "microvmd.conf", NULL), *error = NULL, *expected = NULL;
        DaemonConfig c = {};

        cr_assert_eq(mkdir(path, 0755), 0, "%s: %m", path);
        expected = g_strdup_printf("%s: Is a directory", path);
        cr_expect_eq(daemon_config_load(path, &c, &error), -EISDIR);
        cr_expect_null(c.default_bridge, "nothing returned");
        expect_streq(error, expected, "a directory");
}

Test(daemon_config, done_twice) {
        DaemonConfig c = {};

        cr_assert_eq(daemon_config_load("/nonexistent/microvmd.conf", &c, NULL), 0);
        daemon_config_done(&c);
        cr_expect_null(c.default_bridge, "cleared");
        daemon_config_done(&c);
}
