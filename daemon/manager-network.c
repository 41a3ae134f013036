/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NIC addresses and names: derived once, written into the key file, so they stay the same across
 * restarts of the VM and of microvmd. */

#include "manager-network.h"
#include "net-names.h"

#define NIC_VALUE_MAX (NET_IFNAME_MAX + 1 + 18)

/* The MAC (text) or TAP name of NIC index of VM name at attempt. */
static void nic_derive(const char *name, size_t index, unsigned attempt, ConfigKeyId key,
                       char buf[static NIC_VALUE_MAX]) {
        if (key == CONFIG_NETWORK_MAC_ADDRESS) {
                uint8_t mac[6];

                net_mac_derive(name, index, attempt, mac);
                net_mac_format(mac, buf);
        } else
                net_tap_derive(name, index, attempt, buf);
}

/* The VM other than name whose NIC uses value for key, or NULL. */
static const VM *manager_find_nic(Manager *m, const char *name, ConfigKeyId key, const char *value) {
        for (size_t i = 0; i < m->n_vms; i++) {
                const Config *c = m->vms[i]->config;

                if (streq(m->vms[i]->name, name))
                        continue;
                for (size_t j = 0; j < c->n_groups[CONFIG_SECTION_NETWORK]; j++) {
                        g_autoptr(GVariant) v = config_group_get(&c->groups[CONFIG_SECTION_NETWORK][j], key);
                        const char *used = g_variant_get_string(v, NULL);
                        char derived[NIC_VALUE_MAX];

                        /* Left empty in a key file written by hand: the unit takes the first derived
                         * value when it starts (net_fill_config()). */
                        if (!used[0]) {
                                nic_derive(m->vms[i]->name, j, 0, key, derived);
                                used = derived;
                        }
                        if (g_ascii_strcasecmp(used, value) == 0)
                                return m->vms[i];
                }
        }
        return NULL;
}

/* Whether another NIC of c than index uses value for key. */
static bool config_has_nic(const Config *c, size_t index, ConfigKeyId key, const char *value) {
        for (size_t j = 0; j < c->n_groups[CONFIG_SECTION_NETWORK]; j++) {
                g_autoptr(GVariant) v = config_group_get(&c->groups[CONFIG_SECTION_NETWORK][j], key);

                if (j != index && g_ascii_strcasecmp(g_variant_get_string(v, NULL), value) == 0)
                        return true;
        }
        return false;
}

static int assign_one(Manager *m, const char *name, Config *c, size_t index, ConfigKeyId key, char **ret_error) {
        ConfigGroup *g = &c->groups[CONFIG_SECTION_NETWORK][index];
        g_autoptr(GVariant) current = config_group_get(g, key);
        const char *value = g_variant_get_string(current, NULL);
        char buf[NIC_VALUE_MAX];
        const VM *other;

        if (value[0]) {
                other = manager_find_nic(m, name, key, value);
                if (other) {
                        *ret_error = g_strdup_printf("Networks[%zu].%s: %s is used by VM '%s': choose another or "
                                                     "leave it empty to have one derived", index,
                                                     config_key_get(key)->name, value, other->name);
                        return -EINVAL;
                }
                return 0;
        }

        for (unsigned attempt = 0;; attempt++) {
                nic_derive(name, index, attempt, key, buf);
                if (!manager_find_nic(m, name, key, buf) && !config_has_nic(c, index, key, buf))
                        break;
        }
        return config_group_set(g, key, g_variant_new_string(buf), NULL);
}

int manager_assign_networks(Manager *m, const char *name, Config *c, char **ret_error) {
        int r;

        for (size_t i = 0; i < c->n_groups[CONFIG_SECTION_NETWORK]; i++) {
                ConfigGroup *g = &c->groups[CONFIG_SECTION_NETWORK][i];
                g_autoptr(GVariant) bridge = config_group_get(g, CONFIG_NETWORK_BRIDGE);

                if (g_variant_get_string(bridge, NULL)[0] == '\0') {
                        r = config_group_set(g, CONFIG_NETWORK_BRIDGE, g_variant_new_string(m->default_bridge), NULL);
                        if (r < 0)
                                return r;
                }

                r = assign_one(m, name, c, i, CONFIG_NETWORK_MAC_ADDRESS, ret_error);
                if (r < 0)
                        return r;
                r = assign_one(m, name, c, i, CONFIG_NETWORK_TAP, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}
