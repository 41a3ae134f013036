/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Faults: microvmd SIGKILLed at a random moment of a CreateVM, UpdateVM, DeleteVM, StartVM or
 * StopVM, fifty times over three VMs that boot the test guest with a NIC each. After each kill,
 * once systemd has finished what it was doing and microvmd is back (bus activation):
 *   - each key file is absent or whole, with the old or the new value, never a mix, and no
 *     temporary file is left;
 *   - the VMs microvmd lists are exactly those with a key file;
 *   - each VM's State agrees with its unit's, and a unit runs only for a VM that exists;
 *   - a VM's TAP device and runtime directory exist only while its unit is active.
 * And systemd re-executing itself (daemon-reexec, which drops microvmd's connection to it for a
 * moment) does not stop microvmd from following the units. VM names start with "ift-". */

#include <criterion/criterion.h>
#include <net/if.h>
#include <unistd.h>

#include "bus-test.h"
#include "bus-variant.h"
#include "config.h"
#include "keyfile.h"

#define PREFIX "ift-"
#define N_VMS 3
#define ROUNDS 50
/* How long a kill may come after the call was sent: the calls take milliseconds. */
#define MAX_DELAY_USEC 40000
#define SETTLE_USEC (60 * G_USEC_PER_SEC)

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(faults, .init = cleanup, .fini = cleanup);

typedef struct Vm {
        char name[16], tap[16];
        bool exists;
        uint64_t memory;        /* MemoryMiB of its key file */
        uint64_t other_memory;  /* the value an update in flight may have written instead, or 0 */
} Vm;

static char *vm_config(const Vm *vm, uint64_t memory, const char *cmdline) {
        g_autofree char *more = g_strdup_printf("'MemoryMiB': <uint64 %" PRIu64 ">, "
                                                "'Networks': <[{'TAP': <'%s'>}]>", memory, vm->tap);

        return bt_guest_config(cmdline, more);
}

static void call_async(BusTest *t, const char *member, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(t->bus, &m, BT_BUS_NAME, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, member);
        cr_assert(r >= 0);
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        cr_assert(r >= 0);
        /* The answer does not matter: microvmd is killed before or after it. */
        r = sd_bus_call_async(t->bus, NULL, m, NULL, NULL, 120 * G_USEC_PER_SEC);
        cr_assert(r >= 0, "%s: %s", member, strerror(-r));
        (void) sd_bus_flush(t->bus);
}

/* CreateVM or UpdateVM of name with config, not waited for. */
static void config_call_async(BusTest *t, const char *member, const char *name, const char *config) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        g_autoptr(GVariant) dict = g_variant_ref_sink(bt_config(config));
        int r;

        r = sd_bus_message_new_method_call(t->bus, &m, BT_BUS_NAME, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, member);
        cr_assert(r >= 0);
        r = sd_bus_message_append(m, "s", name);
        cr_assert(r >= 0);
        r = bus_message_append_gvariant(m, dict);
        cr_assert(r >= 0, "%s: %s", member, strerror(-r));
        r = sd_bus_call_async(t->bus, NULL, m, NULL, NULL, 120 * G_USEC_PER_SEC);
        cr_assert(r >= 0);
        (void) sd_bus_flush(t->bus);
}

/* Until no job of the VM's unit runs: what systemd was asked goes on without microvmd. */
static char *settled_unit_state(const char *name) {
        g_autofree char *unit = bt_vm_unit(name);

        for (int64_t deadline = g_get_monotonic_time() + SETTLE_USEC;;) {
                g_autofree char *state = bt_unit_property(unit, "ActiveState");

                if (!streq(state, "activating") && !streq(state, "deactivating") && !streq(state, "reloading"))
                        return g_steal_pointer(&state);
                cr_assert(g_get_monotonic_time() < deadline, "%s: its unit is still %s", name, state);
                g_usleep(100 * 1000);
        }
}

/* The key file: absent (false), or whole with MemoryMiB one of the values it may have. */
static bool check_key_file(const Vm *vm, uint64_t *ret_memory) {
        g_autofree char *path = g_strdup_printf(BT_CONFIG_DIR "/%s.vm", vm->name), *error = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        if (access(path, F_OK) < 0)
                return false;
        r = keyfile_load(path, &c, &error);
        cr_assert(r >= 0, "%s: its key file is broken: %s", vm->name, strempty(error));
        *ret_memory = config_get_number(c, CONFIG_MEMORY_MIB);
        cr_assert(*ret_memory == vm->memory || (vm->other_memory && *ret_memory == vm->other_memory),
                  "%s: MemoryMiB is %" PRIu64 ", neither the old %" PRIu64 " nor the new %" PRIu64, vm->name,
                  *ret_memory, vm->memory, vm->other_memory);
        return true;
}

/* What microvmd says of the VM agrees with systemd's unit, within a few seconds (microvmd follows
 * the unit's signals). */
static void check_vm(BusTest *t, Vm *vm, const char *round) {
        g_autofree char *unit_state = settled_unit_state(vm->name), *run = NULL;
        bool active = streq(unit_state, "active"), listed;
        uint64_t memory = 0;

        vm->exists = check_key_file(vm, &memory);
        if (vm->exists)
                vm->memory = memory;
        vm->other_memory = 0;
        listed = bt_vm_listed(t, vm->name);
        cr_assert_eq(listed, vm->exists, "%s, %s: listed %d, key file %d", round, vm->name, listed, vm->exists);
        cr_assert(vm->exists || !active, "%s, %s: its unit runs, but the VM is gone", round, vm->name);

        if (vm->exists) {
                const char *expected = active ? "running" : NULL;

                for (int64_t deadline = g_get_monotonic_time() + BT_TIMEOUT_USEC;;) {
                        g_autofree char *state = bt_vm_state(t, vm->name);
                        bool agrees = expected ? streq(state, expected)
                                               : (streq(state, "stopped") || streq(state, "defined") ||
                                                  streq(state, "crashed"));

                        if (agrees)
                                break;
                        cr_assert(g_get_monotonic_time() < deadline, "%s, %s: State %s, but its unit is %s", round,
                                  vm->name, state, unit_state);
                        g_usleep(50 * 1000);
                }
        }

        /* In this network namespace (/sys/class/net may show another's). */
        cr_assert_eq(if_nametoindex(vm->tap) > 0, active, "%s, %s: TAP %s there: %d, unit %s", round, vm->name,
                     vm->tap, if_nametoindex(vm->tap) > 0, unit_state);
        run = g_strdup_printf(BT_RUNTIME_DIR "/%s", vm->name);
        cr_assert(active || access(run, F_OK) < 0, "%s, %s: %s left with the unit %s", round, vm->name, run,
                  unit_state);
}

Test(faults, sigkill_during_calls, .timeout = 900) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autoptr(GRand) rand = g_rand_new_with_seed(20261124);
        Vm vms[N_VMS] = {};

        for (size_t i = 0; i < N_VMS; i++) {
                snprintf(vms[i].name, sizeof(vms[i].name), PREFIX "%zu", i);
                snprintf(vms[i].tap, sizeof(vms[i].tap), "ift%zutap", i);
                vms[i].memory = 256;
        }

        for (unsigned round = 0; round < ROUNDS; round++) {
                Vm *vm = &vms[g_rand_int_range(rand, 0, N_VMS)];
                g_autofree char *unit = bt_vm_unit(vm->name), *unit_state = bt_unit_property(unit, "ActiveState");
                g_autofree char *what = NULL;
                bool running = streq(unit_state, "active");
                int choice = g_rand_int_range(rand, 0, 3);

                if (!vm->exists) {
                        g_autofree char *config = vm_config(vm, 256, "");

                        what = g_strdup_printf("round %u: CreateVM %s", round, vm->name);
                        vm->memory = 256;
                        config_call_async(t, "CreateVM", vm->name, config);
                } else if (running) {
                        what = g_strdup_printf("round %u: StopVM %s", round, vm->name);
                        call_async(t, "StopVM", "st", vm->name, (uint64_t) (2 * G_USEC_PER_SEC));
                } else if (choice == 0) {
                        uint64_t memory = vm->memory == 256 ? 320 : 256;
                        g_autofree char *config = g_strdup_printf("{'MemoryMiB': <uint64 %" PRIu64 ">}", memory);

                        what = g_strdup_printf("round %u: UpdateVM %s", round, vm->name);
                        vm->other_memory = memory;
                        config_call_async(t, "UpdateVM", vm->name, config);
                } else if (choice == 1) {
                        what = g_strdup_printf("round %u: DeleteVM %s", round, vm->name);
                        call_async(t, "DeleteVM", "s", vm->name);
                } else {
                        what = g_strdup_printf("round %u: StartVM %s", round, vm->name);
                        call_async(t, "StartVM", "s", vm->name);
                }

                g_usleep(g_rand_int_range(rand, 0, MAX_DELAY_USEC));
                bt_kill_microvmd(what);

                for (size_t i = 0; i < N_VMS; i++)
                        check_vm(t, &vms[i], what);
                bt_assert_no_temp_files(what);
        }

        for (size_t i = 0; i < N_VMS; i++) {
                g_autofree char *unit = bt_vm_unit(vms[i].name), *state = bt_unit_property(unit, "ActiveState");

                if (streq(state, "active"))
                        g_free(bt_stop_vm(t, vms[i].name, BT_STOP_TIMEOUT_USEC));
        }
}

/* systemd re-executes itself: microvmd's subscription to it goes with the old connection's state,
 * and must be made again for microvmd to follow a VM's unit. */
Test(faults, daemon_reexec) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        Vm vm = { .name = PREFIX "reexec", .tap = "iftrtap", .memory = 256 };
        /* The guest powers off by itself 5 s after its boot. */
        g_autofree char *run = g_base64_encode((const guchar *) "sleep 5", 7);
        g_autofree char *cmdline = g_strdup_printf("microvm.run64=%s microvm.poweroff=1", run);
        g_autofree char *config = vm_config(&vm, 256, cmdline), *out = NULL, *reason = NULL;
        int r;

        g_free(bt_create_vm(t, vm.name, config));
        r = bt_run(&out, "systemctl daemon-reexec 2>&1");
        cr_assert_eq(r, 0, "daemon-reexec: %s", out);

        bt_boot_vm(t, vm.name);
        check_vm(t, &vm, "started after daemon-reexec");
        g_free(out);
        r = bt_run(&out, "systemctl daemon-reexec 2>&1");
        cr_assert_eq(r, 0, "daemon-reexec: %s", out);
        /* Only systemd's signals tell microvmd that the guest powered off. */
        cr_assert(bt_wait_vm_state(t, vm.name, "stopped", BT_STOP_TIMEOUT_USEC),
                  "a guest that powered off after daemon-reexec: State stays %s", bt_vm_state(t, vm.name));
        check_vm(t, &vm, "powered off after daemon-reexec");
        reason = bt_vm_stop_reason(t, vm.name);
        cr_expect_str_eq(reason, "guest-poweroff");
}
