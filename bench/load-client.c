/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Load on microvmd: many clients calling at once while VMs boot. It creates --vms VMs from
 * --vm-config and starts them all without waiting, then --clients threads, each on its own bus
 * connection, make --calls calls in all, in turn ListVMs, GetVM, a property read, CreateVM and
 * DeleteVM (of the VM that thread just created), each followed by a Peer.Ping to microvmd, the
 * bus round trip under the same load, as the baseline. Every answer is checked; then every VM
 * started must run and its unit be active, and no VM the clients made may be left.
 *
 * Prints the latency of the calls (p50, p99, max) beside the pings', and exits 1 when any answer
 * was wrong. Used by bench/load (the figures) and by the integration test test-load.sh (the
 * answers). */

#include <getopt.h>
#include <glib.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "bus-variant.h"
#include "figure.h"
#include "macro.h"

#define VM_FORMAT "load-vm-%zu"
#define CLIENT_VM_FORMAT "load-c%zu-%zu"
#define TARGET_P99_MS 20.0
#define START_TIMEOUT_USEC (300 * UINT64_C(1000000))

typedef struct Options {
        size_t clients, calls, vms;
        const char *vm_config;          /* a{sv} in GVariant's text form */
        const char *summary;
} Options;

typedef struct Client {
        const Options *opt;
        size_t index;
        pthread_t thread;
        double *latencies, *pings;      /* ms, one per call made */
        size_t n;
        size_t errors;
        char first_error[512];
} Client;

static void client_error(Client *c, const char *format, ...) _printf_(2, 3);
static void client_error(Client *c, const char *format, ...) {
        va_list ap;

        if (c->errors++ > 0)
                return;
        va_start(ap, format);
        vsnprintf(c->first_error, sizeof(c->first_error), format, ap);
        va_end(ap);
}

static int create_vm(sd_bus *bus, const char *name, const char *config, sd_bus_message **ret_reply,
                     sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        g_autoptr(GVariant) dict = g_variant_parse(G_VARIANT_TYPE("a{sv}"), config, NULL, NULL, NULL);

        if (!dict)
                return -EINVAL;
        r = sd_bus_message_new_method_call(bus, &m, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "CreateVM");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = bus_message_append_gvariant(m, dict);
        if (r < 0)
                return r;
        return sd_bus_call(bus, m, 0, error, ret_reply);
}

/* One call's time in ms; -1 when it failed (said in c). */
static double timed_call(Client *c, sd_bus *bus, const char *what, const char *path, const char *interface,
                         const char *member, sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint64_t start;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, MVM_BUS_NAME, path, interface, member);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r < 0) {
                client_error(c, "%s: cannot build the call: %s", what, strerror(-r));
                return -1;
        }
        start = now_nsec();
        r = sd_bus_call(bus, m, 0, &error, ret_reply);
        if (r < 0) {
                client_error(c, "%s: %s: %s", what, error.name ?: "", error.message ?: strerror(-r));
                return -1;
        }
        return ms_between(start, now_nsec());
}

/* Whether ListVMs' reply names every VM being started. */
static bool lists_all(sd_bus_message *reply, size_t vms) {
        const char *name, *state, *path;
        size_t seen = 0;

        if (sd_bus_message_enter_container(reply, 'a', "(sso)") < 0)
                return false;
        while (sd_bus_message_read(reply, "(sso)", &name, &state, &path) > 0)
                if (strncmp(name, "load-vm-", 8) == 0)
                        seen++;
        return seen == vms;
}

static void *client_run(void *userdata) {
        Client *c = userdata;
        const Options *o = c->opt;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        char created[64] = "";
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                client_error(c, "cannot connect to the system bus: %s", strerror(-r));
                return NULL;
        }
        for (size_t i = c->index; i < o->calls; i += o->clients) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *pong = NULL;
                _cleanup_free_ char *expected = NULL;
                char vm[64], what[96];
                const char *s;
                double ms = -1, ping;

                snprintf(vm, sizeof(vm), VM_FORMAT, o->vms > 0 ? i % o->vms : 0);
                switch (i / o->clients % 5) {
                case 0:
                        snprintf(what, sizeof(what), "ListVMs");
                        ms = timed_call(c, bus, what, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "ListVMs", &reply, NULL);
                        if (ms >= 0 && !lists_all(reply, o->vms))
                                client_error(c, "ListVMs: not every VM being started is listed");
                        break;
                case 1:
                        snprintf(what, sizeof(what), "GetVM %s", vm);
                        if (o->vms == 0)
                                break;
                        ms = timed_call(c, bus, what, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "GetVM", &reply, "s", vm);
                        if (ms >= 0 && (sd_bus_path_encode(MVM_VM_PATH_PREFIX, vm, &expected) < 0 ||
                                        sd_bus_message_read(reply, "o", &s) < 0 || !streq(s, expected)))
                                client_error(c, "GetVM %s: not its path", vm);
                        break;
                case 2:
                        snprintf(what, sizeof(what), "State of %s", vm);
                        if (o->vms == 0 || sd_bus_path_encode(MVM_VM_PATH_PREFIX, vm, &expected) < 0)
                                break;
                        ms = timed_call(c, bus, what, expected, "org.freedesktop.DBus.Properties", "Get", &reply, "ss",
                                        MVM_VM_INTERFACE, "State");
                        if (ms >= 0 && (sd_bus_message_read(reply, "v", "s", &s) < 0 ||
                                        !(streq(s, "defined") || streq(s, "stopped") || streq(s, "starting") ||
                                          streq(s, "running"))))
                                client_error(c, "State of %s: not a state of a VM being started", vm);
                        break;
                case 3: {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        uint64_t start = now_nsec();

                        snprintf(created, sizeof(created), CLIENT_VM_FORMAT, c->index, i);
                        snprintf(what, sizeof(what), "CreateVM %s", created);
                        r = create_vm(bus, created, "{'Kernel': <'/var/lib/microvm/images/vmlinuz'>}", &reply, &error);
                        if (r < 0) {
                                client_error(c, "%s: %s: %s", what, error.name ?: "",
                                             error.message ?: strerror(-r));
                                created[0] = '\0';
                        } else
                                ms = ms_between(start, now_nsec());
                        break;
                }
                case 4:
                        snprintf(what, sizeof(what), "DeleteVM %s", created);
                        if (!created[0])
                                break;
                        ms = timed_call(c, bus, what, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "DeleteVM", NULL, "s",
                                        created);
                        created[0] = '\0';
                        break;
                }
                if (ms < 0)
                        continue;
                ping = timed_call(c, bus, "Ping", MVM_MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping", &pong, NULL);
                if (ping < 0)
                        continue;
                c->latencies[c->n] = ms;
                c->pings[c->n] = ping;
                c->n++;
        }
        return NULL;
}

static int start_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        size_t *pending = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e)
                fprintf(stderr, "StartVM failed: %s: %s\n", e->name, strempty(e->message));
        else
                (*pending)--;
        return 0;
}

/* Each started VM runs, as microvmd says and as systemd says; no VM of the clients is left. */
static size_t check_after(sd_bus *bus, const Options *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *list = NULL;
        const char *name, *state, *path;
        size_t errors = 0;
        int r;

        for (size_t i = 0; i < o->vms; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *vm_path = NULL, *unit_path = NULL, *active = NULL, *vm_state = NULL;
                char vm[64], unit[96];

                snprintf(vm, sizeof(vm), VM_FORMAT, i);
                snprintf(unit, sizeof(unit), "microvm@%s.service", vm);
                if (sd_bus_path_encode(MVM_VM_PATH_PREFIX, vm, &vm_path) < 0 ||
                    sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &unit_path) < 0)
                        return errors + 1;
                r = sd_bus_get_property_string(bus, MVM_BUS_NAME, vm_path, MVM_VM_INTERFACE, "State", &error, &vm_state);
                if (r >= 0)
                        r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", unit_path,
                                                       "org.freedesktop.systemd1.Unit", "ActiveState", &error, &active);
                if (r < 0 || !streq(vm_state, "running") || !streq(active, "active")) {
                        fprintf(stderr, "%s: State %s, its unit %s\n", vm, strna(vm_state), strna(active));
                        errors++;
                }
        }

        r = sd_bus_call_method(bus, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE, "ListVMs", NULL, &list, "");
        if (r < 0 || sd_bus_message_enter_container(list, 'a', "(sso)") < 0)
                return errors + 1;
        while (sd_bus_message_read(list, "(sso)", &name, &state, &path) > 0)
                if (strncmp(name, "load-c", 6) == 0) {
                        fprintf(stderr, "%s is left\n", name);
                        errors++;
                }
        return errors;
}

static int parse_argv(int argc, char *argv[], Options *o) {
        static const struct option options[] = {
                { "clients", required_argument, NULL, 'c' },
                { "calls", required_argument, NULL, 'n' },
                { "vms", required_argument, NULL, 'v' },
                { "vm-config", required_argument, NULL, 'C' },
                { "summary", required_argument, NULL, 's' },
                {}
        };
        int c;

        *o = (Options) { .clients = 16, .calls = 1000, .vms = 4 };
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        if (parse_count(optarg, 1, 256, &o->clients) < 0)
                                return -EINVAL;
                        break;
                case 'n':
                        if (parse_count(optarg, 1, 1000000, &o->calls) < 0)
                                return -EINVAL;
                        break;
                case 'v':
                        if (parse_count(optarg, 0, 64, &o->vms) < 0)
                                return -EINVAL;
                        break;
                case 'C':
                        o->vm_config = optarg;
                        break;
                case 's':
                        o->summary = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (o->vms > 0 && !o->vm_config)
                return -EINVAL;
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ double *latencies = NULL, *pings = NULL;
        _cleanup_free_ Client *clients = NULL;
        FILE *summary = NULL;
        size_t pending, n = 0, errors = 0;
        uint64_t deadline;
        Options o;
        int r;

        if (parse_argv(argc, argv, &o) < 0) {
                fprintf(stderr, "Usage: %s [--clients N] [--calls N] [--vms N --vm-config A{SV}] [--summary FILE]\n",
                        program_invocation_short_name);
                return 2;
        }
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "Cannot connect to the system bus: %s\n", strerror(-r));
                return 1;
        }

        /* The VMs, created, then all started at once without waiting. */
        pending = o.vms;
        for (size_t i = 0; i < o.vms; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                char vm[64];

                snprintf(vm, sizeof(vm), VM_FORMAT, i);
                r = create_vm(bus, vm, o.vm_config, NULL, &error);
                if (r >= 0)
                        r = sd_bus_call_method_async(bus, NULL, MVM_BUS_NAME, MVM_MANAGER_PATH, MVM_MANAGER_INTERFACE,
                                                     "StartVM", start_reply, &pending, "s", vm);
                if (r < 0) {
                        fprintf(stderr, "Cannot create and start %s: %s\n", vm, error.message ?: strerror(-r));
                        return 1;
                }
        }
        (void) sd_bus_flush(bus);

        clients = calloc(o.clients, sizeof(Client));
        latencies = calloc(o.calls, sizeof(double));
        pings = calloc(o.calls, sizeof(double));
        if (!clients || !latencies || !pings)
                return 1;
        for (size_t k = 0; k < o.clients; k++) {
                clients[k] = (Client) { .opt = &o, .index = k };
                clients[k].latencies = calloc(o.calls / o.clients + 1, sizeof(double));
                clients[k].pings = calloc(o.calls / o.clients + 1, sizeof(double));
                if (!clients[k].latencies || !clients[k].pings ||
                    pthread_create(&clients[k].thread, NULL, client_run, &clients[k]) != 0)
                        return 1;
        }
        for (size_t k = 0; k < o.clients; k++) {
                Client *c = &clients[k];

                (void) pthread_join(c->thread, NULL);
                memcpy(latencies + n, c->latencies, c->n * sizeof(double));
                memcpy(pings + n, c->pings, c->n * sizeof(double));
                n += c->n;
                if (c->errors > 0)
                        fprintf(stderr, "client %zu: %zu wrong answers, the first: %s\n", k, c->errors, c->first_error);
                errors += c->errors;
                free(c->latencies);
                free(c->pings);
        }

        /* The starts, answered. */
        deadline = now_nsec() + START_TIMEOUT_USEC * NSEC_PER_USEC;
        while (pending > 0 && now_nsec() < deadline) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, 1000000);
                if (r < 0)
                        break;
        }
        if (pending > 0) {
                fprintf(stderr, "%zu StartVM calls did not succeed\n", pending);
                errors += pending;
        }
        errors += check_after(bus, &o);

        printf("== load (%zu calls from %zu clients while %zu VMs boot)\n", n, o.clients, o.vms);
        printf("answered correctly: %zu of %zu\n", n - MIN(n, errors), o.calls);
        if (o.summary)
                summary = fopen(o.summary, "ae");
        if (n > 0) {
                double p50 = quantile(latencies, n, 0.5), p99 = quantile(latencies, n, 0.99);
                double ping50 = quantile(pings, n, 0.5), ping99 = quantile(pings, n, 0.99);

                figure_print(summary, &(Figure) { .name = "bus call latency p50 under load", .value = p50,
                                                  .unit = "ms", .decimals = 2, .baseline = ping50 });
                figure_print(summary, &(Figure) { .name = "bus call latency p99 under load", .value = p99,
                                                  .unit = "ms", .decimals = 2, .target_kind = TARGET_AT_MOST,
                                                  .target = TARGET_P99_MS, .baseline = ping99 });
                printf("slowest call: %.2f ms\n", quantile(latencies, n, 1.0));
        }
        if (summary)
                fclose(summary);
        if (errors > 0) {
                fprintf(stderr, "%zu wrong answers\n", errors);
                return 1;
        }
        return 0;
}
