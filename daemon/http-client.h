/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An asynchronous HTTP/1.1 client on sd-event for the API sockets of Firecracker and
 * cloud-hypervisor: one request per connection to a Unix socket, its reply through a callback.
 * Nothing here blocks. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* Limits on a reply: a longer header block is -EBADMSG, a longer body -ENOBUFS. */
#define HTTP_HEADER_MAX (64u * 1024u)
#define HTTP_BODY_MAX (4u * 1024u * 1024u)

typedef struct HttpRequest HttpRequest;

/* Runs exactly once per request unless it was cancelled first: r = 0 with the status code and the
 * body (borrowed, NUL-terminated, body_size bytes; "" for none), or r < 0: -ETIMEDOUT (no complete
 * reply within the timeout), -ECONNRESET (the server closed before a complete reply), -EBADMSG (not
 * an HTTP/1.x reply), -ENOBUFS (a body over HTTP_BODY_MAX), or the error of a connection that had
 * to wait for the server's backlog and then failed (-ECONNREFUSED, ...); then status is 0 and body
 * NULL. The request is freed when the handler returns. */
typedef void (*HttpReplyHandler)(HttpRequest *req, int r, unsigned status, const char *body, size_t body_size,
                                 void *userdata);

/* Connects to the Unix socket at socket_path and sends "METHOD PATH HTTP/1.1" with Host and Accept
 * (application/json) and, when body is not NULL, Content-Type (application/json) and Content-Length
 * ("" sends Content-Length: 0). A connection that fails at once is returned (-ENOENT, -ECONNREFUSED,
 * -EACCES, ...) and no handler runs; -EINVAL for a method or path that would break the request line.
 * timeout_usec of 0 means none. callback may be NULL: the request frees itself when done. ret (may
 * be NULL) is borrowed: valid until the handler ran or the request was cancelled. */
int http_request_start(sd_event *event, const char *socket_path, const char *method, const char *path,
                       const char *body, uint64_t timeout_usec, HttpReplyHandler callback, void *userdata,
                       HttpRequest **ret);

/* Drops the request and closes its connection; no handler runs afterwards. From inside its own
 * handler this does nothing (the request goes when the handler returns). Takes NULL; returns NULL. */
HttpRequest *http_request_cancel(HttpRequest *req);
