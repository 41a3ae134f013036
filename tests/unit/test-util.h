/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the unit tests share: string assertions that show both sides, and scratch directories
 * under $TMPDIR that are removed again. */
#pragma once

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

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
DEFINE_CLEANUP(char *, tmpdir_free);

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
