/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Choosing the accelerator: "tcg" never probes, "auto" and "kvm" follow the cached verdict of
 * the KVM probe, a cache that is missing or not ours is no verdict, and the measured TSC rate
 * agrees with the kernel's. */

#include <criterion/criterion.h>
#include <inttypes.h>

#include "accel.h"
#include "test-util.h"

/* A scratch directory per test, which the fixture removes even when an assertion ends the test. */
static char *dir;

static void setup(void) {
        dir = tmpdir_new();
}

static void teardown(void) {
        dir = tmpdir_free(dir);
}

TestSuite(accel, .init = setup, .fini = teardown);

#define REASON "/dev/kvm exists but the CPU advertises no hardware virtualization"

static const struct {
        const char *name;
        const char *cache;              /* the cache file's contents; NULL: no cache file */
        const char *setting;
        int r;
        Accelerator accelerator;        /* when r >= 0 */
        const char *reason;
} resolves[] = {
        /* Configured TCG needs no verdict, whatever the cache says. */
        { "tcg, no cache", NULL, "tcg", 0, ACCELERATOR_TCG, "tcg, as configured" },
        { "tcg, cache says tcg", "tcg " REASON "\n", "tcg", 0, ACCELERATOR_TCG, "tcg, as configured" },
        { "tcg, cache says kvm", "kvm KVM ran a test guest\n", "tcg", 0, ACCELERATOR_TCG,
          "tcg, as configured" },
        { "tcg, garbage cache", "garbage", "tcg", 0, ACCELERATOR_TCG, "tcg, as configured" },
        /* KVM unusable: auto falls back, kvm fails with the reason. */
        { "auto, cache says tcg", "tcg " REASON "\n", "auto", 0, ACCELERATOR_TCG,
          "tcg, chosen automatically: " REASON },
        { "kvm, cache says tcg", "tcg " REASON "\n", "kvm", -EOPNOTSUPP, _ACCELERATOR_INVALID, REASON },
        { "auto, cache says tcg, no newline", "tcg " REASON, "auto", 0, ACCELERATOR_TCG,
          "tcg, chosen automatically: " REASON },
        /* KVM usable. */
        { "auto, cache says kvm", "kvm KVM ran a test guest\n", "auto", 0, ACCELERATOR_KVM,
          "kvm, chosen automatically: KVM ran a test guest" },
        { "kvm, cache says kvm", "kvm KVM ran a test guest\n", "kvm", 0, ACCELERATOR_KVM,
          "kvm, as configured (KVM ran a test guest)" },
        /* Only the first line counts. */
        { "auto, two lines", "kvm KVM ran a test guest\ntcg later\n", "auto", 0, ACCELERATOR_KVM,
          "kvm, chosen automatically: KVM ran a test guest" },
};

Test(accel, resolve_from_cache) {
        g_autofree char *cache = g_build_filename(dir, "kvm-probe", NULL);

        for (size_t i = 0; i < ELEMENTSOF(resolves); i++) {
                const char *name = resolves[i].name;
                _cleanup_free_ char *reason = NULL;
                g_autofree char *after = NULL;
                Accelerator a = _ACCELERATOR_INVALID;
                int r;

                if (resolves[i].cache)
                        file_write(cache, resolves[i].cache, strlen(resolves[i].cache));
                else
                        cr_assert(unlink(cache) == 0 || errno == ENOENT, "%s: %m", cache);

                r = accelerator_resolve(resolves[i].setting, cache, &a, &reason);
                cr_expect_eq(r, resolves[i].r, "%s: returned %d (%s), expected %d", name, r, strerror(-r),
                             resolves[i].r);
                cr_expect_eq(a, resolves[i].accelerator, "%s: %s, expected %s", name,
                             strempty(accelerator_to_string(a)),
                             strempty(accelerator_to_string(resolves[i].accelerator)));
                expect_streq(reason, resolves[i].reason, name);

                /* A verdict, or a configured "tcg", is not probed again, so the cache stays as it was. */
                after = file_read(cache, NULL);
                expect_streq(after, resolves[i].cache, name);
        }
}

/* Without a cache "tcg" never probes: a probe would have written its verdict there. */
Test(accel, tcg_never_probes) {
        g_autofree char *cache = g_build_filename(dir, "kvm-probe", NULL), *left = NULL;
        _cleanup_free_ char *reason = NULL;
        Accelerator a = _ACCELERATOR_INVALID;

        cr_expect_eq(accelerator_resolve("tcg", cache, &a, &reason), 0);
        cr_expect_eq(a, ACCELERATOR_TCG);
        expect_streq(reason, "tcg, as configured", "the reason");
        left = dir_list(dir);
        expect_streq(left, "", "no cache file written");
}

/* With no verdict yet, "auto" probes once and caches what it found; the next resolve reads it. */
Test(accel, auto_probes_once) {
        g_autofree char *cache = g_build_filename(dir, "kvm-probe", NULL), *cached = NULL, *expected = NULL;
        g_autofree char *expected_reason = NULL;
        _cleanup_free_ char *reason = NULL, *again = NULL, *cache_reason = NULL;
        Accelerator a = _ACCELERATOR_INVALID, b = _ACCELERATOR_INVALID;
        int usable;

        cr_assert_eq(accelerator_resolve("auto", cache, &a, &reason), 0);
        cr_assert(a == ACCELERATOR_KVM || a == ACCELERATOR_TCG, "an accelerator, not %d", (int) a);

        usable = kvm_probe_read_cache(cache, &cache_reason);
        cr_assert_geq(usable, 0, "the probe's verdict is cached: %s", strerror(-usable));
        cr_expect_eq(usable, a == ACCELERATOR_KVM, "the cache says what was chosen");
        cached = file_read(cache, NULL);
        expected = g_strdup_printf("%s %s\n", accelerator_to_string(a), cache_reason);
        expect_streq(cached, expected, "the cache file");
        expected_reason = g_strdup_printf("%s, chosen automatically: %s", accelerator_to_string(a),
                                          cache_reason);
        expect_streq(reason, expected_reason, "the reason");

        cr_assert_eq(accelerator_resolve("auto", cache, &b, &again), 0);
        cr_expect_eq(b, a, "the same choice from the cache");
        expect_streq(again, reason, "the same reason from the cache");
}

Test(accel, read_cache) {
        static const struct {
                const char *name;
                const char *contents;   /* NULL: no file; see below for a directory */
                int r;
                const char *reason;
        } caches[] = {
                { "kvm", "kvm KVM ran a test guest\n", 1, "KVM ran a test guest" },
                { "tcg", "tcg " REASON "\n", 0, REASON },
                { "no newline", "tcg why", 0, "why" },
                { "first line only", "kvm one\ntwo\n", 1, "one" },
                { "missing", NULL, -ENOENT, NULL },
                { "a directory", "", -ENOENT, NULL },
                { "empty", "", -ENOENT, NULL },
                { "a newline", "\n", -ENOENT, NULL },
                { "verdict without reason", "kvm\n", -ENOENT, NULL },
                { "verdict and space only", "kvm ", -ENOENT, NULL },
                { "no space", "kvm:usable\n", -ENOENT, NULL },
                { "garbage", "garbage", -ENOENT, NULL },
                { "another word", "xen runs guests\n", -ENOENT, NULL },
                { "verdict in capitals", "KVM ran a test guest\n", -ENOENT, NULL },
                { "binary", "\x01\x02\x03\x04\x05\x06", -ENOENT, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(caches); i++) {
                g_autofree char *path = g_strdup_printf("%s/cache-%zu", dir, i);
                _cleanup_free_ char *reason = NULL;
                int r;

                if (streq(caches[i].name, "a directory"))
                        cr_assert_eq(mkdir(path, 0755), 0, "%s: %m", path);
                else if (caches[i].contents)
                        file_write(path, caches[i].contents, strlen(caches[i].contents));

                r = kvm_probe_read_cache(path, &reason);
                cr_expect_eq(r, caches[i].r, "%s: returned %d, expected %d", caches[i].name, r, caches[i].r);
                expect_streq(reason, caches[i].reason, caches[i].name);
        }
}

/* "cpu MHz" of the first processor in /proc/cpuinfo, in kHz; 0 if there is no such line. */
static uint64_t cpuinfo_khz(void) {
        g_autofree char *cpuinfo = file_read("/proc/cpuinfo", NULL);
        g_auto(GStrv) lines = NULL;

        cr_assert_not_null(cpuinfo, "/proc/cpuinfo: %m");
        lines = g_strsplit(cpuinfo, "\n", -1);
        for (size_t i = 0; lines[i]; i++) {
                g_auto(GStrv) kv = g_strsplit(lines[i], ":", 2);
                char *end = NULL;
                double mhz;

                if (!kv[0] || !kv[1] || !streq(g_strstrip(kv[0]), "cpu MHz"))
                        continue;
                mhz = g_ascii_strtod(g_strstrip(kv[1]), &end);
                cr_assert(end && *end == '\0' && mhz > 0, "/proc/cpuinfo: 'cpu MHz: %s'", kv[1]);
                return (uint64_t) (mhz * 1000 + 0.5);
        }
        return 0;
}

Test(accel, host_tsc_khz) {
        uint64_t khz = host_tsc_khz(), expected = cpuinfo_khz();

        cr_assert_gt(khz, 0, "the TSC rate was measured");
        if (expected == 0)
                cr_skip_test("/proc/cpuinfo has no 'cpu MHz' line to compare the measured %" PRIu64 " kHz with",
                             khz);
        cr_expect(khz * 100 >= expected * 99 && khz * 100 <= expected * 101,
                  "measured %" PRIu64 " kHz, /proc/cpuinfo's cpu MHz says %" PRIu64 " kHz: more than 1%% apart",
                  khz, expected);
}
