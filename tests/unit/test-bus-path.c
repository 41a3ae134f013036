/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VM object paths: vm_bus_path() encodes, the fallback vtable decodes with the same prefix. */

#include <criterion/criterion.h>

#include "bus-names.h"
#include "test-util.h"
#include "vm-name.h"
#include "vm.h"

static const struct {
        const char *name;
        const char *path;
} cases[] = {
        { "web", MVM_VM_PATH_PREFIX "/web" },
        { "Web", MVM_VM_PATH_PREFIX "/Web" },
        { "a.b", MVM_VM_PATH_PREFIX "/a_2eb" },
        { "db-1", MVM_VM_PATH_PREFIX "/db_2d1" },
        { "_x", MVM_VM_PATH_PREFIX "/_5fx" },
        { "a_b", MVM_VM_PATH_PREFIX "/a_5fb" },
        { "1vm", MVM_VM_PATH_PREFIX "/_31vm" },
        { "42", MVM_VM_PATH_PREFIX "/_342" },
        { "a.", MVM_VM_PATH_PREFIX "/a_2e" },
        { "x_2e", MVM_VM_PATH_PREFIX "/x_5f2e" },
        { "0123456789012345678901234567890123456789012345678901234567890123",
          MVM_VM_PATH_PREFIX "/_30123456789012345678901234567890123456789012345678901234567890123" },
};

static char *decode(const char *path, int *ret_r) {
        char *name = NULL;

        *ret_r = sd_bus_path_decode(path, MVM_VM_PATH_PREFIX, &name);
        return name;
}

Test(bus_path, encode) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *path = NULL;

                cr_assert(vm_name_is_valid(cases[i].name), "%s: a valid name", cases[i].name);
                cr_expect_eq(vm_bus_path(cases[i].name, &path), 0, "%s", cases[i].name);
                expect_streq(path, cases[i].path, cases[i].name);
                cr_expect(sd_bus_object_path_is_valid(path), "%s: a valid object path", cases[i].name);
        }
}

Test(bus_path, round_trip) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *path = NULL, *name = NULL;
                int r;

                cr_assert_eq(vm_bus_path(cases[i].name, &path), 0, "%s", cases[i].name);
                name = decode(path, &r);
                cr_expect_eq(r, 1, "%s: decoded", cases[i].name);
                expect_streq(name, cases[i].name, cases[i].name);
        }
}

/* Distinct names, distinct paths: no two VMs share an object. */
Test(bus_path, injective) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                for (size_t j = i + 1; j < ELEMENTSOF(cases); j++)
                        cr_expect(!streq(cases[i].path, cases[j].path), "%s and %s", cases[i].name, cases[j].name);
}

/* Paths outside the VM subtree are not VMs. */
Test(bus_path, foreign_prefix) {
        static const char *const foreign[] = {
                "/",
                "/org",
                "/org/microvm/Manager",
                "/org/microvm/Manager/vmx",
                "/org/microvm/Manager/vms/web",
                "/org/microvm/Manager/Vm/web",
                "/org/microvm/web",
                "/org/freedesktop/machine1/machine/web",
        };

        for (size_t i = 0; i < ELEMENTSOF(foreign); i++) {
                _cleanup_free_ char *name = NULL;
                int r;

                name = decode(foreign[i], &r);
                cr_expect_eq(r, 0, "%s: not a VM path", foreign[i]);
                cr_expect_null(name, "%s: no name", foreign[i]);
        }
}

/* Below the prefix but not a valid VM name: decodes, and the name check turns it away. */
Test(bus_path, decoded_but_invalid) {
        static const struct {
                const char *path;
                const char *name;
        } cases_invalid[] = {
                { MVM_VM_PATH_PREFIX, "" },
                { MVM_VM_PATH_PREFIX "/a/b", "a/b" },
                { MVM_VM_PATH_PREFIX "/_2e_2e", ".." },
                { MVM_VM_PATH_PREFIX "/_2dx", "-x" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases_invalid); i++) {
                _cleanup_free_ char *name = NULL;
                int r;

                name = decode(cases_invalid[i].path, &r);
                cr_expect_eq(r, 1, "%s", cases_invalid[i].path);
                expect_streq(name, cases_invalid[i].name, cases_invalid[i].path);
                cr_expect_not(vm_name_is_valid(name), "%s: not a VM name", cases_invalid[i].path);
        }
}
