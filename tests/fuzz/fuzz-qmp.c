/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmd's QMP client reading whatever a monitor socket sends: the input is what "QEMU" writes
 * before it closes the connection. With a command pending, the client must end in exactly one of
 * its states, answer the command exactly once, and never crash or loop. */

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "macro.h"
#include "qmp-client.h"

typedef struct Seen {
        unsigned ready, gone, replies, events;
} Seen;

static void on_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata) {
        Seen *s = userdata;

        FUZZ_CHECK(r < 0 || !error);
        s->replies++;
}

static void on_state(QmpClient *c, int r, void *userdata) {
        Seen *s = userdata;

        if (r < 0) {
                s->gone++;
                return;
        }
        s->ready++;
        /* Ready: a command for the input's replies to answer. */
        FUZZ_CHECK(qmp_client_call(c, "query-status", NULL, -EBADF, 0, on_reply, s) >= 0);
}

static void on_event(QmpClient *c, const char *event, json_object *data, void *userdata) {
        Seen *s = userdata;

        FUZZ_CHECK(event);
        s->events++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        QmpClient *c = NULL;
        int fds[2];
        Seen seen = {};

        /* More than a socket buffer would block the write below: inputs stay small. */
        if (size > 65536)
                return 0;
        FUZZ_CHECK(sd_event_new(&event) >= 0);
        FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) >= 0);
        FUZZ_CHECK(qmp_client_new_fd(event, fds[0], on_state, on_event, &seen, &c) >= 0);
        FUZZ_CHECK(size == 0 || write(fds[1], data, size) == (ssize_t) size);
        FUZZ_CHECK(shutdown(fds[1], SHUT_WR) >= 0);

        /* Every byte is read, then the end; a bounded number of turns of the loop. */
        for (unsigned turns = 0; seen.gone == 0; turns++) {
                FUZZ_CHECK(turns < 10000);
                FUZZ_CHECK(sd_event_run(event, 0) >= 0);
        }
        FUZZ_CHECK(seen.gone == 1 && seen.ready <= 1);
        /* A pending command is answered once, by its reply or by the connection's end. */
        FUZZ_CHECK(seen.replies == seen.ready);

        qmp_client_free(c);
        close(fds[1]);
        return 0;
}
