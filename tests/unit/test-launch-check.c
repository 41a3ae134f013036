/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The checks before a start: a backend for Hypervisor=, and a kernel, initrd and drives that
 * can be read, each failure with its error name and a message that says what to fix. */

#include <criterion/criterion.h>
#include <grp.h>
#include <pwd.h>

#include "bus-errors.h"
#include "keyfile.h"
#include "launch-check.h"
#include "test-util.h"

/* A scratch directory per test, which the fixture removes even when an assertion ends the test. */
static char *dir;

static void setup(void) {
        dir = tmpdir_new();
        /* Open to everyone: an unreadable file must be unreadable for itself, not for its directory. */
        cr_assert_eq(chmod(dir, 0755), 0, "chmod %s: %m", dir);
}

static void teardown(void) {
        dir = tmpdir_free(dir);
}

TestSuite(launch_check, .init = setup, .fini = teardown);

/* Replaces each {dir} in s with the scratch directory (g_free). */
static char *expand(const char *s) {
        g_auto(GStrv) parts = g_strsplit(s, "{dir}", -1);

        return g_strjoinv(dir, parts);
}

/* What launch_check() returned, to compare with what a case expects. */
typedef struct Outcome {
        int r;
        char *error_name;       /* g_free() */
        char *message;          /* g_free() */
} Outcome;

static void outcome_done(Outcome *o) {
        g_free(o->error_name);
        g_free(o->message);
}

static void check_here(const Config *c, Outcome *ret) {
        const char *error_name = NULL;
        _cleanup_free_ char *message = NULL;

        ret->r = launch_check("test", c, NULL, &error_name, &message);
        ret->error_name = g_strdup(error_name);
        ret->message = g_strdup(message);
}

/* Writes s and its NUL, or a lone NUL for NULL. */
static void pipe_write_string(int fd, const char *s) {
        const char *p = s ?: "";
        size_t n = strlen(p) + 1;

        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k <= 0)
                        _exit(EXIT_FAILURE);
                p += k;
                n -= (size_t) k;
        }
}

/* Everything until the end of fd (g_free). */
static char *fd_read_all(int fd, size_t *ret_size) {
        GString *out = g_string_new(NULL);
        char buf[4096];
        ssize_t k;

        while ((k = read(fd, buf, sizeof(buf))) > 0)
                g_string_append_len(out, buf, k);
        cr_assert_geq(k, 0, "read: %m");
        *ret_size = out->len;
        return g_string_free(out, FALSE);
}

/* launch_check() as the user nobody would see it: in a child that drops root, reporting back
 * "r\0error name\0message\0" through a pipe. Root reads any file, so an unreadable file can only
 * be tested without it. */
static void check_as_nobody(const Config *c, Outcome *ret) {
        const struct passwd *nobody = getpwnam("nobody");
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        g_autofree char *text = NULL;
        int fds[2], status;
        size_t size = 0;
        const char *p;
        pid_t pid;

        cr_assert_not_null(nobody, "the user nobody exists (to check an unreadable file as root)");
        cr_assert_eq(pipe2(fds, O_CLOEXEC), 0, "pipe2: %m");
        rfd = fds[0];
        wfd = fds[1];

        pid = fork();
        cr_assert_geq(pid, 0, "fork: %m");
        if (pid == 0) {
                const char *error_name = NULL;
                _cleanup_free_ char *message = NULL, *r = NULL;

                if (setgroups(0, NULL) < 0 || setgid(nobody->pw_gid) < 0 || setuid(nobody->pw_uid) < 0)
                        _exit(EXIT_FAILURE);
                if (asprintf(&r, "%d", launch_check("test", c, NULL, &error_name, &message)) < 0)
                        _exit(EXIT_FAILURE);
                pipe_write_string(wfd, r);
                pipe_write_string(wfd, error_name);
                pipe_write_string(wfd, message);
                _exit(EXIT_SUCCESS);
        }

        /* Our copy of the write end closed, the read sees the end when the child exits. */
        closep(&wfd);
        text = fd_read_all(rfd, &size);
        cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid: %m");
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SUCCESS, "the child as nobody failed");

        p = text;
        cr_assert(size > 0 && text[size - 1] == '\0', "the child's answer is complete");
        ret->r = (int) g_ascii_strtoll(p, NULL, 10);
        p += strlen(p) + 1;
        cr_assert_lt(p, text + size, "the child's answer has an error name");
        ret->error_name = p[0] ? g_strdup(p) : NULL;
        p += strlen(p) + 1;
        cr_assert_lt(p, text + size, "the child's answer has a message");
        ret->message = p[0] ? g_strdup(p) : NULL;
}

/* How a case prepares the file at {dir}/FILE. */
typedef enum Make {
        MAKE_FILE,              /* a readable file */
        MAKE_NOTHING,           /* missing */
        MAKE_UNREADABLE,        /* mode 000 */
        MAKE_DIRECTORY,
        MAKE_EMPTY,             /* a file of size 0 */
} Make;

static void make(const char *file, Make how) {
        g_autofree char *path = g_build_filename(dir, file, NULL);

        switch (how) {
        case MAKE_FILE:
                file_write(path, "image", strlen("image"));
                break;
        case MAKE_NOTHING:
                break;
        case MAKE_UNREADABLE:
                file_write(path, "image", strlen("image"));
                cr_assert_eq(chmod(path, 0), 0, "chmod %s: %m", path);
                break;
        case MAKE_DIRECTORY:
                cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %m", path);
                break;
        case MAKE_EMPTY:
                file_write(path, "", 0);
                break;
        }
}

#define ENOENT_TEXT "No such file or directory"
#define EACCES_TEXT "Permission denied"
#define KERNEL_FIX "put the file there or change Kernel="
#define INITRD_FIX "put the file there or change Initrd="
#define DRIVE_MISSING_FIX "create the image there, or give the drive the path of an existing one"
#define DRIVE_UNREADABLE_FIX "make it readable (chmod, chown) or copy the image somewhere it is"
#define DRIVE_KIND "a drive is an image file or a block device"

/* Each case's key file names {dir}/vmlinuz, {dir}/initrd and the drives {dir}/a.img and
 * {dir}/b.img as it needs; make[] says what each of those is. */
#define KEYFILE_ALL "[Boot]\nKernel={dir}/vmlinuz\nInitrd={dir}/initrd\n" \
        "[Drive]\nPath={dir}/a.img\n[Drive]\nPath={dir}/b.img\nReadOnly=yes\n"
static const char *const files[] = { "vmlinuz", "initrd", "a.img", "b.img" };

static const struct {
        const char *name;
        const char *keyfile;
        Make make[ELEMENTSOF(files)];   /* vmlinuz, initrd, a.img, b.img */
        int r;
        const char *error_name;
        const char *message;
} cases[] = {
        { "all present", KEYFILE_ALL, { MAKE_FILE, MAKE_FILE, MAKE_FILE, MAKE_FILE }, 0, NULL, NULL },
        { "kernel only", "[Boot]\nKernel={dir}/vmlinuz\n",
          { MAKE_FILE, MAKE_NOTHING, MAKE_NOTHING, MAKE_NOTHING }, 0, NULL, NULL },
        { "empty Initrd= is no initrd", "[Boot]\nKernel={dir}/vmlinuz\nInitrd=\n",
          { MAKE_FILE, MAKE_NOTHING, MAKE_NOTHING, MAKE_NOTHING }, 0, NULL, NULL },
        { "a character device as a drive", "[Boot]\nKernel={dir}/vmlinuz\n[Drive]\nPath=/dev/null\n",
          { MAKE_FILE, MAKE_NOTHING, MAKE_NOTHING, MAKE_NOTHING }, -ENOTBLK, MVM_ERROR_INVALID_DRIVE,
          "Drives[0]: '/dev/null' is neither a regular file nor a block device: " DRIVE_KIND },

        { "kernel missing", KEYFILE_ALL, { MAKE_NOTHING, MAKE_FILE, MAKE_FILE, MAKE_FILE }, -ENOENT,
          MVM_ERROR_INVALID_CONFIG, "Kernel {dir}/vmlinuz cannot be read (" ENOENT_TEXT "): " KERNEL_FIX },
        { "kernel unreadable", KEYFILE_ALL, { MAKE_UNREADABLE, MAKE_FILE, MAKE_FILE, MAKE_FILE }, -EACCES,
          MVM_ERROR_INVALID_CONFIG, "Kernel {dir}/vmlinuz cannot be read (" EACCES_TEXT "): " KERNEL_FIX },
        { "kernel a directory", KEYFILE_ALL, { MAKE_DIRECTORY, MAKE_FILE, MAKE_FILE, MAKE_FILE }, -EISDIR,
          MVM_ERROR_INVALID_CONFIG, "Kernel {dir}/vmlinuz is a directory, not a file" },
        { "kernel under a missing directory", "[Boot]\nKernel={dir}/nowhere/vmlinuz\n",
          { MAKE_NOTHING, MAKE_NOTHING, MAKE_NOTHING, MAKE_NOTHING }, -ENOENT, MVM_ERROR_INVALID_CONFIG,
          "Kernel {dir}/nowhere/vmlinuz cannot be read (" ENOENT_TEXT "): " KERNEL_FIX },

        { "initrd missing", KEYFILE_ALL, { MAKE_FILE, MAKE_NOTHING, MAKE_FILE, MAKE_FILE }, -ENOENT,
          MVM_ERROR_INVALID_CONFIG, "Initrd {dir}/initrd cannot be read (" ENOENT_TEXT "): " INITRD_FIX },
        { "initrd unreadable", KEYFILE_ALL, { MAKE_FILE, MAKE_UNREADABLE, MAKE_FILE, MAKE_FILE }, -EACCES,
          MVM_ERROR_INVALID_CONFIG, "Initrd {dir}/initrd cannot be read (" EACCES_TEXT "): " INITRD_FIX },
        { "initrd a directory", KEYFILE_ALL, { MAKE_FILE, MAKE_DIRECTORY, MAKE_FILE, MAKE_FILE }, -EISDIR,
          MVM_ERROR_INVALID_CONFIG, "Initrd {dir}/initrd is a directory, not a file" },

        { "first drive missing", KEYFILE_ALL, { MAKE_FILE, MAKE_FILE, MAKE_NOTHING, MAKE_FILE }, -ENOENT,
          MVM_ERROR_INVALID_DRIVE, "Drives[0]: '{dir}/a.img' does not exist: " DRIVE_MISSING_FIX },
        { "second drive missing", KEYFILE_ALL, { MAKE_FILE, MAKE_FILE, MAKE_FILE, MAKE_NOTHING }, -ENOENT,
          MVM_ERROR_INVALID_DRIVE, "Drives[1]: '{dir}/b.img' does not exist: " DRIVE_MISSING_FIX },
        { "read-only drive unreadable", KEYFILE_ALL, { MAKE_FILE, MAKE_FILE, MAKE_FILE, MAKE_UNREADABLE },
          -EACCES, MVM_ERROR_INVALID_DRIVE,
          "Drives[1]: '{dir}/b.img' cannot be read (" EACCES_TEXT "): " DRIVE_UNREADABLE_FIX },
        { "drive a directory", KEYFILE_ALL, { MAKE_FILE, MAKE_FILE, MAKE_DIRECTORY, MAKE_FILE }, -EISDIR,
          MVM_ERROR_INVALID_DRIVE, "Drives[0]: '{dir}/a.img' is a directory: " DRIVE_KIND },
        { "drive empty", KEYFILE_ALL, { MAKE_FILE, MAKE_FILE, MAKE_EMPTY, MAKE_FILE }, -EINVAL,
          MVM_ERROR_INVALID_DRIVE, "Drives[0]: '{dir}/a.img' is empty: give it contents (mkfs.ext4, qemu-img "
          "create) or at least a size (truncate -s) first" },
        { "root drive without a filesystem", "[Boot]\nKernel={dir}/vmlinuz\n[Drive]\nPath={dir}/a.img\nRoot=yes\n",
          { MAKE_FILE, MAKE_NOTHING, MAKE_FILE, MAKE_NOTHING }, -EMEDIUMTYPE, MVM_ERROR_INVALID_DRIVE,
          "Drives[0] is the root drive, but '{dir}/a.img' holds no filesystem microvm recognises: make one "
          "(mkfs.ext4), use it as a data drive rather than the root, or set root= yourself" },
        { "root drive with root= given", "[Boot]\nKernel={dir}/vmlinuz\nKernelCommandLine=root=/dev/vda1\n"
          "[Drive]\nPath={dir}/a.img\nRoot=yes\n",
          { MAKE_FILE, MAKE_NOTHING, MAKE_FILE, MAKE_NOTHING }, 0, NULL, NULL },
        { "Format=qcow2 of a raw image", "[Boot]\nKernel={dir}/vmlinuz\n[Drive]\nPath={dir}/a.img\nFormat=qcow2\n",
          { MAKE_FILE, MAKE_NOTHING, MAKE_FILE, MAKE_NOTHING }, -EMEDIUMTYPE, MVM_ERROR_INVALID_DRIVE,
          "Drives[0] '{dir}/a.img': Format=qcow2, but the image is not qcow2 (no qcow2 header): use Format=raw "
          "or auto" },

        /* cloud-init files are read as the start would read them. */
        { "UserData file missing", "[Boot]\nKernel={dir}/vmlinuz\n[CloudInit]\nUserData={dir}/initrd\n",
          { MAKE_FILE, MAKE_NOTHING, MAKE_NOTHING, MAKE_NOTHING }, -ENOENT, MVM_ERROR_INVALID_CONFIG,
          "CloudInit UserData: '{dir}/initrd' cannot be read (" ENOENT_TEXT "): put the file there, or give "
          "the contents themselves instead of a path" },
        { "UserData inline", "[Boot]\nKernel={dir}/vmlinuz\n[CloudInit]\nUserData=#cloud-config\\n\n",
          { MAKE_FILE, MAKE_NOTHING, MAKE_NOTHING, MAKE_NOTHING }, 0, NULL, NULL },
        { "MetaData file a directory", "[Boot]\nKernel={dir}/vmlinuz\n[CloudInit]\nMetaData={dir}/initrd\n",
          { MAKE_FILE, MAKE_DIRECTORY, MAKE_NOTHING, MAKE_NOTHING }, -EISDIR, MVM_ERROR_INVALID_CONFIG,
          "CloudInit MetaData: '{dir}/initrd' cannot be read (Is a directory): put the file there, or give "
          "the contents themselves instead of a path" },

        /* The first problem in the order kernel, initrd, drives is the one reported. */
        { "everything missing", KEYFILE_ALL, { MAKE_NOTHING, MAKE_NOTHING, MAKE_NOTHING, MAKE_NOTHING },
          -ENOENT, MVM_ERROR_INVALID_CONFIG,
          "Kernel {dir}/vmlinuz cannot be read (" ENOENT_TEXT "): " KERNEL_FIX },
        { "initrd before drives", KEYFILE_ALL, { MAKE_FILE, MAKE_DIRECTORY, MAKE_NOTHING, MAKE_UNREADABLE },
          -EISDIR, MVM_ERROR_INVALID_CONFIG, "Initrd {dir}/initrd is a directory, not a file" },

        /* Every hypervisor has a backend now: its files are checked as QEMU's are. */
        { "firecracker", "[VM]\nHypervisor=firecracker\n" KEYFILE_ALL,
          { MAKE_FILE, MAKE_FILE, MAKE_FILE, MAKE_FILE }, 0, NULL, NULL },
        { "cloud-hypervisor", "[VM]\nHypervisor=cloud-hypervisor\n" KEYFILE_ALL,
          { MAKE_FILE, MAKE_FILE, MAKE_FILE, MAKE_FILE }, 0, NULL, NULL },
        { "firecracker, kernel missing", "[VM]\nHypervisor=firecracker\n" KEYFILE_ALL,
          { MAKE_NOTHING, MAKE_FILE, MAKE_FILE, MAKE_FILE }, -ENOENT, MVM_ERROR_INVALID_CONFIG,
          "Kernel {dir}/vmlinuz cannot be read (" ENOENT_TEXT "): " KERNEL_FIX },
};

static bool case_has_unreadable(size_t i) {
        for (size_t f = 0; f < ELEMENTSOF(files); f++)
                if (cases[i].make[f] == MAKE_UNREADABLE)
                        return true;
        return false;
}

/* Empties the scratch directory for the next case. */
static void clear(void) {
        g_autofree char *left = NULL;

        for (size_t f = 0; f < ELEMENTSOF(files); f++) {
                g_autofree char *path = g_build_filename(dir, files[f], NULL);

                cr_assert(remove(path) == 0 || errno == ENOENT, "removing %s: %m", path);
        }
        left = dir_list(dir);
        expect_streq(left, "", "the scratch directory is empty between cases");
}

Test(launch_check, cases) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *name = cases[i].name;
                g_autofree char *text = expand(cases[i].keyfile), *error = NULL, *message = NULL;
                _cleanup_(config_freep) Config *c = NULL;
                Outcome o = {};

                cr_assert_eq(keyfile_parse(text, "test.vm", &c, &error), 0, "%s: %s", name, strempty(error));
                for (size_t f = 0; f < ELEMENTSOF(files); f++)
                        make(files[f], cases[i].make[f]);

                /* Root reads files of mode 000: ask as nobody, who does not. */
                if (case_has_unreadable(i) && geteuid() == 0)
                        check_as_nobody(c, &o);
                else
                        check_here(c, &o);

                cr_expect_eq(o.r, cases[i].r, "%s: returned %d (%s), expected %d", name, o.r, strerror(-o.r),
                             cases[i].r);
                expect_streq(o.error_name, cases[i].error_name, name);
                message = cases[i].message ? expand(cases[i].message) : NULL;
                expect_streq(o.message, message, name);
                outcome_done(&o);
                clear();
        }
}

/* The unreadable cases again, but with all files readable: only the mode made the difference,
 * not the user the check ran as. */
Test(launch_check, readable_as_nobody) {
        g_autofree char *text = expand(KEYFILE_ALL);
        _cleanup_(config_freep) Config *c = NULL;
        Outcome o = {};

        if (geteuid() != 0)
                cr_skip_test("only root can check as nobody");
        cr_assert_eq(keyfile_parse(text, "test.vm", &c, NULL), 0);
        for (size_t f = 0; f < ELEMENTSOF(files); f++)
                make(files[f], MAKE_FILE);
        check_as_nobody(c, &o);
        cr_expect_eq(o.r, 0, "all readable as nobody: %s", strempty(o.message));
        expect_streq(o.error_name, NULL, "no error name");
        expect_streq(o.message, NULL, "no message");
        outcome_done(&o);
}
