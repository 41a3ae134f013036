/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmd's HTTP client against a scripted API server on a Unix socket: the exact request bytes,
 * replies framed by length (on a connection the server keeps open, as micro_http does), by chunks
 * or by EOF, replies that trickle in byte by byte, Firecracker's and cloud-hypervisor's errors,
 * servers that close, hang or answer garbage, the limits, nobody listening, a full backlog, and
 * requests cancelled or forgotten. */

#include <criterion/criterion.h>
#include <glib.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "http-client.h"
#include "test-util.h"
#include "time-util.h"

#define REQUEST_HEAD(line) line " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
#define FC_HEAD "Server: Firecracker API\r\nConnection: keep-alive\r\n"
#define CH_HEAD "Server: Cloud Hypervisor API\r\nConnection: keep-alive\r\n"

typedef struct Server {
        char *dir;
        char path[108];
        int listen_fd;
        int backlog;
        const char *reply;      /* NULL: none */
        size_t reply_size;
        bool bytewise;          /* one byte a write, with pauses between */
        bool close_after;       /* else the connection stays open until the client closes it */
        int go_fd;              /* >= 0: reply only once a byte came on it */
        int filler_fd;          /* >= 0: a connection that filled the backlog, accepted first */
        GString *request;       /* what the client sent */
        atomic_bool got_request;
        atomic_bool done;
} Server;

/* Reads a request: the header block, then Content-Length bytes of body. */
static void read_request(int fd, GString *request) {
        char buf[4096];
        const char *end = NULL;
        size_t want = SIZE_MAX;

        for (;;) {
                ssize_t n;

                if (!end && (end = strstr(request->str, "\r\n\r\n"))) {
                        const char *cl = strstr(request->str, "\r\nContent-Length: ");
                        size_t head = (size_t) (end - request->str) + 4;

                        want = head + (cl && cl < end ? g_ascii_strtoull(cl + 18, NULL, 10) : 0);
                }
                if (request->len >= want)
                        return;
                n = read(fd, buf, sizeof(buf));
                if (n <= 0)
                        return;
                g_string_append_len(request, buf, n);
        }
}

static void wait_for_eof(int fd) {
        char buf[4096];

        while (read(fd, buf, sizeof(buf)) > 0)
                ;
}

static void *server_thread(void *userdata) {
        Server *s = userdata;
        _cleanup_close_ int fd = -EBADF;

        if (s->filler_fd >= 0) {
                /* Let the client find the backlog full for a while. */
                usleep(50 * 1000);
                close(accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC));
        }
        fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                goto out;
        read_request(fd, s->request);
        atomic_store(&s->got_request, true);

        if (s->go_fd >= 0) {
                char c;

                (void) !read(s->go_fd, &c, 1);
        }
        for (size_t off = 0; s->reply && off < s->reply_size;) {
                size_t chunk = s->bytewise ? 1 : s->reply_size - off;
                ssize_t n = send(fd, s->reply + off, chunk, MSG_NOSIGNAL);

                if (n <= 0)
                        break;          /* the client gave up, as some cases want */
                off += (size_t) n;
                if (s->bytewise)
                        usleep(500);
        }
        if (!s->close_after)
                wait_for_eof(fd);
out:
        atomic_store(&s->done, true);
        return NULL;
}

static void server_start(Server *s, pthread_t *thread) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        s->dir = tmpdir_new();
        s->request = g_string_new(NULL);
        snprintf(s->path, sizeof(s->path), "%s/api.sock", s->dir);
        strcpy(sa.sun_path, s->path);
        s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert(bind(s->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0);
        cr_assert(listen(s->listen_fd, s->backlog) >= 0);
        cr_assert_eq(pthread_create(thread, NULL, server_thread, s), 0);
}

/* Waits for the server to finish and returns what it received (g_free). */
static char *server_stop(Server *s, pthread_t thread) {
        pthread_join(thread, NULL);
        close(s->listen_fd);
        tmpdir_free(s->dir);
        return g_string_free(s->request, FALSE);
}

/* What the handler was told, and when. */
typedef struct Reply {
        int calls;
        int r;
        unsigned status;
        GString *body;          /* NULL if the handler had none */
        bool terminated;        /* the body had its NUL */
        uint64_t at;
} Reply;

static void on_reply(HttpRequest *req, int r, unsigned status, const char *body, size_t body_size,
                     void *userdata) {
        Reply *rep = userdata;

        rep->calls++;
        rep->r = r;
        rep->status = status;
        rep->at = now_usec(CLOCK_MONOTONIC);
        if (body) {
                rep->body = g_string_new_len(body, (gssize) body_size);
                rep->terminated = body[body_size] == '\0';
        }
}

static void reply_done(Reply *rep) {
        if (rep->body)
                g_string_free(rep->body, TRUE);
}

/* Runs the loop until *flag is set, for at most 10 s. */
static void spin_until(sd_event *e, const int *calls, atomic_bool *flag) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * 1000 * 1000;

        while ((calls ? *calls == 0 : !atomic_load(flag)) && now_usec(CLOCK_MONOTONIC) < deadline)
                cr_assert(sd_event_run(e, 10 * 1000) >= 0);
}

/* Runs the loop for usec, whatever happens. */
static void spin_for(sd_event *e, uint64_t usec) {
        uint64_t end = now_usec(CLOCK_MONOTONIC) + usec;

        while (now_usec(CLOCK_MONOTONIC) < end)
                cr_assert(sd_event_run(e, 5 * 1000) >= 0);
}

typedef struct Case {
        const char *name;
        const char *method, *path, *body;
        const char *request;    /* exactly what the server must receive */
        const char *reply;
        bool bytewise, close_after;
        int r;
        unsigned status;
        const char *reply_body;
} Case;

static const Case cases[] = {
        { "204 without a body", "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
          REQUEST_HEAD("PUT /actions")
          "Content-Type: application/json\r\nContent-Length: 32\r\n\r\n{\"action_type\": \"InstanceStart\"}",
          "HTTP/1.1 204 \r\n" FC_HEAD "\r\n",
          .status = 204, .reply_body = "" },
        { "200 with a length, kept open", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n",
          "HTTP/1.1 200 \r\n" FC_HEAD "Content-Type: application/json\r\nContent-Length: 65\r\n\r\n"
          "{\"id\":\"anonymous-instance\",\"state\":\"Running\",\"vmm_version\":\"1.7\"}",
          .status = 200, .reply_body = "{\"id\":\"anonymous-instance\",\"state\":\"Running\",\"vmm_version\":\"1.7\"}" },
        { "Firecracker's fault", "PATCH", "/vm", "{\"state\": \"Paused\"}",
          REQUEST_HEAD("PATCH /vm") "Content-Type: application/json\r\nContent-Length: 19\r\n\r\n{\"state\": \"Paused\"}",
          "HTTP/1.1 400 \r\n" FC_HEAD "Content-Type: application/json\r\nContent-Length: 54\r\n\r\n"
          "{\"fault_message\":\"The requested operation is invalid\"}",
          .status = 400, .reply_body = "{\"fault_message\":\"The requested operation is invalid\"}" },
        { "cloud-hypervisor's error array", "PUT", "/api/v1/vm.boot", NULL,
          REQUEST_HEAD("PUT /api/v1/vm.boot") "\r\n",
          "HTTP/1.1 500 \r\n" CH_HEAD "Content-Type: application/json\r\nContent-Length: 56\r\n\r\n"
          "[\"Error booting VM\",\"VM is not created\",\"Invalid state\"]",
          .status = 500, .reply_body = "[\"Error booting VM\",\"VM is not created\",\"Invalid state\"]" },
        { "an empty body is still a body", "PUT", "/api/v1/vm.pause", "",
          REQUEST_HEAD("PUT /api/v1/vm.pause") "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n",
          "HTTP/1.1 204 \r\n" CH_HEAD "\r\n",
          .status = 204, .reply_body = "" },
        { "byte by byte", "GET", "/machine-config", NULL,
          REQUEST_HEAD("GET /machine-config") "\r\n",
          "HTTP/1.1 200 \r\n" FC_HEAD "Content-Type: application/json\r\nContent-Length: 35\r\n\r\n"
          "{\"vcpu_count\":2,\"mem_size_mib\":256}",
          .bytewise = true, .status = 200, .reply_body = "{\"vcpu_count\":2,\"mem_size_mib\":256}" },
        { "lower case, bare line feeds", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n",
          "HTTP/1.0 200 OK\ncontent-length:  2 \nX-Other:\n\n{}",
          .status = 200, .reply_body = "{}" },
        { "body until EOF", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n",
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\": 1}",
          .close_after = true, .status = 200, .reply_body = "{\"a\": 1}" },
        { "chunks, byte by byte", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "5\r\nhello\r\n6;name=value\r\n world\r\nA \r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
          .bytewise = true, .status = 200, .reply_body = "hello world0123456789" },
        { "100 Continue first", "PUT", "/x", "{}",
          REQUEST_HEAD("PUT /x") "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
          "HTTP/1.1 100 \r\n\r\nHTTP/1.1 200 \r\nContent-Length: 3\r\n\r\n[1]",
          .status = 200, .reply_body = "[1]" },
        { "HEAD has no body", "HEAD", "/", NULL,
          REQUEST_HEAD("HEAD /") "\r\n",
          "HTTP/1.1 200 \r\nContent-Length: 10\r\n\r\n",
          .status = 200, .reply_body = "" },
        { "304 has no body", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n",
          "HTTP/1.1 304 Not Modified\r\n\r\n",
          .status = 304, .reply_body = "" },
        { "the same length twice", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n",
          "HTTP/1.1 200 \r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
          .status = 200, .reply_body = "{}" },
        { "bytes after the body are not read as such", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n",
          "HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 \r\n",
          .status = 200, .reply_body = "{}" },

        { "no reply, then close", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", NULL, .close_after = true, .r = -ECONNRESET },
        { "half the headers, then close", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nContent-Le", .close_after = true, .r = -ECONNRESET },
        { "half the body, then close", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nContent-Length: 10\r\n\r\n{\"a\"",
          .close_after = true, .r = -ECONNRESET },
        { "half the chunks, then close", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
          .close_after = true, .r = -ECONNRESET },
        { "garbage, kept open", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", .r = -EBADMSG },
        { "garbage, byte by byte", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "<!DOCTYPE html>\r\n", .bytewise = true, .r = -EBADMSG },
        { "HTTP/2", "GET", "/", NULL, REQUEST_HEAD("GET /") "\r\n", "HTTP/2 200\r\n\r\n", .r = -EBADMSG },
        { "a status that is no number", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 2OO OK\r\n\r\n", .r = -EBADMSG },
        { "a status out of range", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 999 \r\n\r\n", .r = -EBADMSG },
        { "a header without a colon", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nContent-Length 2\r\n\r\n{}", .r = -EBADMSG },
        { "a folded header", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\n{}",
          .r = -EBADMSG },
        { "two different lengths", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
          .r = -EBADMSG },
        { "a length that is no number", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nContent-Length: -1\r\n\r\n", .r = -EBADMSG },
        { "a compressed body", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
          .r = -EBADMSG },
        { "a chunk size that is no number", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
          .r = -EBADMSG },
        { "a chunk longer than its size", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}}\r\n",
          .r = -EBADMSG },
        { "switching protocols", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
          .r = -EBADMSG },
        { "a length over the limit", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nContent-Length: 4194305\r\n\r\n", .r = -ENOBUFS },
        { "a length over any limit", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nContent-Length: 99999999999999999999999999\r\n\r\n",
          .r = -ENOBUFS },
        { "a chunk over the limit", "GET", "/", NULL,
          REQUEST_HEAD("GET /") "\r\n", "HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n",
          .r = -ENOBUFS },
};

/* Serves one scripted exchange; rep says what the handler heard, ret_request what the server got
 * (g_free). */
static void run_exchange(const Case *c, const char *reply, size_t reply_size, Reply *rep, char **ret_request) {
        Server s = { .reply = reply, .reply_size = reply_size, .bytewise = c->bytewise,
                     .close_after = c->close_after, .go_fd = -EBADF, .filler_fd = -EBADF, .backlog = 1 };
        pthread_t thread;
        sd_event *e = NULL;
        HttpRequest *req = NULL;

        server_start(&s, &thread);
        cr_assert(sd_event_new(&e) >= 0);
        cr_assert_eq(http_request_start(e, s.path, c->method, c->path, c->body, 5 * 1000 * 1000, on_reply, rep,
                                        &req), 0, "%s", c->name);
        cr_assert_not_null(req);
        spin_until(e, &rep->calls, NULL);
        cr_assert_eq(rep->calls, 1, "%s: the handler ran %d times", c->name, rep->calls);
        *ret_request = server_stop(&s, thread);        /* returns: the client closed the connection */
        sd_event_unref(e);
}

static void check_case(const Case *c, const char *reply, size_t reply_size) {
        g_autofree char *request = NULL;
        Reply rep = {};

        run_exchange(c, reply, reply_size, &rep, &request);
        expect_streq(request, c->request, c->name);
        cr_expect_eq(rep.r, c->r, "%s: r = %d (%s)", c->name, rep.r, strerror(-rep.r));
        if (c->r == 0) {
                cr_expect_eq(rep.status, c->status, "%s: status %u", c->name, rep.status);
                cr_assert_not_null(rep.body, "%s: no body", c->name);
                cr_expect(rep.terminated, "%s: the body is not NUL-terminated", c->name);
                if (c->reply_body)
                        expect_streq(rep.body->str, c->reply_body, c->name);
        } else {
                cr_expect_eq(rep.status, 0, "%s", c->name);
                cr_expect_null(rep.body, "%s", c->name);
        }
        reply_done(&rep);
}

TestSuite(http_client, .timeout = 60);

Test(http_client, exchanges) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_case(&cases[i], cases[i].reply, cases[i].reply ? strlen(cases[i].reply) : 0);
}

/* A header block of HTTP_HEADER_MAX bytes is fine, one more is not; likewise a body. */
Test(http_client, limits) {
        static const struct {
                const char *name;
                size_t header, body;
                bool length;    /* a Content-Length, else the body ends at EOF */
                int r;
        } limits[] = {
                { "the longest header block", HTTP_HEADER_MAX, 0, true, 0 },
                { "a header block too long", HTTP_HEADER_MAX + 1, 0, true, -EBADMSG },
                { "the longest body", 64, HTTP_BODY_MAX, true, 0 },
                { "the longest body, until EOF", 64, HTTP_BODY_MAX, false, 0 },
                { "a body too long, until EOF", 64, HTTP_BODY_MAX + 1, false, -ENOBUFS },
        };

        for (size_t i = 0; i < ELEMENTSOF(limits); i++) {
                GString *reply = g_string_new("HTTP/1.1 200 \r\n");
                g_autofree char *framing = limits[i].length
                        ? g_strdup_printf("Content-Length: %zu\r\n", limits[i].body) : g_strdup("");
                size_t pad = limits[i].header - reply->len - strlen(framing) - strlen("X: \r\n\r\n");
                Case c = { .name = limits[i].name, .method = "GET", .path = "/",
                           .request = REQUEST_HEAD("GET /") "\r\n", .close_after = !limits[i].length,
                           .r = limits[i].r, .status = 200 };

                g_string_append(reply, framing);
                g_string_append(reply, "X: ");
                for (size_t k = 0; k < pad; k++)
                        g_string_append_c(reply, 'x');
                g_string_append(reply, "\r\n\r\n");
                cr_assert_eq(reply->len, limits[i].header, "%s", limits[i].name);
                for (size_t k = 0; k < limits[i].body; k++)
                        g_string_append_c(reply, (char) ('a' + k % 26));
                check_case(&c, reply->str, reply->len);
                g_string_free(reply, TRUE);
        }
}

Test(http_client, nobody_listens) {
        char *dir = tmpdir_new();
        g_autofree char *missing = g_strdup_printf("%s/none.sock", dir);
        g_autofree char *stale = g_strdup_printf("%s/stale.sock", dir);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sd_event *e = NULL;
        HttpRequest *req = NULL;
        Reply rep = {};

        /* A socket left behind by a hypervisor that went: bound, not listening. */
        strcpy(sa.sun_path, stale);
        cr_assert(bind(fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0);

        cr_assert(sd_event_new(&e) >= 0);
        cr_expect_eq(http_request_start(e, missing, "GET", "/", NULL, 0, on_reply, &rep, &req), -ENOENT);
        cr_expect_eq(http_request_start(e, stale, "GET", "/", NULL, 0, on_reply, &rep, &req), -ECONNREFUSED);
        cr_expect_null(req);
        spin_for(e, 20 * 1000);
        cr_expect_eq(rep.calls, 0);
        sd_event_unref(e);
        tmpdir_free(dir);
}

Test(http_client, bad_arguments) {
        static const struct {
                const char *name, *method, *path;
        } bad[] = {
                { "empty method", "", "/" },
                { "method with a space", "GET /x", "/" },
                { "empty path", "GET", "" },
                { "path with a line break", "GET", "/\r\nX-Injected: 1" },
                { "path with a space", "GET", "/a b" },
        };
        g_autofree char *longest = g_strnfill(sizeof(((struct sockaddr_un *) NULL)->sun_path), 'x');
        sd_event *e = NULL;
        HttpRequest *req = NULL;

        cr_assert(sd_event_new(&e) >= 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_expect_eq(http_request_start(e, "/nonexistent", bad[i].method, bad[i].path, NULL, 0, NULL,
                                                NULL, &req), -EINVAL, "%s", bad[i].name);
        cr_expect_eq(http_request_start(e, longest, "GET", "/", NULL, 0, NULL, NULL, &req), -ENAMETOOLONG);
        cr_expect_null(req);
        sd_event_unref(e);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        int *ticks = userdata;

        (*ticks)++;
        return sd_event_source_set_time_relative(s, 10 * 1000);
}

/* A server that never answers costs the loop nothing: a timer keeps firing meanwhile. */
Test(http_client, timeout_loop_keeps_running) {
        Server s = { .go_fd = -EBADF, .filler_fd = -EBADF, .backlog = 1 };
        pthread_t thread;
        sd_event *e = NULL;
        sd_event_source *tick = NULL;
        HttpRequest *req = NULL;
        Reply rep = {};
        int ticks = 0, ticks_at_reply;
        uint64_t start;

        server_start(&s, &thread);
        cr_assert(sd_event_new(&e) >= 0);
        cr_assert(sd_event_add_time_relative(e, &tick, CLOCK_MONOTONIC, 10 * 1000, 1000, on_tick, &ticks) >= 0);
        cr_assert(sd_event_source_set_enabled(tick, SD_EVENT_ON) >= 0);

        start = now_usec(CLOCK_MONOTONIC);
        cr_assert_eq(http_request_start(e, s.path, "GET", "/", NULL, 200 * 1000, on_reply, &rep, &req), 0);
        spin_until(e, &rep.calls, NULL);
        ticks_at_reply = ticks;
        cr_expect_eq(rep.calls, 1);
        cr_expect_eq(rep.r, -ETIMEDOUT);
        cr_expect_geq(rep.at - start, 190 * 1000, "timed out after %" PRIu64 " µs", rep.at - start);
        cr_expect_leq(rep.at - start, 2 * 1000 * 1000, "timed out after %" PRIu64 " µs", rep.at - start);
        cr_expect_geq(ticks_at_reply, 5, "the timer fired only %d times while the request hung", ticks_at_reply);
        cr_expect(atomic_load(&s.got_request), "the request never arrived");

        g_free(server_stop(&s, thread));
        sd_event_source_disable_unref(tick);
        sd_event_unref(e);
}

/* Cancelled while the server holds the request, or before it was even sent: no handler runs. */
Test(http_client, cancel) {
        for (int early = 0; early < 2; early++) {
                int go[2];
                Server s = { .reply = "HTTP/1.1 204 \r\n\r\n", .reply_size = 17, .close_after = true,
                             .filler_fd = -EBADF, .backlog = 1 };
                pthread_t thread;
                sd_event *e = NULL;
                HttpRequest *req = NULL;
                Reply rep = {};

                cr_assert(pipe2(go, O_CLOEXEC) >= 0);
                s.go_fd = go[0];
                server_start(&s, &thread);
                cr_assert(sd_event_new(&e) >= 0);
                cr_assert_eq(http_request_start(e, s.path, "PUT", "/actions", "{}", 0, on_reply, &rep, &req), 0);
                if (!early) {
                        spin_until(e, NULL, &s.got_request);
                        cr_assert(atomic_load(&s.got_request));
                }
                cr_expect_null(http_request_cancel(req));
                cr_assert_eq(write(go[1], "x", 1), 1);
                spin_for(e, 100 * 1000);
                cr_expect_eq(rep.calls, 0, "the handler of a cancelled request ran (early: %d)", early);

                g_free(server_stop(&s, thread));
                close(go[0]);
                close(go[1]);
                sd_event_unref(e);
        }
        cr_expect_null(http_request_cancel(NULL));
}

static void on_reply_cancel(HttpRequest *req, int r, unsigned status, const char *body, size_t body_size,
                            void *userdata) {
        cr_expect_null(http_request_cancel(req));
        on_reply(req, r, status, body, body_size, userdata);
}

/* The request is freed once: after the handler that cancelled it returned. */
Test(http_client, cancel_in_handler) {
        Server s = { .reply = "HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\n{}", .go_fd = -EBADF, .filler_fd = -EBADF,
                     .backlog = 1 };
        pthread_t thread;
        sd_event *e = NULL;
        Reply rep = {};

        s.reply_size = strlen(s.reply);
        server_start(&s, &thread);
        cr_assert(sd_event_new(&e) >= 0);
        cr_assert_eq(http_request_start(e, s.path, "GET", "/", NULL, 0, on_reply_cancel, &rep, NULL), 0);
        spin_until(e, &rep.calls, NULL);
        cr_expect_eq(rep.calls, 1);
        cr_expect_eq(rep.r, 0);
        expect_streq(rep.body ? rep.body->str : NULL, "{}", "cancel in handler");
        g_free(server_stop(&s, thread));
        reply_done(&rep);
        sd_event_unref(e);
}

/* Without a handler the request frees itself once the reply is in (a leak fails this test). */
Test(http_client, fire_and_forget) {
        Server s = { .reply = "HTTP/1.1 204 \r\n\r\n", .reply_size = 17, .go_fd = -EBADF, .filler_fd = -EBADF,
                     .backlog = 1 };
        pthread_t thread;
        sd_event *e = NULL;

        server_start(&s, &thread);
        cr_assert(sd_event_new(&e) >= 0);
        cr_assert_eq(http_request_start(e, s.path, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", 0,
                                        NULL, NULL, NULL), 0);
        /* The server is done once the client closed the connection, which it does when finished. */
        spin_until(e, NULL, &s.done);
        cr_expect(atomic_load(&s.done));
        g_free(server_stop(&s, thread));
        sd_event_unref(e);
}

/* A Unix socket turns a connection away when the backlog is full: the client waits, then gets in. */
Test(http_client, backlog_full) {
        Server s = { .reply = "HTTP/1.1 204 \r\n\r\n", .reply_size = 17, .go_fd = -EBADF, .backlog = 0 };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int probe = -EBADF;
        g_autofree char *request = NULL;
        pthread_t thread;
        sd_event *e = NULL;
        HttpRequest *req = NULL;
        Reply rep = {};

        /* The filler goes in first, before the server thread starts accepting. */
        s.dir = tmpdir_new();
        s.request = g_string_new(NULL);
        snprintf(s.path, sizeof(s.path), "%s/api.sock", s.dir);
        strcpy(sa.sun_path, s.path);
        s.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert(bind(s.listen_fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0);
        cr_assert(listen(s.listen_fd, 0) >= 0);
        s.filler_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        cr_assert(connect(s.filler_fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0);
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        cr_assert(connect(probe, (struct sockaddr *) &sa, sizeof(sa)) < 0 && errno == EAGAIN,
                  "the backlog is not full: %m");

        cr_assert(sd_event_new(&e) >= 0);
        cr_assert_eq(http_request_start(e, s.path, "PUT", "/api/v1/vm.resume", NULL, 5 * 1000 * 1000, on_reply,
                                        &rep, &req), 0);
        cr_assert_eq(pthread_create(&thread, NULL, server_thread, &s), 0);
        spin_until(e, &rep.calls, NULL);
        cr_expect_eq(rep.calls, 1);
        cr_expect_eq(rep.r, 0, "r = %d", rep.r);
        cr_expect_eq(rep.status, 204);
        request = server_stop(&s, thread);
        expect_streq(request, REQUEST_HEAD("PUT /api/v1/vm.resume") "\r\n", "after a full backlog");
        close(s.filler_fd);
        reply_done(&rep);
        sd_event_unref(e);
}
