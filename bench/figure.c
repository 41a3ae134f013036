/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Printing benchmark figures beside their targets and baselines, and their statistics. */

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "figure.h"
#include "macro.h"

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

/* xorshift64*: enough randomness for resampling, and the same sequence every run. */
static uint64_t next_random(uint64_t *state) {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        return *state * UINT64_C(2685821657736338717);
}

static double resampled_median(const double *v, size_t n, double *scratch, uint64_t *state) {
        for (size_t i = 0; i < n; i++)
                scratch[i] = v[next_random(state) % n];
        return median(scratch, n);
}

void median_interval(const double *a, size_t na, const double *b, size_t nb, bool ratio, double *ret_lo,
                     double *ret_hi) {
        enum { RESAMPLES = 2000 };
        _cleanup_free_ double *stats = calloc(RESAMPLES, sizeof(double)), *scratch = calloc(na + nb, sizeof(double));
        uint64_t state = UINT64_C(0x9e3779b97f4a7c15);

        assert(na > 0 && nb > 0);
        if (!stats || !scratch) {
                *ret_lo = -INFINITY;
                *ret_hi = INFINITY;
                return;
        }
        for (size_t i = 0; i < RESAMPLES; i++) {
                double x = resampled_median(a, na, scratch, &state), y = resampled_median(b, nb, scratch, &state);

                stats[i] = ratio ? x / y : x - y;
        }
        *ret_lo = quantile(stats, RESAMPLES, 0.025);
        *ret_hi = quantile(stats, RESAMPLES, 0.975);
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
        char target[64] = "none", baseline[64] = "none", ratio[32] = "-", interval[96] = "", noisy_verdict[64] = "";
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
        if (f->interval) {
                bool ratio_target = f->target_kind == TARGET_RATIO_AT_MOST;
                int decimals = ratio_target ? 3 : f->decimals;

                snprintf(interval, sizeof(interval), " [95 %% interval%s: %.*f to %.*f%s%s]",
                         ratio_target ? " of the ratio" : "", decimals, f->lo, decimals, f->hi,
                         ratio_target ? "" : " ", ratio_target ? "" : f->unit);
                /* The target lies within what the noise allows: the verdict could go either way. */
                if (f->target_kind != TARGET_NONE &&
                    target_missed(f, ratio_target ? f->lo * f->baseline : f->lo, f->baseline) !=
                    target_missed(f, ratio_target ? f->hi * f->baseline : f->hi, f->baseline))
                        snprintf(noisy_verdict, sizeof(noisy_verdict), "%s, within noise", verdict);
        }
        if (noisy_verdict[0])
                verdict = noisy_verdict;

        printf("%s: %.*f %s (target %s, baseline %s, ratio %s)%s%s%s\n", f->name, f->decimals, f->value, f->unit,
               target, baseline, ratio, interval, missed || noisy_verdict[0] ? " " : "",
               missed || noisy_verdict[0] ? verdict : "");
        fflush(stdout);

        if (summary && (f->target_kind != TARGET_NONE || f->summary)) {
                fprintf(summary, "%s\t%.*f %s\t%s\t%s\t%s\n", f->name, f->decimals, f->value, f->unit, target,
                        baseline, verdict);
                fflush(summary);
        }
}

int parse_count(const char *s, size_t min, size_t max, size_t *ret) {
        unsigned long long v;
        char *end;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
                return -EINVAL;
        *ret = (size_t) v;
        return 0;
}
