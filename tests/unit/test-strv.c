/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* String arrays: growing one from NULL, formatted and many-at-once appends, joining, and NULL
 * and empty arrays and strings everywhere. */

#include <criterion/criterion.h>

#include "strv.h"
#include "test-util.h"

/* The array's elements joined by '|' with its length, to compare a whole array at once: "3:a|b|c";
 * "0:" for an empty array or NULL (g_free). */
static char *strv_describe(char **l) {
        GString *out = g_string_new(NULL);

        g_string_append_printf(out, "%zu:", strv_length(l));
        for (size_t i = 0; l && l[i]; i++)
                g_string_append_printf(out, "%s%s", i > 0 ? "|" : "", l[i]);
        return g_string_free(out, FALSE);
}

#define expect_strv(l, expected, name)                                  \
        do {                                                            \
                g_autofree char *_d = strv_describe(l);                 \
                expect_streq(_d, (expected), (name));                   \
        } while (0)

Test(strv, length) {
        static char *empty[] = { NULL };
        static char *one[] = { (char *) "a", NULL };
        static char *with_empty[] = { (char *) "", (char *) "", (char *) "b", NULL };
        static const struct {
                const char *name;
                char **l;
                size_t length;
        } cases[] = {
                { "NULL", NULL, 0 },
                { "empty", empty, 0 },
                { "one", one, 1 },
                { "empty strings count", with_empty, 3 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                cr_expect_eq(strv_length(cases[i].l), cases[i].length, "%s", cases[i].name);
}

Test(strv, free_returns_null) {
        char **l = NULL;

        cr_expect_null(strv_free(NULL), "NULL");
        cr_assert_eq(strv_extend(&l, "a"), 0);
        cr_assert_eq(strv_extend(&l, "b"), 0);
        cr_expect_null(strv_free(l), "an array returns NULL");
        l = calloc(1, sizeof(char *));
        cr_assert_not_null(l);
        cr_expect_null(strv_free(l), "an empty array");
}

Test(strv, extend) {
        _cleanup_strv_free_ char **l = NULL;
        char buf[] = "copied";

        cr_assert_eq(strv_extend(&l, "a"), 0);
        cr_assert_not_null(l, "NULL grows into an array");
        expect_strv(l, "1:a", "one");
        cr_assert_eq(strv_extend(&l, ""), 0);
        expect_strv(l, "2:a|", "an empty string is an element");
        cr_assert_eq(strv_extend(&l, buf), 0);
        buf[0] = 'C';
        expect_strv(l, "3:a||copied", "a copy, not the caller's string");
        cr_expect_null(l[3], "NULL-terminated");
}

Test(strv, extendf) {
        static const struct {
                const char *name;
                const char *expected;
        } cases[] = {
                { "number", "tsc_early_khz=2596098" },
                { "string", "-m=256M" },
                { "empty", "" },
                { "percent", "100%" },
        };
        _cleanup_strv_free_ char **l = NULL;

        cr_assert_eq(strv_extendf(&l, "tsc_early_khz=%u", 2596098u), 0);
        cr_assert_eq(strv_extendf(&l, "-%s=%dM", "m", 256), 0);
        cr_assert_eq(strv_extendf(&l, "%s", ""), 0);
        cr_assert_eq(strv_extendf(&l, "%d%%", 100), 0);
        cr_assert_eq(strv_length(l), ELEMENTSOF(cases));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                expect_streq(l[i], cases[i].expected, cases[i].name);
        cr_expect_null(l[ELEMENTSOF(cases)], "NULL-terminated");
}

Test(strv, extend_many) {
        _cleanup_strv_free_ char **l = NULL, **none = NULL;

        cr_assert_eq(strv_extend_many(&none, NULL), 0);
        cr_expect_null(none, "nothing appended to NULL leaves NULL");

        cr_assert_eq(strv_extend_many(&l, "-drive", "file=a", NULL), 0);
        expect_strv(l, "2:-drive|file=a", "two to NULL");
        cr_assert_eq(strv_extend_many(&l, NULL), 0);
        expect_strv(l, "2:-drive|file=a", "none appended");
        cr_assert_eq(strv_extend_many(&l, "", "-device", "", NULL), 0);
        expect_strv(l, "5:-drive|file=a||-device|", "empty strings appended");
        cr_assert_eq(strv_extend_many(&l, "x", NULL, "after the end", NULL), 0);
        expect_strv(l, "6:-drive|file=a||-device||x", "up to the first NULL");
}

Test(strv, join) {
        static char *empty[] = { NULL };
        static char *one[] = { (char *) "a", NULL };
        static char *three[] = { (char *) "a", (char *) "b", (char *) "c", NULL };
        static char *empties[] = { (char *) "", (char *) "", NULL };
        static char *inner_empty[] = { (char *) "a", (char *) "", (char *) "c", NULL };
        static const struct {
                const char *name;
                char **l;
                const char *sep;
                const char *joined;
        } cases[] = {
                { "NULL", NULL, " ", "" },
                { "empty", empty, " ", "" },
                { "one", one, ", ", "a" },
                { "three", three, " ", "a b c" },
                { "a longer separator", three, ", ", "a, b, c" },
                { "no separator", three, "", "abc" },
                { "empty strings", empties, ",", "," },
                { "an empty string inside", inner_empty, " ", "a  c" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *joined = strv_join(cases[i].l, cases[i].sep);

                expect_streq(joined, cases[i].joined, cases[i].name);
        }
}

/* What the argv builder does: build, join, and the cleanup frees it. */
Test(strv, build_and_join) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL;

        cr_assert_eq(strv_extend(&l, "console=ttyS0,115200"), 0);
        cr_assert_eq(strv_extendf(&l, "tsc_early_khz=%d", 2500000), 0);
        cr_assert_eq(strv_extend_many(&l, "root=/dev/vda", "rw", NULL), 0);
        joined = strv_join(l, " ");
        expect_streq(joined, "console=ttyS0,115200 tsc_early_khz=2500000 root=/dev/vda rw", "the command line");
}
