/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fsync() in a thread, reported on the loop: files and a directory, a path that fails, and a
 * caller that gives up before the report. */

#include <criterion/criterion.h>
#include <glib.h>

#include "fsync-async.h"
#include "strv.h"
#include "test-util.h"

typedef struct Result {
        int calls;
        int error;
} Result;

static void on_done(int error, void *userdata) {
        Result *res = userdata;

        res->calls++;
        res->error = error;
}

/* Runs the loop until the report came, at most 5 s. */
static void run_until_done(sd_event *e, Result *res) {
        for (int i = 0; i < 500 && res->calls == 0; i++)
                cr_assert_geq(sd_event_run(e, 10000), 0);
}

Test(fsync_async, files_and_directory) {
        g_autofree char *dir = tmpdir_new(), *a = g_build_filename(dir, "a", NULL), *b = g_build_filename(dir, "b", NULL);
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        sd_event_source *s = NULL;
        Result res = {};

        cr_assert(g_file_set_contents(a, "state", -1, NULL));
        cr_assert(g_file_set_contents(b, "memory", -1, NULL));
        cr_assert_geq(sd_event_new(&e), 0);
        cr_assert_eq(fsync_paths_async(e, STRV_MAKE(a, b, dir), on_done, &res, &s), 0);
        run_until_done(e, &res);
        cr_expect_eq(res.calls, 1);
        cr_expect_eq(res.error, 0);
        sd_event_source_disable_unref(s);
        dir = tmpdir_free(dir);
}

Test(fsync_async, missing_file) {
        g_autofree char *dir = tmpdir_new(), *a = g_build_filename(dir, "a", NULL), *gone = g_build_filename(dir, "gone", NULL);
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        sd_event_source *s = NULL;
        Result res = {};

        cr_assert(g_file_set_contents(a, "state", -1, NULL));
        cr_assert_geq(sd_event_new(&e), 0);
        cr_assert_eq(fsync_paths_async(e, STRV_MAKE(a, gone), on_done, &res, &s), 0);
        run_until_done(e, &res);
        cr_expect_eq(res.calls, 1);
        cr_expect_eq(res.error, ENOENT);
        sd_event_source_disable_unref(s);
        dir = tmpdir_free(dir);
}

/* Given up: never called, and the thread finishes on its own. */
Test(fsync_async, given_up) {
        g_autofree char *dir = tmpdir_new();
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        sd_event_source *s = NULL;
        Result res = {};

        cr_assert_geq(sd_event_new(&e), 0);
        cr_assert_eq(fsync_paths_async(e, STRV_MAKE(dir), on_done, &res, &s), 0);
        sd_event_source_disable_unref(s);
        for (int i = 0; i < 20; i++)
                cr_assert_geq(sd_event_run(e, 10000), 0);
        cr_expect_eq(res.calls, 0);
        /* The thread's report went nowhere; give it time to end before the test's leak check. */
        g_usleep(100000);
        dir = tmpdir_free(dir);
}
