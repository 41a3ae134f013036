/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QMP over a non-blocking Unix socket: the greeting, qmp_capabilities, then commands tagged with
 * an id so that replies find their callers, and events in between. */

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "qmp-client.h"
#include "socket-util.h"

typedef struct QmpCall {
        struct QmpCall *next;
        QmpClient *client;
        uint64_t id;
        QmpReplyHandler callback;
        void *userdata;
        sd_event_source *timer;
} QmpCall;

/* One message waiting to be sent, with the descriptor that goes with its first byte. */
typedef struct QmpOut {
        struct QmpOut *next;
        char *data;
        size_t size, sent;
        int fd;
} QmpOut;

struct QmpClient {
        unsigned n_ref;
        bool closed;            /* freed by its owner: no handler runs again */
        bool failed;            /* the connection went: its owner heard, or is hearing, of it */
        bool greeted;
        bool ready;
        int fd;
        sd_event *event;
        sd_event_source *io;
        json_tokener *tokener;
        char *version;
        uint64_t next_id;
        QmpCall *calls;
        QmpOut *out, *out_tail;
        QmpStateHandler on_state;
        QmpEventHandler on_event;
        void *userdata;
};

static void qmp_call_free(QmpCall *call) {
        sd_event_source_disable_unref(call->timer);
        free(call);
}

static void qmp_out_free(QmpOut *o) {
        if (o->fd >= 0)
                close(o->fd);
        free(o->data);
        free(o);
}

static void qmp_client_drop(QmpClient *c) {
        while (c->calls) {
                QmpCall *call = c->calls;

                c->calls = call->next;
                qmp_call_free(call);
        }
        while (c->out) {
                QmpOut *o = c->out;

                c->out = o->next;
                qmp_out_free(o);
        }
        c->out_tail = NULL;
        c->io = sd_event_source_disable_unref(c->io);
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -EBADF;
}

static QmpClient *qmp_client_ref(QmpClient *c) {
        c->n_ref++;
        return c;
}

static void qmp_client_unref(QmpClient *c) {
        if (!c || --c->n_ref > 0)
                return;
        qmp_client_drop(c);
        if (c->tokener)
                json_tokener_free(c->tokener);
        sd_event_unref(c->event);
        free(c->version);
        free(c);
}

QmpClient *qmp_client_free(QmpClient *c) {
        if (!c)
                return NULL;
        c->closed = true;
        qmp_client_drop(c);
        qmp_client_unref(c);
        return NULL;
}

/* The connection is gone: every caller hears of it, then the owner. */
static void qmp_client_fail(QmpClient *c, int r) {
        /* A pending call's handler may fail the client again (the capabilities' does): the owner
         * hears once. */
        if (c->failed)
                return;
        c->failed = true;
        qmp_client_ref(c);
        c->ready = false;
        c->io = sd_event_source_disable_unref(c->io);
        while (!c->closed && c->calls) {
                QmpCall *call = c->calls;

                c->calls = call->next;
                if (call->callback)
                        call->callback(c, r, NULL, NULL, call->userdata);
                qmp_call_free(call);
        }
        if (!c->closed) {
                qmp_client_drop(c);
                c->on_state(c, r, c->userdata);
        }
        qmp_client_unref(c);
}

static int qmp_flush(QmpClient *c) {
        while (c->out) {
                QmpOut *o = c->out;
                struct iovec iov = { .iov_base = o->data + o->sent, .iov_len = o->size - o->sent };
                union {
                        struct cmsghdr header;
                        uint8_t buf[CMSG_SPACE(sizeof(int))];
                } control = {};
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;

                if (o->fd >= 0) {
                        mh.msg_control = &control;
                        mh.msg_controllen = sizeof(control);
                        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);
                        cmsg->cmsg_level = SOL_SOCKET;
                        cmsg->cmsg_type = SCM_RIGHTS;
                        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
                        memcpy(CMSG_DATA(cmsg), &o->fd, sizeof(int));
                }
                n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                /* The descriptor went with the first byte. */
                if (o->fd >= 0) {
                        close(o->fd);
                        o->fd = -EBADF;
                }
                o->sent += (size_t) n;
                if (o->sent < o->size)
                        return 0;
                c->out = o->next;
                if (!c->out)
                        c->out_tail = NULL;
                qmp_out_free(o);
        }
        return 0;
}

static int qmp_update_events(QmpClient *c) {
        return sd_event_source_set_io_events(c->io, EPOLLIN | (c->out ? EPOLLOUT : 0));
}

static int qmp_send(QmpClient *c, json_object *msg, int fd) {
        QmpOut *o;
        int r;

        o = calloc(1, sizeof(QmpOut));
        if (!o)
                return -ENOMEM;
        o->fd = -EBADF;
        if (asprintf(&o->data, "%s\n", json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN)) < 0) {
                free(o);
                return -ENOMEM;
        }
        o->size = strlen(o->data);
        if (fd >= 0) {
                o->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (o->fd < 0) {
                        r = -errno;
                        qmp_out_free(o);
                        return r;
                }
        }
        if (c->out_tail)
                c->out_tail->next = o;
        else
                c->out = o;
        c->out_tail = o;

        r = qmp_flush(c);
        if (r < 0)
                return r;
        return qmp_update_events(c);
}

static int qmp_call_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        QmpCall *call = userdata;
        QmpClient *c = call->client;

        for (QmpCall **p = &c->calls; *p; p = &(*p)->next)
                if (*p == call) {
                        *p = call->next;
                        break;
                }
        qmp_client_ref(c);
        if (call->callback)
                call->callback(c, -ETIMEDOUT, NULL, NULL, call->userdata);
        qmp_call_free(call);
        qmp_client_unref(c);
        return 0;
}

static int qmp_call_internal(QmpClient *c, const char *command, json_object *arguments, int fd,
                             uint64_t timeout_usec, QmpReplyHandler callback, void *userdata) {
        json_object *msg = json_object_new_object();
        QmpCall *call;
        int r;

        if (!msg) {
                json_object_put(arguments);
                return -ENOMEM;
        }
        call = calloc(1, sizeof(QmpCall));
        if (!call) {
                json_object_put(arguments);
                json_object_put(msg);
                return -ENOMEM;
        }
        *call = (QmpCall) { .client = c, .id = ++c->next_id, .callback = callback, .userdata = userdata };

        json_object_object_add(msg, "execute", json_object_new_string(command));
        if (arguments)
                json_object_object_add(msg, "arguments", arguments);
        json_object_object_add(msg, "id", json_object_new_int64((int64_t) call->id));

        r = 0;
        if (timeout_usec > 0)
                r = sd_event_add_time_relative(c->event, &call->timer, CLOCK_MONOTONIC, timeout_usec, 0,
                                               qmp_call_timeout, call);
        if (r >= 0)
                r = qmp_send(c, msg, fd);
        json_object_put(msg);
        if (r < 0) {
                qmp_call_free(call);
                return r;
        }
        call->next = c->calls;
        c->calls = call;
        return 0;
}

int qmp_client_call(QmpClient *c, const char *command, json_object *arguments, int fd, uint64_t timeout_usec,
                    QmpReplyHandler callback, void *userdata) {
        if (!c->ready) {
                json_object_put(arguments);
                return -ENOTCONN;
        }
        return qmp_call_internal(c, command, arguments, fd, timeout_usec, callback, userdata);
}

const char *qmp_client_version(const QmpClient *c) {
        return c->version;
}

char *qmp_version_string(json_object *version) {
        json_object *qemu, *package;
        char *s = NULL;
        int64_t v[3] = {};
        const char *keys[] = { "major", "minor", "micro" };
        const char *pkg;

        if (!json_object_object_get_ex(version, "qemu", &qemu))
                return NULL;
        for (size_t i = 0; i < 3; i++) {
                json_object *n;

                if (!json_object_object_get_ex(qemu, keys[i], &n) || !json_object_is_type(n, json_type_int))
                        return NULL;
                v[i] = json_object_get_int64(n);
        }
        pkg = json_object_object_get_ex(version, "package", &package) ? json_object_get_string(package) : NULL;
        /* QEMU's own "package" has a leading space in some builds. */
        while (pkg && *pkg == ' ')
                pkg++;
        if (asprintf(&s, "%" PRIi64 ".%" PRIi64 ".%" PRIi64 "%s%s%s", v[0], v[1], v[2], pkg && *pkg ? " (" : "",
                     pkg && *pkg ? pkg : "", pkg && *pkg ? ")" : "") < 0)
                return NULL;
        return s;
}

static void capabilities_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata) {
        if (r < 0) {
                log_debug("QMP capabilities refused: %s", strna(error));
                qmp_client_fail(c, r);
                return;
        }
        c->ready = true;
        c->on_state(c, 0, c->userdata);
}

static void qmp_dispatch(QmpClient *c, json_object *msg) {
        json_object *v, *id;

        if (json_object_object_get_ex(msg, "QMP", &v)) {
                json_object *version;
                int r;

                /* QEMU greets once; another greeting is no new connection. */
                if (c->greeted)
                        return;
                c->greeted = true;
                if (json_object_object_get_ex(v, "version", &version))
                        c->version = qmp_version_string(version);
                r = qmp_call_internal(c, "qmp_capabilities", NULL, -EBADF, 0, capabilities_reply, NULL);
                if (r < 0)
                        qmp_client_fail(c, r);
                return;
        }

        if (json_object_object_get_ex(msg, "event", &v)) {
                json_object *data = NULL;

                (void) json_object_object_get_ex(msg, "data", &data);
                c->on_event(c, json_object_get_string(v), data, c->userdata);
                return;
        }

        if (!json_object_object_get_ex(msg, "id", &id))
                return;
        for (QmpCall **p = &c->calls; *p; p = &(*p)->next) {
                QmpCall *call = *p;
                json_object *e, *desc;

                if ((uint64_t) json_object_get_int64(id) != call->id)
                        continue;
                *p = call->next;
                if (!call->callback)
                        ;
                else if (json_object_object_get_ex(msg, "error", &e))
                        call->callback(c, -EIO, NULL,
                                       json_object_object_get_ex(e, "desc", &desc) ? json_object_get_string(desc)
                                                                                   : "unknown error",
                                       call->userdata);
                else {
                        (void) json_object_object_get_ex(msg, "return", &v);
                        call->callback(c, 0, v, NULL, call->userdata);
                }
                qmp_call_free(call);
                return;
        }
}

static int qmp_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        QmpClient *c = userdata;
        char buf[16384];
        ssize_t n;
        int r = 0;

        qmp_client_ref(c);
        if (revents & EPOLLOUT) {
                r = qmp_flush(c);
                if (r >= 0)
                        r = qmp_update_events(c);
                if (r < 0)
                        goto fail;
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                goto done;

        n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN)
                goto done;
        if (n <= 0) {
                r = n < 0 ? -errno : -ECONNRESET;
                goto fail;
        }
        for (size_t off = 0; off < (size_t) n && !c->closed;) {
                json_object *msg = json_tokener_parse_ex(c->tokener, buf + off, (int) ((size_t) n - off));
                enum json_tokener_error e = json_tokener_get_error(c->tokener);

                if (e == json_tokener_continue)
                        break;
                if (e != json_tokener_success) {
                        r = -EBADMSG;
                        goto fail;
                }
                off += json_tokener_get_parse_end(c->tokener);
                json_tokener_reset(c->tokener);
                if (msg) {
                        qmp_dispatch(c, msg);
                        json_object_put(msg);
                }
        }
        goto done;

fail:
        if (!c->closed)
                qmp_client_fail(c, r);
done:
        qmp_client_unref(c);
        return 0;
}

int qmp_client_new_fd(sd_event *event, int fd, QmpStateHandler on_state, QmpEventHandler on_event, void *userdata,
                      QmpClient **ret) {
        QmpClient *c;
        int r;

        c = calloc(1, sizeof(QmpClient));
        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        *c = (QmpClient) { .n_ref = 1, .fd = fd, .event = sd_event_ref(event), .on_state = on_state,
                           .on_event = on_event, .userdata = userdata };

        c->tokener = json_tokener_new();
        if (!c->tokener) {
                r = -ENOMEM;
                goto fail;
        }
        r = sd_event_add_io(event, &c->io, c->fd, EPOLLIN, qmp_io, c);
        if (r < 0)
                goto fail;

        *ret = c;
        return 0;

fail:
        qmp_client_free(c);
        return r;
}

int qmp_client_connect(sd_event *event, const char *path, QmpStateHandler on_state, QmpEventHandler on_event,
                       void *userdata, QmpClient **ret) {
        int fd, r;

        r = unix_connect(path, SOCK_NONBLOCK, &fd);
        if (r < 0)
                return r;
        return qmp_client_new_fd(event, fd, on_state, on_event, userdata, ret);
}
