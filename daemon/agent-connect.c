/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Connecting to a guest agent. */

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent-connect.h"
#include "macro.h"
#include "socket-util.h"
#include "time-util.h"

int agent_socket_connect(const char *path, int *ret_fd) {
        return unix_connect(path, SOCK_NONBLOCK, ret_fd);
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

int vsock_hybrid_send_connect(int fd, uint32_t port) {
        char request[32];
        size_t n = (size_t) snprintf(request, sizeof(request), "CONNECT %" PRIu32 "\n", port);
        ssize_t k;

        do
                k = send(fd, request, n, MSG_NOSIGNAL);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        return (size_t) k == n ? 0 : -EAGAIN;
}

int vsock_hybrid_parse_answer(const char *line) {
        unsigned long host_port;
        char *end;

        if (strncmp(line, "OK ", 3) != 0 || !isdigit((unsigned char) line[3]))
                return -EPROTO;
        errno = 0;
        host_port = strtoul(line + 3, &end, 10);
        if (errno != 0 || *end != '\0' || host_port > UINT32_MAX)
                return -EPROTO;
        return 0;
}

int vsock_hybrid_read_answer(int fd, VsockHybridAnswer *answer) {
        for (;;) {
                ssize_t k;

                if (answer->length == sizeof(answer->line) - 1)
                        return -EPROTO;
                k = read(fd, answer->line + answer->length, 1);
                if (k == 0)
                        return -ECONNREFUSED;
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errno == EAGAIN ? 0 : -errno;
                /* A NUL would hide the rest of the line from the parser. */
                if (answer->line[answer->length] == '\0')
                        return -EPROTO;
                if (answer->line[answer->length++] != '\n')
                        continue;
                answer->line[answer->length - 1] = '\0';
                return vsock_hybrid_parse_answer(answer->line) < 0 ? -EPROTO : 1;
        }
}

int vsock_hybrid_handshake(int fd, uint32_t port, uint64_t timeout_usec) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec;
        VsockHybridAnswer answer = {};
        int r;

        for (;;) {
                r = vsock_hybrid_send_connect(fd, port);
                if (r != -EAGAIN)
                        break;
                r = wait_fd(fd, POLLOUT, deadline);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        for (;;) {
                r = vsock_hybrid_read_answer(fd, &answer);
                if (r != 0)
                        return r < 0 ? r : 0;
                r = wait_fd(fd, POLLIN, deadline);
                if (r < 0)
                        return r;
        }
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
