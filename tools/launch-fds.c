/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "launch-fds.h"
#include "macro.h"
#include "strv.h"

int launch_fd_store(const char *name, int fd) {
        _cleanup_free_ char *remove = NULL, *store = NULL;
        int r;

        /* FDPOLL=0: an image or a TAP device never "hangs up"; nothing to watch. */
        if (asprintf(&remove, "FDSTOREREMOVE=1\nFDNAME=%s", name) < 0 ||
            asprintf(&store, "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name) < 0)
                return -ENOMEM;
        /* Messages on the one socket are taken in order: the removal first. */
        r = sd_notify(/* unset_environment= */ false, remove);
        if (r < 0)
                return r;
        r = sd_pid_notify_with_fds(0, /* unset_environment= */ false, store, &fd, 1);
        if (r == 0)
                return -ENOTCONN;       /* not run by systemd: nowhere to hand it */
        return r < 0 ? r : 0;
}

int launch_fds_receive(LaunchFds *ret) {
        _cleanup_strv_free_ char **names = NULL;
        int n;

        n = sd_listen_fds_with_names(/* unset_environment= */ true, &names);
        if (n < 0)
                return n;
        *ret = (LaunchFds) { .names = TAKE_PTR(names), .n = (size_t) n };
        if (n == 0)
                return 0;
        ret->fds = calloc((size_t) n, sizeof(int));
        if (!ret->fds)
                return -ENOMEM;
        /* sd_listen_fds() made them close on exec; they are for the hypervisor, which the start execs. */
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i, flags = fcntl(fd, F_GETFD);

                if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
                        return -errno;
                ret->fds[i] = fd;
        }
        return 0;
}

void launch_fds_done(LaunchFds *f) {
        strv_free(f->names);
        free(f->fds);
        *f = (LaunchFds) {};
}

int launch_fds_get(const LaunchFds *f, const char *name) {
        for (size_t i = 0; i < f->n && f->names; i++)
                if (streq_ptr(f->names[i], name))
                        return f->fds[i];
        return -EBADF;
}
