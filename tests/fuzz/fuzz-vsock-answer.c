/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reader of the hybrid vsock handshake's answer ("OK <port>\n" from Firecracker or
 * cloud-hypervisor): whatever arrives, in whatever pieces, it ends in one of its documented
 * results, reads no byte past the answer's line, and agrees with the line parser. */

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent-connect.h"
#include "fuzz.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        VsockHybridAnswer answer = {};
        int fds[2], r;
        size_t sent = 0, chunk;

        if (size == 0 || size > 4096)
                return 0;
        /* The first byte cuts the rest into pieces of that size (at least 1). */
        chunk = MAX((size_t) data[0], (size_t) 1);
        data++, size--;

        FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) >= 0);
        a = fds[0], b = fds[1];
        for (;;) {
                if (sent < size) {
                        size_t k = MIN(chunk, size - sent);

                        FUZZ_CHECK(write(b, data + sent, k) == (ssize_t) k);
                        sent += k;
                } else
                        (void) shutdown(b, SHUT_WR);
                r = vsock_hybrid_read_answer(a, &answer);
                if (r != 0)
                        break;
                FUZZ_CHECK(sent < size || answer.length < sizeof(answer.line));
        }
        FUZZ_CHECK(r == 1 || r == -ECONNREFUSED || r == -EPROTO);
        if (r == 1) {
                /* A whole line, and nothing read after it: the guest's bytes stay in the socket. */
                const char *nl = memchr(data, '\n', size);

                FUZZ_CHECK(nl);
                FUZZ_CHECK(vsock_hybrid_parse_answer(answer.line) == 0);
                FUZZ_CHECK((size_t) (nl - (const char *) data) == strlen(answer.line));
        }
        return 0;
}
