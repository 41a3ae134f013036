/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A process's cgroup, as the benchmarks look at it. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* The processes in pid's cgroup besides pid itself, and their summed RSS in KiB. systemd tracks a
 * unit's processes in the unified hierarchy (also on a hybrid setup), or in name=systemd. */
int cgroup_others(pid_t pid, uint64_t *ret_count, uint64_t *ret_kib);

/* CPU time pid's cgroup spent throttled by its CPU quota, in µs: cgroup v1's cpu controller
 * ("throttled_time", ns) or v2's ("throttled_usec"). -ENOENT where neither is there. */
int cgroup_throttled_usec(pid_t pid, uint64_t *ret);
