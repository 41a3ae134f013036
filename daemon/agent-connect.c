/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Connecting to a guest agent. */

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent-connect.h"
#include "macro.h"
#include "time-util.h"

int agent_socket_connect(const char *path, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A local stream socket connects at once or not at all: no EINPROGRESS to wait out. */
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;

        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Waits until fd is ready for events, until deadline. */
static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                uint64_t t = now_usec(CLOCK_MONOTONIC);
                int r;

                if (t >= deadline)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int) ((deadline - t + 999) / 1000));
                if (r > 0)
                        return 0;
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
}

int vsock_hybrid_handshake(int fd, uint32_t port, uint64_t timeout_usec) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec;
        char request[32], line[64];
        size_t sent = 0, got = 0, n;
        unsigned long host_port;
        char *end;
        int r;

        n = (size_t) snprintf(request, sizeof(request), "CONNECT %" PRIu32 "\n", port);
        while (sent < n) {
                ssize_t k = write(fd, request + sent, n - sent);

                if (k < 0 && errno == EAGAIN)
                        r = wait_fd(fd, POLLOUT, deadline);
                else if (k < 0)
                        r = errno == EINTR ? 0 : -errno;
                else {
                        sent += (size_t) k;
                        r = 0;
                }
                if (r < 0)
                        return r;
        }

        /* One byte at a time: what follows the line is the guest's, not ours to consume. */
        while (got == 0 || line[got - 1] != '\n') {
                ssize_t k;

                if (got == sizeof(line) - 1)
                        return -EPROTO;
                k = read(fd, line + got, 1);
                if (k == 0)
                        /* The hypervisor closes the connection when nothing listens on the port. */
                        return -ECONNREFUSED;
                if (k < 0 && errno == EAGAIN)
                        r = wait_fd(fd, POLLIN, deadline);
                else if (k < 0)
                        r = errno == EINTR ? 0 : -errno;
                else {
                        got++;
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        line[got - 1] = '\0';

        if (strncmp(line, "OK ", 3) != 0)
                return -EPROTO;
        errno = 0;
        host_port = strtoul(line + 3, &end, 10);
        if (errno != 0 || end == line + 3 || *end != '\0' || host_port > UINT32_MAX)
                return -EPROTO;
        return 0;
}

int agent_bus_new(int fd, sd_bus **ret) {
        _cleanup_close_ int owned = fd;
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_fd(bus, owned, owned);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        TAKE_FD(owned);
        /* A virtio-serial port carries no credentials: the guest takes anyone who can reach the
         * socket, which only root can. */
        r = sd_bus_set_anonymous(bus, true);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, false);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}
