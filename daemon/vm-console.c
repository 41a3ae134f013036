/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The serial console relay: hypervisor socket ⇄ microvmd ⇄ one console client, with the ring and
 * the journal fed on the way. Every descriptor is non-blocking: a client that does not read, or a
 * paused guest that does not take input, holds nothing else up. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "backend.h"
#include "console-journal.h"
#include "fileio.h"
#include "log.h"
#include "manager.h"
#include "ring-buffer.h"
#include "time-util.h"
#include "socket-util.h"
#include "vm-console.h"
#include "vm-files.h"

/* While the hypervisor starts its socket is not there yet: look again soon. Later, a lost
 * connection is tried again less often. */
#define CONSOLE_RETRY_STARTING_USEC (20 * UINT64_C(1000))
#define CONSOLE_RETRY_USEC (1000 * UINT64_C(1000))
/* A client that falls this far behind the guest's output is disconnected rather than remembered
 * without bound. */
#define CONSOLE_CLIENT_BACKLOG_MAX (4 * 1024 * 1024)

typedef struct ConsoleClient {
        int fd;
        sd_event_source *io;
        uint8_t *out;           /* output not yet taken by the client: out[out_off..out_len) */
        size_t out_off, out_len, out_size;
} ConsoleClient;

struct VMConsole {
        VM *vm;
        int serial_fd;
        sd_event_source *serial_io;
        sd_event_source *retry;
        RingBuffer ring;
        ConsoleJournal journal;
        ConsoleClient *client;
        uint8_t in[4096];       /* the client's input not yet taken by the hypervisor */
        size_t in_off, in_len;
};

static void console_client_free(VMConsole *con) {
        ConsoleClient *cl = con->client;

        if (!cl)
                return;
        sd_event_source_disable_unref(cl->io);
        if (cl->fd >= 0)
                close(cl->fd);
        free(cl->out);
        free(cl);
        con->client = NULL;
        con->in_off = con->in_len = 0;
}

static void journal_line(const char *line, void *userdata) {
        VM *vm = userdata;

        /* OBJECT_SYSTEMD_UNIT= from root is what "journalctl -u" matches for a daemon writing
         * about a unit. */
        (void) sd_journal_send("MESSAGE=%s", line, "PRIORITY=6", "SYSLOG_IDENTIFIER=%s", vm->name,
                               "OBJECT_SYSTEMD_UNIT=%s", vm->unit, "MICROVM_VM=%s", vm->name,
                               "MICROVM_CONSOLE=1", NULL);
}

static void console_disconnect_serial(VMConsole *con) {
        con->serial_io = sd_event_source_disable_unref(con->serial_io);
        if (con->serial_fd >= 0)
                close(con->serial_fd);
        con->serial_fd = -EBADF;
        console_journal_flush(&con->journal, journal_line, con->vm);
        /* The client's stream ends with the hypervisor's. */
        console_client_free(con);
}

void vm_console_free(VM *vm) {
        VMConsole *con = vm->console;

        if (!con)
                return;
        console_disconnect_serial(con);
        sd_event_source_disable_unref(con->retry);
        ring_buffer_done(&con->ring);
        free(con);
        vm->console = NULL;
}

static int client_update_events(VMConsole *con) {
        ConsoleClient *cl = con->client;
        uint32_t events = 0;

        /* Input is read only when the last of it has gone to the hypervisor. */
        if (con->in_off == con->in_len)
                events |= EPOLLIN;
        if (cl->out_off < cl->out_len)
                events |= EPOLLOUT;
        return sd_event_source_set_io_events(cl->io, events);
}

static int serial_update_events(VMConsole *con) {
        return sd_event_source_set_io_events(con->serial_io, EPOLLIN | (con->in_off < con->in_len ? EPOLLOUT : 0));
}

/* Writes what the client has not taken yet; -errno when the client is gone. */
static int client_flush(VMConsole *con) {
        ConsoleClient *cl = con->client;

        while (cl->out_off < cl->out_len) {
                ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                cl->out_off += (size_t) n;
        }
        cl->out_off = cl->out_len = 0;
        return 0;
}

static int client_queue(VMConsole *con, const uint8_t *p, size_t n) {
        ConsoleClient *cl = con->client;

        if (n == 0)
                return 0;
        if (cl->out_len - cl->out_off + n > CONSOLE_CLIENT_BACKLOG_MAX)
                return -ENOBUFS;
        if (cl->out_off > 0 && cl->out_len + n > cl->out_size) {
                memmove(cl->out, cl->out + cl->out_off, cl->out_len - cl->out_off);
                cl->out_len -= cl->out_off;
                cl->out_off = 0;
        }
        if (cl->out_len + n > cl->out_size) {
                size_t size = MAX(cl->out_size * 2, cl->out_len + n);
                uint8_t *b = realloc(cl->out, size);

                if (!b)
                        return -ENOMEM;
                cl->out = b;
                cl->out_size = size;
        }
        memcpy(cl->out + cl->out_len, p, n);
        cl->out_len += n;
        return 0;
}

/* Sends the output to the client, or drops the client when it cannot take it. */
static void client_send(VMConsole *con, const uint8_t *p1, size_t n1, const uint8_t *p2, size_t n2) {
        int r;

        r = client_queue(con, p1, n1);
        if (r >= 0)
                r = client_queue(con, p2, n2);
        if (r >= 0)
                r = client_flush(con);
        if (r >= 0)
                r = client_update_events(con);
        if (r < 0) {
                if (r == -ENOBUFS)
                        log_notice("The console client of VM %s stopped reading; closing it.", con->vm->name);
                else
                        log_debug_errno(r, "The console client of VM %s went away: %m", con->vm->name);
                console_client_free(con);
        }
}

/* Passes the client's input on to the hypervisor, as far as it takes it now. */
static int serial_flush_input(VMConsole *con) {
        while (con->in_off < con->in_len) {
                ssize_t n = send(con->serial_fd, con->in + con->in_off, con->in_len - con->in_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                con->in_off += (size_t) n;
        }
        con->in_off = con->in_len = 0;
        return 0;
}

static void console_schedule_retry(VMConsole *con);

static void console_serial_lost(VMConsole *con, int error) {
        log_debug_errno(error, "The serial console of VM %s closed: %m", con->vm->name);
        console_disconnect_serial(con);
        console_schedule_retry(con);
}

static int client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        VMConsole *con = userdata;
        int r;

        if (revents & EPOLLOUT) {
                r = client_flush(con);
                if (r < 0)
                        goto gone;
        }
        /* Gone while its last input still waits for the hypervisor: that input goes with it. */
        if ((revents & (EPOLLHUP | EPOLLERR)) && con->in_off < con->in_len) {
                r = -ECONNRESET;
                goto gone;
        }
        if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && con->in_off == con->in_len) {
                ssize_t n = recv(fd, con->in, sizeof(con->in), MSG_DONTWAIT);

                if (n < 0 && errno != EAGAIN) {
                        r = -errno;
                        goto gone;
                }
                if (n == 0) {
                        r = -ECONNRESET;
                        goto gone;
                }
                if (n > 0) {
                        con->in_off = 0;
                        con->in_len = (size_t) n;
                        r = serial_flush_input(con);
                        if (r < 0) {
                                console_serial_lost(con, r);
                                return 0;
                        }
                        r = serial_update_events(con);
                        if (r < 0)
                                goto gone;
                }
        }
        r = client_update_events(con);
        if (r >= 0)
                return 0;
gone:
        log_debug_errno(r, "The console client of VM %s closed: %m", con->vm->name);
        console_client_free(con);
        return 0;
}

static void console_output(VMConsole *con, const uint8_t *p, size_t n) {
        ring_buffer_append(&con->ring, p, n);
        console_journal_feed(&con->journal, p, n, journal_line, con->vm);
        if (con->client)
                client_send(con, p, n, NULL, 0);
}

static int serial_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        VMConsole *con = userdata;
        uint8_t buf[65536];
        int r;

        if (revents & EPOLLOUT) {
                r = serial_flush_input(con);
                if (r >= 0)
                        r = serial_update_events(con);
                if (r >= 0 && con->client)
                        r = client_update_events(con);
                if (r < 0) {
                        console_serial_lost(con, r);
                        return 0;
                }
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;

        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n <= 0) {
                console_serial_lost(con, n < 0 ? -errno : -ECONNRESET);
                return 0;
        }
        console_output(con, buf, (size_t) n);
        return 0;
}

/* What the guest wrote before microvmd connected is in the hypervisor's log of the serial port:
 * the ring starts with its end. In a run's first connection the journal gets it too; after a
 * restart of microvmd it had it already, and the marker in the runtime directory says so. */
static void console_seed(VMConsole *con) {
        _cleanup_free_ char *log_path = NULL, *runtime_dir = NULL, *marker = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        ssize_t n;
        bool journal;

        if (con->ring.length > 0)
                return;
        if (asprintf(&log_path, "%s/" MVM_SERIAL_LOG, con->vm->state_dir) < 0 ||
            vm_runtime_dir(con->vm->name, &runtime_dir) < 0 ||
            asprintf(&marker, "%s/" MVM_CONSOLE_MARKER_FILE, runtime_dir) < 0)
                return (void) log_oom();

        journal = access(marker, F_OK) < 0;
        if (journal) {
                int r = write_file_atomic(marker, "\n", 1, 0644);
                if (r < 0)
                        log_debug_errno(r, "Cannot write %s, ignoring: %m", marker);
        }

        fd = open(log_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0)
                return;
        size_t size = MIN((size_t) st.st_size, (size_t) VM_CONSOLE_RING_SIZE);
        buf = malloc(size);
        if (!buf)
                return (void) log_oom();
        n = pread(fd, buf, size, st.st_size - (off_t) size);
        if (n <= 0)
                return;
        ring_buffer_append(&con->ring, buf, (size_t) n);
        if (journal)
                console_journal_feed(&con->journal, buf, (size_t) n, journal_line, con->vm);
}

static int console_connect(VMConsole *con) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (vm_runtime_dir(con->vm->name, &dir) < 0 || asprintf(&path, "%s/" MVM_SERIAL_SOCKET, dir) < 0)
                return -ENOMEM;
        r = unix_connect(path, SOCK_NONBLOCK, &fd);
        if (r < 0)
                return r;

        r = sd_event_add_io(con->vm->manager->event, &con->serial_io, fd, EPOLLIN, serial_io, con);
        if (r < 0)
                return r;
        con->serial_fd = TAKE_FD(fd);
        console_seed(con);
        log_debug("Connected to the serial console of VM %s.", con->vm->name);
        return 0;
}

static bool console_wanted(const VM *vm) {
        const Backend *b = vm_backend(vm);

        /* Firecracker's console is its standard output, which goes to the unit's journal. */
        return IN_SET(vm->state, VM_STARTING, VM_RUNNING, VM_PAUSED) && b && b->serial_socket;
}

static int console_retry_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        VMConsole *con = userdata;
        int r;

        con->retry = sd_event_source_disable_unref(con->retry);
        if (!console_wanted(con->vm) || con->serial_fd >= 0)
                return 0;
        r = console_connect(con);
        if (r < 0)
                console_schedule_retry(con);
        return 0;
}

static void console_schedule_retry(VMConsole *con) {
        int r;

        if (con->retry || !console_wanted(con->vm))
                return;
        r = sd_event_add_time_relative(con->vm->manager->event, &con->retry, CLOCK_MONOTONIC,
                                       con->vm->state == VM_STARTING ? CONSOLE_RETRY_STARTING_USEC : CONSOLE_RETRY_USEC,
                                       /* accuracy= */ 1, console_retry_handler, con);
        if (r < 0)
                log_warning_errno(r, "Cannot schedule connecting to the console of VM %s: %m", con->vm->name);
}

void vm_console_follow_state(VM *vm) {
        VMConsole *con = vm->console;

        if (!vm->manager || !vm->manager->event)
                return;

        if (vm_state_is_active(vm->state) <= 0) {
                /* Stopped: the next run's console starts empty. */
                vm_console_free(vm);
                return;
        }
        if (!console_wanted(vm))
                return;         /* stopping: keep reading the guest's shutdown */

        if (!con) {
                con = calloc(1, sizeof(VMConsole));
                if (!con)
                        return (void) log_oom();
                con->vm = vm;
                con->serial_fd = -EBADF;
                if (ring_buffer_init(&con->ring, VM_CONSOLE_RING_SIZE) < 0) {
                        free(con);
                        return (void) log_oom();
                }
                vm->console = con;
        }
        if (con->serial_fd >= 0 || con->retry)
                return;
        if (console_connect(con) < 0)
                console_schedule_retry(con);
}

int vm_console_open(VM *vm, int *ret_fd) {
        VMConsole *con = vm->console;
        _cleanup_close_ int ours = -EBADF, theirs = -EBADF;
        const uint8_t *p1, *p2;
        size_t n1, n2;
        int pair[2], r;

        if (!con || con->serial_fd < 0)
                return -ENOTCONN;
        if (con->client)
                return -EBUSY;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        ours = pair[0];
        theirs = pair[1];
        /* Only our end: the client's stays blocking, as a terminal program expects. */
        if (fcntl(ours, F_SETFL, O_NONBLOCK) < 0)
                return -errno;

        con->client = calloc(1, sizeof(ConsoleClient));
        if (!con->client)
                return -ENOMEM;
        con->client->fd = -EBADF;
        r = sd_event_add_io(vm->manager->event, &con->client->io, ours, EPOLLIN, client_io, con);
        if (r < 0) {
                console_client_free(con);
                return r;
        }
        con->client->fd = TAKE_FD(ours);

        /* The replay is on its way before the reply is. */
        ring_buffer_peek(&con->ring, &p1, &n1, &p2, &n2);
        client_send(con, p1, n1, p2, n2);
        if (!con->client)
                return -ECONNRESET;

        *ret_fd = TAKE_FD(theirs);
        return 0;
}
