/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A virtio-serial port. The port is one byte stream that carries every connection the host makes,
 * one after another. The guest cannot tell where one ends from the port's state: Linux's
 * virtio_console learns of the host connecting and disconnecting on a control queue that is
 * processed apart from (often after) the data, so a new connection's first bytes may be read
 * before the end of file that closes the old one, or before the port reports the host connected
 * at all. The stream itself is what counts: the server does not read the port, each connection
 * gets a socket pair, and the agent relays between it and the port, cutting the stream where a new
 * connection starts (agent-frame.c). A connection thus lasts until the next one starts (or its
 * server fails). The end of file the port reads when the driver thinks the host has gone only holds
 * output back: until the host sends more (the same connection goes on, or a new one starts and the
 * old one's output is dropped), or, once the host is back, until a short wait has shown that it
 * does not start a new connection (the host that went was another connection's, and this one's
 * host connected before the driver said so).
 *
 * The port stays open (it can be opened only once), under one edge-triggered watch: the driver
 * wakes pollers when data arrives, when output can go on, and when the host connects or goes. */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "agent-frame.h"
#include "agent-port.h"
#include "agent-server.h"
#include "log.h"

#define PORT_RETRY_MIN_USEC (5 * 1000)
#define PORT_RETRY_MAX_USEC (1000 * 1000)
#define PORT_BUFFER_SIZE (64 * 1024)
/* How long output held back after an end of file waits for a new connection to start. */
#define PORT_HOLD_USEC (20 * 1000)

/* Bytes on their way from one descriptor to another: data[start..end) is still to be written. */
typedef struct PortBuffer {
        uint8_t data[PORT_BUFFER_SIZE];
        size_t start, end;
} PortBuffer;

static size_t buffer_pending(const PortBuffer *b) {
        return b->end - b->start;
}

/* The room to read into at the end, moving what is pending to the front only when there is none:
 * output flows in full reads and 32 KiB port writes, which then never need moving. */
static size_t buffer_room(PortBuffer *b) {
        if (b->end == sizeof(b->data) && b->start > 0) {
                memmove(b->data, b->data + b->start, b->end - b->start);
                b->end -= b->start;
                b->start = 0;
        }
        return sizeof(b->data) - b->end;
}

static void buffer_consume(PortBuffer *b, size_t n) {
        b->start += n;
        if (b->start == b->end)
                b->start = b->end = 0;
}

static void buffer_clear(PortBuffer *b) {
        b->start = b->end = 0;
}

struct AgentPort {
        Agent *agent;                   /* borrowed */
        char *name;
        char *description;              /* "port NAME (/dev/vportNpM)", once found */
        int fd;
        uint64_t retry_usec;
        sd_event_source *retry_source;  /* looks for the port again while it is missing */
        sd_event_source *io_source;

        AgentFrame frame;               /* where the host's stream stands */

        /* The connection, while there is one: */
        int relay_fd;                   /* our end of the server's socket pair */
        sd_event_source *relay_source;
        AgentServer *server;            /* borrowed: a->servers owns it */
        PortBuffer in;                  /* from the host, for the server */
        PortBuffer out;                 /* from the server, for the host */
        bool host_told;                 /* since the last connection ended, the host was told to reconnect */
        bool host_gone;                 /* the port read end of file since the last data: output waits */
        sd_event_source *hold_source;   /* releases it once the host is back and starts nothing new */
};

static int port_open(AgentPort *p);

/* Bytes no D-Bus client takes, whether it is in its authentication lines or between messages: they
 * make it fail at once (and connect again), rather than wait for answers that will not come. */
static const uint8_t host_reset[] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        '\r', '\n', 'E', 'R', 'R', 'O', 'R', '\r', '\n',
};

/* Ends the connection: the server reads end of file, and what either side has not yet received
 * of the other's is dropped. */
static void port_end_connection(AgentPort *p) {
        if (p->server) {
                p->server->on_closed = NULL;
                p->server = NULL;
        }
        p->relay_source = sd_event_source_disable_unref(p->relay_source);
        closep(&p->relay_fd);
        buffer_clear(&p->in);
        buffer_clear(&p->out);
}

AgentPort *agent_port_free(AgentPort *p) {
        if (!p)
                return NULL;
        /* The agent is going (stopped or restarted): a host in the middle of a connection learns it
         * now, not when its calls time out. */
        if (p->fd >= 0 && p->relay_fd >= 0)
                (void) !write(p->fd, host_reset, sizeof(host_reset));
        port_end_connection(p);
        sd_event_source_disable_unref(p->retry_source);
        sd_event_source_disable_unref(p->io_source);
        sd_event_source_disable_unref(p->hold_source);
        closep(&p->fd);
        free(p->description);
        free(p->name);
        return mfree(p);
}

static void port_pump(AgentPort *p);

static int on_port_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        port_pump(userdata);
        return 0;
}

static int on_relay_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        port_pump(userdata);
        return 0;
}

static int on_hold_over(sd_event_source *s, uint64_t usec, void *userdata) {
        AgentPort *p = userdata;

        p->hold_source = sd_event_source_disable_unref(p->hold_source);
        p->host_gone = false;
        port_pump(p);
        return 0;
}

/* Output held back since an end of file: once the host is back, give it a moment to start a new
 * connection, then let the output go. */
static void port_hold_output(AgentPort *p) {
        struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
        int r;

        if (!p->host_gone || buffer_pending(&p->out) == 0 || p->hold_source)
                return;
        if (poll(&pfd, 1, 0) < 0 || (pfd.revents & POLLHUP))
                return;
        r = sd_event_add_time_relative(p->agent->event, &p->hold_source, CLOCK_MONOTONIC, PORT_HOLD_USEC,
                                       /* accuracy= */ 1000, on_hold_over, p);
        if (r < 0) {
                log_warning_errno(r, "Cannot wait on %s, sending at once: %m", p->description);
                p->host_gone = false;
        }
}

/* The host sends on a connection the guest no longer serves (the agent restarted, its server
 * failed, the host sent garbage): tell it. Dropped with the rest of the output if a new connection
 * starts first. */
static void port_tell_host(AgentPort *p) {
        if (p->host_told || buffer_room(&p->out) < sizeof(host_reset))
                return;
        log_debug("%s: the host talks on a connection that is gone, telling it to reconnect.", p->description);
        memcpy(p->out.data + p->out.end, host_reset, sizeof(host_reset));
        p->out.end += sizeof(host_reset);
        p->host_told = true;
}

/* The server gave up on the connection (bad authentication, a message it could not parse), or the
 * relay to it failed: what follows from the host up to the next connection is of no use. */
static void port_connection_failed(AgentPort *p) {
        log_debug("%s: the connection failed, waiting for the next one.", p->description);
        port_end_connection(p);
        agent_frame_reset(&p->frame);
        port_tell_host(p);
}

static void port_on_closed(AgentServer *s, void *userdata) {
        AgentPort *p = userdata;

        p->server = NULL;
        port_connection_failed(p);
        port_pump(p);
}

static int port_begin_connection(AgentPort *p) {
        int pair[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        p->relay_fd = pair[0];
        r = agent_server_new(p->agent, pair[1], p->description, port_on_closed, p, &p->server);
        if (r < 0) {
                closep(&p->relay_fd);
                return r;
        }
        r = sd_event_add_io(p->agent->event, &p->relay_source, p->relay_fd, EPOLLIN, on_relay_io, p);
        if (r < 0) {
                port_end_connection(p);
                return r;
        }
        p->host_told = false;
        log_debug("%s: the host connected.", p->description);
        return 0;
}

/* Takes bytes read from the host: the connection's go to its server, a new connection gets a
 * server of its own. */
static void port_receive(AgentPort *p, const uint8_t *data, size_t n) {
        while (n > 0) {
                AgentFrameEvent event;
                size_t k = agent_frame_scan(&p->frame, data, n, &event);
                int r;

                /* Never more than the room left in p->in was read. */
                if (p->relay_fd >= 0) {
                        memcpy(p->in.data + p->in.end, data, k);
                        p->in.end += k;
                } else if (k > 0)
                        port_tell_host(p);
                data += k;
                n -= k;

                switch (event) {
                case AGENT_FRAME_CONTINUE:
                        break;
                case AGENT_FRAME_NEW_CONNECTION:
                        if (p->relay_fd >= 0)
                                log_debug("%s: the next connection starts.", p->description);
                        port_end_connection(p);
                        r = port_begin_connection(p);
                        if (r < 0) {
                                log_error_errno(r, "Cannot serve %s: %m", p->description);
                                /* Drop this connection's bytes, up to the next one. */
                                agent_frame_reset(&p->frame);
                                if (n > 0) {
                                        data++;
                                        n--;
                                }
                        }
                        break;
                case AGENT_FRAME_GARBAGE:
                        log_warning("%s: the host sent what is not D-Bus, dropping its connection.",
                                    p->description);
                        port_end_connection(p);
                        port_tell_host(p);
                        break;
                default:
                        assert(false);
                }
        }
}

/* Moves what can be moved in both directions, until nothing can. */
static void port_pump(AgentPort *p) {
        bool progress = true;
        ssize_t k;

        while (progress) {
                progress = false;

                /* From the host. Edge-triggered: read until it would block (or the buffer is full:
                 * the relay's EPOLLOUT brings us back). */
                if (buffer_room(&p->in) > 0) {
                        uint8_t buf[PORT_BUFFER_SIZE];

                        k = read(p->fd, buf, buffer_room(&p->in));
                        if (k > 0) {
                                p->host_gone = false;
                                p->hold_source = sd_event_source_disable_unref(p->hold_source);
                                port_receive(p, buf, (size_t) k);
                                progress = true;
                        } else if (k == 0) {
                                /* The driver thinks the host is gone and everything it sent is
                                 * read: only a hint, see above. */
                                if (!p->host_gone)
                                        log_debug("%s: the host disconnected.", p->description);
                                p->host_gone = true;
                                agent_frame_sender_gone(&p->frame);
                        } else if (errno != EAGAIN && errno != EINTR)
                                log_warning_errno(errno, "Cannot read %s, ignoring: %m", p->description);
                }

                if (p->relay_fd >= 0 && buffer_pending(&p->in) > 0) {
                        k = write(p->relay_fd, p->in.data + p->in.start, buffer_pending(&p->in));
                        if (k > 0) {
                                buffer_consume(&p->in, (size_t) k);
                                progress = true;
                        } else if (k < 0 && errno != EAGAIN && errno != EINTR)
                                /* The server closed its end. */
                                port_connection_failed(p);
                }

                /* To the host. */
                if (p->relay_fd >= 0 && buffer_room(&p->out) > 0) {
                        k = read(p->relay_fd, p->out.data + p->out.end, buffer_room(&p->out));
                        if (k > 0) {
                                p->out.end += (size_t) k;
                                progress = true;
                        } else if (k == 0 || (errno != EAGAIN && errno != EINTR))
                                port_connection_failed(p);
                }

                if (buffer_pending(&p->out) > 0 && !p->host_gone) {
                        k = write(p->fd, p->out.data + p->out.start, buffer_pending(&p->out));
                        if (k > 0) {
                                buffer_consume(&p->out, (size_t) k);
                                progress = true;
                        } else if (k < 0 && errno != EAGAIN && errno != EINTR)
                                log_warning_errno(errno, "Cannot write %s, ignoring: %m", p->description);
                }
        }

        port_hold_output(p);

        /* The socket pair is level-triggered: watch it only for what it can take or give now (with
         * nothing to watch for, not at all: its end of file would wake us in a loop). */
        if (p->relay_source) {
                uint32_t events = (buffer_pending(&p->in) > 0 ? EPOLLOUT : 0) |
                                  (buffer_room(&p->out) > 0 ? EPOLLIN : 0);
                int r = 0;

                if (events != 0)
                        r = sd_event_source_set_io_events(p->relay_source, events);
                if (r >= 0)
                        r = sd_event_source_set_enabled(p->relay_source, events != 0 ? SD_EVENT_ON : SD_EVENT_OFF);
                if (r < 0) {
                        log_error_errno(r, "Cannot watch the server of %s, dropping the connection: %m",
                                        p->description);
                        port_connection_failed(p);
                }
        }
}

/* The first line of a small sysfs file. */
static int read_line(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

/* The device node of the port named name: 1 and *ret (free()), or 0 while there is none. The
 * name comes from the host a moment after the port appears. */
static int port_find(const char *name, char **ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        d = opendir("/sys/class/virtio-ports");
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                char path[PATH_MAX], line[256];

                if (de->d_name[0] == '.')
                        continue;
                (void) snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
                if (read_line(path, line, sizeof(line)) < 0 || !streq(line, name))
                        continue;
                if (asprintf(ret, "/dev/%s", de->d_name) < 0)
                        return -ENOMEM;
                return 1;
        }
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        AgentPort *p = userdata;

        p->retry_source = sd_event_source_disable_unref(p->retry_source);
        (void) port_open(p);
        return 0;
}

/* Tries again later, less often each time. */
static int port_retry(AgentPort *p) {
        int r;

        p->retry_usec = p->retry_usec == 0 ? PORT_RETRY_MIN_USEC : p->retry_usec * 2;
        if (p->retry_usec > PORT_RETRY_MAX_USEC)
                p->retry_usec = PORT_RETRY_MAX_USEC;
        r = sd_event_add_time_relative(p->agent->event, &p->retry_source, CLOCK_MONOTONIC, p->retry_usec,
                                       /* accuracy= */ 1000, on_retry, p);
        if (r < 0)
                return log_error_errno(r, "Cannot wait for port %s: %m", p->name);
        return 0;
}

/* Looks for the port and opens it; tries again later if it is not there yet. */
static int port_open(AgentPort *p) {
        _cleanup_free_ char *device = NULL;
        int r;

        r = port_find(p->name, &device);
        if (r < 0)
                log_warning_errno(r, "Cannot look for port %s: %m", p->name);
        if (r <= 0)
                return port_retry(p);

        p->fd = open(device, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (p->fd < 0) {
                /* devtmpfs may not have made the node yet. */
                if (errno != ENOENT)
                        log_warning_errno(errno, "Cannot open %s for port %s: %m", device, p->name);
                return port_retry(p);
        }
        free(p->description);
        if (asprintf(&p->description, "port %s (%s)", p->name, device) < 0) {
                p->description = NULL;
                return log_oom();
        }
        r = sd_event_add_io(p->agent->event, &p->io_source, p->fd, EPOLLIN | EPOLLOUT | EPOLLET, on_port_io, p);
        if (r < 0) {
                log_error_errno(r, "Cannot watch %s: %m", p->description);
                closep(&p->fd);
                return port_retry(p);
        }
        p->retry_usec = 0;
        log_debug("%s: waiting for the host.", p->description);
        return 0;
}

bool agent_port_output_pending(AgentPort *p) {
        int queued = 0;

        if (buffer_pending(&p->out) > 0)
                return true;
        /* What the server wrote that the relay has not read yet. */
        return p->relay_fd >= 0 && ioctl(p->relay_fd, FIONREAD, &queued) >= 0 && queued > 0;
}

int agent_port_new(Agent *a, const char *name, AgentPort **ret) {
        _cleanup_(agent_port_freep) AgentPort *p = NULL;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->agent = a;
        p->fd = p->relay_fd = -EBADF;
        agent_frame_reset(&p->frame);
        p->name = strdup(name);
        if (!p->name)
                return -ENOMEM;
        r = port_open(p);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}
