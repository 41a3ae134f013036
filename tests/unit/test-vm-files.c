/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a VM's files are: its runtime and state directories, and no key file for a VM that has
 * none. */

#include <criterion/criterion.h>

#include "bus-names.h"
#include "test-util.h"
#include "vm-files.h"

Test(vm_files, dirs) {
        static const struct {
                const char *name;
                const char *runtime_dir;
                const char *state_dir;
        } cases[] = {
                { "web", MVM_RUNSTATEDIR "/microvm/web", MVM_LOCALSTATEDIR "/lib/microvm/web" },
                { "db.backup_2", MVM_RUNSTATEDIR "/microvm/db.backup_2",
                  MVM_LOCALSTATEDIR "/lib/microvm/db.backup_2" },
                { "a-b", MVM_RUNSTATEDIR "/microvm/a-b", MVM_LOCALSTATEDIR "/lib/microvm/a-b" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *run = NULL, *state = NULL;

                cr_expect_eq(vm_runtime_dir(cases[i].name, &run), 0, "%s", cases[i].name);
                expect_streq(run, cases[i].runtime_dir, cases[i].name);
                cr_expect_eq(vm_state_dir(cases[i].name, &state), 0, "%s", cases[i].name);
                expect_streq(state, cases[i].state_dir, cases[i].name);
        }
}

/* The cache files live in the runtime directory's parent, beside the VMs' own, and are lost at
 * reboot with it. */
Test(vm_files, caches) {
        expect_streq(MVM_KVM_PROBE_CACHE, MVM_RUNSTATEDIR "/microvm/kvm-probe", "the KVM probe's verdict");
        expect_streq(MVM_TSC_KHZ_CACHE, MVM_RUNSTATEDIR "/microvm/tsc-khz", "the TSC rate");
}

Test(vm_files, config_path_missing) {
        _cleanup_free_ char *path = NULL;
        g_autofree char *name = g_strdup_printf("no-such-vm-%d", (int) getpid());
        bool transient = true;

        cr_expect_eq(vm_config_path_find(name, &path, &transient), -ENOENT, "%s", name);
        cr_expect_null(path, "no path returned");
        cr_expect(transient, "ret_transient untouched on failure");
        cr_expect_eq(vm_config_path_find(name, &path, NULL), -ENOENT, "%s, without ret_transient", name);
}
