/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading microvmd.conf with the key-file syntax of the VM files. */

#include <glib.h>

#include "daemon-config.h"
#include "fileio.h"
#include "keyfile.h"
#include "macro.h"
#include "net-names.h"

void daemon_config_done(DaemonConfig *c) {
        c->default_bridge = mfree(c->default_bridge);
}

int daemon_config_load(const char *path, DaemonConfig *ret, char **ret_error) {
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
                        if (streq(section, "Network"))
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
                        break;
                case KEYFILE_LINE_BAD_HEADER:
                case KEYFILE_LINE_BAD:
                        break;
                }

                if (ret_error)
                        *ret_error = g_strdup_printf("%s:%zu: '%s' is not a setting microvmd knows: "
                                                     "the file holds [Network] DefaultBridge=",
                                                     path, i + 1, line);
                free(bridge);
                return -EINVAL;
        }

        ret->default_bridge = bridge ?: strdup(NET_DEFAULT_BRIDGE);
        return ret->default_bridge ? 0 : -ENOMEM;
}
