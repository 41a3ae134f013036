/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Interface names and MAC addresses: checks and stable derivations. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "net-names.h"

bool net_interface_name_is_valid(const char *name) {
        size_t n = strnlen(name, NET_IFNAME_MAX + 1);

        if (n == 0 || n > NET_IFNAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) name[i];

                /* What the kernel refuses ('/', ':', white space) and what is not plain ASCII. */
                if (c <= ' ' || c >= 0x7f || c == '/' || c == ':')
                        return false;
        }
        return true;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int net_mac_parse(const char *s, uint8_t ret[6]) {
        uint8_t mac[6];

        if (strlen(s) != 17)
                return -EINVAL;
        for (size_t i = 0; i < 6; i++) {
                int hi = hex_digit(s[i * 3]), lo = hex_digit(s[i * 3 + 1]);

                if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
                        return -EINVAL;
                mac[i] = (uint8_t) (hi << 4 | lo);
        }
        memcpy(ret, mac, sizeof(mac));
        return 0;
}

void net_mac_format(const uint8_t mac[6], char buf[static 18]) {
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* FNV-1a, 64 bits: stable across versions and hosts, which is all a derived name needs. */
static uint64_t hash_nic(const char *name, size_t index, unsigned attempt) {
        uint64_t h = 0xcbf29ce484222325u;
        char suffix[48];
        int n = snprintf(suffix, sizeof(suffix), "/%zu/%u", index, attempt);

        for (const char *p = name; *p; p++)
                h = (h ^ (unsigned char) *p) * 0x100000001b3u;
        for (int i = 0; i < n; i++)
                h = (h ^ (unsigned char) suffix[i]) * 0x100000001b3u;
        return h;
}

void net_mac_derive(const char *name, size_t index, unsigned attempt, uint8_t ret[6]) {
        uint64_t h = hash_nic(name, index, attempt);

        for (size_t i = 0; i < 6; i++)
                ret[i] = (uint8_t) (h >> (8 * i));
        /* Locally administered (bit 1 set), unicast (bit 0 clear). */
        ret[0] = (uint8_t) ((ret[0] & 0xfc) | 0x02);
}

void net_tap_derive(const char *name, size_t index, unsigned attempt, char buf[static NET_IFNAME_MAX + 1]) {
        int n = snprintf(buf, NET_IFNAME_MAX + 1, "mvm-%s-%zu", name, index);

        if (attempt == 0 && n > 0 && n <= NET_IFNAME_MAX)
                return;
        snprintf(buf, NET_IFNAME_MAX + 1, "mvm%08x.%zu", (unsigned) (hash_nic(name, index, attempt) & 0xffffffffu),
                 index % 1000);
}

static int fill_if_empty(ConfigGroup *g, ConfigKeyId id, const char *value) {
        g_autoptr(GVariant) v = config_group_get(g, id);

        if (g_variant_get_string(v, NULL)[0])
                return 0;
        return config_group_set(g, id, g_variant_new_string(value), NULL);
}

int net_fill_config(Config *c, const char *vm_name, const char *default_bridge) {
        int r;

        for (size_t i = 0; i < c->n_groups[CONFIG_SECTION_NETWORK]; i++) {
                ConfigGroup *g = &c->groups[CONFIG_SECTION_NETWORK][i];
                char mac_text[18], tap[NET_IFNAME_MAX + 1];
                uint8_t mac[6];

                net_mac_derive(vm_name, i, 0, mac);
                net_mac_format(mac, mac_text);
                net_tap_derive(vm_name, i, 0, tap);

                r = fill_if_empty(g, CONFIG_NETWORK_BRIDGE, default_bridge);
                if (r >= 0)
                        r = fill_if_empty(g, CONFIG_NETWORK_MAC_ADDRESS, mac_text);
                if (r >= 0)
                        r = fill_if_empty(g, CONFIG_NETWORK_TAP, tap);
                if (r < 0)
                        return r;
        }
        return 0;
}
