/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the unit tests share: string assertions that show both sides, scratch directories under
 * $TMPDIR that are removed again, whole-file reads and writes, and golden files (argument vectors
 * among them). */
#pragma once

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fileio.h"
#include "macro.h"

/* Expects two strings to be equal (NULL equals only NULL); the message names the case and shows
 * both strings with C escapes, so that a stray newline is visible. */
#define expect_streq(actual, expected, name)                                                    \
        do {                                                                                    \
                const char *_a = (actual), *_e = (expected);                                    \
                g_autofree char *_ea = _a ? g_strescape(_a, NULL) : g_strdup("(null)");         \
                g_autofree char *_ee = _e ? g_strescape(_e, NULL) : g_strdup("(null)");         \
                cr_expect(streq_ptr(_a, _e), "%s:\n    got      \"%s\"\n    expected \"%s\"",  \
                          (name), _ea, _ee);                                                    \
        } while (0)

/* A new empty directory under $TMPDIR (or /tmp); free() the path. */
static inline char *tmpdir_new(void) {
        const char *base = getenv("TMPDIR");
        char *path = NULL;

        if (!base || base[0] != '/')
                base = "/tmp";
        cr_assert(asprintf(&path, "%s/microvm-unit-XXXXXX", base) >= 0);
        cr_assert_not_null(mkdtemp(path), "mkdtemp(%s): %m", path);
        return path;
}

static inline int tmpdir_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -errno : 0;
}

/* Removes the directory and everything in it; takes NULL; returns NULL. */
static inline char *tmpdir_free(char *path) {
        if (!path)
                return NULL;
        cr_expect_eq(nftw(path, tmpdir_remove_one, 16, FTW_DEPTH | FTW_PHYS), 0, "removing %s: %m", path);
        free(path);
        return NULL;
}

/* The names in a directory, sorted and joined by spaces: "" when it is empty (g_free). */
static inline char *dir_list(const char *path) {
        struct dirent **entries = NULL;
        GString *out = g_string_new(NULL);
        int n;

        n = scandir(path, &entries, NULL, alphasort);
        cr_assert_geq(n, 0, "scandir(%s): %m", path);
        for (int i = 0; i < n; i++) {
                if (!streq(entries[i]->d_name, ".") && !streq(entries[i]->d_name, ".."))
                        g_string_append_printf(out, "%s%s", out->len > 0 ? " " : "", entries[i]->d_name);
                free(entries[i]);
        }
        free(entries);
        return g_string_free(out, FALSE);
}

/* Writes a scratch file of size bytes (it may hold NUL bytes) or fails the test. */
static inline void file_write(const char *path, const char *contents, size_t size) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        cr_assert_geq(fd, 0, "open(%s): %m", path);
        cr_assert_eq(write(fd, contents, size), (ssize_t) size, "write(%s): %m", path);
}

/* The contents of a file, or NULL with errno set (g_free). */
static inline char *file_read(const char *path, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        GString *out;
        char buf[4096];
        ssize_t k;

        if (fd < 0)
                return NULL;
        out = g_string_new(NULL);
        while ((k = read(fd, buf, sizeof(buf))) > 0)
                g_string_append_len(out, buf, k);
        cr_assert_geq(k, 0, "read(%s): %m", path);
        if (ret_size)
                *ret_size = out->len;
        return g_string_free(out, FALSE);
}

/* Golden files: tests/golden/MODULE/NAME in the source tree that $MVM_SOURCE_DIR names (meson test
 * sets it); g_free() the path. */
static inline char *golden_path(const char *module, const char *name) {
        const char *src = getenv("MVM_SOURCE_DIR");

        cr_assert_not_null(src, "MVM_SOURCE_DIR names the source tree (meson test sets it)");
        return g_build_filename(src, "tests", "golden", module, name, NULL);
}

/* The golden file's contents, or fails the test (g_free). */
static inline char *golden_read(const char *module, const char *name) {
        g_autofree char *path = golden_path(module, name);
        char *text = file_read(path, NULL);

        cr_assert_not_null(text, "%s: %m", path);
        return text;
}

/* diff -u of the golden file at path and text, for a failure message (g_free). */
static inline char *golden_diff(const char *path, const char *text) {
        char *scratch = tmpdir_new();
        g_autofree char *got = g_build_filename(scratch, "got", NULL);
        g_autofree char *out = g_build_filename(scratch, "diff", NULL);
        char *argv[] = { (char *) "diff", (char *) "-u", (char *) "--label", (char *) "expected",
                         (char *) "--label", (char *) "got", (char *) path, got, NULL };
        posix_spawn_file_actions_t actions;
        char *diff = NULL;
        int status;
        pid_t pid;

        file_write(got, text, strlen(text));
        cr_assert_eq(posix_spawn_file_actions_init(&actions), 0);
        cr_assert_eq(posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out,
                                                      O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
        if (posix_spawnp(&pid, "diff", &actions, NULL, argv, environ) == 0 && waitpid(pid, &status, 0) == pid)
                diff = file_read(out, NULL);
        posix_spawn_file_actions_destroy(&actions);
        tmpdir_free(scratch);
        return diff ?: g_strdup_printf("(no diff(1)) got:\n%s", text);
}

/* Compares text with tests/golden/MODULE/NAME byte for byte; on a mismatch the test fails with
 * a diff. With MVM_UPDATE_GOLDEN=1 the golden file is rewritten instead. */
static inline void golden_check(const char *module, const char *name, const char *text) {
        g_autofree char *path = golden_path(module, name), *expected = NULL, *diff = NULL;
        size_t size = 0;

        if (streq_ptr(getenv("MVM_UPDATE_GOLDEN"), "1")) {
                g_autofree char *parent = g_path_get_dirname(path);

                cr_assert_eq(g_mkdir_with_parents(parent, 0755), 0, "mkdir %s: %m", parent);
                cr_assert_eq(write_file_atomic(path, text, strlen(text), 0644), 0, "rewriting %s", path);
                cr_log_info("rewrote %s", path);
                return;
        }

        expected = file_read(path, &size);
        cr_assert_not_null(expected, "%s: %m (MVM_UPDATE_GOLDEN=1 writes it)", path);
        if (size == strlen(text) && memcmp(expected, text, size) == 0)
                return;
        diff = golden_diff(path, text);
        cr_expect_fail("%s/%s differs (MVM_UPDATE_GOLDEN=1 rewrites it):\n%s", module, name, diff);
}

/* An argument vector as its golden file holds it, one argument per line (g_free). An argument with
 * a newline in it would read as two: the case called name fails. */
static inline char *argv_to_text(char **argv, const char *name) {
        GString *out = g_string_new(NULL);

        for (size_t i = 0; argv[i]; i++) {
                cr_expect_null(strchr(argv[i], '\n'), "%s: argv[%zu] has no newline", name, i);
                g_string_append_printf(out, "%s\n", argv[i]);
        }
        return g_string_free(out, FALSE);
}
