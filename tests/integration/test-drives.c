/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives and cloud-init seeds through the bus API: images probed with named errors at CreateVM,
 * UpdateVM and StartVM, the probe's facts on the VM object, and real guests that boot from an
 * ext4 root drive, find a read-only drive read-only, and read their seed. VM names start with
 * "itd-"; images live in IMAGES. */

#include <sys/stat.h>

#include "bus-test.h"

#define PREFIX "itd-"
/* Outside /tmp: microvmd has a private one. */
#define IMAGES "/var/lib/microvm/images/itd"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
        (void) bt_run(NULL, "rm -rf " IMAGES);
}

TestSuite(drives, .init = cleanup, .fini = cleanup);

static void run_ok(const char *what, const char *command) {
        g_autofree char *out = NULL;

        cr_assert_eq(bt_run(&out, "%s", command), 0, "%s: '%s' failed: %s", what, command, out);
}

static void make_images(void) {
        run_ok("images", "mkdir -p " IMAGES " " IMAGES "/dir && "
               "mkfs.ext4 -q -F -L itd-root " IMAGES "/root.ext4 8M && "
               "truncate -s 1M " IMAGES "/blank.img && "
               ": > " IMAGES "/empty.img && "
               "head -c 65536 /dev/urandom > " IMAGES "/random.img && "
               "qemu-img create -q -f qcow2 " IMAGES "/disk.qcow2 64M");
}

#define DRIVE(path, more) "'Drives': <[{'Path': <'" path "'>" more "}]>"

Test(drives, bad_input_create) {
        static const struct {
                const char *what, *config, *error, *fragment;
        } cases[] = {
                { "missing image", DRIVE(IMAGES "/nothing.img", ""), "org.microvm.Error.InvalidDrive",
                  "Drives[0]: '" IMAGES "/nothing.img' does not exist" },
                { "a directory", DRIVE(IMAGES "/dir", ""), "org.microvm.Error.InvalidDrive",
                  "Drives[0]: '" IMAGES "/dir' is a directory" },
                { "an empty file", DRIVE(IMAGES "/empty.img", ""), "org.microvm.Error.InvalidDrive",
                  "Drives[0]: '" IMAGES "/empty.img' is empty" },
                { "a character device", DRIVE("/dev/null", ""), "org.microvm.Error.InvalidDrive",
                  "'/dev/null' is neither a regular file nor a block device" },
                { "root drive of random bytes", DRIVE(IMAGES "/random.img", ", 'Root': <true>"),
                  "org.microvm.Error.InvalidDrive", "Drives[0] is the root drive, but '" IMAGES "/random.img' "
                  "holds no filesystem microvm recognises" },
                { "qcow2 root drive without root=", DRIVE(IMAGES "/disk.qcow2", ", 'Root': <true>"),
                  "org.microvm.Error.InvalidDrive", "is a qcow2 image, whose filesystem microvm does not probe" },
                { "Format=qcow2 of a raw image", DRIVE(IMAGES "/blank.img", ", 'Format': <'qcow2'>"),
                  "org.microvm.Error.InvalidDrive", "Format=qcow2, but the image is not qcow2" },
                { "qcow2 for Firecracker", "'Hypervisor': <'firecracker'>, " DRIVE(IMAGES "/disk.qcow2", ""),
                  "org.microvm.Error.InvalidDrive", "is a qcow2 image, but firecracker takes only raw images" },
                { "unknown format", DRIVE(IMAGES "/blank.img", ", 'Format': <'vmdk'>"),
                  "org.microvm.Error.InvalidConfig", "Drives[0].Format: must be one of 'auto', 'raw', 'qcow2'" },
                { "bad cache mode", DRIVE(IMAGES "/blank.img", ", 'Cache': <'fast'>"),
                  "org.microvm.Error.InvalidConfig", "Drives[0].Cache: must be one of 'writeback'" },
                { "second drive missing",
                  "'Drives': <[{'Path': <'" IMAGES "/blank.img'>}, {'Path': <'" IMAGES "/gone.img'>}]>",
                  "org.microvm.Error.InvalidDrive", "Drives[1]: '" IMAGES "/gone.img' does not exist" },
                { "UserData file missing", "'UserData': <'" IMAGES "/nothing.yaml'>",
                  "org.microvm.Error.InvalidConfig", "CloudInit UserData: '" IMAGES "/nothing.yaml' cannot be read" },
                { "NetworkConfig a directory", "'NetworkConfig': <'" IMAGES "/dir'>",
                  "org.microvm.Error.InvalidConfig", "CloudInit NetworkConfig: '" IMAGES "/dir' cannot be read" },
                { "bad LocalHostname", "'LocalHostname': <'web server'>", "org.microvm.Error.InvalidConfig",
                  "LocalHostname: must consist of letters, digits" },
                { "control character in UserData", "'UserData': <'#cloud-config\\u0001'>",
                  "org.microvm.Error.InvalidConfig", "UserData: must not contain control characters" },
        };
        _cleanup_(bt_freep) BusTest *t = bt_new();

        make_images();
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *text = g_strdup_printf("{'Kernel': <'/k'>, %s}", cases[i].config);
                g_autofree char *seed_dir = g_strdup_printf(BT_STATE_DIR "/" PREFIX "bad%zu", i);

                bt_assert_refused(t, "CreateVM",
                               g_variant_new("(s@a{sv})", PREFIX "bad", bt_config(text)),
                               cases[i].error, cases[i].fragment, cases[i].what);
                /* No seed either: nothing is built before a start. */
                cr_assert(access(BT_STATE_DIR "/" PREFIX "bad", F_OK) < 0,
                          "%s: " BT_STATE_DIR "/" PREFIX "bad exists", cases[i].what);
        }
}

Test(drives, bad_input_update) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *file = NULL, *key_file = NULL;

        make_images();
        g_free(bt_create_vm(t, PREFIX "upd", "{'Kernel': <'/k'>, " DRIVE(IMAGES "/blank.img", "") "}"));
        bt_assert_refused(t, "UpdateVM",
                       g_variant_new("(s@a{sv})", PREFIX "upd", bt_config("{" DRIVE(IMAGES "/nothing.img", "") "}")),
                       "org.microvm.Error.InvalidDrive", "does not exist", "UpdateVM to a missing image");
        bt_assert_refused(t, "UpdateVM",
                       g_variant_new("(s@a{sv})", PREFIX "upd",
                                     bt_config("{" DRIVE(IMAGES "/blank.img", ", 'Root': <true>") "}")),
                       "org.microvm.Error.InvalidDrive", "holds no filesystem", "UpdateVM: blank image as root");
        bt_assert_refused(t, "UpdateVM",
                       g_variant_new("(s@a{sv})", PREFIX "upd", bt_config("{'Hypervisor': <'firecracker'>, "
                                                                          DRIVE(IMAGES "/disk.qcow2", "") "}")),
                       "org.microvm.Error.InvalidDrive", "takes only raw images", "UpdateVM: qcow2 for Firecracker");

        /* What the check depends on is probed again, not what it does not: a drive that went
         * missing does not keep the memory size from changing, but a root= that goes does. */
        run_ok("remove the image", "rm " IMAGES "/blank.img");
        bt_update_vm(t, PREFIX "upd", "{'MemoryMiB': <uint64 128>}");
        key_file = bt_key_file(PREFIX "upd");
        file = bt_read_file(key_file);
        cr_assert(strstr(file, "MemoryMiB=128"), "the update of MemoryMiB was written: %s", file);
}

/* An image that goes missing after CreateVM: StartVM refuses it before any unit exists, and so
 * does "systemctl start", from the unit's own check. */
Test(drives, start_rechecks) {
        static const char name[] = PREFIX "gone";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *unit = bt_vm_unit(name), *out = NULL, *config = NULL;

        make_images();
        run_ok("copy", "cp " IMAGES "/root.ext4 " IMAGES "/vanishing.ext4");
        config = bt_guest_config("", DRIVE(IMAGES "/vanishing.ext4", ", 'Root': <true>"));
        g_free(bt_create_vm(t, name, config));
        run_ok("vanish", "rm " IMAGES "/vanishing.ext4");

        bt_assert_refused(t, "StartVM", g_variant_new("(s)", name), "org.microvm.Error.InvalidDrive",
                       "Drives[0]: '" IMAGES "/vanishing.ext4' does not exist", "StartVM without its root image");
        bt_assert_vm_unit_gone(name, "StartVM without its root image");

        cr_assert_neq(bt_run(&out, "systemctl start %s", unit), 0, "systemctl start without the image succeeded");
        g_free(out);
        cr_assert_eq(bt_run(&out, "journalctl -b -q -o cat -u %s | grep -F \"Drives[0]: '%s' does not exist\"", unit,
                            IMAGES "/vanishing.ext4"), 0, "the journal says which drive is missing");
        (void) bt_run(NULL, "systemctl reset-failed %s", unit);
}

static const char *info_string(GVariant *info, const char *key) {
        const char *s = NULL;

        cr_assert(g_variant_lookup(info, key, "&s", &s), "DriveInfo lacks %s", key);
        return s;
}

static uint64_t info_size(GVariant *info) {
        uint64_t size = 0;

        cr_assert(g_variant_lookup(info, "Size", "t", &size), "DriveInfo lacks Size");
        return size;
}

Test(drives, drive_info) {
        static const char name[] = PREFIX "info";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autoptr(GVariant) infos = NULL, ext4 = NULL, gpt = NULL, qcow2 = NULL, gone = NULL;
        uint32_t partition = 0;

        make_images();
        /* A GPT image whose second partition holds ext4: the filesystem is made apart and copied in. */
        run_ok("gpt image", "truncate -s 12M " IMAGES "/gpt.img && "
               "printf 'label: gpt\\nstart=2048, size=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\\n"
               "start=4096, size=16384, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\\n' | "
               "sfdisk --quiet --no-reread --no-tell-kernel " IMAGES "/gpt.img && "
               "mkfs.ext4 -q -F -L itd-part " IMAGES "/part.ext4 8M && "
               "dd if=" IMAGES "/part.ext4 of=" IMAGES "/gpt.img bs=512 seek=4096 conv=notrunc status=none");
        run_ok("copy", "cp " IMAGES "/blank.img " IMAGES "/later-gone.img");
        g_free(bt_create_vm(t, name, "{'Kernel': <'/k'>, 'Drives': <[{'Path': <'" IMAGES "/root.ext4'>}, "
                                     "{'Path': <'" IMAGES "/gpt.img'>}, {'Path': <'" IMAGES "/disk.qcow2'>}, "
                                     "{'Path': <'" IMAGES "/later-gone.img'>}]>}"));
        run_ok("remove", "rm " IMAGES "/later-gone.img");

        infos = bt_vm_property(t, name, "DriveInfo");
        cr_assert_eq(g_variant_n_children(infos), 4, "DriveInfo has an entry per drive");
        ext4 = g_variant_get_child_value(infos, 0);
        gpt = g_variant_get_child_value(infos, 1);
        qcow2 = g_variant_get_child_value(infos, 2);
        gone = g_variant_get_child_value(infos, 3);

        cr_expect_str_eq(info_string(ext4, "Path"), IMAGES "/root.ext4");
        cr_expect_str_eq(info_string(ext4, "Format"), "raw");
        cr_expect_str_eq(info_string(ext4, "Type"), "ext4");
        cr_expect_str_eq(info_string(ext4, "Label"), "itd-root");
        cr_expect_eq(strlen(info_string(ext4, "UUID")), 36, "an ext4 UUID: %s", info_string(ext4, "UUID"));
        cr_expect_eq(info_size(ext4), 8u << 20);
        cr_expect_str_eq(info_string(ext4, "Problem"), "");

        cr_expect_str_eq(info_string(gpt, "PartitionTable"), "gpt");
        cr_expect_str_eq(info_string(gpt, "Type"), "ext4");
        cr_expect_str_eq(info_string(gpt, "Label"), "itd-part");
        cr_assert(g_variant_lookup(gpt, "Partition", "u", &partition), "DriveInfo lacks Partition");
        cr_expect_eq(partition, 2, "the ext4 partition is the second, not %u", partition);
        cr_expect_eq(info_size(gpt), 12u << 20);

        cr_expect_str_eq(info_string(qcow2, "Format"), "qcow2");
        cr_expect_eq(info_size(qcow2), 64u << 20, "a qcow2 image's virtual size");
        cr_expect_str_eq(info_string(qcow2, "Type"), "");

        cr_expect(strstr(info_string(gone, "Problem"), "does not exist"), "a vanished image: %s",
                  info_string(gone, "Problem"));
}

/* A root filesystem made here, whose own init prints a file of that filesystem and powers off:
 * the kernel command line got root= and rootfstype= from the probe. */
Test(drives, boots_from_ext4_root) {
        static const char name[] = PREFIX "root";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = NULL, *token = g_strdup_printf("itd-%08x", g_random_int());
        g_autofree char *command = NULL, *reason = NULL, *cmdline = NULL;

        make_images();
        command = g_strdup_printf(
                "set -e; d=" IMAGES "/rootfs; rm -rf $d; mkdir -p $d/bin $d/sbin $d/dev $d/proc $d/sys $d/etc; "
                "cp '%s/busybox' $d/bin/busybox; "
                "printf 'root file says %s\\n' > $d/etc/token; "
                "printf '#!/bin/busybox sh\\n/bin/busybox echo \"init of the root: $(/bin/busybox cat /etc/token)\"\\n"
                "/bin/busybox poweroff -f\\n' > $d/sbin/init; chmod 755 $d/sbin/init; "
                "mkfs.ext4 -q -F -L itd-rootfs -d $d " IMAGES "/rootfs.ext4 16M",
                getenv("MVM_GUEST_DIR"), token);
        run_ok("root filesystem", command);

        config = bt_guest_config("", DRIVE(IMAGES "/rootfs.ext4", ", 'Root': <true>"));
        g_free(bt_create_vm(t, name, config));
        bt_start_vm(t, name);

        bt_assert_serial_line(name, "microvm-guest: root /dev/vda ext4", BT_BOOT_TIMEOUT_USEC,
                              "the initramfs switches to the probed root");
        g_autofree char *line = g_strdup_printf("init of the root: root file says %s", token);
        bt_assert_serial_line(name, line, BT_BOOT_TIMEOUT_USEC, "the root's own init prints its file");
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_STOP_TIMEOUT_USEC), "the guest powered off");
        reason = bt_vm_stop_reason(t, name);
        cr_expect_str_eq(reason, "guest-poweroff");

        /* What the launcher gave the kernel: in the unit's journal, with the command line. */
        cr_expect_eq(bt_run(&cmdline, "journalctl -b -q -o cat -u microvm@%s.service | grep -F Starting: | tail -n1",
                            name), 0);
        cr_expect(strstr(cmdline, "root=/dev/vda rootfstype=ext4"), "the kernel command line: %s", cmdline);
}

/* vda read-only, vdb writable: the guest's writes to vda are refused, those to vdb reach the host's
 * image. The same command on both, so that the test can tell a refusal from a broken command. */
Test(drives, read_only_drive) {
        static const char name[] = PREFIX "ro";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = NULL, *more = NULL, *run64 = NULL, *before = NULL, *after = NULL, *rw = NULL;
        static const char script[] =
                "for d in vda vdb; do "
                "echo \"$d ro=$(cat /sys/block/$d/ro)\"; "
                "if echo written | dd of=/dev/$d bs=512 count=1 conv=sync,fsync 2>/dev/null; then echo \"$d=written\"; "
                "else echo \"$d=refused\"; fi; done; "
                "mount -t ext4 /dev/vda /mnt && { touch /mnt/new 2>&1 || echo \"vda-fs=refused\"; }";

        make_images();
        run_ok("images", "cp " IMAGES "/root.ext4 " IMAGES "/ro.ext4 && "
               "head -c 1048576 /dev/zero | tr '\\0' 'x' > " IMAGES "/rw.img");
        before = bt_read_file(IMAGES "/ro.ext4");
        run64 = g_base64_encode((const guchar *) script, strlen(script));
        more = g_strdup_printf("'Drives': <[{'Path': <'" IMAGES "/ro.ext4'>, 'ReadOnly': <true>}, "
                               "{'Path': <'" IMAGES "/rw.img'>}]>");
        {
                g_autofree char *cmd = g_strdup_printf("microvm.run64=%s microvm.poweroff=1", run64);
                config = bt_guest_config(cmd, more);
        }
        g_free(bt_create_vm(t, name, config));
        bt_boot_vm(t, name);

        bt_assert_serial_line(name, BT_GUEST_POWEROFF, BT_BOOT_TIMEOUT_USEC, "the command ran");
        bt_assert_serial_line(name, "vda ro=1", 0, "the guest sees vda read-only");
        bt_assert_serial_line(name, "vda=refused", 0, "a write to vda is refused");
        bt_assert_serial_line(name, "vdb ro=0", 0, "the guest sees vdb writable");
        bt_assert_serial_line(name, "vdb=written", 0, "a write to vdb succeeds");
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_STOP_TIMEOUT_USEC), "the guest powered off");

        after = bt_read_file(IMAGES "/ro.ext4");
        cr_assert(g_str_equal(before, after) || memcmp(before, after, 8u << 20) == 0, "the read-only image is unchanged");
        rw = bt_read_file(IMAGES "/rw.img");
        cr_assert(g_str_has_prefix(rw, "written\n"), "the writable image got the guest's write");
}

static void file_stat(const char *path, struct stat *st) {
        cr_assert(stat(path, st) >= 0, "stat %s: %s", path, strerror(errno));
}

/* The seed the unit built: the guest finds the label, sets its hostname from it and prints the
 * files; a second start with the same inputs keeps the file, a changed UserData rebuilds it. */
Test(drives, cloud_init_seed) {
        static const char name[] = PREFIX "seed";
        static const char seed[] = BT_STATE_DIR "/" PREFIX "seed/cidata.iso";
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = NULL, *run64 = NULL, *cmd = NULL, *blkid = NULL, *token = NULL, *line = NULL;
        g_autofree char *more = NULL, *update = NULL;
        static const char script[] =
                "echo \"uname-n=$(uname -n)\"; sed 's/^/user-data: /' /run/cidata/user-data; "
                "sed 's/^/meta-data: /' /run/cidata/meta-data; ls /run/cidata | sed 's/^/file: /'";
        struct stat st1, st2, st3;

        make_images();
        token = g_strdup_printf("%08x", g_random_int());
        run64 = g_base64_encode((const guchar *) script, strlen(script));
        cmd = g_strdup_printf("microvm.run64=%s microvm.poweroff=1", run64);
        more = g_strdup_printf("'UserData': <'#cloud-config\\nmicrovm-test: %s\\n'>, 'LocalHostname': <'itd-host-1'>",
                               token);
        config = bt_guest_config(cmd, more);
        g_free(bt_create_vm(t, name, config));
        cr_assert(access(seed, F_OK) < 0, "no seed before the first start");

        bt_boot_vm(t, name);
        bt_assert_serial_line(name, "microvm-guest: hostname=itd-host-1", 0, "the hostname from the seed");
        bt_assert_serial_line(name, BT_GUEST_POWEROFF, BT_BOOT_TIMEOUT_USEC, "the command ran");
        bt_assert_serial_line(name, "uname-n=itd-host-1", 0, "the guest's hostname");
        bt_assert_serial_line(name, "user-data: #cloud-config", 0, "user-data's first line");
        line = g_strdup_printf("user-data: microvm-test: %s", token);
        bt_assert_serial_line(name, line, 0, "user-data as given");
        bt_assert_serial_line(name, "meta-data: instance-id: \"iid-microvm-", 0, "the derived instance id");
        bt_assert_serial_line(name, "meta-data: local-hostname: \"itd-host-1\"", 0, "the local hostname");
        bt_assert_serial_line(name, "file: meta-data", 0, "the seed holds meta-data");
        bt_assert_serial_line(name, "file: user-data", 0, "the seed holds user-data");
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_STOP_TIMEOUT_USEC), "the guest powered off");

        /* On the host: ISO 9660 labelled cidata, for root only. */
        file_stat(seed, &st1);
        cr_expect_eq(st1.st_mode & 07777, 0600, "the seed's mode is %o", st1.st_mode & 07777);
        cr_expect_eq(bt_run(&blkid, "blkid -p -o export %s", seed), 0, "blkid: %s", blkid);
        cr_expect(strstr(blkid, "TYPE=iso9660") && strstr(blkid, "LABEL=cidata"), "blkid says: %s", blkid);

        /* The same inputs: the same file, untouched. */
        bt_boot_vm(t, name);
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_STOP_TIMEOUT_USEC), "the guest powered off again");
        file_stat(seed, &st2);
        cr_expect(st2.st_ino == st1.st_ino && st2.st_mtim.tv_sec == st1.st_mtim.tv_sec &&
                  st2.st_mtim.tv_nsec == st1.st_mtim.tv_nsec, "an unchanged seed is not rewritten");

        /* UserData from a file now: the next start rebuilds the seed from it. */
        bt_write_file(IMAGES "/user-data", "#cloud-config\nfrom-a-file: yes\n");
        bt_update_vm(t, name, "{'UserData': <'" IMAGES "/user-data'>}");
        bt_boot_vm(t, name);
        bt_assert_serial_line(name, BT_GUEST_POWEROFF, BT_BOOT_TIMEOUT_USEC, "the command ran a third time");
        bt_assert_serial_line(name, "user-data: from-a-file: yes", 0, "user-data from the file");
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_STOP_TIMEOUT_USEC), "the guest powered off");
        file_stat(seed, &st3);
        cr_expect(st3.st_ino != st1.st_ino, "a changed seed is replaced (a new file renamed over it)");

        /* Without [CloudInit] keys, the next start drops the seed. */
        update = g_strdup("{'UserData': <''>, 'LocalHostname': <''>}");
        bt_update_vm(t, name, update);
        bt_boot_vm(t, name);
        cr_assert(bt_wait_vm_state(t, name, "stopped", BT_STOP_TIMEOUT_USEC), "the guest powered off");
        cr_expect(access(seed, F_OK) < 0, "no seed once no CloudInit key is set");
        cr_expect(!bt_wait_serial_line(name, "microvm-guest: hostname=", 0), "no hostname from a seed");
}
