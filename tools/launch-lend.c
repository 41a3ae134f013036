/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "launch-lend.h"
#include "log.h"
#include "macro.h"
#include "vm-files.h"

static int loans_path(const char *runtime_dir, char **ret) {
        return asprintf(ret, "%s/" MVM_LOANS_FILE, runtime_dir) < 0 ? -ENOMEM : 0;
}

int lend_file(const char *runtime_dir, const char *path, bool write, uid_t uid, gid_t gid) {
        _cleanup_free_ char *loans = NULL, *line = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (stat(path, &st) < 0)
                return -errno;
        if (file_mode_allows(&st, write, uid, gid))
                return 0;

        r = loans_path(runtime_dir, &loans);
        if (r < 0)
                return r;
        if (asprintf(&line, "%" PRIu32 " %" PRIu32 " %s\n", (uint32_t) st.st_uid, (uint32_t) st.st_gid, path) < 0)
                return -ENOMEM;
        /* Recorded first: a loan never goes unrecorded. */
        fd = open(loans, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = write_full(fd, line, strlen(line));
        if (r < 0)
                return r;
        if (chown(path, uid, gid) < 0)
                return -errno;
        log_info("Lent %s to the hypervisor's user for this run.", path);
        return 0;
}

void return_lent_files(const char *runtime_dir) {
        _cleanup_free_ char *loans = NULL, *text = NULL;

        if (loans_path(runtime_dir, &loans) < 0 || read_file(loans, &text, NULL) < 0)
                return;
        for (char *line = text, *next; line && *line; line = next) {
                unsigned long uid, gid;
                char *path;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                uid = strtoul(line, &path, 10);
                gid = strtoul(path, &path, 10);
                if (*path != ' ')
                        continue;
                path++;
                if (chown(path, (uid_t) uid, (gid_t) gid) < 0)
                        log_warning_errno(errno, "Cannot give %s back to %lu:%lu, ignoring: %m", path, uid, gid);
        }
        (void) unlink(loans);
}
