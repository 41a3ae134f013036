/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest's serial output as journal entries of its VM's unit: cut into lines, with terminal
 * escape sequences and control characters taken out, so that "journalctl -u microvm@NAME" shows
 * the guest's boot as text. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CONSOLE_LINE_MAX 2048

typedef void (*ConsoleLineHandler)(const char *line, void *userdata);

typedef struct ConsoleJournal {
        char line[CONSOLE_LINE_MAX];
        size_t length;
        int escape;             /* where in an escape sequence the last byte left off */
} ConsoleJournal;

/* Feeds bytes; handler gets each complete line (without its end), and a line that grew to
 * CONSOLE_LINE_MAX - 1 characters as it is. */
void console_journal_feed(ConsoleJournal *j, const void *p, size_t n, ConsoleLineHandler handler, void *userdata);
/* Passes on what is left of an unfinished line. */
void console_journal_flush(ConsoleJournal *j, ConsoleLineHandler handler, void *userdata);

/* Whether a console line (as the journal has it, with or without the kernel's timestamp) is the
 * guest kernel's last: "reboot: Power down" or "reboot: System halted". */
bool console_line_is_poweroff(const char *line, size_t length);
