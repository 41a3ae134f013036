/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Key files: parse → print is byte-identical for what the printer wrote, a hand-written file
 * prints in canonical order with its comments, and every error has its own case and message. */

#include <criterion/criterion.h>
#include <inttypes.h>

#include "fileio.h"
#include "keyfile.h"
#include "test-util.h"

/* A scratch directory per test; the fixture removes it even when an assertion ends the test. */
static char *dir;

static void setup(void) {
        dir = tmpdir_new();
}

static void teardown(void) {
        dir = tmpdir_free(dir);
}

TestSuite(keyfile, .init = setup, .fini = teardown);

static GVariant *parse_variant(const char *text) {
        g_autoptr(GError) error = NULL;
        GVariant *v = g_variant_parse(G_VARIANT_TYPE_VARDICT, text, NULL, NULL, &error);

        cr_assert_not_null(v, "%s: %s", text, error ? error->message : "?");
        return g_variant_ref_sink(v);
}

static void comment_set(char **where, const char *text) {
        g_free(*where);
        *where = g_strdup(text);
}

/* Comments everywhere they can be: before sections, before keys, and at the end. */
static void add_comments(Config *c) {
        ConfigGroup *vm = &c->groups[CONFIG_SECTION_VM][0], *boot = &c->groups[CONFIG_SECTION_BOOT][0];
        ConfigGroup *drives = c->groups[CONFIG_SECTION_DRIVE];

        comment_set(&vm->comment, "# The web server.\n# Edited by hand; microvmd keeps these lines.\n");
        comment_set(&vm->key_comments[CONFIG_VCPUS], "# Two is plenty.\n");
        comment_set(&vm->key_comments[CONFIG_MEMORY_MIB], "\n; The old style of comment works too.\n");
        comment_set(&boot->comment, "\n# Direct kernel boot.\n\n");
        comment_set(&boot->key_comments[CONFIG_KERNEL_COMMAND_LINE], "  # Indented, kept as written.\n");
        comment_set(&drives[0].comment, "\n#[Drive]\n#Path=/commented/out.img\n\n");
        comment_set(&drives[1].key_comments[CONFIG_DRIVE_READ_ONLY], "#\n");
        comment_set(&c->trailer, "\n# The end.\n");
}

static const struct {
        const char *name;       /* the golden file: NAME.vm */
        const char *dict;
        void (*decorate)(Config *c);
} round_trips[] = {
        { "minimal", "{'Kernel': <'/var/lib/microvm/images/vmlinuz'>}", NULL },
        { "full",
          "{'Hypervisor': <'qemu'>, 'Accelerator': <'tcg'>, 'VCPUs': <uint32 2>, 'MemoryMiB': <uint64 512>, "
          "'Autostart': <true>, 'Kernel': <'/var/lib/microvm/images/vmlinuz'>, "
          "'Initrd': <'/var/lib/microvm/images/initrd.img'>, "
          "'KernelCommandLine': <'console=ttyS0 root=/dev/vda rw quiet'>, "
          "'Drives': <[{'Path': <'/var/lib/microvm/web/root.img'>, 'ReadOnly': <false>, 'Root': <true>}]>, "
          "'Networks': <[{'Bridge': <'microvm0'>, 'MACAddress': <'02:00:00:12:34:56'>, 'TAP': <'mvm-web-0'>}]>}",
          NULL },
        { "drives",
          "{'Kernel': <'/var/lib/microvm/images/vmlinuz'>, "
          "'Drives': <[{'Path': <'/var/lib/microvm/db/root.img'>, 'Root': <true>}, "
          "{'Path': <'/var/lib/microvm/images/data.img'>, 'ReadOnly': <true>}, "
          "{'Path': <'/dev/vg0/db-scratch'>}]>}",
          NULL },
        /* A NIC with every key, one with some, and one with none: a bare [Network] is a NIC too. */
        { "networks",
          "{'Kernel': <'/var/lib/microvm/images/vmlinuz'>, "
          "'Networks': <[{'Bridge': <'br-lan'>, 'MACAddress': <'52:54:00:AB:CD:EF'>, 'TAP': <'tap-web'>}, "
          "{'Bridge': <'microvm0'>}, @a{sv} {}, {'MACAddress': <''>, 'TAP': <''>}]>}",
          NULL },
        /* Drive options, and cloud-init contents whose lines the key file escapes onto one. */
        { "cloud-init",
          "{'Kernel': <'/var/lib/microvm/images/vmlinuz'>, "
          "'Drives': <[{'Path': <'/var/lib/microvm/web/root.qcow2'>, 'Root': <true>, 'Format': <'qcow2'>, "
          "'Cache': <'none'>, 'Discard': <true>}]>, "
          "'UserData': <'#cloud-config\\npackages:\\n  - curl\\nruncmd:\\n  - [ sh, -c, \"echo \\\\\\\\o/\" ]\\n'>, "
          "'MetaData': <' leading and trailing spaces\\t '>, "
          "'NetworkConfig': <'/etc/microvm/web.network-config'>, "
          "'InstanceID': <'i-0123'>, 'LocalHostname': <'web-1'>}",
          NULL },
        { "comments",
          "{'VCPUs': <uint32 2>, 'MemoryMiB': <uint64 1024>, 'Kernel': <'/var/lib/microvm/images/vmlinuz'>, "
          "'KernelCommandLine': <'console=ttyS0'>, "
          "'Drives': <[{'Path': <'/var/lib/microvm/web/root.img'>, 'Root': <true>}, "
          "{'Path': <'/var/lib/microvm/web/data.img'>, 'ReadOnly': <true>}]>}",
          add_comments },
};

Test(keyfile, round_trip) {
        for (size_t i = 0; i < ELEMENTSOF(round_trips); i++) {
                const char *name = round_trips[i].name;
                g_autofree char *file = g_strdup_printf("%s.vm", name), *error = NULL;
                g_autofree char *printed = NULL, *golden = NULL, *reprinted = NULL;
                g_autoptr(GVariant) dict = parse_variant(round_trips[i].dict), set = NULL, set_back = NULL;
                _cleanup_(config_freep) Config *c = NULL, *back = NULL;

                /* What the printer writes for this configuration… */
                cr_assert_eq(config_from_variant(dict, &c, &error), 0, "%s: %s", name, strempty(error));
                if (round_trips[i].decorate)
                        round_trips[i].decorate(c);
                printed = keyfile_print(c);
                golden_check("keyfile", file, printed);

                /* …parses and prints back byte for byte, with the same values. */
                golden = golden_read("keyfile", file);
                cr_assert_eq(keyfile_parse(golden, file, &back, &error), 0, "%s: %s", name, strempty(error));
                reprinted = keyfile_print(back);
                expect_streq(reprinted, golden, name);
                set = g_variant_ref_sink(config_to_variant(c, false));
                set_back = g_variant_ref_sink(config_to_variant(back, false));
                cr_expect(g_variant_equal(set, set_back), "%s: the same values after parsing", name);
        }
}

/* A hand-written file, out of order and loosely spelled, prints in the canonical order and
 * form, each comment still before its section or key; the result is a fixed point. */
Test(keyfile, canonical_order) {
        g_autofree char *input = golden_read("keyfile", "noncanonical.in");
        g_autofree char *error = NULL, *printed = NULL, *again = NULL;
        _cleanup_(config_freep) Config *c = NULL, *back = NULL;

        cr_assert_eq(keyfile_parse(input, "noncanonical.in", &c, &error), 0, "%s", strempty(error));
        printed = keyfile_print(c);
        golden_check("keyfile", "noncanonical.vm", printed);

        cr_assert_eq(keyfile_parse(printed, "noncanonical.vm", &back, &error), 0, "%s", strempty(error));
        again = keyfile_print(back);
        expect_streq(again, printed, "printed twice");
}

/* Files a person might write that print differently, and what they print as. */
Test(keyfile, normalized) {
        static const struct {
                const char *name;
                const char *text;
                const char *printed;
        } cases[] = {
                { "no final newline", "[Boot]\nKernel=/k", "[Boot]\nKernel=/k\n" },
                { "white space around = and the line", "  [Boot]  \n\tKernel  =  /k \n", "[Boot]\nKernel=/k\n" },
                { "CRLF line ends", "[Boot]\r\nKernel=/k\r\n", "[Boot]\nKernel=/k\n" },
                { "= inside the value", "[Boot]\nKernel=/k\nKernelCommandLine=a=b c==d\n",
                  "[Boot]\nKernel=/k\nKernelCommandLine=a=b c==d\n" },
                { "# and ; inside the value", "[Boot]\nKernel=/k\nKernelCommandLine=a#b ;c\n",
                  "[Boot]\nKernel=/k\nKernelCommandLine=a#b ;c\n" },
                { "empty value", "[Boot]\nKernel=/k\nInitrd=\n", "[Boot]\nKernel=/k\nInitrd=\n" },
                { "boolean spellings", "[VM]\nAutostart=TRUE\n[Boot]\nKernel=/k\n[Drive]\nPath=/a\nReadOnly=0\n",
                  "[VM]\nAutostart=yes\n\n[Boot]\nKernel=/k\n\n[Drive]\nPath=/a\nReadOnly=no\n" },
                { "leading zeros", "[VM]\nVCPUs=007\n[Boot]\nKernel=/k\n", "[VM]\nVCPUs=7\n\n[Boot]\nKernel=/k\n" },
                { "an empty section", "[VM]\n[Boot]\nKernel=/k\n", "[Boot]\nKernel=/k\n" },
                { "a section twice", "[Boot]\nKernel=/k\n[VM]\nVCPUs=2\n[Boot]\nInitrd=/i\n",
                  "[VM]\nVCPUs=2\n\n[Boot]\nKernel=/k\nInitrd=/i\n" },
                { "blank lines", "\n\n[Boot]\n\nKernel=/k\n\n", "\n\n[Boot]\n\nKernel=/k\n\n" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                g_autofree char *error = NULL, *printed = NULL;

                cr_expect_eq(keyfile_parse(cases[i].text, "test.vm", &c, &error), 0, "%s: %s", cases[i].name,
                             strempty(error));
                if (!c)
                        continue;
                printed = keyfile_print(c);
                expect_streq(printed, cases[i].printed, cases[i].name);
        }
}

Test(keyfile, print_empty) {
        _cleanup_(config_freep) Config *c = config_new();
        g_autofree char *printed = keyfile_print(c);

        expect_streq(printed, "", "an empty configuration");
}

#define SECTION_HEADER "a section header is [Name]"
#define SECTIONS "use [VM], [Boot], [Drive], [Network] or [CloudInit]"
#define OUTSIDE "is outside any section: put it under [VM], [Boot], [Drive], [Network] or [CloudInit]"
#define U_BAD(t) "must be an unsigned decimal number below 2^32, not '" t "'"
#define T_BAD(t) "must be an unsigned decimal number, not '" t "'"
#define B_BAD(t) "must be a boolean (yes or no), not '" t "'"
#define MEMORY_BAD(n) "must be between 16 and {host} (the host's memory), not " n
#define KERNEL_REQUIRED "Kernel is required (the absolute path of the guest kernel image)"
#define PATH_REQUIRED "Path is required (the absolute path of the image file or block device)"
#define BOOT "[Boot]\nKernel=/k\n"
#define IFNAME_BAD(t) \
        "must be a network interface name of 1 to 15 characters without '/', ':' or white space, not '" t "'"

static const struct {
        const char *name;
        const char *text;
        const char *error;      /* for "test.vm"; {host} and {host+1} as in test-config-schema.c */
} errors[] = {
        /* Section headers */
        { "header without ]", "[VM\n", "test.vm:1: '[VM': " SECTION_HEADER },
        { "header with text after it", "[VM] # comment\n", "test.vm:1: '[VM] # comment': " SECTION_HEADER },
        { "a lone [", "[\n", "test.vm:1: '[': " SECTION_HEADER },
        { "bad header on a later line", "# c\n\n" BOOT "[Drive\n", "test.vm:5: '[Drive': " SECTION_HEADER },
        { "unknown section", "[Interface]\n", "test.vm:1: Unknown section [Interface]: " SECTIONS },
        { "section names are case-sensitive", BOOT "[vm]\n", "test.vm:3: Unknown section [vm]: " SECTIONS },
        { "a section's bus name", BOOT "[Drives]\n", "test.vm:3: Unknown section [Drives]: " SECTIONS },
        { "the network section's bus name", BOOT "[Networks]\n",
          "test.vm:3: Unknown section [Networks]: " SECTIONS },
        { "network section names are case-sensitive", BOOT "[network]\nBridge=br0\n",
          "test.vm:3: Unknown section [network]: " SECTIONS },
        { "empty section name", "[]\n", "test.vm:1: '[]': " SECTION_HEADER },
        /* Key lines */
        { "key outside a section", "VCPUs=2\n" BOOT, "test.vm:1: VCPUs= " OUTSIDE },
        { "key outside a section after comments", "# c\n\nKernel=/k\n", "test.vm:3: Kernel= " OUTSIDE },
        { "unknown key", "[VM]\nCPUs=2\n", "test.vm:2: Unknown key CPUs= in [VM]: see 'microvmctl keys'" },
        { "key in the wrong section", "[Boot]\nVCPUs=2\n",
          "test.vm:2: Unknown key VCPUs= in [Boot]: see 'microvmctl keys'" },
        { "drive key in [VM]", "[VM]\nPath=/a\n", "test.vm:2: Unknown key Path= in [VM]: see 'microvmctl keys'" },
        { "key names are case-sensitive", "[VM]\nvcpus=2\n",
          "test.vm:2: Unknown key vcpus= in [VM]: see 'microvmctl keys'" },
        { "empty key", "[VM]\n=2\n", "test.vm:2: Unknown key = in [VM]: see 'microvmctl keys'" },
        { "no '='", "[VM]\nVCPUs 2\n", "test.vm:2: 'VCPUs 2': expected Key=value" },
        { "no '=', white space around", "[VM]\n  Autostart  \n", "test.vm:2: 'Autostart': expected Key=value" },
        { "duplicate key", "[VM]\nVCPUs=2\nVCPUs=3\n", "test.vm:3: VCPUs= is set twice in one [VM] section" },
        { "duplicate key, the same value", "[Boot]\nKernel=/k\nKernel=/k\n",
          "test.vm:3: Kernel= is set twice in one [Boot] section" },
        { "duplicate key in a repeated [VM]", "[VM]\nVCPUs=2\n[VM]\nVCPUs=3\n",
          "test.vm:4: VCPUs= is set twice in one [VM] section" },
        { "duplicate key in a drive", BOOT "[Drive]\nPath=/a\nPath=/b\n",
          "test.vm:5: Path= is set twice in one [Drive] section" },
        { "duplicate key in a NIC", BOOT "[Network]\nTAP=tap0\nTAP=tap0\n",
          "test.vm:5: TAP= is set twice in one [Network] section" },
        { "drive key in [Network]", BOOT "[Network]\nPath=/a\n",
          "test.vm:4: Unknown key Path= in [Network]: see 'microvmctl keys'" },
        { "network key in [Drive]", BOOT "[Drive]\nPath=/a\nBridge=br0\n",
          "test.vm:5: Unknown key Bridge= in [Drive]: see 'microvmctl keys'" },
        { "network key in [VM]", "[VM]\nMACAddress=02:00:00:00:00:01\n",
          "test.vm:2: Unknown key MACAddress= in [VM]: see 'microvmctl keys'" },
        { "network key outside a section", "TAP=tap0\n" BOOT, "test.vm:1: TAP= " OUTSIDE },
        /* Values, per type */
        { "u: not a number", "[VM]\nVCPUs=two\n", "test.vm:2: VCPUs=: " U_BAD("two") },
        { "u: sign", "[VM]\nVCPUs=+2\n", "test.vm:2: VCPUs=: " U_BAD("+2") },
        { "u: hexadecimal", "[VM]\nVCPUs=0x2\n", "test.vm:2: VCPUs=: " U_BAD("0x2") },
        { "u: empty", "[VM]\nVCPUs=\n", "test.vm:2: VCPUs=: " U_BAD("") },
        { "u: inner space", "[VM]\nVCPUs=1 2\n", "test.vm:2: VCPUs=: " U_BAD("1 2") },
        { "t: negative", "[VM]\nMemoryMiB=-1\n", "test.vm:2: MemoryMiB=: " T_BAD("-1") },
        { "t: unit suffix", "[VM]\nMemoryMiB=512M\n", "test.vm:2: MemoryMiB=: " T_BAD("512M") },
        { "b: not a boolean", "[VM]\nAutostart=maybe\n", "test.vm:2: Autostart=: " B_BAD("maybe") },
        { "b: empty", "[VM]\nAutostart=\n", "test.vm:2: Autostart=: " B_BAD("") },
        { "b: in a drive", BOOT "[Drive]\nPath=/a\nReadOnly=2\n", "test.vm:5: ReadOnly=: " B_BAD("2") },
        { "s: not a choice", "[VM]\nHypervisor=xen\n",
          "test.vm:2: Hypervisor=: must be one of 'qemu', 'firecracker', 'cloud-hypervisor', not 'xen'" },
        { "s: choices are case-sensitive", "[VM]\nAccelerator=KVM\n",
          "test.vm:2: Accelerator=: must be one of 'auto', 'kvm', 'tcg', not 'KVM'" },
        { "s: relative Kernel", "[Boot]\nKernel=vmlinuz\n",
          "test.vm:2: Kernel=: must be an absolute path, not 'vmlinuz'" },
        { "s: empty Kernel", "[Boot]\nKernel=\n", "test.vm:2: Kernel=: must be an absolute path, not ''" },
        { "s: relative Initrd", BOOT "Initrd=initrd.img\n",
          "test.vm:3: Initrd=: must be an absolute path, not 'initrd.img'" },
        { "s: relative drive Path", BOOT "[Drive]\nPath=root.img\n",
          "test.vm:4: Path=: must be an absolute path, not 'root.img'" },
        { "s: control character", BOOT "KernelCommandLine=quiet\tsplash\n",
          "test.vm:3: KernelCommandLine=: must not contain control characters such as newlines" },
        { "s: carriage return inside", BOOT "KernelCommandLine=a\rb\n",
          "test.vm:3: KernelCommandLine=: must not contain control characters such as newlines" },
        { "s: malformed MAC", BOOT "[Network]\nMACAddress=02-00-00-00-00-01\n",
          "test.vm:4: MACAddress=: must be a MAC address like 02:00:00:12:34:56, not '02-00-00-00-00-01'" },
        { "s: multicast MAC", BOOT "[Network]\nMACAddress=01:00:5e:00:00:fb\n",
          "test.vm:4: MACAddress=: must be a unicast address, but '01:00:5e:00:00:fb' is multicast "
          "(the first octet is odd)" },
        { "s: all-zero MAC", BOOT "[Network]\nMACAddress=00:00:00:00:00:00\n",
          "test.vm:4: MACAddress=: must not be all zeros" },
        { "s: TAP too long", BOOT "[Network]\nTAP=abcdefghijklmnop\n",
          "test.vm:4: TAP=: " IFNAME_BAD("abcdefghijklmnop") },
        { "s: TAP with ':'", BOOT "[Network]\nTAP=tap0:1\n", "test.vm:4: TAP=: " IFNAME_BAD("tap0:1") },
        { "s: bridge with '/'", BOOT "[Network]\nBridge=br/0\n", "test.vm:4: Bridge=: " IFNAME_BAD("br/0") },
        { "s: bridge with a space", BOOT "[Network]\nBridge=br 0\n", "test.vm:4: Bridge=: " IFNAME_BAD("br 0") },
        { "s: non-ASCII bridge", BOOT "[Network]\nBridge=br\xc3\xa9\n",
          "test.vm:4: Bridge=: " IFNAME_BAD("br\xc3\xa9") },
        /* Out of range */
        { "VCPUs 0", "[VM]\nVCPUs=0\n", "test.vm:2: VCPUs=: must be between 1 and 256, not 0" },
        { "VCPUs 257", "[VM]\nVCPUs=257\n", "test.vm:2: VCPUs=: must be between 1 and 256, not 257" },
        { "VCPUs 2^32", "[VM]\nVCPUs=4294967296\n", "test.vm:2: VCPUs=: " U_BAD("4294967296") },
        { "MemoryMiB 0", "[VM]\nMemoryMiB=0\n", "test.vm:2: MemoryMiB=: " MEMORY_BAD("0") },
        { "MemoryMiB 15", "[VM]\nMemoryMiB=15\n", "test.vm:2: MemoryMiB=: " MEMORY_BAD("15") },
        { "MemoryMiB above the host", "[VM]\nMemoryMiB={host+1}\n",
          "test.vm:2: MemoryMiB=: " MEMORY_BAD("{host+1}") },
        { "MemoryMiB 2^64", "[VM]\nMemoryMiB=18446744073709551616\n",
          "test.vm:2: MemoryMiB=: " T_BAD("18446744073709551616") },
        /* The whole file */
        { "missing Kernel", "[VM]\nVCPUs=2\n", "test.vm: " KERNEL_REQUIRED },
        { "empty file", "", "test.vm: " KERNEL_REQUIRED },
        { "only comments", "# nothing here\n\n", "test.vm: " KERNEL_REQUIRED },
        { "[Boot] without Kernel", "[Boot]\nInitrd=/i\n", "test.vm: " KERNEL_REQUIRED },
        { "missing drive Path", BOOT "[Drive]\nReadOnly=yes\n", "test.vm: Drives[0]." PATH_REQUIRED },
        { "empty second [Drive]", BOOT "[Drive]\nPath=/a\n[Drive]\n", "test.vm: Drives[1]." PATH_REQUIRED },
        { "two Root drives", BOOT "[Drive]\nPath=/a\nRoot=yes\n[Drive]\nPath=/b\n[Drive]\nPath=/c\nRoot=yes\n",
          "test.vm: Drives[0] and Drives[2] both have Root=yes: at most one drive holds the root file system" },
        { "the same drive twice", BOOT "[Drive]\nPath=/a\n[Drive]\nPath=/a\nReadOnly=yes\n",
          "test.vm: Drives[0] and Drives[1] both use '/a': attach each image once" },
        { "two NICs, one MAC",
          BOOT "[Network]\nMACAddress=02:00:00:00:00:01\n[Network]\n[Network]\nMACAddress=02:00:00:00:00:01\n",
          "test.vm: Networks[0] and Networks[2] both have MACAddress=02:00:00:00:00:01: give each NIC its own" },
        { "two NICs, one MAC in two cases",
          BOOT "[Network]\nMACAddress=02:00:00:00:00:ab\n[Network]\nMACAddress=02:00:00:00:00:AB\n",
          "test.vm: Networks[0] and Networks[1] both have MACAddress=02:00:00:00:00:AB: give each NIC its own" },
        { "two NICs, one TAP", BOOT "[Network]\nTAP=tap0\nBridge=br0\n[Network]\nTAP=tap0\nBridge=br1\n",
          "test.vm: Networks[0] and Networks[1] both have TAP=tap0: give each NIC its own" },
        { "non-UTF-8 value", "[Boot]\nKernel=/k\xff\n", "test.vm: not valid UTF-8" },
        { "non-UTF-8 comment", "# caf\xe9\n" BOOT, "test.vm: not valid UTF-8" },
        { "non-UTF-8 key", "[Boot]\nKernel=/k\n\xc3=x\n", "test.vm: not valid UTF-8" },
        /* The first error wins */
        { "first of two errors", "[VM]\nVCPUs=0\nMemoryMiB=0\n",
          "test.vm:2: VCPUs=: must be between 1 and 256, not 0" },
        { "a line error before validation", "[VM]\nNope=1\n",
          "test.vm:2: Unknown key Nope= in [VM]: see 'microvmctl keys'" },
};

/* Replaces {host}, {host+1} and {path} in s. */
static char *expand(const char *s, const char *path) {
        g_autofree char *host = g_strdup_printf("%" PRIu64, config_host_memory_mib());
        g_autofree char *above = g_strdup_printf("%" PRIu64, config_host_memory_mib() + 1);
        const char *from[] = { "{host+1}", "{host}", "{path}" }, *to[] = { above, host, strempty(path) };
        char *out = g_strdup(s);

        for (size_t i = 0; i < ELEMENTSOF(from); i++) {
                g_auto(GStrv) parts = g_strsplit(out, from[i], -1);

                g_free(out);
                out = g_strjoinv(to[i], parts);
        }
        return out;
}

Test(keyfile, errors) {
        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                g_autofree char *text = expand(errors[i].text, NULL), *expected = expand(errors[i].error, NULL);
                g_autofree char *error = NULL;
                Config *c = NULL;

                cr_expect_eq(keyfile_parse(text, "test.vm", &c, &error), -EINVAL, "%s", errors[i].name);
                cr_expect_null(c, "%s: nothing returned", errors[i].name);
                expect_streq(error, expected, errors[i].name);
        }
}

/* No message wanted: still refused, nothing returned. */
Test(keyfile, errors_without_message) {
        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                g_autofree char *text = expand(errors[i].text, NULL);
                Config *c = NULL;

                cr_expect_eq(keyfile_parse(text, "test.vm", &c, NULL), -EINVAL, "%s", errors[i].name);
                cr_expect_null(c, "%s: nothing returned", errors[i].name);
        }
}

/* The same text from a file: the message names the file's path. */
Test(keyfile, errors_from_file) {
        g_autofree char *path = g_build_filename(dir, "web.vm", NULL);

        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                g_autofree char *text = expand(errors[i].text, NULL), *error = NULL, *expected = NULL;
                g_autofree char *with_path = NULL;
                Config *c = NULL;

                /* "test.vm" in the expected message becomes the path. */
                with_path = g_strconcat("{path}", errors[i].error + strlen("test.vm"), NULL);
                expected = expand(with_path, path);
                file_write(path, text, strlen(text));
                cr_expect_eq(keyfile_load(path, &c, &error), -EINVAL, "%s", errors[i].name);
                cr_expect_null(c, "%s: nothing returned", errors[i].name);
                expect_streq(error, expected, errors[i].name);
        }
}

/* What the printer wrote, loaded from a file, prints the same again. */
Test(keyfile, load) {
        g_autofree char *path = g_build_filename(dir, "web.vm", NULL);

        for (size_t i = 0; i < ELEMENTSOF(round_trips); i++) {
                g_autoptr(GVariant) dict = parse_variant(round_trips[i].dict);
                _cleanup_(config_freep) Config *c = NULL, *loaded = NULL;
                g_autofree char *error = NULL, *text = NULL, *printed = NULL;

                cr_assert_eq(config_from_variant(dict, &c, NULL), 0, "%s", round_trips[i].name);
                if (round_trips[i].decorate)
                        round_trips[i].decorate(c);
                text = keyfile_print(c);
                file_write(path, text, strlen(text));

                cr_expect_eq(keyfile_load(path, &loaded, &error), 0, "%s: %s", round_trips[i].name,
                             strempty(error));
                cr_expect_null(error, "%s: no message on success", round_trips[i].name);
                if (!loaded)
                        continue;
                printed = keyfile_print(loaded);
                expect_streq(printed, text, round_trips[i].name);
        }
}

Test(keyfile, load_errors) {
        static const struct {
                const char *name;
                const char *file;       /* in the scratch directory */
                const char *contents;   /* NULL: see the test */
                size_t size;
                int r;
                const char *error;
        } cases[] = {
                { "NUL byte after the text", "nul.vm", BOOT "\0[VM]\n", sizeof(BOOT "\0[VM]\n") - 1, -EINVAL,
                  "{path}: contains a NUL byte: a key file is text" },
                { "NUL byte first", "nul-first.vm", "\0" BOOT, sizeof("\0" BOOT) - 1, -EINVAL,
                  "{path}: contains a NUL byte: a key file is text" },
                { "NUL byte last", "nul-last.vm", BOOT "\0", sizeof(BOOT "\0") - 1, -EINVAL,
                  "{path}: contains a NUL byte: a key file is text" },
                { "non-UTF-8", "latin1.vm", "# caf\xe9\n" BOOT, sizeof("# caf\xe9\n" BOOT) - 1, -EINVAL,
                  "{path}: not valid UTF-8" },
                { "missing file", "missing.vm", NULL, 0, -ENOENT, "{path}: No such file or directory" },
                { "a directory", "dir.vm", NULL, 0, -EISDIR, "{path}: Is a directory" },
                { "too large", "big.vm", NULL, 0, -EFBIG, "{path}: File too large" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *path = g_build_filename(dir, cases[i].file, NULL), *expected = NULL, *error = NULL;
                Config *c = NULL;

                if (cases[i].contents)
                        file_write(path, cases[i].contents, cases[i].size);
                else if (cases[i].r == -EISDIR)
                        cr_assert_eq(mkdir(path, 0755), 0);
                else if (cases[i].r == -EFBIG) {
                        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

                        cr_assert_geq(fd, 0, "%s: %m", path);
                        cr_assert_eq(ftruncate(fd, MVM_FILE_SIZE_MAX + 1), 0, "%s: %m", path);
                }

                expected = expand(cases[i].error, path);
                cr_expect_eq(keyfile_load(path, &c, &error), cases[i].r, "%s", cases[i].name);
                cr_expect_null(c, "%s: nothing returned", cases[i].name);
                expect_streq(error, expected, cases[i].name);
        }
}
