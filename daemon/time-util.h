/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Clock readings in microseconds, the unit systemd and the bus API use. */
#pragma once

#include <stdint.h>
#include <time.h>

static inline uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}
