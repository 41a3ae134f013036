/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Noticing a guest's poweroff in the journal of its unit. Reading the journal is reading mapped
 * files, as every journal client does on its loop; the wait for new entries is the journal's
 * inotify descriptor on microvmd's loop. */

#include <stdio.h>
#include <systemd/sd-journal.h>

#include "backend.h"
#include "console-journal.h"
#include "fileio.h"
#include "log.h"
#include "manager.h"
#include "vm-files.h"
#include "vm-poweroff.h"
#include "vm-state.h"
#include "vm-unit.h"

struct VMPoweroff {
        sd_journal *journal;
        sd_event_source *source;
        bool seen;                      /* the unit is being stopped for it */
};

void vm_poweroff_free(VM *vm) {
        if (!vm->poweroff)
                return;
        sd_event_source_disable_unref(vm->poweroff->source);
        sd_journal_close(vm->poweroff->journal);
        vm->poweroff = mfree(vm->poweroff);
}

static void vm_poweroff_seen(VM *vm) {
        int r;

        vm->poweroff->seen = true;
        vm->poweroff->source = sd_event_source_disable_unref(vm->poweroff->source);
        log_info("The guest of VM %s powered off; its hypervisor stays, so microvm stops %s.", vm->name, vm->unit);

        /* For the unit's stop (nothing to ask) and its stop reason (guest-poweroff). */
        r = vm_write_state_file(vm, MVM_POWEROFF_MARKER_FILE, "\n");
        if (r < 0)
                log_warning_errno(r, "Cannot record that VM %s powered off, stopping it all the same: %m", vm->name);
        /* A StopVM under way ends the same way. */
        if (vm->stop_job || vm->stop_slot)
                return;
        r = sd_bus_call_method_async(vm->manager->bus, NULL, SYSTEMD_BUS_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE,
                                     "StopUnit", NULL, NULL, "ss", vm->unit, "replace");
        if (r < 0)
                log_error_errno(r, "Cannot stop %s after its guest powered off: %m", vm->unit);
}

/* The entries that came since the last look. */
static void vm_poweroff_scan(VM *vm) {
        sd_journal *j = vm->poweroff->journal;
        int r;

        while ((r = sd_journal_next(j)) > 0) {
                const void *data;
                size_t length;

                if (sd_journal_get_data(j, "MESSAGE", &data, &length) < 0)
                        continue;
                if (console_line_is_poweroff((const char *) data + strlen("MESSAGE="), length - strlen("MESSAGE="))) {
                        vm_poweroff_seen(vm);
                        return;
                }
        }
        if (r < 0)
                log_warning_errno(r, "Cannot read the journal of %s, ignoring: %m", vm->unit);
}

static int on_journal(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        VM *vm = userdata;

        if (sd_journal_process(vm->poweroff->journal) < 0)
                return 0;
        vm_poweroff_scan(vm);
        return 0;
}

static int vm_poweroff_watch(VM *vm) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *id = NULL, *match = NULL;
        VMPoweroff *p;
        int fd, r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        vm->poweroff = p;

        /* This run's entries only, all of them: a poweroff of an earlier run is no reason to stop
         * this one, and one before microvmd started following is. */
        if (vm_runtime_dir(vm->name, &dir) < 0 || asprintf(&path, "%s/" MVM_INVOCATION_FILE, dir) < 0)
                return -ENOMEM;
        r = read_file(path, &id, NULL);
        if (r < 0)
                return r;
        id[strcspn(id, "\n")] = '\0';
        if (asprintf(&match, "_SYSTEMD_INVOCATION_ID=%s", id) < 0)
                return -ENOMEM;
        r = sd_journal_open(&p->journal, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r >= 0)
                r = sd_journal_add_match(p->journal, match, 0);
        if (r >= 0)
                r = sd_journal_seek_head(p->journal);
        if (r < 0)
                return r;
        fd = sd_journal_get_fd(p->journal);
        if (fd < 0)
                return fd;
        r = sd_event_add_io(vm->manager->event, &p->source, fd, sd_journal_get_events(p->journal), on_journal, vm);
        if (r < 0)
                return r;
        /* What came before the watch began (microvmd started after the VM did). */
        vm_poweroff_scan(vm);
        return 0;
}

void vm_poweroff_follow_state(VM *vm) {
        const Backend *backend = vm_backend(vm);
        int r;

        if (vm->state != VM_RUNNING && vm->state != VM_PAUSED) {
                if (vm_state_is_active(vm->state) <= 0)
                        vm_poweroff_free(vm);
                return;
        }
        if (vm->poweroff || !backend || backend->exits_on_poweroff || !vm->manager || !vm->manager->event)
                return;
        r = vm_poweroff_watch(vm);
        if (r < 0)
                /* Kept, so that it is not tried again in this run: the stop by the guest alone is lost. */
                log_warning_errno(r, "Cannot follow the journal of %s: a poweroff of its guest will leave it running: %m",
                                  vm->unit);
}
