/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Firecracker and cloud-hypervisor backends: Firecracker's --config-file JSON and argv, and
 * cloud-hypervisor's argv, for a set of configurations, each compared with its golden file
 * (tests/golden/firecracker/CASE.json and .argv, tests/golden/cloud-hypervisor/CASE.argv; the
 * README.md beside them names the API specification each was checked against). And what each
 * refuses at CreateVM. After a deliberate change, rewrite the golden files with
 *
 *     MVM_UPDATE_GOLDEN=1 meson test -C BUILD_DIR test-hypervisors
 *
 * and check the change against the specifications before committing it. */

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "backend.h"
#include "keyfile.h"
#include "strv.h"
#include "test-util.h"

#define BOOT "[Boot]\nKernel=/var/lib/microvm/images/vmlinux\n"

static const struct {
        const char *name;               /* the golden files: NAME.json, NAME.argv */
        const char *keyfile;
        const char *vm;
        const char *seed_path;          /* NULL: none */
        bool restore;
        bool firecracker_only;
} cases[] = {
        /* No initrd, no drives, no NICs: the smallest VM. */
        { "minimal", "[VM]\nVsockCID=3\n\n" BOOT, "web" },
        { "initrd-cmdline",
          "[VM]\nVCPUs=2\nMemoryMiB=256\nVsockCID=3\n\n" BOOT "Initrd=/var/lib/microvm/images/initrd.img\n"
          "KernelCommandLine=root=/dev/vda rw quiet\n",
          "web" },
        { "one-drive",
          "[VM]\nVsockCID=7\n\n" BOOT "KernelCommandLine=root=/dev/vda rw\n"
          "\n[Drive]\nPath=/var/lib/microvm/web/root.img\nRoot=yes\n",
          "web" },
        /* In order; read-only ones shared; the seed last and read-only. */
        { "drives",
          "[VM]\nVsockCID=12\n\n" BOOT "KernelCommandLine=root=/dev/vda rw\n"
          "\n[Drive]\nPath=/var/lib/microvm/db/root.img\nRoot=yes\nFormat=raw\n"
          "\n[Drive]\nPath=/var/lib/microvm/images/data.img\nReadOnly=yes\n"
          "\n[Drive]\nPath=/dev/vg0/db-scratch\n",
          "db", "/var/lib/microvm/db/cidata.iso" },
        /* Firecracker's two cache types. */
        { "cache-unsafe",
          "[VM]\nVsockCID=3\n\n" BOOT "\n[Drive]\nPath=/var/lib/microvm/web/scratch.img\nCache=unsafe\n"
          "\n[Drive]\nPath=/var/lib/microvm/web/data.img\nCache=writeback\n",
          "web", NULL, false, true },
        { "read-only",
          "[VM]\nVsockCID=3\n\n" BOOT "\n[Drive]\nPath=/var/lib/microvm/images/tools.img\nReadOnly=yes\n", "web" },
        { "networks",
          "[VM]\nVsockCID=4\n\n" BOOT
          "\n[Network]\nBridge=microvm0\nMACAddress=02:00:00:00:00:01\nTAP=mvm-db-0\n"
          "\n[Network]\nBridge=br-lan\nMACAddress=52:54:00:ab:cd:ef\nTAP=tap-db-lan\n",
          "db" },
        { "vsock", "[VM]\nVsockCID=4294967294\n\n" BOOT, "web" },
        /* A restore: an empty hypervisor, filled by the snapshot load through the API. */
        { "restore", "[VM]\nVsockCID=3\n\n" BOOT "\n[Drive]\nPath=/var/lib/microvm/web/root.img\n", "web", NULL,
          true },
};

/* Cases only cloud-hypervisor takes: a qcow2 image, O_DIRECT, and ',' in paths, which it reads
 * quoted. */
static const struct {
        const char *name;
        const char *keyfile;
        const char *runtime_dir;
} ch_cases[] = {
        { "qcow2-direct",
          "[VM]\nVsockCID=5\n\n" BOOT "\n[Drive]\nPath=/var/lib/microvm/db/root.qcow2\nFormat=qcow2\nCache=none\n",
          "/run/microvm/db" },
        { "commas",
          "[VM]\nVsockCID=5\n\n[Boot]\nKernel=/srv/vm,images/vmlinux\nKernelCommandLine=a=b,c\n"
          "\n[Drive]\nPath=/srv/vm,images/root.img\nReadOnly=yes\n"
          "\n[Network]\nMACAddress=02:00:00:00:00:01\nTAP=tap,0\n",
          "/run/vm,s/web" },
};

/* The key file with Hypervisor= added to its [VM] section (or a new one). */
static char *with_hypervisor(const char *keyfile, const char *hypervisor) {
        if (g_str_has_prefix(keyfile, "[VM]\n"))
                return g_strdup_printf("[VM]\nHypervisor=%s\n%s", hypervisor, keyfile + strlen("[VM]\n"));
        return g_strdup_printf("[VM]\nHypervisor=%s\n\n%s", hypervisor, keyfile);
}

static Config *parse(const char *name, const char *keyfile, const char *hypervisor) {
        g_autofree char *text = with_hypervisor(keyfile, hypervisor), *error = NULL;
        Config *c = NULL;

        cr_assert_eq(keyfile_parse(text, "test.vm", &c, &error), 0, "%s: %s", name, strempty(error));
        return c;
}

static BackendContext context(const char *vm, const Config *c, const Backend *b, const char *run) {
        return (BackendContext) {
                .name = vm,
                .config = c,
                .binary = b->binary,
                .runtime_dir = run,
                .state_dir = "/var/lib/microvm/web",
                .accelerator = ACCELERATOR_KVM,
                .vsock = true,
        };
}

Test(firecracker, golden) {
        const Backend *fc = backend_get("firecracker");

        cr_assert_not_null(fc);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *name = cases[i].name;
                _cleanup_(config_freep) Config *c = parse(name, cases[i].keyfile, "firecracker");
                g_autofree char *run = g_strdup_printf("/run/microvm/%s", cases[i].vm), *json = NULL;
                g_autofree char *argv_file = g_strdup_printf("%s.argv", name), *json_file = g_strdup_printf("%s.json", name);
                g_autofree char *text = NULL;
                _cleanup_strv_free_ char **argv = NULL;
                BackendContext ctx = context(cases[i].vm, c, fc, run);
                json_object *parsed;

                ctx.seed_path = cases[i].seed_path;
                ctx.restore = cases[i].restore;
                cr_assert_eq(fc->build_argv(&ctx, &argv), 0, "%s", name);
                text = argv_to_text(argv, name);
                golden_check("firecracker", argv_file, text);
                if (cases[i].restore)
                        continue;

                cr_assert_eq(fc->build_config_file(&ctx, &json), 0, "%s", name);
                /* Firecracker ignores unknown top-level keys: a typo would boot with its defaults. */
                parsed = json_tokener_parse(json);
                cr_assert_not_null(parsed, "%s: the configuration is JSON", name);
                json_object_object_foreach(parsed, key, value) {
                        static const char *const known[] = { "boot-source", "machine-config", "drives",
                                                             "network-interfaces", "vsock", "logger", "entropy",
                                                             NULL };

                        (void) value;
                        cr_expect(g_strv_contains(known, key), "%s: '%s' is a key Firecracker reads", name, key);
                }
                json_object_put(parsed);
                g_autofree char *with_newline = g_strdup_printf("%s\n", json);
                golden_check("firecracker", json_file, with_newline);
        }
}

Test(cloud_hypervisor, golden) {
        const Backend *ch = backend_get("cloud-hypervisor");

        cr_assert_not_null(ch);
        for (size_t i = 0; i < ELEMENTSOF(cases) + ELEMENTSOF(ch_cases); i++) {
                bool shared = i < ELEMENTSOF(cases);
                const char *name = shared ? cases[i].name : ch_cases[i - ELEMENTSOF(cases)].name;
                const char *keyfile = shared ? cases[i].keyfile : ch_cases[i - ELEMENTSOF(cases)].keyfile;
                _cleanup_(config_freep) Config *c = NULL;
                g_autofree char *run = shared ? g_strdup_printf("/run/microvm/%s", cases[i].vm)
                                              : g_strdup(ch_cases[i - ELEMENTSOF(cases)].runtime_dir);
                g_autofree char *file = g_strdup_printf("%s.argv", name), *text = NULL;
                _cleanup_strv_free_ char **argv = NULL;
                BackendContext ctx;

                if (shared && cases[i].firecracker_only)
                        continue;
                c = parse(name, keyfile, "cloud-hypervisor");
                ctx = context(shared ? cases[i].vm : "web", c, ch, run);
                if (shared) {
                        ctx.seed_path = cases[i].seed_path;
                        ctx.restore = cases[i].restore;
                }
                cr_assert_eq(ch->build_argv(&ctx, &argv), 0, "%s", name);
                expect_streq(argv[0], "cloud-hypervisor", name);
                cr_expect_null(ch->build_config_file, "no configuration file");
                text = argv_to_text(argv, name);
                golden_check("cloud-hypervisor", file, text);
        }
}

/* What each hypervisor cannot do is refused when the configuration is made, with what to change. */
Test(backends, check_config) {
        static const struct {
                const char *hypervisor;
                const char *keyfile;
                const char *problem;    /* a part of the message; NULL: accepted */
        } checks[] = {
                { "firecracker", BOOT, NULL },
                { "firecracker", "[VM]\nAccelerator=tcg\n\n" BOOT, "Firecracker runs guests on KVM only" },
                { "firecracker", "[VM]\nAccelerator=kvm\n\n" BOOT, NULL },
                { "firecracker", BOOT "\n[Drive]\nPath=/v/a.qcow2\nFormat=qcow2\n", "Drives[0].Format=qcow2: Firecracker reads raw" },
                { "firecracker", BOOT "\n[Drive]\nPath=/v/a.img\nFormat=auto\n", NULL },
                { "firecracker", BOOT "\n[Drive]\nPath=/v/a.img\n\n[Drive]\nPath=/v/b.img\nCache=none\n", "Drives[1].Cache=none" },
                { "firecracker", BOOT "\n[Drive]\nPath=/v/a.img\nCache=unsafe\n", NULL },
                { "firecracker", BOOT "\n[Drive]\nPath=/v/a.img\nDiscard=yes\n", "Drives[0].Discard=yes" },
                { "cloud-hypervisor", "[VM]\nAccelerator=tcg\n\n" BOOT, "cloud-hypervisor runs guests on KVM only" },
                { "cloud-hypervisor", BOOT "\n[Drive]\nPath=/v/a.qcow2\nFormat=qcow2\nCache=none\nDiscard=yes\n", NULL },
                { "cloud-hypervisor", BOOT "\n[Drive]\nPath=/v/a.img\nCache=unsafe\n", "Drives[0].Cache=unsafe" },
                { "cloud-hypervisor", BOOT "\n[Drive]\nPath=/v/a\"b.img\n", "cannot be given a path with '\"'" },
                { "qemu", "[VM]\nAccelerator=tcg\n\n" BOOT "\n[Drive]\nPath=/v/a.img\nCache=directsync\n", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                g_autofree char *error = NULL, *text = with_hypervisor(checks[i].keyfile, checks[i].hypervisor);
                int r;

                r = keyfile_parse(text, "test.vm", &c, &error);
                if (!checks[i].problem) {
                        cr_expect_eq(r, 0, "%zu (%s): accepted, not: %s", i, checks[i].hypervisor, strempty(error));
                        continue;
                }
                cr_expect_lt(r, 0, "%zu (%s): refused", i, checks[i].hypervisor);
                cr_expect(error && strstr(error, checks[i].problem), "%zu: '%s' in '%s'", i, checks[i].problem,
                          strempty(error));
        }
}

Test(backends, fields) {
        for (size_t i = 0; backends[i]; i++) {
                const Backend *b = backends[i];

                cr_expect_not_null(b->display_name, "%s", b->name);
                cr_expect_not_null(b->build_argv, "%s", b->name);
                cr_expect_eq(b->build_config_file != NULL, b->config_file != NULL, "%s: a file and its name", b->name);
                cr_expect_eq(b->control == BACKEND_CONTROL_QMP, streq(b->name, "qemu"), "%s: QMP is QEMU's", b->name);
                cr_expect_eq(b->agent_over_vsock, b->control == BACKEND_CONTROL_HTTP, "%s: the agent's channel",
                             b->name);
                cr_expect(b->kvm_only || b->overhead_mib[ACCELERATOR_TCG] > 0, "%s", b->name);
        }
        cr_expect(!backend_get("firecracker")->serial_socket, "Firecracker's console is its standard output");
        cr_expect(!backend_get("firecracker")->exits_on_poweroff, "Firecracker stays after a guest's poweroff");
        cr_expect(backend_get("cloud-hypervisor")->exits_on_poweroff, "cloud-hypervisor exits");
}
