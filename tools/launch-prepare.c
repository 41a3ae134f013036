/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvm-launch prepare NAME: ExecStartPre=+, as root, everything the hypervisor itself may not
 * do (see verb_prepare()). */

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "bus-errors.h"
#include "bus-names.h"
#include "fileio.h"
#include "launch-check.h"
#include "launch-fds.h"
#include "launch-lend.h"
#include "launch-restore.h"
#include "launch.h"
#include "log.h"
#include "mvm-config.h"
#include "net.h"
#include "snapshot.h"
#include "vm-files.h"
#include "vm-seed.h"

static bool unit_property_is(sd_bus *bus, const char *unit, const char *property, uint64_t value) {
        _cleanup_free_ char *path = NULL;
        uint64_t current;

        if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path) < 0)
                return false;
        return sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Service",
                                           property, NULL, 't', &current) >= 0 && current == value;
}

/* The unit's resource limits follow the VM's size: MemoryMax= is the guest's memory plus what the
 * hypervisor needs itself, CPUQuota= one CPU per vCPU. Set at runtime on this very unit, so they
 * hold for "systemctl start" as for StartVM, and vanish with the unit. */
static int launch_set_resources(const Launch *l, const Backend *backend, const BackendContext *ctx) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *unit = NULL;
        uint64_t memory = (config_get_number(ctx->config, CONFIG_MEMORY_MIB) + backend->overhead_mib[ctx->accelerator])
                          * 1024 * 1024;
        /* One CPU per vCPU, and half a CPU more for the hypervisor's own threads (its main loop,
         * I/O): at exactly one per vCPU a busy guest gets throttled and boots measurably slower. */
        uint64_t quota = config_get_number(ctx->config, CONFIG_VCPUS) * 1000000u + 500000u;
        int r;

        if (asprintf(&unit, MVM_UNIT_PREFIX "%s" MVM_UNIT_SUFFIX, l->name) < 0)
                return log_oom();

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_warning_errno(r, "Cannot reach systemd to set resource limits, ignoring: %m");

        /* Runtime settings persist as drop-ins until reboot; rewriting equal ones would only make
         * systemctl say that the unit changed on disk. */
        if (unit_property_is(bus, unit, "MemoryMax", memory) && unit_property_is(bus, unit, "CPUQuotaPerSecUSec", quota))
                return 0;

        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "SetUnitProperties", &error, NULL, "sba(sv)", unit,
                               /* runtime= */ true, 2, "MemoryMax", "t", memory, "CPUQuotaPerSecUSec", "t", quota);
        if (r < 0)
                return log_warning_errno(r, "Cannot set the resource limits of %s, ignoring: %s", unit,
                                         error.message ?: strerror(-r));

        log_info("Limits: MemoryMax=%" PRIu64 "M CPUQuota=%" PRIu64 "%%.", memory / 1024 / 1024, quota / 10000);
        return 0;
}

static void launch_remove_taps(const Launch *l, NetSocket *sk, const Config *c, size_t n) {
        for (size_t i = 0; i < n; i++) {
                g_autoptr(GVariant) holder = NULL;
                const char *tap = nic_get(c, i, CONFIG_NETWORK_TAP, &holder);
                int r = net_tap_remove(sk, tap);

                /* -EEXIST: the name belongs to a link that is not a TAP, and not to us. */
                if (r < 0 && r != -EEXIST)
                        log_warning_errno(r, "Cannot remove TAP device %s of VM %s, ignoring: %m", tap, l->name);
        }
}

/* Every name is checked before anything is made, so that a bad one leaves nothing behind (not even a
 * bridge made for an earlier NIC): each Bridge= is a bridge or missing, each TAP= a TAP or missing,
 * and /dev/net/tun is there. */
static int launch_check_links(const Launch *l, NetSocket *sk, const Config *config) {
        int r;

        for (size_t i = 0; i < config->n_groups[CONFIG_SECTION_NETWORK]; i++) {
                g_autoptr(GVariant) h1 = NULL, h2 = NULL;
                const char *bridge = nic_get(config, i, CONFIG_NETWORK_BRIDGE, &h1);
                const char *tap = nic_get(config, i, CONFIG_NETWORK_TAP, &h2);
                _cleanup_free_ char *bridge_kind = NULL, *tap_kind = NULL;

                r = net_link_kind(sk, bridge, &bridge_kind);
                if (r < 0 && r != -ENODEV)
                        return start_failed(l, r, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "Cannot look up bridge %s: %m.",
                                            bridge);
                if (r >= 0 && !streq(bridge_kind, "bridge"))
                        return start_failed(l, -EEXIST, MVM_ERROR_INVALID_CONFIG,
                                            "Bridge=%s: a link of that name exists but is not a bridge; choose "
                                            "another bridge.", bridge);

                r = net_link_kind(sk, tap, &tap_kind);
                if (r < 0 && r != -ENODEV)
                        return start_failed(l, r, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                            "Cannot look up TAP device %s: %m.", tap);
                if (r >= 0 && !streq(tap_kind, "tun"))
                        return start_failed(l, -EEXIST, MVM_ERROR_INVALID_CONFIG,
                                            "TAP=%s is taken by a link that is not a TAP device; choose another "
                                            "name or leave TAP= empty.", tap);
        }

        if (access("/dev/net/tun", F_OK) < 0)
                return start_failed(l, errno, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                    errno == ENOENT ? "/dev/net/tun is missing: load the tun module (modprobe tun)."
                                                    : "Cannot reach /dev/net/tun: %m.");
        return 0;
}

static int launch_record_taps(const Launch *l, const Config *c) {
        _cleanup_free_ char *path = NULL;
        g_autoptr(GString) list = g_string_new(NULL);
        int r;

        for (size_t i = 0; i < c->n_groups[CONFIG_SECTION_NETWORK]; i++) {
                g_autoptr(GVariant) holder = NULL;

                g_string_append_printf(list, "%s\n", nic_get(c, i, CONFIG_NETWORK_TAP, &holder));
        }
        r = launch_taps_path(l, &path);
        if (r >= 0)
                r = write_file_atomic(path, list->str, list->len, 0644);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "Cannot record the TAP devices of VM %s: %m.",
                                    l->name);
        return 0;
}

/* The cloud-init seed in the state directory, built from the files [CloudInit] names as they are
 * now; rebuilt only when its contents change. A VM without [CloudInit] keys gets none. */
static int launch_make_seed(const Launch *l, const Config *config) {
        _cleanup_(vm_seed_inputs_done) VMSeedInputs in = {};
        _cleanup_free_ char *path = NULL;
        g_autofree char *problem = NULL;
        int r;

        if (launch_seed_path(l, &path) < 0)
                return log_oom();

        if (!vm_seed_wanted(config)) {
                if (unlink(path) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "Cannot remove the old seed %s, ignoring: %m", path);
                return 0;
        }

        r = vm_seed_load(config, l->name, &in, &problem);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_INVALID_CONFIG, "%s.", problem ?: strerror(-r));

        r = vm_seed_write(&in, path);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_SYSTEM_FAILURE, "Cannot write the cloud-init seed %s: %m.", path);
        log_info("cloud-init seed %s: %s (instance-id %s, local-hostname %s).", path,
                 r > 0 ? "written" : "up to date", in.instance_id, in.local_hostname);
        return 0;
}

/* A restore: the same checks as RestoreVM's, also for a "systemctl start" after it, on the
 * configuration as written. As root: the snapshot is its caller's. The request (microvmd's, root's
 * alone) is then given to the hypervisor's user, so that the start, which reads it to start the
 * hypervisor empty, can. */
static int launch_check_restore(const Launch *l, const Config *config, uid_t uid, gid_t gid) {
        _cleanup_free_ char *snapshot = NULL, *message = NULL, *request = NULL;
        const char *error_name;
        int r;

        if (launch_restore_request(l, &snapshot) < 0)
                return 0;
        r = snapshot_check(snapshot, l->name, config, NULL, &error_name, &message);
        if (r < 0)
                return start_failed(l, r, error_name, "Cannot restore VM %s: %s.", l->name, message ?: strerror(-r));
        r = launch_runtime_path(l, MVM_RESTORE_FILE, &request);
        if (r >= 0 && chown(request, uid, gid) < 0)
                r = -errno;
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_SYSTEM_FAILURE, "Cannot give the restore request of VM %s to "
                                    MVM_HYPERVISOR_USER ": %m.", l->name);
        log_info("Restoring VM %s from %s.", l->name, snapshot);
        return 0;
}

/* The bridges and TAP devices of the VM's NICs, the TAPs owned by the hypervisor's user. On failure
 * nothing made here is left. */
static int launch_make_links(const Launch *l, const Config *config, uid_t owner) {
        _cleanup_(net_closep) NetSocket *sk = NULL;
        size_t n = config->n_groups[CONFIG_SECTION_NETWORK];
        int r;

        if (n == 0)
                return 0;

        r = net_open(&sk);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "Cannot reach the kernel's netlink: %m.");
        r = launch_check_links(l, sk, config);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                g_autoptr(GVariant) h1 = NULL, h2 = NULL;
                const char *bridge = nic_get(config, i, CONFIG_NETWORK_BRIDGE, &h1);
                const char *tap = nic_get(config, i, CONFIG_NETWORK_TAP, &h2);

                r = net_bridge_ensure(sk, bridge);
                if (r < 0) {
                        launch_remove_taps(l, sk, config, i);
                        if (r == -EEXIST)
                                return start_failed(l, r, MVM_ERROR_INVALID_CONFIG,
                                                    "Bridge=%s: a link of that name exists but is not a bridge; "
                                                    "choose another bridge.", bridge);
                        return start_failed(l, r, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "Cannot set up bridge %s: %m.",
                                            bridge);
                }

                /* Owned by the hypervisor's user: a hypervisor that opens it by name may. */
                r = net_tap_ensure(sk, tap, bridge, owner);
                if (r < 0) {
                        /* This NIC's name belongs to someone else when it is taken (-EEXIST, -EBUSY). */
                        launch_remove_taps(l, sk, config, r == -EEXIST || r == -EBUSY ? i : i + 1);
                        if (r == -EEXIST)
                                return start_failed(l, r, MVM_ERROR_INVALID_CONFIG,
                                                    "TAP=%s is taken by a link that is not a TAP device; choose "
                                                    "another name or leave TAP= empty.", tap);
                        if (r == -ENOENT)
                                return start_failed(l, r, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                                    "/dev/net/tun is missing: load the tun module (modprobe tun).");
                        if (r == -EBUSY)
                                return start_failed(l, r, MVM_ERROR_INVALID_CONFIG,
                                                    "TAP=%s is in use by another process, another VM's most likely; "
                                                    "choose another name or leave TAP= empty.", tap);
                        return start_failed(l, r, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                            "Cannot set up TAP device %s on %s: %m.", tap, bridge);
                }
                log_info("NIC %zu: TAP %s on bridge %s.", i, tap, bridge);
        }

        /* What the stop removes: these TAPs, not whatever the key file names by then (an update
         * while running may rename them). */
        return launch_record_taps(l, config);
}

static int launch_store_fd(const Launch *l, const char *name, const char *what, int fd) {
        int r = launch_fd_store(name, fd);

        if (r < 0)
                return start_failed(l, r, MVM_ERROR_SYSTEM_FAILURE, "Cannot hand %s to the hypervisor through "
                                    "systemd: %m.", what);
        return 0;
}

static int launch_store_file(const Launch *l, const char *name, const char *path, int flags) {
        _cleanup_close_ int fd = open(path, flags | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return start_failed(l, errno, MVM_ERROR_INVALID_CONFIG, "Cannot open %s: %m.", path);
        return launch_store_fd(l, name, path, fd);
}

/* A hypervisor that opens its drives itself gets them lent where its user may not (launch-lend.h). */
static int launch_lend_files(const Launch *l, const Config *config, uid_t uid, gid_t gid) {
        int r;

        for (size_t i = 0; i < config->n_groups[CONFIG_SECTION_DRIVE]; i++) {
                const ConfigGroup *d = &config->groups[CONFIG_SECTION_DRIVE][i];
                g_autoptr(GVariant) h = NULL;
                const char *path = config_group_get_string(d, CONFIG_DRIVE_PATH, &h);

                r = lend_file(l->runtime_dir, path, !config_group_get_bool(d, CONFIG_DRIVE_READ_ONLY), uid, gid);
                if (r < 0)
                        return start_failed(l, r, MVM_ERROR_SYSTEM_FAILURE, "Cannot give %s to " MVM_HYPERVISOR_USER
                                            ": %m.", path);
        }
        return 0;
}

/* The kernel, initrd and drive images, and for a hypervisor that takes them, the TAP devices: open,
 * for the start to pass on (launch-fds.h). */
static int launch_store_fds(const Launch *l, const Backend *backend, const Config *config) {
        int r;

        r = launch_store_file(l, LAUNCH_FD_KERNEL, config_get_string(config, CONFIG_KERNEL), O_RDONLY);
        if (r >= 0 && config_get_string(config, CONFIG_INITRD)[0])
                r = launch_store_file(l, LAUNCH_FD_INITRD, config_get_string(config, CONFIG_INITRD), O_RDONLY);
        if (r < 0)
                return r;

        for (size_t i = 0; i < config->n_groups[CONFIG_SECTION_DRIVE]; i++) {
                const ConfigGroup *d = &config->groups[CONFIG_SECTION_DRIVE][i];
                g_autoptr(GVariant) h = NULL;
                char name[32];

                const char *path = config_group_get_string(d, CONFIG_DRIVE_PATH, &h);
                bool read_only = config_group_get_bool(d, CONFIG_DRIVE_READ_ONLY);

                snprintf(name, sizeof(name), LAUNCH_FD_DRIVE_FMT, i);
                r = launch_store_file(l, name, path, read_only ? O_RDONLY : O_RDWR);
                if (r >= 0 && !read_only && backend->takes_fds) {
                        snprintf(name, sizeof(name), LAUNCH_FD_DRIVE_RO_FMT, i);
                        r = launch_store_file(l, name, path, O_RDONLY);
                }
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; backend->takes_fds && i < config->n_groups[CONFIG_SECTION_NETWORK]; i++) {
                g_autoptr(GVariant) h = NULL;
                const char *tap = nic_get(config, i, CONFIG_NETWORK_TAP, &h);
                _cleanup_close_ int fd = -EBADF;
                char name[32];

                r = net_tap_open(tap, &fd);
                if (r < 0)
                        return start_failed(l, r, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "Cannot open TAP device %s: %m.",
                                            tap);
                snprintf(name, sizeof(name), LAUNCH_FD_TAP_FMT, i);
                r = launch_store_fd(l, name, tap, fd);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ExecStartPre=+, as root: everything the hypervisor itself may not do. The checks of the start
 * (the files the key file names must be there and readable, the drives what they claim), the
 * cloud-init seed, each NIC's bridge (made if missing) and persistent TAP device, the unit's
 * resource limits, and the open files the hypervisor gets. On failure nothing it made is left. */
int verb_prepare(Launch *l) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *seed_path = NULL;
        g_autofree char *message = NULL;
        BackendContext ctx = { .name = l->name };
        const char *error_name;
        const Backend *backend;
        uid_t uid;
        gid_t gid;
        int r;

        launch_unlink(l, MVM_START_ERROR_FILE);
        launch_unlink(l, MVM_STOP_MARKER_FILE);
        launch_unlink(l, MVM_KILL_MARKER_FILE);
        launch_unlink(l, MVM_TIMEOUT_MARKER_FILE);
        launch_unlink(l, MVM_POWEROFF_MARKER_FILE);

        r = launch_load_config(l, &config, NULL, &error_name, &message);
        if (r < 0)
                return start_failed(l, r, error_name, "%s.", message);
        ctx.config = config;

        message = mfree(message);
        r = launch_check(l->name, config, NULL, &error_name, &message);
        if (r < 0)
                return start_failed(l, r, error_name, "%s.", message);
        backend = backend_get(config_get_string(config, CONFIG_HYPERVISOR));

        r = hypervisor_user(&uid, &gid);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_SYSTEM_FAILURE, "The hypervisor's user " MVM_HYPERVISOR_USER
                                    " does not exist (%m): run systemd-sysusers.");

        r = launch_check_restore(l, config, uid, gid);
        if (r < 0)
                return r;

        r = launch_make_seed(l, config);
        if (r < 0)
                return r;
        /* In the state directory, which is the hypervisor user's: the seed is its to read too. */
        if (vm_seed_wanted(config) && launch_seed_path(l, &seed_path) >= 0 && chown(seed_path, uid, gid) < 0)
                return start_failed(l, errno, MVM_ERROR_SYSTEM_FAILURE, "Cannot give the cloud-init seed %s to "
                                    MVM_HYPERVISOR_USER ": %m.", seed_path);

        r = launch_accelerator(l, backend, config, /* say= */ false, &ctx);
        if (r < 0)
                return r;
        (void) launch_set_resources(l, backend, &ctx);

        r = launch_make_links(l, config, uid);
        if (r < 0)
                return r;

        r = backend->takes_fds ? 0 : launch_lend_files(l, config, uid, gid);
        if (r >= 0)
                r = launch_store_fds(l, backend, config);
        if (r < 0) {
                launch_remove_recorded_taps(l);
                return_lent_files(l->runtime_dir);
        }
        return r;
}
