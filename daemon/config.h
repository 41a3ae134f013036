/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM's configuration: the values set for each schema key, grouped by section, with the comments
 * of the key file it came from. Converts to and from the a{sv} of the bus API. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "config-schema.h"
#include "macro.h"

typedef struct ConfigGroup {
        GVariant *values[_CONFIG_KEY_MAX];      /* owned; only keys of this section; NULL = unset */
        char *key_comments[_CONFIG_KEY_MAX];    /* owned; lines before the key, verbatim */
        char *comment;                          /* owned; lines before the section header */
} ConfigGroup;

typedef struct Config {
        ConfigGroup *groups[_CONFIG_SECTION_MAX];  /* owned arrays */
        size_t n_groups[_CONFIG_SECTION_MAX];      /* at most 1 for sections that do not repeat */
        char *trailer;                             /* owned; comment lines after the last key */
} Config;

Config *config_new(void);
Config *config_free(Config *c);
DEFINE_CLEANUP(Config *, config_free);
int config_copy(const Config *c, Config **ret);

/* The group of a section that does not repeat, created on first use. */
ConfigGroup *config_singleton(Config *c, ConfigSection section);
/* Appends an empty group to a repeatable section. */
ConfigGroup *config_append_group(Config *c, ConfigSection section);

/* Sets a value (takes a new reference) after checking it; -EINVAL with the problem otherwise. */
int config_group_set(ConfigGroup *g, ConfigKeyId id, GVariant *value, char **ret_problem);
/* The same for a key of a section that is not repeated ([VM], [Boot], …). */
int config_set(Config *c, ConfigKeyId id, GVariant *value, char **ret_problem);

/* Effective values of keys in sections that do not repeat: set, else the default. */
GVariant *config_get(const Config *c, ConfigKeyId id);     /* new reference; NULL: required and unset */
const char *config_get_string(const Config *c, ConfigKeyId id);
uint64_t config_get_number(const Config *c, ConfigKeyId id);
bool config_get_bool(const Config *c, ConfigKeyId id);
/* The same for a key of a repeated group. */
GVariant *config_group_get(const ConfigGroup *g, ConfigKeyId id);
/* A string key's effective value in a group, borrowed from *holder, which takes the new reference
 * (g_variant_unref() it, e.g. as g_autoptr); and a boolean key's. */
const char *config_group_get_string(const ConfigGroup *g, ConfigKeyId id, GVariant **holder);
bool config_group_get_bool(const ConfigGroup *g, ConfigKeyId id);

/* Required keys present, at most one root drive, no drive twice. Returns 0, or -EINVAL and
 * a message that says what to fix. */
int config_validate(const Config *c, char **ret_error);

/* The a{sv} of CreateVM: singleton keys by name, repeated sections as aa{sv} under their bus
 * name. Unknown keys, wrong types and bad values are errors ("VCPUs: must be ..."). The
 * result is validated. */
int config_from_variant(GVariant *dict, Config **ret, char **ret_error);
/* UpdateVM: a copy of c with the keys in dict replaced (a repeated section replaces the whole
 * list), validated. Comments are kept. */
int config_update_from_variant(const Config *c, GVariant *dict, Config **ret, char **ret_error);

/* a{sv} of the configuration: with effective = true every key with its effective value (the
 * VM object's view), else only the keys that are set. Floating. */
GVariant *config_to_variant(const Config *c, bool effective);
/* One property of the VM object: a singleton key's effective value or a repeated section's
 * aa{sv}. New reference; NULL for names the schema does not know. */
GVariant *config_get_property(const Config *c, const char *bus_name);

/* The D-Bus names whose effective values differ between a and b; a NULL-terminated array of
 * borrowed strings (free the array only). */
const char **config_changed_properties(const Config *a, const Config *b);
