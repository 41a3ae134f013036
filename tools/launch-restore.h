/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The unit's start of a restore: hands the hypervisor a snapshot's state once its version is the
 * one the snapshot was taken with, waits until it is loaded, and lets the guest go on. Blocking,
 * bounded: for the launcher only. */
#pragma once

#include "snapshot.h"

/* Loads the snapshot at path, described by meta, into the QEMU listening on qmp_path (started with
 * "-S -incoming defer"); pidfd watches QEMU. 0, or -errno with a bus error name and a message. */
int launch_restore(const char *qmp_path, const char *path, const SnapshotMeta *meta, int pidfd,
                   const char **ret_error_name, char **ret_message);
