/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The disk benchmark's program (bench/disk runs it, after making the images). It times
 * daemon/disk.c's disk_probe() on each image against `blkid -p -o export` subprocesses and the same
 * libblkid calls in process, and cloud_init_seed_write() building a NoCloud seed with 64 KiB of
 * user-data against genisoimage run as cloud-localds runs it; each way is taken in turn, in a
 * rotating order, after an untimed round that also checks what each way found or made. */

#include <blkid/blkid.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cloud-init.h"
#include "disk.h"
#include "figure.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"

/* microvm's targets (bench/README.md). */
#define TARGET_SEED_MS          20.0
#define TARGET_PROBE_MS         2.0

#define USER_DATA_SIZE          (64 * 1024)
#define SEED_HOSTNAME           "bench"

extern char **environ;

typedef enum ImageKind {
        IMAGE_EXT4,
        IMAGE_GPT_EXT4,
        IMAGE_SQUASHFS,
        IMAGE_QCOW2,
        IMAGE_RAW_ZEROS,
        _IMAGE_KIND_MAX,
} ImageKind;

/* bench/disk makes each image as file; what each way must find in it. */
static const struct {
        const char *file;
        const char *label;
        DiskFormat format;
        const char *fs_type;            /* disk_probe()'s fs.type */
        const char *partition_table;
        const char *root_fs_type;
        const char *blkid_line;         /* in blkid -p -o export's output; NULL: it finds nothing */
} image_table[_IMAGE_KIND_MAX] = {
        [IMAGE_EXT4] = { "ext4.img", "ext4", DISK_FORMAT_RAW, "ext4", NULL, NULL, "TYPE=ext4" },
        [IMAGE_GPT_EXT4] = { "gpt-ext4.img", "GPT + ext4", DISK_FORMAT_RAW, NULL, "gpt", "ext4", "PTTYPE=gpt" },
        [IMAGE_SQUASHFS] = { "squashfs.img", "squashfs", DISK_FORMAT_RAW, "squashfs", NULL, NULL, "TYPE=squashfs" },
        [IMAGE_QCOW2] = { "qcow2.img", "qcow2", DISK_FORMAT_QCOW2, NULL, NULL, NULL, NULL },
        [IMAGE_RAW_ZEROS] = { "raw-zeros.img", "raw zeros", DISK_FORMAT_RAW, NULL, NULL, NULL, NULL },
};

typedef enum ProbeWay {
        PROBE_MICROVM,          /* disk_probe() */
        PROBE_BLKID,            /* blkid -p -o export, a subprocess */
        PROBE_LIBBLKID,         /* what blkid -p does, in process */
        _PROBE_WAY_MAX,
} ProbeWay;

static const char *const probe_way_label[_PROBE_WAY_MAX] = {
        [PROBE_MICROVM] = "disk_probe",
        [PROBE_BLKID] = "blkid -p",
        [PROBE_LIBBLKID] = "libblkid in process as blkid -p",
};

typedef enum SeedWay {
        SEED_MICROVM,           /* cloud_init_seed_write() to a new path */
        SEED_MICROVM_REBUILD,   /* the same over a seed of other contents */
        SEED_MICROVM_CURRENT,   /* the same over a seed of these contents: nothing written */
        SEED_GENISOIMAGE,       /* as cloud-localds: a subprocess, no fsync */
        SEED_GENISOIMAGE_FSYNC, /* that, then fsync of the file and its directory, as microvm does */
        SEED_DURABLE_WRITE,     /* write_file_atomic() of as many bytes as microvm's seed, alone */
        _SEED_WAY_MAX,
} SeedWay;

static const char *const seed_way_label[_SEED_WAY_MAX] = {
        [SEED_MICROVM] = "cloud_init_seed_write to a new path",
        [SEED_MICROVM_REBUILD] = "over an older seed",
        [SEED_MICROVM_CURRENT] = "up to date (nothing written)",
        [SEED_GENISOIMAGE] = "genisoimage",
        [SEED_GENISOIMAGE_FSYNC] = "genisoimage, then fsync",
        [SEED_DURABLE_WRITE] = "a durable write of the seed's bytes alone",
};

typedef struct Options {
        size_t probes;
        size_t seeds;
        const char *images;     /* the directory bench/disk made the images in */
        const char *seed_dir;   /* an empty directory on the disk, for the seeds */
        const char *blkid;
        const char *genisoimage;
        const char *summary;    /* where the summary rows are appended, or NULL */
} Options;

typedef struct Bench {
        Options opt;
        char *image_paths[_IMAGE_KIND_MAX];
        double *probe_ms[_IMAGE_KIND_MAX][_PROBE_WAY_MAX];
        double *seed_ms[_SEED_WAY_MAX];
        char *user_data;        /* USER_DATA_SIZE bytes, a tag in it changed run by run */
        char *tag;              /* borrowed: where in user_data */
        char *instance_id;
        char *meta_data;        /* what cloud_init_seed_write() generates, for genisoimage */
        char *input_dir;        /* genisoimage's input files */
        char *seed_bytes;       /* as many bytes as microvm's seed, for the durable write */
        size_t seed_size;
        FILE *summary;
} Bench;

static inline blkid_probe blkid_free_probe_null(blkid_probe pr) {
        blkid_free_probe(pr);
        return NULL;
}
DEFINE_CLEANUP(blkid_probe, blkid_free_probe_null);

static double elapsed_ms(uint64_t t0) {
        return (double) (now_nsec() - t0) / (double) NSEC_PER_MSEC;
}

static void command_line(char *const argv[], char *buf, size_t size) {
        buf[0] = '\0';
        for (size_t i = 0, n = 0; argv[i] && n < size; i++)
                n += (size_t) snprintf(buf + n, size - n, "%s%s", i > 0 ? " " : "", argv[i]);
}

/* Runs path with argv, stdin and stderr on /dev/null; its stdout read into out (NUL-terminated,
 * cut at out_size - 1), or on /dev/null if out is NULL. Returns its exit status, or -errno. */
static int tool_run(const char *path, char *const argv[], char *out, size_t out_size) {
        posix_spawn_file_actions_t actions;
        _cleanup_close_ int rd = -EBADF, wr = -EBADF;
        size_t n = 0;
        pid_t pid;
        int r, status;

        if (out) {
                int fds[2];

                if (pipe2(fds, O_CLOEXEC) < 0)
                        return log_error_errno(errno, "Failed to make a pipe: %m");
                rd = fds[0];
                wr = fds[1];
        }
        r = posix_spawn_file_actions_init(&actions);
        if (r != 0)
                return log_error_errno(r, "Failed to set up a spawn: %m");
        r = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = out ? posix_spawn_file_actions_adddup2(&actions, wr, STDOUT_FILENO)
                        : posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0)
                r = posix_spawn(&pid, path, &actions, NULL, argv, environ);
        (void) posix_spawn_file_actions_destroy(&actions);
        if (r != 0)
                return log_error_errno(r, "Failed to run %s: %m", path);

        if (out) {
                closep(&wr);
                for (;;) {
                        char discard[256];
                        bool full = n + 1 >= out_size;
                        ssize_t k = read(rd, full ? discard : out + n, full ? sizeof(discard) : out_size - 1 - n);

                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                break;
                        if (!full)
                                n += (size_t) k;
                }
                out[n] = '\0';
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return log_error_errno(errno, "Failed to wait for %s: %m", path);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Whether the text holds line as a whole line. Modifies text. */
static bool text_has_line(char *text, const char *line) {
        char *save = NULL;

        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (streq(l, line))
                        return true;
        return false;
}

static int probe_microvm(Bench *b, ImageKind k, bool check) {
        _cleanup_(disk_probe_done) DiskProbe p = {};
        _cleanup_free_ char *problem = NULL;
        int r;

        r = disk_probe(b->image_paths[k], &p, &problem);
        if (r < 0)
                return log_error_errno(r, "disk_probe(%s) failed: %s", b->image_paths[k], strempty(problem));
        if (!check)
                return 0;
        if (p.format != image_table[k].format || !streq_ptr(p.fs.type, image_table[k].fs_type) ||
            !streq_ptr(p.partition_table, image_table[k].partition_table) ||
            !streq_ptr(p.root_fs.type, image_table[k].root_fs_type) ||
            (image_table[k].root_fs_type && p.root_partition != 1))
                return log_error_errno(EIO, "disk_probe(%s) found format %s, filesystem %s, partition table %s, "
                                       "root partition %d of %s: not what the image holds.", b->image_paths[k],
                                       disk_format_to_string(p.format), strempty(p.fs.type),
                                       strempty(p.partition_table), p.root_partition, strempty(p.root_fs.type));
        return 0;
}

static int probe_blkid(Bench *b, ImageKind k, bool check) {
        char *argv[] = { "blkid", "-p", "-o", "export", b->image_paths[k], NULL };
        char out[4096], command[256];
        int status;

        /* As a script would: $(blkid ...), its output read through a pipe. Exit status 2: nothing found. */
        status = tool_run(b->opt.blkid, argv, out, sizeof(out));
        if (status < 0)
                return status;
        command_line(argv, command, sizeof(command));
        if (status != (image_table[k].blkid_line ? 0 : 2))
                return log_error_errno(EIO, "'%s' exited with %d.", command, status);
        if (check && image_table[k].blkid_line && !text_has_line(out, image_table[k].blkid_line))
                return log_error_errno(EIO, "'%s' did not print %s.", command, image_table[k].blkid_line);
        return 0;
}

/* blkid -p's low-level probe (misc-utils/blkid.c, lowprobe_device()): superblocks and partition
 * tables at once, every value read out as it prints them. */
static int probe_libblkid(Bench *b, ImageKind k, bool check) {
        _cleanup_(blkid_free_probe_nullp) blkid_probe pr = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *line = image_table[k].blkid_line;
        bool found = false;
        size_t chars = 0;
        int r, n;

        fd = open(b->image_paths[k], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", b->image_paths[k]);
        pr = blkid_new_probe();
        if (!pr)
                return log_oom();
        if (blkid_probe_set_device(pr, fd, 0, 0) < 0 || blkid_probe_enable_superblocks(pr, 1) < 0 ||
            blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE |
                                                  BLKID_SUBLKS_SECTYPE | BLKID_SUBLKS_USAGE |
                                                  BLKID_SUBLKS_VERSION) < 0 ||
            blkid_probe_enable_partitions(pr, 1) < 0 ||
            blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS) < 0)
                return log_error_errno(EIO, "Failed to set up a libblkid probe of %s.", b->image_paths[k]);
        r = blkid_do_safeprobe(pr);
        if (r < 0)
                return log_error_errno(EIO, "libblkid failed to probe %s.", b->image_paths[k]);

        n = blkid_probe_numof_values(pr);
        for (int i = 0; i < n; i++) {
                const char *name, *value;
                char text[512];

                if (blkid_probe_get_value(pr, i, &name, &value, NULL) < 0)
                        continue;
                /* As blkid would print it, so that both pay for the same work. */
                chars += (size_t) snprintf(text, sizeof(text), "%s=%s", name, value);
                found = found || (line && streq(text, line));
        }
        if (check && (line ? !found : n > 0))
                return log_error_errno(EIO, "libblkid found %d values in %s (%zu characters), expected %s.", n,
                                       b->image_paths[k], chars, line ?: "none");
        return 0;
}

static int probe_run(Bench *b, ImageKind k, ProbeWay w, bool check) {
        switch (w) {
        case PROBE_MICROVM:
                return probe_microvm(b, k, check);
        case PROBE_BLKID:
                return probe_blkid(b, k, check);
        case PROBE_LIBBLKID:
                return probe_libblkid(b, k, check);
        case _PROBE_WAY_MAX:
                break;
        }
        assert(false);
        return -EINVAL;
}

/* Changes the user-data, keeping its size. */
static void user_data_tag(Bench *b, const char *what, size_t i) {
        char tag[17];

        snprintf(tag, sizeof(tag), "%-7.7s %08zu", what, i % 100000000);
        memcpy(b->tag, tag, 16);
}

static int seed_write(Bench *b, const char *path, int expected) {
        CloudInitSeed seed = {
                .user_data = b->user_data,
                .instance_id = b->instance_id,
                .local_hostname = SEED_HOSTNAME,
        };
        int r;

        r = cloud_init_seed_write(&seed, path);
        if (r < 0)
                return log_error_errno(r, "cloud_init_seed_write(%s) failed: %m", path);
        if (r != expected)
                return log_error_errno(EIO, "cloud_init_seed_write(%s) returned %d, expected %d.", path, r, expected);
        return 0;
}

static int fsync_path(const char *path, int flags) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | flags);

        if (fd < 0 || fsync(fd) < 0)
                return log_error_errno(errno, "Failed to fsync %s: %m", path);
        return 0;
}

/* genisoimage's input files, as a user keeps them; written before the timing starts. */
static int genisoimage_input(Bench *b) {
        _cleanup_free_ char *user_data = NULL, *meta_data = NULL;
        int r;

        if (asprintf(&user_data, "%s/user-data", b->input_dir) < 0 ||
            asprintf(&meta_data, "%s/meta-data", b->input_dir) < 0)
                return log_oom();
        r = write_file_atomic(user_data, b->user_data, strlen(b->user_data), 0600);
        if (r >= 0)
                r = write_file_atomic(meta_data, b->meta_data, strlen(b->meta_data), 0600);
        if (r < 0)
                return log_error_errno(r, "Failed to write genisoimage's input in %s: %m", b->input_dir);
        return 0;
}

#define WARM_UP SIZE_MAX

/* Where run i (WARM_UP: the untimed one) of a way writes: a new file each time, but for the
 * rebuild and the up-to-date check, which go over their own seed again and again. */
static int seed_path(Bench *b, SeedWay w, size_t i, char **ret) {
        static const char *const prefix[_SEED_WAY_MAX] = {
                [SEED_MICROVM] = "microvm",
                [SEED_MICROVM_REBUILD] = "rebuild",
                [SEED_MICROVM_CURRENT] = "current",
                [SEED_GENISOIMAGE] = "genisoimage",
                [SEED_GENISOIMAGE_FSYNC] = "genisoimage-fsync",
                [SEED_DURABLE_WRITE] = "durable",
        };
        char run[32] = "";
        int k;

        if (w != SEED_MICROVM_REBUILD && w != SEED_MICROVM_CURRENT) {
                if (i == WARM_UP)
                        snprintf(run, sizeof(run), "-warm-up");
                else
                        snprintf(run, sizeof(run), "-%zu", i);
        }
        k = asprintf(ret, "%s/%s%s.iso", b->opt.seed_dir, prefix[w], run);
        return k < 0 ? log_oom() : 0;
}

/* One build of a seed in one way, timed, with its input made untimed before. */
static int seed_run(Bench *b, SeedWay w, size_t i, double *ret_ms) {
        _cleanup_free_ char *path = NULL, *user_data = NULL, *meta_data = NULL;
        uint64_t t0;
        int r;

        r = seed_path(b, w, i, &path);
        if (r < 0)
                return r;
        /* A new tag each run; the same tag always for the seed that is up to date. */
        user_data_tag(b, w == SEED_MICROVM_CURRENT ? "current" : "run", w == SEED_MICROVM_CURRENT ? 0 : i);

        if (w == SEED_GENISOIMAGE || w == SEED_GENISOIMAGE_FSYNC) {
                r = genisoimage_input(b);
                if (r < 0)
                        return r;
                if (asprintf(&user_data, "%s/user-data", b->input_dir) < 0 ||
                    asprintf(&meta_data, "%s/meta-data", b->input_dir) < 0)
                        return log_oom();
        }

        t0 = now_nsec();
        switch (w) {
        case SEED_MICROVM:
        case SEED_MICROVM_REBUILD:
                r = seed_write(b, path, 1);
                break;
        case SEED_MICROVM_CURRENT:
                r = seed_write(b, path, 0);
                break;
        case SEED_GENISOIMAGE:
        case SEED_GENISOIMAGE_FSYNC: {
                /* cloud-localds's command line; genisoimage names the files by their base names. */
                char *argv[] = { "genisoimage", "-output", path, "-volid", MVM_CLOUD_INIT_VOLUME_ID, "-joliet", "-rock",
                                 user_data, meta_data, NULL };
                char command[1024];

                r = tool_run(b->opt.genisoimage, argv, NULL, 0);
                if (r > 0) {
                        command_line(argv, command, sizeof(command));
                        return log_error_errno(EIO, "'%s' exited with %d.", command, r);
                }
                if (r == 0 && w == SEED_GENISOIMAGE_FSYNC) {
                        r = fsync_path(path, 0);
                        if (r >= 0)
                                r = fsync_path(b->opt.seed_dir, O_DIRECTORY);
                }
                break;
        }
        case SEED_DURABLE_WRITE:
                r = write_file_atomic(path, b->seed_bytes, b->seed_size, MVM_CLOUD_INIT_SEED_MODE);
                if (r < 0)
                        return log_error_errno(r, "Failed to write %s: %m", path);
                break;
        case _SEED_WAY_MAX:
                assert(false);
        }
        if (r < 0)
                return r;
        *ret_ms = elapsed_ms(t0);
        return 0;
}

/* That the warm-up's seed of way w is a NoCloud seed; prints its size. */
static int seed_check(Bench *b, SeedWay w) {
        _cleanup_(disk_probe_done) DiskProbe p = {};
        _cleanup_free_ char *path = NULL, *problem = NULL;
        int r;

        r = seed_path(b, w, WARM_UP, &path);
        if (r < 0)
                return r;
        r = disk_probe(path, &p, &problem);
        if (r < 0)
                return log_error_errno(r, "%s", strempty(problem));
        if (!streq_ptr(p.fs.type, "iso9660") || !streq_ptr(p.fs.label, MVM_CLOUD_INIT_VOLUME_ID))
                return log_error_errno(EIO, "%s is %s labelled '%s', not iso9660 labelled '%s'.", path,
                                       strempty(p.fs.type), strempty(p.fs.label), MVM_CLOUD_INIT_VOLUME_ID);
        printf("  %s's seed: %" PRIu64 " bytes\n", w == SEED_MICROVM ? "microvm" : "genisoimage", p.size);
        return 0;
}

/* An untimed round of each way: it warms the page cache and the libraries, checks the seeds, and
 * makes those that the rebuild and the up-to-date check go over. */
static int seed_warm_up(Bench *b) {
        _cleanup_free_ char *current = NULL, *microvm = NULL;
        struct stat st;
        double ms;
        int r;

        r = seed_path(b, SEED_MICROVM_CURRENT, WARM_UP, &current);
        if (r < 0)
                return r;
        user_data_tag(b, "current", 0);
        r = seed_write(b, current, 1);
        if (r < 0)
                return r;

        for (SeedWay w = 0; w < _SEED_WAY_MAX; w++) {
                r = seed_run(b, w, WARM_UP, &ms);
                if (r < 0)
                        return r;
                if (w != SEED_MICROVM)
                        continue;
                /* The durable write, later in this loop, writes as much as this. */
                r = seed_path(b, w, WARM_UP, &microvm);
                if (r < 0)
                        return r;
                if (stat(microvm, &st) < 0)
                        return log_error_errno(errno, "Failed to stat %s: %m", microvm);
                b->seed_size = (size_t) st.st_size;
                b->seed_bytes = calloc(1, b->seed_size);
                if (!b->seed_bytes)
                        return log_oom();
        }

        r = seed_check(b, SEED_MICROVM);
        if (r >= 0)
                r = seed_check(b, SEED_GENISOIMAGE);
        return r;
}

typedef struct Spread {
        double median, p90;
} Spread;

static Spread spread_of(const double *v, size_t n) {
        _cleanup_free_ double *copy = calloc(n, sizeof(double));
        Spread s = {};

        if (!copy)
                return s;
        memcpy(copy, v, n * sizeof(double));
        s.median = median(copy, n);
        s.p90 = quantile(copy, n, 0.90);
        return s;
}

static int bench_seeds(Bench *b) {
        size_t n = b->opt.seeds;
        int r;

        printf("== disk: NoCloud seed with %d KiB of user-data and generated meta-data, %zu builds of each way, "
               "interleaved\n", USER_DATA_SIZE / 1024, n);
        fflush(stdout);
        r = seed_warm_up(b);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < _SEED_WAY_MAX; k++) {
                        /* Rotating: no way always follows the same one. */
                        SeedWay w = (SeedWay) ((i + k) % _SEED_WAY_MAX);

                        r = seed_run(b, w, i, &b->seed_ms[w][i]);
                        if (r < 0)
                                return r;
                }

        figure_print(b->summary, &(Figure) {
                .name = "seed ISO build, 64 KiB user-data",
                .unit = "ms",
                .decimals = 2,
                .value = spread_of(b->seed_ms[SEED_MICROVM], n).median,
                .baseline = spread_of(b->seed_ms[SEED_GENISOIMAGE], n).median,
                .target_kind = TARGET_AT_MOST,
                .target = TARGET_SEED_MS,
        });
        printf("  median / p90 (ms):");
        for (SeedWay w = 0; w < _SEED_WAY_MAX; w++) {
                Spread s = spread_of(b->seed_ms[w], n);

                printf("%s %s %.2f / %.2f", w == 0 ? "" : ";", seed_way_label[w], s.median, s.p90);
        }
        printf("\n");
        return 0;
}

static int bench_probes(Bench *b) {
        size_t n = b->opt.probes;
        _cleanup_free_ double *all[_PROBE_WAY_MAX] = {};
        int r;

        printf("== disk: drive probes, %zu of each image in each way, interleaved\n", n);
        fflush(stdout);

        for (ImageKind k = 0; k < _IMAGE_KIND_MAX; k++)
                for (ProbeWay w = 0; w < _PROBE_WAY_MAX; w++) {
                        r = probe_run(b, k, w, /* check= */ true);
                        if (r < 0)
                                return r;
                }
        for (size_t i = 0; i < n; i++)
                for (ImageKind k = 0; k < _IMAGE_KIND_MAX; k++)
                        for (size_t j = 0; j < _PROBE_WAY_MAX; j++) {
                                ProbeWay w = (ProbeWay) ((i + k + j) % _PROBE_WAY_MAX);
                                uint64_t t0 = now_nsec();

                                r = probe_run(b, k, w, /* check= */ false);
                                if (r < 0)
                                        return r;
                                b->probe_ms[k][w][i] = elapsed_ms(t0);
                        }

        for (ProbeWay w = 0; w < _PROBE_WAY_MAX; w++) {
                all[w] = calloc(n * _IMAGE_KIND_MAX, sizeof(double));
                if (!all[w])
                        return log_oom();
        }
        for (ImageKind k = 0; k <= _IMAGE_KIND_MAX; k++) {
                Spread s[_PROBE_WAY_MAX];
                char name[96];

                for (ProbeWay w = 0; w < _PROBE_WAY_MAX; w++) {
                        if (k < _IMAGE_KIND_MAX) {
                                memcpy(all[w] + k * n, b->probe_ms[k][w], n * sizeof(double));
                                s[w] = spread_of(b->probe_ms[k][w], n);
                        } else
                                s[w] = spread_of(all[w], n * _IMAGE_KIND_MAX);
                }
                snprintf(name, sizeof(name), "drive probe per image, %s",
                         k < _IMAGE_KIND_MAX ? image_table[k].label : "all kinds");
                figure_print(b->summary, &(Figure) {
                        .name = name,
                        .unit = "ms",
                        .decimals = 3,
                        .value = s[PROBE_MICROVM].median,
                        .baseline = s[PROBE_BLKID].median,
                        .target_kind = TARGET_AT_MOST,
                        .target = TARGET_PROBE_MS,
                });
                printf("  median / p90 (ms):");
                for (ProbeWay w = 0; w < _PROBE_WAY_MAX; w++)
                        printf("%s %s %.3f / %.3f", w == 0 ? "" : ";", probe_way_label[w], s[w].median, s[w].p90);
                printf("\n");
        }
        return 0;
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum {
                ARG_PROBES = 0x100,
                ARG_SEEDS,
                ARG_IMAGES,
                ARG_SEED_DIR,
                ARG_BLKID,
                ARG_GENISOIMAGE,
                ARG_SUMMARY,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "probes", required_argument, NULL, ARG_PROBES },
                { "seeds", required_argument, NULL, ARG_SEEDS },
                { "images", required_argument, NULL, ARG_IMAGES },
                { "seed-dir", required_argument, NULL, ARG_SEED_DIR },
                { "blkid", required_argument, NULL, ARG_BLKID },
                { "genisoimage", required_argument, NULL, ARG_GENISOIMAGE },
                { "summary", required_argument, NULL, ARG_SUMMARY },
                {}
        };
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("%s --images DIR --seed-dir DIR --blkid PATH --genisoimage PATH [--probes N] [--seeds N]\n"
                               "        [--summary FILE]\n\n"
                               "Times drive probes and cloud-init seed builds against blkid and genisoimage.\n"
                               "bench/disk runs it, after making the images.\n", argv[0]);
                        return 0;
                case ARG_PROBES:
                        r = parse_count(optarg, 1, 100000, &o->probes);
                        break;
                case ARG_SEEDS:
                        r = parse_count(optarg, 1, 100000, &o->seeds);
                        break;
                case ARG_IMAGES:
                        o->images = optarg;
                        break;
                case ARG_SEED_DIR:
                        o->seed_dir = optarg;
                        break;
                case ARG_BLKID:
                        o->blkid = optarg;
                        break;
                case ARG_GENISOIMAGE:
                        o->genisoimage = optarg;
                        break;
                case ARG_SUMMARY:
                        o->summary = optarg;
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0)
                        return log_error_errno(r, "Bad number '%s': expected a count from 1 to 100000.", optarg);
        }

        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes no arguments.", argv[0]);
        if (!o->images || !o->seed_dir || !o->blkid || !o->genisoimage)
                return log_error_errno(EINVAL, "--images, --seed-dir, --blkid and --genisoimage are required.");
        return 1;
}

static void bench_done(Bench *b) {
        if (b->summary)
                (void) fclose(b->summary);
        for (ImageKind k = 0; k < _IMAGE_KIND_MAX; k++) {
                free(b->image_paths[k]);
                for (ProbeWay w = 0; w < _PROBE_WAY_MAX; w++)
                        free(b->probe_ms[k][w]);
        }
        for (SeedWay w = 0; w < _SEED_WAY_MAX; w++)
                free(b->seed_ms[w]);
        free(b->user_data);
        free(b->instance_id);
        free(b->meta_data);
        free(b->input_dir);
        free(b->seed_bytes);
}

/* USER_DATA_SIZE bytes of cloud-config: a file to write, its lines numbered, and near the top a
 * comment whose tag tells one run's seed from another's. */
static int user_data_new(Bench *b) {
        static const char head[] = "#cloud-config\n# microvm bench: ";
        static const char body[] = "\nwrite_files:\n  - path: /etc/microvm-bench\n    content: |\n";
        size_t n;
        char *p;

        p = b->user_data = malloc(USER_DATA_SIZE + 1);
        if (!p)
                return log_oom();
        p = stpcpy(p, head);
        b->tag = p;
        p = mempcpy(p, "0123456789abcdef", 16);
        p = stpcpy(p, body);
        n = (size_t) (p - b->user_data);
        for (unsigned line = 1; n < USER_DATA_SIZE; line++) {
                char text[80];
                int k = snprintf(text, sizeof(text), "      line %05u: the quick brown fox jumps over the lazy dog\n",
                                 line);
                size_t m = (size_t) k < USER_DATA_SIZE - n ? (size_t) k : USER_DATA_SIZE - n;

                memcpy(b->user_data + n, text, m);
                n += m;
        }
        /* The cut last line ends with a newline too. */
        b->user_data[USER_DATA_SIZE - 1] = '\n';
        b->user_data[USER_DATA_SIZE] = '\0';
        return 0;
}

static int bench_init(Bench *b) {
        int r;

        for (ImageKind k = 0; k < _IMAGE_KIND_MAX; k++) {
                if (asprintf(&b->image_paths[k], "%s/%s", b->opt.images, image_table[k].file) < 0) {
                        b->image_paths[k] = NULL;
                        return log_oom();
                }
                for (ProbeWay w = 0; w < _PROBE_WAY_MAX; w++) {
                        b->probe_ms[k][w] = calloc(b->opt.probes, sizeof(double));
                        if (!b->probe_ms[k][w])
                                return log_oom();
                }
        }
        for (SeedWay w = 0; w < _SEED_WAY_MAX; w++) {
                b->seed_ms[w] = calloc(b->opt.seeds, sizeof(double));
                if (!b->seed_ms[w])
                        return log_oom();
        }

        r = user_data_new(b);
        if (r < 0)
                return r;
        r = cloud_init_instance_id(SEED_HOSTNAME, &b->instance_id);
        if (r < 0)
                return log_oom();
        /* What cloud_init_seed_write() generates from them (cloud-init.h). */
        if (asprintf(&b->meta_data, "instance-id: \"%s\"\nlocal-hostname: \"%s\"\n", b->instance_id,
                     SEED_HOSTNAME) < 0) {
                b->meta_data = NULL;
                return log_oom();
        }
        if (asprintf(&b->input_dir, "%s/input", b->opt.seed_dir) < 0) {
                b->input_dir = NULL;
                return log_oom();
        }
        if (mkdir(b->input_dir, 0700) < 0)
                return log_error_errno(errno, "Failed to make %s: %m", b->input_dir);

        if (b->opt.summary) {
                b->summary = fopen(b->opt.summary, "ae");
                if (!b->summary)
                        return log_error_errno(errno, "Failed to open %s: %m", b->opt.summary);
        }
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(bench_done) Bench b = {
                .opt = {
                        .probes = 200,
                        .seeds = 50,
                },
        };
        int r;

        r = parse_argv(argc, argv, &b.opt);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        r = bench_init(&b);
        if (r < 0)
                return EXIT_FAILURE;
        /* Probes first, while malloc is in the state of a fresh process, as in the launcher: the
         * seeds free large buffers, which raises glibc's thresholds and so hides the cost of the
         * large buffers libblkid allocates and frees in every probe. */
        r = bench_probes(&b);
        if (r >= 0)
                r = bench_seeds(&b);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
