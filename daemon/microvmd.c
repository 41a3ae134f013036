/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* microvmd: serves org.microvm.Manager on the system bus. */

#include <getopt.h>
#include <stdio.h>

#include "log.h"
#include "daemon-config.h"
#include "manager.h"
#include "net-names.h"
#include "mvm-config.h"

static const char *arg_bridge = NULL;

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "debug", no_argument, NULL, 'd' },
                { "version", no_argument, NULL, 'V' },
                { "bridge", required_argument, NULL, 'b' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "hdVb:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("%s [--debug] [--bridge=NAME]\n\n"
                               "Serves org.microvm.Manager on the system bus.\n\n"
                               "  --bridge=NAME  the bridge of NICs without Bridge= (default: DefaultBridge=\n"
                               "                 of " MVM_DAEMON_CONFIG_FILE ", or " NET_DEFAULT_BRIDGE ")\n", argv[0]);
                        return 0;
                case 'b':
                        if (!net_interface_name_is_valid(optarg))
                                return log_error_errno(EINVAL, "--bridge=%s is not a network interface name.", optarg);
                        arg_bridge = optarg;
                        break;
                case 'd':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'V':
                        printf("microvmd %s\n", MVM_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }

        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes no arguments.", argv[0]);
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        if (getenv("MVM_DEBUG"))
                log_set_max_level(LOG_DEBUG);

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        r = manager_new(arg_bridge, &m);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the manager: %m");
                return EXIT_FAILURE;
        }

        r = manager_startup(m);
        if (r < 0)
                return EXIT_FAILURE;

        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
