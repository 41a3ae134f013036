/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The QEMU backend: a "-M microvm" command line with direct kernel boot, virtio-mmio devices,
 * the serial console on a Unix socket (and a log file), and QMP on another socket. */

#include <inttypes.h>
#include <stdio.h>

#include "agent-protocol.h"
#include "backend.h"
#include "strv.h"

/* QEMU splits option values at ',' and reads ",," as a literal comma. */
static char *qemu_escape(const char *s) {
        size_t n = 0;
        char *e, *p;

        for (const char *c = s; *c; c++)
                n += *c == ',' ? 2 : 1;
        e = p = malloc(n + 1);
        if (!e)
                return NULL;
        for (const char *c = s; *c; c++) {
                *p++ = *c;
                if (*c == ',')
                        *p++ = ',';
        }
        *p = '\0';
        return e;
}

/* Inherited descriptors go into an fd set of their own, which QEMU's opens of /dev/fdset/N take a
 * copy from, the one of the access mode it asks for: QEMU never opens the image itself. */
static int qemu_add_fd_set(char ***argv, size_t set, const int fds[], size_t n_fds) {
        for (size_t i = 0; i < n_fds; i++) {
                _cleanup_free_ char *add_fd = NULL;
                int r;

                if (fds[i] < 0)
                        continue;
                if (asprintf(&add_fd, "fd=%d,set=%zu", fds[i], set) < 0)
                        return -ENOMEM;
                r = strv_extend_many(argv, "-add-fd", add_fd, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int qemu_add_drive(char ***argv, size_t index, const char *path, int fd, int ro_fd, const char *format,
                          bool read_only, const char *cache, bool discard) {
        _cleanup_free_ char *file = NULL, *drive = NULL, *device = NULL;
        int r;

        if (fd >= 0) {
                r = qemu_add_fd_set(argv, index, (const int[]) { fd, ro_fd }, 2);
                if (r < 0)
                        return r;
                if (asprintf(&file, "/dev/fdset/%zu", index) < 0)
                        return -ENOMEM;
        } else if (!(file = qemu_escape(path)))
                return -ENOMEM;
        /* format= always: QEMU probing a raw image's contents would let a guest that writes a
         * qcow2 header there make the host open files that header names. */
        if (asprintf(&drive, "id=drive%zu,file=%s,format=%s,if=none,readonly=%s,cache=%s,discard=%s", index, file,
                     format, read_only ? "on" : "off", cache, discard ? "unmap" : "ignore") < 0 ||
            asprintf(&device, "virtio-blk-device,drive=drive%zu", index) < 0)
                return -ENOMEM;
        return strv_extend_many(argv, "-drive", drive, "-device", device, NULL);
}

/* The drives in order, then the seed: the guest names them vda, vdb, … in that order, which the
 * root= of drives_fill_config() counts on. */
static int qemu_add_drives(const BackendContext *ctx, char ***argv) {
        const Config *c = ctx->config;
        size_t n = c->n_groups[CONFIG_SECTION_DRIVE];
        int r;

        for (size_t i = 0; i < n; i++) {
                const ConfigGroup *d = &c->groups[CONFIG_SECTION_DRIVE][i];
                g_autoptr(GVariant) path = config_group_get(d, CONFIG_DRIVE_PATH);
                g_autoptr(GVariant) format = config_group_get(d, CONFIG_DRIVE_FORMAT);
                g_autoptr(GVariant) read_only = config_group_get(d, CONFIG_DRIVE_READ_ONLY);
                g_autoptr(GVariant) cache = config_group_get(d, CONFIG_DRIVE_CACHE);
                g_autoptr(GVariant) discard = config_group_get(d, CONFIG_DRIVE_DISCARD);
                const char *f = g_variant_get_string(format, NULL);

                /* Resolved by the launcher; "auto" only reaches here from a caller that did not
                 * probe (the golden tests), and raw is what an unprobed image is taken for. */
                r = qemu_add_drive(argv, i, g_variant_get_string(path, NULL), ctx->drive_fds ? ctx->drive_fds[i] : -EBADF,
                                   ctx->drive_ro_fds ? ctx->drive_ro_fds[i] : -EBADF, streq(f, "auto") ? "raw" : f,
                                   g_variant_get_boolean(read_only), g_variant_get_string(cache, NULL),
                                   g_variant_get_boolean(discard));
                if (r < 0)
                        return r;
        }

        if (ctx->seed_path)
                return qemu_add_drive(argv, n, ctx->seed_path, -EBADF, -EBADF, "raw", /* read_only= */ true, "writeback",
                                      /* discard= */ false);
        return 0;
}

/* One virtio-net device per NIC, on the TAP device the unit's preparation made. */
static int qemu_add_nics(const BackendContext *ctx, char ***argv) {
        const Config *c = ctx->config;
        int r;

        for (size_t i = 0; i < c->n_groups[CONFIG_SECTION_NETWORK]; i++) {
                const ConfigGroup *g = &c->groups[CONFIG_SECTION_NETWORK][i];
                g_autoptr(GVariant) tap = config_group_get(g, CONFIG_NETWORK_TAP);
                g_autoptr(GVariant) mac = config_group_get(g, CONFIG_NETWORK_MAC_ADDRESS);
                /* An interface name may hold ','. */
                _cleanup_free_ char *ifname = qemu_escape(g_variant_get_string(tap, NULL)), *netdev = NULL,
                                    *device = NULL;

                if (!ifname)
                        return -ENOMEM;
                if ((ctx->tap_fds ? asprintf(&netdev, "tap,id=net%zu,fd=%d", i, ctx->tap_fds[i])
                                  : asprintf(&netdev, "tap,id=net%zu,ifname=%s,script=no,downscript=no", i, ifname)) < 0 ||
                    asprintf(&device, "virtio-net-device,netdev=net%zu,mac=%s", i, g_variant_get_string(mac, NULL)) < 0)
                        return -ENOMEM;

                r = strv_extend_many(argv, "-netdev", netdev, "-device", device, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The guest agent's channels: one virtio-serial port per socket, named as the agent looks for them;
 * and a vsock device where the host has vhost-vsock. */
static int qemu_add_agent(const BackendContext *ctx, const char *run, char ***argv) {
        static const struct {
                const char *socket, *port;
        } channels[] = {
                { MVM_AGENT_SOCKET, MVM_AGENT_PORT_NAME_HOST },
                { MVM_AGENT_UNIT_SOCKET, MVM_AGENT_PORT_NAME_UNIT },
        };
        int r;

        r = strv_extend_many(argv, "-device", "virtio-serial-device", NULL);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(channels); i++) {
                _cleanup_free_ char *chardev = NULL, *port = NULL;

                if (asprintf(&chardev, "socket,id=agent%zu,path=%s/%s,server=on,wait=off", i, run,
                             channels[i].socket) < 0 ||
                    asprintf(&port, "virtserialport,chardev=agent%zu,name=%s", i, channels[i].port) < 0)
                        return -ENOMEM;
                r = strv_extend_many(argv, "-chardev", chardev, "-device", port, NULL);
        }
        if (r >= 0 && ctx->vsock) {
                _cleanup_free_ char *device = NULL;

                if (asprintf(&device, "vhost-vsock-device,guest-cid=%" PRIu64, config_get_number(ctx->config,
                                                                                              CONFIG_VSOCK_CID)) < 0)
                        return -ENOMEM;
                r = strv_extend_many(argv, "-device", device, NULL);
        }
        return r;
}

static int qemu_build_argv(const BackendContext *ctx, char ***ret_argv) {
        _cleanup_free_ char *cmdline = NULL, *run = NULL, *state = NULL, *name = NULL, *smp = NULL,
                            *memory = NULL, *serial = NULL, *qmp = NULL, *qmp_manager = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        const Config *c = ctx->config;
        const char *kernel, *initrd;
        bool kvm = ctx->accelerator == ACCELERATOR_KVM;
        int r;

        r = backend_kernel_command_line(ctx, NULL, &cmdline);
        if (r < 0)
                return r;

        /* Not -kernel, -initrd and -append: QEMU takes their values whole, ",," included. */
        kernel = config_get_string(c, CONFIG_KERNEL);
        initrd = config_get_string(c, CONFIG_INITRD);
        run = qemu_escape(ctx->runtime_dir);
        state = qemu_escape(ctx->state_dir);
        if (!run || !state)
                return -ENOMEM;
        if (asprintf(&name, "%s,debug-threads=on", ctx->name) < 0 ||
            asprintf(&smp, "%" PRIu64, config_get_number(c, CONFIG_VCPUS)) < 0 ||
            asprintf(&memory, "%" PRIu64 "M", config_get_number(c, CONFIG_MEMORY_MIB)) < 0 ||
            asprintf(&serial, "socket,id=serial0,path=%s/" MVM_SERIAL_SOCKET ",server=on,wait=off,"
                     "logfile=%s/" MVM_SERIAL_LOG ",logappend=off", run, state) < 0 ||
            asprintf(&qmp, "socket,id=qmp,path=%s/" MVM_QMP_SOCKET ",server=on,wait=off", run) < 0 ||
            asprintf(&qmp_manager, "socket,id=qmp-manager,path=%s/" MVM_QMP_MANAGER_SOCKET ",server=on,wait=off",
                     run) < 0)
                return -ENOMEM;

        r = strv_extend_many(&argv,
                             ctx->binary,
                             /* Nothing from the host's QEMU configuration and no default devices:
                              * exactly what the key file says. */
                             "-nodefaults", "-no-user-config", "-nographic",
                             /* ACPI stays on: it carries the power button a graceful stop presses. */
                             "-machine", "microvm,acpi=on",
                             "-accel", kvm ? "kvm" : "tcg",
                             "-cpu", kvm ? "host" : "max",
                             "-name", name,
                             "-smp", smp,
                             "-m", memory,
                             "-kernel", kernel,
                             NULL);
        if (r >= 0 && initrd[0])
                r = strv_extend_many(&argv, "-initrd", initrd, NULL);
        if (r >= 0)
                r = strv_extend_many(&argv,
                                     "-append", cmdline,
                                     "-chardev", serial,
                                     "-serial", "chardev:serial0",
                                     "-chardev", qmp,
                                     "-mon", "chardev=qmp,mode=control",
                                     "-chardev", qmp_manager,
                                     "-mon", "chardev=qmp-manager,mode=control",
                                     NULL);
        /* A restore: the unit's start hands QEMU the state file once it has checked QEMU's version,
         * and starts the vCPUs only then. */
        if (r >= 0 && ctx->restore)
                r = strv_extend_many(&argv, "-S", "-incoming", "defer", NULL);
        if (r >= 0)
                r = qemu_add_drives(ctx, &argv);
        if (r >= 0)
                r = qemu_add_nics(ctx, &argv);
        if (r >= 0)
                r = qemu_add_agent(ctx, run, &argv);
        if (r < 0)
                return r;

        *ret_argv = TAKE_PTR(argv);
        return 0;
}

const Backend qemu_backend = {
        .name = "qemu",
        .display_name = "QEMU",
        .binary = "qemu-system-x86_64",
        .overhead_mib = { [ACCELERATOR_KVM] = 64, [ACCELERATOR_TCG] = 256 },
        .takes_fds = true,
        .control = BACKEND_CONTROL_QMP,
        .serial_socket = true,
        .exits_on_poweroff = true,
        .build_argv = qemu_build_argv,
};
