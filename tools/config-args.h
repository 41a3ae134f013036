/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The command-line face of the configuration schema: a key file (--file), single keys
 * (--set KEY=VALUE) and one option per repeatable section (--drive KEY=VALUE,...), turned into
 * the a{sv} of CreateVM and UpdateVM. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "config-schema.h"

typedef struct ConfigArgs {
        char *file;                             /* owned; NULL: no key file */
        char **sets;                            /* owned strv of "KEY=VALUE", in order */
        char **groups[_CONFIG_SECTION_MAX];     /* owned strv per repeatable section, "K=V,K=V" each;
                                                 * non-NULL once the section's option was given */
} ConfigArgs;

void config_args_done(ConfigArgs *a);
bool config_args_is_empty(const ConfigArgs *a);

/* The long option of a repeatable section: its name in lower case ("drive"); g_free(). */
char *config_section_option(ConfigSection section);

/* Record an option after checking its syntax only; values are checked by
 * config_args_to_variant(). Return 0, or -EINVAL and a message. An empty group argument
 * gives the section no group of its own but still replaces the list ("--drive=": no drives). */
int config_args_add_set(ConfigArgs *a, const char *arg, char **ret_error);
int config_args_add_group(ConfigArgs *a, ConfigSection section, const char *arg, char **ret_error);

/* The a{sv}: the key file's keys, each --set replacing a key, and the groups given for a
 * repeatable section replacing that section's list. Values are parsed and checked with the
 * schema. Returns 0 and a new reference, or a negative errno and a message. */
int config_args_to_variant(const ConfigArgs *a, GVariant **ret, char **ret_error);
