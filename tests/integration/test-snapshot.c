/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Snapshots in real guests: SnapshotVM saves a running guest and lets it go on; after a stop,
 * RestoreVM brings it back where it was (a shell variable set before the snapshot is read back
 * through the console); a paused VM is saved and restored paused; and every bad snapshot or path
 * is refused with a named error, leaving the VM as it was. VM names start with "its-". */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-test.h"

#define PREFIX "its-"
#define PROMPT "microvm# "

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(snapshot, .init = cleanup, .fini = cleanup);

/* Where microvmd may write: the VM's own state directory. */
static char *snapshot_path(const char *name, const char *file) {
        return g_strdup_printf(BT_STATE_DIR "/%s/%s", name, file);
}

static void snapshot_ok(BusTest *t, const char *name, const char *path) {
        g_variant_unref(bt_manager_call(t, "SnapshotVM", g_variant_new("(ss)", name, path), "SnapshotVM"));
}

static void restore_ok(BusTest *t, const char *name, const char *path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "RestoreVM", g_variant_new("(ss)", name, path),
                                BT_BOOT_TIMEOUT_USEC, NULL, &error);

        cr_assert_eq(r, 0, "RestoreVM(%s, %s) failed: %s: %s", name, path, strempty(error.name),
                     strempty(error.message));
}

static void assert_state(BusTest *t, const char *name, const char *expected, const char *what) {
        g_autofree char *state = bt_vm_state(t, name);

        cr_assert_str_eq(state, expected, "%s: State is %s, not %s", what, state, expected);
}

Test(snapshot, stop_and_restore, .timeout = 300) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("microvm.shell=1 microvm.agent=0", ""),
                        *path = snapshot_path(PREFIX "save", "save.snap"), *meta = g_strdup_printf("%s.meta", path),
                        *meta_text = NULL;
        struct stat st;
        int fd;

        g_free(bt_create_vm(t, PREFIX "save", config));
        bt_boot_vm(t, PREFIX "save");

        /* A value only the guest's memory holds: a variable of its shell. */
        fd = bt_open_console(t, PREFIX "save", "console");
        bt_console_expect(fd, PROMPT, BT_TIMEOUT_USEC, "the prompt");
        bt_console_send(fd, "SECRET=kept-$((4700+11)); echo set-$SECRET\r", "setting the value");
        bt_console_expect(fd, "set-kept-4711", BT_TIMEOUT_USEC, "the value set");

        snapshot_ok(t, PREFIX "save", path);
        assert_state(t, PREFIX "save", "running", "after the snapshot");
        cr_assert(stat(path, &st) >= 0 && S_ISREG(st.st_mode) && st.st_size > 1024 * 1024,
                  "no state file at %s (%s)", path, strerror(errno));
        cr_assert_eq(st.st_mode & 07777, 0600, "the state file's mode is %o", st.st_mode & 07777);
        meta_text = bt_read_file(meta);
        cr_assert(meta_text && strstr(meta_text, "VM=" PREFIX "save") && strstr(meta_text, "Hypervisor=qemu") &&
                  strstr(meta_text, "HypervisorVersion=") && strstr(meta_text, "ConfigHash=") &&
                  strstr(meta_text, "CreatedUSec="),
                  "the metadata beside the snapshot:\n%s", meta_text);

        /* The guest went on after the snapshot. */
        bt_console_send(fd, "echo after-$((1+1))\r", "a command after the snapshot");
        bt_console_expect(fd, "after-2", BT_TIMEOUT_USEC, "the guest after the snapshot");
        close(fd);

        /* KillVM: the guest's shutdown would not change what it had in memory, but it is not needed. */
        g_free(bt_stop_vm(t, PREFIX "save", 0));
        assert_state(t, PREFIX "save", "stopped", "after the stop");

        restore_ok(t, PREFIX "save", path);
        assert_state(t, PREFIX "save", "running", "after the restore");

        /* The same shell, its variable still set. */
        fd = bt_open_console(t, PREFIX "save", "console after the restore");
        bt_console_send(fd, "echo got-$SECRET\r", "reading the value");
        bt_console_expect(fd, "got-kept-4711", BT_TIMEOUT_USEC, "the value after the restore");
        close(fd);

        g_free(bt_stop_vm(t, PREFIX "save", 0));
}

Test(snapshot, paused_stays_paused, .timeout = 300) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("microvm.shell=1 microvm.agent=0", ""),
                        *path = snapshot_path(PREFIX "paused", "paused.snap");
        int fd;

        g_free(bt_create_vm(t, PREFIX "paused", config));
        bt_boot_vm(t, PREFIX "paused");
        g_variant_unref(bt_manager_call(t, "PauseVM", g_variant_new("(s)", PREFIX "paused"), "PauseVM"));

        snapshot_ok(t, PREFIX "paused", path);
        assert_state(t, PREFIX "paused", "paused", "after the snapshot of a paused VM");

        bt_kill_vm(t, PREFIX "paused", SIGKILL);
        cr_assert(bt_wait_vm_state(t, PREFIX "paused", "stopped", BT_TIMEOUT_USEC), "the VM did not stop");

        restore_ok(t, PREFIX "paused", path);
        cr_assert(bt_wait_vm_state(t, PREFIX "paused", "paused", BT_TIMEOUT_USEC), "restored, but not paused");
        g_variant_unref(bt_manager_call(t, "ResumeVM", g_variant_new("(s)", PREFIX "paused"), "ResumeVM"));
        assert_state(t, PREFIX "paused", "running", "after resuming the restored VM");

        fd = bt_open_console(t, PREFIX "paused", "console");
        bt_console_send(fd, "echo alive-$((3*3))\r", "a command");
        bt_console_expect(fd, "alive-9", BT_TIMEOUT_USEC, "the restored guest");
        close(fd);
        g_free(bt_stop_vm(t, PREFIX "paused", 0));
}

/* Rewrites bytes of a file, keeping its size and times: only the contents are wrong. */
static void corrupt(const char *path, off_t offset, const char *bytes) {
        struct stat st;
        int fd;

        cr_assert(stat(path, &st) >= 0, "stat %s: %s", path, strerror(errno));
        fd = open(path, O_WRONLY | O_CLOEXEC);
        cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
        cr_assert_eq(pwrite(fd, bytes, strlen(bytes), offset), (ssize_t) strlen(bytes), "pwrite %s", path);
        struct timespec times[2] = { st.st_atim, st.st_mtim };
        cr_assert(futimens(fd, times) >= 0, "futimens %s: %s", path, strerror(errno));
        close(fd);
}

static void copy_file(const char *from, const char *to) {
        g_autofree char *out = NULL;

        cr_assert_eq(bt_run(&out, "cp -p '%s' '%s'", from, to), 0, "cp %s %s: %s", from, to, out);
}

/* A restore refused by the unit's start: StartFailed-like errors come after the unit ran, and the
 * VM must be stopped again with nothing of it left. */
static void assert_restore_refused(BusTest *t, const char *name, const char *path, const char *error_name,
                                   const char *fragment, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "RestoreVM", g_variant_new("(ss)", name, path),
                                BT_BOOT_TIMEOUT_USEC, NULL, &error);

        bt_assert_error(r, &error, error_name, fragment, what);
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_TIMEOUT_USEC), "%s: the VM is not stopped", what);
        bt_assert_vm_unit_gone(name, what);
}

Test(snapshot, bad_input, .timeout = 300) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("microvm.agent=0", ""),
                        *good = snapshot_path(PREFIX "bad", "good.snap"),
                        *bad = snapshot_path(PREFIX "bad", "bad.snap"), *bad_meta = g_strdup_printf("%s.meta", bad),
                        *good_meta = g_strdup_printf("%s.meta", good), *not_snapshot = snapshot_path(PREFIX "bad", "serial.log"),
                        *text = NULL, *edited = NULL, *list_before = NULL, *list_after = NULL;

        g_free(bt_create_vm(t, PREFIX "bad", config));

        /* Not running: nothing to save. */
        bt_assert_refused(t, "SnapshotVM", g_variant_new("(ss)", PREFIX "bad", good), "org.microvm.Error.InvalidState",
                          "is not running", "snapshot of a stopped VM");
        bt_assert_refused(t, "SnapshotVM", g_variant_new("(ss)", PREFIX "none", good), "org.microvm.Error.NoSuchVM",
                          PREFIX "none", "snapshot of no VM");

        bt_boot_vm(t, PREFIX "bad");
        list_before = bt_list_dir(BT_STATE_DIR "/" PREFIX "bad");

        /* Paths it cannot or must not write: each refused with the VM running on. */
        bt_assert_refused(t, "SnapshotVM", g_variant_new("(ss)", PREFIX "bad", "relative.snap"),
                          "org.microvm.Error.InvalidArgument", "not an absolute path", "a relative path");
        bt_assert_refused(t, "SnapshotVM", g_variant_new("(ss)", PREFIX "bad", "/nonexistent-dir/x.snap"),
                          "org.microvm.Error.InvalidArgument", "No such file or directory", "a missing directory");
        bt_assert_refused(t, "SnapshotVM", g_variant_new("(ss)", PREFIX "bad", "/usr/its-x.snap"),
                          "org.microvm.Error.InvalidArgument", "/usr/its-x.snap", "a read-only directory");
        bt_assert_refused(t, "SnapshotVM", g_variant_new("(ss)", PREFIX "bad", not_snapshot),
                          "org.microvm.Error.InvalidArgument", "is not a snapshot", "an existing file");
        assert_state(t, PREFIX "bad", "running", "after the refused snapshots");
        list_after = bt_list_dir(BT_STATE_DIR "/" PREFIX "bad");
        cr_assert_str_eq(list_after, list_before, "a refused snapshot left files behind");

        /* A good snapshot to spoil copies of. */
        snapshot_ok(t, PREFIX "bad", good);
        bt_assert_refused(t, "RestoreVM", g_variant_new("(ss)", PREFIX "bad", good), "org.microvm.Error.InvalidState",
                          "stop it before restoring", "a restore into a running VM");
        g_free(bt_stop_vm(t, PREFIX "bad", 0));

        bt_assert_refused(t, "RestoreVM", g_variant_new("(ss)", PREFIX "bad", "/nonexistent.snap"),
                          "org.microvm.Error.InvalidSnapshot", "No such file", "a missing snapshot");
        bt_assert_refused(t, "RestoreVM", g_variant_new("(ss)", PREFIX "bad", "rel.snap"),
                          "org.microvm.Error.InvalidArgument", "not an absolute path", "a relative snapshot path");

        /* No metadata: not a snapshot of ours. */
        copy_file(good, bad);
        bt_assert_refused(t, "RestoreVM", g_variant_new("(ss)", PREFIX "bad", bad), "org.microvm.Error.InvalidSnapshot",
                          "no metadata", "a snapshot without metadata");

        /* Truncated. */
        copy_file(good_meta, bad_meta);
        cr_assert(truncate(bad, 4096) >= 0, "truncate %s", bad);
        bt_assert_refused(t, "RestoreVM", g_variant_new("(ss)", PREFIX "bad", bad), "org.microvm.Error.InvalidSnapshot",
                          "truncated", "a truncated snapshot");

        /* Another configuration. */
        bt_update_vm(t, PREFIX "bad", "{'MemoryMiB': <uint64 320>}");
        bt_assert_refused(t, "RestoreVM", g_variant_new("(ss)", PREFIX "bad", good), "org.microvm.Error.SnapshotMismatch",
                          "configuration", "a changed configuration");
        bt_update_vm(t, PREFIX "bad", "{'MemoryMiB': <uint64 256>}");

        /* Another QEMU: found by the unit's start, which asks the hypervisor. */
        copy_file(good, bad);
        text = bt_read_file(good_meta);
        edited = g_regex_replace(g_regex_new("HypervisorVersion=.*", 0, 0, NULL), text, -1, 0,
                                 "HypervisorVersion=1.0.0 (elsewhere)", 0, NULL);
        bt_write_file(bad_meta, edited);
        assert_restore_refused(t, PREFIX "bad", bad, "org.microvm.Error.SnapshotMismatch", "QEMU 1.0.0",
                               "another QEMU version");

        /* Damaged inside, size and time intact: QEMU itself finds it out. */
        copy_file(good, bad);
        copy_file(good_meta, bad_meta);
        corrupt(bad, 8, "garbage-in-the-section-headers");
        assert_restore_refused(t, PREFIX "bad", bad, "org.microvm.Error.InvalidSnapshot", "could not load",
                               "a damaged snapshot");

        /* The good one still restores. */
        restore_ok(t, PREFIX "bad", good);
        assert_state(t, PREFIX "bad", "running", "after restoring the good snapshot");
        g_free(bt_stop_vm(t, PREFIX "bad", 0));
}
