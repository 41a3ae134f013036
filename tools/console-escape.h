/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The key sequence that leaves a console session: ^] (0x1d) three times within a second, as in
 * machinectl. Pure: the caller reads the clock and moves the bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_ESCAPE_CHAR  0x1d
#define CONSOLE_ESCAPE_COUNT 3u
#define CONSOLE_ESCAPE_USEC  UINT64_C(1000000)

/* The ^] that might begin the escape are held back rather than sent: if the escape completes
 * they are dropped; if anything else is typed, or their second passes, they go out after all. */
typedef struct ConsoleEscape {
        unsigned held;          /* ^] held back, fewer than CONSOLE_ESCAPE_COUNT */
        uint64_t first_usec;    /* when the first of them was typed */
} ConsoleEscape;

/* Room that console_escape_feed() needs in out beyond the n bytes of input. */
#define CONSOLE_ESCAPE_EXTRA (CONSOLE_ESCAPE_COUNT - 1)

/* Filters n bytes typed at now_usec. Writes what is to reach the guest to out, which has room for
 * n + CONSOLE_ESCAPE_EXTRA bytes, and its length to *ret_n. Returns true when the input completes
 * the escape: out then holds what came before it, and what came after it is dropped. */
bool console_escape_feed(ConsoleEscape *e, const void *in, size_t n, uint64_t now_usec, void *out,
                         size_t *ret_n);

/* When held-back ^] are to be sent if nothing else comes; UINT64_MAX when none are held. */
uint64_t console_escape_deadline(const ConsoleEscape *e);

/* Once their second is over, writes the held-back ^] to out (room for CONSOLE_ESCAPE_EXTRA bytes)
 * and returns how many; 0 before that or when none are held. */
size_t console_escape_expire(ConsoleEscape *e, uint64_t now_usec, void *out);
