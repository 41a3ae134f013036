/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One connection of the host to the agent. No bus daemon is involved: the agent is the server end
 * of an anonymous peer-to-peer D-Bus connection, one per stream. */

#include <systemd/sd-id128.h>

#include "agent-dbus.h"
#include "agent-exec.h"
#include "agent-server.h"
#include "log.h"

AgentServer *agent_server_free(AgentServer *s) {
        if (!s)
                return NULL;

        if (s->agent) {
                if (s->prev)
                        s->prev->next = s->next;
                else
                        s->agent->servers = s->next;
                if (s->next)
                        s->next->prev = s->prev;
                /* Nobody is left to read what those calls would answer. */
                agent_exec_abandon_bus(s->agent, s->bus);
        }
        sd_bus_flush_close_unref(s->bus);
        free(s->description);
        return mfree(s);
}

static int match_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        AgentServer *s = userdata;

        log_debug("%s: connection closed.", s->description);
        if (s->on_closed)
                s->on_closed(s, s->userdata);
        /* sd-bus keeps the bus object alive until this callback returns. */
        agent_server_free(s);
        return 0;
}

int agent_server_new(Agent *a, int fd, const char *description, AgentServerClosed on_closed,
                     void *userdata, AgentServer **ret) {
        _cleanup_close_ int owned = fd;
        _cleanup_(agent_server_freep) AgentServer *s = NULL;
        sd_id128_t id;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->description = strdup(description);
        if (!s->description)
                return -ENOMEM;

        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        r = sd_bus_new(&s->bus);
        if (r < 0)
                return r;
        r = sd_bus_set_fd(s->bus, owned, owned);
        if (r < 0)
                return r;
        TAKE_FD(owned);
        (void) sd_bus_set_description(s->bus, description);
        r = sd_bus_set_server(s->bus, true, id);
        if (r < 0)
                return r;
        /* A virtio-serial port or a vsock carries no credentials to check: whoever reaches the
         * channel is the host, and the host may do anything in its guest. */
        r = sd_bus_set_anonymous(s->bus, true);
        if (r < 0)
                return r;
        r = sd_bus_set_trusted(s->bus, true);
        if (r < 0)
                return r;
        r = sd_bus_negotiate_fds(s->bus, false);
        if (r < 0)
                return r;
        r = agent_dbus_add_object(a, s->bus);
        if (r < 0)
                return r;
        /* sd-bus synthesizes this signal locally when the stream ends. */
        r = sd_bus_match_signal(s->bus, /* ret_slot= */ NULL, /* sender= */ NULL,
                                "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                "Disconnected", match_disconnected, s);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(s->bus, a->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        r = sd_bus_start(s->bus);
        if (r < 0)
                return r;

        s->agent = a;
        s->on_closed = on_closed;
        s->userdata = userdata;
        s->next = a->servers;
        if (a->servers)
                a->servers->prev = s;
        a->servers = s;
        log_debug("%s: serving.", description);
        if (ret)
                *ret = s;
        TAKE_PTR(s);
        return 0;
}
