/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Driving microvm@NAME.service through systemd, asynchronously: a StartVM or StopVM is answered
 * from systemd's JobRemoved, and the VM's state follows the unit's PropertiesChanged. */

#include <signal.h>
#include <stdio.h>

#include "bus-errors.h"
#include "bus-names.h"
#include "fileio.h"
#include "log.h"
#include "manager.h"
#include "vm-files.h"
#include "vm-machine.h"
#include "vm-unit.h"

bool vm_has_pending_job(const VM *vm) {
        return vm->start_request || vm->stop_request;
}

/* Why the last start failed: the launcher writes the error name and message to its state dir. */
static void reply_start_failed(VM *vm, const char *result) {
        _cleanup_free_ char *text = NULL;

        if (vm_read_state_file(vm, MVM_START_ERROR_FILE, &text) >= 0) {
                char *message = strchr(text, '\n');

                if (message) {
                        *message++ = '\0';
                        message[strcspn(message, "\n")] = '\0';
                        /* Only our own names: the file is ours, but trust it no further. */
                        if (strncmp(text, "org.microvm.Error.", 18) == 0 && sd_bus_interface_name_is_valid(text)) {
                                bus_reply_pending(&vm->start_request, text, "Cannot start VM '%s': %s", vm->name,
                                                  message);
                                return;
                        }
                }
        }
        bus_reply_pending(&vm->start_request, MVM_ERROR_START_FAILED,
                          "Starting VM '%s' failed (job %s): 'journalctl -u %s' tells why.", vm->name, result,
                          vm->unit);
}

/* A restore's request is for its own start only. */
static void vm_remove_restore_request(VM *vm) {
        _cleanup_free_ char *dir = NULL, *path = NULL;

        if (vm_runtime_dir(vm->name, &dir) >= 0 && asprintf(&path, "%s/" MVM_RESTORE_FILE, dir) >= 0)
                (void) unlink(path);
}

static int reply_start_unit(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        VM *vm = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *job;
        int r;

        vm->start_slot = sd_bus_slot_unref(vm->start_slot);

        if (e) {
                vm_remove_restore_request(vm);
                bus_reply_pending(&vm->start_request, MVM_ERROR_START_FAILED, "systemd refused to start %s: %s",
                                  vm->unit, e->message);
                return 0;
        }
        r = sd_bus_message_read(reply, "o", &job);
        if (r >= 0)
                r = (vm->start_job = strdup(job)) ? 0 : -ENOMEM;
        if (r < 0)
                bus_reply_pending(&vm->start_request, MVM_ERROR_START_FAILED, "Bad reply from systemd: %s",
                                  strerror(-r));
        return 0;
}

int vm_start(VM *vm, sd_bus_message *request) {
        int r;

        assert(!vm_has_pending_job(vm));

        vm_remove_state_file(vm, MVM_START_ERROR_FILE);

        r = sd_bus_call_method_async(vm->manager->bus, &vm->start_slot, SYSTEMD_BUS_NAME, SYSTEMD_PATH,
                                     SYSTEMD_MANAGER_IFACE, "StartUnit", reply_start_unit, vm, "ss", vm->unit,
                                     "replace");
        if (r < 0)
                return log_error_errno(r, "Failed to ask systemd to start %s: %m", vm->unit);

        vm->start_request = sd_bus_message_ref(request);
        log_info("Starting VM %s.", vm->name);
        return 0;
}

static int reply_stop_unit(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        VM *vm = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *job;
        int r;

        vm->stop_slot = sd_bus_slot_unref(vm->stop_slot);

        if (e) {
                vm->stop_timer = sd_event_source_disable_unref(vm->stop_timer);
                bus_reply_pending(&vm->stop_request, MVM_ERROR_STOP_FAILED, "systemd refused to stop %s: %s",
                                  vm->unit, e->message);
                return 0;
        }
        r = sd_bus_message_read(reply, "o", &job);
        if (r >= 0)
                r = (vm->stop_job = strdup(job)) ? 0 : -ENOMEM;
        if (r < 0)
                bus_reply_pending(&vm->stop_request, MVM_ERROR_STOP_FAILED, "Bad reply from systemd: %s",
                                  strerror(-r));
        return 0;
}

static int kill_unit(VM *vm, int signo, sd_bus_message_handler_t callback, void *userdata) {
        return sd_bus_call_method_async(vm->manager->bus, NULL, SYSTEMD_BUS_NAME, SYSTEMD_PATH,
                                        SYSTEMD_MANAGER_IFACE, "KillUnit", callback, userdata, "ssi", vm->unit,
                                        "all", signo);
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        VM *vm = userdata;
        int r;

        vm->stop_timer = sd_event_source_disable_unref(vm->stop_timer);
        log_notice("VM %s did not shut down in time; killing it.", vm->name);

        /* ExecStopPost= reads this marker to record the kill as a timeout, not a crash. */
        (void) vm_write_state_file(vm, MVM_TIMEOUT_MARKER_FILE, "\n");
        r = kill_unit(vm, SIGKILL, NULL, NULL);
        if (r < 0)
                log_error_errno(r, "Failed to kill %s: %m", vm->unit);
        return 0;
}

int vm_stop(VM *vm, sd_bus_message *request, uint64_t timeout_usec) {
        int r;

        assert(!vm_has_pending_job(vm));

        /* Without a timeout of its own, the unit's TimeoutStopSec= bounds the stop. Armed first, so
         * that a stop under way always has its bound. */
        if (timeout_usec > 0) {
                r = sd_event_add_time_relative(vm->manager->event, &vm->stop_timer, CLOCK_MONOTONIC, timeout_usec,
                                               0, on_stop_timeout, vm);
                if (r < 0)
                        return log_error_errno(r, "Failed to arm the stop timeout of VM %s: %m", vm->name);
        }

        r = sd_bus_call_method_async(vm->manager->bus, &vm->stop_slot, SYSTEMD_BUS_NAME, SYSTEMD_PATH,
                                     SYSTEMD_MANAGER_IFACE, "StopUnit", reply_stop_unit, vm, "ss", vm->unit,
                                     "replace");
        if (r < 0) {
                vm->stop_timer = sd_event_source_disable_unref(vm->stop_timer);
                return log_error_errno(r, "Failed to ask systemd to stop %s: %m", vm->unit);
        }

        vm->stop_request = sd_bus_message_ref(request);
        log_info("Stopping VM %s.", vm->name);
        return 0;
}

static int reply_kill_unit(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *request = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        if (e)
                r = sd_bus_reply_method_errorf(request, MVM_ERROR_INVALID_STATE, "Cannot kill the VM: %s", e->message);
        else
                r = sd_bus_reply_method_return(request, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to KillVM, ignoring: %m");
        return 0;
}

int vm_kill(VM *vm, sd_bus_message *request, int signo) {
        int r;

        /* Only a signal that ends QEMU makes its end a kill rather than a crash. */
        if (!IN_SET(signo, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGCHLD, SIGURG, SIGWINCH))
                (void) vm_write_state_file(vm, MVM_KILL_MARKER_FILE, "\n");
        r = kill_unit(vm, signo, reply_kill_unit, request);
        if (r < 0)
                return log_error_errno(r, "Failed to ask systemd to kill %s: %m", vm->unit);
        sd_bus_message_ref(request);
        log_info("Sending signal %d to VM %s.", signo, vm->name);
        return 0;
}

void vm_job_removed(VM *vm, const char *job, const char *result) {
        int r;

        if (vm->start_job && streq(job, vm->start_job)) {
                vm->start_job = mfree(vm->start_job);
                vm_remove_restore_request(vm);
                if (!streq(result, "done"))
                        reply_start_failed(vm, result);
                else {
                        r = sd_bus_reply_method_return(vm->start_request, NULL);
                        if (r < 0)
                                log_warning_errno(r, "Failed to reply to StartVM, ignoring: %m");
                        vm->start_request = sd_bus_message_unref(vm->start_request);
                }
        }

        if (vm->stop_job && streq(job, vm->stop_job)) {
                vm->stop_job = mfree(vm->stop_job);
                vm->stop_timer = sd_event_source_disable_unref(vm->stop_timer);
                /* The job ends with the unit inactive: ExecStopPost= has written the reason. */
                vm_update_state(vm);
                if (!streq(result, "done"))
                        bus_reply_pending(&vm->stop_request, MVM_ERROR_STOP_FAILED,
                                          "Stopping VM '%s' failed (job %s).", vm->name, result);
                else {
                        r = sd_bus_reply_method_return(vm->stop_request, "s", stop_reason_to_string(vm->stop_reason));
                        if (r < 0)
                                log_warning_errno(r, "Failed to reply to StopVM, ignoring: %m");
                        vm->stop_request = sd_bus_message_unref(vm->stop_request);
                }
        }
}

static StopReason vm_read_stop_reason(const VM *vm) {
        _cleanup_free_ char *text = NULL;
        StopReason reason;

        if (vm_read_state_file(vm, MVM_STOP_REASON_FILE, &text) < 0)
                return STOP_REASON_NONE;
        text[strcspn(text, "\n")] = '\0';
        reason = stop_reason_from_string(text);
        return reason < 0 ? STOP_REASON_NONE : reason;
}

static bool unit_is_down(const char *active_state) {
        return !active_state || streq(active_state, "inactive") || streq(active_state, "failed");
}

void vm_update_state(VM *vm) {
        StopReason reason = vm->stop_reason;
        VMState state;

        if (unit_is_down(vm->active_state))
                reason = vm_read_stop_reason(vm);
        if (reason != vm->stop_reason) {
                vm->stop_reason = reason;
                vm_emit_properties_changed(vm, (const char *[]) { "StopReason", NULL });
        }

        state = vm_state_from_unit(vm->active_state, vm->unit_result, vm->stop_reason,
                                   vm->hypervisor_paused || vm->frozen);
        vm_set_state(vm, state);
}

void vm_set_unit_unloaded(VM *vm) {
        vm->active_state = mfree(vm->active_state);
        vm_update_state(vm);
}

static int replace_string(char **field, const char *value, bool *changed) {
        if (streq_ptr(*field, value))
                return 0;
        free(*field);
        *field = strdup(value);
        *changed = true;
        return *field ? 0 : -ENOMEM;
}

int vm_apply_unit_properties(VM *vm, sd_bus_message *msg) {
        const char *changed[4] = {};
        size_t n_changed = 0;
        bool unit_changed = false;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;

        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *name, *s;
                uint32_t u;
                uint64_t t;

                r = sd_bus_message_read(msg, "s", &name);
                if (r < 0)
                        return r;

                if (streq(name, "ActiveState") || streq(name, "Result")) {
                        r = sd_bus_message_read(msg, "v", "s", &s);
                        if (r >= 0)
                                r = replace_string(streq(name, "ActiveState") ? &vm->active_state : &vm->unit_result, s,
                                                   &unit_changed);
                } else if (streq(name, "FreezerState")) {
                        /* "systemctl freeze" stops the hypervisor's threads: the VM is paused. */
                        r = sd_bus_message_read(msg, "v", "s", &s);
                        if (r >= 0) {
                                bool frozen = streq(s, "frozen") || streq(s, "freezing");

                                unit_changed = unit_changed || frozen != vm->frozen;
                                vm->frozen = frozen;
                        }
                } else if (streq(name, "MainPID")) {
                        r = sd_bus_message_read(msg, "v", "u", &u);
                        if (r >= 0 && u != vm->main_pid) {
                                vm->main_pid = u;
                                changed[n_changed++] = "MainPID";
                        }
                } else if (streq(name, "ExecMainStartTimestamp")) {
                        r = sd_bus_message_read(msg, "v", "t", &t);
                        if (r >= 0 && t != vm->started_at) {
                                vm->started_at = t;
                                changed[n_changed++] = "StartedAt";
                                changed[n_changed++] = "NeedsRestart";
                        }
                } else
                        r = sd_bus_message_skip(msg, "v");
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;

        /* MainPID and StartedAt read as 0 while the VM is not active: a change behind that (systemd
         * unloading the stopped unit, whenever it does) changes nothing a client sees. */
        if (vm_state_is_active(vm->state) > 0)
                vm_emit_properties_changed(vm, changed);
        if (unit_changed)
                vm_update_state(vm);
        /* MainPID comes with the service's properties, the state with the unit's. */
        vm_machine_follow_state(vm);
        return 0;
}

static int reply_unit_files(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_warning("Failed to change whether a VM starts at boot, ignoring: %s", e->message);
        return 0;
}

int vm_forget_unit(VM *vm) {
        int r;

        /* The runtime drop-ins of the launcher's SetUnitProperties(), and any of the user's. */
        r = sd_bus_call_method_async(vm->manager->bus, NULL, SYSTEMD_BUS_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE,
                                     "RevertUnitFiles", reply_unit_files, NULL, "as", 1, vm->unit);
        if (r < 0)
                log_warning_errno(r, "Failed to revert %s, ignoring: %m", vm->unit);

        /* Serial log, stop reason, markers. */
        r = rm_rf(vm->state_dir);
        if (r < 0)
                log_warning_errno(r, "Failed to remove %s, ignoring: %m", vm->state_dir);

        return vm_set_autostart(vm, false);
}

int vm_set_autostart(VM *vm, bool enable) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        /* The same symlink "systemctl enable microvm@NAME" makes: in microvm.target.wants/. */
        r = sd_bus_message_new_method_call(vm->manager->bus, &call, SYSTEMD_BUS_NAME, SYSTEMD_PATH,
                                           SYSTEMD_MANAGER_IFACE, enable ? "EnableUnitFiles" : "DisableUnitFiles");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(call, (char *[]) { vm->unit, NULL });
        if (r < 0)
                return r;
        r = enable ? sd_bus_message_append(call, "bb", /* runtime= */ false, /* force= */ true)
                   : sd_bus_message_append(call, "b", /* runtime= */ false);
        if (r < 0)
                return r;
        r = sd_bus_call_async(vm->manager->bus, NULL, call, reply_unit_files, NULL, 0);
        if (r < 0)
                return log_warning_errno(r, "Failed to %s %s, ignoring: %m", enable ? "enable" : "disable", vm->unit);
        return 0;
}
