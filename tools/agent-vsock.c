/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The AF_VSOCK listener. The host's vsock (vhost-vsock, or the hybrid Unix socket of Firecracker and
 * cloud-hypervisor, which forwards "CONNECT <port>" here) reaches it from outside the guest. The
 * listener is the agent's own, or one systemd passes it (a socket unit with ListenStream=vsock::PORT). */

#include <fcntl.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

#include "agent-server.h"
#include "agent-vsock.h"
#include "log.h"

struct AgentVsock {
        Agent *agent;                   /* borrowed */
        int fd;
        sd_event_source *source;
};

AgentVsock *agent_vsock_free(AgentVsock *v) {
        if (!v)
                return NULL;
        sd_event_source_disable_unref(v->source);
        closep(&v->fd);
        return mfree(v);
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        AgentVsock *v = userdata;
        struct sockaddr_storage ss = {};
        socklen_t salen = sizeof(ss);
        char description[64] = "a passed socket";
        int c, r;

        c = accept4(v->fd, (struct sockaddr *) &ss, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning_errno(errno, "Cannot accept a vsock connection, ignoring: %m");
                return 0;
        }
        if (ss.ss_family == AF_VSOCK) {
                const struct sockaddr_vm *sa = (const struct sockaddr_vm *) &ss;

                (void) snprintf(description, sizeof(description), "vsock %u:%u", sa->svm_cid, sa->svm_port);
        }
        r = agent_server_new(v->agent, c, description, /* on_closed= */ NULL, NULL, /* ret= */ NULL);
        if (r < 0)
                log_warning_errno(r, "Cannot serve %s, ignoring: %m", description);
        return 0;
}

int agent_vsock_new(Agent *a, unsigned port, AgentVsock **ret) {
        _cleanup_(agent_vsock_freep) AgentVsock *v = NULL;
        struct sockaddr_vm sa = {
                .svm_family = AF_VSOCK,
                .svm_cid = VMADDR_CID_ANY,
                .svm_port = port,
        };
        int r;

        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->agent = a;
        v->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (v->fd < 0) {
                if (IN_SET(errno, EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT)) {
                        log_debug("No vsock in this guest, not listening on it.");
                        return 0;
                }
                return -errno;
        }
        if (bind(v->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                /* The vsock core without a transport (no vsock device) takes no address. */
                if (IN_SET(errno, EADDRNOTAVAIL, ENODEV)) {
                        log_debug_errno(errno, "Cannot bind a vsock socket, not listening on vsock: %m");
                        return 0;
                }
                return -errno;
        }
        if (listen(v->fd, SOMAXCONN) < 0)
                return -errno;
        r = sd_event_add_io(a->event, &v->source, v->fd, EPOLLIN, on_accept, v);
        if (r < 0)
                return r;
        log_debug("Listening on vsock port %u.", port);
        *ret = TAKE_PTR(v);
        return 1;
}

int agent_vsock_adopt(Agent *a, int fd, AgentVsock **ret) {
        _cleanup_(agent_vsock_freep) AgentVsock *v = NULL;
        int r;

        v = calloc(1, sizeof(*v));
        if (!v) {
                (void) close(fd);
                return -ENOMEM;
        }
        v->agent = a;
        v->fd = fd;
        r = sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, /* listening= */ 1);
        if (r < 0)
                return r;
        if (r == 0)
                return log_error_errno(EINVAL, "Descriptor %d is not a listening stream socket: pass the agent a "
                                       "listener (Accept=no).", fd);
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return -errno;
        r = sd_event_add_io(a->event, &v->source, v->fd, EPOLLIN, on_accept, v);
        if (r < 0)
                return r;
        log_debug("Listening on descriptor %d.", fd);
        *ret = TAKE_PTR(v);
        return 0;
}
