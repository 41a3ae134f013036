/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTTP/1.1 over a non-blocking Unix socket, one connection per request: connect, write the
 * request as the socket takes it, read the reply as it comes and hand it over once complete.
 * micro_http keeps connections open, so a reply ends where its framing says, not at EOF. */

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "http-client.h"
#include "log.h"
#include "macro.h"

/* What one recv() asks for. */
#define HTTP_READ_SIZE (16u * 1024u)
/* A chunk-size line longer than this is no chunk-size line. */
#define HTTP_CHUNK_LINE_MAX 4096u
/* How often to retry a connection the server's full backlog turned away. */
#define HTTP_CONNECT_RETRY_USEC (10u * 1000u)

typedef enum HttpReadState {
        HTTP_READ_STATUS,       /* the status line */
        HTTP_READ_HEADER,       /* header lines up to the empty one */
        HTTP_READ_LENGTH,       /* Content-Length bytes of body */
        HTTP_READ_UNTIL_EOF,    /* neither length nor chunks: the body ends with the connection */
        HTTP_READ_CHUNK_SIZE,
        HTTP_READ_CHUNK_DATA,
        HTTP_READ_CHUNK_END,    /* the line break after a chunk's data */
        HTTP_READ_TRAILER,      /* trailer lines after the last chunk, up to the empty one */
} HttpReadState;

typedef struct HttpBuffer {
        char *data;
        size_t size, allocated;
} HttpBuffer;

struct HttpRequest {
        sd_event *event;
        sd_event_source *io, *timer, *retry;
        int fd;
        struct sockaddr_un address;
        socklen_t address_size;
        bool connected;
        bool in_handler;        /* the handler is running: cancel is a no-op, the request goes after it */
        bool head;              /* a HEAD request: no body, whatever the headers say */
        char *target;           /* "METHOD PATH", for debug messages */

        char *out;
        size_t out_size, out_sent;

        /* Bytes read and not parsed yet: raw.data[pos] is the first; before scan is no line break. */
        HttpBuffer raw;
        size_t pos, scan;
        HttpReadState state;
        size_t header_bytes;    /* of the header block (or the trailers) so far */
        unsigned status;
        bool has_length, chunked;
        uint64_t length;        /* the Content-Length, then what is left of it or of a chunk */
        HttpBuffer body;

        HttpReplyHandler callback;
        void *userdata;
};

static int http_buffer_reserve(HttpBuffer *b, size_t extra) {
        size_t need = b->size + extra + 1, a;
        char *p;

        /* Room for a terminating NUL, always. */
        if (need <= b->allocated)
                return 0;
        a = b->allocated * 2;
        if (a < need)
                a = need;
        if (a < 256)
                a = 256;
        p = realloc(b->data, a);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->allocated = a;
        return 0;
}

static int http_buffer_append(HttpBuffer *b, const char *p, size_t n) {
        int r;

        r = http_buffer_reserve(b, n);
        if (r < 0)
                return r;
        memcpy(b->data + b->size, p, n);
        b->size += n;
        b->data[b->size] = '\0';
        return 0;
}

static void http_request_close(HttpRequest *req) {
        req->io = sd_event_source_disable_unref(req->io);
        req->timer = sd_event_source_disable_unref(req->timer);
        req->retry = sd_event_source_disable_unref(req->retry);
        closep(&req->fd);
}

static HttpRequest *http_request_free(HttpRequest *req) {
        if (!req)
                return NULL;
        http_request_close(req);
        sd_event_unref(req->event);
        free(req->target);
        free(req->out);
        free(req->raw.data);
        free(req->body.data);
        return mfree(req);
}

DEFINE_CLEANUP(HttpRequest *, http_request_free);

HttpRequest *http_request_cancel(HttpRequest *req) {
        /* From inside the handler, http_request_finish() frees it once the handler returns. */
        if (req && !req->in_handler)
                http_request_free(req);
        return NULL;
}

/* The end of the request, either way: the handler hears of it, then the request goes. */
static void http_request_finish(HttpRequest *req, int r) {
        /* Nothing more is read or waited for, whatever the handler does meanwhile. */
        http_request_close(req);

        if (r < 0)
                (void) log_debug_errno(r, "HTTP %s failed: %m", req->target);
        else
                log_debug("HTTP %s: %u, %zu bytes", req->target, req->status, req->body.size);

        req->in_handler = true;
        if (req->callback) {
                if (r < 0)
                        req->callback(req, r, 0, NULL, 0, req->userdata);
                else
                        req->callback(req, 0, req->status, req->body.data ?: "", req->body.size, req->userdata);
        }
        http_request_free(req);
}

static bool http_is_digit(char c) {
        return c >= '0' && c <= '9';
}

static int http_hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Whether p (n bytes) is word, ignoring case, as header names and tokens are compared. */
static bool http_word_is(const char *p, size_t n, const char *word) {
        return n == strlen(word) && strncasecmp(p, word, n) == 0;
}

/* A decimal number, saturated just above the body limit: larger is refused anyway. */
static int http_parse_decimal(const char *p, size_t n, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                if (!http_is_digit(p[i]))
                        return -EBADMSG;
                if (v <= HTTP_BODY_MAX)
                        v = v * 10 + (uint64_t) (p[i] - '0');
        }
        *ret = v;
        return 0;
}

/* "HTTP/1.1 200 OK"; micro_http sends an empty reason after the space, others none at all. */
static int http_parse_status_line(const char *p, size_t n, unsigned *ret) {
        unsigned status = 0;

        if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || !http_is_digit(p[7]) || p[8] != ' ')
                return -EBADMSG;
        if (n > 12 && p[12] != ' ')
                return -EBADMSG;
        for (size_t i = 9; i < 12; i++) {
                if (!http_is_digit(p[i]))
                        return -EBADMSG;
                status = status * 10 + (unsigned) (p[i] - '0');
        }
        if (status < 100 || status > 599)
                return -EBADMSG;
        *ret = status;
        return 0;
}

/* "Name: value". Only the fields that frame the body matter here; the rest is skipped. */
static int http_parse_header_line(HttpRequest *req, const char *p, size_t n) {
        const char *colon = memchr(p, ':', n), *value;
        size_t name_size, value_size;

        if (!colon || colon == p)
                return -EBADMSG;
        name_size = (size_t) (colon - p);
        /* Also refuses obsolete line folding, a line that starts with white space. */
        for (size_t i = 0; i < name_size; i++)
                if ((unsigned char) p[i] <= ' ' || p[i] == 0x7f)
                        return -EBADMSG;

        value = colon + 1;
        value_size = n - name_size - 1;
        while (value_size > 0 && (value[0] == ' ' || value[0] == '\t')) {
                value++;
                value_size--;
        }
        while (value_size > 0 && (value[value_size - 1] == ' ' || value[value_size - 1] == '\t'))
                value_size--;

        if (http_word_is(p, name_size, "Content-Length")) {
                uint64_t length;
                int r;

                r = http_parse_decimal(value, value_size, &length);
                if (r < 0)
                        return r;
                /* Two different lengths: no telling where the body ends. */
                if (req->has_length && req->length != length)
                        return -EBADMSG;
                req->has_length = true;
                req->length = length;
        } else if (http_word_is(p, name_size, "Transfer-Encoding")) {
                if (http_word_is(value, value_size, "chunked"))
                        req->chunked = true;
                else if (!http_word_is(value, value_size, "identity"))
                        return -EBADMSG;        /* we asked for no compression */
        }
        return 0;
}

/* A chunk-size line: hex digits, then maybe extensions after ';', which mean nothing to us. */
static int http_parse_chunk_size(const char *p, size_t n, uint64_t *ret) {
        uint64_t v = 0;
        size_t i;

        for (i = 0; i < n; i++) {
                int d = http_hex_value(p[i]);

                if (d < 0)
                        break;
                if (v <= HTTP_BODY_MAX)
                        v = v * 16 + (uint64_t) d;
        }
        if (i == 0)
                return -EBADMSG;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
                i++;
        if (i < n && p[i] != ';')
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* The next line of raw, without its CR LF (or bare LF): its size in bytes consumed, 0 if it is not
 * all there yet, -EBADMSG if it is or would be over max bytes. */
static int http_next_line(HttpRequest *req, size_t max, const char **ret_line, size_t *ret_size) {
        const char *start = req->raw.data + req->pos, *nl = NULL;
        size_t from = req->scan > req->pos ? req->scan : req->pos, consumed, size;

        if (from < req->raw.size)
                nl = memchr(req->raw.data + from, '\n', req->raw.size - from);
        if (!nl) {
                /* Remember how far we looked: a reply that trickles in is not searched again. */
                req->scan = req->raw.size;
                return req->raw.size - req->pos > max ? -EBADMSG : 0;
        }
        consumed = (size_t) (nl - start) + 1;
        if (consumed > max)
                return -EBADMSG;
        size = consumed - 1;
        if (size > 0 && start[size - 1] == '\r')
                size--;
        req->pos += consumed;
        req->scan = req->pos;
        *ret_line = start;
        *ret_size = size;
        return (int) consumed;
}

/* A header (or trailer) line, counted against the limit on the whole block. */
static int http_next_header_line(HttpRequest *req, const char **ret_line, size_t *ret_size) {
        int r;

        r = http_next_line(req, HTTP_HEADER_MAX - req->header_bytes, ret_line, ret_size);
        if (r > 0)
                req->header_bytes += (size_t) r;
        return r;
}

static void http_request_reset_reply(HttpRequest *req) {
        req->state = HTTP_READ_STATUS;
        req->header_bytes = 0;
        req->status = 0;
        req->has_length = req->chunked = false;
        req->length = 0;
}

/* The header block is in: 1 if that was the whole reply, 0 to read on. */
static int http_request_headers_done(HttpRequest *req) {
        int r;

        if (req->status < 200) {
                /* We never ask to switch protocols. */
                if (req->status == 101)
                        return -EBADMSG;
                /* An interim reply (100 Continue, ...): the real one follows. */
                http_request_reset_reply(req);
                return 0;
        }
        if (req->head || req->status == 204 || req->status == 304)
                return 1;
        /* Chunks win over a length, as they would for any HTTP/1.1 recipient. */
        if (req->chunked) {
                req->state = HTTP_READ_CHUNK_SIZE;
                return 0;
        }
        if (req->has_length) {
                if (req->length > HTTP_BODY_MAX)
                        return -ENOBUFS;
                if (req->length == 0)
                        return 1;
                r = http_buffer_reserve(&req->body, (size_t) req->length);
                if (r < 0)
                        return r;
                req->state = HTTP_READ_LENGTH;
                return 0;
        }
        req->state = HTTP_READ_UNTIL_EOF;
        return 0;
}

/* Moves what raw holds to the body, at most *remaining bytes (NULL: no limit but the body's). */
static int http_request_take_body(HttpRequest *req, uint64_t *remaining) {
        size_t n = req->raw.size - req->pos;
        int r;

        if (remaining && n > *remaining)
                n = (size_t) *remaining;
        if (req->body.size + n > HTTP_BODY_MAX)
                return -ENOBUFS;
        r = http_buffer_append(&req->body, req->raw.data + req->pos, n);
        if (r < 0)
                return r;
        req->pos += n;
        req->scan = req->pos;
        if (remaining)
                *remaining -= n;
        return 0;
}

/* Parses what raw holds: 1 when the reply is complete, 0 to read on. */
static int http_request_parse(HttpRequest *req) {
        const char *line;
        size_t size;
        int r;

        /* Each state takes what it can; a break goes round again in the state it moved to. */
        for (;;) {
                switch (req->state) {

                case HTTP_READ_STATUS:
                        r = http_next_header_line(req, &line, &size);
                        if (r == 0) {
                                /* Refuse what is no HTTP reply at once, the server may not close. */
                                size_t n = req->raw.size - req->pos;

                                if (memcmp(req->raw.data + req->pos, "HTTP/1.", n < 7 ? n : 7) != 0)
                                        return -EBADMSG;
                        }
                        if (r <= 0)
                                return r;
                        r = http_parse_status_line(line, size, &req->status);
                        if (r < 0)
                                return r;
                        req->state = HTTP_READ_HEADER;
                        break;

                case HTTP_READ_HEADER:
                        r = http_next_header_line(req, &line, &size);
                        if (r <= 0)
                                return r;
                        r = size == 0 ? http_request_headers_done(req) : http_parse_header_line(req, line, size);
                        if (r != 0)
                                return r;
                        break;

                case HTTP_READ_LENGTH:
                        r = http_request_take_body(req, &req->length);
                        if (r < 0)
                                return r;
                        return req->length == 0;

                case HTTP_READ_UNTIL_EOF:
                        r = http_request_take_body(req, /* remaining= */ NULL);
                        return r < 0 ? r : 0;

                case HTTP_READ_CHUNK_SIZE:
                        r = http_next_line(req, HTTP_CHUNK_LINE_MAX, &line, &size);
                        if (r <= 0)
                                return r;
                        r = http_parse_chunk_size(line, size, &req->length);
                        if (r < 0)
                                return r;
                        if (req->length > HTTP_BODY_MAX - req->body.size)
                                return -ENOBUFS;
                        if (req->length == 0) {
                                req->header_bytes = 0;
                                req->state = HTTP_READ_TRAILER;
                        } else
                                req->state = HTTP_READ_CHUNK_DATA;
                        break;

                case HTTP_READ_CHUNK_DATA:
                        r = http_request_take_body(req, &req->length);
                        if (r < 0)
                                return r;
                        if (req->length > 0)
                                return 0;
                        req->state = HTTP_READ_CHUNK_END;
                        break;

                case HTTP_READ_CHUNK_END:
                        r = http_next_line(req, HTTP_CHUNK_LINE_MAX, &line, &size);
                        if (r <= 0)
                                return r;
                        if (size != 0)
                                return -EBADMSG;
                        req->state = HTTP_READ_CHUNK_SIZE;
                        break;

                case HTTP_READ_TRAILER:
                        r = http_next_header_line(req, &line, &size);
                        if (r <= 0)
                                return r;
                        if (size == 0)
                                return 1;
                        break;
                }
        }
}

/* Reads once: 1 when the reply is complete, 0 to wait for more. */
static int http_request_receive(HttpRequest *req) {
        ssize_t n;
        int r;

        r = http_buffer_reserve(&req->raw, HTTP_READ_SIZE);
        if (r < 0)
                return r;
        n = recv(req->fd, req->raw.data + req->raw.size, HTTP_READ_SIZE, MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                /* A Unix socket says so when its peer closed with our bytes unread; what the peer
                 * wrote before was read first, so this is its EOF all the same. */
                if (errno != ECONNRESET)
                        return -errno;
                n = 0;
        }
        if (n == 0)
                return req->state == HTTP_READ_UNTIL_EOF ? 1 : -ECONNRESET;
        req->raw.size += (size_t) n;

        r = http_request_parse(req);

        /* Drop what was parsed, the rest moves to the front. */
        if (req->pos > 0) {
                memmove(req->raw.data, req->raw.data + req->pos, req->raw.size - req->pos);
                req->raw.size -= req->pos;
                req->scan -= req->pos;
                req->pos = 0;
        }
        return r;
}

static int http_request_send(HttpRequest *req) {
        while (req->out_sent < req->out_size) {
                ssize_t n;

                n = send(req->fd, req->out + req->out_sent, req->out_size - req->out_sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        /* The server stopped reading, maybe after it answered: read that, or its EOF. */
                        if (errno == EPIPE || errno == ECONNRESET)
                                break;
                        return -errno;
                }
                req->out_sent += (size_t) n;
        }
        req->out = mfree(req->out);
        req->out_sent = req->out_size = 0;
        return 0;
}

/* 1 when connected, 0 while a connection is in progress, -EAGAIN when the server's backlog is full
 * (a Unix socket does not queue us then: try again later), or the error. */
static int http_request_connect(HttpRequest *req) {
        if (connect(req->fd, (struct sockaddr *) &req->address, req->address_size) >= 0 || errno == EISCONN) {
                req->connected = true;
                return 1;
        }
        if (errno == EINPROGRESS || errno == EALREADY)
                return 0;
        return -errno;
}

static int http_request_update_events(HttpRequest *req) {
        return sd_event_source_set_io_events(req->io, EPOLLIN | (req->out ? EPOLLOUT : 0));
}

static int http_request_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        HttpRequest *req = userdata;
        int r;

        /* The socket, still unconnected, polls writable at once: that retries connect(). */
        r = sd_event_source_set_enabled(req->io, SD_EVENT_ON);
        if (r < 0)
                http_request_finish(req, r);
        return 0;
}

/* The backlog was full: waiting on the socket would spin, as an unconnected one is always writable. */
static int http_request_schedule_retry(HttpRequest *req) {
        int r;

        r = sd_event_source_set_enabled(req->io, SD_EVENT_OFF);
        if (r < 0)
                return r;
        if (!req->retry)
                return sd_event_add_time_relative(req->event, &req->retry, CLOCK_MONOTONIC,
                                                  HTTP_CONNECT_RETRY_USEC, 1000, http_request_retry, req);
        r = sd_event_source_set_time_relative(req->retry, HTTP_CONNECT_RETRY_USEC);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(req->retry, SD_EVENT_ONESHOT);
}

static int http_request_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HttpRequest *req = userdata;
        int r;

        if (!req->connected) {
                r = http_request_connect(req);
                if (r == -EAGAIN)
                        r = http_request_schedule_retry(req);
                else if (r > 0)
                        /* These revents were the unconnected socket's; poll again. */
                        r = http_request_update_events(req);
                if (r < 0)
                        goto fail;
                return 0;
        }

        if ((revents & EPOLLOUT) && req->out) {
                r = http_request_send(req);
                if (r < 0)
                        goto fail;
        }
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                r = http_request_receive(req);
                if (r < 0)
                        goto fail;
                if (r > 0) {
                        http_request_finish(req, 0);
                        return 0;
                }
        }
        r = http_request_update_events(req);
        if (r < 0)
                goto fail;
        return 0;

fail:
        http_request_finish(req, r);
        return 0;
}

static int http_request_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        http_request_finish(userdata, -ETIMEDOUT);
        return 0;
}

/* A method or path goes into the request line as is: no white space, no control characters. */
static bool http_request_line_word_ok(const char *s) {
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if ((unsigned char) *s <= ' ' || *s == 0x7f)
                        return false;
        return true;
}

int http_request_start(sd_event *event, const char *socket_path, const char *method, const char *path,
                       const char *body, uint64_t timeout_usec, HttpReplyHandler callback, void *userdata,
                       HttpRequest **ret) {
        _cleanup_(http_request_freep) HttpRequest *req = NULL;
        int r;

        assert(event);
        assert(socket_path);

        if (!http_request_line_word_ok(method) || !http_request_line_word_ok(path))
                return -EINVAL;

        req = calloc(1, sizeof(HttpRequest));
        if (!req)
                return -ENOMEM;
        *req = (HttpRequest) {
                .event = sd_event_ref(event),
                .fd = -EBADF,
                .address.sun_family = AF_UNIX,
                .head = streq(method, "HEAD"),
                .state = HTTP_READ_STATUS,
                .callback = callback,
                .userdata = userdata,
        };

        if (strlen(socket_path) >= sizeof(req->address.sun_path))
                return -ENAMETOOLONG;
        strcpy(req->address.sun_path, socket_path);
        req->address_size = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(socket_path) + 1);

        if (asprintf(&req->target, "%s %s", method, path) < 0) {
                req->target = NULL;
                return -ENOMEM;
        }
        if (body)
                r = asprintf(&req->out,
                             "%s %s HTTP/1.1\r\n"
                             "Host: localhost\r\n"
                             "Accept: application/json\r\n"
                             "Content-Type: application/json\r\n"
                             "Content-Length: %zu\r\n"
                             "\r\n"
                             "%s",
                             method, path, strlen(body), body);
        else
                r = asprintf(&req->out,
                             "%s %s HTTP/1.1\r\n"
                             "Host: localhost\r\n"
                             "Accept: application/json\r\n"
                             "\r\n",
                             method, path);
        if (r < 0) {
                req->out = NULL;
                return -ENOMEM;
        }
        req->out_size = (size_t) r;

        req->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (req->fd < 0)
                return -errno;
        /* A refusal is returned here. A full backlog is not: it delays us, as a blocking connect would. */
        r = http_request_connect(req);
        if (r < 0 && r != -EAGAIN)
                return r;

        /* Until connected, writable means the connection is ready (or may be retried). */
        r = sd_event_add_io(event, &req->io, req->fd, req->connected ? EPOLLIN | EPOLLOUT : EPOLLOUT,
                            http_request_io, req);
        if (r < 0)
                return r;
        if (timeout_usec > 0) {
                r = sd_event_add_time_relative(event, &req->timer, CLOCK_MONOTONIC, timeout_usec, 1000,
                                               http_request_timeout, req);
                if (r < 0)
                        return r;
        }

        if (ret)
                *ret = req;
        TAKE_PTR(req);
        return 0;
}
