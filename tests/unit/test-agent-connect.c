/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's end of an agent channel: the hybrid vsock handshake of Firecracker and
 * cloud-hypervisor against a socket the test plays the hypervisor on, and connecting to a Unix
 * socket. */

#include <criterion/criterion.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent-connect.h"
#include "agent-protocol.h"
#include "test-util.h"

#define TIMEOUT_USEC (2 * UINT64_C(1000000))

/* A connected pair: [0] the host's end (non-blocking, as agent_socket_connect() gives it), [1] the
 * hypervisor's. */
static void pair(int fds[2]) {
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0, "socketpair: %m");
        cr_assert_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
}

static char *read_available(int fd) {
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

        cr_assert_geq(n, 0, "recv: %m");
        buf[n] = '\0';
        return g_strdup(buf);
}

/* The hypervisor's answers and what the handshake makes of them. */
Test(agent_connect, hybrid_vsock_answers) {
        static const struct {
                const char *answer;     /* written before the handshake; NULL: close instead */
                int r;
        } cases[] = {
                { "OK 1073741824\n", 0 },
                { "OK 5\n", 0 },
                { NULL, -ECONNREFUSED },                /* nothing listens on the port: closed */
                { "OK\n", -EPROTO },
                { "OK x\n", -EPROTO },
                { "OK 99999999999\n", -EPROTO },
                { "ERR no listener\n", -EPROTO },
                { "ok 1\n", -EPROTO },
                { "OK 1", -ETIMEDOUT },                 /* no end of line within the timeout */
                { "", -ETIMEDOUT },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *request = NULL;
                int fds[2];

                pair(fds);
                if (cases[i].answer)
                        cr_assert_eq(write(fds[1], cases[i].answer, strlen(cases[i].answer)),
                                     (ssize_t) strlen(cases[i].answer));
                else
                        cr_assert_eq(shutdown(fds[1], SHUT_WR), 0);

                cr_expect_eq(vsock_hybrid_handshake(fds[0], MVM_AGENT_VSOCK_PORT,
                                                    cases[i].r == -ETIMEDOUT ? 200000 : TIMEOUT_USEC),
                             cases[i].r, "answer '%s'", strempty(cases[i].answer));
                request = read_available(fds[1]);
                cr_expect_str_eq(request, "CONNECT 5100\n", "the request for answer '%s'", strempty(cases[i].answer));
                close(fds[0]);
                close(fds[1]);
        }
}

/* What follows the OK line is the guest's stream: the handshake leaves it unread. */
Test(agent_connect, hybrid_vsock_leaves_the_stream) {
        static const char answer[] = "OK 1073741824\n\0AUTH from the guest";
        char rest[64] = {};
        int fds[2];

        pair(fds);
        cr_assert_eq(write(fds[1], answer, sizeof(answer) - 1), (ssize_t) sizeof(answer) - 1);
        cr_assert_eq(vsock_hybrid_handshake(fds[0], 7, TIMEOUT_USEC), 0);
        cr_assert_eq(read(fds[0], rest, sizeof(rest)), (ssize_t) (sizeof(answer) - 1 - strlen("OK 1073741824\n")));
        cr_expect_eq(memcmp(rest, "\0AUTH from the guest", sizeof("\0AUTH from the guest") - 1), 0);
        close(fds[0]);
        close(fds[1]);
}

/* On an event loop the answer arrives in pieces: each read takes what is there and says whether
 * to wait for more. */
Test(agent_connect, hybrid_vsock_in_steps) {
        static const char *const pieces[] = { "O", "K 10", "73741824", "\n" };
        VsockHybridAnswer answer = {};
        g_autofree char *request = NULL;
        int fds[2];

        pair(fds);
        cr_assert_eq(vsock_hybrid_send_connect(fds[0], MVM_AGENT_VSOCK_PORT), 0);
        request = read_available(fds[1]);
        cr_expect_str_eq(request, "CONNECT 5100\n");

        cr_expect_eq(vsock_hybrid_read_answer(fds[0], &answer), 0, "nothing yet");
        for (size_t i = 0; i < ELEMENTSOF(pieces); i++) {
                cr_assert_eq(write(fds[1], pieces[i], strlen(pieces[i])), (ssize_t) strlen(pieces[i]));
                cr_expect_eq(vsock_hybrid_read_answer(fds[0], &answer), i + 1 < ELEMENTSOF(pieces) ? 0 : 1,
                             "after piece %zu", i);
        }
        close(fds[0]);
        close(fds[1]);

        /* A line longer than any answer is not one: refused before the buffer ends. */
        pair(fds);
        memset(&answer, 0, sizeof(answer));
        for (size_t i = 0; i < sizeof(answer.line); i++)
                cr_assert_eq(write(fds[1], "9", 1), 1);
        cr_expect_eq(vsock_hybrid_read_answer(fds[0], &answer), -EPROTO);
        cr_expect_lt(answer.length, sizeof(answer.line));
        close(fds[0]);
        close(fds[1]);
}

Test(agent_connect, hybrid_vsock_parse) {
        static const struct {
                const char *line;
                int r;
        } cases[] = {
                { "OK 0", 0 },
                { "OK 4294967295", 0 },
                { "OK 4294967296", -EPROTO },
                { "OK -1", -EPROTO },
                { "OK +1", -EPROTO },
                { "OK  1", -EPROTO },
                { "OK 1 ", -EPROTO },
                { "OK", -EPROTO },
                { "", -EPROTO },
                { "CONNECT 5100", -EPROTO },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                cr_expect_eq(vsock_hybrid_parse_answer(cases[i].line), cases[i].r, "'%s'", cases[i].line);
}

Test(agent_connect, unix_socket) {
        g_autofree char *dir = tmpdir_new(), *path = g_build_filename(dir, "agent.sock", NULL);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int listener, fd = -1, flags;

        cr_expect_eq(agent_socket_connect(path, &fd), -ENOENT, "nothing there yet");

        listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, path);
        cr_assert_eq(bind(listener, (struct sockaddr *) &sa, sizeof(sa)), 0);
        cr_assert_eq(listen(listener, 1), 0);

        cr_assert_eq(agent_socket_connect(path, &fd), 0);
        flags = fcntl(fd, F_GETFL);
        cr_expect(flags & O_NONBLOCK, "non-blocking");
        cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC, "close-on-exec");
        close(fd);
        close(listener);

        cr_expect_eq(agent_socket_connect("/this/path/is/much/too/long/for/a/unix/socket/address/which/holds/"
                                          "at/most/one/hundred/and/eight/bytes/including/its/end", &fd),
                     -ENAMETOOLONG);
        dir = tmpdir_free(dir);
}
