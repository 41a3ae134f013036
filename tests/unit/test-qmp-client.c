/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmd's QMP client against a scripted QEMU on a Unix socket: the greeting's version, replies
 * matched by id whatever their order, events in between, QEMU's errors, a descriptor passed with
 * a command, a command never answered, and the connection closing under pending calls. */

#include <criterion/criterion.h>
#include <glib.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qmp-client.h"
#include "test-util.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 11, \"minor\": 2, \"major\": 7}, " \
                 "\"package\": \"Debian 1:7.2+dfsg-7\"}, \"capabilities\": [\"oob\"]}}\r\n"

typedef struct Server {
        char *dir;
        int listen_fd;
        char path[108];
        /* What the scripted QEMU does after the capabilities: see server_thread(). */
        int script;
        char fd_contents[64];   /* what the descriptor passed with "getfd" held */
} Server;

/* Reads one line (a command) and any descriptor sent with it; returns its id, -1 at EOF. */
static int read_command(int fd, char *command, size_t size, int *ret_fd) {
        char line[4096];
        size_t n = 0;

        if (ret_fd)
                *ret_fd = -1;
        while (n < sizeof(line) - 1) {
                union {
                        struct cmsghdr h;
                        uint8_t buf[CMSG_SPACE(sizeof(int))];
                } control = {};
                struct iovec iov = { .iov_base = line + n, .iov_len = 1 };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                     .msg_controllen = sizeof(control) };

                if (recvmsg(fd, &mh, 0) <= 0)
                        return -1;
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                if (c && c->cmsg_type == SCM_RIGHTS && ret_fd)
                        memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
                if (line[n++] == '\n')
                        break;
        }
        line[n] = '\0';

        json_object *o = json_tokener_parse(line), *v;
        int id = json_object_object_get_ex(o, "id", &v) ? json_object_get_int(v) : 0;
        snprintf(command, size, "%s",
                 json_object_object_get_ex(o, "execute", &v) ? json_object_get_string(v) : "");
        json_object_put(o);
        return id;
}

static void say(int fd, const char *format, ...) G_GNUC_PRINTF(2, 3);
static void say(int fd, const char *format, ...) {
        g_autofree char *text = NULL;
        va_list ap;

        va_start(ap, format);
        text = g_strdup_vprintf(format, ap);
        va_end(ap);
        (void) !write(fd, text, strlen(text));
}

static void *server_thread(void *userdata) {
        Server *s = userdata;
        char command[64];
        int fd, id, id2, passed;

        fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        say(fd, GREETING);
        id = read_command(fd, command, sizeof(command), NULL);
        say(fd, "{\"return\": {}, \"id\": %d}\r\n", id);

        switch (s->script) {
        case 0: /* two commands answered in reverse order, an event between, then an error */
                id = read_command(fd, command, sizeof(command), NULL);
                id2 = read_command(fd, command, sizeof(command), NULL);
                say(fd, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n");
                say(fd, "{\"return\": {\"status\": \"second\"}, \"id\": %d}\r\n", id2);
                say(fd, "{\"return\": {\"status\": \"first\"}, \"id\": %d}\r\n", id);
                id = read_command(fd, command, sizeof(command), NULL);
                say(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Migration is not finalized yet\"}, "
                        "\"id\": %d}\r\n", id);
                break;
        case 1: /* getfd: read what the descriptor holds */
                id = read_command(fd, command, sizeof(command), &passed);
                if (passed >= 0) {
                        ssize_t n = read(passed, s->fd_contents, sizeof(s->fd_contents) - 1);
                        s->fd_contents[n > 0 ? n : 0] = '\0';
                        close(passed);
                }
                say(fd, "{\"return\": {}, \"id\": %d}\r\n", id);
                break;
        case 2: /* never answers; closes once the client gave up */
                (void) read_command(fd, command, sizeof(command), NULL);
                (void) read_command(fd, command, sizeof(command), NULL);
                break;
        case 3: /* closes with a command pending */
                (void) read_command(fd, command, sizeof(command), NULL);
                break;
        }
        close(fd);
        return NULL;
}

typedef struct Run {
        sd_event *event;
        int ready;              /* on_state's r once ready, 1 before */
        int gone;               /* on_state's r when the connection went, 1 before */
        GString *log;           /* replies and events, in the order they came */
        int replies;
} Run;

static void on_state(QmpClient *c, int r, void *userdata) {
        Run *run = userdata;

        if (r >= 0)
                run->ready = r;
        else
                run->gone = r;
}

static void on_event(QmpClient *c, const char *event, json_object *data, void *userdata) {
        Run *run = userdata;

        g_string_append_printf(run->log, "event %s;", event);
}

static void on_reply(QmpClient *c, int r, json_object *result, const char *error, void *userdata) {
        Run *run = userdata;
        json_object *status;

        if (r >= 0 && json_object_object_get_ex(result, "status", &status))
                g_string_append_printf(run->log, "return %s;", json_object_get_string(status));
        else if (r >= 0)
                g_string_append(run->log, "return;");
        else
                g_string_append_printf(run->log, "error %d %s;", r, error ?: "-");
        run->replies++;
}

/* Runs the loop until done() says so, for at most 5 s. */
static void spin(Run *run, bool (*done)(const Run *)) {
        for (int i = 0; i < 500 && !done(run); i++)
                cr_assert(sd_event_run(run->event, 10 * 1000) >= 0);
        cr_assert(done(run), "the loop did not get there; so far: %s", run->log->str);
}

static bool is_ready(const Run *run) {
        return run->ready != 1;
}

static bool three_replies(const Run *run) {
        return run->replies >= 3;
}

static bool one_reply(const Run *run) {
        return run->replies >= 1;
}

static bool is_gone(const Run *run) {
        return run->gone != 1;
}

/* Starts the scripted QEMU, connects, and runs the loop until the client is ready. */
static QmpClient *start(Server *s, Run *run, int script, pthread_t *thread) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        QmpClient *c = NULL;

        *s = (Server) { .script = script, .dir = tmpdir_new() };
        snprintf(s->path, sizeof(s->path), "%s/qmp.sock", s->dir);
        strcpy(sa.sun_path, s->path);
        s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert(bind(s->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0 && listen(s->listen_fd, 1) >= 0);
        cr_assert_eq(pthread_create(thread, NULL, server_thread, s), 0);

        *run = (Run) { .ready = 1, .gone = 1, .log = g_string_new(NULL) };
        cr_assert(sd_event_new(&run->event) >= 0);
        cr_assert_eq(qmp_client_connect(run->event, s->path, on_state, on_event, run, &c), 0);
        spin(run, is_ready);
        cr_assert_eq(run->ready, 0, "the client did not become ready");
        cr_expect_str_eq(qmp_client_version(c), "7.2.11 (Debian 1:7.2+dfsg-7)");
        return c;
}

static void finish(Server *s, Run *run, QmpClient *c, pthread_t thread) {
        qmp_client_free(c);
        pthread_join(thread, NULL);
        close(s->listen_fd);
        unlink(s->path);
        tmpdir_free(s->dir);
        g_string_free(run->log, TRUE);
        sd_event_unref(run->event);
}

Test(qmp_client, replies_events_errors) {
        Server s;
        Run run;
        pthread_t thread;
        QmpClient *c = start(&s, &run, 0, &thread);

        cr_assert_eq(qmp_client_call(c, "query-status", NULL, -EBADF, 0, on_reply, &run), 0);
        cr_assert_eq(qmp_client_call(c, "query-status", NULL, -EBADF, 0, on_reply, &run), 0);
        cr_assert_eq(qmp_client_call(c, "cont", NULL, -EBADF, 0, on_reply, &run), 0);
        spin(&run, three_replies);
        cr_expect_str_eq(run.log->str,
                         "event STOP;return second;return first;error -5 Migration is not finalized yet;");
        finish(&s, &run, c, thread);
}

Test(qmp_client, passes_descriptor) {
        Server s;
        Run run;
        pthread_t thread;
        QmpClient *c = start(&s, &run, 1, &thread);
        int p[2];

        cr_assert(pipe2(p, O_CLOEXEC) >= 0);
        cr_assert_eq(write(p[1], "state", 5), 5);
        close(p[1]);
        cr_assert_eq(qmp_client_call(c, "getfd", json_tokener_parse("{\"fdname\": \"x\"}"), p[0], 0, on_reply, &run), 0);
        close(p[0]);            /* the client sends its own duplicate */
        spin(&run, one_reply);
        pthread_join(thread, NULL);
        cr_expect_str_eq(s.fd_contents, "state");
        cr_expect_str_eq(run.log->str, "return;");
        qmp_client_free(c);
        close(s.listen_fd);
        unlink(s.path);
        tmpdir_free(s.dir);
        g_string_free(run.log, TRUE);
        sd_event_unref(run.event);
}

Test(qmp_client, timeout) {
        Server s;
        Run run;
        pthread_t thread;
        QmpClient *c = start(&s, &run, 2, &thread);

        cr_assert_eq(qmp_client_call(c, "stop", NULL, -EBADF, 50 * 1000, on_reply, &run), 0);
        spin(&run, one_reply);
        cr_expect_str_eq(run.log->str, "error -110 -;");
        finish(&s, &run, c, thread);
}

Test(qmp_client, connection_lost) {
        Server s;
        Run run;
        pthread_t thread;
        QmpClient *c = start(&s, &run, 3, &thread);

        cr_assert_eq(qmp_client_call(c, "stop", NULL, -EBADF, 0, on_reply, &run), 0);
        spin(&run, is_gone);
        /* The pending call heard of it too. */
        cr_expect_str_eq(run.log->str, "error -104 -;");
        cr_expect_eq(run.gone, -ECONNRESET);
        cr_expect_eq(qmp_client_call(c, "cont", NULL, -EBADF, 0, on_reply, &run), -ENOTCONN);
        finish(&s, &run, c, thread);
}

Test(qmp_client, nobody_listens) {
        char *dir = tmpdir_new();
        g_autofree char *path = g_strdup_printf("%s/none.sock", dir);
        sd_event *e = NULL;
        QmpClient *c = NULL;

        cr_assert(sd_event_new(&e) >= 0);
        cr_expect_eq(qmp_client_connect(e, path, on_state, on_event, NULL, &c), -ENOENT);
        cr_expect_null(c);
        sd_event_unref(e);
        tmpdir_free(dir);
}
