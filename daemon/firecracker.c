/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Firecracker backend: the whole VM in the JSON file of --config-file, so that Firecracker
 * boots it at once as the unit's main process; its API socket for everything after the boot. The
 * guest's serial console is Firecracker's standard output, the unit's journal. */

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>

#include "agent-protocol.h"
#include "backend.h"
#include "json-util.h"
#include "problem.h"
#include "strv.h"

#define FIRECRACKER_CONFIG_FILE "firecracker.json"
#define FIRECRACKER_LOG_FILE    "firecracker.log"

/* Firecracker has no ACPI on x86: a graceful stop is Ctrl-Alt-Del, which the guest takes for a
 * reboot, and reboot=k makes that reset through the keyboard controller, which ends Firecracker.
 * pci=off: there is no PCI bus to probe. */
#define FIRECRACKER_KERNEL_ARGS "reboot=k panic=1 pci=off"

/* Firecracker opens images as raw block devices, and flushes them or not: nothing else. */
static int firecracker_check_config(const Config *c, char **ret_problem) {
        for (size_t i = 0; i < c->n_groups[CONFIG_SECTION_DRIVE]; i++) {
                const ConfigGroup *d = &c->groups[CONFIG_SECTION_DRIVE][i];
                g_autoptr(GVariant) h1 = NULL, h2 = NULL;
                const char *format = config_group_get_string(d, CONFIG_DRIVE_FORMAT, &h1);
                const char *cache = config_group_get_string(d, CONFIG_DRIVE_CACHE, &h2);

                if (streq(format, "qcow2"))
                        return problem_set(-EINVAL, ret_problem, "Drives[%zu].Format=qcow2: Firecracker reads raw "
                                           "images only; convert it (qemu-img convert -O raw) or use "
                                           "Hypervisor=qemu or cloud-hypervisor", i);
                if (!streq(cache, "writeback") && !streq(cache, "unsafe"))
                        return problem_set(-EINVAL, ret_problem, "Drives[%zu].Cache=%s: Firecracker caches "
                                           "images in the host's page cache and either flushes them "
                                           "(Cache=writeback) or not (Cache=unsafe)", i, cache);
                if (config_group_get_bool(d, CONFIG_DRIVE_DISCARD))
                        return problem_set(-EINVAL, ret_problem, "Drives[%zu].Discard=yes: Firecracker does not "
                                           "pass discards on to the image; use Discard=no", i);
        }
        return 0;
}

static json_object *drive_new(const char *id, const char *path, bool read_only, const char *cache) {
        json_object *d = json_object_new_object();

        json_object_object_add(d, "drive_id", json_object_new_string(id));
        json_object_object_add(d, "path_on_host", json_object_new_string(path));
        /* The root= of the kernel command line is microvm's (drives_fill_config()), as with the
         * other hypervisors; is_root_device would append another. */
        json_object_object_add(d, "is_root_device", json_object_new_boolean(false));
        json_object_object_add(d, "is_read_only", json_object_new_boolean(read_only));
        json_object_object_add(d, "cache_type", json_object_new_string(streq(cache, "unsafe") ? "Unsafe"
                                                                                              : "Writeback"));
        return d;
}

/* In the order of the [Drive] sections, then the seed: the guest names them vda, vdb, … */
static json_object *drives_new(const BackendContext *ctx) {
        const Config *c = ctx->config;
        json_object *drives = json_object_new_array();
        size_t n = c->n_groups[CONFIG_SECTION_DRIVE];

        for (size_t i = 0; i < n; i++) {
                const ConfigGroup *d = &c->groups[CONFIG_SECTION_DRIVE][i];
                g_autoptr(GVariant) h1 = NULL, h2 = NULL;
                const char *path = config_group_get_string(d, CONFIG_DRIVE_PATH, &h1);
                const char *cache = config_group_get_string(d, CONFIG_DRIVE_CACHE, &h2);
                char id[32];

                /* Ids are letters, digits and '_' only. */
                snprintf(id, sizeof(id), "drive%zu", i);
                json_object_array_add(drives,
                                      drive_new(id, path, config_group_get_bool(d, CONFIG_DRIVE_READ_ONLY), cache));
        }
        if (ctx->seed_path)
                json_object_array_add(drives, drive_new("seed", ctx->seed_path, /* read_only= */ true, "writeback"));
        return drives;
}

static json_object *nics_new(const Config *c) {
        json_object *nics = json_object_new_array();

        for (size_t i = 0; i < c->n_groups[CONFIG_SECTION_NETWORK]; i++) {
                const ConfigGroup *g = &c->groups[CONFIG_SECTION_NETWORK][i];
                g_autoptr(GVariant) h1 = NULL, h2 = NULL;
                const char *tap = config_group_get_string(g, CONFIG_NETWORK_TAP, &h1);
                const char *mac = config_group_get_string(g, CONFIG_NETWORK_MAC_ADDRESS, &h2);
                json_object *nic = json_object_new_object();
                char id[32];

                snprintf(id, sizeof(id), "net%zu", i);
                json_object_object_add(nic, "iface_id", json_object_new_string(id));
                json_object_object_add(nic, "host_dev_name", json_object_new_string(tap));
                json_object_object_add(nic, "guest_mac", json_object_new_string(mac));
                json_object_array_add(nics, nic);
        }
        return nics;
}

static int firecracker_build_config_file(const BackendContext *ctx, char **ret_text) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        const Config *c = ctx->config;
        _cleanup_free_ char *cmdline = NULL, *vsock_path = NULL, *log_path = NULL;
        json_object *boot, *machine, *vsock, *logger;
        const char *initrd = config_get_string(c, CONFIG_INITRD);
        int r;

        r = backend_kernel_command_line(ctx, FIRECRACKER_KERNEL_ARGS, &cmdline);
        if (r < 0)
                return r;
        if (asprintf(&vsock_path, "%s/" MVM_VSOCK_SOCKET, ctx->runtime_dir) < 0 ||
            asprintf(&log_path, "%s/" FIRECRACKER_LOG_FILE, ctx->runtime_dir) < 0)
                return -ENOMEM;

        boot = json_object_new_object();
        json_object_object_add(boot, "kernel_image_path", json_object_new_string(config_get_string(c, CONFIG_KERNEL)));
        if (initrd[0])
                json_object_object_add(boot, "initrd_path", json_object_new_string(initrd));
        json_object_object_add(boot, "boot_args", json_object_new_string(cmdline));
        json_object_object_add(root, "boot-source", boot);

        machine = json_object_new_object();
        json_object_object_add(machine, "vcpu_count", json_object_new_uint64(config_get_number(c, CONFIG_VCPUS)));
        json_object_object_add(machine, "mem_size_mib", json_object_new_uint64(config_get_number(c, CONFIG_MEMORY_MIB)));
        json_object_object_add(machine, "smt", json_object_new_boolean(false));
        /* Dirty page tracking is for diff snapshots; microvm takes full ones. */
        json_object_object_add(machine, "track_dirty_pages", json_object_new_boolean(false));
        json_object_object_add(root, "machine-config", machine);

        json_object_object_add(root, "drives", drives_new(ctx));
        json_object_object_add(root, "network-interfaces", nics_new(c));

        /* Always there: the hybrid vsock needs nothing of the host, and the agent is reached by it. */
        vsock = json_object_new_object();
        json_object_object_add(vsock, "guest_cid", json_object_new_uint64(config_get_number(c, CONFIG_VSOCK_CID)));
        json_object_object_add(vsock, "uds_path", json_object_new_string(vsock_path));
        json_object_object_add(root, "vsock", vsock);

        /* Firecracker's own log: the unit's start creates the file, which Firecracker does not. */
        logger = json_object_new_object();
        json_object_object_add(logger, "log_path", json_object_new_string(log_path));
        json_object_object_add(logger, "level", json_object_new_string("Info"));
        json_object_object_add(root, "logger", logger);

        /* A virtio-rng: a guest that boots in milliseconds has no entropy of its own yet. */
        json_object_object_add(root, "entropy", json_object_new_object());

        *ret_text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                        JSON_C_TO_STRING_NOSLASHESCAPE));
        return *ret_text ? 0 : -ENOMEM;
}

/* Booting: the configuration file. Restoring: an empty Firecracker, which only a snapshot load
 * may fill, through the API socket (the unit's start does it). */
static int firecracker_build_argv(const BackendContext *ctx, char ***ret_argv) {
        _cleanup_free_ char *api = NULL, *config = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        if (asprintf(&api, "%s/" MVM_API_SOCKET, ctx->runtime_dir) < 0 ||
            asprintf(&config, "%s/" FIRECRACKER_CONFIG_FILE, ctx->runtime_dir) < 0)
                return -ENOMEM;
        r = strv_extend_many(&argv, ctx->binary, "--api-sock", api, NULL);
        if (r >= 0 && !ctx->restore)
                r = strv_extend_many(&argv, "--config-file", config, NULL);
        if (r < 0)
                return r;
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

const Backend firecracker_backend = {
        .name = "firecracker",
        .display_name = "Firecracker",
        .binary = "firecracker",
        .overhead_mib = { [ACCELERATOR_KVM] = 32, [ACCELERATOR_TCG] = 32 },
        .kvm_only = true,
        .control = BACKEND_CONTROL_HTTP,
        .serial_socket = false,
        .agent_over_vsock = true,
        .exits_on_poweroff = false,
        .check_config = firecracker_check_config,
        .build_argv = firecracker_build_argv,
        .config_file = FIRECRACKER_CONFIG_FILE,
        .build_config_file = firecracker_build_config_file,
        .log_file = FIRECRACKER_LOG_FILE,
};
