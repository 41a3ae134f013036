/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the integration tests share: a system-bus connection that records every signal
 * org.microvm.Manager sends, calls whose arguments and replies are GVariants (so that cases read
 * as GVariant text), key files, and systemctl/journalctl. The helpers assert with criterion, so
 * they may only be called from a test, and every assert message names the case. */
#pragma once

#include <criterion/criterion.h>
#include <glib.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "macro.h"

#define BT_BUS_NAME          "org.microvm.Manager"
#define BT_MANAGER_PATH      "/org/microvm/Manager"
#define BT_MANAGER_INTERFACE "org.microvm.Manager"
#define BT_VM_PATH_PREFIX    "/org/microvm/Manager/vm"
#define BT_VM_INTERFACE      "org.microvm.VM"
#define BT_CONFIG_DIR        "/etc/microvm/vms"
#define BT_UNIT              "microvmd.service"

/* Long enough for an idle machine to answer, short enough that a hang fails the test fast. */
#define BT_TIMEOUT_USEC      (10 * G_USEC_PER_SEC)

typedef struct BusSignal {
        char *path;
        char *interface;
        char *member;
        GVariant *body;  /* a tuple of the arguments */
} BusSignal;

typedef struct BusTest {
        sd_bus *bus;
        sd_bus_slot *match;
        BusSignal *signals;
        size_t n_signals;
} BusTest;

/* Connects to the system bus and starts recording the signals org.microvm.Manager sends (the
 * match is in place when this returns). */
BusTest *bt_new(void);
BusTest *bt_free(BusTest *t);
DEFINE_CLEANUP(BusTest *, bt_free);

/* Calls a method; args is a tuple (a floating reference is sunk) or NULL for none. Returns 0
 * and the reply's arguments as a tuple (if ret_reply), or a negative errno with error set. */
int bt_call(BusTest *t, const char *path, const char *interface, const char *member, GVariant *args,
            GVariant **ret_reply, sd_bus_error *error);
/* bt_call() on org.microvm.Manager. */
int bt_try_manager_call(BusTest *t, const char *member, GVariant *args, sd_bus_error *error);
/* The same, asserting success; returns the reply (owned). */
GVariant *bt_manager_call(BusTest *t, const char *member, GVariant *args, const char *what);
/* Asserts that the call failed with the error name and that its message contains fragment. */
void bt_assert_error(int r, const sd_bus_error *error, const char *name, const char *fragment, const char *what);

/* An a{sv} from GVariant text ("{'Kernel': <'/k'>, 'VCPUs': <uint32 2>}"), floating. */
GVariant *bt_config(const char *text);
/* CreateVM(name, config_text) must succeed; returns the object path (owned). */
char *bt_create_vm(BusTest *t, const char *name, const char *config_text);
/* UpdateVM(name, config_text) and DeleteVM(name) must succeed. */
void bt_update_vm(BusTest *t, const char *name, const char *config_text);
void bt_delete_vm(BusTest *t, const char *name);
/* CreateVM that may fail: returns the call's result, error set on failure. */
int bt_try_create_vm(BusTest *t, const char *name, const char *config_text, sd_bus_error *error);

/* The VM's object path as microvmd names it (sd_bus_path_encode), owned. */
char *bt_vm_path(const char *name);
/* GetAll of org.microvm.VM on path: an a{sv} (owned). Asserts success. */
GVariant *bt_vm_properties(BusTest *t, const char *path, const char *what);
/* Asserts that dict (a{sv}) holds key with a value printed (with types) as expected. */
void bt_assert_entry(GVariant *dict, const char *key, const char *expected, const char *what);
/* ListVMs() as its a(sso) (owned). */
GVariant *bt_list_vms(BusTest *t);
/* Whether ListVMs() names the VM. */
bool bt_vm_listed(BusTest *t, const char *name);

/* Dispatches every message already received, without waiting. */
void bt_dispatch(BusTest *t);
/* One more round trip to microvmd, then dispatch: every signal microvmd sent before answering
 * it has been recorded when this returns (the bus keeps one sender's messages in order). */
void bt_sync(BusTest *t);
/* Waits up to timeout_usec for a recorded signal; returns it (borrowed) or NULL. path may be
 * NULL for any. */
const BusSignal *bt_wait_signal(BusTest *t, const char *path, const char *interface, const char *member,
                                uint64_t timeout_usec);
/* The number of recorded signals with this member (interface and path may be NULL: any). */
size_t bt_count_signals(BusTest *t, const char *interface, const char *member);
void bt_clear_signals(BusTest *t);

/* A file's contents (owned), or NULL if it does not exist. */
char *bt_read_file(const char *path);
void bt_write_file(const char *path, const char *contents);
/* Asserts that the file exists and holds exactly expected. */
void bt_assert_file(const char *path, const char *expected, const char *what);
/* BT_CONFIG_DIR/NAME.vm, owned. */
char *bt_key_file(const char *name);
/* The sorted entries of a directory, joined by newlines (owned); "" if it does not exist. */
char *bt_list_dir(const char *dir);

/* Everything a failed call must leave as it was, as text: the files in BT_CONFIG_DIR with their
 * contents, the entries of its parent, ListVMs() and GetManagedObjects() with every property
 * (owned). */
char *bt_snapshot(BusTest *t);
/* After a call that must have changed nothing: one more round trip orders every signal microvmd
 * sent before its reply ahead of this point, so none recorded means none sent; then asserts that
 * no signal announced a VM created, removed or changed, that no temporary file is left, and that
 * bt_snapshot() equals before. */
void bt_assert_unchanged(BusTest *t, const char *before, const char *what);
/* Asserts that BT_CONFIG_DIR holds no temporary file of an atomic write (".NAME.vm.tmp..."). */
void bt_assert_no_temp_files(const char *what);

/* Runs a shell command; returns its exit status, and its output (stdout and stderr, owned) if
 * ret_output. */
_printf_(2, 3)
int bt_run(char **ret_output, const char *format, ...);
/* systemctl show -P PROPERTY UNIT, without the trailing newline (owned). */
char *bt_unit_property(const char *unit, const char *property);
/* Waits up to timeout_usec until the unit's property has the value; returns whether it did. */
bool bt_wait_unit_property(const char *unit, const char *property, const char *value, uint64_t timeout_usec);
/* Whether org.microvm.Manager has an owner on the bus right now. */
bool bt_name_has_owner(BusTest *t);
/* Waits up to timeout_usec until it has (or has not) an owner; returns whether that happened. */
bool bt_wait_name_owner(BusTest *t, bool owned, uint64_t timeout_usec);

/* Deletes every VM whose name starts with prefix, and removes any file for such a name left in
 * BT_CONFIG_DIR (temporary files included). For a test's .init and .fini. */
void bt_cleanup_prefix(const char *prefix);
