/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager lifetime, the sorted VM registry and loading key files at start-up. */

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "bus-errors.h"
#include "daemon-config.h"
#include "bus-names.h"
#include "keyfile.h"
#include "log.h"
#include "manager-dbus.h"
#include "manager-systemd.h"
#include "manager.h"
#include "vm-dbus.h"
#include "vm-name.h"

int manager_new(const char *default_bridge, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(daemon_config_done) DaemonConfig conf = {};
        g_autofree char *error = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;

        r = daemon_config_load(MVM_DAEMON_CONFIG_FILE, &conf, &error);
        if (r < 0)
                return log_error_errno(r, "%s", error ?: "Out of memory reading " MVM_DAEMON_CONFIG_FILE ".");
        m->default_bridge = strdup(default_bridge ?: conf.default_bridge);
        if (!m->default_bridge)
                return -ENOMEM;

        m->config_dir = MVM_CONFIG_DIR;
        m->runtime_config_dir = MVM_RUNTIME_CONFIG_DIR;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* Reverse of construction: VMs (each unlinks itself), pending checks, bus, loop. */
        while (m->n_vms > 0)
                vm_free(m->vms[m->n_vms - 1]);
        free(m->vms);

        polkit_registry_done(&m->polkit_registry);
        sd_bus_flush_close_unref(m->bus);
        free(m->vm_vtable);
        free(m->default_bridge);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

static int vm_compare_name(const void *key, const void *element) {
        const VM *const *vm = element;
        return strcmp(key, (*vm)->name);
}

VM *manager_get_vm(Manager *m, const char *name) {
        VM **found;

        if (m->n_vms == 0)
                return NULL;
        found = bsearch(name, m->vms, m->n_vms, sizeof(VM *), vm_compare_name);
        return found ? *found : NULL;
}

/* The index at which name is or would be inserted. */
static size_t manager_vm_index(Manager *m, const char *name) {
        size_t lo = 0, hi = m->n_vms;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(m->vms[mid]->name, name) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

int manager_add_vm(Manager *m, VM *vm) {
        size_t i = manager_vm_index(m, vm->name);
        VM **vms;

        if (i < m->n_vms && streq(m->vms[i]->name, vm->name))
                return -EEXIST;

        vms = realloc(m->vms, (m->n_vms + 1) * sizeof(VM *));
        if (!vms)
                return -ENOMEM;
        m->vms = vms;
        memmove(m->vms + i + 1, m->vms + i, (m->n_vms - i) * sizeof(VM *));
        m->vms[i] = vm;
        m->n_vms++;
        vm->manager = m;
        return 0;
}

void manager_remove_vm(Manager *m, VM *vm) {
        size_t i = manager_vm_index(m, vm->name);

        assert(i < m->n_vms && m->vms[i] == vm);
        memmove(m->vms + i, m->vms + i + 1, (m->n_vms - i - 1) * sizeof(VM *));
        m->n_vms--;
        vm->manager = NULL;
}

int manager_config_path(Manager *m, const char *name, bool transient, char **ret) {
        if (asprintf(ret, "%s/%s" MVM_CONFIG_SUFFIX, transient ? m->runtime_config_dir : m->config_dir, name) < 0)
                return -ENOMEM;
        return 0;
}

static int manager_load_vm(Manager *m, const char *dir, const char *filename, bool transient) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(vm_freep) VM *vm = NULL;
        _cleanup_free_ char *path = NULL, *name = NULL;
        g_autofree char *error = NULL;
        size_t n = strlen(filename) - strlen(MVM_CONFIG_SUFFIX);
        int r;

        name = strndup(filename, n);
        if (!name)
                return log_oom();
        if (asprintf(&path, "%s/%s", dir, filename) < 0)
                return log_oom();

        if (!vm_name_is_valid(name)) {
                log_error("%s: '%s' is not a valid VM name (%s), skipping.", path, name, MVM_VM_NAME_RULE);
                return 0;
        }
        if (manager_get_vm(m, name)) {
                log_error("%s: a VM called '%s' is already defined elsewhere, skipping.", path, name);
                return 0;
        }

        r = keyfile_load(path, &config, &error);
        if (r < 0) {
                log_error("%s, skipping.", error);
                return 0;
        }

        r = vm_new(name, path, transient, &config, &vm);
        if (r < 0)
                return log_error_errno(r, "Failed to set up VM %s: %m", name);
        r = manager_add_vm(m, vm);
        if (r < 0)
                return log_error_errno(r, "Failed to add VM %s: %m", name);
        TAKE_PTR(vm);
        return 0;
}

static int manager_load_dir(Manager *m, const char *dir, bool transient) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT)
                        return 0;
                return log_error_errno(errno, "Failed to open %s: %m", dir);
        }

        while ((errno = 0, de = readdir(d))) {
                size_t n = strlen(de->d_name);

                /* The temporary file of a write that microvmd died in (write_file_atomic()): its
                 * key file is whole, the old one or the new, and this is nobody's. */
                if (de->d_name[0] == '.' && strstr(de->d_name, MVM_CONFIG_SUFFIX ".tmp")) {
                        if (unlinkat(dirfd(d), de->d_name, 0) >= 0)
                                log_info("Removed %s/%s, left by an interrupted write.", dir, de->d_name);
                        continue;
                }
                /* Other hidden files are not VMs. */
                if (de->d_name[0] == '.' || n <= strlen(MVM_CONFIG_SUFFIX) ||
                    !streq(de->d_name + n - strlen(MVM_CONFIG_SUFFIX), MVM_CONFIG_SUFFIX))
                        continue;

                r = manager_load_vm(m, dir, de->d_name, transient);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return log_error_errno(errno, "Failed to read %s: %m", dir);
        return 0;
}

int manager_load_vms(Manager *m) {
        int r;

        /* Transient VMs first: a name in /run shadows the same name in /etc, as systemd does. */
        r = manager_load_dir(m, m->runtime_config_dir, /* transient= */ true);
        if (r < 0)
                return r;
        r = manager_load_dir(m, m->config_dir, /* transient= */ false);
        if (r < 0)
                return r;

        log_debug("Loaded %zu VMs.", m->n_vms);
        return 0;
}

static int request_name_done(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Manager *m = userdata;

        uint32_t result = 0;

        if (e) {
                log_error("Failed to acquire %s: %s", MVM_BUS_NAME, e->message);
                return sd_event_exit(m->event, -EEXIST);
        }
        /* A name someone else owns is a plain reply, not an error: 1 means ours. */
        if (sd_bus_message_read(reply, "u", &result) < 0 || result != 1) {
                log_error("%s is owned by another process already; exiting.", MVM_BUS_NAME);
                return sd_event_exit(m->event, -EEXIST);
        }

        log_debug("Acquired %s.", MVM_BUS_NAME);
        (void) sd_notify(/* unset_environment= */ false, "READY=1\nSTATUS=Serving " MVM_BUS_NAME ".");
        return 0;
}

int manager_startup(Manager *m) {
        int r;

        r = sd_bus_default_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");

        r = sd_bus_error_add_map(mvm_bus_error_map);
        if (r < 0)
                return log_error_errno(r, "Failed to register error names: %m");

        r = manager_dbus_register(m);
        if (r < 0)
                return r;
        r = vm_dbus_register(m);
        if (r < 0)
                return r;

        r = manager_load_vms(m);
        if (r < 0)
                return r;

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        /* The bus name follows once systemd has told us the state of every VM's unit. */
        return manager_systemd_startup(m);
}

void manager_systemd_synced(Manager *m) {
        int r;

        if (m->synced)
                return;
        m->synced = true;

        /* Name last: by the time a client can reach us, every VM is there with its true state. */
        r = sd_bus_request_name_async(m->bus, NULL, MVM_BUS_NAME, 0, request_name_done, m);
        if (r < 0) {
                log_error_errno(r, "Failed to request %s: %m", MVM_BUS_NAME);
                (void) sd_event_exit(m->event, r);
        }
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

int manager_run(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");

        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}
