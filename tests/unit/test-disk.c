/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drive probing of images made here by the real tools (mkfs.ext4, mkswap, sfdisk, mksquashfs,
 * qemu-img), of files that cannot be drives, and the root= each probed drive boots with. */

#include <criterion/criterion.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/loop.h>
#include <pwd.h>
#include <sys/ioctl.h>

#include "disk.h"
#include "test-util.h"

/* A scratch directory per test, which the fixture removes even when an assertion ends the test. */
static char *dir;

static void setup(void) {
        g_autofree char *path = g_strdup_printf("%s:/usr/sbin:/sbin", strempty(getenv("PATH")));

        dir = tmpdir_new();
        /* Open to everyone: an unreadable file must be unreadable for itself, not for its directory. */
        cr_assert_eq(chmod(dir, 0755), 0, "chmod %s: %m", dir);
        /* mkfs.ext4, mkswap and sfdisk live in sbin, which a user's $PATH may lack. */
        cr_assert_eq(setenv("PATH", path, 1), 0);
}

static void teardown(void) {
        dir = tmpdir_free(dir);
}

TestSuite(disk, .init = setup, .fini = teardown);

/* Replaces each {dir} in s with the scratch directory, and each {name} with name (g_free). */
static char *expand(const char *s, const char *name) {
        g_auto(GStrv) parts = g_strsplit(s, "{dir}", -1);
        g_autofree char *with_dir = g_strjoinv(dir, parts);
        g_auto(GStrv) name_parts = g_strsplit(with_dir, "{name}", -1);

        return g_strjoinv(name ?: "", name_parts);
}

static char *scratch(const char *name) {
        return g_build_filename(dir, name, NULL);
}

/* Runs argv with stdin from input (NULL: /dev/null), and fails the test, showing what the tool
 * printed, unless it exits 0. */
static void run(const char *input, char *const argv[]) {
        g_autofree char *log = scratch("tool.log"), *cmd = g_strjoinv(" ", (char **) argv), *out = NULL;
        posix_spawn_file_actions_t actions;
        int r, status;
        pid_t pid;

        cr_assert_eq(posix_spawn_file_actions_init(&actions), 0);
        cr_assert_eq(posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, input ?: "/dev/null",
                                                      O_RDONLY, 0), 0);
        cr_assert_eq(posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log,
                                                      O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
        cr_assert_eq(posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO), 0);
        r = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        cr_assert_eq(r, 0, "%s cannot be run (%s): install it (tools/debian-packages names its package)",
                     argv[0], strerror(r));
        cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid: %m");
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return;
        out = file_read(log, NULL);
        cr_assert_fail("'%s' failed:\n%s", cmd, strempty(out));
}
#define RUN(input, ...) run((input), (char *[]) { __VA_ARGS__, NULL })

static void make_sized(const char *path, uint64_t size) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        cr_assert_geq(fd, 0, "open(%s): %m", path);
        cr_assert_eq(ftruncate(fd, (off_t) size), 0, "ftruncate(%s): %m", path);
}

/* Writes the file src into dst at offset, as dd conv=notrunc would; copies at most max bytes. */
static void copy_into(const char *src, const char *dst, uint64_t offset, size_t max) {
        _cleanup_close_ int fd = open(dst, O_WRONLY | O_CLOEXEC);
        g_autofree char *data = NULL;
        size_t size = 0;

        data = file_read(src, &size);
        cr_assert_not_null(data, "read %s: %m", src);
        size = MIN(size, max);
        cr_assert_geq(fd, 0, "open(%s): %m", dst);
        cr_assert_eq(pwrite(fd, data, size, (off_t) offset), (ssize_t) size, "pwrite(%s): %m", dst);
}

#define MiB (UINT64_C(1) << 20)
#define FS_SIZE (4 * MiB)

static void make_ext4(const char *path, uint64_t size, const char *label, const char *uuid) {
        make_sized(path, size);
        RUN(NULL, "mkfs.ext4", "-q", "-F", "-L", (char *) label, "-U", (char *) uuid, "-E", "nodiscard",
            (char *) path);
}

static void make_swap(const char *path, uint64_t size, const char *label, const char *uuid) {
        make_sized(path, size);
        RUN(NULL, "mkswap", "-L", (char *) label, "-U", (char *) uuid, (char *) path);
}

/* GPT partition types, and the root type where this architecture has one. */
#define GPT_LINUX "0fc63daf-8483-4772-8e79-3d69d8477de4"
#define GPT_ESP "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define GPT_SWAP "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f"

typedef enum PartContent { PART_EMPTY, PART_EXT4, PART_SWAP } PartContent;

typedef struct Part {
        const char *type;       /* sfdisk's type=: a GPT GUID or an MBR code */
        PartContent content;
        const char *label, *uuid;
} Part;

/* A disk with a label ("gpt" or "dos") holding up to three FS_SIZE partitions, each filled with
 * a filesystem made in a separate file and copied in. */
static void make_partitioned(const char *path, const char *label, const Part parts[3]) {
        g_autofree char *script_path = scratch("sfdisk.script"), *fs = scratch("partition.fs");
        g_autoptr(GString) script = g_string_new(NULL);
        const uint64_t first = MiB / 512, sectors = FS_SIZE / 512;
        size_t n = 0;

        g_string_append_printf(script, "label: %s\n", label);
        for (; n < 3 && parts[n].type; n++)
                g_string_append_printf(script, "start=%" PRIu64 ", size=%" PRIu64 ", type=%s\n",
                                       first + n * sectors, sectors, parts[n].type);
        file_write(script_path, script->str, script->len);
        /* Room behind the last partition for GPT's backup header. */
        make_sized(path, MiB + n * FS_SIZE + MiB);
        RUN(script_path, "sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", (char *) path);

        for (size_t i = 0; i < n; i++) {
                switch (parts[i].content) {
                case PART_EMPTY:
                        continue;
                case PART_EXT4:
                        make_ext4(fs, FS_SIZE, parts[i].label, parts[i].uuid);
                        break;
                case PART_SWAP:
                        make_swap(fs, FS_SIZE, parts[i].label, parts[i].uuid);
                        break;
                }
                copy_into(fs, path, MiB + i * FS_SIZE, SIZE_MAX);
        }
}

/* The UUIDs the images are made with, to find them again. */
#define UUID_A "3e6f1a4c-2b7d-4c1e-9f0a-5d8b7c6e4f21"
#define UUID_B "9b2d4e61-7c3a-4f58-8e1d-0a6b5c4d3e2f"
#define UUID_C "c4a1e2f3-5b6d-4e7f-8091-a2b3c4d5e6f7"

static void make_ext4_image(const char *path) {
        make_ext4(path, 8 * MiB, "rootfs", UUID_A);
}

static void make_squashfs_image(const char *path) {
        g_autofree char *src = g_strconcat(path, ".src", NULL), *file = g_build_filename(src, "hello", NULL);

        cr_assert_eq(mkdir(src, 0755), 0, "mkdir %s: %m", src);
        file_write(file, "hello\n", strlen("hello\n"));
        RUN(NULL, "mksquashfs", src, (char *) path, "-noappend", "-no-progress", "-quiet");
}

static void make_swap_image(const char *path) {
        make_swap(path, 4 * MiB, "swapspace", UUID_C);
}

static void make_gpt_ext4(const char *path) {
        make_partitioned(path, "gpt", (const Part[3]) { { GPT_LINUX, PART_EXT4, "gptroot", UUID_B } });
}

static void make_gpt_esp_first(const char *path) {
        /* What is in the EFI system partition does not matter: its type alone rules it out. */
        make_partitioned(path, "gpt", (const Part[3]) {
                { GPT_ESP, PART_EXT4, "esp", UUID_A },
                { GPT_LINUX, PART_EXT4, "afteresp", UUID_B },
        });
}

static void make_gpt_swap_first(const char *path) {
        make_partitioned(path, "gpt", (const Part[3]) {
                { GPT_SWAP, PART_SWAP, "swapspace", UUID_C },
                { GPT_LINUX, PART_EMPTY },
                { GPT_LINUX, PART_EXT4, "third", UUID_B },
        });
}

#ifdef DISK_GPT_ROOT_NATIVE
static void make_gpt_root_type(const char *path) {
        make_partitioned(path, "gpt", (const Part[3]) {
                { GPT_LINUX, PART_EXT4, "boot", UUID_A },
                { DISK_GPT_ROOT_NATIVE, PART_EXT4, "dpsroot", UUID_B },
        });
}
#endif

static void make_gpt_empty(const char *path) {
        make_partitioned(path, "gpt", (const Part[3]) { { GPT_LINUX, PART_EMPTY } });
}

static void make_dos_swap_ext4(const char *path) {
        make_partitioned(path, "dos", (const Part[3]) {
                { "82", PART_SWAP, "swapspace", UUID_C },
                { "83", PART_EXT4, "dosroot", UUID_B },
        });
}

static void make_qcow2(const char *path) {
        RUN(NULL, "qemu-img", "create", "-q", "-f", "qcow2", (char *) path, "64M");
}

/* The first bytes of a real qcow2 image: the magic, but no virtual size. */
static void make_qcow2_cut(const char *path) {
        g_autofree char *whole = scratch("whole.qcow2");

        make_qcow2(whole);
        make_sized(path, 0);
        copy_into(whole, path, 0, 16);
}

static void make_qcow2_version9(const char *path) {
        _cleanup_close_ int fd = -EBADF;

        make_qcow2(path);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0, "open(%s): %m", path);
        /* The big-endian version after the magic. */
        cr_assert_eq(pwrite(fd, "\0\0\0\x09", 4, 4), 4, "pwrite(%s): %m", path);
}

/* Bytes no tool made, the same each run so that no chance match makes the test flaky. */
static void make_random(const char *path) {
        g_autoptr(GRand) rand = g_rand_new_with_seed(20240601);
        g_autofree uint32_t *words = g_new(uint32_t, MiB / sizeof(uint32_t));

        for (size_t i = 0; i < MiB / sizeof(uint32_t); i++)
                words[i] = g_rand_int(rand);
        file_write(path, (const char *) words, MiB);
}

static void make_zeroes(const char *path) {
        make_sized(path, 4 * MiB);
}

/* An ext4 image that also starts with a squashfs superblock (ext4's first 1 KiB is unused). */
static void make_ambiguous(const char *path) {
        g_autofree char *squashfs = scratch("other.squashfs");

        make_ext4_image(path);
        make_squashfs_image(squashfs);
        copy_into(squashfs, path, 0, 512);
}

static void make_empty(const char *path) {
        make_sized(path, 0);
}

static void make_directory(const char *path) {
        cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %m", path);
}

static void make_fifo(const char *path) {
        cr_assert_eq(mkfifo(path, 0644), 0, "mkfifo %s: %m", path);
}

static void make_nothing(const char *path) {
}

/* Size of the file as made, for images whose size the tool decides. */
#define FILE_SIZE UINT64_MAX

#define NO_FS_TEXT "'{dir}/{name}' holds no filesystem microvm recognises: make one (mkfs.ext4), use it as a " \
        "data drive rather than the root, or set root= yourself"

static const struct {
        const char *name;               /* also the image's file name */
        void (*make)(const char *path);
        int r;                          /* what disk_probe() returns, and if < 0 its sentence: */
        const char *problem;
        DiskFormat format;
        uint64_t size;
        const char *fs_type, *fs_label, *fs_uuid;
        bool fs_mountable;
        const char *partition_table;
        int root_partition;
        const char *root_type, *root_label, *root_uuid;
        int root_r;                     /* what disk_root_args() returns for the first drive, and: */
        const char *root_args;          /* its arguments, or if root_r < 0 its sentence */
} cases[] = {
        { "ext4.img", make_ext4_image, 0, NULL, DISK_FORMAT_RAW, 8 * MiB, "ext4", "rootfs", UUID_A, true,
          NULL, 0, NULL, NULL, NULL, 0, "root=/dev/vda rootfstype=ext4" },
        { "squashfs.img", make_squashfs_image, 0, NULL, DISK_FORMAT_RAW, FILE_SIZE, "squashfs", NULL, NULL,
          true, NULL, 0, NULL, NULL, NULL, 0, "root=/dev/vda rootfstype=squashfs" },
        { "swap.img", make_swap_image, 0, NULL, DISK_FORMAT_RAW, 4 * MiB, "swap", "swapspace", UUID_C, false,
          NULL, 0, NULL, NULL, NULL, -EMEDIUMTYPE,
          "'{dir}/swap.img' holds swap, not a filesystem to boot from: give the root drive an image with "
          "a filesystem, or set root= yourself" },
        { "gpt-ext4.img", make_gpt_ext4, 0, NULL, DISK_FORMAT_RAW, 6 * MiB, NULL, NULL, NULL, false,
          "gpt", 1, "ext4", "gptroot", UUID_B, 0, "root=/dev/vda1 rootfstype=ext4" },
        { "gpt-esp-first.img", make_gpt_esp_first, 0, NULL, DISK_FORMAT_RAW, 10 * MiB, NULL, NULL, NULL,
          false, "gpt", 2, "ext4", "afteresp", UUID_B, 0, "root=/dev/vda2 rootfstype=ext4" },
        { "gpt-swap-first.img", make_gpt_swap_first, 0, NULL, DISK_FORMAT_RAW, 14 * MiB, NULL, NULL, NULL,
          false, "gpt", 3, "ext4", "third", UUID_B, 0, "root=/dev/vda3 rootfstype=ext4" },
#ifdef DISK_GPT_ROOT_NATIVE
        { "gpt-root-type.img", make_gpt_root_type, 0, NULL, DISK_FORMAT_RAW, 10 * MiB, NULL, NULL, NULL,
          false, "gpt", 2, "ext4", "dpsroot", UUID_B, 0, "root=/dev/vda2 rootfstype=ext4" },
#endif
        { "gpt-empty.img", make_gpt_empty, 0, NULL, DISK_FORMAT_RAW, 6 * MiB, NULL, NULL, NULL, false,
          "gpt", 0, NULL, NULL, NULL, -EMEDIUMTYPE,
          "'{dir}/gpt-empty.img' has a gpt partition table, but no partition holds a filesystem to boot "
          "from: make one (mkfs.ext4 on the partition), or set root= yourself" },
        { "dos-swap-ext4.img", make_dos_swap_ext4, 0, NULL, DISK_FORMAT_RAW, 10 * MiB, NULL, NULL, NULL,
          false, "dos", 2, "ext4", "dosroot", UUID_B, 0, "root=/dev/vda2 rootfstype=ext4" },
        { "image.qcow2", make_qcow2, 0, NULL, DISK_FORMAT_QCOW2, 64 * MiB, NULL, NULL, NULL, false,
          NULL, 0, NULL, NULL, NULL, -EOPNOTSUPP,
          "'{dir}/image.qcow2' is a qcow2 image, whose filesystem microvm does not probe: give the kernel "
          "root= and rootfstype= yourself, or convert the image to raw (qemu-img convert -O raw)" },
        /* Data drives: what they hold is the guest's business, only a root needs a filesystem. */
        { "random.img", make_random, 0, NULL, DISK_FORMAT_RAW, MiB, NULL, NULL, NULL, false,
          NULL, 0, NULL, NULL, NULL, -EMEDIUMTYPE, NO_FS_TEXT },
        { "zeroes.img", make_zeroes, 0, NULL, DISK_FORMAT_RAW, 4 * MiB, NULL, NULL, NULL, false,
          NULL, 0, NULL, NULL, NULL, -EMEDIUMTYPE, NO_FS_TEXT },

        { "cut.qcow2", make_qcow2_cut, -EBADMSG,
          "'{dir}/cut.qcow2' starts like a qcow2 image, but is only 16 bytes long: it is cut short, "
          "recreate it (qemu-img create -f qcow2) or restore it" },
        { "version9.qcow2", make_qcow2_version9, -EBADMSG,
          "'{dir}/version9.qcow2' is a qcow2 image of version 9, which microvm does not know (it knows "
          "2 and 3): convert it (qemu-img convert -O qcow2)" },
        { "ambiguous.img", make_ambiguous, -EUCLEAN,
          "'{dir}/ambiguous.img' holds signatures of more than one filesystem, so what it holds is "
          "ambiguous: remove the stale ones (wipefs --all --backup, then mkfs again)" },
        { "empty.img", make_empty, -EINVAL,
          "'{dir}/empty.img' is empty: give it contents (mkfs.ext4, qemu-img create) or at least a size "
          "(truncate -s) first" },
        { "directory", make_directory, -EISDIR,
          "'{dir}/directory' is a directory: a drive is an image file or a block device" },
        { "fifo", make_fifo, -ENOTBLK,
          "'{dir}/fifo' is neither a regular file nor a block device: a drive is an image file or a "
          "block device" },
        { "missing.img", make_nothing, -ENOENT,
          "'{dir}/missing.img' does not exist: create the image there, or give the drive the path of an "
          "existing one" },
};

static void expect_filesystem(const DiskFilesystem *f, const char *type, const char *label, const char *uuid,
                              bool mountable, const char *what) {
        g_autofree char *t = g_strdup_printf("%s type", what), *l = g_strdup_printf("%s label", what),
                        *u = g_strdup_printf("%s UUID", what);

        expect_streq(f->type, type, t);
        expect_streq(f->label, label, l);
        expect_streq(f->uuid, uuid, u);
        cr_expect_eq(f->mountable, mountable, "%s mountable: got %d", what, f->mountable);
}

Test(disk, probe) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *name = cases[i].name;
                g_autofree char *path = scratch(name), *problem_text = expand(cases[i].problem ?: "", name);
                _cleanup_free_ char *problem = NULL, *args = NULL, *root_problem = NULL;
                DiskProbe p = {};
                struct stat st;
                uint64_t size = cases[i].size;
                int r;

                cases[i].make(path);
                if (size == FILE_SIZE) {
                        cr_assert_eq(stat(path, &st), 0, "%s: stat: %m", name);
                        size = (uint64_t) st.st_size;
                }

                r = disk_probe(path, &p, &problem);
                cr_expect_eq(r, cases[i].r, "%s: disk_probe() returned %d (%s), not %d", name, r,
                             strerror(-r), cases[i].r);
                if (r < 0) {
                        expect_streq(problem, problem_text, name);
                        continue;
                }
                cr_expect_null(problem, "%s: a problem with success: %s", name, problem);

                expect_streq(p.path, path, name);
                cr_expect_eq(p.format, cases[i].format, "%s: format %s", name, disk_format_to_string(p.format));
                cr_expect_eq(p.size, size, "%s: size %" PRIu64 ", not %" PRIu64, name, p.size, size);
                {
                        g_autofree char *what = g_strdup_printf("%s: filesystem", name),
                                        *root_what = g_strdup_printf("%s: root partition's filesystem", name),
                                        *table = g_strdup_printf("%s: partition table", name);

                        expect_filesystem(&p.fs, cases[i].fs_type, cases[i].fs_label, cases[i].fs_uuid,
                                          cases[i].fs_mountable, what);
                        expect_streq(p.partition_table, cases[i].partition_table, table);
                        expect_filesystem(&p.root_fs, cases[i].root_type, cases[i].root_label,
                                          cases[i].root_uuid, cases[i].root_partition > 0, root_what);
                }
                cr_expect_eq(p.root_partition, cases[i].root_partition, "%s: root partition %d", name,
                             p.root_partition);

                r = disk_root_args(&p, 0, &args, &root_problem);
                cr_expect_eq(r, cases[i].root_r, "%s: disk_root_args() returned %d (%s), not %d", name, r,
                             strerror(-r), cases[i].root_r);
                if (r < 0) {
                        g_autofree char *expanded = expand(cases[i].root_args, name);

                        expect_streq(root_problem, expanded, name);
                        cr_expect_null(args, "%s: arguments with an error", name);
                } else {
                        expect_streq(args, cases[i].root_args, name);
                        cr_expect_null(root_problem, "%s: a problem with success", name);
                }
                disk_probe_done(&p);
        }
}

/* Reports r and the problem of disk_probe(path) run as the user nobody, as "r\0problem\0". */
static void probe_as_nobody(const char *path, int *ret_r, char **ret_problem) {
        const struct passwd *nobody = getpwnam("nobody");
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        g_autofree char *text = NULL;
        int fds[2], status;
        size_t size = 0;
        pid_t pid;

        cr_assert_not_null(nobody, "the user nobody exists (to probe an unreadable file as root)");
        cr_assert_eq(pipe2(fds, O_CLOEXEC), 0, "pipe2: %m");
        rfd = fds[0];
        wfd = fds[1];

        pid = fork();
        cr_assert_geq(pid, 0, "fork: %m");
        if (pid == 0) {
                _cleanup_free_ char *problem = NULL, *answer = NULL;
                DiskProbe p = {};
                int r, n;

                if (setgroups(0, NULL) < 0 || setgid(nobody->pw_gid) < 0 || setuid(nobody->pw_uid) < 0)
                        _exit(EXIT_FAILURE);
                r = disk_probe(path, &p, &problem);
                disk_probe_done(&p);
                n = asprintf(&answer, "%d%c%s", r, '\0', strempty(problem));
                if (n < 0 || write(wfd, answer, (size_t) n + 1) != n + 1)
                        _exit(EXIT_FAILURE);
                _exit(EXIT_SUCCESS);
        }

        /* Our copy of the write end closed, the read sees the end when the child exits. */
        closep(&wfd);
        text = g_malloc0(4096);
        for (ssize_t k; size < 4095 && (k = read(rfd, text + size, 4095 - size)) > 0;)
                size += (size_t) k;
        cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid: %m");
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SUCCESS, "the child as nobody failed");
        cr_assert(size > 0 && text[size - 1] == '\0', "the child's answer is complete");
        *ret_r = (int) g_ascii_strtoll(text, NULL, 10);
        *ret_problem = g_strdup(text + strlen(text) + 1);
}

Test(disk, unreadable) {
        g_autofree char *path = scratch("unreadable.img"), *problem = NULL;
        g_autofree char *expected = expand("'{dir}/{name}' cannot be read (Permission denied): make it "
                                           "readable (chmod, chown) or copy the image somewhere it is",
                                           "unreadable.img");
        int r;

        make_ext4_image(path);
        cr_assert_eq(chmod(path, 0), 0, "chmod %s: %m", path);
        /* Root reads any file, so only another user sees it unreadable. */
        if (geteuid() == 0)
                probe_as_nobody(path, &r, &problem);
        else {
                _cleanup_free_ char *own = NULL;
                DiskProbe p = {};

                r = disk_probe(path, &p, &own);
                problem = g_strdup(own);
        }
        cr_expect_eq(r, -EACCES, "unreadable: disk_probe() returned %d", r);
        expect_streq(problem, expected, "unreadable");
}

/* The same ext4 image through a read-only loop device, which the probe sizes with BLKGETSIZE64.
 * Needs root and loop devices; without them it is skipped. The device is set up to detach itself
 * when its last descriptor closes, so even a failing test leaves none behind. */
Test(disk, block_device) {
        g_autofree char *image = scratch("loop.img"), *device = NULL;
        _cleanup_free_ char *problem = NULL, *args = NULL;
        _cleanup_close_ int control = -EBADF, image_fd = -EBADF, loop_fd = -EBADF;
        struct loop_config config = {};
        DiskProbe p = {};
        int n, r;

        make_ext4_image(image);
        control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (control < 0)
                cr_skip_test("no /dev/loop-control: %m");
        image_fd = open(image, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(image_fd, 0, "open(%s): %m", image);
        /* Another user may take the free device first: then try the next. */
        for (int attempt = 0;; attempt++) {
                n = ioctl(control, LOOP_CTL_GET_FREE);
                if (n < 0)
                        cr_skip_test("no free loop device: %m");
                device = g_strdup_printf("/dev/loop%d", n);
                loop_fd = open(device, O_RDONLY | O_CLOEXEC);
                if (loop_fd < 0)
                        cr_skip_test("%s cannot be opened: %m", device);
                config.fd = (uint32_t) image_fd;
                config.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
                if (ioctl(loop_fd, LOOP_CONFIGURE, &config) == 0)
                        break;
                if (errno != EBUSY || attempt >= 8)
                        cr_skip_test("%s cannot be set up: %m", device);
                closep(&loop_fd);
                device = mfree(device);
        }

        r = disk_probe(device, &p, &problem);
        cr_assert_eq(r, 0, "block device: disk_probe() returned %d: %s", r, strempty(problem));
        cr_expect_eq(p.format, DISK_FORMAT_RAW, "block device: format");
        cr_expect_eq(p.size, 8 * MiB, "block device: size %" PRIu64, p.size);
        expect_filesystem(&p.fs, "ext4", "rootfs", UUID_A, true, "block device");
        cr_expect_eq(disk_root_args(&p, 1, &args, NULL), 0, "block device: disk_root_args()");
        expect_streq(args, "root=/dev/vdb rootfstype=ext4", "block device");
        disk_probe_done(&p);
}

Test(disk, guest_name) {
        static const struct { size_t index; const char *name; } names[] = {
                { 0, "vda" }, { 1, "vdb" }, { 25, "vdz" }, { 26, "vdaa" }, { 27, "vdab" }, { 51, "vdaz" },
                { 52, "vdba" }, { 701, "vdzz" }, { 702, "vdaaa" }, { 18277, "vdzzz" }, { 18278, "vdaaaa" },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *name = NULL;
                g_autofree char *what = g_strdup_printf("index %zu", names[i].index);

                cr_expect_eq(disk_guest_name(names[i].index, &name), 0, "%s", what);
                expect_streq(name, names[i].name, what);
        }
}

/* disk_root_args() on probes as disk_probe() would fill them, for drives further down the list. */
Test(disk, root_args) {
        static const struct {
                const char *name;
                DiskProbe probe;
                size_t index;
                int r;
                const char *args;       /* or the problem */
        } args_cases[] = {
                { "whole ext4, third drive",
                  { .path = (char *) "/a", .fs = { (char *) "ext4", .mountable = true } },
                  2, 0, "root=/dev/vdc rootfstype=ext4" },
                { "btrfs in partition 4, 28th drive",
                  { .path = (char *) "/b", .partition_table = (char *) "gpt", .root_partition = 4,
                    .root_fs = { (char *) "btrfs", .mountable = true } },
                  27, 0, "root=/dev/vdab4 rootfstype=btrfs" },
                { "whole filesystem wins over partitions",
                  { .path = (char *) "/c", .fs = { (char *) "iso9660", .mountable = true },
                    .partition_table = (char *) "dos" },
                  0, 0, "root=/dev/vda rootfstype=iso9660" },
                { "LUKS", { .path = (char *) "/d", .fs = { (char *) "crypto_LUKS" } }, 0, -EMEDIUMTYPE,
                  "'/d' holds crypto_LUKS, not a filesystem to boot from: give the root drive an image with "
                  "a filesystem, or set root= yourself" },
                { "blank", { .path = (char *) "/e" }, 5, -EMEDIUMTYPE,
                  "'/e' holds no filesystem microvm recognises: make one (mkfs.ext4), use it as a data drive "
                  "rather than the root, or set root= yourself" },
                { "qcow2", { .path = (char *) "/f", .format = DISK_FORMAT_QCOW2 }, 0, -EOPNOTSUPP,
                  "'/f' is a qcow2 image, whose filesystem microvm does not probe: give the kernel root= and "
                  "rootfstype= yourself, or convert the image to raw (qemu-img convert -O raw)" },
        };

        for (size_t i = 0; i < ELEMENTSOF(args_cases); i++) {
                _cleanup_free_ char *args = NULL, *problem = NULL;
                int r;

                r = disk_root_args(&args_cases[i].probe, args_cases[i].index, &args, &problem);
                cr_expect_eq(r, args_cases[i].r, "%s: returned %d", args_cases[i].name, r);
                expect_streq(r < 0 ? problem : args, args_cases[i].args, args_cases[i].name);
                cr_expect_null(r < 0 ? args : problem, "%s: both arguments and a problem", args_cases[i].name);
        }
}

Test(disk, format_strings) {
        static const struct { const char *s; DiskFormat f; } formats[] = {
                { "raw", DISK_FORMAT_RAW }, { "qcow2", DISK_FORMAT_QCOW2 },
                { "auto", _DISK_FORMAT_INVALID }, { "", _DISK_FORMAT_INVALID },
                { "QCOW2", _DISK_FORMAT_INVALID },
        };

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                cr_expect_eq(disk_format_from_string(formats[i].s), formats[i].f, "'%s'", formats[i].s);
                if (formats[i].f >= 0)
                        expect_streq(disk_format_to_string(formats[i].f), formats[i].s, formats[i].s);
        }
        cr_expect_eq(disk_format_from_string(NULL), _DISK_FORMAT_INVALID, "NULL");
        cr_expect_null(disk_format_to_string(_DISK_FORMAT_MAX), "_DISK_FORMAT_MAX");
        cr_expect_null(disk_format_to_string(_DISK_FORMAT_INVALID), "_DISK_FORMAT_INVALID");
}
