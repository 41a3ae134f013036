/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole-file reads with their limits, atomic writes that leave nothing behind, mkdir_parents. */

#include <criterion/criterion.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fileio.h"
#include "test-util.h"

static char *dir;

static void setup(void) {
        dir = tmpdir_new();
}

static void teardown(void) {
        dir = tmpdir_free(dir);
}

TestSuite(fileio, .init = setup, .fini = teardown);

static char *at(const char *name) {
        return g_build_filename(dir, name, NULL);
}

static mode_t mode_of(const char *path) {
        struct stat st;

        cr_assert_eq(stat(path, &st), 0, "stat(%s): %m", path);
        return st.st_mode & 07777;
}

static const struct {
        const char *name;
        const char *contents;
        size_t size;
        mode_t mode;
} writes[] = {
        { "text 0644", "[Boot]\nKernel=/k\n", 17, 0644 },
        { "private 0600", "secret\n", 7, 0600 },
        { "empty 0640", "", 0, 0640 },
        { "NUL byte inside", "a\0b", 3, 0644 },
        { "odd mode 0751", "x", 1, 0751 },
};

Test(fileio, write_creates) {
        for (size_t i = 0; i < ELEMENTSOF(writes); i++) {
                g_autofree char *path = at("vm.vm"), *got = NULL, *listing = NULL;
                size_t size = 0;

                cr_expect_eq(write_file_atomic(path, writes[i].contents, writes[i].size, writes[i].mode), 0,
                             "%s", writes[i].name);
                got = file_read(path, &size);
                cr_assert_not_null(got, "%s: read back: %m", writes[i].name);
                cr_expect_eq(size, writes[i].size, "%s: size", writes[i].name);
                cr_expect_arr_eq(got, writes[i].contents, writes[i].size, "%s: contents", writes[i].name);
                cr_expect_eq(mode_of(path), writes[i].mode, "%s: mode %o", writes[i].name, mode_of(path));

                listing = dir_list(dir);
                expect_streq(listing, "vm.vm", writes[i].name);
                cr_assert_eq(unlink(path), 0);
        }
}

/* The mode is the one asked for, whatever the umask. */
Test(fileio, write_ignores_umask) {
        g_autofree char *path = at("vm.vm");
        mode_t old = umask(0077);

        cr_expect_eq(write_file_atomic(path, "x", 1, 0644), 0, "umask 0077");
        cr_expect_eq(mode_of(path), 0644, "umask 0077: mode %o", mode_of(path));
        umask(old);
}

Test(fileio, write_replaces) {
        g_autofree char *path = at("vm.vm"), *got = NULL, *listing = NULL;
        struct stat before, after;

        file_write(path, "old contents that are longer\n", 29);
        cr_assert_eq(chmod(path, 0600), 0);
        cr_assert_eq(stat(path, &before), 0);

        cr_expect_eq(write_file_atomic(path, "new\n", 4, 0644), 0, "replace");
        got = file_read(path, NULL);
        expect_streq(got, "new\n", "replace: contents");
        cr_expect_eq(mode_of(path), 0644, "replace: mode %o", mode_of(path));
        /* Replaced by rename, not rewritten in place: a reader holding the old file keeps it whole. */
        cr_assert_eq(stat(path, &after), 0);
        cr_expect_neq(before.st_ino, after.st_ino, "replace: a new inode");

        listing = dir_list(dir);
        expect_streq(listing, "vm.vm", "replace: no temporary file left");
}

/* A relative path puts the temporary file in the current directory. */
Test(fileio, write_relative) {
        g_autofree char *cwd = g_get_current_dir(), *got = NULL, *listing = NULL;

        cr_assert_eq(chdir(dir), 0);
        cr_expect_eq(write_file_atomic("rel.vm", "r", 1, 0644), 0, "relative path");
        got = file_read("rel.vm", NULL);
        expect_streq(got, "r", "relative path: contents");
        listing = dir_list(".");
        expect_streq(listing, "rel.vm", "relative path: no temporary file left");
        cr_assert_eq(chdir(cwd), 0);
}

Test(fileio, write_missing_directory) {
        g_autofree char *path = at("missing/vm.vm"), *listing = NULL;

        cr_expect_eq(write_file_atomic(path, "x", 1, 0644), -ENOENT, "missing directory");
        listing = dir_list(dir);
        expect_streq(listing, "", "missing directory: nothing created");
}

/* The rename fails after the temporary file was written: it must be removed again. */
Test(fileio, write_over_directory) {
        g_autofree char *path = at("vm.vm"), *listing = NULL, *inside = NULL;

        cr_assert_eq(mkdir(path, 0755), 0);
        cr_expect_eq(write_file_atomic(path, "x", 1, 0644), -EISDIR, "target is a directory");
        listing = dir_list(dir);
        expect_streq(listing, "vm.vm", "target is a directory: no temporary file left");
        inside = dir_list(path);
        expect_streq(inside, "", "target is a directory: left as it was");
}

/* Root writes anywhere, so the write is tried by an unprivileged child (nobody when root). */
Test(fileio, write_unwritable_directory) {
        g_autofree char *ro = at("ro"), *path = at("ro/vm.vm"), *listing = NULL;
        int status;
        pid_t pid;

        cr_assert_eq(chmod(dir, 0755), 0);
        cr_assert_eq(mkdir(ro, 0555), 0);
        cr_assert_eq(chmod(ro, 0555), 0);

        /* The child reports by its exit status alone: an assertion there would talk to the
         * test runner over the parent's channel. */
        pid = fork();
        if (pid == 0) {
                if (geteuid() == 0) {
                        struct passwd *nobody = getpwnam("nobody");
                        uid_t uid = nobody ? nobody->pw_uid : 65534;
                        gid_t gid = nobody ? nobody->pw_gid : 65534;

                        if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
                                _exit(100);
                }
                _exit(-write_file_atomic(path, "x", 1, 0644));
        }
        cr_assert_geq(pid, 0, "fork: %m");
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status), "the child exited");
        cr_expect_eq(WEXITSTATUS(status), EACCES, "unwritable directory: %s", strerror(WEXITSTATUS(status)));

        listing = dir_list(ro);
        expect_streq(listing, "", "unwritable directory: nothing created");
        cr_assert_eq(chmod(ro, 0755), 0);
}

Test(fileio, read_contents) {
        static const struct {
                const char *name;
                const char *contents;
                size_t size;
        } cases[] = {
                { "text", "[VM]\nVCPUs=2\n", 13 },
                { "empty", "", 0 },
                { "no final newline", "abc", 3 },
                { "NUL byte", "a\0b\n", 4 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *path = at("f");
                _cleanup_free_ char *got = NULL;
                size_t size = SIZE_MAX;

                file_write(path, cases[i].contents, cases[i].size);
                cr_expect_eq(read_file(path, &got, &size), 0, "%s", cases[i].name);
                cr_assert_not_null(got, "%s", cases[i].name);
                cr_expect_eq(size, cases[i].size, "%s: size %zu", cases[i].name, size);
                cr_expect_arr_eq(got, cases[i].contents, cases[i].size, "%s: contents", cases[i].name);
                cr_expect_eq(got[cases[i].size], '\0', "%s: NUL-terminated", cases[i].name);
        }
}

Test(fileio, read_size_optional) {
        g_autofree char *path = at("f");
        _cleanup_free_ char *got = NULL;

        file_write(path, "abc", 3);
        cr_expect_eq(read_file(path, &got, NULL), 0, "no size wanted");
        expect_streq(got, "abc", "no size wanted");
}

/* A FIFO would block a reader that waits for a writer: the timeout catches that. */
Test(fileio, read_limits, .timeout = 10) {
        g_autofree char *max = at("max"), *big = at("big"), *sub = at("sub"), *fifo = at("fifo");
        _cleanup_free_ char *got = NULL;
        size_t size = 0;
        int fd;

        /* Sparse files: the size is what counts. */
        fd = open(max, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        cr_assert_geq(fd, 0);
        cr_assert_eq(ftruncate(fd, MVM_FILE_SIZE_MAX), 0);
        close(fd);
        fd = open(big, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        cr_assert_geq(fd, 0);
        cr_assert_eq(ftruncate(fd, MVM_FILE_SIZE_MAX + 1), 0);
        close(fd);
        cr_assert_eq(mkdir(sub, 0755), 0);
        cr_assert_eq(mkfifo(fifo, 0644), 0);

        cr_expect_eq(read_file(max, &got, &size), 0, "exactly MVM_FILE_SIZE_MAX bytes");
        cr_expect_eq(size, (size_t) MVM_FILE_SIZE_MAX, "exactly MVM_FILE_SIZE_MAX bytes: size");

        static const struct {
                const char *name;
                const char *file;       /* in the scratch directory unless absolute */
                int error;
        } cases[] = {
                { "one byte too large", "big", -EFBIG },
                { "directory", "sub", -EISDIR },
                { "FIFO, which must not block", "fifo", -EBADFD },
                { "character device", "/dev/null", -EBADFD },
                { "missing", "missing", -ENOENT },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *path = g_path_is_absolute(cases[i].file) ? g_strdup(cases[i].file)
                                                                          : at(cases[i].file);
                char *untouched = (char *) "untouched";

                cr_expect_eq(read_file(path, &untouched, NULL), cases[i].error, "%s", cases[i].name);
                expect_streq(untouched, "untouched", cases[i].name);
        }
}

Test(fileio, unlink_durable) {
        g_autofree char *path = at("f"), *listing = NULL;

        file_write(path, "x", 1);
        cr_expect_eq(unlink_durable(path), 0, "existing file");
        listing = dir_list(dir);
        expect_streq(listing, "", "existing file: gone");
        cr_expect_eq(unlink_durable(path), -ENOENT, "missing file");
}

Test(fileio, mkdir_parents) {
        static const char *const cases[] = {
                "a",
                "b/c/d",
                "b/c/d",        /* again: nothing to do */
                "b/c/e/",       /* trailing slash */
                "f//g",         /* doubled slash */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *path = at(cases[i]);
                struct stat st;

                cr_expect_eq(mkdir_parents(path, 0755), 0, "%s", cases[i]);
                cr_expect_eq(stat(path, &st), 0, "%s: exists", cases[i]);
                cr_expect(S_ISDIR(st.st_mode), "%s: is a directory", cases[i]);
        }
}

Test(fileio, mkdir_parents_file_in_the_way) {
        g_autofree char *file = at("file"), *below = at("file/sub");

        file_write(file, "x", 1);
        cr_expect_eq(mkdir_parents(below, 0755), -ENOTDIR, "a file as parent");
        cr_expect_eq(mkdir_parents(file, 0755), -ENOTDIR, "a file where the directory should be");
}
