/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What microvm-launch's verbs share: the VM they act on, its runtime and state files, its
 * configuration as the start sees it, and how a failed start is reported to microvmd. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "backend.h"
#include "config.h"
#include "macro.h"

typedef struct Launch {
        const char *name;
        char *runtime_dir;
        char *state_dir;
        /* The hypervisor this run started (MVM_HYPERVISOR_FILE): the key file may name another by
         * the time the VM stops. */
        const Backend *backend;
} Launch;

int launch_init(Launch *l, const char *name);
void launch_done(Launch *l);

/* Files of the state directory: written atomically, read whole (free()), removed, there or not. */
int launch_write(const Launch *l, const char *file, const char *contents);
int launch_read(const Launch *l, const char *file, char **ret);
void launch_unlink(const Launch *l, const char *file);
bool launch_has(const Launch *l, const char *file);
/* A file of the runtime directory (free()). */
int launch_runtime_path(const Launch *l, const char *file, char **ret);

/* Logs the failure and leaves it where microvmd finds it to answer StartVM with a named error;
 * returns -abs(error). */
_printf_(4, 5)
int start_failed(const Launch *l, int error, const char *bus_error, const char *format, ...);

/* The snapshot RestoreVM asked this start to load instead of booting (free()), or -ENOENT; and
 * its removal. */
int launch_restore_request(const Launch *l, char **ret);
void launch_remove_restore_request(const Launch *l);

/* The VM's configuration, with each NIC's bridge, MAC and TAP filled in as they will be used, and
 * the hypervisor microvmd.conf names (ret_binary, free(); NULL: none). On failure: the bus error
 * name and a message (g_free). */
int launch_load_config(const Launch *l, Config **ret, char **ret_binary, const char **ret_error_name,
                       char **ret_message);
/* A string key of NIC i. */
const char *nic_get(const Config *c, size_t i, ConfigKeyId key, GVariant **holder);

/* The TAP devices this run made (MVM_TAPS_FILE), and their removal. */
int launch_taps_path(const Launch *l, char **ret);
void launch_remove_recorded_taps(const Launch *l);

/* Where the cloud-init seed goes, in the state directory (free()). */
int launch_seed_path(const Launch *l, char **ret);

/* The user the hypervisor runs as (User= of the unit). */
int hypervisor_user(uid_t *ret_uid, gid_t *ret_gid);

/* The accelerator this start uses, and a TCG guest's TSC rate, into ctx; logged with say. */
int launch_accelerator(const Launch *l, const Backend *backend, const Config *config, bool say, BackendContext *ctx);

/* The verbs, one file each but stop, started and stopped (microvm-launch.c). */
int verb_prepare(Launch *l);
int verb_start(Launch *l);
