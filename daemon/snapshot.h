/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A snapshot's metadata, PATH.meta beside the state file PATH: what it was taken of and with, so
 * that a restore into anything else is refused before the hypervisor loads it. Shared by microvmd
 * (which writes it, and checks before a restore) and the unit's start (which checks again, and
 * compares the hypervisor's version). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define SNAPSHOT_META_SUFFIX ".meta"

typedef struct SnapshotMeta {
        char *vm;                       /* the VM it was taken of */
        char *hypervisor;               /* Hypervisor= */
        char *hypervisor_version;       /* e.g. "7.2.11 (Debian 1:7.2+dfsg-7)" */
        char *config_hash;              /* snapshot_config_hash() of the VM's configuration */
        uint64_t created_usec;          /* CLOCK_REALTIME */
        uint64_t size;                  /* of the state file */
        uint64_t mtime_nsec;            /* of the state file, when written */
        bool paused;                    /* the VM was paused: it is restored paused */
} SnapshotMeta;

void snapshot_meta_done(SnapshotMeta *m);

/* The SHA-256 (hex) of the configuration with its defaults filled in (free()). */
char *snapshot_config_hash(const Config *c);

int snapshot_meta_path(const char *path, char **ret);
int snapshot_meta_write(const char *path, const SnapshotMeta *m);
/* -ENOENT when there is none, -EBADMSG with a reason when it cannot be used. */
int snapshot_meta_read(const char *path, SnapshotMeta *ret, char **ret_problem);

/* The file whose size and mtime the metadata records: path itself (QEMU's state file, Firecracker's
 * state file with its memory in PATH.mem), or the state file in the directory cloud-hypervisor
 * writes (free()). */
int snapshot_state_path(const char *hypervisor, const char *path, char **ret);

/* Checks the snapshot at path for a restore into VM name with config: the state file is there and
 * is what its metadata describes, taken with the same hypervisor of a configuration with the same
 * hash. 0 and the metadata, or -errno with a bus error name (InvalidArgument, InvalidSnapshot,
 * SnapshotMismatch) and a message that says what to do. */
int snapshot_check(const char *path, const char *name, const Config *config, SnapshotMeta *ret_meta,
                   const char **ret_error_name, char **ret_message);
/* Whether a file that exists at path may be replaced by a new snapshot: only a snapshot may. */
bool snapshot_exists_at(const char *path);
