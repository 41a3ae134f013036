/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The asynchronous client on a private event loop, run until the one reply. */

#include <systemd/sd-event.h>

#include "api-command.h"
#include "http-client.h"

typedef struct ApiReply {
        bool done;
        int r;
        unsigned status;
        char *body;
} ApiReply;

static void on_reply(HttpRequest *req, int r, unsigned status, const char *body, size_t body_size, void *userdata) {
        ApiReply *reply = userdata;

        reply->done = true;
        reply->r = r;
        reply->status = status;
        if (r >= 0) {
                reply->body = strndup(body, body_size);
                if (!reply->body)
                        reply->r = -ENOMEM;
        }
}

int api_execute(const Backend *b, const char *socket_path, ApiOperation op, const char *path, bool resume,
                uint64_t timeout_usec, char **ret_body, char **ret_fault) {
        _cleanup_(api_request_done) ApiRequest req = {};
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_free_ char *body = NULL;
        ApiReply reply = {};
        int r;

        r = api_request_build(b, op, path, resume, &req);
        if (r < 0)
                return r;
        r = sd_event_new(&event);
        if (r < 0)
                return r;
        r = http_request_start(event, socket_path, req.method, req.path, req.body, timeout_usec, on_reply, &reply,
                               NULL);
        if (r < 0)
                return r;
        while (!reply.done) {
                r = sd_event_run(event, UINT64_MAX);
                if (r < 0)
                        return r;
        }
        body = reply.body;
        if (reply.r < 0)
                return reply.r;
        if (!api_status_ok(reply.status)) {
                if (ret_fault)
                        *ret_fault = api_fault_message(reply.status, body);
                return -EIO;
        }
        if (ret_body)
                *ret_body = TAKE_PTR(body);
        return 0;
}
