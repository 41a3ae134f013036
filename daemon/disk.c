/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drive probing: libblkid's low-level probe for filesystems and partition tables, a header check
 * for qcow2, and the root= a probed drive boots with. */

#include <blkid/blkid.h>
#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "disk.h"
#include "log.h"
#include "macro.h"

static inline blkid_probe blkid_free_probe_null(blkid_probe pr) {
        blkid_free_probe(pr);
        return NULL;
}
DEFINE_CLEANUP(blkid_probe, blkid_free_probe_null);

static const char *const disk_format_table[_DISK_FORMAT_MAX] = {
        [DISK_FORMAT_RAW] = "raw",
        [DISK_FORMAT_QCOW2] = "qcow2",
};

const char *disk_format_to_string(DiskFormat f) {
        if (f < 0 || f >= _DISK_FORMAT_MAX)
                return NULL;
        return disk_format_table[f];
}

DiskFormat disk_format_from_string(const char *s) {
        if (!s)
                return _DISK_FORMAT_INVALID;
        for (DiskFormat i = 0; i < _DISK_FORMAT_MAX; i++)
                if (streq(disk_format_table[i], s))
                        return i;
        return _DISK_FORMAT_INVALID;
}

/* Sets *ret_problem (if wanted) to the formatted sentence and returns error. */
_printf_(3, 4)
static int problem(char **ret_problem, int error, const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&s, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        log_debug("%s", s);
        if (ret_problem)
                *ret_problem = TAKE_PTR(s);
        return error;
}

static void disk_filesystem_done(DiskFilesystem *f) {
        f->type = mfree(f->type);
        f->label = mfree(f->label);
        f->uuid = mfree(f->uuid);
        f->mountable = false;
}

void disk_probe_done(DiskProbe *p) {
        if (!p)
                return;
        p->path = mfree(p->path);
        disk_filesystem_done(&p->fs);
        p->partition_table = mfree(p->partition_table);
        disk_filesystem_done(&p->root_fs);
        p->root_partition = 0;
}

/* A copy of a value the last probe found, or NULL if it found none. */
static int probe_value(blkid_probe pr, const char *name, char **ret) {
        const char *v = NULL;

        if (blkid_probe_lookup_value(pr, name, &v, NULL) < 0 || !v) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

/* A probe of size bytes of fd from offset (0 and 0: all of it) that looks for superblocks. */
static int probe_new(int fd, uint64_t offset, uint64_t size, blkid_probe *ret) {
        _cleanup_(blkid_free_probe_nullp) blkid_probe pr = NULL;

        errno = 0;
        pr = blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, (blkid_loff_t) offset, (blkid_loff_t) size) < 0)
                return negative_errno();
        if (blkid_probe_enable_superblocks(pr, 1) < 0 ||
            blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE |
                                                  BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID) < 0 ||
            blkid_probe_enable_partitions(pr, 0) < 0)
                return -EINVAL;
        /* libblkid's ZFS check reads 1 MiB at both ends of every image, ten times the cost of all
         * other checks together; a ZFS pool member is nothing a guest boots from or microvm
         * describes, so it is not looked for. */
        if (blkid_probe_filter_superblocks_type(pr, BLKID_FLTR_NOTIN, (char *[]) { (char *) "zfs_member", NULL }) < 0)
                return -EINVAL;
        *ret = TAKE_PTR(pr);
        return 0;
}

/* Runs the superblock probe: 1 and the signature found, 0 if none, -EUCLEAN if more than one
 * (libblkid will not choose), or -errno. */
static int probe_filesystem(blkid_probe pr, DiskFilesystem *ret) {
        _cleanup_free_ char *usage = NULL;
        DiskFilesystem f = {};
        int r;

        errno = 0;
        r = blkid_do_safeprobe(pr);
        if (r == -2)
                return -EUCLEAN;
        if (r < 0)
                return negative_errno();
        if (r == 1)
                return 0;

        if (probe_value(pr, "TYPE", &f.type) < 0 || probe_value(pr, "LABEL", &f.label) < 0 ||
            probe_value(pr, "UUID", &f.uuid) < 0 || probe_value(pr, "USAGE", &usage) < 0) {
                disk_filesystem_done(&f);
                return -ENOMEM;
        }
        if (!f.type) {
                /* A match without a name would be a libblkid bug; treat it as nothing found. */
                disk_filesystem_done(&f);
                return 0;
        }
        f.mountable = streq_ptr(usage, "filesystem");
        *ret = f;
        return 1;
}

/* Probes the partition's contents: 1 and its filesystem if it holds a mountable one, else 0. A
 * partition whose signatures are ambiguous is passed over like one without any: it is not the
 * drive's whole content, and the root is looked for elsewhere. */
static int probe_partition(int fd, blkid_partition part, DiskFilesystem *ret) {
        _cleanup_(blkid_free_probe_nullp) blkid_probe pr = NULL;
        DiskFilesystem f = {};
        blkid_loff_t start = blkid_partition_get_start(part), size = blkid_partition_get_size(part);
        int r;

        if (start <= 0 || size <= 0)
                return 0;
        /* libblkid counts partitions in 512-byte sectors, whatever the table's sector size. */
        r = probe_new(fd, (uint64_t) start * 512, (uint64_t) size * 512, &pr);
        if (r < 0)
                return r;
        r = probe_filesystem(pr, &f);
        if (r == -EUCLEAN)
                return 0;
        if (r <= 0)
                return r;
        if (!f.mountable) {
                disk_filesystem_done(&f);
                return 0;
        }
        *ret = f;
        return 1;
}

static bool partition_type_is(blkid_partition part, const char *guid) {
        const char *t = blkid_partition_get_type_string(part);

        return t && strcasecmp(t, guid) == 0;
}

static bool partition_in_table(blkid_partition part, const char *table_type) {
        blkid_parttable tab = blkid_partition_get_table(part);

        return tab && streq_ptr(blkid_parttable_get_type(tab), table_type);
}

static bool partition_is_root_type(blkid_partition part) {
#ifdef DISK_GPT_ROOT_NATIVE
        return partition_in_table(part, "gpt") && partition_type_is(part, DISK_GPT_ROOT_NATIVE);
#else
        return false;
#endif
}

/* Partitions that never hold the root: containers of others, and the firmware's and boot
 * loader's (EFI system, extended boot loader), whose vfat would otherwise be found first. */
static bool partition_is_never_root(blkid_partition part) {
        if (blkid_partition_is_extended(part))
                return true;
        if (partition_in_table(part, "gpt"))
                return partition_type_is(part, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b") ||
                       partition_type_is(part, "bc13c2ff-59e6-4262-a352-b275fd779f72");
        return partition_in_table(part, "dos") && blkid_partition_get_type(part) == 0xef;
}

/* Reads the partition table, and finds the partition the root filesystem is in: the first of the
 * architecture's root type, else the first holding a mountable filesystem. Stops at the first
 * found, so most images need one partition probed. */
static int probe_partitions(DiskProbe *p, int fd, blkid_probe pr) {
        blkid_partlist list;
        blkid_parttable tab;
        int n;

        list = blkid_probe_get_partitions(pr);
        if (!list)
                return 0;
        tab = blkid_partlist_get_table(list);
        if (!tab || !blkid_parttable_get_type(tab))
                return 0;
        p->partition_table = strdup(blkid_parttable_get_type(tab));
        if (!p->partition_table)
                return -ENOMEM;

        n = blkid_partlist_numof_partitions(list);
        for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < n; i++) {
                        blkid_partition part = blkid_partlist_get_partition(list, i);
                        int r;

                        if (!part)
                                continue;
                        /* The root type is probed in the first pass only, the rest in the second. */
                        if (partition_is_root_type(part) != (pass == 0))
                                continue;
                        if (pass == 1 && partition_is_never_root(part))
                                continue;
                        r = probe_partition(fd, part, &p->root_fs);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                p->root_partition = blkid_partition_get_partno(part);
                                return 0;
                        }
                }
        return 0;
}

/* libblkid identifies filesystems and partition tables, not image containers, and so not qcow2.
 * Its header is enough: the magic "QFI\xfb", a big-endian version (2 or 3) and, at offset 24, the
 * big-endian virtual size in bytes. Returns 1 and the virtual size for a qcow2 image, 0 for
 * anything else. */
#define QCOW2_MAGIC "QFI\xfb"
#define QCOW2_HEADER_SIZE 32

static int probe_qcow2(int fd, const char *path, uint64_t *ret_size, char **ret_problem) {
        uint8_t header[QCOW2_HEADER_SIZE];
        uint32_t version;
        uint64_t size;
        ssize_t n;

        n = pread(fd, header, sizeof(header), 0);
        if (n < 0)
                return problem(ret_problem, negative_errno(), "'%s' cannot be read: %m", path);
        if ((size_t) n < strlen(QCOW2_MAGIC) || memcmp(header, QCOW2_MAGIC, strlen(QCOW2_MAGIC)) != 0)
                return 0;
        if ((size_t) n < sizeof(header))
                return problem(ret_problem, -EBADMSG,
                               "'%s' starts like a qcow2 image, but is only %zd bytes long: it is cut short, "
                               "recreate it (qemu-img create -f qcow2) or restore it", path, n);
        memcpy(&version, header + 4, sizeof(version));
        version = be32toh(version);
        if (version != 2 && version != 3)
                return problem(ret_problem, -EBADMSG,
                               "'%s' is a qcow2 image of version %" PRIu32 ", which microvm does not know "
                               "(it knows 2 and 3): convert it (qemu-img convert -O qcow2)", path, version);
        memcpy(&size, header + 24, sizeof(size));
        size = be64toh(size);
        if (size == 0)
                return problem(ret_problem, -EINVAL,
                               "'%s' is a qcow2 image of virtual size 0: give it a size "
                               "(qemu-img resize)", path);
        *ret_size = size;
        return 1;
}

/* Opens path for probing, or says why it cannot be opened. */
static int open_image(const char *path, int *ret_fd, char **ret_problem) {
        int fd;

        /* O_NONBLOCK: a FIFO must be refused, not waited on. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int r = negative_errno();

                switch (r) {
                case -ENOENT:
                        return problem(ret_problem, r, "'%s' does not exist: create the image there, "
                                       "or give the drive the path of an existing one", path);
                case -EACCES:
                case -EPERM:
                        return problem(ret_problem, -EACCES, "'%s' cannot be read (%s): make it readable "
                                       "(chmod, chown) or copy the image somewhere it is", path, strerror(-r));
                default:
                        return problem(ret_problem, r, "'%s' cannot be opened: %s", path, strerror(-r));
                }
        }
        *ret_fd = fd;
        return 0;
}

/* The size of the opened image, or why it cannot be a drive. */
static int image_size(int fd, const char *path, uint64_t *ret_size, char **ret_problem) {
        struct stat st;
        uint64_t size;

        if (fstat(fd, &st) < 0)
                return problem(ret_problem, negative_errno(), "'%s' cannot be examined: %m", path);
        if (S_ISDIR(st.st_mode))
                return problem(ret_problem, -EISDIR, "'%s' is a directory: a drive is an image file "
                               "or a block device", path);
        if (S_ISREG(st.st_mode))
                size = (uint64_t) st.st_size;
        else if (S_ISBLK(st.st_mode)) {
                if (ioctl(fd, BLKGETSIZE64, &size) < 0)
                        return problem(ret_problem, negative_errno(), "The size of block device '%s' "
                                       "cannot be read: %m", path);
        } else
                return problem(ret_problem, -ENOTBLK, "'%s' is neither a regular file nor a block device: "
                               "a drive is an image file or a block device", path);
        if (size == 0)
                return problem(ret_problem, -EINVAL, "'%s' is empty: give it contents (mkfs.ext4, "
                               "qemu-img create) or at least a size (truncate -s) first", path);
        *ret_size = size;
        return 0;
}

int disk_probe(const char *path, DiskProbe *ret, char **ret_problem) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        assert(path);

        /* One descriptor for every check and both probes, rather than blkid_new_probe_from_filename():
         * the open's own errno says why a path is no drive, and nothing can swap the file in between. */
        r = open_image(path, &fd, ret_problem);
        if (r < 0)
                return r;
        return disk_probe_fd(path, fd, ret, ret_problem);
}

int disk_probe_fd(const char *path, int fd, DiskProbe *ret, char **ret_problem) {
        _cleanup_(disk_probe_done) DiskProbe p = { .format = DISK_FORMAT_RAW };
        _cleanup_(blkid_free_probe_nullp) blkid_probe pr = NULL;
        int r;

        assert(path);
        assert(fd >= 0);
        assert(ret);

        p.path = strdup(path);
        if (!p.path)
                return -ENOMEM;
        r = image_size(fd, path, &p.size, ret_problem);
        if (r < 0)
                return r;

        r = probe_qcow2(fd, path, &p.size, ret_problem);
        if (r < 0)
                return r;
        if (r > 0) {
                p.format = DISK_FORMAT_QCOW2;
                *ret = p;
                p = (DiskProbe) {};
                return 0;
        }

        r = probe_new(fd, 0, 0, &pr);
        if (r < 0)
                return problem(ret_problem, r, "'%s' cannot be probed: %s", path, strerror(-r));
        r = probe_filesystem(pr, &p.fs);
        if (r == -EUCLEAN)
                return problem(ret_problem, r, "'%s' holds signatures of more than one filesystem, so what "
                               "it holds is ambiguous: remove the stale ones (wipefs --all --backup, then "
                               "mkfs again)", path);
        if (r < 0)
                return problem(ret_problem, r, "'%s' cannot be read: %s", path, strerror(-r));
        /* A signature on the whole image claims all of it: partitions are looked for only without. */
        if (r == 0) {
                r = probe_partitions(&p, fd, pr);
                if (r < 0)
                        return problem(ret_problem, r, "The partitions of '%s' cannot be read: %s",
                                       path, strerror(-r));
        }

        *ret = p;
        p = (DiskProbe) {};
        return 0;
}

int disk_guest_name(size_t index, char **ret) {
        /* 26^14 > SIZE_MAX: at most 14 letters. */
        char letters[16], *s = letters + sizeof(letters);

        assert(ret);

        /* As the kernel's virtblk_name_format(): a, …, z, aa, …, zz, aaa, … */
        *--s = '\0';
        for (size_t i = index;; i = i / 26 - 1) {
                *--s = (char) ('a' + i % 26);
                if (i < 26)
                        break;
        }
        return asprintf(ret, "vd%s", s) < 0 ? -ENOMEM : 0;
}

int disk_root_args(const DiskProbe *p, size_t index, char **ret, char **ret_problem) {
        _cleanup_free_ char *name = NULL;
        int r;

        assert(p);
        assert(ret);

        if (p->format == DISK_FORMAT_QCOW2)
                return problem(ret_problem, -EOPNOTSUPP, "'%s' is a qcow2 image, whose filesystem microvm "
                               "does not probe: give the kernel root= and rootfstype= yourself, or convert "
                               "the image to raw (qemu-img convert -O raw)", p->path);
        if (p->fs.type && !p->fs.mountable)
                return problem(ret_problem, -EMEDIUMTYPE, "'%s' holds %s, not a filesystem to boot from: "
                               "give the root drive an image with a filesystem, or set root= yourself",
                               p->path, p->fs.type);
        if (!p->fs.type && p->root_partition <= 0) {
                if (p->partition_table)
                        return problem(ret_problem, -EMEDIUMTYPE, "'%s' has a %s partition table, but no "
                                       "partition holds a filesystem to boot from: make one (mkfs.ext4 on "
                                       "the partition), or set root= yourself", p->path, p->partition_table);
                return problem(ret_problem, -EMEDIUMTYPE, "'%s' holds no filesystem microvm recognises: "
                               "make one (mkfs.ext4), use it as a data drive rather than the root, or set "
                               "root= yourself", p->path);
        }

        r = disk_guest_name(index, &name);
        if (r < 0)
                return r;
        /* A vd name ends in a letter, so the partition number follows it directly. */
        if (p->fs.type)
                r = asprintf(ret, "root=/dev/%s rootfstype=%s", name, p->fs.type);
        else
                r = asprintf(ret, "root=/dev/%s%d rootfstype=%s", name, p->root_partition, p->root_fs.type);
        return r < 0 ? -ENOMEM : 0;
}
