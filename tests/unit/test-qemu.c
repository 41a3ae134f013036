/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The QEMU backend's command line for a set of configurations, each compared with its golden
 * file tests/golden/qemu/CASE.argv (one argument per line), and the backend and accelerator
 * tables. After a deliberate change to the command line, rewrite the golden files with
 *
 *     MVM_UPDATE_GOLDEN=1 meson test -C BUILD_DIR test-qemu
 *
 * and review the change with git diff tests/golden/qemu. */

#include <criterion/criterion.h>

#include "backend.h"
#include "keyfile.h"
#include "strv.h"
#include "test-util.h"

#define BOOT "[Boot]\nKernel=/var/lib/microvm/images/vmlinuz\n"
#define TSC_KHZ UINT64_C(2596098)

static const struct {
        const char *name;               /* the golden file: NAME.argv */
        const char *keyfile;
        const char *vm;                 /* the VM's name */
        Accelerator accelerator;
        uint64_t tsc_khz;
        const char *runtime_dir;        /* NULL: /run/microvm/VM */
        const char *state_dir;          /* NULL: /var/lib/microvm/VM */
        const char *seed_path;          /* the cloud-init seed; NULL: none */
        bool vsock;                     /* the host has vhost-vsock */
        bool restore;                   /* a restore: paused, waiting for the snapshot's state */
} cases[] = {
        { "minimal", BOOT, "web", ACCELERATOR_TCG, TSC_KHZ },
        { "initrd-cmdline",
          BOOT "Initrd=/var/lib/microvm/images/initrd.img\nKernelCommandLine=root=/dev/vda rw quiet\n",
          "web", ACCELERATOR_TCG, TSC_KHZ },
        /* KVM: -accel kvm -cpu host, and the guest calibrates its own TSC. */
        { "kvm", "[VM]\nAccelerator=kvm\n\n" BOOT "KernelCommandLine=quiet\n",
          "web", ACCELERATOR_KVM, TSC_KHZ },
        /* Accelerator=auto in the file: what was resolved decides, not the file. */
        { "kvm-auto", "[VM]\nAccelerator=auto\n\n" BOOT, "web", ACCELERATOR_KVM, /* tsc_khz= */ 0 },
        { "tcg-tsc-unknown", BOOT "KernelCommandLine=quiet\n", "web", ACCELERATOR_TCG, /* tsc_khz= */ 0 },
        { "tcg-tsc-other", BOOT, "web", ACCELERATOR_TCG, UINT64_C(3000000) },
        { "drives",
          BOOT
          "\n[Drive]\nPath=/var/lib/microvm/db/root.img\nRoot=yes\n"
          "\n[Drive]\nPath=/var/lib/microvm/images/data.img\nReadOnly=yes\n"
          "\n[Drive]\nPath=/dev/vg0/db-scratch\nReadOnly=no\n"
          "\n[Drive]\nPath=/var/lib/microvm/images/seed.iso\nReadOnly=yes\nRoot=no\n",
          "db", ACCELERATOR_TCG, TSC_KHZ },
        /* Format= as the launcher resolved it, the cache modes, discard; the seed last, read-only. */
        { "drive-options",
          BOOT
          "\n[Drive]\nPath=/var/lib/microvm/db/root.qcow2\nRoot=yes\nFormat=qcow2\nCache=none\nDiscard=yes\n"
          "\n[Drive]\nPath=/var/lib/microvm/images/data.img\nFormat=raw\nReadOnly=yes\nCache=unsafe\n"
          "\n[Drive]\nPath=/dev/vg0/db-log\nCache=directsync\nDiscard=yes\n",
          "db", ACCELERATOR_TCG, TSC_KHZ, NULL, NULL, "/var/lib/microvm/db/cidata.iso" },
        /* A vsock device with the VM's context ID, where the host has vhost-vsock. */
        { "vsock", "[VM]\nVsockCID=42\n\n" BOOT, "web", ACCELERATOR_KVM, TSC_KHZ, NULL, NULL, NULL, true },
        /* RestoreVM: -S and -incoming defer; the unit's start hands over the state file. */
        { "restore", BOOT, "web", ACCELERATOR_TCG, TSC_KHZ, NULL, NULL, NULL, false, true },
        { "seed-only", BOOT "[CloudInit]\nLocalHostname=web\n", "web", ACCELERATOR_TCG, TSC_KHZ, NULL, NULL,
          "/var/lib/microvm/web/cidata.iso" },
        /* ',' separates QEMU's option values: doubled inside -drive and -chardev, where it would
         * end the value, but not in -kernel, -initrd and -append, which QEMU takes whole. */
        { "commas",
          "[Boot]\nKernel=/srv/vm,images/vmlinuz\nInitrd=/srv/vm,images/initrd,,1.img\n"
          "KernelCommandLine=console=hvc0,115200 a=b,c\n"
          "\n[Drive]\nPath=/srv/vm,images/root,ro.img\nReadOnly=yes\n",
          "web", ACCELERATOR_TCG, TSC_KHZ, "/run/vm,s/web", "/var/lib/vm,s,,x/web" },
        { "resources", "[VM]\nVCPUs=4\nMemoryMiB=2048\n\n" BOOT, "web", ACCELERATOR_TCG, TSC_KHZ },
        { "resources-smallest", "[VM]\nVCPUs=1\nMemoryMiB=16\n\n" BOOT, "web", ACCELERATOR_KVM, TSC_KHZ },
        { "resources-most-vcpus", "[VM]\nVCPUs=256\nMemoryMiB=1024\n\n" BOOT, "web", ACCELERATOR_KVM, TSC_KHZ },
        /* Another name, and directories with spaces in their paths. */
        { "other-name", BOOT, "db.backup_2", ACCELERATOR_TCG, TSC_KHZ },
        { "dirs-given", BOOT, "web", ACCELERATOR_TCG, TSC_KHZ,
          "/tmp/micro vm/run/web", "/tmp/micro vm/state/web" },
        /* A virtio-net device per NIC on its TAP, with its MAC; the bridge is the host's business. */
        { "network",
          BOOT "\n[Network]\nBridge=microvm0\nMACAddress=4a:ba:42:e3:73:77\nTAP=mvm-web-0\n",
          "web", ACCELERATOR_KVM, TSC_KHZ },
        { "networks",
          BOOT
          "\n[Drive]\nPath=/var/lib/microvm/db/root.img\nRoot=yes\n"
          "\n[Network]\nBridge=microvm0\nMACAddress=02:00:00:00:00:01\nTAP=mvm-db-0\n"
          "\n[Network]\nBridge=br-lan\nMACAddress=52:54:00:AB:CD:EF\nTAP=tap-db-lan\n",
          "db", ACCELERATOR_TCG, TSC_KHZ },
        /* ',' is allowed in an interface name: doubled in -netdev like everywhere else. */
        { "network-comma",
          BOOT "\n[Network]\nBridge=br,0\nMACAddress=02:00:00:00:00:01\nTAP=tap,0\n",
          "web", ACCELERATOR_TCG, TSC_KHZ },
};

Test(qemu, golden_argv) {
        const Backend *qemu = backend_get("qemu");

        cr_assert_not_null(qemu);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *name = cases[i].name;
                _cleanup_(config_freep) Config *c = NULL;
                g_autofree char *run = g_strdup_printf("/run/microvm/%s", cases[i].vm);
                g_autofree char *state = g_strdup_printf("/var/lib/microvm/%s", cases[i].vm);
                _cleanup_strv_free_ char **argv = NULL;
                g_autofree char *error = NULL, *file = g_strdup_printf("%s.argv", name), *text = NULL;
                BackendContext ctx;

                cr_assert_eq(keyfile_parse(cases[i].keyfile, "test.vm", &c, &error), 0, "%s: %s", name,
                             strempty(error));
                ctx = (BackendContext) {
                        .name = cases[i].vm,
                        .config = c,
                        .binary = qemu->binary,
                        .runtime_dir = cases[i].runtime_dir ?: run,
                        .state_dir = cases[i].state_dir ?: state,
                        .accelerator = cases[i].accelerator,
                        .tsc_khz = cases[i].tsc_khz,
                        .seed_path = cases[i].seed_path,
                        .vsock = cases[i].vsock,
                        .restore = cases[i].restore,
                };

                cr_assert_eq(qemu->build_argv(&ctx, &argv), 0, "%s", name);
                cr_assert_not_null(argv, "%s", name);
                expect_streq(argv[0], "qemu-system-x86_64", name);
                text = argv_to_text(argv, name);
                golden_check("qemu", file, text);
        }
}

/* The binary is argv[0] as given, so that the launcher can pass the path it found. */
Test(qemu, binary_is_argv0) {
        const Backend *qemu = backend_get("qemu");
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        BackendContext ctx = {
                .name = "web",
                .binary = "/opt/qemu/bin/qemu-system-x86_64",
                .runtime_dir = "/run/microvm/web",
                .state_dir = "/var/lib/microvm/web",
                .accelerator = ACCELERATOR_TCG,
        };

        cr_assert_eq(keyfile_parse(BOOT, "test.vm", &c, NULL), 0);
        ctx.config = c;
        cr_assert_eq(qemu->build_argv(&ctx, &argv), 0);
        expect_streq(argv[0], "/opt/qemu/bin/qemu-system-x86_64", "argv[0]");
        cr_expect_gt(strv_length(argv), 1);
}

Test(backend, get) {
        static const struct {
                const char *hypervisor;
                const char *name;       /* NULL: no backend in this build */
        } names[] = {
                { "qemu", "qemu" },
                { "firecracker", "firecracker" },
                { "cloud-hypervisor", "cloud-hypervisor" },
                { "", NULL },
                { "QEMU", NULL },
                { "qemu ", NULL },
                { "qemu-system-x86_64", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                const Backend *b = backend_get(names[i].hypervisor);

                expect_streq(b ? b->name : NULL, names[i].name, names[i].hypervisor);
        }
}

Test(backend, qemu_fields) {
        const Backend *qemu = backend_get("qemu");

        cr_assert_not_null(qemu);
        expect_streq(qemu->binary, "qemu-system-x86_64", "the binary");
        cr_expect_not_null(qemu->build_argv);
        for (Accelerator a = 0; a < _ACCELERATOR_MAX; a++)
                cr_expect_gt(qemu->overhead_mib[a], 0, "%s: an overhead", accelerator_to_string(a));
        cr_expect_gt(qemu->overhead_mib[ACCELERATOR_TCG], qemu->overhead_mib[ACCELERATOR_KVM],
                     "TCG keeps translated code besides the guest's memory");
}

Test(accelerator, to_string) {
        static const struct {
                Accelerator a;
                const char *name;
        } names[] = {
                { ACCELERATOR_KVM, "kvm" },
                { ACCELERATOR_TCG, "tcg" },
                { _ACCELERATOR_MAX, NULL },
                { _ACCELERATOR_INVALID, NULL },
                { (Accelerator) -1, NULL },
                { (Accelerator) 100, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                g_autofree char *what = g_strdup_printf("accelerator %d", (int) names[i].a);

                expect_streq(accelerator_to_string(names[i].a), names[i].name, what);
        }
}
