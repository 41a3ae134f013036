/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The escape from a console session: three ^] within a second. */

#include <string.h>

#include "console-escape.h"

static bool console_escape_expired(const ConsoleEscape *e, uint64_t now_usec) {
        return e->held > 0 && now_usec - e->first_usec >= CONSOLE_ESCAPE_USEC;
}

/* Sends the held-back ^] after all: writes them to out, returns how many. */
static size_t console_escape_release(ConsoleEscape *e, char *out) {
        size_t n = e->held;

        memset(out, CONSOLE_ESCAPE_CHAR, n);
        e->held = 0;
        return n;
}

bool console_escape_feed(ConsoleEscape *e, const void *in, size_t n, uint64_t now_usec, void *out,
                         size_t *ret_n) {
        const unsigned char *p = in;
        char *o = out;
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                if (p[i] != CONSOLE_ESCAPE_CHAR) {
                        k += console_escape_release(e, o + k);
                        o[k++] = (char) p[i];
                        continue;
                }

                /* A ^] after the second of the first one starts the count anew. */
                if (console_escape_expired(e, now_usec))
                        k += console_escape_release(e, o + k);
                if (e->held == 0)
                        e->first_usec = now_usec;
                if (++e->held == CONSOLE_ESCAPE_COUNT) {
                        e->held = 0;
                        *ret_n = k;
                        return true;
                }
        }

        *ret_n = k;
        return false;
}

uint64_t console_escape_deadline(const ConsoleEscape *e) {
        return e->held > 0 ? e->first_usec + CONSOLE_ESCAPE_USEC : UINT64_MAX;
}

size_t console_escape_expire(ConsoleEscape *e, uint64_t now_usec, void *out) {
        if (!console_escape_expired(e, now_usec))
                return 0;
        return console_escape_release(e, out);
}
