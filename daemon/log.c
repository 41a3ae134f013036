/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The log sink. The maximum level is process-wide, the one piece of state every module shares,
 * set once from argv or $MVM_LOG_LEVEL. */

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_internal(int level, int error, const char *format, ...) {
        va_list ap;
        int saved = errno;

        /* %m in the format prints the error we were given, not whatever errno holds. */
        errno = abs(error);
        fprintf(stderr, "<%i>", level);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        errno = saved;
        return -abs(error);
}
