/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vsock context IDs with other VMs in the registry: the lowest free one from 3 up, unique, kept
 * once given, a given one checked against the others, and an ID free again once its VM is gone.
 * The registry is real (vm_new, manager_add_vm); no bus is needed. */

#include <criterion/criterion.h>

#include "keyfile.h"
#include "manager-vsock.h"
#include "manager.h"
#include "test-util.h"

#define BOOT "[Boot]\nKernel=/k\n"

static Manager *m;

static Config *parse(const char *text) {
        g_autofree char *error = NULL;
        Config *c = NULL;

        cr_assert_eq(keyfile_parse(text, "test.vm", &c, &error), 0, "%s: %s", text, strempty(error));
        return c;
}

/* Assigns like CreateVM (or UpdateVM, for a name in the registry) and adds the VM; returns its ID. */
static uint32_t create(const char *name, const char *text) {
        _cleanup_(config_freep) Config *c = parse(text);
        g_autofree char *error = NULL, *path = g_strdup_printf("/nonexistent/%s.vm", name);
        VM *vm = NULL;
        uint32_t cid;

        cr_assert_eq(manager_assign_vsock_cid(m, name, c, &error), 0, "%s: %s", name, strempty(error));
        cid = (uint32_t) config_get_number(c, CONFIG_VSOCK_CID);
        cr_assert_eq(vm_new(name, path, false, &c, &vm), 0, "%s", name);
        cr_assert_eq(manager_add_vm(m, vm), 0, "%s: added", name);
        return cid;
}

static void setup(void) {
        m = calloc(1, sizeof(Manager));
        cr_assert_not_null(m);
}

static void teardown(void) {
        m = manager_free(m);
}

TestSuite(manager_vsock, .init = setup, .fini = teardown);

Test(manager_vsock, lowest_free_from_3) {
        cr_expect_eq(create("a", BOOT), 3);
        cr_expect_eq(create("b", BOOT), 4);
        /* Given by hand: kept, and skipped by the next assignment. */
        cr_expect_eq(create("c", "[VM]\nVsockCID=5\n" BOOT), 5);
        cr_expect_eq(create("d", BOOT), 6);
        cr_expect_eq(create("e", "[VM]\nVsockCID=100\n" BOOT), 100);
        cr_expect_eq(create("f", BOOT), 7);
}

Test(manager_vsock, reused_after_delete) {
        VM *b;

        cr_expect_eq(create("a", BOOT), 3);
        cr_expect_eq(create("b", BOOT), 4);
        cr_expect_eq(create("c", BOOT), 5);
        b = manager_get_vm(m, "b");
        cr_assert_not_null(b);
        vm_free(b);
        cr_expect_null(manager_get_vm(m, "b"), "b is gone");
        cr_expect_eq(create("new", BOOT), 4, "the deleted VM's ID is free again");
}

Test(manager_vsock, given_taken) {
        _cleanup_(config_freep) Config *c = parse("[VM]\nVsockCID=3\n" BOOT);
        g_autofree char *error = NULL;

        cr_expect_eq(create("a", BOOT), 3);
        cr_expect_eq(manager_assign_vsock_cid(m, "b", c, &error), -EINVAL);
        expect_streq(error, "VsockCID: 3 is used by VM 'a': choose another or give 0 to have one assigned",
                     "a taken ID");
}

/* UpdateVM of a VM keeps its ID: its own is no collision with itself. */
Test(manager_vsock, update_keeps_its_own) {
        _cleanup_(config_freep) Config *c = NULL;
        g_autofree char *error = NULL, *text = NULL;

        cr_expect_eq(create("a", BOOT), 3);
        cr_expect_eq(create("b", BOOT), 4);
        text = keyfile_print(manager_get_vm(m, "b")->config);
        c = parse(text);
        cr_expect_eq(manager_assign_vsock_cid(m, "b", c, &error), 0, "%s", strempty(error));
        cr_expect_eq(config_get_number(c, CONFIG_VSOCK_CID), 4);
}

Test(manager_vsock, out_of_range) {
        static const char *const texts[] = { "[VM]\nVsockCID=1\n" BOOT, "[VM]\nVsockCID=2\n" BOOT,
                                             "[VM]\nVsockCID=4294967295\n" BOOT };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                g_autofree char *error = NULL;
                Config *c = NULL;

                cr_expect_eq(keyfile_parse(texts[i], "test.vm", &c, &error), -EINVAL, "%s", texts[i]);
                cr_expect(error && strstr(error, "VsockCID=: must be 0 (assign one) or between 3 and 4294967294"),
                          "%s: %s", texts[i], strempty(error));
                config_free(c);
        }
}
