/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal blocking QMP client: greeting, qmp_capabilities, one command. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "log.h"
#include "macro.h"
#include "qmp-client.h"
#include "qmp-command.h"
#include "socket-util.h"

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

static int qmp_send(int fd, const char *command, const char *arguments, int pass_fd) {
        _cleanup_free_ char *msg = NULL;
        int n = arguments ? asprintf(&msg, "{\"execute\": \"%s\", \"arguments\": %s}\n", command, arguments)
                          : asprintf(&msg, "{\"execute\": \"%s\"}\n", command);
        union {
                struct cmsghdr header;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = NULL, .iov_len = 0 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n < 0)
                return -ENOMEM;
        iov.iov_base = msg;
        iov.iov_len = (size_t) n;
        /* "getfd" takes the descriptor that comes with the command. */
        if (pass_fd >= 0) {
                struct cmsghdr *cmsg;

                mh.msg_control = &control;
                mh.msg_controllen = sizeof(control);
                cmsg = CMSG_FIRSTHDR(&mh);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof(int));
        }
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) != n)
                return negative_errno();
        return 0;
}

struct QmpSession {
        int fd;
        json_tokener *tok;
        char *version;
};

void qmp_session_close(QmpSession *s) {
        if (!s)
                return;
        if (s->fd >= 0)
                close(s->fd);
        if (s->tok)
                json_tokener_free(s->tok);
        free(s->version);
        free(s);
}

const char *qmp_session_version(const QmpSession *s) {
        return s->version;
}

int qmp_session_execute(QmpSession *s, const char *command, const char *arguments, int pass_fd, json_object **ret,
                        char **ret_error) {
        json_object *reply = NULL, *v = NULL;
        int r;

        r = qmp_send(s->fd, command, arguments, pass_fd);
        if (r < 0)
                return r;
        r = qmp_read_reply(s->fd, s->tok, &reply);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(reply, "error", &v)) {
                json_object *desc;

                log_debug("QMP %s failed: %s", command, json_object_to_json_string(v));
                if (ret_error)
                        *ret_error = strdup(json_object_object_get_ex(v, "desc", &desc) ? json_object_get_string(desc)
                                                                                       : "unknown error");
                json_object_put(reply);
                return -EIO;
        }
        if (ret) {
                *ret = json_object_object_get_ex(reply, "return", &v) ? json_object_get(v) : NULL;
        }
        json_object_put(reply);
        return 0;
}

int qmp_session_open(const char *path, QmpSession **ret) {
        struct timeval tv = { .tv_sec = QMP_TIMEOUT_SEC };
        json_object *greeting = NULL, *q, *version;
        QmpSession *s;
        int r;

        s = calloc(1, sizeof(QmpSession));
        if (!s)
                return -ENOMEM;
        s->fd = -EBADF;
        s->tok = json_tokener_new();
        if (!s->tok) {
                r = -ENOMEM;
                goto fail;
        }
        /* Blocking, each read and write bounded. */
        r = unix_connect(path, 0, &s->fd);
        if (r < 0)
                goto fail;
        if (setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
                r = negative_errno();
                goto fail;
        }

        r = qmp_read_reply(s->fd, s->tok, &greeting);
        if (r < 0)
                goto fail;
        if (json_object_object_get_ex(greeting, "QMP", &q) && json_object_object_get_ex(q, "version", &version))
                s->version = qmp_version_string(version);
        json_object_put(greeting);

        r = qmp_session_execute(s, "qmp_capabilities", NULL, -EBADF, NULL, NULL);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;

fail:
        qmp_session_close(s);
        return r;
}

int qmp_execute_simple(const char *path, const char *command) {
        _cleanup_(qmp_session_closep) QmpSession *s = NULL;
        int r;

        r = qmp_session_open(path, &s);
        if (r < 0)
                return r;
        return qmp_session_execute(s, command, NULL, -EBADF, NULL, NULL);
}
