/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The schema table and what reads and checks a single value against it. */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "config-schema.h"
#include "macro.h"
#include "net-names.h"

#define VCPUS_MAX 256u
#define MEMORY_MIB_MIN 16u
/* Within the unit's TimeoutStartSec=, which also bounds the boot before the wait. */
#define READY_TIMEOUT_SEC_MAX 600u

static const ConfigSectionInfo sections[_CONFIG_SECTION_MAX] = {
        [CONFIG_SECTION_VM] = {
                .name = "VM",
                .doc = "the machine: hypervisor, processors, memory, start-up",
        },
        [CONFIG_SECTION_BOOT] = {
                .name = "Boot",
                .doc = "direct kernel boot",
        },
        [CONFIG_SECTION_DRIVE] = {
                .name = "Drive",
                .bus_name = "Drives",
                .doc = "a block device; repeat the section for more drives",
        },
        [CONFIG_SECTION_NETWORK] = {
                .name = "Network",
                .bus_name = "Networks",
                .doc = "a network interface on a TAP device in a bridge; repeat the section for more",
        },
        [CONFIG_SECTION_CLOUD_INIT] = {
                .name = "CloudInit",
                .doc = "a cloud-init NoCloud seed, attached read-only when any of its keys is set",
        },
};

_printf_(2, 3)
static int problem(char **ret_problem, const char *format, ...) {
        va_list ap;

        if (ret_problem) {
                va_start(ap, format);
                *ret_problem = g_strdup_vprintf(format, ap);
                va_end(ap);
        }
        return -EINVAL;
}

static int check_one_of(GVariant *value, const char *const *choices, char **ret_problem) {
        const char *s = g_variant_get_string(value, NULL);
        g_autofree char *list = NULL;

        for (size_t i = 0; choices[i]; i++)
                if (streq(s, choices[i]))
                        return 0;

        list = g_strjoinv("', '", (char **) choices);
        return problem(ret_problem, "must be one of '%s', not '%s'", list, s);
}

static int check_hypervisor(GVariant *value, char **ret_problem) {
        static const char *const choices[] = { "qemu", "firecracker", "cloud-hypervisor", NULL };
        return check_one_of(value, choices, ret_problem);
}

static int check_accelerator(GVariant *value, char **ret_problem) {
        static const char *const choices[] = { "auto", "kvm", "tcg", NULL };
        return check_one_of(value, choices, ret_problem);
}

static int check_vcpus(GVariant *value, char **ret_problem) {
        uint32_t n = g_variant_get_uint32(value);

        if (n < 1 || n > VCPUS_MAX)
                return problem(ret_problem, "must be between 1 and %u, not %" PRIu32, VCPUS_MAX, n);
        return 0;
}

/* 0 asks for one; 1 and 2 are the hypervisor's and the host's; 2^32-1 is VMADDR_CID_ANY. */
static int check_vsock_cid(GVariant *value, char **ret_problem) {
        uint32_t cid = g_variant_get_uint32(value);

        if (cid != 0 && (cid < VSOCK_CID_MIN || cid == UINT32_MAX))
                return problem(ret_problem, "must be 0 (assign one) or between %u and %u, not %" PRIu32,
                               VSOCK_CID_MIN, UINT32_MAX - 1, cid);
        return 0;
}

static int check_ready_timeout(GVariant *value, char **ret_problem) {
        uint32_t sec = g_variant_get_uint32(value);

        if (sec < 1 || sec > READY_TIMEOUT_SEC_MAX)
                return problem(ret_problem, "must be between 1 and %u, not %" PRIu32, READY_TIMEOUT_SEC_MAX, sec);
        return 0;
}

uint64_t config_host_memory_mib(void) {
        long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);

        if (pages <= 0 || page_size <= 0)
                return UINT64_MAX;
        return (uint64_t) pages * (uint64_t) page_size / (1024 * 1024);
}

static int check_memory(GVariant *value, char **ret_problem) {
        uint64_t mib = g_variant_get_uint64(value), host = config_host_memory_mib();

        if (mib < MEMORY_MIB_MIN || mib > host)
                return problem(ret_problem, "must be between %u and %" PRIu64 " (the host's memory), not %" PRIu64,
                               MEMORY_MIB_MIN, host, mib);
        return 0;
}

static int check_absolute_path(GVariant *value, char **ret_problem) {
        const char *s = g_variant_get_string(value, NULL);

        if (s[0] != '/')
                return problem(ret_problem, "must be an absolute path, not '%s'", s);
        return 0;
}

static int check_absolute_path_or_empty(GVariant *value, char **ret_problem) {
        if (g_variant_get_string(value, NULL)[0] == '\0')
                return 0;
        return check_absolute_path(value, ret_problem);
}

static int check_drive_format(GVariant *value, char **ret_problem) {
        static const char *const choices[] = { "auto", "raw", "qcow2", NULL };
        return check_one_of(value, choices, ret_problem);
}

static int check_drive_cache(GVariant *value, char **ret_problem) {
        /* QEMU's cache modes, named as QEMU names them. */
        static const char *const choices[] = { "writeback", "writethrough", "none", "directsync", "unsafe", NULL };
        return check_one_of(value, choices, ret_problem);
}

static int check_interface_name(GVariant *value, char **ret_problem) {
        const char *s = g_variant_get_string(value, NULL);

        /* Empty means "derive it" (TAP) or "the default bridge" (Bridge). */
        if (s[0] && !net_interface_name_is_valid(s))
                return problem(ret_problem, "must be a network interface name of 1 to 15 characters without '/', ':' "
                               "or white space, not '%s'", s);
        return 0;
}

static int check_mac_address(GVariant *value, char **ret_problem) {
        const char *s = g_variant_get_string(value, NULL);
        uint8_t mac[6];

        if (s[0] == '\0')
                return 0;
        if (net_mac_parse(s, mac) < 0)
                return problem(ret_problem, "must be a MAC address like 02:00:00:12:34:56, not '%s'", s);
        if (mac[0] & 0x01)
                return problem(ret_problem, "must be a unicast address, but '%s' is multicast (the first octet is odd)", s);
        if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
                return problem(ret_problem, "must not be all zeros");
        return 0;
}

static int check_hostname(GVariant *value, char **ret_problem) {
        const char *s = g_variant_get_string(value, NULL);

        /* What a guest's sethostname() and cloud-init take: up to 64 bytes of letters, digits,
         * '-', '.' and '_' (the characters of VM names, which are the default). */
        if (strlen(s) > 64)
                return problem(ret_problem, "must be at most 64 characters long");
        for (const char *c = s; *c; c++)
                if (!g_ascii_isalnum(*c) && !strchr("-._", *c))
                        return problem(ret_problem, "must consist of letters, digits, '-', '.' and '_', not '%s'", s);
        return 0;
}

static const ConfigKey keys[_CONFIG_KEY_MAX] = {
        [CONFIG_HYPERVISOR] = {
                CONFIG_SECTION_VM, "Hypervisor", "s", "qemu", check_hypervisor,
                "the hypervisor that runs the VM: qemu, firecracker or cloud-hypervisor",
        },
        [CONFIG_ACCELERATOR] = {
                CONFIG_SECTION_VM, "Accelerator", "s", "auto", check_accelerator,
                "kvm, tcg (software emulation), or auto: kvm where /dev/kvm works, else tcg",
        },
        [CONFIG_VCPUS] = {
                CONFIG_SECTION_VM, "VCPUs", "u", "1", check_vcpus,
                "the number of virtual CPUs",
        },
        [CONFIG_MEMORY_MIB] = {
                CONFIG_SECTION_VM, "MemoryMiB", "t", "256", check_memory,
                "the guest's memory in MiB",
        },
        [CONFIG_AUTOSTART] = {
                CONFIG_SECTION_VM, "Autostart", "b", "no", NULL,
                "whether the VM starts when the host boots",
        },
        [CONFIG_VSOCK_CID] = {
                CONFIG_SECTION_VM, "VsockCID", "u", "0", check_vsock_cid,
                "the guest's vsock context ID, unique on the host; 0 to have one assigned when the VM is created",
        },
        [CONFIG_WAIT_READY] = {
                CONFIG_SECTION_VM, "WaitReady", "b", "no", NULL,
                "whether the unit's start waits until the guest agent answers, so that units ordered after "
                "it start only then",
        },
        [CONFIG_READY_TIMEOUT_SEC] = {
                CONFIG_SECTION_VM, "ReadyTimeoutSec", "u", "60", check_ready_timeout,
                "how long a start with WaitReady=yes waits for the guest agent, in seconds",
        },
        [CONFIG_KERNEL] = {
                CONFIG_SECTION_BOOT, "Kernel", "s", NULL, check_absolute_path,
                "the absolute path of the guest kernel image",
        },
        [CONFIG_INITRD] = {
                CONFIG_SECTION_BOOT, "Initrd", "s", "", check_absolute_path_or_empty,
                "the absolute path of an initramfs, or empty for none",
        },
        [CONFIG_KERNEL_COMMAND_LINE] = {
                CONFIG_SECTION_BOOT, "KernelCommandLine", "s", "", NULL,
                "extra arguments for the guest kernel command line",
        },
        [CONFIG_DRIVE_PATH] = {
                CONFIG_SECTION_DRIVE, "Path", "s", NULL, check_absolute_path,
                "the absolute path of the image file or block device",
        },
        [CONFIG_DRIVE_READ_ONLY] = {
                CONFIG_SECTION_DRIVE, "ReadOnly", "b", "no", NULL,
                "whether the guest may only read the drive",
        },
        [CONFIG_DRIVE_ROOT] = {
                CONFIG_SECTION_DRIVE, "Root", "b", "no", NULL,
                "whether the guest's root file system is on this drive (at most one drive)",
        },
        [CONFIG_DRIVE_FORMAT] = {
                CONFIG_SECTION_DRIVE, "Format", "s", "auto", check_drive_format,
                "the image format: raw, qcow2, or auto to take the format the image has",
        },
        [CONFIG_DRIVE_CACHE] = {
                CONFIG_SECTION_DRIVE, "Cache", "s", "writeback", check_drive_cache,
                "the host's caching of the image (QEMU): writeback, writethrough, none (O_DIRECT), "
                "directsync or unsafe (no flushes)",
        },
        [CONFIG_DRIVE_DISCARD] = {
                CONFIG_SECTION_DRIVE, "Discard", "b", "no", NULL,
                "whether blocks the guest discards are freed in the image (QEMU's discard=unmap)",
        },
        [CONFIG_NETWORK_BRIDGE] = {
                CONFIG_SECTION_NETWORK, "Bridge", "s", "", check_interface_name,
                "the bridge the TAP device joins; empty for microvmd's default bridge (microvm0)",
        },
        [CONFIG_NETWORK_MAC_ADDRESS] = {
                CONFIG_SECTION_NETWORK, "MACAddress", "s", "", check_mac_address,
                "the guest's MAC address; empty to derive a stable one from the VM's name and the NIC's index",
        },
        [CONFIG_NETWORK_TAP] = {
                CONFIG_SECTION_NETWORK, "TAP", "s", "", check_interface_name,
                "the host's TAP device name; empty to derive one",
        },
        [CONFIG_CLOUD_INIT_USER_DATA] = {
                CONFIG_SECTION_CLOUD_INIT, "UserData", "s", "", NULL,
                "the user-data: the absolute path of a file, or the contents themselves (\"#cloud-config\\n...\"); "
                "empty for an empty #cloud-config",
                .multiline = true,
        },
        [CONFIG_CLOUD_INIT_META_DATA] = {
                CONFIG_SECTION_CLOUD_INIT, "MetaData", "s", "", NULL,
                "the meta-data: the absolute path of a file, or the contents; empty to generate it from "
                "InstanceID and LocalHostname",
                .multiline = true,
        },
        [CONFIG_CLOUD_INIT_NETWORK_CONFIG] = {
                CONFIG_SECTION_CLOUD_INIT, "NetworkConfig", "s", "", NULL,
                "the network-config: the absolute path of a file, or the contents; empty for none "
                "(cloud-init's default: DHCP on the first NIC)",
                .multiline = true,
        },
        [CONFIG_CLOUD_INIT_INSTANCE_ID] = {
                CONFIG_SECTION_CLOUD_INIT, "InstanceID", "s", "", NULL,
                "the instance-id of generated meta-data; empty for a stable one derived from the VM's name",
        },
        [CONFIG_CLOUD_INIT_LOCAL_HOSTNAME] = {
                CONFIG_SECTION_CLOUD_INIT, "LocalHostname", "s", "", check_hostname,
                "the local-hostname of generated meta-data; empty for the VM's name",
        },
};

const ConfigSectionInfo *config_section_get(ConfigSection section) {
        assert(section >= 0 && section < _CONFIG_SECTION_MAX);
        return &sections[section];
}

ConfigSection config_section_from_name(const char *name) {
        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                if (streq(sections[s].name, name))
                        return s;
        return _CONFIG_SECTION_INVALID;
}

ConfigSection config_section_from_bus_name(const char *bus_name) {
        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                if (streq_ptr(sections[s].bus_name, bus_name))
                        return s;
        return _CONFIG_SECTION_INVALID;
}

bool config_section_is_repeatable(ConfigSection section) {
        return config_section_get(section)->bus_name != NULL;
}

const ConfigKey *config_key_get(ConfigKeyId id) {
        assert(id >= 0 && id < _CONFIG_KEY_MAX);
        return &keys[id];
}

ConfigKeyId config_key_from_name(ConfigSection section, const char *name) {
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++)
                if (keys[id].section == section && streq(keys[id].name, name))
                        return id;
        return _CONFIG_KEY_INVALID;
}

ConfigKeyId config_key_from_bus_name(const char *name) {
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++)
                if (!config_section_is_repeatable(keys[id].section) && streq(keys[id].name, name))
                        return id;
        return _CONFIG_KEY_INVALID;
}

bool config_key_is_required(ConfigKeyId id) {
        return config_key_get(id)->default_text == NULL;
}

static int parse_bool(const char *text, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (g_ascii_strcasecmp(text, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (g_ascii_strcasecmp(text, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static int parse_unsigned(const char *text, uint64_t max, uint64_t *ret) {
        guint64 v;

        /* Decimal only: no sign, no base prefix, no suffix, no white space. */
        if (!g_ascii_isdigit(text[0]))
                return -EINVAL;
        if (!g_ascii_string_to_unsigned(text, 10, 0, max, &v, NULL))
                return -EINVAL;
        *ret = v;
        return 0;
}

/* The key-file form of a multi-line string: one line, with what the parser would break or strip
 * escaped. */
static char *text_escape(const char *s) {
        GString *out = g_string_sized_new(strlen(s) + 8);

        for (const char *c = s; *c; c++)
                switch (*c) {
                case '\\': g_string_append(out, "\\\\"); break;
                case '\n': g_string_append(out, "\\n"); break;
                case '\t': g_string_append(out, "\\t"); break;
                case '\r': g_string_append(out, "\\r"); break;
                case ' ':
                        g_string_append(out, c == s || c[1] == '\0' ? "\\s" : " ");
                        break;
                default: g_string_append_c(out, *c);
                }
        return g_string_free(out, FALSE);
}

static int text_unescape(const char *text, char **ret, char **ret_problem) {
        g_autoptr(GString) out = g_string_sized_new(strlen(text));

        for (const char *c = text; *c; c++) {
                if (*c != '\\') {
                        g_string_append_c(out, *c);
                        continue;
                }
                switch (*++c) {
                case '\\': g_string_append_c(out, '\\'); break;
                case 'n': g_string_append_c(out, '\n'); break;
                case 't': g_string_append_c(out, '\t'); break;
                case 'r': g_string_append_c(out, '\r'); break;
                case 's': g_string_append_c(out, ' '); break;
                case '\0':
                        return problem(ret_problem, "must not end in a lone '\\' (write '\\\\' for a backslash)");
                default:
                        return problem(ret_problem, "has the unknown escape '\\%c': use \\n, \\t, \\r, \\s or \\\\", *c);
                }
        }
        *ret = g_string_free(g_steal_pointer(&out), FALSE);
        return 0;
}

/* The text as a value of the key's type, not yet checked. */
static int value_parse(ConfigKeyId id, const char *text, GVariant **ret, char **ret_problem) {
        const ConfigKey *key = config_key_get(id);
        g_autoptr(GVariant) v = NULL;
        uint64_t n;
        bool b;

        assert(text);
        assert(ret);

        switch (key->type[0]) {
        case 's': {
                g_autofree char *unescaped = NULL;

                if (!g_utf8_validate(text, -1, NULL))
                        return problem(ret_problem, "must be valid UTF-8");
                if (key->multiline && text_unescape(text, &unescaped, ret_problem) < 0)
                        return -EINVAL;
                v = g_variant_ref_sink(g_variant_new_string(unescaped ?: text));
                break;
        }
        case 'b':
                if (parse_bool(text, &b) < 0)
                        return problem(ret_problem, "must be a boolean (yes or no), not '%s'", text);
                v = g_variant_ref_sink(g_variant_new_boolean(b));
                break;
        case 'u':
        case 't':
                if (parse_unsigned(text, key->type[0] == 'u' ? UINT32_MAX : UINT64_MAX, &n) < 0)
                        return problem(ret_problem, "must be an unsigned decimal number%s, not '%s'",
                                       key->type[0] == 'u' ? " below 2^32" : "", text);
                v = g_variant_ref_sink(key->type[0] == 'u' ? g_variant_new_uint32((uint32_t) n)
                                                           : g_variant_new_uint64(n));
                break;
        default:
                assert(!"unknown schema type");
        }

        *ret = TAKE_PTR(v);
        return 0;
}

int config_value_from_text(ConfigKeyId id, const char *text, GVariant **ret, char **ret_problem) {
        g_autoptr(GVariant) v = NULL;
        int r;

        r = value_parse(id, text, &v, ret_problem);
        if (r < 0)
                return r;
        r = config_value_check(id, v, ret_problem);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(v);
        return 0;
}

char *config_value_to_text(ConfigKeyId id, GVariant *value) {
        const ConfigKey *key = config_key_get(id);

        switch (key->type[0]) {
        case 's':
                if (key->multiline)
                        return text_escape(g_variant_get_string(value, NULL));
                return g_variant_dup_string(value, NULL);
        case 'b':
                return g_strdup(g_variant_get_boolean(value) ? "yes" : "no");
        case 'u':
                return g_strdup_printf("%" PRIu32, g_variant_get_uint32(value));
        case 't':
                return g_strdup_printf("%" PRIu64, g_variant_get_uint64(value));
        default:
                assert(!"unknown schema type");
                return NULL;
        }
}

static int check_string(const ConfigKey *key, GVariant *value, char **ret_problem) {
        const char *s = g_variant_get_string(value, NULL);
        size_t n = strlen(s);

        /* Escaped in the key file: text as files have it. */
        if (key->multiline) {
                for (size_t i = 0; i < n; i++)
                        if (((unsigned char) s[i] < 0x20 && !strchr("\n\t\r", s[i])) || s[i] == 0x7f)
                                return problem(ret_problem, "must not contain control characters other than "
                                               "newlines and tabs");
                return 0;
        }

        /* A key file holds one value per line, with surrounding white space dropped: refuse what
         * could not be written back the same. */
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return problem(ret_problem, "must not contain control characters such as newlines");
        if (n > 0 && (g_ascii_isspace(s[0]) || g_ascii_isspace(s[n - 1])))
                return problem(ret_problem, "must not begin or end with white space");
        return 0;
}

int config_value_check(ConfigKeyId id, GVariant *value, char **ret_problem) {
        const ConfigKey *key = config_key_get(id);
        int r;

        assert(value);

        if (!g_variant_is_of_type(value, G_VARIANT_TYPE(key->type)))
                return problem(ret_problem, "must be of D-Bus type '%s', not '%s'",
                               key->type, g_variant_get_type_string(value));

        if (key->type[0] == 's') {
                r = check_string(key, value, ret_problem);
                if (r < 0)
                        return r;
        }

        return key->check ? key->check(value, ret_problem) : 0;
}

GVariant *config_key_default(ConfigKeyId id) {
        const ConfigKey *key = config_key_get(id);
        GVariant *v = NULL;

        if (!key->default_text)
                return NULL;

        /* Defaults are part of the table and pass their checks (the unit tests hold them to it):
         * read often, for every property of every VM, so only parsed here. */
        if (value_parse(id, key->default_text, &v, NULL) < 0)
                assert(!"schema default does not parse");
        return v;
}
