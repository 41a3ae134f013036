/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent object: the loop, the channels and what runs. */

#include <signal.h>
#include <systemd/sd-daemon.h>

#include "agent-exec.h"
#include "agent-port.h"
#include "agent-power.h"
#include "agent-protocol.h"
#include "agent-server.h"
#include "agent-vsock.h"
#include "agent.h"
#include "log.h"

int agent_new(Agent **ret) {
        _cleanup_(agent_freep) Agent *a = NULL;
        sigset_t mask;
        int r;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;

        /* sd-event watches these through signalfd or pidfd; they must not be delivered. A command's
         * stdin closing early must not kill the agent either. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        (void) signal(SIGPIPE, SIG_IGN);

        r = sd_event_new(&a->event);
        if (r < 0)
                return r;
        /* No callback: the loop exits. */
        r = sd_event_add_signal(a->event, /* ret= */ NULL, SIGTERM, /* callback= */ NULL, NULL);
        if (r < 0)
                return r;
        r = sd_event_add_signal(a->event, /* ret= */ NULL, SIGINT, /* callback= */ NULL, NULL);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(a);
        return 0;
}

Agent *agent_free(Agent *a) {
        if (!a)
                return NULL;

        /* Ports first: they point at their servers. */
        for (size_t i = 0; i < a->n_ports; i++)
                agent_port_free(a->ports[i]);
        free(a->ports);
        for (size_t i = 0; i < a->n_listeners; i++)
                agent_vsock_free(a->listeners[i]);
        free(a->listeners);
        while (a->servers)
                agent_server_free(a->servers);
        while (a->execs)
                agent_exec_free(a->execs);
        agent_power_free(a->power);
        sd_bus_flush_close_unref(a->system_bus);
        sd_event_unref(a->event);
        return mfree(a);
}

int agent_add_port(Agent *a, const char *name) {
        AgentPort **ports;
        int r;

        ports = reallocarray(a->ports, a->n_ports + 1, sizeof(*ports));
        if (!ports)
                return -ENOMEM;
        a->ports = ports;
        r = agent_port_new(a, name, &a->ports[a->n_ports]);
        if (r < 0)
                return r;
        a->n_ports++;
        return 0;
}

static int agent_grow_listeners(Agent *a) {
        AgentVsock **l = reallocarray(a->listeners, a->n_listeners + 1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        a->listeners = l;
        a->listeners[a->n_listeners] = NULL;
        return 0;
}

int agent_add_vsock(Agent *a) {
        int r = agent_grow_listeners(a);

        if (r < 0)
                return r;
        r = agent_vsock_new(a, MVM_AGENT_VSOCK_PORT, &a->listeners[a->n_listeners]);
        if (r > 0)
                a->n_listeners++;
        return r;
}

int agent_add_passed_sockets(Agent *a) {
        int n = sd_listen_fds(/* unset_environment= */ true), r;

        for (int i = 0; i < n; i++) {
                r = agent_grow_listeners(a);
                if (r < 0)
                        return r;
                r = agent_vsock_adopt(a, SD_LISTEN_FDS_START + i, &a->listeners[a->n_listeners]);
                if (r < 0)
                        return r;
                a->n_listeners++;
        }
        return n;
}

int agent_run(Agent *a) {
        return sd_event_loop(a->event);
}

bool agent_output_pending(Agent *a) {
        for (size_t i = 0; i < a->n_ports; i++)
                if (agent_port_output_pending(a->ports[i]))
                        return true;
        return false;
}

bool agent_has_systemd(void) {
        return sd_booted() > 0;
}

/* systemd's own socket, which systemctl too uses as root: it also works without a D-Bus daemon
 * (early in boot, late in shutdown, or in a guest that has none). */
static int connect_systemd_private(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int agent_get_system_bus(Agent *a, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        /* systemd may have closed it (daemon-reexec): connect again. */
        if (a->system_bus && sd_bus_is_open(a->system_bus) <= 0)
                a->system_bus = sd_bus_flush_close_unref(a->system_bus);
        if (!a->system_bus) {
                r = connect_systemd_private(&bus);
                if (r < 0) {
                        log_debug_errno(r, "Cannot connect to /run/systemd/private, trying the system bus: %m");
                        r = sd_bus_open_system(&bus);
                }
                if (r < 0)
                        return r;
                r = sd_bus_attach_event(bus, a->event, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0)
                        return r;
                a->system_bus = TAKE_PTR(bus);
        }
        *ret = a->system_bus;
        return 0;
}
