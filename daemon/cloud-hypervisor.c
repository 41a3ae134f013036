/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cloud-hypervisor backend: the VM on the command line, so that cloud-hypervisor boots it at
 * once as the unit's main process; its API socket for everything after the boot, and the serial
 * console on a socket microvmd connects to, as with QEMU. */

#include <inttypes.h>
#include <stdio.h>

#include "backend.h"
#include "problem.h"
#include "strv.h"

/* cloud-hypervisor reads a value that holds ',' in double quotes, and has no escape for '"'. */
static char *option_value(const char *s) {
        char *v;

        if (!strchr(s, ','))
                return strdup(s);
        return asprintf(&v, "\"%s\"", s) < 0 ? NULL : v;
}

/* prefix, then dir/file as an option value: "socket=/run/microvm/web/serial.sock". */
static int socket_option(const char *prefix, const char *dir, const char *file, char **ret) {
        _cleanup_free_ char *path = NULL, *value = NULL;

        if (asprintf(&path, "%s/%s", dir, file) < 0)
                return -ENOMEM;
        value = option_value(path);
        if (!value || asprintf(ret, "%s%s", prefix, value) < 0)
                return -ENOMEM;
        return 0;
}

/* Only the host's page cache (writeback) or none of it (O_DIRECT). */
static int cloud_hypervisor_check_config(const Config *c, char **ret_problem) {
        for (size_t i = 0; i < c->n_groups[CONFIG_SECTION_DRIVE]; i++) {
                const ConfigGroup *d = &c->groups[CONFIG_SECTION_DRIVE][i];
                g_autoptr(GVariant) h1 = NULL, h2 = NULL;
                const char *cache = config_group_get_string(d, CONFIG_DRIVE_CACHE, &h1);
                const char *path = config_group_get_string(d, CONFIG_DRIVE_PATH, &h2);

                if (!streq(cache, "writeback") && !streq(cache, "none"))
                        return problem_set(-EINVAL, ret_problem, "Drives[%zu].Cache=%s: cloud-hypervisor uses the "
                                           "host's page cache (Cache=writeback) or bypasses it (Cache=none)", i, cache);
                if (strchr(path, '"'))
                        return problem_set(-EINVAL, ret_problem, "Drives[%zu].Path='%s': cloud-hypervisor cannot "
                                           "be given a path with '\"' in it; rename the image", i, path);
        }
        return 0;
}

static int disk_value(const char *path, const char *format, bool read_only, const char *cache, char **ret) {
        _cleanup_free_ char *p = option_value(path);

        if (!p)
                return -ENOMEM;
        /* image_type always: cloud-hypervisor guessing the format of a raw image refuses the guest
         * writes to its first sector, and would let a guest's qcow2 header name host files. */
        return asprintf(ret, "path=%s%s%s,image_type=%s", p, read_only ? ",readonly=on" : "",
                        streq(cache, "none") ? ",direct=on" : "", format) < 0 ? -ENOMEM : 0;
}

/* One --disk with every drive in order, then the seed: the guest names them vda, vdb, … */
static int add_disks(const BackendContext *ctx, char ***argv) {
        const Config *c = ctx->config;
        _cleanup_strv_free_ char **values = NULL;
        int r;

        for (size_t i = 0; i < c->n_groups[CONFIG_SECTION_DRIVE]; i++) {
                const ConfigGroup *d = &c->groups[CONFIG_SECTION_DRIVE][i];
                g_autoptr(GVariant) h1 = NULL, h2 = NULL, h3 = NULL;
                const char *path = config_group_get_string(d, CONFIG_DRIVE_PATH, &h1);
                const char *format = config_group_get_string(d, CONFIG_DRIVE_FORMAT, &h2);
                const char *cache = config_group_get_string(d, CONFIG_DRIVE_CACHE, &h3);
                char *v;

                /* "auto" only reaches here unprobed (the golden tests): raw, as QEMU's backend says. */
                r = disk_value(path, streq(format, "auto") ? "raw" : format,
                               config_group_get_bool(d, CONFIG_DRIVE_READ_ONLY), cache, &v);
                if (r >= 0)
                        r = strv_consume(&values, v);
                if (r < 0)
                        return r;
        }
        if (ctx->seed_path) {
                char *v;

                r = disk_value(ctx->seed_path, "raw", /* read_only= */ true, "writeback", &v);
                if (r >= 0)
                        r = strv_consume(&values, v);
                if (r < 0)
                        return r;
        }
        if (!values)
                return 0;
        r = strv_extend(argv, "--disk");
        return r < 0 ? r : strv_extend_strv(argv, values);
}

static int add_nics(const Config *c, char ***argv) {
        _cleanup_strv_free_ char **values = NULL;
        int r;

        for (size_t i = 0; i < c->n_groups[CONFIG_SECTION_NETWORK]; i++) {
                const ConfigGroup *g = &c->groups[CONFIG_SECTION_NETWORK][i];
                g_autoptr(GVariant) h1 = NULL, h2 = NULL;
                _cleanup_free_ char *tap = option_value(config_group_get_string(g, CONFIG_NETWORK_TAP, &h1));

                if (!tap)
                        return -ENOMEM;
                r = strv_extendf(&values, "tap=%s,mac=%s", tap,
                                 config_group_get_string(g, CONFIG_NETWORK_MAC_ADDRESS, &h2));
                if (r < 0)
                        return r;
        }
        if (!values)
                return 0;
        r = strv_extend(argv, "--net");
        return r < 0 ? r : strv_extend_strv(argv, values);
}

/* Booting: the whole VM on the command line. Restoring: an empty VMM, which only a snapshot may
 * fill, through the API socket (the unit's start does it). */
static int cloud_hypervisor_build_argv(const BackendContext *ctx, char ***ret_argv) {
        _cleanup_free_ char *api = NULL, *cpus = NULL, *memory = NULL, *cmdline = NULL, *vsock_prefix = NULL,
                            *vsock = NULL, *serial = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        const Config *c = ctx->config;
        const char *initrd = config_get_string(c, CONFIG_INITRD);
        int r;

        r = socket_option("path=", ctx->runtime_dir, MVM_API_SOCKET, &api);
        if (r < 0)
                return r;
        r = strv_extend_many(&argv, ctx->binary, "--api-socket", api, NULL);
        if (r < 0)
                return r;
        if (ctx->restore) {
                *ret_argv = TAKE_PTR(argv);
                return 0;
        }

        r = backend_kernel_command_line(ctx, NULL, &cmdline);
        if (r < 0)
                return r;
        if (asprintf(&cpus, "boot=%" PRIu64, config_get_number(c, CONFIG_VCPUS)) < 0 ||
            asprintf(&memory, "size=%" PRIu64 "M", config_get_number(c, CONFIG_MEMORY_MIB)) < 0)
                return -ENOMEM;
        r = strv_extend_many(&argv, "--cpus", cpus, "--memory", memory, "--kernel", config_get_string(c, CONFIG_KERNEL),
                             NULL);
        if (r >= 0 && initrd[0])
                r = strv_extend_many(&argv, "--initramfs", initrd, NULL);
        if (r >= 0)
                r = strv_extend_many(&argv, "--cmdline", cmdline, NULL);
        if (r >= 0)
                r = add_disks(ctx, &argv);
        if (r >= 0)
                r = add_nics(c, &argv);
        if (r < 0)
                return r;

        if (asprintf(&vsock_prefix, "cid=%" PRIu64 ",socket=", config_get_number(c, CONFIG_VSOCK_CID)) < 0)
                return -ENOMEM;
        r = socket_option(vsock_prefix, ctx->runtime_dir, MVM_VSOCK_SOCKET, &vsock);
        if (r >= 0)
                r = socket_option("socket=", ctx->runtime_dir, MVM_SERIAL_SOCKET, &serial);
        if (r < 0)
                return r;
        /* The hybrid vsock needs nothing of the host: always there, for the agent. The console
         * defaults to the terminal, which a unit has none of. */
        r = strv_extend_many(&argv, "--vsock", vsock, "--serial", serial, "--console", "off", NULL);
        if (r < 0)
                return r;
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

const Backend cloud_hypervisor_backend = {
        .name = "cloud-hypervisor",
        .display_name = "cloud-hypervisor",
        .binary = "cloud-hypervisor",
        .overhead_mib = { [ACCELERATOR_KVM] = 64, [ACCELERATOR_TCG] = 64 },
        .kvm_only = true,
        .control = BACKEND_CONTROL_HTTP,
        .serial_socket = true,
        .agent_over_vsock = true,
        .exits_on_poweroff = true,
        .check_config = cloud_hypervisor_check_config,
        .build_argv = cloud_hypervisor_build_argv,
};
