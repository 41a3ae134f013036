/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvm-agent: runs inside a microvm guest and serves org.microvm.Agent1 to the host, peer to
 * peer, on the virtio-serial ports and the vsock port the host reaches it on. */

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>

#include "agent-protocol.h"
#include "agent.h"
#include "log.h"
#include "mvm-config.h"

/* Parsed argv: the ports to serve on (borrowed from argv), and whether to listen on vsock. */
static const char **arg_ports = NULL;
static size_t arg_n_ports = 0;
static bool arg_vsock = true;

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "debug", no_argument, NULL, 'd' },
                { "port", required_argument, NULL, 'p' },
                { "no-vsock", no_argument, NULL, 'n' },
                {}
        };
        static const char *const default_ports[] = { MVM_AGENT_PORT_NAME_HOST, MVM_AGENT_PORT_NAME_UNIT };
        int c;

        arg_ports = calloc((size_t) argc + ELEMENTSOF(default_ports), sizeof(char *));
        if (!arg_ports)
                return log_oom();

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("%s [--port=NAME...] [--no-vsock] [--debug]\n\n"
                               "Serves " MVM_AGENT_INTERFACE " to the host of this microvm guest.\n\n"
                               "  --port=NAME  serve on the virtio-serial port NAME (repeatable; default:\n"
                               "               " MVM_AGENT_PORT_NAME_HOST " and " MVM_AGENT_PORT_NAME_UNIT ")\n"
                               "  --no-vsock   do not listen on vsock port %u\n"
                               "               (nor when systemd passes listening sockets: those are served)\n"
                               "  --debug      log debug messages too\n",
                               argv[0], MVM_AGENT_VSOCK_PORT);
                        return 0;
                case 'V':
                        printf("microvm-agent %s (%s version %s)\n", MVM_VERSION, MVM_AGENT_INTERFACE,
                               MVM_AGENT_VERSION);
                        return 0;
                case 'd':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'p':
                        arg_ports[arg_n_ports++] = optarg;
                        break;
                case 'n':
                        arg_vsock = false;
                        break;
                default:
                        return -EINVAL;
                }

        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes no arguments.", argv[0]);
        if (arg_n_ports == 0)
                for (size_t i = 0; i < ELEMENTSOF(default_ports); i++)
                        arg_ports[arg_n_ports++] = default_ports[i];
        return 1;
}

/* Commands get their stdin, stdout and stderr on descriptors 0-2: those must not be free for the
 * agent's own pipes, whatever the agent was started with. */
static int open_standard_fds(void) {
        for (int fd = 0; fd < 3; fd++) {
                int n;

                if (fcntl(fd, F_GETFD) >= 0)
                        continue;
                n = open("/dev/null", O_RDWR);
                if (n < 0)
                        return -errno;
                if (n != fd)
                        return -EBADF;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(agent_freep) Agent *a = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0) {
                free(arg_ports);
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }

        r = open_standard_fds();
        if (r < 0)
                log_warning_errno(r, "Cannot open /dev/null for the standard descriptors, going on: %m");
        if (chdir("/") < 0)
                log_warning_errno(errno, "Cannot change to /, going on: %m");

        r = agent_new(&a);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the event loop: %m");
                free(arg_ports);
                return EXIT_FAILURE;
        }
        for (size_t i = 0; i < arg_n_ports && r >= 0; i++) {
                r = agent_add_port(a, arg_ports[i]);
                if (r < 0)
                        log_error_errno(r, "Cannot serve on port %s: %m", arg_ports[i]);
        }
        free(arg_ports);
        if (r < 0)
                return EXIT_FAILURE;
        /* A socket unit that listens for the agent has the vsock port already. */
        r = agent_add_passed_sockets(a);
        if (r < 0) {
                log_error_errno(r, "Cannot serve on the sockets passed by systemd: %m");
                return EXIT_FAILURE;
        }
        if (arg_vsock && r == 0) {
                r = agent_add_vsock(a);
                if (r < 0)
                        log_warning_errno(r, "Cannot listen on vsock port %u, going on without: %m",
                                          MVM_AGENT_VSOCK_PORT);
        }

        r = agent_run(a);
        if (r < 0) {
                log_error_errno(r, "The event loop failed: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
