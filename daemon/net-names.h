/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Names and addresses of a VM's network interfaces: validation and the stable defaults derived
 * from the VM's name and the NIC's index. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_IFNAME_MAX 15       /* IFNAMSIZ - 1 */
#define NET_DEFAULT_BRIDGE "microvm0"

bool net_interface_name_is_valid(const char *name);

/* "02:00:00:12:34:56" (either case) → 6 bytes; -EINVAL otherwise. */
int net_mac_parse(const char *s, uint8_t ret[6]);
/* Lower case, colon separated; buf holds at least 18 bytes. */
void net_mac_format(const uint8_t mac[6], char buf[static 18]);

/* The MAC of NIC index of VM name, attempt 0, 1, … (a later attempt when an earlier one is
 * taken): locally administered, unicast, the same for the same arguments forever. */
void net_mac_derive(const char *name, size_t index, unsigned attempt, uint8_t ret[6]);
/* The TAP name of NIC index of VM name: "mvm-NAME-INDEX" when that fits in 15 characters and
 * attempt is 0, else "mvm" and a hash. buf holds at least NET_IFNAME_MAX + 1 bytes. */
void net_tap_derive(const char *name, size_t index, unsigned attempt, char buf[static NET_IFNAME_MAX + 1]);

typedef struct Config Config;

/* Fills in each NIC's empty Bridge (default_bridge), MACAddress and TAP with the first derived
 * value: what a key file written by hand, without microvmd, gets at start. microvmd itself writes
 * derived values into the key file, unique on the host (manager-network.c). */
int net_fill_config(Config *c, const char *vm_name, const char *default_bridge);
