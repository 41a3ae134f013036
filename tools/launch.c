/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What microvm-launch's verbs share (launch.h). */

#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>

#include "accel.h"
#include "bus-errors.h"
#include "bus-names.h"
#include "cloud-init.h"
#include "daemon-config.h"
#include "fileio.h"
#include "keyfile.h"
#include "launch.h"
#include "log.h"
#include "net-names.h"
#include "net.h"
#include "vm-files.h"
#include "vm-name.h"

static const Backend *launch_running_backend(const Launch *l);

void launch_done(Launch *l) {
        free(l->runtime_dir);
        free(l->state_dir);
}

int launch_init(Launch *l, const char *name) {
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

int launch_write(const Launch *l, const char *file, const char *contents) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", l->state_dir, file) < 0)
                return -ENOMEM;
        return write_file_atomic(path, contents, strlen(contents), 0644);
}

int launch_read(const Launch *l, const char *file, char **ret) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", l->state_dir, file) < 0)
                return -ENOMEM;
        return read_file(path, ret, NULL);
}

void launch_unlink(const Launch *l, const char *file) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", l->state_dir, file) >= 0)
                (void) unlink(path);
}

/* Logs the failure and leaves it where microvmd finds it to answer StartVM with a named error. */
_printf_(4, 5)
int start_failed(const Launch *l, int error, const char *bus_error, const char *format, ...) {
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
int launch_restore_request(const Launch *l, char **ret) {
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

void launch_remove_restore_request(const Launch *l) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/" MVM_RESTORE_FILE, l->runtime_dir) >= 0)
                (void) unlink(path);
}

int launch_runtime_path(const Launch *l, const char *file, char **ret) {
        return asprintf(ret, "%s/%s", l->runtime_dir, file) < 0 ? -ENOMEM : 0;
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

/* The VM's configuration, with each NIC's bridge, MAC and TAP filled in as they will be used. On
 * failure: the bus error name and a message (g_free). */
int launch_load_config(const Launch *l, Config **ret, char **ret_binary, const char **ret_error_name,
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

const char *nic_get(const Config *c, size_t i, ConfigKeyId key, GVariant **holder) {
        return config_group_get_string(&c->groups[CONFIG_SECTION_NETWORK][i], key, holder);
}

int launch_taps_path(const Launch *l, char **ret) {
        return asprintf(ret, "%s/" MVM_TAPS_FILE, l->runtime_dir) < 0 ? -ENOMEM : 0;
}

/* Removes the TAPs the start recorded. */
void launch_remove_recorded_taps(const Launch *l) {
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

int launch_seed_path(const Launch *l, char **ret) {
        return asprintf(ret, "%s/" MVM_CLOUD_INIT_SEED_FILE, l->state_dir) < 0 ? -ENOMEM : 0;
}

/* The user the hypervisor runs as (User= of the unit). */
int hypervisor_user(uid_t *ret_uid, gid_t *ret_gid) {
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
int launch_accelerator(const Launch *l, const Backend *backend, const Config *config, bool say,
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

bool launch_has(const Launch *l, const char *file) {
        _cleanup_free_ char *contents = NULL;

        return launch_read(l, file, &contents) >= 0;
}
