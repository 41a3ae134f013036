/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdint.h>

#include "console-journal.h"

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
