/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Files lent to the hypervisor's user for one run: Firecracker and cloud-hypervisor open their drives
 * by path (/proc/self/fd/N still checks the file's permissions), so a drive the user may not open as
 * it needs is given to that user by the preparation and given back, owner and group as they were,
 * when the unit stops. Each loan is recorded in the runtime directory (MVM_LOANS_FILE) before the
 * file changes hands. QEMU needs none: it gets its drives open. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Gives path to uid:gid unless that user may already read it (and write it, with write), and
 * records the loan. */
int lend_file(const char *runtime_dir, const char *path, bool write, uid_t uid, gid_t gid);

/* Gives back every file lent in this run. */
void return_lent_files(const char *runtime_dir);
