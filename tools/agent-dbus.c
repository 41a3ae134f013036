/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.microvm.Agent1: the calls answered at once (Ping, GetInfo, Signal) and the vtable; Exec,
 * Shutdown and Reboot are in their own files. */

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "agent-dbus.h"
#include "agent-exec.h"
#include "agent-power.h"
#include "agent-protocol.h"
#include "log.h"
#include "time-util.h"

static int method_ping(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, NULL);
}

static int method_exec(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return agent_exec_start(userdata, m, error);
}

static int method_shutdown(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return agent_power_start(userdata, m, AGENT_POWER_OFF);
}

static int method_reboot(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return agent_power_start(userdata, m, AGENT_POWER_REBOOT);
}

/* Passes systemd's answer to KillUnit on as the answer to Signal (the slot's userdata). */
static int reply_kill_unit(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        sd_bus_message *request = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        if (e)
                r = sd_bus_reply_method_error(request, e);
        else
                r = sd_bus_reply_method_return(request, NULL);
        if (r < 0)
                log_debug_errno(r, "Cannot answer Signal, ignoring: %m");
        return 0;
}

static void request_unref(void *userdata) {
        sd_bus_message_unref(userdata);
}

static int signal_unit(Agent *a, sd_bus_message *m, const char *unit, int sig, sd_bus_error *error) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        sd_bus *system_bus;
        int r;

        if (!agent_has_systemd())
                return sd_bus_error_setf(error, MVM_AGENT_ERROR_NOT_SUPPORTED,
                                         "Cannot signal unit '%s': no systemd in this guest.", unit);
        r = agent_get_system_bus(a, &system_bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system bus: %m");

        r = sd_bus_call_method_async(system_bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", "KillUnit", reply_kill_unit, m,
                                     "ssi", unit, "all", sig);
        if (r < 0)
                return log_error_errno(r, "Cannot call KillUnit: %m");
        /* The slot keeps the call alive; it lives as long as the pending call and unrefs m when
         * it goes, whether systemd answered or the system bus closed. */
        sd_bus_message_ref(m);
        (void) sd_bus_slot_set_destroy_callback(slot, request_unref);
        r = sd_bus_slot_set_floating(slot, true);
        if (r < 0)
                return r;
        return 1;
}

/* A decimal process ID: 1 and more. */
static bool parse_pid(const char *s, pid_t *ret) {
        char *end;
        long v;

        if (*s < '0' || *s > '9')
                return false;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || *end != '\0' || v <= 0 || v > INT_MAX)
                return false;
        *ret = (pid_t) v;
        return true;
}

static int method_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Agent *a = userdata;
        const char *target;
        pid_t pid;
        int sig, r;

        r = sd_bus_message_read(m, "si", &target, &sig);
        if (r < 0)
                return r;
        if (sig < 1 || sig > SIGRTMAX)
                return sd_bus_error_setf(error, MVM_AGENT_ERROR_INVALID_ARGUMENT,
                                         "Signal %i is not a signal number (1 to %i).", sig, SIGRTMAX);

        if (parse_pid(target, &pid)) {
                if (kill(pid, sig) < 0) {
                        if (errno == ESRCH)
                                return sd_bus_error_setf(error, MVM_AGENT_ERROR_NO_SUCH_PROCESS,
                                                         "No process %i.", (int) pid);
                        return log_error_errno(errno, "Cannot send signal %i to process %i: %m", sig, (int) pid);
                }
                return sd_bus_reply_method_return(m, NULL);
        }
        if (strchr(target, '.'))
                return signal_unit(a, m, target, sig, error);

        return sd_bus_error_setf(error, MVM_AGENT_ERROR_INVALID_ARGUMENT,
                                 "'%s' is neither a process ID nor a unit name.", target);
}

static int append_entry(sd_bus_message *reply, const char *key, const char *type, ...) {
        va_list ap;
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "s", key);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'v', type);
        if (r < 0)
                return r;
        va_start(ap, type);
        r = sd_bus_message_appendv(reply, type, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* The length of the prefix a netmask describes. */
static unsigned prefix_length(const struct sockaddr *netmask) {
        const uint8_t *b;
        size_t n;
        unsigned bits = 0;

        if (!netmask)
                return 0;
        if (netmask->sa_family == AF_INET) {
                b = (const uint8_t *) &((const struct sockaddr_in *) netmask)->sin_addr;
                n = 4;
        } else {
                b = (const uint8_t *) &((const struct sockaddr_in6 *) netmask)->sin6_addr;
                n = 16;
        }
        for (size_t i = 0; i < n; i++)
                bits += (unsigned) __builtin_popcount(b[i]);
        return bits;
}

/* "eth0 10.213.0.5/24", for each IPv4 and IPv6 address but the loopback's. */
static int append_addresses(sd_bus_message *reply) {
        struct ifaddrs *list = NULL;
        int r;

        if (getifaddrs(&list) < 0) {
                log_warning_errno(errno, "Cannot list the network addresses, leaving them out: %m");
                list = NULL;
        }
        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "Addresses");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        for (struct ifaddrs *i = list; i && r >= 0; i = i->ifa_next) {
                char address[INET6_ADDRSTRLEN], entry[IF_NAMESIZE + INET6_ADDRSTRLEN + 8];
                const void *p;
                int family;

                if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
                        continue;
                family = i->ifa_addr->sa_family;
                if (family == AF_INET)
                        p = &((const struct sockaddr_in *) i->ifa_addr)->sin_addr;
                else if (family == AF_INET6)
                        p = &((const struct sockaddr_in6 *) i->ifa_addr)->sin6_addr;
                else
                        continue;
                if (!inet_ntop(family, p, address, sizeof(address)))
                        continue;
                (void) snprintf(entry, sizeof(entry), "%s %s/%u", i->ifa_name, address,
                                prefix_length(i->ifa_netmask));
                r = sd_bus_message_append(reply, "s", entry);
        }
        if (list)
                freeifaddrs(list);
        for (int i = 0; i < 3 && r >= 0; i++)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_get_info(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        struct utsname u;
        int r;

        if (uname(&u) < 0)
                return -errno;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = append_entry(reply, "Version", "s", MVM_AGENT_VERSION);
        if (r >= 0)
                r = append_entry(reply, "Interface", "s", MVM_AGENT_INTERFACE);
        if (r >= 0)
                r = append_entry(reply, "Kernel", "s", u.release);
        if (r >= 0)
                r = append_entry(reply, "Hostname", "s", u.nodename);
        if (r >= 0)
                r = append_entry(reply, "UptimeUSec", "t", now_usec(CLOCK_BOOTTIME));
        if (r >= 0)
                r = append_addresses(reply);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(/* bus= */ NULL, reply, /* cookie= */ NULL);
}

static const sd_bus_vtable agent_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Ping", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_ping, 0),
        SD_BUS_METHOD_WITH_ARGS("Exec",
                                SD_BUS_ARGS("as", argv, "as", env, "ay", stdin, "t", timeout_usec,
                                            "t", output_max),
                                SD_BUS_RESULT("i", exit_status, "i", signal, "ay", stdout, "ay", stderr),
                                method_exec, 0),
        SD_BUS_METHOD_WITH_ARGS("Signal", SD_BUS_ARGS("s", target, "i", signal), SD_BUS_NO_RESULT,
                                method_signal, 0),
        SD_BUS_METHOD_WITH_ARGS("Shutdown", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_shutdown, 0),
        SD_BUS_METHOD_WITH_ARGS("Reboot", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reboot, 0),
        SD_BUS_METHOD_WITH_ARGS("GetInfo", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", info), method_get_info, 0),
        SD_BUS_VTABLE_END,
};

int agent_dbus_add_object(Agent *a, sd_bus *bus) {
        return sd_bus_add_object_vtable(bus, /* slot= */ NULL, MVM_AGENT_PATH, MVM_AGENT_INTERFACE,
                                        agent_vtable, a);
}
