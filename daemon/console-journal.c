/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdint.h>
#include <string.h>

#include "console-journal.h"
#include "macro.h"

enum {
        ESCAPE_NONE,
        ESCAPE_START,           /* after ESC */
        ESCAPE_CSI,             /* after ESC [: parameters until a final byte */
        ESCAPE_STRING,          /* after ESC ] (OSC) and the like: until BEL or ESC \ */
};

static void emit(ConsoleJournal *j, ConsoleLineHandler handler, void *userdata) {
        j->line[j->length] = '\0';
        handler(j->line, userdata);
        j->length = 0;
}

void console_journal_feed(ConsoleJournal *j, const void *p, size_t n, ConsoleLineHandler handler, void *userdata) {
        const uint8_t *b = p;

        for (size_t i = 0; i < n; i++) {
                uint8_t c = b[i];

                switch (j->escape) {
                case ESCAPE_START:
                        j->escape = c == '[' ? ESCAPE_CSI : c == ']' || c == 'P' ? ESCAPE_STRING : ESCAPE_NONE;
                        continue;
                case ESCAPE_CSI:
                        if (c >= 0x40 && c <= 0x7e)
                                j->escape = ESCAPE_NONE;
                        continue;
                case ESCAPE_STRING:
                        if (c == 0x07 || c == '\\')
                                j->escape = ESCAPE_NONE;
                        continue;
                default:
                        break;
                }

                if (c == 0x1b) {
                        j->escape = ESCAPE_START;
                        continue;
                }
                if (c == '\n') {
                        emit(j, handler, userdata);
                        continue;
                }
                /* Carriage returns end lines on a serial console; other controls mean nothing in text. */
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        continue;

                j->line[j->length++] = (char) c;
                if (j->length == CONSOLE_LINE_MAX - 1)
                        emit(j, handler, userdata);
        }
}

void console_journal_flush(ConsoleJournal *j, ConsoleLineHandler handler, void *userdata) {
        if (j->length > 0)
                emit(j, handler, userdata);
        j->escape = ESCAPE_NONE;
}

bool console_line_is_poweroff(const char *line, size_t length) {
        static const char *const last_words[] = { "reboot: Power down", "reboot: System halted" };
        size_t start = 0;

        /* "[    4.123456] " when the kernel prints times. */
        if (length > 0 && line[0] == '[') {
                const char *end = memchr(line, ']', length);

                if (!end)
                        return false;
                start = (size_t) (end - line) + 1;
                while (start < length && line[start] == ' ')
                        start++;
        }
        while (length > start && IN_SET(line[length - 1], '\r', '\n', ' '))
                length--;
        for (size_t i = 0; i < ELEMENTSOF(last_words); i++)
                if (length - start == strlen(last_words[i]) && memcmp(line + start, last_words[i], length - start) == 0)
                        return true;
        return false;
}
