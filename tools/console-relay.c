/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The console session's poll loop: standard input to the console's socket, the socket to standard
 * output, with the terminal in raw mode and everything put back at the end. */

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/param.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>

#include "console-escape.h"
#include "console-relay.h"
#include "macro.h"
#include "time-util.h"

#define RELAY_BUFFER_SIZE (64 * 1024)

typedef struct RelayBuffer {
        char data[RELAY_BUFFER_SIZE];
        size_t length;
} RelayBuffer;

typedef struct Relay {
        int console_fd;                 /* borrowed */
        int signal_fd;
        uint64_t idle_usec;

        /* What is put back at the end. */
        bool terminal;                  /* standard input is a terminal, now in raw mode */
        struct termios saved_termios;
        int saved_flags[2];             /* of standard input and output; -1: not changed */
        bool signals_blocked;
        sigset_t saved_mask;
        bool sigpipe_ignored;
        struct sigaction saved_sigpipe;

        ConsoleEscape escape;
        RelayBuffer to_guest, from_guest;
        bool input_done;                /* standard input ended */
        bool console_read_done;         /* the console's socket ended */
        bool console_write_done;        /* the console takes nothing any more */
        uint64_t active_usec;           /* when bytes last went either way */
        char last_output;               /* the last byte written to standard output, or 0 */
} Relay;

static size_t buffer_room(const RelayBuffer *b) {
        return sizeof(b->data) - b->length;
}

static void buffer_consume(RelayBuffer *b, size_t n) {
        memmove(b->data, b->data + n, b->length - n);
        b->length -= n;
}

/* Blocks the signals that end a session, so that they arrive through the poll loop and the terminal
 * is put back before anything else happens; a write to a closed standard output must fail with
 * EPIPE, not kill us with the terminal still raw. */
static int relay_catch_signals(Relay *r) {
        struct sigaction ignore = { .sa_handler = SIG_IGN };
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, &r->saved_mask) < 0)
                return negative_errno();
        r->signals_blocked = true;

        r->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (r->signal_fd < 0)
                return negative_errno();

        if (sigaction(SIGPIPE, &ignore, &r->saved_sigpipe) < 0)
                return negative_errno();
        r->sigpipe_ignored = true;
        return 0;
}

/* Standard input and output become non-blocking for the session. Their flags belong to an open
 * file description that the shell shares (often one for both), so both are read before either
 * changes, and both are put back. */
static int relay_make_nonblocking(Relay *r) {
        int flags[2];

        for (int fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++) {
                flags[fd] = fcntl(fd, F_GETFL);
                if (flags[fd] < 0)
                        return negative_errno();
        }
        for (int fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++) {
                if (flags[fd] & O_NONBLOCK)
                        continue;
                if (fcntl(fd, F_SETFL, flags[fd] | O_NONBLOCK) < 0)
                        return negative_errno();
                r->saved_flags[fd] = flags[fd];
        }
        return 0;
}

/* Raw input, as cfmakeraw() makes it, so that every key (^C, ^D, ^Z too) reaches the guest as typed
 * and the guest's shell does the echoing; output processing stays as it was, as in systemd's pty
 * forwarder. */
static int relay_make_raw(Relay *r) {
        struct termios raw;

        if (tcgetattr(STDIN_FILENO, &r->saved_termios) < 0)
                return 0; /* not a terminal */

        raw = r->saved_termios;
        cfmakeraw(&raw);
        raw.c_oflag = r->saved_termios.c_oflag;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
                return negative_errno();
        r->terminal = true;
        return 0;
}

static void relay_restore(Relay *r) {
        if (r->terminal)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &r->saved_termios);
        for (int fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++)
                if (r->saved_flags[fd] >= 0)
                        (void) fcntl(fd, F_SETFL, r->saved_flags[fd]);
        if (r->sigpipe_ignored)
                (void) sigaction(SIGPIPE, &r->saved_sigpipe, NULL);
        closep(&r->signal_fd);
        if (r->signals_blocked)
                (void) sigprocmask(SIG_SETMASK, &r->saved_mask, NULL);
}

static bool errno_is_transient(int e) {
        return IN_SET(e, EAGAIN, EINTR);
}

/* The input that is to reach the guest, through the escape detector when a person types it. Returns
 * 1 when the escape was typed. */
static int relay_add_input(Relay *r, const char *p, size_t n, uint64_t now) {
        RelayBuffer *b = &r->to_guest;
        size_t k;

        if (!r->terminal) {
                memcpy(b->data + b->length, p, n);
                b->length += n;
                return 0;
        }
        if (console_escape_feed(&r->escape, p, n, now, b->data + b->length, &k)) {
                b->length += k;
                return 1;
        }
        b->length += k;
        return 0;
}

static int relay_read_input(Relay *r, uint64_t now, ConsoleRelayResult *ret) {
        char buf[RELAY_BUFFER_SIZE];
        size_t room = buffer_room(&r->to_guest) - CONSOLE_ESCAPE_EXTRA;
        ssize_t n;

        n = read(STDIN_FILENO, buf, MIN(room, sizeof(buf)));
        if (n < 0 && errno_is_transient(errno))
                return 0;
        /* A terminal that hung up reads EIO. */
        if (n == 0 || (n < 0 && errno == EIO && r->terminal)) {
                r->input_done = true;
                r->active_usec = now;
                if (r->terminal) {
                        *ret = (ConsoleRelayResult) { .end = CONSOLE_RELAY_INPUT_DONE };
                        return 1;
                }
                return 0;
        }
        if (n < 0)
                return negative_errno();

        if (r->console_write_done)
                return 0;
        if (relay_add_input(r, buf, (size_t) n, now) > 0) {
                /* What was typed before the escape in the same read goes out if it can at once. */
                if (r->to_guest.length > 0)
                        (void) send(r->console_fd, r->to_guest.data, r->to_guest.length, MSG_NOSIGNAL);
                *ret = (ConsoleRelayResult) { .end = CONSOLE_RELAY_ESCAPED };
                return 1;
        }
        return 0;
}

static int relay_read_console(Relay *r, uint64_t now) {
        RelayBuffer *b = &r->from_guest;
        ssize_t n;

        n = recv(r->console_fd, b->data + b->length, buffer_room(b), 0);
        if (n < 0 && errno_is_transient(errno))
                return 0;
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                r->console_read_done = true;
                return 0;
        }
        if (n < 0)
                return negative_errno();
        b->length += (size_t) n;
        r->active_usec = now;
        return 0;
}

static int relay_write_console(Relay *r, uint64_t now) {
        RelayBuffer *b = &r->to_guest;
        ssize_t n;

        n = send(r->console_fd, b->data, b->length, MSG_NOSIGNAL);
        if (n < 0 && errno_is_transient(errno))
                return 0;
        if (n < 0 && IN_SET(errno, EPIPE, ECONNRESET)) {
                /* Closed on the other side: reading tells the rest. */
                r->console_write_done = true;
                b->length = 0;
                return 0;
        }
        if (n < 0)
                return negative_errno();
        buffer_consume(b, (size_t) n);
        r->active_usec = now;
        return 0;
}

static int relay_write_output(Relay *r, ConsoleRelayResult *ret) {
        RelayBuffer *b = &r->from_guest;
        ssize_t n;

        n = write(STDOUT_FILENO, b->data, b->length);
        if (n < 0 && errno_is_transient(errno))
                return 0;
        if (n < 0 && errno == EPIPE) {
                *ret = (ConsoleRelayResult) { .end = CONSOLE_RELAY_OUTPUT_CLOSED };
                return 1;
        }
        if (n < 0)
                return negative_errno();
        if (n > 0)
                r->last_output = b->data[n - 1];
        buffer_consume(b, (size_t) n);
        return 0;
}

static int relay_read_signal(Relay *r, ConsoleRelayResult *ret) {
        struct signalfd_siginfo si;
        ssize_t n;

        n = read(r->signal_fd, &si, sizeof(si));
        if (n < 0 && errno_is_transient(errno))
                return 0;
        if (n < 0)
                return negative_errno();
        if (n != sizeof(si))
                return -EIO;
        *ret = (ConsoleRelayResult) { .end = CONSOLE_RELAY_SIGNAL, .signo = (int) si.ssi_signo };
        return 1;
}

/* The ^] held back go out once their second is over, if they fit; returns when the next ones are
 * due. */
static uint64_t relay_escape_deadline(Relay *r, uint64_t now) {
        char held[CONSOLE_ESCAPE_EXTRA];
        size_t n;

        if (buffer_room(&r->to_guest) < CONSOLE_ESCAPE_EXTRA)
                return UINT64_MAX;
        n = console_escape_expire(&r->escape, now, held);
        if (n > 0 && !r->console_write_done) {
                memcpy(r->to_guest.data + r->to_guest.length, held, n);
                r->to_guest.length += n;
        }
        return console_escape_deadline(&r->escape);
}

/* When the session is over for lack of input: standard input ended, all of it was sent, and the
 * console has been quiet for idle_usec; UINT64_MAX while that is not so. */
static uint64_t relay_idle_deadline(const Relay *r) {
        if (!r->input_done || r->terminal || r->to_guest.length > 0 || r->from_guest.length > 0)
                return UINT64_MAX;
        return r->active_usec + r->idle_usec;
}

static int poll_timeout_ms(uint64_t deadline, uint64_t now) {
        if (deadline == UINT64_MAX)
                return -1;
        if (deadline <= now)
                return 0;
        /* Rounded up: waking early would only spin. */
        return (int) MIN((deadline - now + 999) / 1000, (uint64_t) INT32_MAX);
}

enum { POLL_INPUT, POLL_CONSOLE, POLL_OUTPUT, POLL_SIGNAL, _POLL_MAX };

static int relay_loop(Relay *r, ConsoleRelayResult *ret) {
        const short ready = POLLIN | POLLOUT | POLLHUP | POLLERR;
        int k;

        r->active_usec = now_usec(CLOCK_MONOTONIC);
        for (;;) {
                struct pollfd p[_POLL_MAX] = {};
                uint64_t now = now_usec(CLOCK_MONOTONIC), escape_deadline, idle_deadline;
                short console_events = 0;

                if (r->console_read_done && r->from_guest.length == 0) {
                        *ret = (ConsoleRelayResult) { .end = CONSOLE_RELAY_CLOSED };
                        return 0;
                }
                escape_deadline = relay_escape_deadline(r, now);
                idle_deadline = relay_idle_deadline(r);
                if (idle_deadline <= now) {
                        *ret = (ConsoleRelayResult) { .end = CONSOLE_RELAY_INPUT_DONE };
                        return 0;
                }

                /* A descriptor with nothing to wait for is left out (-1), or its hangup would
                 * make poll() return at once, again and again. */
                p[POLL_INPUT] = (struct pollfd) { .fd = -1, .events = POLLIN };
                if (!r->input_done && buffer_room(&r->to_guest) > CONSOLE_ESCAPE_EXTRA)
                        p[POLL_INPUT].fd = STDIN_FILENO;
                if (!r->console_read_done && buffer_room(&r->from_guest) > 0)
                        console_events |= POLLIN;
                if (!r->console_write_done && r->to_guest.length > 0)
                        console_events |= POLLOUT;
                p[POLL_CONSOLE] = (struct pollfd) {
                        .fd = console_events ? r->console_fd : -1, .events = console_events,
                };
                p[POLL_OUTPUT] = (struct pollfd) {
                        .fd = r->from_guest.length > 0 ? STDOUT_FILENO : -1, .events = POLLOUT,
                };
                p[POLL_SIGNAL] = (struct pollfd) { .fd = r->signal_fd, .events = POLLIN };

                if (poll(p, _POLL_MAX, poll_timeout_ms(MIN(escape_deadline, idle_deadline), now)) < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                now = now_usec(CLOCK_MONOTONIC);

                if (p[POLL_SIGNAL].revents & POLLIN) {
                        k = relay_read_signal(r, ret);
                        if (k != 0)
                                return k < 0 ? k : 0;
                }
                if (p[POLL_INPUT].revents & ready) {
                        k = relay_read_input(r, now, ret);
                        if (k != 0)
                                return k < 0 ? k : 0;
                }
                if ((console_events & POLLIN) && (p[POLL_CONSOLE].revents & (POLLIN | POLLHUP | POLLERR))) {
                        k = relay_read_console(r, now);
                        if (k < 0)
                                return k;
                }
                if ((console_events & POLLOUT) && (p[POLL_CONSOLE].revents & (POLLOUT | POLLHUP | POLLERR))) {
                        k = relay_write_console(r, now);
                        if (k < 0)
                                return k;
                }
                if (p[POLL_OUTPUT].revents & ready) {
                        k = relay_write_output(r, ret);
                        if (k != 0)
                                return k < 0 ? k : 0;
                }
        }
}

int console_relay_run(int fd, uint64_t idle_usec, ConsoleRelayResult *ret) {
        _cleanup_free_ Relay *r = NULL;
        ConsoleRelayResult result = {};
        int flags, k;

        assert(fd >= 0);
        assert(ret);

        r = calloc(1, sizeof(Relay));
        if (!r)
                return -ENOMEM;
        *r = (Relay) {
                .console_fd = fd,
                .signal_fd = -EBADF,
                .idle_usec = idle_usec,
                .saved_flags = { -1, -1 },
        };

        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();

        k = relay_catch_signals(r);
        if (k >= 0)
                k = relay_make_nonblocking(r);
        if (k >= 0)
                k = relay_make_raw(r);
        if (k >= 0)
                k = relay_loop(r, &result);
        relay_restore(r);
        /* Whatever comes next on a terminal starts on a line of its own, not after the guest's
         * prompt. */
        if (r->last_output != 0 && r->last_output != '\n' && isatty(STDOUT_FILENO))
                (void) write(STDOUT_FILENO, "\n", 1);
        if (k < 0)
                return k;

        *ret = result;
        return 0;
}
