/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shutdown and Reboot. The caller hears back before the guest goes down: the action waits until
 * the answer has left the agent. With systemd the guest shuts down in order (poweroff.target,
 * reboot.target); without it (the initramfs guest) a child syncs and calls reboot(2), which root
 * may do from any process, not only from PID 1. */

#include <signal.h>
#include <sys/reboot.h>
#include <sys/wait.h>

#include "agent-power.h"
#include "log.h"
#include "time-util.h"

/* The longest the action waits for the answer to be written. */
#define POWER_ANSWER_WAIT_USEC (1000 * 1000)

struct AgentPower {
        Agent *agent;                   /* borrowed */
        AgentPowerAction action;
        sd_bus *bus;                    /* the connection that carries the answer */
        uint64_t deadline;
        sd_event_source *timer_source;  /* polls until the answer is written */
        sd_event_source *child_source;  /* the child that syncs and calls reboot(2) */
};

static const char *const power_target[_AGENT_POWER_MAX] = {
        [AGENT_POWER_OFF] = "poweroff.target",
        [AGENT_POWER_REBOOT] = "reboot.target",
};

AgentPower *agent_power_free(AgentPower *p) {
        if (!p)
                return NULL;
        if (p->agent && p->agent->power == p)
                p->agent->power = NULL;
        sd_event_source_disable_unref(p->timer_source);
        sd_event_source_disable_unref(p->child_source);
        sd_bus_unref(p->bus);
        return mfree(p);
}

static int on_power_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        AgentPower *p = userdata;

        /* reboot(2) does not return when it works: the child only exits when it failed. */
        if (si->si_code == CLD_EXITED)
                log_error_errno(si->si_status, "Cannot %s: %m",
                                p->action == AGENT_POWER_OFF ? "power off" : "reboot");
        else
                log_error("The process that powers off or reboots died of signal %i.", si->si_status);
        agent_power_free(p);
        return 0;
}

/* Without systemd: sync and reboot(2), in a child so that the loop goes on meanwhile. */
static void power_force(AgentPower *p) {
        pid_t pid;
        int r;

        pid = fork();
        if (pid < 0) {
                log_error_errno(errno, "Cannot fork to power off or reboot: %m");
                agent_power_free(p);
                return;
        }
        if (pid == 0) {
                sync();
                (void) reboot(p->action == AGENT_POWER_OFF ? RB_POWER_OFF : RB_AUTOBOOT);
                _exit(errno);
        }
        r = sd_event_add_child(p->agent->event, &p->child_source, pid, WEXITED, on_power_child, p);
        if (r < 0)
                log_warning_errno(r, "Cannot watch process %i, ignoring: %m", (int) pid);
}

static int reply_start_unit(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AgentPower *p = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (!e) {
                log_debug("systemd queued %s.", power_target[p->action]);
                return 0;
        }
        /* The caller was told it happens: make it happen. */
        log_warning("systemd did not start %s (%s), forcing it.", power_target[p->action], e->message);
        power_force(p);
        return 0;
}

static void power_act(AgentPower *p) {
        sd_bus *system_bus;
        int r;

        if (!agent_has_systemd()) {
                power_force(p);
                return;
        }
        r = agent_get_system_bus(p->agent, &system_bus);
        if (r >= 0)
                r = sd_bus_call_method_async(system_bus, /* slot= */ NULL, "org.freedesktop.systemd1",
                                             "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                             "StartUnit", reply_start_unit, p, "ss", power_target[p->action],
                                             "replace-irreversibly");
        if (r < 0) {
                log_warning_errno(r, "Cannot ask systemd to start %s, forcing it: %m", power_target[p->action]);
                power_force(p);
        }
}

static int on_power_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        AgentPower *p = userdata;
        uint64_t queued = 0;
        int r;

        /* A closed connection has nothing queued that could still go out. On a port the answer
         * then passes the relay. */
        if (sd_bus_get_n_queued_write(p->bus, &queued) < 0)
                queued = 0;
        if ((queued > 0 || agent_output_pending(p->agent)) && now_usec(CLOCK_MONOTONIC) < p->deadline) {
                r = sd_event_source_set_time_relative(s, 5 * 1000);
                if (r >= 0)
                        r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                if (r >= 0)
                        return 0;
        }
        p->timer_source = sd_event_source_disable_unref(p->timer_source);
        power_act(p);
        return 0;
}

int agent_power_start(Agent *a, sd_bus_message *m, AgentPowerAction action) {
        AgentPower *p;
        int r;

        r = sd_bus_reply_method_return(m, NULL);
        if (r < 0)
                return r;
        if (a->power)
                return 1;

        p = calloc(1, sizeof(*p));
        if (!p)
                return log_oom();
        p->agent = a;
        p->action = action;
        p->bus = sd_bus_ref(sd_bus_message_get_bus(m));
        p->deadline = now_usec(CLOCK_MONOTONIC) + POWER_ANSWER_WAIT_USEC;
        a->power = p;
        r = sd_event_add_time_relative(a->event, &p->timer_source, CLOCK_MONOTONIC, 0, /* accuracy= */ 1000,
                                       on_power_timer, p);
        if (r < 0) {
                log_warning_errno(r, "Cannot wait for the answer to go out, acting now: %m");
                power_act(p);
        }
        log_debug("%s requested.", action == AGENT_POWER_OFF ? "Shutdown" : "Reboot");
        return 1;
}
