/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole-file reads and durable, atomic whole-file writes. */
#pragma once

#include <stddef.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#define MVM_FILE_SIZE_MAX (1024 * 1024)

/* Reads a regular file of at most MVM_FILE_SIZE_MAX bytes, NUL-terminated (free()).
 * -errno on failure, -EFBIG when too large. */
int read_file(const char *path, char **ret_contents, size_t *ret_size);

/* Writes all of p, going on after short writes and EINTR. Returns 0 or -errno. */
int write_full(int fd, const char *p, size_t size);

/* Replaces path with contents so that a crash leaves the old file or the new one, never a
 * mix: a temporary file in the same directory, fsync, rename, fsync of the directory.
 * On failure nothing is left behind. Returns 0 or -errno. */
int write_file_atomic(const char *path, const char *contents, size_t size, mode_t mode);

/* Removes path and makes the removal durable (fsync of the directory). */
int unlink_durable(const char *path);

/* Whether uid:gid (without supplementary groups) may open st's file for reading, and for writing
 * with write, by its mode bits. */
bool file_mode_allows(const struct stat *st, bool write, uid_t uid, gid_t gid);

/* Copies the regular file from to a new file to (the kernel's copy, a reflink where the filesystem
 * can), owned by uid:gid with mode. On failure to is not left. Blocking. */
int copy_file(const char *from, const char *to, uid_t uid, gid_t gid, mode_t mode);

/* Creates a directory and its missing parents. */
int mkdir_parents(const char *path, mode_t mode);

/* Removes path and everything below it, without following symlinks. -ENOENT counts as done. */
int rm_rf(const char *path);
