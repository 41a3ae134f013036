/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The log sink of microvm-agent for daemon/log.h: plain lines on stderr, which in the guest is the
 * console or the journal, each prefixed with the program's name. */

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int max_level = LOG_WARNING;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_internal(int level, int error, const char *format, ...) {
        static const char prefix[] = "microvm-agent: ";
        char line[1024];
        size_t n = sizeof(prefix) - 1;
        va_list ap;
        int saved = errno, k;

        memcpy(line, prefix, n);
        /* %m in the format prints the error we were given, not whatever errno holds. */
        errno = abs(error);
        va_start(ap, format);
        k = vsnprintf(line + n, sizeof(line) - n - 1, format, ap);
        va_end(ap);
        if (k > 0)
                n += (size_t) k < sizeof(line) - n - 1 ? (size_t) k : sizeof(line) - n - 2;
        line[n++] = '\n';
        /* One write per line, so that lines from the init on the same console stay whole. */
        (void) !write(STDERR_FILENO, line, n);
        errno = saved;
        return -abs(error);
}
