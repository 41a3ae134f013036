/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The console's escape: three ^] within a second end the session and never reach the guest; fewer,
 * slower, or interrupted ones reach it after all, in order, whether more input or the end of their
 * second releases them. */

#include <criterion/criterion.h>

#include "console-escape.h"
#include "test-util.h"

#define E "\x1d"
#define MS UINT64_C(1000)

/* One read of typed input: its bytes at a time, what goes to the guest, whether it escapes. */
typedef struct Step {
        const char *in;
        uint64_t at_ms;
        const char *out;
        bool escaped;
} Step;

#define MAX_STEPS 6

static const struct {
        const char *name;
        Step steps[MAX_STEPS];  /* up to the first with in == NULL */
} cases[] = {
        { "plain text passes", {
                { "ls -l\r", 0, "ls -l\r", false },
        } },
        { "three at once", {
                { E E E, 0, "", true },
        } },
        { "three, one per read, within the second", {
                { E, 0, "", false },
                { E, 400, "", false },
                { E, 999, "", true },
        } },
        { "text before the escape in the same read goes out, after it is dropped", {
                { "ab" E E E "cd", 0, "ab", true },
        } },
        { "a lone ^] is held, then sent before the next key", {
                { E, 0, "", false },
                { "x", 10, E "x", false },
        } },
        { "two then a key: both sent, the count starts again", {
                { E E, 0, "", false },
                { "q", 10, E E "q", false },
                { E E, 20, "", false },
                { E, 30, "", true },
        } },
        { "interrupted in one read", {
                { E E "z" E, 0, E E "z", false },
                { E E, 5, "", true },
        } },
        { "the third a second after the first is too late: the two go out, it starts anew", {
                { E E, 0, "", false },
                { E, 1000, E E, false },
                { E E, 1500, "", true },
        } },
        { "a ^] after its second with text", {
                { E, 0, "", false },
                { "a" E "b", 2000, E "a" E "b", false },
        } },
        { "empty reads change nothing", {
                { E, 0, "", false },
                { "", 100, "", false },
                { E E, 200, "", true },
        } },
        { "after an escape the count starts from nothing", {
                { E E E, 0, "", true },
                { E "k", 10, E "k", false },
        } },
};

static char *feed(ConsoleEscape *e, const char *in, uint64_t at_ms, bool *ret_escaped) {
        size_t n = strlen(in), k = SIZE_MAX;
        char *out = g_malloc0(n + CONSOLE_ESCAPE_EXTRA + 1);

        *ret_escaped = console_escape_feed(e, in, n, at_ms * MS, out, &k);
        cr_assert_leq(k, n + CONSOLE_ESCAPE_EXTRA, "output within its room");
        out[k] = '\0';
        return out;
}

Test(console_escape, feed) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ConsoleEscape e = {};

                for (size_t j = 0; j < MAX_STEPS && cases[i].steps[j].in; j++) {
                        const Step *s = &cases[i].steps[j];
                        g_autofree char *name = g_strdup_printf("%s, step %zu", cases[i].name, j);
                        g_autofree char *out = NULL;
                        bool escaped;

                        out = feed(&e, s->in, s->at_ms, &escaped);
                        expect_streq(out, s->out, name);
                        cr_expect_eq(escaped, s->escaped, "%s: escaped %d", name, escaped);
                }
        }
}

Test(console_escape, held_bytes_expire) {
        ConsoleEscape e = {};
        char held[CONSOLE_ESCAPE_EXTRA];
        g_autofree char *out = NULL;
        bool escaped;

        cr_expect_eq(console_escape_deadline(&e), UINT64_MAX, "nothing held: no deadline");
        cr_expect_eq(console_escape_expire(&e, 5000 * MS, held), 0, "nothing held: nothing expires");

        out = feed(&e, E E, 100, &escaped);
        expect_streq(out, "", "two held");
        cr_expect_eq(console_escape_deadline(&e), 1100 * MS, "due a second after the first");
        cr_expect_eq(console_escape_expire(&e, 1099 * MS, held), 0, "not before the deadline");

        cr_expect_eq(console_escape_expire(&e, 1100 * MS, held), 2, "both at the deadline");
        cr_expect_eq(held[0], CONSOLE_ESCAPE_CHAR, "first released byte");
        cr_expect_eq(held[1], CONSOLE_ESCAPE_CHAR, "second released byte");
        cr_expect_eq(console_escape_deadline(&e), UINT64_MAX, "released: no deadline");

        /* Released means forgotten: one more ^] is the first of a new count, not the third. */
        g_free(out);
        out = feed(&e, E, 1200, &escaped);
        cr_expect_not(escaped, "a ^] after the release starts a new count");
        expect_streq(out, "", "held again");
        cr_expect_eq(console_escape_deadline(&e), 2200 * MS, "a new deadline");
}
