/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration schema: one table that names every key of a VM's configuration once, with
 * its section, GVariant type, default, check and documentation. The key-file parser and
 * printer, the a{sv} of CreateVM/UpdateVM, the VM object's properties and microvmctl --set
 * are all driven by it. */
#pragma once

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum ConfigSection {
        CONFIG_SECTION_VM,
        CONFIG_SECTION_BOOT,
        CONFIG_SECTION_DRIVE,
        CONFIG_SECTION_NETWORK,
        CONFIG_SECTION_CLOUD_INIT,
        _CONFIG_SECTION_MAX,
        _CONFIG_SECTION_INVALID = -EINVAL,
} ConfigSection;

typedef struct ConfigSectionInfo {
        const char *name;        /* the key file's [Name] */
        const char *bus_name;    /* repeatable sections only: the aa{sv} key/property, else NULL */
        const char *doc;
} ConfigSectionInfo;

typedef enum ConfigKeyId {
        CONFIG_HYPERVISOR,
        CONFIG_ACCELERATOR,
        CONFIG_VCPUS,
        CONFIG_MEMORY_MIB,
        CONFIG_AUTOSTART,
        CONFIG_VSOCK_CID,
        CONFIG_WAIT_READY,
        CONFIG_READY_TIMEOUT_SEC,
        CONFIG_KERNEL,
        CONFIG_INITRD,
        CONFIG_KERNEL_COMMAND_LINE,
        CONFIG_DRIVE_PATH,
        CONFIG_DRIVE_READ_ONLY,
        CONFIG_DRIVE_ROOT,
        CONFIG_DRIVE_FORMAT,
        CONFIG_DRIVE_CACHE,
        CONFIG_DRIVE_DISCARD,
        CONFIG_NETWORK_BRIDGE,
        CONFIG_NETWORK_MAC_ADDRESS,
        CONFIG_NETWORK_TAP,
        CONFIG_CLOUD_INIT_USER_DATA,
        CONFIG_CLOUD_INIT_META_DATA,
        CONFIG_CLOUD_INIT_NETWORK_CONFIG,
        CONFIG_CLOUD_INIT_INSTANCE_ID,
        CONFIG_CLOUD_INIT_LOCAL_HOSTNAME,
        _CONFIG_KEY_MAX,
        _CONFIG_KEY_INVALID = -EINVAL,
} ConfigKeyId;

/* The lowest context ID a guest can have. */
#define VSOCK_CID_MIN 3u

/* Checks a value of the right type; on failure returns -EINVAL and a sentence fragment that
 * says what the value must be ("must be between 1 and 256, not 0"). */
typedef int (*ConfigCheck)(GVariant *value, char **ret_problem);

typedef struct ConfigKey {
        ConfigSection section;
        const char *name;           /* the key-file key and the D-Bus name */
        const char *type;           /* GVariant type string: "s", "b", "u" or "t" */
        const char *default_text;   /* the default in key-file form; NULL when the key is required */
        ConfigCheck check;          /* NULL: any value of the type */
        const char *doc;
        /* A string that may span lines (a file's contents): the key file holds it on one line,
         * with \n, \t, \r, \\ and, at either end, \s (a space) escaped. */
        bool multiline;
} ConfigKey;

const ConfigSectionInfo *config_section_get(ConfigSection section);
ConfigSection config_section_from_name(const char *name);
ConfigSection config_section_from_bus_name(const char *bus_name);
bool config_section_is_repeatable(ConfigSection section);

const ConfigKey *config_key_get(ConfigKeyId id);
ConfigKeyId config_key_from_name(ConfigSection section, const char *name);
/* A key of a non-repeatable section, by its D-Bus name; _CONFIG_KEY_INVALID otherwise. */
ConfigKeyId config_key_from_bus_name(const char *name);
bool config_key_is_required(ConfigKeyId id);

/* Parses the key-file form of a value and checks it. Returns 0 and a floating-free, owned
 * GVariant, or -EINVAL and the problem (owned by the caller). */
int config_value_from_text(ConfigKeyId id, const char *text, GVariant **ret, char **ret_problem);
/* The key-file form of a value of the key's type; owned by the caller (g_free). */
char *config_value_to_text(ConfigKeyId id, GVariant *value);
/* Checks the value's type and the key's own check. Returns 0, or -EINVAL and the problem. */
int config_value_check(ConfigKeyId id, GVariant *value, char **ret_problem);
/* The key's default as a value (a new reference), or NULL for a required key. */
GVariant *config_key_default(ConfigKeyId id);

/* The host's memory in MiB: the ceiling for MemoryMiB. */
uint64_t config_host_memory_mib(void);
