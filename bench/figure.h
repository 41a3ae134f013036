/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A benchmark figure, printed as "name: value unit (target X, baseline Y, ratio Z)" and, when it
 * has a target, appended as a row to bench/run's summary; and the statistics behind figures. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define NSEC_PER_USEC UINT64_C(1000)
#define NSEC_PER_MSEC UINT64_C(1000000)
#define NSEC_PER_SEC  UINT64_C(1000000000)

/* Milliseconds between two CLOCK_MONOTONIC readings in ns. */
static inline double ms_between(uint64_t from, uint64_t to) {
        return (double) (to - from) / (double) NSEC_PER_MSEC;
}

typedef enum TargetKind {
        TARGET_NONE,
        TARGET_AT_LEAST,        /* value >= target */
        TARGET_AT_MOST,         /* value <= target */
        TARGET_RATIO_AT_MOST,   /* value / baseline <= target */
} TargetKind;

typedef struct Figure {
        const char *name;
        double value;
        const char *unit;
        int decimals;
        TargetKind target_kind;
        double target;
        double baseline;        /* 0: none */
        bool summary;           /* a summary row even without a target */
        /* A 95 % interval of what is judged (the value, or value / baseline for a ratio target),
         * when it is a difference or ratio of medians of noisy samples: see median_interval(). */
        bool interval;
        double lo, hi;
} Figure;

/* Prints f to stdout and, if summary is not NULL and f has a target (or asks for a row), appends
 * "name\tvalue unit\ttarget\tbaseline\tverdict" to it. The verdict is "met", "MISSED", or
 * "MISSED, baseline too" when the baseline alone misses an absolute target as well; ", within
 * noise" is added when f's interval reaches across the target. */
void figure_print(FILE *summary, const Figure *f);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_nsec(void);

/* A decimal count from min to max for a command-line option; -EINVAL otherwise. */
int parse_count(const char *s, size_t min, size_t max, size_t *ret);

/* Sorts v. */
double median(double *v, size_t n);

/* Nearest rank: the smallest of v with at least q of them at or below it. Sorts v. */
double quantile(double *v, size_t n, double q);

/* A 95 % bootstrap interval of median(a) - median(b), or of median(a) / median(b) if ratio: 2000
 * resamples with a fixed seed, so that the same samples always give the same interval. */
void median_interval(const double *a, size_t na, const double *b, size_t nb, bool ratio, double *ret_lo,
                     double *ret_hi);
