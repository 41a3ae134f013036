/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The schema table: its consistency, the text form of each type, and every check, with the
 * exact problem each one reports. */

#include <criterion/criterion.h>
#include <inttypes.h>

#include "config-schema.h"
#include "test-util.h"

/* "{host}" and "{host+1}" in a case stand for the host's memory in MiB. */
static char *expand(const char *s) {
        g_autofree char *host = g_strdup_printf("%" PRIu64, config_host_memory_mib());
        g_autofree char *above = g_strdup_printf("%" PRIu64, config_host_memory_mib() + 1);
        g_auto(GStrv) a = NULL, b = NULL;
        g_autofree char *partial = NULL;

        if (!s)
                return NULL;
        a = g_strsplit(s, "{host+1}", -1);
        partial = g_strjoinv(above, a);
        b = g_strsplit(partial, "{host}", -1);
        return g_strjoinv(host, b);
}

#define U_BAD(t) "must be an unsigned decimal number below 2^32, not '" t "'"
#define T_BAD(t) "must be an unsigned decimal number, not '" t "'"
#define B_BAD(t) "must be a boolean (yes or no), not '" t "'"
#define VCPUS_BAD(n) "must be between 1 and 256, not " n
#define MEMORY_BAD(n) "must be between 16 and {host} (the host's memory), not " n
#define PATH_BAD(t) "must be an absolute path, not '" t "'"
#define CONTROL "must not contain control characters such as newlines"
#define SPACE "must not begin or end with white space"
#define HYPERVISOR_BAD(t) "must be one of 'qemu', 'firecracker', 'cloud-hypervisor', not '" t "'"
#define ACCELERATOR_BAD(t) "must be one of 'auto', 'kvm', 'tcg', not '" t "'"
#define IFNAME_BAD(t) \
        "must be a network interface name of 1 to 15 characters without '/', ':' or white space, not '" t "'"
#define MAC_BAD(t) "must be a MAC address like 02:00:00:12:34:56, not '" t "'"
#define MAC_MULTICAST(t) "must be a unicast address, but '" t "' is multicast (the first octet is odd)"
#define MAC_ZERO "must not be all zeros"
#define CACHE_BAD(t) "must be one of 'writeback', 'writethrough', 'none', 'directsync', 'unsafe', not '" t "'"
#define MULTILINE_CONTROL "must not contain control characters other than newlines and tabs"
#define HOSTNAME_BAD(t) "must consist of letters, digits, '-', '.' and '_', not '" t "'"

static const struct {
        ConfigKeyId id;
        const char *text;
        const char *canonical;  /* the text to_text() gives back; NULL: the text is refused */
        const char *problem;    /* what config_value_from_text() says when refused */
} texts[] = {
        /* u */
        { CONFIG_VCPUS, "1", "1", NULL },
        { CONFIG_VCPUS, "2", "2", NULL },
        { CONFIG_VCPUS, "256", "256", NULL },
        { CONFIG_VCPUS, "007", "7", NULL },
        { CONFIG_VCPUS, "0", NULL, VCPUS_BAD("0") },
        { CONFIG_VCPUS, "257", NULL, VCPUS_BAD("257") },
        { CONFIG_VCPUS, "4294967295", NULL, VCPUS_BAD("4294967295") },
        { CONFIG_VCPUS, "4294967296", NULL, U_BAD("4294967296") },
        { CONFIG_VCPUS, "99999999999999999999999", NULL, U_BAD("99999999999999999999999") },
        { CONFIG_VCPUS, "", NULL, U_BAD("") },
        { CONFIG_VCPUS, " 1", NULL, U_BAD(" 1") },
        { CONFIG_VCPUS, "1 ", NULL, U_BAD("1 ") },
        { CONFIG_VCPUS, "+1", NULL, U_BAD("+1") },
        { CONFIG_VCPUS, "-1", NULL, U_BAD("-1") },
        { CONFIG_VCPUS, "0x10", NULL, U_BAD("0x10") },
        { CONFIG_VCPUS, "1.5", NULL, U_BAD("1.5") },
        { CONFIG_VCPUS, "1e2", NULL, U_BAD("1e2") },
        { CONFIG_VCPUS, "2k", NULL, U_BAD("2k") },
        { CONFIG_VCPUS, "two", NULL, U_BAD("two") },
        { CONFIG_VCPUS, "\xef\xbc\x91", NULL, U_BAD("\xef\xbc\x91") },   /* FULLWIDTH DIGIT ONE */
        /* t */
        { CONFIG_MEMORY_MIB, "16", "16", NULL },
        { CONFIG_MEMORY_MIB, "256", "256", NULL },
        { CONFIG_MEMORY_MIB, "{host}", "{host}", NULL },
        { CONFIG_MEMORY_MIB, "0", NULL, MEMORY_BAD("0") },
        { CONFIG_MEMORY_MIB, "15", NULL, MEMORY_BAD("15") },
        { CONFIG_MEMORY_MIB, "{host+1}", NULL, MEMORY_BAD("{host+1}") },
        { CONFIG_MEMORY_MIB, "4294967296", NULL, MEMORY_BAD("4294967296") },
        { CONFIG_MEMORY_MIB, "18446744073709551615", NULL, MEMORY_BAD("18446744073709551615") },
        { CONFIG_MEMORY_MIB, "18446744073709551616", NULL, T_BAD("18446744073709551616") },
        { CONFIG_MEMORY_MIB, "", NULL, T_BAD("") },
        { CONFIG_MEMORY_MIB, " 256", NULL, T_BAD(" 256") },
        { CONFIG_MEMORY_MIB, "256 ", NULL, T_BAD("256 ") },
        { CONFIG_MEMORY_MIB, "+256", NULL, T_BAD("+256") },
        { CONFIG_MEMORY_MIB, "-1", NULL, T_BAD("-1") },
        { CONFIG_MEMORY_MIB, "0x100", NULL, T_BAD("0x100") },
        { CONFIG_MEMORY_MIB, "256M", NULL, T_BAD("256M") },
        /* b */
        { CONFIG_AUTOSTART, "yes", "yes", NULL },
        { CONFIG_AUTOSTART, "no", "no", NULL },
        { CONFIG_AUTOSTART, "true", "yes", NULL },
        { CONFIG_AUTOSTART, "false", "no", NULL },
        { CONFIG_AUTOSTART, "on", "yes", NULL },
        { CONFIG_AUTOSTART, "off", "no", NULL },
        { CONFIG_AUTOSTART, "1", "yes", NULL },
        { CONFIG_AUTOSTART, "0", "no", NULL },
        { CONFIG_AUTOSTART, "YES", "yes", NULL },
        { CONFIG_AUTOSTART, "False", "no", NULL },
        { CONFIG_AUTOSTART, "", NULL, B_BAD("") },
        { CONFIG_AUTOSTART, "y", NULL, B_BAD("y") },
        { CONFIG_AUTOSTART, "n", NULL, B_BAD("n") },
        { CONFIG_AUTOSTART, "2", NULL, B_BAD("2") },
        { CONFIG_AUTOSTART, "01", NULL, B_BAD("01") },
        { CONFIG_AUTOSTART, " yes", NULL, B_BAD(" yes") },
        { CONFIG_AUTOSTART, "yes ", NULL, B_BAD("yes ") },
        { CONFIG_AUTOSTART, "enabled", NULL, B_BAD("enabled") },
        { CONFIG_DRIVE_READ_ONLY, "on", "yes", NULL },
        { CONFIG_DRIVE_READ_ONLY, "maybe", NULL, B_BAD("maybe") },
        { CONFIG_DRIVE_ROOT, "true", "yes", NULL },
        { CONFIG_DRIVE_ROOT, "nein", NULL, B_BAD("nein") },
        /* s, and the checks of each string key */
        { CONFIG_HYPERVISOR, "qemu", "qemu", NULL },
        { CONFIG_HYPERVISOR, "firecracker", "firecracker", NULL },
        { CONFIG_HYPERVISOR, "cloud-hypervisor", "cloud-hypervisor", NULL },
        { CONFIG_HYPERVISOR, "QEMU", NULL, HYPERVISOR_BAD("QEMU") },
        { CONFIG_HYPERVISOR, "xen", NULL, HYPERVISOR_BAD("xen") },
        { CONFIG_HYPERVISOR, "", NULL, HYPERVISOR_BAD("") },
        { CONFIG_HYPERVISOR, "qemu\n", NULL, CONTROL },
        { CONFIG_ACCELERATOR, "auto", "auto", NULL },
        { CONFIG_ACCELERATOR, "kvm", "kvm", NULL },
        { CONFIG_ACCELERATOR, "tcg", "tcg", NULL },
        { CONFIG_ACCELERATOR, "hvf", NULL, ACCELERATOR_BAD("hvf") },
        { CONFIG_ACCELERATOR, "KVM", NULL, ACCELERATOR_BAD("KVM") },
        { CONFIG_ACCELERATOR, "", NULL, ACCELERATOR_BAD("") },
        { CONFIG_KERNEL, "/boot/vmlinuz", "/boot/vmlinuz", NULL },
        { CONFIG_KERNEL, "/", "/", NULL },
        { CONFIG_KERNEL, "/var/lib/microvm/images/caf\xc3\xa9", "/var/lib/microvm/images/caf\xc3\xa9", NULL },
        { CONFIG_KERNEL, "vmlinuz", NULL, PATH_BAD("vmlinuz") },
        { CONFIG_KERNEL, "./vmlinuz", NULL, PATH_BAD("./vmlinuz") },
        { CONFIG_KERNEL, "~/vmlinuz", NULL, PATH_BAD("~/vmlinuz") },
        { CONFIG_KERNEL, "", NULL, PATH_BAD("") },
        { CONFIG_KERNEL, " /boot/vmlinuz", NULL, SPACE },
        { CONFIG_KERNEL, "/boot/vmlinuz\n", NULL, CONTROL },
        { CONFIG_KERNEL, "/boot/\xff", NULL, "must be valid UTF-8" },
        { CONFIG_INITRD, "", "", NULL },
        { CONFIG_INITRD, "/boot/initrd.img", "/boot/initrd.img", NULL },
        { CONFIG_INITRD, "initrd.img", NULL, PATH_BAD("initrd.img") },
        { CONFIG_KERNEL_COMMAND_LINE, "", "", NULL },
        { CONFIG_KERNEL_COMMAND_LINE, "console=ttyS0 quiet", "console=ttyS0 quiet", NULL },
        { CONFIG_KERNEL_COMMAND_LINE, "a=b c=\"d e\" # ; [x]", "a=b c=\"d e\" # ; [x]", NULL },
        { CONFIG_KERNEL_COMMAND_LINE, "caf\xc3\xa9", "caf\xc3\xa9", NULL },
        { CONFIG_KERNEL_COMMAND_LINE, "a\nb", NULL, CONTROL },
        { CONFIG_KERNEL_COMMAND_LINE, "a\tb", NULL, CONTROL },
        { CONFIG_KERNEL_COMMAND_LINE, "a\rb", NULL, CONTROL },
        { CONFIG_KERNEL_COMMAND_LINE, "\x01", NULL, CONTROL },
        { CONFIG_KERNEL_COMMAND_LINE, "\x1b[31m", NULL, CONTROL },
        { CONFIG_KERNEL_COMMAND_LINE, "a\x7f", NULL, CONTROL },
        { CONFIG_KERNEL_COMMAND_LINE, " quiet", NULL, SPACE },
        { CONFIG_KERNEL_COMMAND_LINE, "quiet ", NULL, SPACE },
        { CONFIG_KERNEL_COMMAND_LINE, " ", NULL, SPACE },
        { CONFIG_KERNEL_COMMAND_LINE, "\xff", NULL, "must be valid UTF-8" },
        { CONFIG_KERNEL_COMMAND_LINE, "caf\xe9", NULL, "must be valid UTF-8" },
        { CONFIG_DRIVE_PATH, "/var/lib/microvm/web/root.img", "/var/lib/microvm/web/root.img", NULL },
        { CONFIG_DRIVE_PATH, "/dev/vdb", "/dev/vdb", NULL },
        { CONFIG_DRIVE_PATH, "root.img", NULL, PATH_BAD("root.img") },
        { CONFIG_DRIVE_PATH, "", NULL, PATH_BAD("") },
        /* vsock and readiness */
        { CONFIG_VSOCK_CID, "0", "0", NULL },
        { CONFIG_VSOCK_CID, "3", "3", NULL },
        { CONFIG_VSOCK_CID, "4294967294", "4294967294", NULL },
        { CONFIG_VSOCK_CID, "2", NULL, "must be 0 (assign one) or between 3 and 4294967294, not 2" },
        { CONFIG_VSOCK_CID, "4294967295", NULL, "must be 0 (assign one) or between 3 and 4294967294, not 4294967295" },
        { CONFIG_VSOCK_CID, "-1", NULL, U_BAD("-1") },
        { CONFIG_WAIT_READY, "yes", "yes", NULL },
        { CONFIG_WAIT_READY, "0", "no", NULL },
        { CONFIG_WAIT_READY, "ready", NULL, B_BAD("ready") },
        { CONFIG_READY_TIMEOUT_SEC, "1", "1", NULL },
        { CONFIG_READY_TIMEOUT_SEC, "600", "600", NULL },
        { CONFIG_READY_TIMEOUT_SEC, "0", NULL, "must be between 1 and 600, not 0" },
        { CONFIG_READY_TIMEOUT_SEC, "601", NULL, "must be between 1 and 600, not 601" },
        /* Drive options: QEMU's names */
        { CONFIG_DRIVE_FORMAT, "auto", "auto", NULL },
        { CONFIG_DRIVE_FORMAT, "raw", "raw", NULL },
        { CONFIG_DRIVE_FORMAT, "qcow2", "qcow2", NULL },
        { CONFIG_DRIVE_FORMAT, "vmdk", NULL, "must be one of 'auto', 'raw', 'qcow2', not 'vmdk'" },
        { CONFIG_DRIVE_FORMAT, "QCOW2", NULL, "must be one of 'auto', 'raw', 'qcow2', not 'QCOW2'" },
        { CONFIG_DRIVE_CACHE, "writeback", "writeback", NULL },
        { CONFIG_DRIVE_CACHE, "none", "none", NULL },
        { CONFIG_DRIVE_CACHE, "unsafe", "unsafe", NULL },
        { CONFIG_DRIVE_CACHE, "direct", NULL, CACHE_BAD("direct") },
        { CONFIG_DRIVE_CACHE, "", NULL, CACHE_BAD("") },
        { CONFIG_DRIVE_DISCARD, "yes", "yes", NULL },
        { CONFIG_DRIVE_DISCARD, "off", "no", NULL },
        { CONFIG_DRIVE_DISCARD, "unmap", NULL, B_BAD("unmap") },
        /* cloud-init files: a path, or contents with their lines escaped onto one */
        { CONFIG_CLOUD_INIT_USER_DATA, "", "", NULL },
        { CONFIG_CLOUD_INIT_USER_DATA, "/etc/microvm/web.user-data", "/etc/microvm/web.user-data", NULL },
        { CONFIG_CLOUD_INIT_USER_DATA, "#cloud-config\\npackages: [curl]\\n", "#cloud-config\\npackages: [curl]\\n", NULL },
        { CONFIG_CLOUD_INIT_USER_DATA, "a\\tb\\r\\n\\\\", "a\\tb\\r\\n\\\\", NULL },
        { CONFIG_CLOUD_INIT_USER_DATA, "\\s  x \\s", "\\s  x \\s", NULL },
        { CONFIG_CLOUD_INIT_USER_DATA, "a\\sb", "a b", NULL },
        { CONFIG_CLOUD_INIT_USER_DATA, "a\\qb", NULL, "has the unknown escape '\\q': use \\n, \\t, \\r, \\s or \\\\" },
        { CONFIG_CLOUD_INIT_USER_DATA, "a\\", NULL, "must not end in a lone '\\' (write '\\\\' for a backslash)" },
        { CONFIG_CLOUD_INIT_USER_DATA, "a\x01" "b", NULL, MULTILINE_CONTROL },
        { CONFIG_CLOUD_INIT_META_DATA, "instance-id: i-1\\nlocal-hostname: web\\n", "instance-id: i-1\\nlocal-hostname: web\\n", NULL },
        { CONFIG_CLOUD_INIT_META_DATA, "caf\xe9", NULL, "must be valid UTF-8" },
        { CONFIG_CLOUD_INIT_NETWORK_CONFIG, "version: 2\\nethernets:\\n  eth0:\\n    dhcp4: true\\n",
          "version: 2\\nethernets:\\n  eth0:\\n    dhcp4: true\\n", NULL },
        { CONFIG_CLOUD_INIT_NETWORK_CONFIG, "x\x7f", NULL, MULTILINE_CONTROL },
        { CONFIG_CLOUD_INIT_INSTANCE_ID, "", "", NULL },
        { CONFIG_CLOUD_INIT_INSTANCE_ID, "i-0123456789", "i-0123456789", NULL },
        { CONFIG_CLOUD_INIT_INSTANCE_ID, "i-1\\n", "i-1\\n", NULL },        /* not escaped: one line */
        { CONFIG_CLOUD_INIT_INSTANCE_ID, "i-1\n", NULL, CONTROL },
        { CONFIG_CLOUD_INIT_LOCAL_HOSTNAME, "", "", NULL },
        { CONFIG_CLOUD_INIT_LOCAL_HOSTNAME, "web-1.example_org", "web-1.example_org", NULL },
        { CONFIG_CLOUD_INIT_LOCAL_HOSTNAME, "0123456789012345678901234567890123456789012345678901234567890123",
          "0123456789012345678901234567890123456789012345678901234567890123", NULL },   /* 64 */
        { CONFIG_CLOUD_INIT_LOCAL_HOSTNAME, "01234567890123456789012345678901234567890123456789012345678901234",
          NULL, "must be at most 64 characters long" },                                 /* 65 */
        { CONFIG_CLOUD_INIT_LOCAL_HOSTNAME, "web 1", NULL, HOSTNAME_BAD("web 1") },
        { CONFIG_CLOUD_INIT_LOCAL_HOSTNAME, "web/1", NULL, HOSTNAME_BAD("web/1") },
        { CONFIG_CLOUD_INIT_LOCAL_HOSTNAME, " web", NULL, SPACE },
        /* Interface names: empty (the default bridge, a derived TAP), else what the kernel takes */
        { CONFIG_NETWORK_BRIDGE, "", "", NULL },
        { CONFIG_NETWORK_BRIDGE, "microvm0", "microvm0", NULL },
        { CONFIG_NETWORK_BRIDGE, "br-lan.10", "br-lan.10", NULL },
        { CONFIG_NETWORK_BRIDGE, "abcdefghijklmno", "abcdefghijklmno", NULL },              /* 15 */
        { CONFIG_NETWORK_BRIDGE, "abcdefghijklmnop", NULL, IFNAME_BAD("abcdefghijklmnop") }, /* 16 */
        { CONFIG_NETWORK_BRIDGE, "br/0", NULL, IFNAME_BAD("br/0") },
        { CONFIG_NETWORK_BRIDGE, "br:0", NULL, IFNAME_BAD("br:0") },
        { CONFIG_NETWORK_BRIDGE, "br 0", NULL, IFNAME_BAD("br 0") },
        { CONFIG_NETWORK_BRIDGE, "br\xc3\xa9", NULL, IFNAME_BAD("br\xc3\xa9") },
        { CONFIG_NETWORK_BRIDGE, ".", NULL, IFNAME_BAD(".") },
        { CONFIG_NETWORK_BRIDGE, "..", NULL, IFNAME_BAD("..") },
        { CONFIG_NETWORK_BRIDGE, " br0", NULL, SPACE },
        { CONFIG_NETWORK_BRIDGE, "br0\n", NULL, CONTROL },
        { CONFIG_NETWORK_TAP, "", "", NULL },
        { CONFIG_NETWORK_TAP, "tap0", "tap0", NULL },
        { CONFIG_NETWORK_TAP, "mvm-web-0", "mvm-web-0", NULL },
        { CONFIG_NETWORK_TAP, "TAP_0", "TAP_0", NULL },
        { CONFIG_NETWORK_TAP, "a,b", "a,b", NULL },                                        /* the kernel takes it */
        { CONFIG_NETWORK_TAP, "x", "x", NULL },
        { CONFIG_NETWORK_TAP, "mvm-abcdefghi-0", "mvm-abcdefghi-0", NULL },                /* 15 */
        { CONFIG_NETWORK_TAP, "mvm-abcdefghij-0", NULL, IFNAME_BAD("mvm-abcdefghij-0") },   /* 16 */
        { CONFIG_NETWORK_TAP, "a/b", NULL, IFNAME_BAD("a/b") },
        { CONFIG_NETWORK_TAP, "/", NULL, IFNAME_BAD("/") },
        { CONFIG_NETWORK_TAP, "tap0:1", NULL, IFNAME_BAD("tap0:1") },
        { CONFIG_NETWORK_TAP, "tap 0", NULL, IFNAME_BAD("tap 0") },
        { CONFIG_NETWORK_TAP, "t\xc3\xa4p", NULL, IFNAME_BAD("t\xc3\xa4p") },
        { CONFIG_NETWORK_TAP, "\xe2\x82\xac", NULL, IFNAME_BAD("\xe2\x82\xac") },
        { CONFIG_NETWORK_TAP, "tap\t0", NULL, CONTROL },
        { CONFIG_NETWORK_TAP, "tap0 ", NULL, SPACE },
        { CONFIG_NETWORK_TAP, "tap\xff", NULL, "must be valid UTF-8" },
        /* MAC addresses: unicast and not all zeros; either case, kept as written */
        { CONFIG_NETWORK_MAC_ADDRESS, "", "", NULL },
        { CONFIG_NETWORK_MAC_ADDRESS, "02:00:00:12:34:56", "02:00:00:12:34:56", NULL },
        { CONFIG_NETWORK_MAC_ADDRESS, "52:54:00:ab:cd:ef", "52:54:00:ab:cd:ef", NULL },
        { CONFIG_NETWORK_MAC_ADDRESS, "52:54:00:AB:CD:EF", "52:54:00:AB:CD:EF", NULL },
        { CONFIG_NETWORK_MAC_ADDRESS, "0a:Bc:dE:f0:12:34", "0a:Bc:dE:f0:12:34", NULL },
        { CONFIG_NETWORK_MAC_ADDRESS, "00:16:3e:00:00:01", "00:16:3e:00:00:01", NULL },    /* globally unique */
        { CONFIG_NETWORK_MAC_ADDRESS, "fe:ff:ff:ff:ff:ff", "fe:ff:ff:ff:ff:ff", NULL },
        { CONFIG_NETWORK_MAC_ADDRESS, "00:00:00:00:00:01", "00:00:00:00:00:01", NULL },
        { CONFIG_NETWORK_MAC_ADDRESS, "01:00:5e:00:00:01", NULL, MAC_MULTICAST("01:00:5e:00:00:01") },
        { CONFIG_NETWORK_MAC_ADDRESS, "03:00:00:12:34:56", NULL, MAC_MULTICAST("03:00:00:12:34:56") },
        { CONFIG_NETWORK_MAC_ADDRESS, "33:33:00:00:00:01", NULL, MAC_MULTICAST("33:33:00:00:00:01") },
        { CONFIG_NETWORK_MAC_ADDRESS, "ff:ff:ff:ff:ff:ff", NULL, MAC_MULTICAST("ff:ff:ff:ff:ff:ff") },
        { CONFIG_NETWORK_MAC_ADDRESS, "FF:FF:FF:FF:FF:FF", NULL, MAC_MULTICAST("FF:FF:FF:FF:FF:FF") },
        { CONFIG_NETWORK_MAC_ADDRESS, "00:00:00:00:00:00", NULL, MAC_ZERO },
        { CONFIG_NETWORK_MAC_ADDRESS, "02:00:00:12:34", NULL, MAC_BAD("02:00:00:12:34") },
        { CONFIG_NETWORK_MAC_ADDRESS, "02:00:00:12:34:5", NULL, MAC_BAD("02:00:00:12:34:5") },
        { CONFIG_NETWORK_MAC_ADDRESS, "02:00:00:12:34:567", NULL, MAC_BAD("02:00:00:12:34:567") },
        { CONFIG_NETWORK_MAC_ADDRESS, "02:00:00:12:34:56:78", NULL, MAC_BAD("02:00:00:12:34:56:78") },
        { CONFIG_NETWORK_MAC_ADDRESS, "02-00-00-12-34-56", NULL, MAC_BAD("02-00-00-12-34-56") },
        { CONFIG_NETWORK_MAC_ADDRESS, "02:00:00-12:34:56", NULL, MAC_BAD("02:00:00-12:34:56") },
        { CONFIG_NETWORK_MAC_ADDRESS, "0200.0012.3456", NULL, MAC_BAD("0200.0012.3456") },
        { CONFIG_NETWORK_MAC_ADDRESS, "020000123456", NULL, MAC_BAD("020000123456") },
        { CONFIG_NETWORK_MAC_ADDRESS, "2:0:0:12:34:56", NULL, MAC_BAD("2:0:0:12:34:56") },
        { CONFIG_NETWORK_MAC_ADDRESS, "02::00:12:34:56:", NULL, MAC_BAD("02::00:12:34:56:") },
        { CONFIG_NETWORK_MAC_ADDRESS, "02:00:00:12:34:5g", NULL, MAC_BAD("02:00:00:12:34:5g") },
        { CONFIG_NETWORK_MAC_ADDRESS, "02:00:00:12:34:+5", NULL, MAC_BAD("02:00:00:12:34:+5") },
        { CONFIG_NETWORK_MAC_ADDRESS, "02:00:00:12:34:56x", NULL, MAC_BAD("02:00:00:12:34:56x") },
        { CONFIG_NETWORK_MAC_ADDRESS, "web", NULL, MAC_BAD("web") },
        { CONFIG_NETWORK_MAC_ADDRESS, " 02:00:00:12:34:56", NULL, SPACE },
        { CONFIG_NETWORK_MAC_ADDRESS, "02:00:00:12:34:56\n", NULL, CONTROL },
};

/* "VCPUs='0x10'" with C escapes, to name a case. */
static char *case_name(size_t i) {
        g_autofree char *escaped = g_strescape(texts[i].text, NULL);

        return g_strdup_printf("%s='%s'", config_key_get(texts[i].id)->name, escaped);
}

Test(config_schema, value_from_text) {
        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                g_autofree char *name = case_name(i), *text = expand(texts[i].text);
                g_autofree char *canonical = expand(texts[i].canonical), *expected = expand(texts[i].problem);
                g_autofree char *problem = NULL;
                GVariant *v = NULL;
                int r;

                r = config_value_from_text(texts[i].id, text, &v, &problem);
                if (canonical) {
                        cr_expect_eq(r, 0, "%s: accepted (%s)", name, strempty(problem));
                        cr_expect_not_null(v, "%s: a value", name);
                        cr_expect_null(problem, "%s: no problem", name);
                } else {
                        cr_expect_eq(r, -EINVAL, "%s: refused", name);
                        cr_expect_null(v, "%s: no value", name);
                        expect_streq(problem, expected, name);
                }
                if (v) {
                        cr_expect(g_variant_is_of_type(v, G_VARIANT_TYPE(config_key_get(texts[i].id)->type)),
                                  "%s: of the key's type", name);
                        cr_expect_not(g_variant_is_floating(v), "%s: not floating", name);
                        g_variant_unref(v);
                }
        }
}

/* A problem is optional: refusing works without one. */
Test(config_schema, value_from_text_without_problem) {
        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                g_autofree char *name = case_name(i), *text = expand(texts[i].text);
                g_autoptr(GVariant) v = NULL;

                cr_expect_eq(config_value_from_text(texts[i].id, text, &v, NULL), texts[i].canonical ? 0 : -EINVAL,
                             "%s", name);
        }
}

/* text → value → text gives the canonical text, which parses to the same value. */
Test(config_schema, to_text_round_trip) {
        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                g_autofree char *name = case_name(i), *text = expand(texts[i].text);
                g_autofree char *canonical = expand(texts[i].canonical), *printed = NULL;
                g_autoptr(GVariant) v = NULL, again = NULL;

                if (!canonical)
                        continue;
                cr_assert_eq(config_value_from_text(texts[i].id, text, &v, NULL), 0, "%s", name);
                printed = config_value_to_text(texts[i].id, v);
                expect_streq(printed, canonical, name);
                cr_expect_eq(config_value_from_text(texts[i].id, printed, &again, NULL), 0, "%s: reparse", name);
                cr_expect(again && g_variant_equal(v, again), "%s: the same value after reparsing", name);
        }
}

/* Every key has cases above, accepted and refused, so that a new key cannot go untested. */
Test(config_schema, every_key_has_cases) {
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                bool good = false, bad = false;

                for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                        if (texts[i].id == id) {
                                good = good || texts[i].canonical;
                                bad = bad || !texts[i].canonical;
                        }
                cr_expect(good, "%s: a case that is accepted", config_key_get(id)->name);
                cr_expect(bad, "%s: a case that is refused", config_key_get(id)->name);
        }
}

Test(config_schema, table_is_consistent) {
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                const ConfigKey *key = config_key_get(id);

                cr_assert_not_null(key->name, "key %d has a name", id);
                cr_expect(key->section >= 0 && key->section < _CONFIG_SECTION_MAX, "%s: a section", key->name);
                cr_expect(key->type && strlen(key->type) == 1 && strchr("sbut", key->type[0]),
                          "%s: type '%s' is one of s, b, u, t", key->name, strempty(key->type));
                cr_expect(g_variant_type_string_is_valid(key->type), "%s: a GVariant type", key->name);
                cr_expect(key->doc && key->doc[0], "%s: documented", key->name);
                cr_expect_eq(config_key_from_name(key->section, key->name), id, "%s: found by name", key->name);
                cr_expect_eq(config_key_is_required(id), key->default_text == NULL, "%s: required", key->name);

                /* Repeated sections' keys live inside their aa{sv}, never at the top. */
                if (config_section_is_repeatable(key->section))
                        cr_expect_eq(config_key_from_bus_name(key->name), _CONFIG_KEY_INVALID,
                                     "%s: not a top-level bus name", key->name);
                else
                        cr_expect_eq(config_key_from_bus_name(key->name), id, "%s: found by bus name", key->name);

                /* No key shadows a section's bus name. */
                cr_expect_eq(config_section_from_bus_name(key->name), _CONFIG_SECTION_INVALID,
                             "%s: not a section's bus name", key->name);

                for (ConfigKeyId other = 0; other < id; other++)
                        cr_expect(!(streq(config_key_get(other)->name, key->name) &&
                                    config_key_get(other)->section == key->section),
                                  "%s: named once in its section", key->name);
        }
}

Test(config_schema, sections) {
        static const struct {
                ConfigSection section;
                const char *name;
                const char *bus_name;
        } cases[] = {
                { CONFIG_SECTION_VM, "VM", NULL },
                { CONFIG_SECTION_BOOT, "Boot", NULL },
                { CONFIG_SECTION_DRIVE, "Drive", "Drives" },
                { CONFIG_SECTION_NETWORK, "Network", "Networks" },
                { CONFIG_SECTION_CLOUD_INIT, "CloudInit", NULL },
        };

        cr_expect_eq(ELEMENTSOF(cases), (size_t) _CONFIG_SECTION_MAX, "a case per section");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const ConfigSectionInfo *info = config_section_get(cases[i].section);

                expect_streq(info->name, cases[i].name, cases[i].name);
                expect_streq(info->bus_name, cases[i].bus_name, cases[i].name);
                cr_expect(info->doc && info->doc[0], "%s: documented", cases[i].name);
                cr_expect_eq(config_section_from_name(cases[i].name), cases[i].section, "%s: by name",
                             cases[i].name);
                cr_expect_eq(config_section_is_repeatable(cases[i].section), cases[i].bus_name != NULL,
                             "%s: repeatable", cases[i].name);
                if (cases[i].bus_name)
                        cr_expect_eq(config_section_from_bus_name(cases[i].bus_name), cases[i].section,
                                     "%s: by bus name", cases[i].name);
                cr_expect_eq(config_section_from_bus_name(cases[i].name), _CONFIG_SECTION_INVALID,
                             "%s: the key-file name is no bus name", cases[i].name);
        }

        static const char *const unknown[] = { "", "vm", "BOOT", "Drives", "network", "Networks", "NIC", "[VM]" };
        for (size_t i = 0; i < ELEMENTSOF(unknown); i++)
                cr_expect_eq(config_section_from_name(unknown[i]), _CONFIG_SECTION_INVALID, "[%s]", unknown[i]);
}

Test(config_schema, lookups_by_name) {
        static const struct {
                ConfigSection section;
                const char *name;
                ConfigKeyId id;
                ConfigKeyId bus_id;
        } cases[] = {
                { CONFIG_SECTION_VM, "VCPUs", CONFIG_VCPUS, CONFIG_VCPUS },
                { CONFIG_SECTION_VM, "vcpus", _CONFIG_KEY_INVALID, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_BOOT, "VCPUs", _CONFIG_KEY_INVALID, CONFIG_VCPUS },
                { CONFIG_SECTION_BOOT, "Kernel", CONFIG_KERNEL, CONFIG_KERNEL },
                { CONFIG_SECTION_VM, "Kernel", _CONFIG_KEY_INVALID, CONFIG_KERNEL },
                { CONFIG_SECTION_DRIVE, "Path", CONFIG_DRIVE_PATH, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_VM, "Path", _CONFIG_KEY_INVALID, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_VM, "Drives", _CONFIG_KEY_INVALID, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_VM, "", _CONFIG_KEY_INVALID, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_VM, "Memory", _CONFIG_KEY_INVALID, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_NETWORK, "Bridge", CONFIG_NETWORK_BRIDGE, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_NETWORK, "MACAddress", CONFIG_NETWORK_MAC_ADDRESS, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_NETWORK, "TAP", CONFIG_NETWORK_TAP, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_NETWORK, "Tap", _CONFIG_KEY_INVALID, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_NETWORK, "Path", _CONFIG_KEY_INVALID, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_DRIVE, "TAP", _CONFIG_KEY_INVALID, _CONFIG_KEY_INVALID },
                { CONFIG_SECTION_VM, "Networks", _CONFIG_KEY_INVALID, _CONFIG_KEY_INVALID },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                cr_expect_eq(config_key_from_name(cases[i].section, cases[i].name), cases[i].id, "[%s] %s",
                             config_section_get(cases[i].section)->name, cases[i].name);
                cr_expect_eq(config_key_from_bus_name(cases[i].name), cases[i].bus_id, "bus name '%s'",
                             cases[i].name);
        }
}

/* The keys that must be given; everything else has a default. */
Test(config_schema, required_keys) {
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++)
                cr_expect_eq(config_key_is_required(id), id == CONFIG_KERNEL || id == CONFIG_DRIVE_PATH, "%s",
                             config_key_get(id)->name);
}

/* Every default passes its own key's checks and prints back as itself. */
Test(config_schema, defaults) {
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                const ConfigKey *key = config_key_get(id);
                g_autoptr(GVariant) parsed = NULL, def = config_key_default(id);
                g_autofree char *problem = NULL, *printed = NULL;

                if (!key->default_text) {
                        cr_expect_null(def, "%s: required, no default", key->name);
                        continue;
                }
                cr_expect_eq(config_value_from_text(id, key->default_text, &parsed, &problem), 0, "%s=%s: %s",
                             key->name, key->default_text, strempty(problem));
                cr_assert_not_null(def, "%s: a default", key->name);
                cr_expect_not(g_variant_is_floating(def), "%s: default not floating", key->name);
                cr_expect_eq(config_value_check(id, def, NULL), 0, "%s: default passes the check", key->name);
                cr_expect(parsed && g_variant_equal(parsed, def), "%s: default as parsed", key->name);
                printed = config_value_to_text(id, def);
                expect_streq(printed, key->default_text, key->name);
        }
}

Test(config_schema, documented_defaults) {
        static const struct {
                ConfigKeyId id;
                const char *value;      /* GVariant text */
        } cases[] = {
                { CONFIG_HYPERVISOR, "'qemu'" },
                { CONFIG_ACCELERATOR, "'auto'" },
                { CONFIG_VCPUS, "uint32 1" },
                { CONFIG_MEMORY_MIB, "uint64 256" },
                { CONFIG_AUTOSTART, "false" },
                { CONFIG_INITRD, "''" },
                { CONFIG_KERNEL_COMMAND_LINE, "''" },
                { CONFIG_DRIVE_READ_ONLY, "false" },
                { CONFIG_DRIVE_ROOT, "false" },
                { CONFIG_NETWORK_BRIDGE, "''" },
                { CONFIG_NETWORK_MAC_ADDRESS, "''" },
                { CONFIG_NETWORK_TAP, "''" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autoptr(GVariant) def = config_key_default(cases[i].id);
                g_autoptr(GVariant) expected = g_variant_parse(NULL, cases[i].value, NULL, NULL, NULL);

                cr_assert_not_null(expected, "%s", cases[i].value);
                g_variant_ref_sink(expected);
                cr_expect(def && g_variant_equal(def, expected), "%s: default %s",
                          config_key_get(cases[i].id)->name, cases[i].value);
        }
}

/* config_value_check() on values from the bus: the type first, then the key's checks. */
Test(config_schema, value_check) {
        static const struct {
                ConfigKeyId id;
                const char *value;      /* GVariant text */
                const char *problem;    /* NULL: accepted */
        } cases[] = {
                { CONFIG_VCPUS, "uint32 4", NULL },
                { CONFIG_VCPUS, "uint64 4", "must be of D-Bus type 'u', not 't'" },
                { CONFIG_VCPUS, "int32 4", "must be of D-Bus type 'u', not 'i'" },
                { CONFIG_VCPUS, "'4'", "must be of D-Bus type 'u', not 's'" },
                { CONFIG_VCPUS, "uint32 0", VCPUS_BAD("0") },
                { CONFIG_VCPUS, "uint32 257", VCPUS_BAD("257") },
                { CONFIG_MEMORY_MIB, "uint64 16", NULL },
                { CONFIG_MEMORY_MIB, "uint32 256", "must be of D-Bus type 't', not 'u'" },
                { CONFIG_MEMORY_MIB, "uint64 0", MEMORY_BAD("0") },
                { CONFIG_MEMORY_MIB, "uint64 15", MEMORY_BAD("15") },
                { CONFIG_MEMORY_MIB, "uint64 {host}", NULL },
                { CONFIG_MEMORY_MIB, "uint64 {host+1}", MEMORY_BAD("{host+1}") },
                { CONFIG_AUTOSTART, "true", NULL },
                { CONFIG_AUTOSTART, "'yes'", "must be of D-Bus type 'b', not 's'" },
                { CONFIG_AUTOSTART, "uint32 1", "must be of D-Bus type 'b', not 'u'" },
                { CONFIG_KERNEL, "'/boot/vmlinuz'", NULL },
                { CONFIG_KERNEL, "objectpath '/boot/vmlinuz'", "must be of D-Bus type 's', not 'o'" },
                { CONFIG_KERNEL, "<'/boot/vmlinuz'>", "must be of D-Bus type 's', not 'v'" },
                { CONFIG_KERNEL, "'boot/vmlinuz'", PATH_BAD("boot/vmlinuz") },
                { CONFIG_KERNEL, "'/boot/vmlinuz\\n'", CONTROL },
                { CONFIG_INITRD, "''", NULL },
                { CONFIG_INITRD, "'initrd'", PATH_BAD("initrd") },
                { CONFIG_HYPERVISOR, "'firecracker'", NULL },
                { CONFIG_HYPERVISOR, "'bhyve'", HYPERVISOR_BAD("bhyve") },
                { CONFIG_ACCELERATOR, "'tcg'", NULL },
                { CONFIG_ACCELERATOR, "'whpx'", ACCELERATOR_BAD("whpx") },
                { CONFIG_KERNEL_COMMAND_LINE, "'quiet\\tsplash'", CONTROL },
                { CONFIG_KERNEL_COMMAND_LINE, "'quiet '", SPACE },
                { CONFIG_DRIVE_PATH, "'/a.img'", NULL },
                { CONFIG_DRIVE_PATH, "'a.img'", PATH_BAD("a.img") },
                { CONFIG_DRIVE_ROOT, "'no'", "must be of D-Bus type 'b', not 's'" },
                { CONFIG_NETWORK_BRIDGE, "'microvm0'", NULL },
                { CONFIG_NETWORK_BRIDGE, "'br:0'", IFNAME_BAD("br:0") },
                { CONFIG_NETWORK_BRIDGE, "true", "must be of D-Bus type 's', not 'b'" },
                { CONFIG_NETWORK_MAC_ADDRESS, "'02:AB:cd:00:00:01'", NULL },
                { CONFIG_NETWORK_MAC_ADDRESS, "'01:00:00:00:00:01'", MAC_MULTICAST("01:00:00:00:00:01") },
                { CONFIG_NETWORK_MAC_ADDRESS, "'00:00:00:00:00:00'", MAC_ZERO },
                { CONFIG_NETWORK_MAC_ADDRESS, "'02:00:00:00:00'", MAC_BAD("02:00:00:00:00") },
                { CONFIG_NETWORK_MAC_ADDRESS, "[byte 2, 0, 0, 0, 0, 1]", "must be of D-Bus type 's', not 'ay'" },
                { CONFIG_NETWORK_TAP, "''", NULL },
                { CONFIG_NETWORK_TAP, "'mvm-abcdefghij-0'", IFNAME_BAD("mvm-abcdefghij-0") },
                { CONFIG_NETWORK_TAP, "objectpath '/tap0'", "must be of D-Bus type 's', not 'o'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *text = expand(cases[i].value), *expected = expand(cases[i].problem);
                g_autofree char *name = g_strdup_printf("%s %s", config_key_get(cases[i].id)->name, text);
                g_autofree char *problem = NULL;
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) v = g_variant_parse(NULL, text, NULL, NULL, &error);

                cr_assert_not_null(v, "%s: %s", name, error ? error->message : "?");
                g_variant_ref_sink(v);
                cr_expect_eq(config_value_check(cases[i].id, v, &problem), expected ? -EINVAL : 0, "%s", name);
                expect_streq(problem, expected, name);
        }
}

Test(config_schema, host_memory) {
        uint64_t host = config_host_memory_mib();

        cr_expect_gt(host, 16, "the host has memory: %" PRIu64 " MiB", host);
        cr_expect_lt(host, UINT64_MAX, "the host's memory is known");
}
