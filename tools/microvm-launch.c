/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvm-launch: what microvm@NAME.service runs.
 *
 *   microvm-launch prepare NAME  ExecStartPre=+, as root: checks NAME's key file and the files it
 *                                names, makes the VM's cloud-init seed and the bridges and TAP
 *                                devices of its NICs, sets the unit's resource limits, and opens
 *                                the kernel, drives and TAPs for the hypervisor (launch-fds.h).
 *   microvm-launch start NAME    ExecStart, as the unprivileged hypervisor user: reads NAME's key
 *                                file, probes the drives it was handed, chooses the accelerator,
 *                                reports READY=1 and execs the hypervisor, which so becomes the
 *                                unit's main process.
 *   microvm-launch started NAME  ExecStartPost=+: waits, bounded, until the hypervisor answers on its
 *                                control socket, so that one that dies at once fails the start;
 *                                loads a snapshot RestoreVM asked for.
 *   microvm-launch stop NAME     ExecStop=+: asks the guest to power off through the hypervisor's
 *                                control socket and waits for the hypervisor to exit; systemd
 *                                bounds the wait with TimeoutStopSec= and kills after it.
 *   microvm-launch stopped NAME  ExecStopPost=+: records why the VM stopped and removes its TAP
 *                                devices.
 *
 * Nothing stays resident: start execs, stop and stopped exit. */

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <inttypes.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "accel.h"
#include "agent-connect.h"
#include "agent-protocol.h"
#include "api-command.h"
#include "backend.h"
#include "bus-errors.h"
#include "bus-names.h"
#include "cloud-init.h"
#include "drives.h"
#include "fileio.h"
#include "daemon-config.h"
#include "hypervisor-api.h"
#include "keyfile.h"
#include "launch-check.h"
#include "launch-fds.h"
#include "launch-lend.h"
#include "launch-restore.h"
#include "log.h"
#include "mvm-config.h"
#include "net-names.h"
#include "net.h"
#include "problem.h"
#include "qmp-command.h"
#include "strv.h"
#include "time-util.h"
#include "vm-files.h"
#include "vm-name.h"
#include "vm-state.h"
#include "vm-seed.h"

typedef struct Launch {
        const char *name;
        char *runtime_dir;
        char *state_dir;
        /* The hypervisor this run started (MVM_HYPERVISOR_FILE): the key file may name another by
         * the time the VM stops. */
        const Backend *backend;
} Launch;

static const Backend *launch_running_backend(const Launch *l);

static void launch_done(Launch *l) {
        free(l->runtime_dir);
        free(l->state_dir);
}

static int launch_init(Launch *l, const char *name) {
        const char *e;
        int r;

        if (!vm_name_is_valid(name))
                return log_error_errno(EINVAL, "'%s' is not a valid VM name: %s.", name, MVM_VM_NAME_RULE);
        l->name = name;

        /* systemd tells us the directories it made (RuntimeDirectory=, StateDirectory=). */
        e = getenv("RUNTIME_DIRECTORY");
        r = e ? ((l->runtime_dir = strdup(e)) ? 0 : -ENOMEM) : vm_runtime_dir(name, &l->runtime_dir);
        if (r < 0)
                return log_oom();
        e = getenv("STATE_DIRECTORY");
        r = e ? ((l->state_dir = strdup(e)) ? 0 : -ENOMEM) : vm_state_dir(name, &l->state_dir);
        if (r < 0)
                return log_oom();
        l->backend = launch_running_backend(l);
        return 0;
}

static int launch_write(const Launch *l, const char *file, const char *contents) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", l->state_dir, file) < 0)
                return -ENOMEM;
        return write_file_atomic(path, contents, strlen(contents), 0644);
}

static int launch_read(const Launch *l, const char *file, char **ret) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", l->state_dir, file) < 0)
                return -ENOMEM;
        return read_file(path, ret, NULL);
}

static void launch_unlink(const Launch *l, const char *file) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", l->state_dir, file) >= 0)
                (void) unlink(path);
}

/* Logs the failure and leaves it where microvmd finds it to answer StartVM with a named error. */
_printf_(4, 5)
static int start_failed(const Launch *l, int error, const char *bus_error, const char *format, ...) {
        _cleanup_free_ char *message = NULL, *contents = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        errno = abs(error);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0)
                return log_oom();

        log_error("%s", message);
        if (asprintf(&contents, "%s\n%s\n", bus_error, message) >= 0)
                (void) launch_write(l, MVM_START_ERROR_FILE, contents);
        return -abs(error);
}

/* The snapshot RestoreVM asked this start to load instead of booting (free()), or -ENOENT. */
static int launch_restore_request(const Launch *l, char **ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (asprintf(&path, "%s/" MVM_RESTORE_FILE, l->runtime_dir) < 0)
                return -ENOMEM;
        r = read_file(path, &text, NULL);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        *ret = TAKE_PTR(text);
        return 0;
}

static void launch_remove_restore_request(const Launch *l) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/" MVM_RESTORE_FILE, l->runtime_dir) >= 0)
                (void) unlink(path);
}

/* The hypervisor's executable: the one microvmd.conf names, else backend->binary in $PATH. On
 * failure, a sentence naming the path and what to do (free()). */
static int find_binary(const Backend *backend, const char *configured, char **ret, char **ret_problem) {
        _cleanup_free_ char *path_env = NULL;
        const char *env = getenv("PATH");
        struct stat st;

        if (configured) {
                if (stat(configured, &st) < 0 || (S_ISREG(st.st_mode) && access(configured, X_OK) < 0))
                        return problem_set(negative_errno(), ret_problem, "The %s executable %s, as [Hypervisors] %s= in "
                                           MVM_DAEMON_CONFIG_FILE " names it, cannot be run (%m): install %s "
                                           "there or correct the path", backend->display_name, configured,
                                           backend->name, backend->display_name);
                if (!S_ISREG(st.st_mode))
                        return problem_set(-EACCES, ret_problem, "The %s executable %s, as [Hypervisors] %s= in "
                                           MVM_DAEMON_CONFIG_FILE " names it, is not a file: install %s there or "
                                           "correct the path", backend->display_name, configured, backend->name,
                                           backend->display_name);
                *ret = strdup(configured);
                return *ret ? 0 : -ENOMEM;
        }

        path_env = strdup(env ?: "/usr/local/bin:/usr/bin:/bin");
        if (!path_env)
                return -ENOMEM;
        for (char *dir = strtok(path_env, ":"); dir; dir = strtok(NULL, ":")) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s/%s", dir, backend->binary) < 0)
                        return -ENOMEM;
                if (stat(p, &st) >= 0 && S_ISREG(st.st_mode) && access(p, X_OK) >= 0) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
        }
        return problem_set(-ENOENT, ret_problem, "The %s hypervisor is not installed: no executable %s in $PATH "
                           "(%s). Install it, or name it in " MVM_DAEMON_CONFIG_FILE " as [Hypervisors] %s=/path",
                           backend->display_name, backend->binary, env ?: "/usr/local/bin:/usr/bin:/bin",
                           backend->name);
}

static int launch_runtime_path(const Launch *l, const char *file, char **ret) {
        return asprintf(ret, "%s/%s", l->runtime_dir, file) < 0 ? -ENOMEM : 0;
}

/* What the hypervisor needs in the runtime directory before it starts: which one this run is (and
 * the run's invocation ID), no
 * sockets of an earlier run (Firecracker refuses to bind over them, and cloud-hypervisor binds its
 * serial socket itself), its configuration file and its log. */
static int launch_write_backend_files(const Launch *l, const Backend *backend, const BackendContext *ctx) {
        static const char *const stale[] = { MVM_API_SOCKET, MVM_VSOCK_SOCKET, MVM_SERIAL_SOCKET };
        _cleanup_free_ char *path = NULL, *line = NULL;
        int r;

        if (launch_runtime_path(l, MVM_HYPERVISOR_FILE, &path) < 0 || asprintf(&line, "%s\n", backend->name) < 0)
                return log_oom();
        r = write_file_atomic(path, line, strlen(line), 0644);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_SYSTEM_FAILURE, "Cannot write %s: %m.", path);

        /* Only this run's journal entries may say its guest powered off. */
        if (getenv("INVOCATION_ID")) {
                path = mfree(path);
                line = mfree(line);
                if (launch_runtime_path(l, MVM_INVOCATION_FILE, &path) < 0 ||
                    asprintf(&line, "%s\n", getenv("INVOCATION_ID")) < 0)
                        return log_oom();
                r = write_file_atomic(path, line, strlen(line), 0644);
                if (r < 0)
                        return start_failed(l, r, MVM_ERROR_SYSTEM_FAILURE, "Cannot write %s: %m.", path);
        }

        for (size_t i = 0; backend->control == BACKEND_CONTROL_HTTP && i < ELEMENTSOF(stale); i++) {
                path = mfree(path);
                if (launch_runtime_path(l, stale[i], &path) < 0)
                        return log_oom();
                if (unlink(path) < 0 && errno != ENOENT)
                        return start_failed(l, errno, MVM_ERROR_SYSTEM_FAILURE, "Cannot remove the old socket %s: %m.",
                                            path);
        }

        if (backend->build_config_file && !ctx->restore) {
                _cleanup_free_ char *text = NULL;

                r = backend->build_config_file(ctx, &text);
                if (r < 0)
                        return start_failed(l, r, MVM_ERROR_INVALID_CONFIG, "Cannot build the %s configuration: %m.",
                                            backend->display_name);
                path = mfree(path);
                if (launch_runtime_path(l, backend->config_file, &path) < 0)
                        return log_oom();
                r = write_file_atomic(path, text, strlen(text), 0600);
                if (r < 0)
                        return start_failed(l, r, MVM_ERROR_SYSTEM_FAILURE, "Cannot write %s: %m.", path);
                log_info("%s configuration: %s.", backend->display_name, path);
        }

        if (backend->log_file) {
                _cleanup_close_ int fd = -EBADF;

                path = mfree(path);
                if (launch_runtime_path(l, backend->log_file, &path) < 0)
                        return log_oom();
                fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return start_failed(l, errno, MVM_ERROR_SYSTEM_FAILURE, "Cannot create %s: %m.", path);
        }
        return 0;
}

/* The hypervisor this run started, as the start recorded it; NULL (logged) if unknown. */
static const Backend *launch_running_backend(const Launch *l) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        const Backend *b;

        /* A run started before the record existed was QEMU's, the only hypervisor then. */
        if (launch_runtime_path(l, MVM_HYPERVISOR_FILE, &path) < 0 || read_file(path, &text, NULL) < 0)
                return backend_get("qemu");
        text[strcspn(text, "\n")] = '\0';
        b = backend_get(text);
        if (!b)
                log_warning("VM %s runs an unknown hypervisor '%s'.", l->name, text);
        return b;
}

/* The TSC rate, measured once per boot: a measurement costs 20 ms, a start should not. */
static uint64_t tsc_khz_cached(void) {
        _cleanup_free_ char *text = NULL, *line = NULL;
        guint64 khz;

        if (read_file(MVM_TSC_KHZ_CACHE, &text, NULL) >= 0 &&
            g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, UINT64_MAX, &khz, NULL))
                return khz;

        khz = host_tsc_khz();
        if (khz > 0 && asprintf(&line, "%" PRIu64 "\n", (uint64_t) khz) >= 0)
                (void) write_file_atomic(MVM_TSC_KHZ_CACHE, line, strlen(line), 0644);
        return khz;
}

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

/* The VM's configuration, with each NIC's bridge, MAC and TAP filled in as they will be used. On
 * failure: the bus error name and a message (g_free). */
static int launch_load_config(const Launch *l, Config **ret, char **ret_binary, const char **ret_error_name,
                              char **ret_message) {
        _cleanup_(daemon_config_done) DaemonConfig daemon_config = {};
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *path = NULL;
        g_autofree char *error = NULL;
        int r;

        r = vm_config_path_find(l->name, &path, NULL);
        if (r < 0) {
                *ret_error_name = MVM_ERROR_NO_SUCH_VM;
                *ret_message = g_strdup_printf("No VM '%s': no key file in %s or %s", l->name, MVM_RUNTIME_CONFIG_DIR,
                                               MVM_CONFIG_DIR);
                return r;
        }

        r = keyfile_load(path, &config, ret_message);
        if (r < 0) {
                *ret_error_name = MVM_ERROR_INVALID_CONFIG;
                return r;
        }

        r = daemon_config_load(MVM_DAEMON_CONFIG_FILE, &daemon_config, &error);
        if (r < 0) {
                *ret_error_name = MVM_ERROR_INVALID_CONFIG;
                *ret_message = TAKE_PTR(error);
                return r;
        }
        r = net_fill_config(config, l->name, daemon_config.default_bridge);
        if (r < 0) {
                *ret_error_name = MVM_ERROR_INVALID_CONFIG;
                *ret_message = g_strdup_printf("Cannot fill in the network settings: %s", g_strerror(-r));
                return r;
        }
        if (ret_binary) {
                const char *binary = daemon_config_binary(&daemon_config, config_get_string(config, CONFIG_HYPERVISOR));

                *ret_binary = NULL;
                if (binary && !(*ret_binary = strdup(binary)))
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(config);
        return 0;
}

static const char *nic_get(const Config *c, size_t i, ConfigKeyId key, GVariant **holder) {
        return config_group_get_string(&c->groups[CONFIG_SECTION_NETWORK][i], key, holder);
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

static int launch_taps_path(const Launch *l, char **ret) {
        return asprintf(ret, "%s/" MVM_TAPS_FILE, l->runtime_dir) < 0 ? -ENOMEM : 0;
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

/* Removes the TAPs the start recorded. */
static void launch_remove_recorded_taps(const Launch *l) {
        _cleanup_(net_closep) NetSocket *sk = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        g_auto(GStrv) taps = NULL;
        int r;

        if (launch_taps_path(l, &path) < 0 || read_file(path, &text, NULL) < 0)
                return;
        taps = g_strsplit(text, "\n", -1);
        if (!taps[0] || !taps[0][0])
                return;

        r = net_open(&sk);
        if (r < 0) {
                log_warning_errno(r, "Cannot reach the kernel's netlink to remove TAP devices: %m");
                return;
        }
        for (size_t i = 0; taps[i]; i++) {
                if (!taps[i][0])
                        continue;
                r = net_tap_remove(sk, taps[i]);
                /* -EEXIST: the name belongs to a link that is not a TAP, and not to us. */
                if (r < 0 && r != -EEXIST)
                        log_warning_errno(r, "Cannot remove TAP device %s of VM %s, ignoring: %m", taps[i], l->name);
        }
        (void) unlink(path);
}

static int launch_seed_path(const Launch *l, char **ret) {
        return asprintf(ret, "%s/" MVM_CLOUD_INIT_SEED_FILE, l->state_dir) < 0 ? -ENOMEM : 0;
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

/* The user the hypervisor runs as (User= of the unit). */
static int hypervisor_user(uid_t *ret_uid, gid_t *ret_gid) {
        struct passwd *pw;

        errno = 0;
        pw = getpwnam(MVM_HYPERVISOR_USER);
        if (!pw)
                return errno > 0 ? -errno : -ESRCH;
        *ret_uid = pw->pw_uid;
        *ret_gid = pw->pw_gid;
        return 0;
}

/* The accelerator this start will use, and the TSC rate a TCG guest gets, both cached per boot: the
 * preparation probes as root, the start (unprivileged) finds the verdict and says it. */
static int launch_accelerator(const Launch *l, const Backend *backend, const Config *config, bool say,
                              BackendContext *ctx) {
        _cleanup_free_ char *reason = NULL;
        int r;

        if (backend->kvm_only)
                ctx->accelerator = ACCELERATOR_KVM;
        else {
                r = accelerator_resolve(config_get_string(config, CONFIG_ACCELERATOR), MVM_KVM_PROBE_CACHE,
                                        &ctx->accelerator, &reason);
                if (r == -EOPNOTSUPP)
                        return start_failed(l, r, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "Accelerator=kvm, but KVM is not "
                                            "usable here: %s. Use Accelerator=auto or tcg.", reason);
                if (r < 0)
                        return start_failed(l, r, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "Cannot choose an accelerator: %m.");
                if (say)
                        log_info("Accelerator: %s.", reason);
        }
        if (ctx->accelerator == ACCELERATOR_TCG)
                ctx->tsc_khz = tsc_khz_cached();
        return 0;
}

/* A restore: the same checks as RestoreVM's, also for a "systemctl start" after it, on the
 * configuration as written. As root: the snapshot is its caller's. */
static int launch_check_restore(const Launch *l, const Config *config) {
        _cleanup_free_ char *snapshot = NULL, *message = NULL;
        const char *error_name;
        int r;

        if (launch_restore_request(l, &snapshot) < 0)
                return 0;
        r = snapshot_check(snapshot, l->name, config, NULL, &error_name, &message);
        if (r < 0)
                return start_failed(l, r, error_name, "Cannot restore VM %s: %s.", l->name, message ?: strerror(-r));
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
static int verb_prepare(Launch *l) {
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

        r = launch_check_restore(l, config);
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

/* The descriptor the preparation handed over under name, or a failed start. */
static int launch_passed_fd(const Launch *l, const LaunchFds *fds, const char *name, const char *what, int *ret) {
        int fd = launch_fds_get(fds, name);

        if (fd < 0)
                return start_failed(l, EBADF, MVM_ERROR_START_FAILED, "%s was not handed to the hypervisor: the "
                                    "unit's preparation (ExecStartPre=) did not run, or ran for another "
                                    "configuration; start the unit again.", what);
        *ret = fd;
        return 0;
}

/* "/proc/self/fd/N": opens the file the preparation opened, where the hypervisor may not look it
 * up by its path (floating). */
static GVariant *fd_path(int fd) {
        g_autofree char *path = g_strdup_printf("/proc/self/fd/%d", fd);

        return g_variant_new_string(path);
}

static int verb_start(Launch *l) {
        _cleanup_(drive_probes_done) DriveProbes probes = {};
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(launch_fds_done) LaunchFds fds = {};
        _cleanup_free_ char *seed_path = NULL, *restore = NULL;
        g_autofree char *fill_problem = NULL;
        _cleanup_free_ char *binary = NULL, *configured_binary = NULL, *cmdline = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *problem = NULL;
        _cleanup_free_ int *drive_fds = NULL, *drive_ro_fds = NULL, *tap_fds = NULL;
        g_autofree char *error = NULL;
        const char *error_name;
        BackendContext ctx = { .name = l->name, .runtime_dir = l->runtime_dir, .state_dir = l->state_dir };
        const Backend *backend;
        size_t n_drives, n_nics;
        int kernel_fd, initrd_fd, r;

        r = launch_fds_receive(&fds);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_START_FAILED, "Cannot take the files systemd passed: %m.");

        r = launch_load_config(l, &config, &configured_binary, &error_name, &error);
        if (r < 0)
                return start_failed(l, r, error_name, "%s.", error);
        ctx.config = config;
        n_drives = config->n_groups[CONFIG_SECTION_DRIVE];
        n_nics = config->n_groups[CONFIG_SECTION_NETWORK];

        backend = l->backend = backend_get(config_get_string(config, CONFIG_HYPERVISOR));
        if (!backend)
                return start_failed(l, EOPNOTSUPP, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "Hypervisor=%s is not supported "
                                    "by this build of microvm: use Hypervisor=qemu.",
                                    config_get_string(config, CONFIG_HYPERVISOR));

        /* The preparation checked the files as they are; this start has them open. */
        r = launch_passed_fd(l, &fds, LAUNCH_FD_KERNEL, "The kernel", &kernel_fd);
        if (r < 0)
                return r;
        initrd_fd = -EBADF;
        if (config_get_string(config, CONFIG_INITRD)[0]) {
                r = launch_passed_fd(l, &fds, LAUNCH_FD_INITRD, "The initrd", &initrd_fd);
                if (r < 0)
                        return r;
        }
        drive_fds = calloc(MAX(n_drives, 1u), sizeof(int));
        drive_ro_fds = calloc(MAX(n_drives, 1u), sizeof(int));
        tap_fds = calloc(MAX(n_nics, 1u), sizeof(int));
        if (!drive_fds || !drive_ro_fds || !tap_fds)
                return log_oom();
        for (size_t i = 0; i < n_drives; i++) {
                char name[32];

                snprintf(name, sizeof(name), LAUNCH_FD_DRIVE_FMT, i);
                r = launch_passed_fd(l, &fds, name, "A drive image", &drive_fds[i]);
                if (r < 0)
                        return r;
                snprintf(name, sizeof(name), LAUNCH_FD_DRIVE_RO_FMT, i);
                drive_ro_fds[i] = launch_fds_get(&fds, name);
        }
        for (size_t i = 0; backend->takes_fds && i < n_nics; i++) {
                char name[32];

                snprintf(name, sizeof(name), LAUNCH_FD_TAP_FMT, i);
                r = launch_passed_fd(l, &fds, name, "A TAP device", &tap_fds[i]);
                if (r < 0)
                        return r;
        }

        r = drives_probe_fds(config, drive_fds, &probes, &fill_problem);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_INVALID_DRIVE, "%s.", fill_problem ?: strerror(-r));
        r = drives_fill_config(config, &probes, &fill_problem);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_INVALID_DRIVE, "%s.", fill_problem ?: strerror(-r));

        /* Checked by the preparation. */
        ctx.restore = launch_restore_request(l, &restore) >= 0;

        /* The hypervisor opens what it was handed, not the paths. */
        r = config_set(config, CONFIG_KERNEL, fd_path(kernel_fd), NULL);
        if (r >= 0 && initrd_fd >= 0)
                r = config_set(config, CONFIG_INITRD, fd_path(initrd_fd), NULL);
        for (size_t i = 0; r >= 0 && i < n_drives; i++)
                r = config_group_set(&config->groups[CONFIG_SECTION_DRIVE][i], CONFIG_DRIVE_PATH, fd_path(drive_fds[i]),
                                     NULL);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_START_FAILED, "Cannot point the hypervisor at its files: %m.");
        if (backend->takes_fds) {
                ctx.drive_fds = drive_fds;
                ctx.drive_ro_fds = drive_ro_fds;
                ctx.tap_fds = n_nics > 0 ? tap_fds : NULL;
        }

        if (vm_seed_wanted(config)) {
                r = launch_seed_path(l, &seed_path);
                if (r < 0)
                        return log_oom();
                /* Made by the preparation. */
                if (access(seed_path, R_OK) < 0)
                        return start_failed(l, errno, MVM_ERROR_START_FAILED, "The cloud-init seed %s is missing: "
                                            "the unit's preparation (ExecStartPre=) did not make it: %m.", seed_path);
                ctx.seed_path = seed_path;
        }

        r = find_binary(backend, configured_binary, &binary, &problem);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "%s.", problem ?: strerror(-r));
        ctx.binary = binary;

        if (backend->kvm_only && access("/dev/kvm", R_OK | W_OK) < 0)
                /* No probe: these hypervisors say themselves what KVM lacks. */
                return start_failed(l, errno, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "%s runs guests on KVM only, "
                                    "and /dev/kvm cannot be used (%m): load kvm_intel or kvm_amd, or use "
                                    "Hypervisor=qemu.", backend->display_name);
        r = launch_accelerator(l, backend, config, /* say= */ true, &ctx);
        if (r < 0)
                return r;

        /* QEMU's vsock device needs the host's vhost-vsock; the agent's virtio-serial ports do not.
         * The hybrid vsock of the others needs nothing of the host. */
        ctx.vsock = backend->agent_over_vsock || access("/dev/vhost-vsock", R_OK | W_OK) >= 0;

        r = launch_write_backend_files(l, backend, &ctx);
        if (r < 0)
                return r;

        r = backend->build_argv(&ctx, &argv);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_INVALID_CONFIG, "Cannot build the %s command line: %m.",
                                    backend->name);

        cmdline = strv_join(argv, " ");
        log_info("Starting: %s", strempty(cmdline));

        /* Ready now: from here the unit's main process is the hypervisor itself. */
        (void) sd_notify(/* unset_environment= */ true, "READY=1\nSTATUS=Running.");
        execv(argv[0], argv);
        return start_failed(l, errno, MVM_ERROR_HYPERVISOR_UNAVAILABLE, "Cannot execute %s: %m.", argv[0]);
}


typedef struct AgentReply {
        bool done;
        char error[256];        /* the agent's error, "" when the method returned */
} AgentReply;

static int agent_reply_handler(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        AgentReply *reply = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        reply->done = true;
        if (e)
                snprintf(reply->error, sizeof(reply->error), "%s: %s", e->name, strempty(e->message));
        return 0;
}

/* How often the hybrid vsock is tried while nothing listens in the guest yet. */
#define VSOCK_RETRY_MS 100

/* The unit's own channel to the guest agent. QEMU's virtio-serial socket takes what is sent before
 * the agent runs; a hybrid vsock refuses until the agent listens, so it is tried again until the
 * deadline. -EHOSTDOWN when the hypervisor exited meanwhile. */
static int launch_agent_connect(const Launch *l, uint64_t deadline, int pidfd, int *ret_fd) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!l->backend || !l->backend->agent_over_vsock) {
                if (launch_runtime_path(l, MVM_AGENT_UNIT_SOCKET, &path) < 0)
                        return -ENOMEM;
                return agent_socket_connect(path, ret_fd);
        }

        if (launch_runtime_path(l, MVM_VSOCK_SOCKET, &path) < 0)
                return -ENOMEM;
        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                uint64_t t = now_usec(CLOCK_MONOTONIC);

                if (t >= deadline)
                        return -ETIMEDOUT;
                r = agent_socket_connect(path, &fd);
                if (r >= 0)
                        r = vsock_hybrid_handshake(fd, MVM_AGENT_VSOCK_PORT, deadline - t);
                if (r >= 0) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
                if (!IN_SET(r, -ECONNREFUSED, -ENOENT, -ECONNRESET, -EPROTO))
                        return r;
                if (pidfd >= 0 && poll(&p, 1, VSOCK_RETRY_MS) > 0)
                        return -EHOSTDOWN;
                if (pidfd < 0)
                        (void) poll(NULL, 0, VSOCK_RETRY_MS);
        }
}

/* The guest agent, on the unit's own channel (microvmd has the other): one call, answered or not
 * within timeout_usec. The connection goes first: the hypervisor's socket exists from its start,
 * and what is sent before the agent runs waits in it, so a guest still booting just answers later.
 * Returns 0 when the method returned, -ETIMEDOUT, -EHOSTDOWN when the hypervisor exited, or
 * -errno (the agent's error is logged). Blocks: only the launcher's verbs use it. */
static int launch_agent_call(const Launch *l, const char *method, uint64_t timeout_usec, int pidfd) {
        /* Not flushed when done: with no agent the connection never leaves authentication, and a
         * flush would wait for it. */
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec;
        AgentReply reply = {};
        int fd = -EBADF, r;

        r = launch_agent_connect(l, deadline, pidfd, &fd);
        if (r < 0)
                return r;
        r = agent_bus_new(fd, &bus);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_call_method_async(bus, &slot, NULL, MVM_AGENT_PATH, MVM_AGENT_INTERFACE, method,
                                             agent_reply_handler, &reply, NULL);
        if (r < 0)
                return r;

        while (!reply.done) {
                struct pollfd p[2] = {
                        { .fd = sd_bus_get_fd(bus), .events = (short) sd_bus_get_events(bus) },
                        { .fd = pidfd, .events = POLLIN },
                };
                uint64_t t = now_usec(CLOCK_MONOTONIC);

                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                if (t >= deadline)
                        return -ETIMEDOUT;
                r = poll(p, pidfd >= 0 ? 2 : 1, (int) MIN((deadline - t + 999) / 1000, (uint64_t) 1000));
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r > 0 && pidfd >= 0 && (p[1].revents & POLLIN))
                        return -EHOSTDOWN;
        }
        if (reply.error[0])
                return log_debug_errno(EBADMSG, "The guest agent refused %s: %s", method, reply.error);
        return 0;
}

#define STARTED_TIMEOUT_MS 10000
#define STARTED_POLL_MS 5


/* With WaitReady=yes the start ends only when the guest agent answers, so that units ordered after
 * this one start with the guest ready; the moment is recorded for microvmd (MVM_READY_FILE). */
static int launch_wait_ready(const Launch *l, int pidfd) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *path = NULL, *line = NULL;
        g_autofree char *message = NULL;
        const char *error_name;
        uint64_t timeout, started = now_usec(CLOCK_MONOTONIC);
        int r;

        r = launch_load_config(l, &config, NULL, &error_name, &message);
        if (r < 0)
                return start_failed(l, r, error_name, "%s.", message);
        if (!config_get_bool(config, CONFIG_WAIT_READY))
                return 0;

        timeout = config_get_number(config, CONFIG_READY_TIMEOUT_SEC) * 1000000u;
        log_info("Waiting up to %" PRIu64 " s for the guest agent of VM %s (WaitReady=yes).", timeout / 1000000u,
                 l->name);
        r = launch_agent_call(l, "Ping", timeout, pidfd);
        if (r == -ETIMEDOUT)
                return start_failed(l, r, MVM_ERROR_START_FAILED, "The guest agent of VM %s did not answer within "
                                    "%" PRIu64 " s (ReadyTimeoutSec=): is microvm-agent running in the guest?",
                                    l->name, timeout / 1000000u);
        if (r == -EHOSTDOWN)
                return start_failed(l, r, MVM_ERROR_START_FAILED, "The hypervisor of VM %s exited while waiting "
                                    "for the guest agent: 'journalctl -u " MVM_UNIT_PREFIX "%s" MVM_UNIT_SUFFIX
                                    "' shows why.", l->name, l->name);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_START_FAILED, "Cannot reach the guest agent of VM %s: %m.",
                                    l->name);

        if (asprintf(&path, "%s/" MVM_READY_FILE, l->runtime_dir) < 0 ||
            asprintf(&line, "%" PRIu64 "\n", now_usec(CLOCK_REALTIME)) < 0)
                return log_oom();
        r = write_file_atomic(path, line, strlen(line), 0644);
        if (r < 0)
                log_warning_errno(r, "Cannot record that VM %s is ready, ignoring: %m", l->name);
        log_info("The guest agent of VM %s answered after %" PRIu64 " ms: ready.", l->name,
                 (now_usec(CLOCK_MONOTONIC) - started) / 1000u);
        return 0;
}

/* How long a snapshot's load may take (the guest's memory is read in). */
#define API_RESTORE_TIMEOUT_USEC (120 * 1000000u)
/* How long one request of the start and stop may wait for the hypervisor's API. */
#define API_CALL_TIMEOUT_USEC (1000000u)

/* A restore through the hypervisor's API: its version first, then the load into the empty
 * hypervisor, which resumes the guest unless the snapshot was of a paused VM. */
static int launch_api_restore(const Launch *l, const char *socket_path, const char *path, const SnapshotMeta *meta,
                              const char **ret_error_name, char **ret_message) {
        _cleanup_free_ char *ping = NULL, *version = NULL, *fault = NULL;
        int r;

        r = api_execute(l->backend, socket_path, API_PING, NULL, false, API_CALL_TIMEOUT_USEC, &ping, &fault);
        if (r >= 0)
                version = api_version(ping);
        if (!version) {
                *ret_error_name = MVM_ERROR_START_FAILED;
                return problem_set(r < 0 ? r : -EBADMSG, ret_message, "%s did not say its version: %s",
                                   l->backend->display_name, fault ?: (r < 0 ? strerror(-r) : "no version in its reply"));
        }
        if (!streq(version, meta->hypervisor_version)) {
                *ret_error_name = MVM_ERROR_SNAPSHOT_MISMATCH;
                return problem_set(-EXDEV, ret_message, "%s was taken with %s %s, but this is %s %s; restore it where "
                                   "that version runs, or take a new snapshot", path, l->backend->display_name,
                                   meta->hypervisor_version, l->backend->display_name, version);
        }

        r = api_execute(l->backend, socket_path, API_RESTORE, path, !meta->paused, API_RESTORE_TIMEOUT_USEC, NULL,
                        &fault);
        if (r < 0) {
                *ret_error_name = MVM_ERROR_INVALID_SNAPSHOT;
                return problem_set(r, ret_message, "%s could not load %s: %s", l->backend->display_name, path,
                                   fault ?: strerror(-r));
        }
        log_info("Restored %s%s.", path, meta->paused ? "; the VM stays paused, as it was" : "; the VM goes on");
        return 0;
}

/* Firecracker and cloud-hypervisor read a snapshot by its path, as the hypervisor's user, in a view
 * where the caller's files are not theirs to read: the snapshot is copied into the VM's state
 * directory, as that user's, for the load (free() the copy's path; remove the copy after). */
static int launch_stage_snapshot(const Launch *l, const char *path, char **ret) {
        _cleanup_strv_free_ char **from = NULL, **to = NULL;
        _cleanup_free_ char *staged = NULL;
        uid_t uid;
        gid_t gid;
        int r;

        r = hypervisor_user(&uid, &gid);
        if (r < 0)
                return r;
        if (asprintf(&staged, "%s/.restore", l->state_dir) < 0)
                return -ENOMEM;
        api_snapshot_remove(l->backend, staged);
        r = api_snapshot_files(l->backend, path, &from);
        if (r >= 0)
                r = api_snapshot_files(l->backend, staged, &to);
        if (r < 0)
                return r;
        if (api_snapshot_is_directory(l->backend)) {
                if (mkdir(staged, 0700) < 0 || chown(staged, uid, gid) < 0)
                        return -errno;
        }
        for (size_t i = 0; from[i] && to[i]; i++) {
                struct stat st;

                if (stat(from[i], &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                r = copy_file(from[i], to[i], uid, gid, 0600);
                if (r < 0) {
                        api_snapshot_remove(l->backend, staged);
                        return r;
                }
        }
        *ret = TAKE_PTR(staged);
        return 0;
}

/* A restore's start: the state goes in before the start is done, so that the VM runs when it is. */
static int launch_load_snapshot(const Launch *l, const char *socket_path, int pidfd) {
        _cleanup_(snapshot_meta_done) SnapshotMeta meta = {};
        _cleanup_free_ char *snapshot = NULL, *message = NULL;
        const char *error_name;
        int r;

        if (launch_restore_request(l, &snapshot) < 0)
                return 0;
        launch_remove_restore_request(l);

        r = snapshot_meta_read(snapshot, &meta, &message);
        if (r < 0)
                return start_failed(l, r, MVM_ERROR_INVALID_SNAPSHOT, "Cannot restore VM %s: the metadata of %s "
                                    "cannot be read: %s.", l->name, snapshot, message ?: strerror(-r));
        if (l->backend->control == BACKEND_CONTROL_HTTP) {
                _cleanup_free_ char *staged = NULL;

                r = launch_stage_snapshot(l, snapshot, &staged);
                if (r < 0)
                        return start_failed(l, r, MVM_ERROR_START_FAILED, "Cannot restore VM %s: %s cannot be copied "
                                            "for its hypervisor: %m.", l->name, snapshot);
                r = launch_api_restore(l, socket_path, staged, &meta, &error_name, &message);
                api_snapshot_remove(l->backend, staged);
        } else
                r = launch_restore(socket_path, snapshot, &meta, pidfd, &error_name, &message);
        if (r < 0)
                return start_failed(l, r, error_name, "Cannot restore VM %s: %s.", l->name, strna(message));
        return 0;
}

/* The socket the unit's start and stop drive the hypervisor through. */
static int launch_control_socket(const Launch *l, char **ret) {
        return launch_runtime_path(l, l->backend->control == BACKEND_CONTROL_QMP ? MVM_QMP_SOCKET : MVM_API_SOCKET,
                                   ret);
}

static int launch_hypervisor_answers(const Launch *l, const char *socket_path) {
        if (l->backend->control == BACKEND_CONTROL_QMP)
                return qmp_execute_simple(socket_path, "query-status");
        return api_execute(l->backend, socket_path, API_PING, NULL, false, API_CALL_TIMEOUT_USEC, NULL, NULL);
}

/* ExecStartPost: the start job ends only once the hypervisor answers on its control socket, so
 * that a hypervisor that fails as it starts (a kernel it cannot load, say) fails the start, with
 * a named error for StartVM, instead of "succeeding" and crashing right after. */
static int verb_started(Launch *l) {
        _cleanup_free_ char *socket_path = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        const char *e = getenv("MAINPID");
        int r = -ENOENT;

        if (!l->backend)
                return start_failed(l, -ENOENT, MVM_ERROR_START_FAILED, "The start of VM %s did not record its "
                                    "hypervisor.", l->name);
        if (launch_control_socket(l, &socket_path) < 0)
                return log_oom();
        if (e && e[0])
                pidfd = (int) syscall(SYS_pidfd_open, (pid_t) strtol(e, NULL, 10), 0);

        for (int waited = 0; waited < STARTED_TIMEOUT_MS; waited += STARTED_POLL_MS) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };

                r = launch_hypervisor_answers(l, socket_path);
                if (r >= 0) {
                        r = launch_load_snapshot(l, socket_path, pidfd);
                        if (r < 0)
                                return r;
                        return launch_wait_ready(l, pidfd);
                }
                if (pidfd < 0 || poll(&p, 1, STARTED_POLL_MS) > 0)
                        return start_failed(l, ESRCH, MVM_ERROR_START_FAILED,
                                            "The hypervisor of VM %s exited as it started: 'journalctl -u "
                                            MVM_UNIT_PREFIX "%s" MVM_UNIT_SUFFIX "' shows why.", l->name, l->name);
        }
        return start_failed(l, r, MVM_ERROR_START_FAILED, "The hypervisor of VM %s did not answer on %s within %d s: %m.",
                            l->name, socket_path, STARTED_TIMEOUT_MS / 1000);
}

/* How long the agent may take to answer Shutdown, and how long its shutdown may take before the
 * power button is pressed as well (within TimeoutStopSec=, 30 s). */
#define AGENT_SHUTDOWN_ASK_USEC (2 * 1000000u)
#define AGENT_SHUTDOWN_GRACE_MS 15000

static bool launch_ready_recorded(const Launch *l) {
        _cleanup_free_ char *path = NULL;

        return asprintf(&path, "%s/" MVM_READY_FILE, l->runtime_dir) >= 0 && access(path, F_OK) >= 0;
}

static bool launch_has(const Launch *l, const char *file) {
        _cleanup_free_ char *contents = NULL;

        return launch_read(l, file, &contents) >= 0;
}

/* Waits up to timeout_ms for the hypervisor to exit, or for microvmd to see the guest power off where
 * the hypervisor stays (then systemd's SIGTERM ends it): whether either happened. */
static bool launch_wait_end(const Launch *l, int pidfd, int timeout_ms) {
        for (int waited = 0; waited < timeout_ms; waited += 200) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };

                if (poll(&p, 1, MIN(200, timeout_ms - waited)) > 0)
                        return true;
                if (!l->backend->exits_on_poweroff && launch_has(l, MVM_POWEROFF_MARKER_FILE))
                        return true;
        }
        return false;
}

/* A guest still booting may not listen to its power button yet: press it again this often. */
#define POWER_BUTTON_REPEAT_MS 1000

static int verb_stop(Launch *l) {
        _cleanup_free_ char *socket_path = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        const char *e = getenv("MAINPID");
        pid_t pid;
        int r;

        /* Without $MAINPID the hypervisor has already exited: nothing to ask. */
        if (!e || !e[0])
                return 0;
        pid = (pid_t) strtol(e, NULL, 10);

        /* Wait on the hypervisor's exit itself, not on a socket or stdin. */
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return errno == ESRCH ? 0 : log_error_errno(errno, "Cannot watch process %d: %m", (int) pid);

        /* A guest already powered off has nothing to hear: systemd's SIGTERM ends its hypervisor. */
        if (launch_has(l, MVM_POWEROFF_MARKER_FILE))
                return 0;
        (void) launch_write(l, MVM_STOP_MARKER_FILE, "\n");

        if (!l->backend)
                return 0;       /* systemd's SIGTERM, then SIGKILL, end it */
        if (launch_control_socket(l, &socket_path) < 0)
                return log_oom();

        /* A paused guest would not see the request: it goes on first, to shut down. */
        r = l->backend->control == BACKEND_CONTROL_QMP
                ? qmp_execute_simple(socket_path, "cont")
                : api_execute(l->backend, socket_path, API_RESUME, NULL, false, API_CALL_TIMEOUT_USEC, NULL, NULL);
        if (r < 0)
                log_debug_errno(r, "Could not resume VM %s before stopping it: %m", l->name);

        /* The guest agent first: it shuts down the guest's own way (systemd's poweroff where it has
         * one), and works where the guest ignores the power button. Only where an agent answered in
         * this run: waiting for one that is not there would only delay the power button. */
        r = launch_ready_recorded(l)
                ? launch_agent_call(l, l->backend->exits_on_poweroff ? "Shutdown" : "Reboot", AGENT_SHUTDOWN_ASK_USEC,
                                    pidfd)
                : -ENOENT;
        if (r >= 0) {
                log_info("Asked the guest agent of VM %s to shut down; waiting for the guest.", l->name);
                if (launch_wait_end(l, pidfd, AGENT_SHUTDOWN_GRACE_MS))
                        return 0;
                log_info("VM %s still runs after %d s: pressing its power button too.", l->name,
                         AGENT_SHUTDOWN_GRACE_MS / 1000);
        } else if (r == -EHOSTDOWN)
                return 0;
        else
                log_debug_errno(r, "No guest agent of VM %s answered, using the power button: %m", l->name);

        /* No timeout of our own: systemd's TimeoutStopSec= ends this and kills the hypervisor. */
        for (unsigned presses = 0;; presses++) {
                /* A QEMU still starting has no socket yet, and one busy with another client does not
                 * greet: keep trying while the process lives, within TimeoutStopSec=. */
                r = l->backend->control == BACKEND_CONTROL_QMP
                        ? qmp_execute_simple(socket_path, "system_powerdown")
                        : api_execute(l->backend, socket_path, API_POWER_BUTTON, NULL, false, API_CALL_TIMEOUT_USEC,
                                      NULL, NULL);
                if (r < 0)
                        log_debug_errno(r, "Could not press the power button of VM %s through %s, trying again: %m",
                                        l->name, socket_path);
                else if (presses == 0)
                        log_info("Asked VM %s to power off; waiting for the guest to shut down.", l->name);

                if (launch_wait_end(l, pidfd, POWER_BUTTON_REPEAT_MS))
                        return 0;
        }
}

/* ExecStopPost: systemd passes $SERVICE_RESULT, $EXIT_CODE and $EXIT_STATUS; the markers say
 * what was asked for: a stop (ExecStop), a kill or a kill after a stop timeout (microvmd). */
static StopReason stop_reason(const Launch *l) {
        const char *result = getenv("SERVICE_RESULT") ?: "", *code = getenv("EXIT_CODE") ?: "",
                   *status = getenv("EXIT_STATUS") ?: "";
        bool asked = launch_has(l, MVM_STOP_MARKER_FILE);

        if (launch_has(l, MVM_START_ERROR_FILE))
                return STOP_REASON_START_FAILED;
        /* microvmd stopped the unit because the guest had powered off, unless a stop was asked first. */
        if (launch_has(l, MVM_POWEROFF_MARKER_FILE))
                return asked ? STOP_REASON_STOP_REQUEST : STOP_REASON_GUEST_POWEROFF;
        /* A start that timed out never ran: only a stop can time out into a kill. */
        if ((asked && streq(result, "timeout")) || launch_has(l, MVM_TIMEOUT_MARKER_FILE))
                return STOP_REASON_TIMEOUT_KILL;
        if (launch_has(l, MVM_KILL_MARKER_FILE))
                return STOP_REASON_KILLED;
        if (streq(code, "exited") && streq(status, "0"))
                return asked ? STOP_REASON_STOP_REQUEST : STOP_REASON_GUEST_POWEROFF;
        /* The guest could not be asked (no control socket), so systemd's SIGTERM ended it. */
        if (asked && streq(code, "killed") && streq(status, "TERM"))
                return STOP_REASON_STOP_REQUEST;
        return STOP_REASON_CRASHED;
}

static int verb_stopped(Launch *l) {
        _cleanup_free_ char *line = NULL;
        const char *reason = stop_reason_to_string(stop_reason(l));
        int r;

        launch_unlink(l, MVM_STOP_MARKER_FILE);
        launch_unlink(l, MVM_KILL_MARKER_FILE);
        launch_unlink(l, MVM_TIMEOUT_MARKER_FILE);
        launch_unlink(l, MVM_POWEROFF_MARKER_FILE);

        /* The TAP devices go with the VM; the bridges stay for the others. */
        launch_remove_recorded_taps(l);
        return_lent_files(l->runtime_dir);

        if (asprintf(&line, "%s\n", reason) < 0)
                return log_oom();
        r = launch_write(l, MVM_STOP_REASON_FILE, line);
        if (r < 0)
                return log_error_errno(r, "Failed to record the stop reason of VM %s: %m", l->name);
        log_info("VM %s stopped: %s (hypervisor %s, status %s).", l->name, reason,
                 strempty(getenv("EXIT_CODE")), strempty(getenv("EXIT_STATUS")));
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct {
                const char *verb;
                int (*run)(Launch *l);
        } verbs[] = {
                { "prepare", verb_prepare },
                { "start", verb_start },
                { "started", verb_started },
                { "stop", verb_stop },
                { "stopped", verb_stopped },
        };
        int (*run)(Launch *l) = NULL;
        Launch l = {};
        int r;

        for (size_t i = 0; argc == 3 && i < ELEMENTSOF(verbs); i++)
                if (streq(argv[1], verbs[i].verb))
                        run = verbs[i].run;
        if (!run) {
                fprintf(stderr, "Usage: %s prepare|start|started|stop|stopped NAME\n", program_invocation_short_name);
                return 2;
        }

        r = launch_init(&l, argv[2]);
        if (r >= 0)
                r = run(&l);
        launch_done(&l);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
