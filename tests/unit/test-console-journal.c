/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The serial output as journal lines: split at newlines whatever the chunks, carriage returns,
 * colours and other escape sequences and control characters taken out, long lines cut. */

#include <criterion/criterion.h>
#include <glib.h>

#include "console-journal.h"
#include "macro.h"

static void collect(const char *line, void *userdata) {
        g_string_append_printf(userdata, "[%s]", line);
}

static char *feed_all(const char *const *chunks) {
        ConsoleJournal j = {};
        GString *out = g_string_new(NULL);

        for (size_t i = 0; chunks[i]; i++)
                console_journal_feed(&j, chunks[i], strlen(chunks[i]), collect, out);
        console_journal_flush(&j, collect, out);
        return g_string_free(out, FALSE);
}

Test(console_journal, lines) {
        static const struct {
                const char *chunks[4];
                const char *expected;
        } cases[] = {
                { { "one\ntwo\n" }, "[one][two]" },
                { { "sp", "lit\r\nli", "ne\r\n" }, "[split][line]" },
                { { "no end" }, "[no end]" },
                { { "\n\n" }, "[][]" },
                /* systemd's "[  OK  ]" in colour, a cursor move, a title (OSC) */
                { { "[\x1b[0;32m  OK  \x1b[0m] Started\n" }, "[[  OK  ] Started]" },
                { { "a\x1b[", "2K", "b\n" }, "[ab]" },
                { { "\x1b]0;title\x07text\n" }, "[text]" },
                { { "tab\there\bx\x7f\n" }, "[tab\there" "x]" },
                { { "utf-8 ✓\n" }, "[utf-8 ✓]" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *got = feed_all(cases[i].chunks);

                cr_expect_str_eq(got, cases[i].expected, "case %zu", i);
        }
}

Test(console_journal, long_line) {
        g_autofree char *text = g_strnfill(CONSOLE_LINE_MAX * 2, 'x');
        const char *chunks[] = { text, NULL };
        g_autofree char *got = feed_all(chunks);
        g_autofree char *first = g_strnfill(CONSOLE_LINE_MAX - 1, 'x');
        g_autofree char *expected = g_strdup_printf("[%s][%s][xx]", first, first);

        cr_expect_str_eq(got, expected);
}

/* The guest kernel's last words, as Firecracker's standard output brings them to the journal. */
Test(console_journal, poweroff_line) {
        static const struct {
                const char *line;
                bool poweroff;
        } cases[] = {
                { "reboot: Power down", true },
                { "[    4.123456] reboot: Power down", true },
                { "[    4.123456] reboot: Power down\r", true },
                { "[ 1234.000001] reboot: System halted", true },
                { "reboot: Restarting system", false },
                { "[    4.123456] reboot: Power down now", false },
                { "echo reboot: Power down", false },
                { "[    4.123456 reboot: Power down", false },
                { "", false },
                { "[", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                cr_expect_eq(console_line_is_poweroff(cases[i].line, strlen(cases[i].line)), cases[i].poweroff, "'%s'",
                             cases[i].line);
}
