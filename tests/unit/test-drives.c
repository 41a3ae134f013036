/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM's drives against real images (mkfs.ext4, qemu-img): what drives_probe() refuses, and what
 * drives_fill_config() fills in for a start; and the [CloudInit] keys resolved into a seed's files
 * (vm-seed). */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "drives.h"
#include "keyfile.h"
#include "vm-seed.h"
#include "test-util.h"

static char *dir;

static void setup(void) {
        dir = tmpdir_new();
}

static void teardown(void) {
        dir = tmpdir_free(dir);
}

TestSuite(drives, .init = setup, .fini = teardown);
TestSuite(vm_seed, .init = setup, .fini = teardown);

_printf_(1, 2)
static void sh(const char *format, ...) {
        g_autofree char *command = NULL, *full = NULL;
        va_list ap;

        va_start(ap, format);
        command = g_strdup_vprintf(format, ap);
        va_end(ap);
        /* mkfs.ext4 lives in sbin, which a user's $PATH may lack. */
        full = g_strdup_printf("PATH=/usr/sbin:/sbin:$PATH; cd '%s' && (%s) >/dev/null 2>&1", dir, command);
        cr_assert_eq(system(full), 0, "'%s' failed", command);
}

/* The key file text with {dir} replaced, parsed. */
static Config *config(const char *text) {
        g_auto(GStrv) parts = g_strsplit(text, "{dir}", -1);
        g_autofree char *expanded = g_strjoinv(dir, parts), *error = NULL;
        Config *c = NULL;

        cr_assert_eq(keyfile_parse(expanded, "test.vm", &c, &error), 0, "%s: %s", expanded, strempty(error));
        return c;
}

#define BOOT "[Boot]\nKernel=/k\n"

Test(drives, kernel_command_line_has) {
        static const struct {
                const char *cmdline, *parameter;
                bool has;
        } cases[] = {
                { "root=/dev/vda rw", "root", true },
                { "quiet  root=LABEL=x", "root", true },
                { "\troot=/dev/vda", "root", true },
                { "rootfstype=ext4", "root", false },
                { "myroot=/dev/vda", "root", false },
                { "ro root", "root", true },
                { "", "root", false },
                { "console=ttyS0 rootfstype=ext4", "rootfstype", true },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                cr_expect_eq(kernel_command_line_has(cases[i].cmdline, cases[i].parameter), cases[i].has,
                             "'%s' has %s: %d", cases[i].cmdline, cases[i].parameter, !cases[i].has);
}

/* A start's configuration: Format=auto resolved, root= and rootfstype= for the root drive where the
 * user's command line leaves them out, at the root drive's place among the disks. */
Test(drives, fill_config) {
        static const struct {
                const char *name, *cmdline, *expected;
        } cases[] = {
                { "no command line", "", "root=/dev/vdb rootfstype=ext4" },
                { "a command line", "KernelCommandLine=quiet\n", "quiet root=/dev/vdb rootfstype=ext4" },
                { "rootfstype= given", "KernelCommandLine=rootfstype=ext2\n", "rootfstype=ext2 root=/dev/vdb" },
                { "root= given", "KernelCommandLine=root=/dev/vda1 ro\n", "root=/dev/vda1 ro" },
        };

        sh("truncate -s 1M data.img && mkfs.ext4 -q -F root.ext4 4M && qemu-img create -q -f qcow2 disk.qcow2 16M");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *text = g_strdup_printf(BOOT "%s[Drive]\nPath={dir}/data.img\n"
                                                        "[Drive]\nPath={dir}/root.ext4\nRoot=yes\n"
                                                        "[Drive]\nPath={dir}/disk.qcow2\n", cases[i].cmdline);
                _cleanup_(config_freep) Config *c = config(text);
                _cleanup_(drive_probes_done) DriveProbes probes = {};
                g_autofree char *problem = NULL;

                cr_assert_eq(drives_probe(c, &probes, &problem), 0, "%s: %s", cases[i].name, strempty(problem));
                cr_assert_eq(probes.n, 3);
                cr_assert_eq(drives_fill_config(c, &probes, &problem), 0, "%s: %s", cases[i].name, strempty(problem));
                expect_streq(config_get_string(c, CONFIG_KERNEL_COMMAND_LINE), cases[i].expected, cases[i].name);

                static const char *const formats[] = { "raw", "raw", "qcow2" };
                for (size_t d = 0; d < 3; d++) {
                        g_autoptr(GVariant) f = config_group_get(&c->groups[CONFIG_SECTION_DRIVE][d], CONFIG_DRIVE_FORMAT);
                        expect_streq(g_variant_get_string(f, NULL), formats[d], cases[i].name);
                }
        }
}

Test(drives, probe_refuses) {
        static const struct {
                const char *name, *keyfile;
                int r;
                const char *problem;
        } cases[] = {
                { "qcow2 for firecracker", "[VM]\nHypervisor=firecracker\n" BOOT "[Drive]\nPath={dir}/disk.qcow2\n",
                  -EMEDIUMTYPE, "Drives[0] '{dir}/disk.qcow2' is a qcow2 image, but firecracker takes only raw "
                  "images: convert it (qemu-img convert -O raw '{dir}/disk.qcow2' NEW.img) and use that" },
                { "Format=qcow2 of raw", BOOT "[Drive]\nPath={dir}/data.img\nFormat=qcow2\n", -EMEDIUMTYPE,
                  "Drives[0] '{dir}/data.img': Format=qcow2, but the image is not qcow2 (no qcow2 header): use "
                  "Format=raw or auto" },
                { "qcow2 root", BOOT "[Drive]\nPath={dir}/disk.qcow2\nRoot=yes\n", -EOPNOTSUPP,
                  "Drives[0] is the root drive, but '{dir}/disk.qcow2' is a qcow2 image, whose filesystem microvm "
                  "does not probe: give the kernel root= and rootfstype= yourself, or convert the image to raw "
                  "(qemu-img convert -O raw)" },
                /* Allowed: what the user asked for, spelled out. */
                { "Format=raw of qcow2", BOOT "[Drive]\nPath={dir}/disk.qcow2\nFormat=raw\n", 0, NULL },
                { "qcow2 for qemu", BOOT "[Drive]\nPath={dir}/disk.qcow2\n", 0, NULL },
                { "qcow2 for firecracker as raw", "[VM]\nHypervisor=firecracker\n" BOOT
                  "[Drive]\nPath={dir}/disk.qcow2\nFormat=raw\n", 0, NULL },
                { "qcow2 root with root=", BOOT "KernelCommandLine=root=/dev/vda1\n[Drive]\nPath={dir}/disk.qcow2\nRoot=yes\n",
                  0, NULL },
        };

        sh("truncate -s 1M data.img && qemu-img create -q -f qcow2 disk.qcow2 16M");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = config(cases[i].keyfile);
                _cleanup_(drive_probes_done) DriveProbes probes = {};
                g_autofree char *problem = NULL, *expected = NULL;

                cr_expect_eq(drives_probe(c, &probes, &problem), cases[i].r, "%s: %s", cases[i].name,
                             strempty(problem));
                if (cases[i].problem) {
                        g_auto(GStrv) parts = g_strsplit(cases[i].problem, "{dir}", -1);

                        expected = g_strjoinv(dir, parts);
                }
                expect_streq(problem, expected, cases[i].name);
        }
}

Test(vm_seed, wanted) {
        _cleanup_(config_freep) Config *none = config(BOOT), *empty = config(BOOT "[CloudInit]\nUserData=\n");
        _cleanup_(config_freep) Config *host = config(BOOT "[CloudInit]\nLocalHostname=web\n");

        cr_expect_not(vm_seed_wanted(none), "no [CloudInit]: no seed");
        cr_expect_not(vm_seed_wanted(empty), "only empty keys: no seed");
        cr_expect(vm_seed_wanted(host), "a key set: a seed");
}

Test(vm_seed, load) {
        _cleanup_(config_freep) Config *defaults = config(BOOT "[CloudInit]\nNetworkConfig=version: 2\\n\n");
        _cleanup_(config_freep) Config *given = config(BOOT "[CloudInit]\nUserData={dir}/user-data\n"
                                                       "MetaData=instance-id: x\\n\nInstanceID=i-1\nLocalHostname=h\n");
        _cleanup_(vm_seed_inputs_done) VMSeedInputs a = {}, b = {};
        g_autofree char *problem = NULL, *path = g_build_filename(dir, "user-data", NULL);

        cr_assert_eq(vm_seed_load(defaults, "web", &a, &problem), 0, "%s", strempty(problem));
        cr_expect_null(a.user_data, "no UserData: cloud-init's default");
        cr_expect_null(a.meta_data, "no MetaData: generated");
        expect_streq(a.network_config, "version: 2\n", "NetworkConfig inline");
        expect_streq(a.local_hostname, "web", "the VM's name is the default hostname");
        cr_expect(g_str_has_prefix(a.instance_id, "iid-microvm-") && strlen(a.instance_id) == 12 + 16,
                  "the derived instance id: %s", a.instance_id);

        file_write(path, "#cloud-config\nfrom: file\n", strlen("#cloud-config\nfrom: file\n"));
        cr_assert_eq(vm_seed_load(given, "web", &b, &problem), 0, "%s", strempty(problem));
        expect_streq(b.user_data, "#cloud-config\nfrom: file\n", "UserData from the file");
        expect_streq(b.meta_data, "instance-id: x\n", "MetaData inline");
        expect_streq(b.instance_id, "i-1", "InstanceID given");
        expect_streq(b.local_hostname, "h", "LocalHostname given");
}

Test(vm_seed, load_refuses) {
        static const struct {
                const char *name, *keyfile;
                int r;
                const char *problem;
        } cases[] = {
                { "missing file", BOOT "[CloudInit]\nUserData={dir}/nothing\n", -ENOENT,
                  "CloudInit UserData: '{dir}/nothing' cannot be read (No such file or directory): put the file "
                  "there, or give the contents themselves instead of a path" },
                { "a directory", BOOT "[CloudInit]\nMetaData={dir}\n", -EISDIR,
                  "CloudInit MetaData: '{dir}' cannot be read (Is a directory): put the file there, or give the "
                  "contents themselves instead of a path" },
                { "binary", BOOT "[CloudInit]\nNetworkConfig={dir}/binary\n", -EINVAL,
                  "CloudInit NetworkConfig: '{dir}/binary' is not UTF-8 text, which cloud-init expects" },
                { "too large", BOOT "[CloudInit]\nUserData={dir}/large\n", -EFBIG,
                  "CloudInit UserData: '{dir}/large' is larger than 1024 KiB, more than a seed should carry: "
                  "fetch large data from the guest instead" },
        };

        sh("printf 'a\\0b' > binary && truncate -s 2M large");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = config(cases[i].keyfile);
                _cleanup_(vm_seed_inputs_done) VMSeedInputs in = {};
                g_autofree char *problem = NULL, *expected = NULL;
                g_auto(GStrv) parts = g_strsplit(cases[i].problem, "{dir}", -1);

                expected = g_strjoinv(dir, parts);
                cr_expect_eq(vm_seed_load(c, "web", &in, &problem), cases[i].r, "%s", cases[i].name);
                expect_streq(problem, expected, cases[i].name);
        }
}
