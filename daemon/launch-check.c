/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Start-time checks shared by microvmd and the launcher. */

#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "backend.h"
#include "bus-errors.h"
#include "fileio.h"
#include "launch-check.h"
#include "mvm-config.h"
#include "problem.h"
#include "vm-seed.h"

static int check_readable(const char *what, const char *key, const char *path, const struct passwd *pw,
                          const char **ret_error_name, char **ret_message) {
        struct stat st;

        /* access() with the real IDs: the launcher and microvmd both run as root here. */
        if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
                int r = negative_errno();

                *ret_error_name = MVM_ERROR_INVALID_CONFIG;
                return problem_set(r, ret_message, "%s %s cannot be read (%s): put the file there or change %s",
                               what, path, strerror(-r), key);
        }
        if (S_ISDIR(st.st_mode)) {
                *ret_error_name = MVM_ERROR_INVALID_CONFIG;
                return problem_set(-EISDIR, ret_message, "%s %s is a directory, not a file", what, path);
        }
        /* The hypervisor opens it again as its own user (through /proc/self/fd/N, which checks the
         * permissions). Often shared by many VMs, or the system's own, it is never lent (see
         * launch-lend.h) and must be readable as it is. Without the user (no sysusers yet) the
         * unit's start says so. */
        if (pw && !file_mode_allows(&st, /* write= */ false, pw->pw_uid, pw->pw_gid)) {
                *ret_error_name = MVM_ERROR_INVALID_CONFIG;
                return problem_set(-EACCES, ret_message, "%s %s cannot be read by the hypervisor's user "
                                   MVM_HYPERVISOR_USER " (mode %04o, owner %u): make it readable to all (chmod a+r) "
                                   "or copy it somewhere it is", what, path, (unsigned) (st.st_mode & 07777),
                                   (unsigned) st.st_uid);
        }
        return 0;
}

int config_check_files(const char *name, const Config *c, DriveProbes *ret_probes, const char **ret_error_name,
                       char **ret_message) {
        _cleanup_(drive_probes_done) DriveProbes probes = {};
        _cleanup_(vm_seed_inputs_done) VMSeedInputs seed = {};
        g_autofree char *why = NULL;
        int r;

        r = drives_probe(c, &probes, &why);
        if (r < 0) {
                *ret_error_name = MVM_ERROR_INVALID_DRIVE;
                return problem_set(r, ret_message, "%s", why ?: strerror(-r));
        }

        if (vm_seed_wanted(c)) {
                r = vm_seed_load(c, name, &seed, &why);
                if (r < 0) {
                        *ret_error_name = MVM_ERROR_INVALID_CONFIG;
                        return problem_set(r, ret_message, "%s", why ?: strerror(-r));
                }
        }

        if (ret_probes) {
                *ret_probes = probes;
                probes = (DriveProbes) {};
        }
        return 0;
}

int launch_check(const char *name, const Config *c, DriveProbes *ret_probes, const char **ret_error_name,
                 char **ret_message) {
        const char *hypervisor = config_get_string(c, CONFIG_HYPERVISOR);
        /* Looked up once per check: sysusers may make it while microvmd runs. */
        const struct passwd *pw = getpwnam(MVM_HYPERVISOR_USER);
        int r;

        if (!backend_get(hypervisor)) {
                *ret_error_name = MVM_ERROR_HYPERVISOR_UNAVAILABLE;
                return problem_set(-EOPNOTSUPP, ret_message, "Hypervisor=%s is not supported by this build of microvm: "
                               "use Hypervisor=qemu", hypervisor);
        }

        r = check_readable("Kernel", "Kernel=", config_get_string(c, CONFIG_KERNEL), pw, ret_error_name,
                           ret_message);
        if (r < 0)
                return r;
        if (config_get_string(c, CONFIG_INITRD)[0]) {
                r = check_readable("Initrd", "Initrd=", config_get_string(c, CONFIG_INITRD), pw, ret_error_name,
                                   ret_message);
                if (r < 0)
                        return r;
        }
        return config_check_files(name, c, ret_probes, ret_error_name, ret_message);
}
