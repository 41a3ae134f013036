/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NoCloud seeds: libblkid sees an iso9660 filesystem labelled "cidata"; libisofs reads the files
 * back, with their lower-case names, through Rock Ridge and through Joliet; a seed is rewritten
 * only when its inputs change; bad input and failed writes leave nothing behind; instance ids
 * are stable. Also prints how long a seed with 64 KiB of user-data takes to build. */

#include <blkid/blkid.h>
#include <criterion/criterion.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

/* After the headers it uses but does not include. */
#include <libisofs/libisofs.h>

#include "cloud-init.h"
#include "test-util.h"

#define KIB 1024

static char *dir;

static void setup(void) {
        dir = tmpdir_new();
}

static void teardown(void) {
        dir = tmpdir_free(dir);
}

TestSuite(cloud_init, .init = setup, .fini = teardown);

static char *at(const char *name) {
        return g_build_filename(dir, name, NULL);
}

/* size bytes of cloud-config: numbered comment lines, so that no two blocks are alike (g_free). */
static char *user_data_of_size(size_t size) {
        GString *s = g_string_new("#cloud-config\n");

        for (unsigned line = 0; s->len < size; line++)
                g_string_append_printf(s, "# line %u of the padding that makes this seed big enough\n", line);
        g_string_truncate(s, size - 1);
        g_string_append_c(s, '\n');
        return g_string_free(s, FALSE);
}

/* blkid's TYPE and LABEL of path, as a superblock probe sees them (g_free). */
static void probe(const char *path, const char *name, char **ret_type, char **ret_label) {
        blkid_probe pr = blkid_new_probe_from_filename(path);
        const char *type = NULL, *label = NULL;

        cr_assert_not_null(pr, "%s: blkid_new_probe_from_filename: %m", name);
        cr_assert_eq(blkid_probe_enable_superblocks(pr, 1), 0, "%s", name);
        cr_assert_eq(blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL), 0, "%s", name);
        cr_assert_eq(blkid_do_safeprobe(pr), 0, "%s: blkid finds one filesystem", name);
        (void) blkid_probe_lookup_value(pr, "TYPE", &type, NULL);
        (void) blkid_probe_lookup_value(pr, "LABEL", &label, NULL);
        *ret_type = g_strdup(type);
        *ret_label = g_strdup(label);
        blkid_free_probe(pr);
}

typedef struct IsoRead {
        GHashTable *files;      /* name → GBytes */
        char *names;            /* sorted, space-separated */
        char *volume_id;
        bool rock_ridge;
        bool joliet;
} IsoRead;

static void iso_read_done(IsoRead *r) {
        g_clear_pointer(&r->files, g_hash_table_unref);
        g_clear_pointer(&r->names, g_free);
        g_clear_pointer(&r->volume_id, g_free);
}

static GBytes *iso_file_read(IsoFile *file, const char *name) {
        IsoStream *stream = iso_file_get_stream(file);
        GByteArray *out = g_byte_array_new();
        unsigned char buf[4096];
        int k;

        cr_assert_eq(iso_stream_open(stream), 1, "%s: iso_stream_open", name);
        while ((k = iso_stream_read(stream, buf, sizeof(buf))) > 0)
                g_byte_array_append(out, buf, (guint) k);
        cr_assert_eq(k, 0, "%s: iso_stream_read: %s", name, iso_error_to_msg(k));
        cr_assert_eq(iso_stream_close(stream), 1, "%s: iso_stream_close", name);
        return g_byte_array_free_to_bytes(out);
}

static int compare_name(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Imports the image at path with libisofs and reads every file in its root: with Rock Ridge's
 * names, or, with joliet_only, with Joliet's names. */
static IsoRead iso_read(const char *path, bool joliet_only, const char *name) {
        IsoRead r = {
                .files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref),
        };
        IsoImage *image = NULL;
        IsoDataSource *src = NULL;
        IsoReadOpts *opts = NULL;
        IsoReadImageFeatures *features = NULL;
        IsoDirIter *iter = NULL;
        IsoNode *node;
        GPtrArray *names = g_ptr_array_new();
        int e;

        cr_assert_eq(iso_init_with_flag(1), 1, "%s: iso_init", name);
        cr_assert_eq(iso_image_new("reader", &image), 1, "%s: iso_image_new", name);
        e = iso_data_source_new_from_file(path, &src);
        cr_assert_eq(e, 1, "%s: iso_data_source_new_from_file: %s", name, iso_error_to_msg(e));
        cr_assert_eq(iso_read_opts_new(&opts, 0), 1, "%s: iso_read_opts_new", name);
        if (joliet_only)
                cr_assert_eq(iso_read_opts_set_no_rockridge(opts, 1), 1, "%s", name);
        e = iso_image_import(image, src, opts, &features);
        cr_assert_eq(e, 1, "%s: iso_image_import: %s", name, iso_error_to_msg(e));

        r.rock_ridge = iso_read_image_features_has_rockridge(features);
        r.joliet = iso_read_image_features_has_joliet(features);
        r.volume_id = g_strdup(iso_image_get_volume_id(image));

        cr_assert_eq(iso_dir_get_children(iso_image_get_root(image), &iter), 1, "%s", name);
        while (iso_dir_iter_next(iter, &node) == 1) {
                const char *n = iso_node_get_name(node);

                cr_expect(ISO_NODE_IS_FILE(node), "%s: '%s' is a regular file", name, n);
                if (!ISO_NODE_IS_FILE(node))
                        continue;
                g_hash_table_insert(r.files, g_strdup(n), iso_file_read((IsoFile *) node, name));
                g_ptr_array_add(names, g_strdup(n));
        }
        iso_dir_iter_free(iter);

        g_ptr_array_sort(names, compare_name);
        g_ptr_array_add(names, NULL);
        r.names = g_strjoinv(" ", (char **) names->pdata);
        g_strfreev((char **) g_ptr_array_free(names, FALSE));

        iso_read_image_features_destroy(features);
        iso_read_opts_free(opts);
        iso_data_source_unref(src);
        iso_image_unref(image);
        iso_finish();
        return r;
}

/* Expects file name in r to hold exactly expected (NULL: to be absent). */
static void expect_file(const IsoRead *r, const char *file, const char *expected, const char *name) {
        GBytes *got = g_hash_table_lookup(r->files, file);
        size_t size = 0;
        const char *data;

        if (!expected) {
                cr_expect_null(got, "%s: no %s", name, file);
                return;
        }
        cr_assert_not_null(got, "%s: %s present", name, file);
        data = g_bytes_get_data(got, &size);
        cr_expect_eq(size, strlen(expected), "%s: %s has %zu bytes, expected %zu", name, file, size,
                     strlen(expected));
        if (size == strlen(expected) && size > 0)
                cr_expect_arr_eq(data, expected, size, "%s: %s contents", name, file);
        if (size < 4 * KIB) {
                g_autofree char *text = g_strndup(data ?: "", size);

                expect_streq(text, expected, name);
        }
}

/* Writes seed to a new file, then checks what blkid and libisofs see in it. */
static void check_seed(const CloudInitSeed *seed, const char *user_data, const char *meta_data,
                       const char *network_config, const char *name) {
        g_autofree char *path = at(MVM_CLOUD_INIT_SEED_FILE), *type = NULL, *label = NULL, *listing = NULL;
        g_autofree char *names = g_strdup_printf("meta-data%s user-data", network_config ? " network-config" : "");
        struct stat st;

        cr_assert_eq(cloud_init_seed_write(seed, path), 1, "%s: written", name);
        cr_assert_eq(stat(path, &st), 0, "%s: %m", name);
        cr_expect_eq(st.st_mode & 07777, MVM_CLOUD_INIT_SEED_MODE, "%s: mode %o", name, st.st_mode & 07777);
        listing = dir_list(dir);
        expect_streq(listing, MVM_CLOUD_INIT_SEED_FILE, name);

        probe(path, name, &type, &label);
        expect_streq(type, "iso9660", name);
        expect_streq(label, MVM_CLOUD_INIT_VOLUME_ID, name);

        for (int joliet_only = 0; joliet_only <= 1; joliet_only++) {
                g_autofree char *how = g_strdup_printf("%s (%s names)", name, joliet_only ? "Joliet" : "Rock Ridge");
                IsoRead r = iso_read(path, joliet_only, how);

                cr_expect(r.rock_ridge, "%s: Rock Ridge present", how);
                cr_expect(r.joliet, "%s: Joliet present", how);
                expect_streq(r.volume_id, MVM_CLOUD_INIT_VOLUME_ID, how);
                expect_streq(r.names, names, how);
                expect_file(&r, "user-data", user_data, how);
                expect_file(&r, "meta-data", meta_data, how);
                expect_file(&r, "network-config", network_config, how);
                iso_read_done(&r);
        }

        cr_assert_eq(unlink(path), 0);
}

Test(cloud_init, contents) {
        static const struct {
                const char *name;
                CloudInitSeed seed;
                const char *user_data, *meta_data, *network_config;     /* expected; NULL: absent */
        } cases[] = {
                { "defaults",
                  { .instance_id = "iid-1", .local_hostname = "web" },
                  "#cloud-config\n", "instance-id: \"iid-1\"\nlocal-hostname: \"web\"\n", NULL },
                { "no hostname",
                  { .instance_id = "iid-1" },
                  "#cloud-config\n", "instance-id: \"iid-1\"\n", NULL },
                { "all three given",
                  { .user_data = "#cloud-config\npackages: [htop]\n",
                    .meta_data = "instance-id: given\n",
                    .network_config = "version: 2\nethernets: {}\n",
                    .instance_id = "ignored", .local_hostname = "ignored" },
                  "#cloud-config\npackages: [htop]\n", "instance-id: given\n", "version: 2\nethernets: {}\n" },
                { "empty files",
                  { .user_data = "", .meta_data = "", .network_config = "" },
                  "", "", "" },
                { "script user-data, generated meta-data",
                  { .user_data = "#!/bin/sh\necho hi\n", .network_config = "version: 1\n",
                    .instance_id = "iid-microvm-0123456789abcdef", .local_hostname = "db.example.com" },
                  "#!/bin/sh\necho hi\n",
                  "instance-id: \"iid-microvm-0123456789abcdef\"\nlocal-hostname: \"db.example.com\"\n",
                  "version: 1\n" },
                { "quotes and backslashes quoted",
                  { .instance_id = "a\"b\\c", .local_hostname = "h: x # y" },
                  "#cloud-config\n", "instance-id: \"a\\\"b\\\\c\"\nlocal-hostname: \"h: x # y\"\n", NULL },
                { "UTF-8 kept",
                  { .instance_id = "caf\xc3\xa9", .local_hostname = "h\xc3\xb6st" },
                  "#cloud-config\n", "instance-id: \"caf\xc3\xa9\"\nlocal-hostname: \"h\xc3\xb6st\"\n", NULL },
                { "binary-looking user-data bytes",
                  { .user_data = "\x01\x02\xff\xfe\n", .instance_id = "x" },
                  "\x01\x02\xff\xfe\n", "instance-id: \"x\"\n", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_seed(&cases[i].seed, cases[i].user_data, cases[i].meta_data, cases[i].network_config,
                           cases[i].name);
}

static double now_ms(void) {
        struct timespec ts;

        cr_assert_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

Test(cloud_init, large_user_data) {
        g_autofree char *user_data = user_data_of_size(64 * KIB);
        CloudInitSeed seed = { .user_data = user_data, .instance_id = "iid-big", .local_hostname = "big" };

        cr_assert_eq(strlen(user_data), 64 * KIB);
        check_seed(&seed, user_data, "instance-id: \"iid-big\"\nlocal-hostname: \"big\"\n", NULL, "64 KiB user-data");
}

/* Not asserted: the target is 20 ms for a seed with 64 KiB of user-data. Each run changes the
 * instance id, so that every one is a full build and write. */
Test(cloud_init, build_time) {
        g_autofree char *user_data = user_data_of_size(64 * KIB), *path = at(MVM_CLOUD_INIT_SEED_FILE);
        double build[21], check[21];
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(build); i++) {
                g_autofree char *id = g_strdup_printf("iid-%zu", i);
                CloudInitSeed seed = { .user_data = user_data, .instance_id = id, .local_hostname = "bench" };
                double t;

                t = now_ms();
                cr_assert_eq(cloud_init_seed_write(&seed, path), 1, "run %zu: written", i);
                build[i] = now_ms() - t;

                t = now_ms();
                cr_assert_eq(cloud_init_seed_write(&seed, path), 0, "run %zu: unchanged", i);
                check[i] = now_ms() - t;
        }
        cr_assert_eq(stat(path, &st), 0);

        qsort(build, ELEMENTSOF(build), sizeof(double), compare_double);
        qsort(check, ELEMENTSOF(check), sizeof(double), compare_double);
        fprintf(stderr, "cloud-init seed, 64 KiB user-data, %jd-byte ISO, %zu runs: "
                "build+write median %.2f ms (min %.2f, max %.2f; target <= 20 ms), "
                "unchanged check median %.2f ms\n",
                (intmax_t) st.st_size, ELEMENTSOF(build), build[ELEMENTSOF(build) / 2], build[0],
                build[ELEMENTSOF(build) - 1], check[ELEMENTSOF(check) / 2]);
}

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Each case changes one input of the seed before it; each must rebuild, and only once. */
Test(cloud_init, rebuilt_only_on_change) {
        static const struct {
                const char *name;
                CloudInitSeed seed;
        } cases[] = {
                { "first",                   { .instance_id = "i", .local_hostname = "h" } },
                { "user-data given",         { .user_data = "#", .instance_id = "i", .local_hostname = "h" } },
                { "user-data changed",       { .user_data = "##", .instance_id = "i", .local_hostname = "h" } },
                { "instance id changed",     { .user_data = "##", .instance_id = "j", .local_hostname = "h" } },
                { "hostname changed",        { .user_data = "##", .instance_id = "j", .local_hostname = "g" } },
                { "hostname dropped",        { .user_data = "##", .instance_id = "j" } },
                { "network-config added",    { .user_data = "##", .instance_id = "j", .network_config = "v" } },
                { "network-config emptied",  { .user_data = "##", .instance_id = "j", .network_config = "" } },
                { "network-config dropped",  { .user_data = "##", .instance_id = "j" } },
                { "meta-data given",         { .user_data = "##", .meta_data = "instance-id: k\n" } },
                /* The same bytes in all, split differently between the files. */
                { "a byte moved from user-data to meta-data",
                                             { .user_data = "#", .meta_data = "#instance-id: k\n" } },
        };
        g_autofree char *path = at(MVM_CLOUD_INIT_SEED_FILE);
        struct stat before, after;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *listing = NULL;

                cr_expect_eq(cloud_init_seed_write(&cases[i].seed, path), 1, "%s: rebuilt", cases[i].name);
                cr_assert_eq(stat(path, &before), 0, "%s: %m", cases[i].name);
                if (i > 0)
                        cr_expect(!same_file(&before, &after), "%s: a new file", cases[i].name);

                /* Time stamps are in nanoseconds, but a coarse clock could still hide a rewrite. */
                usleep(10 * 1000);
                cr_expect_eq(cloud_init_seed_write(&cases[i].seed, path), 0, "%s: again: unchanged", cases[i].name);
                cr_assert_eq(stat(path, &after), 0, "%s: %m", cases[i].name);
                cr_expect(same_file(&before, &after), "%s: again: not rewritten (inode, mtime)", cases[i].name);

                listing = dir_list(dir);
                expect_streq(listing, MVM_CLOUD_INIT_SEED_FILE, cases[i].name);
        }
}

/* The generated meta-data and the same text given as meta-data make the same files, the same
 * seed: nothing to rebuild. */
Test(cloud_init, generated_equals_given) {
        CloudInitSeed generated = { .instance_id = "i", .local_hostname = "h" };
        CloudInitSeed given = { .meta_data = "instance-id: \"i\"\nlocal-hostname: \"h\"\n" };
        g_autofree char *path = at(MVM_CLOUD_INIT_SEED_FILE);

        cr_expect_eq(cloud_init_seed_write(&generated, path), 1, "generated");
        cr_expect_eq(cloud_init_seed_write(&given, path), 0, "given, same text");
}

/* Whatever is at the path and is not this seed is replaced. */
Test(cloud_init, replaces_other_files) {
        static const struct {
                const char *name;
                const char *contents;
                size_t size;
        } cases[] = {
                { "empty file", "", 0 },
                { "text", "not an ISO\n", 11 },
                { "zeros, 64 KiB", NULL, 64 * KIB },
        };
        CloudInitSeed seed = { .instance_id = "i" };
        g_autofree char *path = at(MVM_CLOUD_INIT_SEED_FILE);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *zeros = g_malloc0(cases[i].size), *type = NULL, *label = NULL;

                file_write(path, cases[i].contents ?: zeros, cases[i].size);
                cr_expect_eq(cloud_init_seed_write(&seed, path), 1, "%s: replaced", cases[i].name);
                probe(path, cases[i].name, &type, &label);
                expect_streq(type, "iso9660", cases[i].name);
                expect_streq(label, MVM_CLOUD_INIT_VOLUME_ID, cases[i].name);
        }
}

Test(cloud_init, bad_input) {
        static const struct {
                const char *name;
                CloudInitSeed seed;
        } cases[] = {
                { "nothing to make meta-data from", { .user_data = "#cloud-config\n" } },
                { "only a hostname",                { .local_hostname = "h" } },
                { "empty instance id",              { .instance_id = "" } },
                { "empty hostname",                 { .instance_id = "i", .local_hostname = "" } },
                { "newline in instance id",         { .instance_id = "i\nlocal-hostname: x" } },
                { "tab in hostname",                { .instance_id = "i", .local_hostname = "a\tb" } },
                { "DEL in instance id",             { .instance_id = "i\x7f" } },
                { "C1 control in hostname",         { .instance_id = "i", .local_hostname = "a\xc2\x85" } },
                { "not UTF-8",                      { .instance_id = "\xff\xfe" } },
        };
        g_autofree char *path = at(MVM_CLOUD_INIT_SEED_FILE);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *listing = NULL;

                cr_expect_eq(cloud_init_seed_write(&cases[i].seed, path), -EINVAL, "%s", cases[i].name);
                listing = dir_list(dir);
                expect_streq(listing, "", cases[i].name);
        }
}

Test(cloud_init, missing_directory) {
        CloudInitSeed seed = { .instance_id = "i" };
        g_autofree char *path = at("missing/" MVM_CLOUD_INIT_SEED_FILE), *listing = NULL;

        cr_expect_eq(cloud_init_seed_write(&seed, path), -ENOENT, "missing directory");
        listing = dir_list(dir);
        expect_streq(listing, "", "missing directory: nothing created");
}

/* The rename fails after the temporary file was written: it must be removed again. */
Test(cloud_init, target_is_directory) {
        CloudInitSeed seed = { .instance_id = "i" };
        g_autofree char *path = at(MVM_CLOUD_INIT_SEED_FILE), *listing = NULL, *inside = NULL;

        cr_assert_eq(mkdir(path, 0755), 0);
        cr_expect_eq(cloud_init_seed_write(&seed, path), -EISDIR, "target is a directory");
        listing = dir_list(dir);
        expect_streq(listing, MVM_CLOUD_INIT_SEED_FILE, "target is a directory: no temporary file left");
        inside = dir_list(path);
        expect_streq(inside, "", "target is a directory: left as it was");
}

/* Root writes anywhere, so the write is tried by an unprivileged child (nobody when root). Once
 * with no seed there, once with an old one that must stay as it was. */
Test(cloud_init, unwritable_directory) {
        static const struct {
                const char *name;
                bool old_seed;
        } cases[] = {
                { "no seed yet", false },
                { "old seed kept", true },
        };
        g_autofree char *ro = at("ro"), *path = at("ro/" MVM_CLOUD_INIT_SEED_FILE);
        CloudInitSeed old = { .instance_id = "old" }, seed = { .instance_id = "new" };

        cr_assert_eq(chmod(dir, 0755), 0);
        cr_assert_eq(mkdir(ro, 0755), 0);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *listing = NULL;
                struct stat before = {}, after = {};
                int status;
                pid_t pid;

                cr_assert_eq(chmod(ro, 0755), 0);
                if (cases[i].old_seed) {
                        cr_assert_eq(cloud_init_seed_write(&old, path), 1, "%s: old seed", cases[i].name);
                        /* Readable, so that the child gets as far as comparing and building. */
                        cr_assert_eq(chmod(path, 0644), 0);
                        cr_assert_eq(stat(path, &before), 0);
                }
                cr_assert_eq(chmod(ro, 0555), 0);

                /* The child reports by its exit status alone: an assertion there would talk to the
                 * test runner over the parent's channel. */
                pid = fork();
                if (pid == 0) {
                        if (geteuid() == 0) {
                                struct passwd *nobody = getpwnam("nobody");
                                uid_t uid = nobody ? nobody->pw_uid : 65534;
                                gid_t gid = nobody ? nobody->pw_gid : 65534;

                                if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
                                    setresuid(uid, uid, uid) < 0)
                                        _exit(100);
                        }
                        _exit(-cloud_init_seed_write(&seed, path));
                }
                cr_assert_geq(pid, 0, "fork: %m");
                cr_assert_eq(waitpid(pid, &status, 0), pid);
                cr_assert(WIFEXITED(status), "%s: the child exited", cases[i].name);
                cr_expect_eq(WEXITSTATUS(status), EACCES, "%s: %s", cases[i].name, strerror(WEXITSTATUS(status)));

                listing = dir_list(ro);
                expect_streq(listing, cases[i].old_seed ? MVM_CLOUD_INIT_SEED_FILE : "", cases[i].name);
                if (cases[i].old_seed) {
                        cr_assert_eq(stat(path, &after), 0);
                        cr_expect(same_file(&before, &after), "%s: old seed untouched", cases[i].name);
                }
        }
        cr_assert_eq(chmod(ro, 0755), 0);
}

Test(cloud_init, instance_id) {
        static const char *const names[] = {
                "web", "web2", "Web", "db", "a", "_", "x.y", "x-y", "x_y",
                "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl",
        };
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        _cleanup_free_ char *web = NULL;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *again = NULL;
                char *id = NULL;

                cr_assert_eq(cloud_init_instance_id(names[i], &id), 0, "%s", names[i]);
                cr_expect(g_str_has_prefix(id, "iid-microvm-"), "%s: '%s'", names[i], id);
                cr_expect_eq(strlen(id), strlen("iid-microvm-") + 16, "%s: '%s'", names[i], id);
                cr_expect_eq(strspn(id + strlen("iid-microvm-"), "0123456789abcdef"), 16, "%s: '%s'", names[i], id);

                cr_assert_eq(cloud_init_instance_id(names[i], &again), 0, "%s", names[i]);
                expect_streq(again, id, names[i]);

                cr_expect(!g_hash_table_contains(seen, id), "%s: '%s' distinct", names[i], id);
                g_hash_table_add(seen, id);
        }

        /* Pinned: a new value would make cloud-init in every existing VM run its first boot again. */
        cr_assert_eq(cloud_init_instance_id("web", &web), 0);
        expect_streq(web, "iid-microvm-4b5e57f6eb2f42b9", "web, pinned");
}
