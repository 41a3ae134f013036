/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal blocking QMP client: greeting, qmp_capabilities, one command. */

#include <json-c/json.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "log.h"
#include "macro.h"
#include "qmp-command.h"

#define QMP_TIMEOUT_SEC 5

static inline json_tokener *json_tokener_free_null(json_tokener *t) {
        json_tokener_free(t);
        return NULL;
}
DEFINE_CLEANUP(json_tokener *, json_tokener_free_null);

/* Reads the next JSON object QEMU sends that is not an asynchronous event. */
static int qmp_read_reply(int fd, json_tokener *tok, json_object **ret) {
        char buf[4096];

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), 0);
                size_t off = 0;

                if (n < 0)
                        return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
                if (n == 0)
                        return -ECONNRESET;

                while (off < (size_t) n) {
                        json_object *o = json_tokener_parse_ex(tok, buf + off, (int) ((size_t) n - off));
                        enum json_tokener_error e = json_tokener_get_error(tok);

                        if (e == json_tokener_continue)
                                break;
                        if (e != json_tokener_success)
                                return -EBADMSG;
                        off += json_tokener_get_parse_end(tok);
                        json_tokener_reset(tok);
                        /* Whitespace between messages parses as nothing. */
                        if (!o)
                                continue;
                        if (json_object_object_get_ex(o, "event", NULL)) {
                                json_object_put(o);
                                continue;
                        }
                        *ret = o;
                        return 0;
                }
        }
}

static int qmp_send(int fd, const char *command) {
        _cleanup_free_ char *msg = NULL;
        int n = asprintf(&msg, "{\"execute\": \"%s\"}\n", command);

        if (n < 0)
                return -ENOMEM;
        if (send(fd, msg, (size_t) n, MSG_NOSIGNAL) != n)
                return negative_errno();
        return 0;
}

static int qmp_command(int fd, json_tokener *tok, const char *command) {
        json_object *reply = NULL, *error = NULL;
        int r;

        r = qmp_send(fd, command);
        if (r < 0)
                return r;
        r = qmp_read_reply(fd, tok, &reply);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(reply, "error", &error)) {
                log_debug("QMP %s failed: %s", command, json_object_to_json_string(error));
                r = -EIO;
        }
        json_object_put(reply);
        return r;
}

int qmp_execute_simple(const char *path, const char *command) {
        _cleanup_(json_tokener_free_nullp) json_tokener *tok = json_tokener_new();
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = QMP_TIMEOUT_SEC };
        _cleanup_close_ int fd = -EBADF;
        json_object *greeting = NULL;
        int r;

        if (!tok)
                return -ENOMEM;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();

        r = qmp_read_reply(fd, tok, &greeting);
        if (r < 0)
                return r;
        json_object_put(greeting);

        r = qmp_command(fd, tok, "qmp_capabilities");
        if (r < 0)
                return r;
        return qmp_command(fd, tok, command);
}
