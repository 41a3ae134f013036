/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Paths of a VM's files, shared by microvmd and the unit's launcher. */

#include <stdio.h>

#include "bus-names.h"
#include "macro.h"
#include "vm-files.h"

int vm_config_path_find(const char *name, char **ret_path, bool *ret_transient) {
        static const struct {
                const char *dir;
                bool transient;
        } dirs[] = {
                /* A transient VM shadows a persistent one of the same name. */
                { MVM_RUNTIME_CONFIG_DIR, true },
                { MVM_CONFIG_DIR, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/%s" MVM_CONFIG_SUFFIX, dirs[i].dir, name) < 0)
                        return -ENOMEM;
                if (access(path, F_OK) < 0)
                        continue;
                if (ret_transient)
                        *ret_transient = dirs[i].transient;
                *ret_path = TAKE_PTR(path);
                return 0;
        }
        return -ENOENT;
}

int vm_runtime_dir(const char *name, char **ret) {
        return asprintf(ret, MVM_RUNSTATEDIR "/microvm/%s", name) < 0 ? -ENOMEM : 0;
}

int vm_state_dir(const char *name, char **ret) {
        return asprintf(ret, MVM_LOCALSTATEDIR "/lib/microvm/%s", name) < 0 ? -ENOMEM : 0;
}
