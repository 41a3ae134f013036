/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvm-launch start NAME: ExecStart, as the unprivileged hypervisor user; execs the hypervisor
 * (see verb_start()). */

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "bus-errors.h"
#include "daemon-config.h"
#include "drives.h"
#include "fileio.h"
#include "launch-check.h"
#include "launch-fds.h"
#include "launch.h"
#include "log.h"
#include "mvm-config.h"
#include "problem.h"
#include "strv.h"
#include "vm-files.h"
#include "vm-seed.h"

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

int verb_start(Launch *l) {
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
        int kernel_fd = -EBADF, initrd_fd = -EBADF, r;

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
