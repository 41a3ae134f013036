/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM's drives as its configuration names them, checked against what the images hold: probed at
 * CreateVM/UpdateVM, at StartVM and by the unit's start, the same way each time. */
#pragma once

#include "config.h"
#include "disk.h"

typedef struct DriveProbes {
        DiskProbe *probes;      /* one per [Drive] section, in order */
        size_t n;
} DriveProbes;

void drive_probes_done(DriveProbes *d);

/* Probes every drive and checks it against its keys and the VM's hypervisor: the image must be
 * there and readable, hold something (see disk_probe()), be of the format Format= names (auto:
 * any), be one the hypervisor takes, and for the root drive hold a filesystem the kernel can be
 * told to mount, unless KernelCommandLine= says root= itself.
 *
 * Returns 0 and the probes, or -errno and a sentence for the user that starts with the drive
 * ("Drives[1] '/srv/data.img': …") and says what to do (g_free()). */
int drives_probe(const Config *c, DriveProbes *ret, char **ret_problem);

/* The same with the images open already: fds[i] is drive i's (see disk_probe_fd()). */
int drives_probe_fds(const Config *c, const int *fds, DriveProbes *ret, char **ret_problem);

/* Completes c for a start with what the probes found: each Format=auto is replaced by the format
 * the image has, and the kernel command line gets root= and rootfstype= for the root drive where
 * KernelCommandLine= does not set them. The probes must be drives_probe()'s of c. */
int drives_fill_config(Config *c, const DriveProbes *probes, char **ret_problem);

/* The facts of one drive for the VM object's DriveInfo property: an a{sv} with Path, Format,
 * Size, Type, Label, UUID, PartitionTable, Partition (the number of the partition Type, Label
 * and UUID describe; 0 for the whole image) and Problem (empty when the probe succeeded).
 * Floating. */
GVariant *drive_info_to_variant(const char *path);

/* Whether the kernel command line sets this parameter ("root" matches "root=/dev/vda"). */
bool kernel_command_line_has(const char *cmdline, const char *parameter);
