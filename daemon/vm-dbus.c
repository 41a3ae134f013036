/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The org.microvm.VM interface. No object is registered per VM: one fallback vtable serves every
 * path under /org/microvm/Manager/vm and finds the VM by decoding the path. */

#include "bus-errors.h"
#include "bus-names.h"
#include "bus-variant.h"
#include "fileio.h"
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accel.h"
#include "backend.h"
#include "drives.h"
#include "launch-check.h"
#include "manager-network.h"
#include "manager-vsock.h"
#include "log.h"
#include "vm-files.h"
#include "strv.h"
#include "snapshot.h"
#include "vm-agent.h"
#include "vm-console.h"
#include "vm-api.h"
#include "vm-qmp.h"
#include "vm-unit.h"
#include "vm-dbus.h"


static int property_get_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "s", vm->name);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "s", vm_state_to_string(vm->state));
}

static int property_get_unit(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "s", vm->unit);
}

static int property_get_config_file(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "s", vm->config_path);
}

static int property_get_transient(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "b", vm->transient);
}

static int property_get_main_pid(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "u", vm_state_is_active(vm->state) > 0 ? vm->main_pid : 0);
}

static int property_get_started_at(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "t", vm_state_is_active(vm->state) > 0 ? vm->started_at : 0);
}

static int property_get_stop_reason(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "s", stop_reason_to_string(vm->stop_reason));
}

static int property_get_needs_restart(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "b", vm_needs_restart(vm));
}

static int property_get_agent_connected(sd_bus *bus, const char *path, const char *interface, const char *property,
                                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "b", vm->agent_connected);
}

static int property_get_ready(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "b", vm->ready_at > 0);
}

static int property_get_ready_at(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        return sd_bus_message_append(reply, "t", vm->ready_at);
}

/* Probed as it is read: an image can change under a VM at any time, and a probe costs little. */
static int property_get_drive_info(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
        for (size_t i = 0; i < vm->config->n_groups[CONFIG_SECTION_DRIVE]; i++) {
                g_autoptr(GVariant) p = config_group_get(&vm->config->groups[CONFIG_SECTION_DRIVE][i],
                                                         CONFIG_DRIVE_PATH);

                g_variant_builder_add_value(&b, drive_info_to_variant(g_variant_get_string(p, NULL)));
        }

        g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_builder_end(&b));
        return bus_message_append_gvariant(reply, v);
}

/* Every schema key is a property of the same name, read through the schema. */
static int property_get_config(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VM *vm = userdata;
        g_autoptr(GVariant) v = config_get_property(vm->config, property);

        assert(v);
        return bus_message_append_gvariant(reply, v);
}

/* 1: allowed; 0: polkit is being asked, and the handler returns 1 and runs again when it has
 * answered; < 0: refused. */
static int vm_authorize(sd_bus_message *msg, VM *vm, const char *action, sd_bus_error *error) {
        const char *details[] = { "vm", vm->name, NULL };

        return polkit_check(msg, action, details, &vm->manager->polkit_registry, error);
}

static int error_not_running(sd_bus_error *error, VM *vm) {
        return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE, "VM '%s' is not running (it is %s).", vm->name,
                                 vm_state_to_string(vm->state));
}

static bool update_touches_files(const Config *old, const Config *new) {
        static const char *const relevant[] = {
                "Drives", "Hypervisor", "KernelCommandLine", "UserData", "MetaData", "NetworkConfig",
        };
        g_autofree const char **changed = config_changed_properties(old, new);

        for (size_t i = 0; changed[i]; i++)
                for (size_t j = 0; j < ELEMENTSOF(relevant); j++)
                        if (streq(changed[i], relevant[j]))
                                return true;
        return false;
}

int bus_vm_update(sd_bus_message *msg, VM *vm, sd_bus_error *error) {
        _cleanup_(config_freep) Config *config = NULL;
        g_autoptr(GVariant) dict = NULL;
        g_autofree char *problem = NULL;
        bool autostart;
        int r;

        r = bus_message_read_gvariant(msg, &dict);
        if (r < 0)
                return r;

        r = config_update_from_variant(vm->config, dict, &config, &problem);
        if (r >= 0)
                r = manager_assign_networks(vm->manager, vm->name, config, &problem);
        if (r >= 0)
                r = manager_assign_vsock_cid(vm->manager, vm->name, config, &problem);
        if (r < 0 && !problem)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_CONFIG, "Invalid configuration for VM '%s': %s",
                                         vm->name, problem);

        /* The images and files are probed again only when what they are checked against changed:
         * a drive that went missing should not keep the memory size from changing. */
        if (update_touches_files(vm->config, config)) {
                _cleanup_free_ char *message = NULL;
                const char *error_name;

                r = config_check_files(vm->name, config, NULL, &error_name, &message);
                if (r < 0)
                        return sd_bus_error_setf(error, error_name, "Invalid configuration for VM '%s': %s",
                                                 vm->name, strna(message));
        }

        r = vm_authorize(msg, vm, MVM_ACTION_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        r = vm_write_config(vm, config);
        if (r < 0)
                return bus_error_system(error, r, "Cannot write %s", vm->config_path);

        autostart = config_get_bool(config, CONFIG_AUTOSTART);
        if (autostart != config_get_bool(vm->config, CONFIG_AUTOSTART))
                (void) vm_set_autostart(vm, autostart);

        vm_set_config(vm, TAKE_PTR(config));
        return sd_bus_reply_method_return(msg, NULL);
}

static int error_busy(sd_bus_error *error, VM *vm) {
        return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE,
                                 "VM '%s' is being started or stopped already: wait until that is done.", vm->name);
}

int bus_vm_start(sd_bus_message *msg, VM *vm, sd_bus_error *error) {
        const char *error_name;
        _cleanup_free_ char *problem = NULL;
        int r;

        if (vm_has_pending_job(vm))
                return error_busy(error, vm);
        if (vm_state_is_active(vm->state) > 0)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE, "VM '%s' is %s already.", vm->name,
                                         vm_state_to_string(vm->state));

        /* Refuse what cannot start before any unit instance exists. */
        r = launch_check(vm->name, vm->config, NULL, &error_name, &problem);
        if (r < 0)
                return sd_bus_error_setf(error, error_name, "Cannot start VM '%s': %s.", vm->name, problem);
        if (streq(config_get_string(vm->config, CONFIG_ACCELERATOR), "kvm") &&
            kvm_probe_read_cache(MVM_KVM_PROBE_CACHE, &problem) == 0)
                return sd_bus_error_setf(error, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                         "Cannot start VM '%s': Accelerator=kvm, but KVM is not usable here: %s. "
                                         "Use Accelerator=auto or tcg.", vm->name, problem);

        r = vm_authorize(msg, vm, MVM_ACTION_LIFECYCLE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        r = vm_start(vm, msg);
        return r < 0 ? bus_error_system(error, r, "Cannot ask systemd to start %s", vm->unit) : 1;
}

int bus_vm_stop(sd_bus_message *msg, VM *vm, sd_bus_error *error) {
        uint64_t timeout_usec;
        int r;

        r = sd_bus_message_read(msg, "t", &timeout_usec);
        if (r < 0)
                return r;

        if (vm_has_pending_job(vm))
                return error_busy(error, vm);
        if (vm_state_is_active(vm->state) <= 0)
                return error_not_running(error, vm);

        r = vm_authorize(msg, vm, MVM_ACTION_LIFECYCLE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        r = vm_stop(vm, msg, timeout_usec);
        return r < 0 ? bus_error_system(error, r, "Cannot ask systemd to stop %s", vm->unit) : 1;
}

int bus_vm_kill(sd_bus_message *msg, VM *vm, sd_bus_error *error) {
        int32_t signo;
        int r;

        r = sd_bus_message_read(msg, "i", &signo);
        if (r < 0)
                return r;

        if (signo <= 0 || signo >= _NSIG)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_ARGUMENT,
                                         "%" PRIi32 " is not a signal number: use 1 to %d, e.g. 15 (SIGTERM) or 9 (SIGKILL).",
                                         signo, _NSIG - 1);
        if (vm_state_is_active(vm->state) <= 0)
                return error_not_running(error, vm);

        r = vm_authorize(msg, vm, MVM_ACTION_LIFECYCLE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        r = vm_kill(vm, msg, signo);
        return r < 0 ? bus_error_system(error, r, "Cannot ask systemd to kill %s", vm->unit) : 1;
}

/* QEMU is driven over QMP; Firecracker and cloud-hypervisor over their REST APIs. */
static bool vm_uses_qmp(const VM *vm) {
        const Backend *b = vm_backend(vm);

        return !b || b->control == BACKEND_CONTROL_QMP;
}

/* Pause, resume and snapshot talk to the hypervisor one at a time, and not while systemd starts
 * or stops it. */
static int check_hypervisor_idle(VM *vm, sd_bus_error *error) {
        if (vm_has_pending_job(vm))
                return error_busy(error, vm);
        if (vm_qmp_busy(vm) || vm_api_busy(vm))
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE,
                                         "VM '%s' is being paused, resumed or saved already: wait until that is done.",
                                         vm->name);
        return 0;
}

int bus_vm_pause(sd_bus_message *msg, VM *vm, sd_bus_error *error) {
        int r;

        r = check_hypervisor_idle(vm, error);
        if (r < 0)
                return r;
        if (vm->state == VM_PAUSED)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE, "VM '%s' is paused already.", vm->name);
        if (vm->state != VM_RUNNING)
                return error_not_running(error, vm);

        r = vm_authorize(msg, vm, MVM_ACTION_LIFECYCLE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        return vm_uses_qmp(vm) ? vm_qmp_pause(vm, msg, error) : vm_api_pause(vm, msg, error);
}

int bus_vm_resume(sd_bus_message *msg, VM *vm, sd_bus_error *error) {
        int r;

        r = check_hypervisor_idle(vm, error);
        if (r < 0)
                return r;
        if (vm->state != VM_PAUSED)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE, "VM '%s' is not paused (it is %s).",
                                         vm->name, vm_state_to_string(vm->state));
        /* QEMU's threads are frozen: it could not even answer. */
        if (vm->frozen)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE,
                                         "VM '%s' is frozen by systemd: resume it with 'systemctl thaw %s'.", vm->name,
                                         vm->unit);

        r = vm_authorize(msg, vm, MVM_ACTION_LIFECYCLE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        return vm_uses_qmp(vm) ? vm_qmp_resume(vm, msg, error) : vm_api_resume(vm, msg, error);
}

static int check_snapshot_path_syntax(const char *path, sd_bus_error *error) {
        if (path[0] != '/' || path[strlen(path) - 1] == '/')
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_ARGUMENT,
                                         "'%s' is not an absolute path of a file: give the snapshot's full path.",
                                         path);
        if (strlen(path) > PATH_MAX - 32)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_ARGUMENT, "The path '%.64s…' is too long.", path);
        return 0;
}

/* After authorization, since it looks at the file system as root. microvmd writes as root: it
 * overwrites nothing but an older snapshot, and writes for anyone else only into a directory of
 * theirs. */
static int check_snapshot_path(const char *path, uid_t uid, sd_bus_error *error) {
        _cleanup_free_ char *dir = strdup(path);
        struct stat st;

        if (!dir)
                return -ENOMEM;
        if (lstat(path, &st) >= 0 && !((S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) && snapshot_exists_at(path)))
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_ARGUMENT,
                                         "%s exists and is not a snapshot: choose another path, or remove it first.",
                                         path);
        if (uid == 0)
                return 0;
        *strrchr(dir, '/') = '\0';
        if (stat(dir[0] ? dir : "/", &st) < 0 || st.st_uid != uid || !S_ISDIR(st.st_mode))
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_ARGUMENT,
                                         "%s is not a directory of yours (user %u): snapshots are written only into "
                                         "the caller's own directories.", dir[0] ? dir : "/", (unsigned) uid);
        return 0;
}

int bus_vm_snapshot(sd_bus_message *msg, VM *vm, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid = 0;
        gid_t gid = 0;
        const char *path;
        int r;

        r = sd_bus_message_read(msg, "s", &path);
        if (r < 0)
                return r;
        r = check_snapshot_path_syntax(path, error);
        if (r < 0)
                return r;
        r = check_hypervisor_idle(vm, error);
        if (r < 0)
                return r;
        if (!IN_SET(vm->state, VM_RUNNING, VM_PAUSED))
                return error_not_running(error, vm);
        if (vm->frozen)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE,
                                         "VM '%s' is frozen by systemd, so its hypervisor cannot save it: "
                                         "'systemctl thaw %s' first.", vm->name, vm->unit);

        r = vm_authorize(msg, vm, MVM_ACTION_LIFECYCLE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        /* The file belongs to whoever asked for it; the bus vouches for the user, /proc tells the group. */
        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, &uid);
        if (r >= 0 && sd_bus_creds_get_egid(creds, &gid) < 0)
                gid = (gid_t) -1;
        if (r < 0)
                return bus_error_system(error, r, "Cannot tell who asked for the snapshot of VM '%s'", vm->name);
        r = check_snapshot_path(path, uid, error);
        if (r < 0)
                return r;

        return vm_uses_qmp(vm) ? vm_qmp_snapshot(vm, msg, path, uid, gid, error)
                               : vm_api_snapshot(vm, msg, path, uid, gid, error);
}

int bus_vm_restore(sd_bus_message *msg, VM *vm, sd_bus_error *error) {
        _cleanup_free_ char *message = NULL, *dir = NULL, *request = NULL, *line = NULL;
        const char *path, *error_name;
        int r;

        r = sd_bus_message_read(msg, "s", &path);
        if (r < 0)
                return r;
        if (vm_has_pending_job(vm))
                return error_busy(error, vm);
        if (vm_state_is_active(vm->state) > 0)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE,
                                         "VM '%s' is %s: stop it before restoring a snapshot into it.", vm->name,
                                         vm_state_to_string(vm->state));

        r = check_snapshot_path_syntax(path, error);
        if (r < 0)
                return r;
        r = launch_check(vm->name, vm->config, NULL, &error_name, &message);
        if (r < 0)
                return sd_bus_error_setf(error, error_name, "Cannot start VM '%s': %s.", vm->name, message);

        r = vm_authorize(msg, vm, MVM_ACTION_LIFECYCLE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        /* Only now: it reads the caller's files as root. */
        message = mfree(message);
        r = snapshot_check(path, vm->name, vm->config, NULL, &error_name, &message);
        if (r < 0 && !message)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, error_name, "Cannot restore VM '%s': %s.", vm->name, message);

        /* The unit's start finds the request in its runtime directory, which goes when it stops. */
        if (vm_runtime_dir(vm->name, &dir) < 0 || asprintf(&request, "%s/" MVM_RESTORE_FILE, dir) < 0 ||
            asprintf(&line, "%s\n", path) < 0)
                return -ENOMEM;
        r = mkdir_parents(dir, 0755);
        if (r >= 0)
                r = write_file_atomic(request, line, strlen(line), 0600);
        if (r < 0)
                return bus_error_system(error, r, "Cannot write %s", request);

        log_info("Restoring VM %s from %s.", vm->name, path);
        r = vm_start(vm, msg);
        if (r < 0) {
                (void) unlink(request);
                return bus_error_system(error, r, "Cannot ask systemd to start %s", vm->unit);
        }
        return 1;
}

int bus_vm_open_console(sd_bus_message *msg, VM *vm, sd_bus_error *error) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!IN_SET(vm->state, VM_STARTING, VM_RUNNING, VM_PAUSED))
                return error_not_running(error, vm);
        if (!vm_backend(vm)->serial_socket)
                return sd_bus_error_setf(error, MVM_ERROR_HYPERVISOR_UNAVAILABLE,
                                         "%s gives VM '%s' no console to attach to: its serial output is the unit's "
                                         "journal ('journalctl -u %s'). Use Hypervisor=qemu or cloud-hypervisor for "
                                         "an interactive console.", vm_backend(vm)->display_name, vm->name, vm->unit);

        r = vm_authorize(msg, vm, MVM_ACTION_CONSOLE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        r = vm_console_open(vm, &fd);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, MVM_ERROR_CONSOLE_BUSY,
                                         "The console of VM '%s' is open already: close that one first.", vm->name);
        if (r == -ENOTCONN)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE,
                                         "The serial console of VM '%s' is not connected yet: its hypervisor is "
                                         "starting; try again in a moment.", vm->name);
        if (r < 0)
                return bus_error_system(error, r, "Cannot open the console of VM '%s'", vm->name);

        return sd_bus_reply_method_return(msg, "h", fd);
}

int bus_vm_delete(sd_bus_message *msg, VM *vm, sd_bus_error *error) {
        int r;

        /* Its state is not known before systemd answered; nobody should get here by the bus name. */
        if (!vm->manager->synced)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE,
                                         "microvmd is still starting up: try again in a moment.");

        if (vm_has_pending_job(vm))
                return error_busy(error, vm);
        if (vm_state_is_active(vm->state) > 0)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE, "VM '%s' is %s: stop it before deleting it.",
                                         vm->name, vm_state_to_string(vm->state));

        r = vm_authorize(msg, vm, MVM_ACTION_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        r = unlink_durable(vm->config_path);
        if (r < 0 && r != -ENOENT)
                return bus_error_system(error, r, "Cannot remove %s", vm->config_path);

        /* Also undoes a "systemctl enable microvm@NAME": deleting leaves no trace. */
        (void) vm_forget_unit(vm);
        log_info("Deleted VM %s.", vm->name);
        vm_emit_removed(vm);
        vm_free(vm);
        return sd_bus_reply_method_return(msg, NULL);
}

/* Extra time the host gives the agent beyond the guest command's own timeout: the round trip, and
 * the agent's kill and report. */
#define EXEC_REPLY_MARGIN_USEC (10 * UINT64_C(1000000))
#define AGENT_CALL_TIMEOUT_USEC (10 * UINT64_C(1000000))

int bus_vm_exec(sd_bus_message *msg, VM *vm, bool by_name, sd_bus_error *error) {
        _cleanup_strv_free_ char **argv = NULL;
        uint64_t timeout_usec, output_max;
        int r;

        r = sd_bus_message_read_strv(msg, &argv);
        if (r < 0)
                return r;
        r = sd_bus_message_skip(msg, "asay");
        if (r >= 0)
                r = sd_bus_message_read(msg, "tt", &timeout_usec, &output_max);
        if (r < 0)
                return r;

        if (!argv || !argv[0])
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_ARGUMENT,
                                         "argv is empty: give the command to run and its arguments.");
        if (vm->state != VM_RUNNING)
                return error_not_running(error, vm);

        r = vm_authorize(msg, vm, MVM_ACTION_EXEC, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        return vm_agent_forward(vm, msg, by_name, "Exec",
                                timeout_usec > 0 ? timeout_usec + EXEC_REPLY_MARGIN_USEC : UINT64_MAX, error);
}

int bus_vm_signal(sd_bus_message *msg, VM *vm, bool by_name, sd_bus_error *error) {
        const char *target;
        int32_t signo;
        int r;

        r = sd_bus_message_read(msg, "si", &target, &signo);
        if (r < 0)
                return r;
        if (signo <= 0 || signo >= _NSIG)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_ARGUMENT,
                                         "%" PRIi32 " is not a signal number: use 1 to %d.", signo, _NSIG - 1);
        if (!target[0])
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_ARGUMENT,
                                         "No target: give a process ID in the guest or a unit name.");
        if (vm->state != VM_RUNNING)
                return error_not_running(error, vm);

        r = vm_authorize(msg, vm, MVM_ACTION_EXEC, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* called again when polkit answers */

        return vm_agent_forward(vm, msg, by_name, "Signal", AGENT_CALL_TIMEOUT_USEC, error);
}

/* Open to everyone, like reading a property: it changes nothing. */
int bus_vm_ping(sd_bus_message *msg, VM *vm, bool by_name, sd_bus_error *error) {
        if (vm->state != VM_RUNNING)
                return error_not_running(error, vm);
        return vm_agent_forward(vm, msg, by_name, "Ping", AGENT_CALL_TIMEOUT_USEC, error);
}

/* Open to everyone as well: what the guest tells of itself is no more than its properties. */
int bus_vm_get_guest_info(sd_bus_message *msg, VM *vm, bool by_name, sd_bus_error *error) {
        if (vm->state != VM_RUNNING)
                return error_not_running(error, vm);
        return vm_agent_forward(vm, msg, by_name, "GetInfo", AGENT_CALL_TIMEOUT_USEC, error);
}

static int method_get_guest_info(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_get_guest_info(msg, userdata, false, error);
}

static int method_exec(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_exec(msg, userdata, false, error);
}

static int method_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_signal(msg, userdata, false, error);
}

static int method_ping(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_ping(msg, userdata, false, error);
}

static int method_update(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_update(msg, userdata, error);
}

static int method_delete(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_delete(msg, userdata, error);
}

static int method_start(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_start(msg, userdata, error);
}

static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_stop(msg, userdata, error);
}

static int method_kill(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_kill(msg, userdata, error);
}

static int method_pause(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_pause(msg, userdata, error);
}

static int method_resume(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_resume(msg, userdata, error);
}

static int method_snapshot(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_snapshot(msg, userdata, error);
}

static int method_restore(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_restore(msg, userdata, error);
}

static int method_open_console(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_vm_open_console(msg, userdata, error);
}

void vm_emit_created(VM *vm) {
        sd_bus *bus = vm->manager->bus;
        int r;

        r = sd_bus_emit_signal(bus, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "VMCreated", "so", vm->name,
                               vm->object_path);
        if (r >= 0)
                r = sd_bus_emit_interfaces_added(bus, vm->object_path, MVM_VM_INTERFACE, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to announce VM %s, ignoring: %m", vm->name);
}

void vm_emit_removed(VM *vm) {
        sd_bus *bus = vm->manager->bus;
        int r;

        r = sd_bus_emit_signal(bus, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "VMRemoved", "so", vm->name,
                               vm->object_path);
        if (r >= 0)
                r = sd_bus_emit_interfaces_removed(bus, vm->object_path, MVM_VM_INTERFACE, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to announce the removal of VM %s, ignoring: %m", vm->name);
}

static int vm_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                          sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        Manager *m = userdata;
        VM *vm;
        int r;

        r = sd_bus_path_decode(path, MVM_VM_PATH_PREFIX, &name);
        if (r <= 0)
                return r;

        vm = manager_get_vm(m, name);
        if (!vm)
                return 0;

        *found = vm;
        return 1;
}

static int vm_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;

        l = calloc(m->n_vms + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_vms; i++) {
                l[i] = strdup(m->vms[i]->object_path);
                if (!l[i])
                        return -ENOMEM;
        }

        *nodes = TAKE_PTR(l);
        return 1;
}

/* The fixed part of the interface; vm_dbus_register() appends one property per schema key, so
 * that the schema table stays the only list of keys. */
static const sd_bus_vtable vm_vtable_head[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Unit", "s", property_get_unit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ConfigFile", "s", property_get_config_file, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Transient", "b", property_get_transient, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MainPID", "u", property_get_main_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StartedAt", "t", property_get_started_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StopReason", "s", property_get_stop_reason, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NeedsRestart", "b", property_get_needs_restart, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Not in GetAll: it reads every image, which a listing of VMs should not. */
        SD_BUS_PROPERTY("DriveInfo", "aa{sv}", property_get_drive_info, 0, SD_BUS_VTABLE_PROPERTY_EXPLICIT),
        SD_BUS_PROPERTY("AgentConnected", "b", property_get_agent_connected, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Ready", "b", property_get_ready, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ReadyAt", "t", property_get_ready_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_SIGNAL_WITH_ARGS("Ready", SD_BUS_ARGS("t", ready_at), 0),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", config), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_delete,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Start", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_start, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_ARGS("t", timeout_usec), SD_BUS_RESULT("s", stop_reason), method_stop,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("i", signal), SD_BUS_NO_RESULT, method_kill,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Pause", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_pause, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Resume", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_resume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Snapshot", SD_BUS_ARGS("s", path), SD_BUS_NO_RESULT, method_snapshot,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Restore", SD_BUS_ARGS("s", path), SD_BUS_NO_RESULT, method_restore,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OpenConsole", SD_BUS_NO_ARGS, SD_BUS_RESULT("h", console), method_open_console,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Exec",
                                SD_BUS_ARGS("as", argv, "as", env, "ay", stdin, "t", timeout_usec, "t", output_max),
                                SD_BUS_RESULT("i", exit_status, "i", signal, "ay", stdout, "ay", stderr), method_exec,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Signal", SD_BUS_ARGS("s", target, "i", signal), SD_BUS_NO_RESULT, method_signal,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Ping", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_ping, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetGuestInfo", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", info), method_get_guest_info,
                                SD_BUS_VTABLE_UNPRIVILEGED),
};

static sd_bus_vtable *vm_vtable_build(void) {
        size_t n = ELEMENTSOF(vm_vtable_head);
        sd_bus_vtable *vt;

        vt = calloc(n + _CONFIG_KEY_MAX + _CONFIG_SECTION_MAX + 1, sizeof(sd_bus_vtable));
        if (!vt)
                return NULL;
        memcpy(vt, vm_vtable_head, sizeof(vm_vtable_head));

        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                if (config_section_is_repeatable(s))
                        vt[n++] = (sd_bus_vtable) SD_BUS_PROPERTY(config_section_get(s)->bus_name, "aa{sv}",
                                                                  property_get_config, 0,
                                                                  SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE);
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                const ConfigKey *key = config_key_get(id);

                if (!config_section_is_repeatable(key->section))
                        vt[n++] = (sd_bus_vtable) SD_BUS_PROPERTY(key->name, key->type, property_get_config, 0,
                                                                  SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE);
        }
        vt[n] = (sd_bus_vtable) SD_BUS_VTABLE_END;
        return vt;
}

int vm_dbus_register(Manager *m) {
        int r;

        m->vm_vtable = vm_vtable_build();
        if (!m->vm_vtable)
                return log_oom();

        r = sd_bus_add_fallback_vtable(m->bus, NULL, MVM_VM_PATH_PREFIX, MVM_VM_INTERFACE, m->vm_vtable,
                                       vm_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register %s: %m", MVM_VM_INTERFACE);

        r = sd_bus_add_node_enumerator(m->bus, NULL, MVM_VM_PATH_PREFIX, vm_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the VM node enumerator: %m");

        return 0;
}
