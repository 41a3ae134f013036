/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading microvmd.conf with the key-file syntax of the VM files. */

#include <glib.h>

#include "daemon-config.h"
#include "fileio.h"
#include "keyfile.h"
#include "macro.h"
#include "net-names.h"

static const char *const hypervisors[DAEMON_CONFIG_N_HYPERVISORS] = DAEMON_CONFIG_HYPERVISORS;

void daemon_config_done(DaemonConfig *c) {
        c->default_bridge = mfree(c->default_bridge);
        for (size_t i = 0; i < DAEMON_CONFIG_N_HYPERVISORS; i++)
                c->binaries[i] = mfree(c->binaries[i]);
}

const char *daemon_config_binary(const DaemonConfig *c, const char *hypervisor) {
        for (size_t i = 0; i < DAEMON_CONFIG_N_HYPERVISORS; i++)
                if (streq(hypervisors[i], hypervisor))
                        return c->binaries[i];
        return NULL;
}

static ssize_t hypervisor_index(const char *name) {
        for (size_t i = 0; i < DAEMON_CONFIG_N_HYPERVISORS; i++)
                if (streq(hypervisors[i], name))
                        return (ssize_t) i;
        return -1;
}

int daemon_config_load(const char *path, DaemonConfig *ret, char **ret_error) {
        _cleanup_(daemon_config_done) DaemonConfig c = {};
        _cleanup_free_ char *text = NULL;
        g_auto(GStrv) lines = NULL;
        const char *section = NULL;
        char *bridge = NULL;
        int r;

        r = read_file(path, &text, NULL);
        if (r == -ENOENT)
                text = strdup("");
        else if (r < 0) {
                if (ret_error)
                        *ret_error = g_strdup_printf("%s: %s", path, g_strerror(-r));
                return r;
        }
        if (!text)
                return -ENOMEM;

        lines = g_strsplit(text, "\n", -1);
        for (size_t i = 0; lines[i]; i++) {
                char *stripped = g_strstrip(lines[i]), *name, *value;
                /* The line as written, for messages: classifying splits it in place. */
                g_autofree char *line = g_strdup(stripped);

                switch (keyfile_classify_line(stripped, &name, &value)) {
                case KEYFILE_LINE_COMMENT:
                        continue;
                case KEYFILE_LINE_SECTION:
                        section = name;
                        if (streq(section, "Network") || streq(section, "Hypervisors"))
                                continue;
                        break;
                case KEYFILE_LINE_ASSIGNMENT:
                        if (section && streq(section, "Network") && streq(name, "DefaultBridge")) {
                                if (!net_interface_name_is_valid(value)) {
                                        if (ret_error)
                                                *ret_error = g_strdup_printf("%s:%zu: DefaultBridge=: '%s' is not "
                                                                             "a network interface name", path,
                                                                             i + 1, value);
                                        free(bridge);
                                        return -EINVAL;
                                }
                                free(bridge);
                                bridge = strdup(value);
                                if (!bridge)
                                        return -ENOMEM;
                                continue;
                        }
                        if (section && streq(section, "Hypervisors") && hypervisor_index(name) >= 0) {
                                ssize_t k = hypervisor_index(name);

                                if (value[0] != '/') {
                                        if (ret_error)
                                                *ret_error = g_strdup_printf("%s:%zu: %s=: '%s' is not an absolute "
                                                                             "path; name the executable, or remove "
                                                                             "the line to look it up in $PATH", path,
                                                                             i + 1, name, value);
                                        free(bridge);
                                        return -EINVAL;
                                }
                                free(c.binaries[k]);
                                c.binaries[k] = strdup(value);
                                if (!c.binaries[k]) {
                                        free(bridge);
                                        return -ENOMEM;
                                }
                                continue;
                        }
                        break;
                case KEYFILE_LINE_BAD_HEADER:
                case KEYFILE_LINE_BAD:
                        break;
                }

                if (ret_error)
                        *ret_error = g_strdup_printf("%s:%zu: '%s' is not a setting microvmd knows: "
                                                     "the file holds [Network] DefaultBridge= and "
                                                     "[Hypervisors] qemu=, firecracker=, cloud-hypervisor=",
                                                     path, i + 1, line);
                free(bridge);
                return -EINVAL;
        }

        c.default_bridge = bridge ?: strdup(NET_DEFAULT_BRIDGE);
        if (!c.default_bridge)
                return -ENOMEM;
        *ret = c;
        c = (DaemonConfig) {};
        return 0;
}
