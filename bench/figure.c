/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Printing benchmark figures beside their targets and baselines, and their statistics. */

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "figure.h"

uint64_t now_nsec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * NSEC_PER_SEC + (uint64_t) ts.tv_nsec;
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

double median(double *v, size_t n) {
        assert(n > 0);
        qsort(v, n, sizeof(double), compare_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double quantile(double *v, size_t n, double q) {
        size_t i;

        assert(n > 0);
        qsort(v, n, sizeof(double), compare_double);
        i = (size_t) ceil(q * (double) n);
        return v[i > 0 ? i - 1 : 0];
}

static bool target_missed(const Figure *f, double value, double baseline) {
        switch (f->target_kind) {
        case TARGET_NONE:
                return false;
        case TARGET_AT_LEAST:
                return value < f->target;
        case TARGET_AT_MOST:
                return value > f->target;
        case TARGET_RATIO_AT_MOST:
                return baseline > 0 && value / baseline > f->target;
        }
        assert(false);
        return false;
}

void figure_print(FILE *summary, const Figure *f) {
        char target[64] = "none", baseline[64] = "none", ratio[32] = "-";
        const char *verdict = f->target_kind == TARGET_NONE ? "-" : "met";
        bool missed = target_missed(f, f->value, f->baseline);

        switch (f->target_kind) {
        case TARGET_NONE:
                break;
        case TARGET_AT_LEAST:
        case TARGET_AT_MOST:
                snprintf(target, sizeof(target), "%s %g %s", f->target_kind == TARGET_AT_LEAST ? ">=" : "<=",
                         f->target, f->unit);
                break;
        case TARGET_RATIO_AT_MOST:
                snprintf(target, sizeof(target), "ratio <= %g", f->target);
                break;
        }
        if (f->baseline > 0) {
                snprintf(baseline, sizeof(baseline), "%.*f %s", f->decimals, f->baseline, f->unit);
                /* A ratio target is judged on three decimals: 1.03 is a 3 % bound. */
                snprintf(ratio, sizeof(ratio), "%.*f", f->target_kind == TARGET_RATIO_AT_MOST ? 3 : 2,
                         f->value / f->baseline);
        }
        /* Only an absolute target can be missed by the baseline as well. */
        if (missed)
                verdict = f->target_kind != TARGET_RATIO_AT_MOST && f->baseline > 0 &&
                          target_missed(f, f->baseline, f->baseline) ? "MISSED, baseline too" : "MISSED";

        printf("%s: %.*f %s (target %s, baseline %s, ratio %s)%s%s\n", f->name, f->decimals, f->value, f->unit,
               target, baseline, ratio, missed ? " " : "", missed ? verdict : "");
        fflush(stdout);

        if (summary && (f->target_kind != TARGET_NONE || f->summary)) {
                fprintf(summary, "%s\t%.*f %s\t%s\t%s\t%s\n", f->name, f->decimals, f->value, f->unit, target,
                        baseline, verdict);
                fflush(summary);
        }
}
