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
#define BT_STATE_DIR         "/var/lib/microvm"
#define BT_RUNTIME_DIR       "/run/microvm"

/* Long enough for an idle machine to answer, short enough that a hang fails the test fast. */
#define BT_TIMEOUT_USEC      (10 * G_USEC_PER_SEC)
/* A TCG boot of the test guest to its ready line: about 2 s here, far more on a slow machine.
 * Generous, yet bounded: a hung boot fails the test, it is never retried. */
#define BT_BOOT_TIMEOUT_USEC (60 * G_USEC_PER_SEC)
/* A StopVM call: the unit's TimeoutStopSec= (30 s) bounds the stop, then the kill. */
#define BT_STOP_TIMEOUT_USEC (45 * G_USEC_PER_SEC)

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
/* bt_call() that waits up to timeout_usec for the reply instead of BT_TIMEOUT_USEC. */
int bt_call_timeout(BusTest *t, const char *path, const char *interface, const char *member, GVariant *args,
                    uint64_t timeout_usec, GVariant **ret_reply, sd_bus_error *error);
/* bt_call() on org.microvm.Manager. */
int bt_try_manager_call(BusTest *t, const char *member, GVariant *args, sd_bus_error *error);
/* The same, asserting success; returns the reply (owned). */
GVariant *bt_manager_call(BusTest *t, const char *member, GVariant *args, const char *what);
/* Asserts that the call failed with the error name and a message, containing fragment unless NULL. */
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
/* An image to attach as a drive: "ext4" (a 4 MiB ext4 filesystem labelled mvm-test) or "blank" (1 MiB
 * of zeros). Replaces what is at path; makes missing directories. */
void bt_make_image(const char *path, const char *kind);
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
/* Calls the manager's member (bounded by BT_BOOT_TIMEOUT_USEC), which must fail with error_name and
 * a message containing fragment, and change nothing microvmd shows (bt_assert_unchanged()). */
void bt_assert_refused(BusTest *t, const char *member, GVariant *args, const char *error_name, const char *fragment,
                       const char *what);

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

/* Kills microvmd's main process with SIGKILL (its start rate limit reset first) and waits until
 * systemd has restarted it (its MainPID changed); a call may also start it again by activation. */
void bt_kill_microvmd(const char *what);

/* Deletes every VM whose name starts with prefix (killing its unit first if it runs), and
 * removes any file for such a name left in BT_CONFIG_DIR (temporary files included). For a
 * test's .init and .fini. */
void bt_cleanup_prefix(const char *prefix);

/* Loosens the sandbox of every VM's unit for the stand-in of Firecracker and cloud-hypervisor
 * (tests/integration/fake-hypervisor.py), or takes that back: it runs microvm-agent as the init
 * of PID and mount namespaces in a user namespace of its own, which no real hypervisor does. The
 * stand-in itself goes to dir as name (copied: the hypervisor's user may not reach the tree). */
void bt_stand_in_install(const char *dir, const char *name);
void bt_stand_in_remove(const char *dir);

/* Real VMs: the test guest that tools/guest-image/build made in $MVM_GUEST_DIR. Its serial
 * console lines (tools/guest-image/init): */
#define BT_GUEST_READY       "microvm-guest: ready "
#define BT_GUEST_SHUTDOWN    "microvm-guest: power button, shutting down"
#define BT_GUEST_IGNORED     "microvm-guest: power button pressed, ignored"
#define BT_GUEST_POWEROFF    "microvm-guest: poweroff"

/* The a{sv} text of a VM booting the test guest, with cmdline added to its kernel command line
 * ("" for nothing) and more ("" or "'Key': <value>, ...") added to the configuration (owned).
 * Asserts that the guest exists. */
char *bt_guest_config(const char *cmdline, const char *more);
/* microvm@NAME.service (owned). */
char *bt_vm_unit(const char *name);
/* BT_STATE_DIR/NAME/serial.log (owned). */
char *bt_serial_log(const char *name);

/* StartVM(name) must succeed. Removes the VM's serial log first, so that a line found in it
 * afterwards comes from this boot. */
void bt_start_vm(BusTest *t, const char *name);
/* bt_start_vm(), then waits (BT_BOOT_TIMEOUT_USEC) for the guest's ready line on its serial
 * console. */
void bt_boot_vm(BusTest *t, const char *name);
/* StopVM(name, timeout_usec) must succeed; returns its stop reason (owned). */
char *bt_stop_vm(BusTest *t, const char *name, uint64_t timeout_usec);
/* KillVM(name, signo) must succeed. */
void bt_kill_vm(BusTest *t, const char *name, int signo);

/* A property of org.microvm.VM of the VM called name (owned). Asserts success. */
GVariant *bt_vm_property(BusTest *t, const char *name, const char *property);
/* Its State, StopReason (owned) and MainPID. */
char *bt_vm_state(BusTest *t, const char *name);
char *bt_vm_stop_reason(BusTest *t, const char *name);
uint32_t bt_vm_main_pid(BusTest *t, const char *name);
/* Waits up to timeout_usec until the VM's State is state; returns whether it became so. */
bool bt_wait_vm_state(BusTest *t, const char *name, const char *state, uint64_t timeout_usec);
/* The states that recorded VMStateChanged signals announced for the VM, in order, joined by
 * spaces ("" for none; owned). */
char *bt_vm_state_changes(BusTest *t, const char *name);

/* Waits up to timeout_usec until the VM's serial log has a line that starts with prefix;
 * returns whether it did. */
bool bt_wait_serial_line(const char *name, const char *prefix, uint64_t timeout_usec);
/* The same, asserting that the line came; the message shows the whole serial log. */
void bt_assert_serial_line(const char *name, const char *prefix, uint64_t timeout_usec, const char *what);
/* The serial log, for messages ("" if it does not exist; owned). */
char *bt_serial_text(const char *name);
/* Waits up to timeout_usec until the journal of unit holds a message containing fragment;
 * returns whether it did, and the unit's messages (owned) if ret_log. */
bool bt_wait_journal(const char *unit, const char *fragment, uint64_t timeout_usec, char **ret_log);

/* The processes of the unit's cgroup (found by /proc/PID/cgroup), one "PID BINARY" line each
 * in PID order, BINARY being the name of /proc/PID/exe (owned). */
char *bt_unit_processes(const char *unit);
/* The name of the binary process pid runs (owned), NULL if there is no such process. */
char *bt_process_binary(uint32_t pid);

/* Asserts that nothing of the VM's unit is left: the unit is not loaded (or only loaded and
 * inactive, as a query leaves it), waiting up to BT_TIMEOUT_USEC for systemd to collect a
 * failed one, and BT_RUNTIME_DIR/NAME does not exist. */
void bt_assert_vm_unit_gone(const char *name, const char *what);

/* Links and addresses, through netlink (libnl-route) and /dev/net/tun, in the network namespace the
 * tests run in (the harness's own, never the machine's). */

/* Every link, one "NAME KIND[ master=BRIDGE][ up]" line each (KIND "-" for a plain device, "up"
 * for IFF_UP), sorted, each line ending in a newline (owned). */
char *bt_links(void);
/* Asserts that bt_links() prints exactly expected. */
void bt_assert_links(const char *expected, const char *what);
/* links (as bt_links() prints them) with the lines of the NULL-terminated list added, sorted
 * (owned). */
char *bt_links_plus(const char *links, ...) G_GNUC_NULL_TERMINATED;
/* The ifindex of the link, 0 if there is none. */
int bt_link_ifindex(const char *name);
/* Create links, asserting success: a persistent TAP device (TUNSETIFF, TUNSETPERSIST), a veth
 * pair, a bridge that is up. */
void bt_tap_add(const char *name);
void bt_veth_add(const char *name, const char *peer);
void bt_bridge_add(const char *name);
/* Deletes the link if it exists (a veth's peer goes with it); never asserts, for cleanups. */
void bt_link_delete(const char *name);
/* Gives the link an IPv4 address ("10.0.0.1/24"), asserting success. */
void bt_address_add(const char *link, const char *address);
/* Waits up to timeout_usec until the link has the IPv4 address ("10.0.0.1/24"); returns whether
 * it did. */
bool bt_wait_address(const char *link, const char *address, uint64_t timeout_usec);
/* Sends count ICMP echo requests to the IPv4 address, one after the other, each waiting up to
 * timeout_usec for its reply; returns the number of replies. */
unsigned bt_ping(const char *address, unsigned count, uint64_t timeout_usec);

/* The serial console. */

/* OpenConsole(name) on the manager: 0 and the descriptor, or a negative errno with error set. */
int bt_try_open_console(BusTest *t, const char *name, int *ret_fd, sd_bus_error *error);
/* The same, asserting success. */
int bt_open_console(BusTest *t, const char *name, const char *what);
/* Reads from the console until what it read (since this call) contains text, up to timeout_usec;
 * returns whether it did, and everything read (owned) if ret_output. */
bool bt_console_wait(int fd, const char *text, uint64_t timeout_usec, char **ret_output);
/* The same, asserting that text came; the message shows what did. */
void bt_console_expect(int fd, const char *text, uint64_t timeout_usec, const char *what);
/* Writes text to the console, asserting success. */
void bt_console_send(int fd, const char *text, const char *what);
