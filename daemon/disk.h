/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a drive image holds, found with libblkid (and a qcow2 header check), and the kernel
 * command line that boots from it. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum DiskFormat {
        DISK_FORMAT_RAW,        /* a raw image file or a block device */
        DISK_FORMAT_QCOW2,
        _DISK_FORMAT_MAX,
        _DISK_FORMAT_INVALID = -EINVAL,
} DiskFormat;

const char *disk_format_to_string(DiskFormat f);
DiskFormat disk_format_from_string(const char *s);

/* One signature libblkid found: all fields owned, NULL when absent. */
typedef struct DiskFilesystem {
        char *type;             /* libblkid's TYPE: "ext4", "squashfs", "iso9660", "swap", "crypto_LUKS", … */
        char *label;
        char *uuid;
        bool mountable;         /* a filesystem (libblkid's USAGE "filesystem"), not swap, RAID, LVM or LUKS */
} DiskFilesystem;

/* GPT partition type of a root filesystem for this machine's architecture, as the Discoverable
 * Partitions Specification names it; a partition of this type is preferred as the root. */
#if defined(__x86_64__)
#define DISK_GPT_ROOT_NATIVE "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
#elif defined(__aarch64__)
#define DISK_GPT_ROOT_NATIVE "b921b045-1df0-41c3-af44-4c6f280d3fae"
#endif

typedef struct DiskProbe {
        char *path;             /* as given, for messages */
        DiskFormat format;
        uint64_t size;          /* bytes: the file's or device's size; a qcow2 image's virtual size */
        /* The raw contents; a qcow2 image's are not probed (its data is spread over clusters that
         * only its own tables locate), so these stay NULL and 0 for qcow2. */
        DiskFilesystem fs;      /* on the whole image; fs.type NULL if none */
        char *partition_table;  /* "gpt", "dos", …: only looked for when the whole image holds no signature */
        int root_partition;     /* 1-based number of the partition the root filesystem is in, 0 if none */
        DiskFilesystem root_fs; /* that partition's filesystem */
} DiskProbe;

/* Probes the image or block device at path: its format, size, filesystem or partition table, and,
 * for a partitioned image, the partition a root filesystem would be taken from (a partition of type
 * DISK_GPT_ROOT_NATIVE, else the first holding a mountable filesystem that is not an EFI system or
 * extended boot partition). Reads only the headers this needs.
 *
 * Content microvm does not recognise is no error: a blank or random raw disk is a legitimate data
 * drive, and is returned with fs.type and partition_table NULL. Whether a drive must hold a
 * filesystem is the caller's decision (disk_root_args() makes it for a root drive).
 *
 * Returns 0 and fills *ret (disk_probe_done() it), or -errno and a sentence for the user that names
 * the path, what is wrong and what to do (free()):
 *   -ENOENT       the path does not exist
 *   -EISDIR       it is a directory
 *   -ENOTBLK      it is neither a regular file nor a block device
 *   -EACCES       it cannot be opened for reading (other open() errors are passed on likewise)
 *   -EINVAL       it is empty (or a qcow2 image of virtual size 0)
 *   -EBADMSG      it starts with the qcow2 magic, but its header is cut short or of an unknown version
 *   -EUCLEAN      it holds signatures of more than one filesystem, so what it is is ambiguous
 *   -EIO          reading it failed */
int disk_probe(const char *path, DiskProbe *ret, char **ret_problem);

/* The same for an image already open (at least for reading) as fd, which stays open; path names it
 * in the probe and the messages. For a process that was handed the image rather than the right to
 * open it. */
int disk_probe_fd(const char *path, int fd, DiskProbe *ret, char **ret_problem);

/* Frees the probe's contents; the struct itself is the caller's. */
void disk_probe_done(DiskProbe *p);

/* The name the guest kernel gives the index'th (0-based) virtio-blk disk: "vda" … "vdz", "vdaa" …,
 * as its virtio_blk driver formats them (free()). */
int disk_guest_name(size_t index, char **ret);

/* The kernel command line arguments that mount the probed drive's filesystem as root, for a drive
 * that is the index'th (0-based) virtio-blk disk: "root=/dev/vda rootfstype=ext4" for a whole-disk
 * filesystem, "root=/dev/vda2 rootfstype=ext4" for a partitioned image.
 *
 * This assumes the guest names its virtio-blk disks vda, vdb, … in the order the drives are
 * attached, so the caller must attach them in that order, counting every virtio-blk disk it adds
 * (a cloud-init seed, say) before this one.
 *
 * Returns 0 and the arguments (free()), or -errno and a sentence for the user (free()):
 *   -EOPNOTSUPP   a qcow2 image, whose filesystem is not probed
 *   -EMEDIUMTYPE  no mountable filesystem, neither on the whole image nor in a partition */
int disk_root_args(const DiskProbe *p, size_t index, char **ret, char **ret_problem);
