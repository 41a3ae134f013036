/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parses --set, --drive and --file with the schema and builds the a{sv} of CreateVM/UpdateVM. */

#include <stdarg.h>

#include "config-args.h"
#include "keyfile.h"
#include "macro.h"

_printf_(2, 3)
static int fail(char **ret_error, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, format);
                *ret_error = g_strdup_vprintf(format, ap);
                va_end(ap);
        }
        return -EINVAL;
}

static void strv_push(char ***l, const char *s) {
        size_t n = *l ? g_strv_length(*l) : 0;

        *l = g_renew(char *, *l, n + 2);
        (*l)[n] = g_strdup(s);
        (*l)[n + 1] = NULL;
}

void config_args_done(ConfigArgs *a) {
        g_clear_pointer(&a->file, g_free);
        g_clear_pointer(&a->sets, g_strfreev);
        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                g_clear_pointer(&a->groups[s], g_strfreev);
}

bool config_args_is_empty(const ConfigArgs *a) {
        if (a->file || a->sets)
                return false;
        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                if (a->groups[s])
                        return false;
        return true;
}

char *config_section_option(ConfigSection section) {
        assert(config_section_is_repeatable(section));
        return g_ascii_strdown(config_section_get(section)->name, -1);
}

/* "KEY=VALUE" with a non-empty KEY; the value may be empty. */
static bool is_assignment(const char *s) {
        const char *eq = strchr(s, '=');
        return eq && eq != s;
}

int config_args_add_set(ConfigArgs *a, const char *arg, char **ret_error) {
        if (!is_assignment(arg))
                return fail(ret_error, "--set expects KEY=VALUE, not '%s'", arg);
        strv_push(&a->sets, arg);
        return 0;
}

int config_args_add_group(ConfigArgs *a, ConfigSection section, const char *arg, char **ret_error) {
        g_autofree char *option = config_section_option(section);
        g_auto(GStrv) pairs = g_strsplit(arg, ",", -1);

        for (size_t i = 0; arg[0] && pairs[i]; i++)
                if (!is_assignment(pairs[i]))
                        return fail(ret_error, "--%s expects KEY=VALUE[,KEY=VALUE...], not '%s'",
                                    option, arg);

        if (!a->groups[section])
                a->groups[section] = g_new0(char *, 1);
        if (arg[0])
                strv_push(&a->groups[section], arg);
        return 0;
}

/* Splits "KEY=VALUE" (checked by is_assignment()) in place. */
static const char *split_assignment(char *s, const char **ret_value) {
        char *eq = strchr(s, '=');

        *eq = '\0';
        *ret_value = eq + 1;
        return s;
}

/* Where a key that --set does not know is: in a repeatable section, say which option takes it. */
static int fail_unknown_set(const char *key, const char *arg, char **ret_error) {
        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++) {
                g_autofree char *option = NULL;

                if (!config_section_is_repeatable(s) || config_key_from_name(s, key) < 0)
                        continue;
                option = config_section_option(s);
                return fail(ret_error, "%s is a key of [%s]: give it as --%s %s", key,
                            config_section_get(s)->name, option, arg);
        }
        return fail(ret_error, "Unknown key '%s' in --set %s: see 'microvmctl keys'", key, arg);
}

static int apply_set(GVariantDict *d, const char *arg, char **ret_error) {
        g_autofree char *copy = g_strdup(arg), *problem = NULL;
        g_autoptr(GVariant) v = NULL;
        const char *key, *value;
        ConfigKeyId id;

        key = split_assignment(copy, &value);
        id = config_key_from_bus_name(key);
        if (id < 0)
                return fail_unknown_set(key, arg, ret_error);
        if (config_value_from_text(id, value, &v, &problem) < 0)
                return fail(ret_error, "Invalid --set %s: %s %s", arg, key, problem);

        g_variant_dict_insert_value(d, key, v);
        return 0;
}

/* One --drive (or other section option): its KEY=VALUE pairs as an a{sv}. */
static int group_to_variant(ConfigSection section, const char *arg, GVariant **ret, char **ret_error) {
        g_autofree char *option = config_section_option(section);
        g_auto(GStrv) pairs = g_strsplit(arg, ",", -1);
        g_auto(GVariantDict) d = G_VARIANT_DICT_INIT(NULL);

        for (size_t i = 0; pairs[i]; i++) {
                g_autofree char *problem = NULL;
                g_autoptr(GVariant) v = NULL;
                const char *key, *value;
                ConfigKeyId id;

                key = split_assignment(pairs[i], &value);
                id = config_key_from_name(section, key);
                if (id < 0)
                        return fail(ret_error,
                                    "Unknown key '%s' in --%s %s: see 'microvmctl keys' for the keys of [%s]",
                                    key, option, arg, config_section_get(section)->name);
                if (config_value_from_text(id, value, &v, &problem) < 0)
                        return fail(ret_error, "Invalid --%s %s: %s %s", option, arg, key, problem);
                g_variant_dict_insert_value(&d, key, v);
        }
        *ret = g_variant_ref_sink(g_variant_dict_end(&d));
        return 0;
}

static int apply_groups(GVariantDict *d, ConfigSection section, char **groups, char **ret_error) {
        GVariantBuilder b;
        int r;

        g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
        for (size_t i = 0; groups[i]; i++) {
                g_autoptr(GVariant) group = NULL;

                r = group_to_variant(section, groups[i], &group, ret_error);
                if (r < 0) {
                        g_variant_builder_clear(&b);
                        return r;
                }
                g_variant_builder_add_value(&b, group);
        }
        g_variant_dict_insert_value(d, config_section_get(section)->bus_name, g_variant_builder_end(&b));
        return 0;
}

static int load_file(const char *path, GVariantDict *d, char **ret_error) {
        _cleanup_(config_freep) Config *c = NULL;
        g_autoptr(GVariant) dict = NULL;
        GVariantIter iter;
        const char *key;
        GVariant *value;
        int r;

        r = keyfile_load(path, &c, ret_error);
        if (r < 0)
                return r;

        dict = g_variant_ref_sink(config_to_variant(c, /* effective= */ false));
        g_variant_iter_init(&iter, dict);
        while (g_variant_iter_loop(&iter, "{&sv}", &key, &value))
                g_variant_dict_insert_value(d, key, value);
        return 0;
}

int config_args_to_variant(const ConfigArgs *a, GVariant **ret, char **ret_error) {
        g_auto(GVariantDict) d = G_VARIANT_DICT_INIT(NULL);
        int r;


        if (a->file) {
                r = load_file(a->file, &d, ret_error);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; a->sets && a->sets[i]; i++) {
                r = apply_set(&d, a->sets[i], ret_error);
                if (r < 0)
                        return r;
        }

        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                if (a->groups[s]) {
                        r = apply_groups(&d, s, a->groups[s], ret_error);
                        if (r < 0)
                                return r;
                }

        *ret = g_variant_ref_sink(g_variant_dict_end(&d));
        return 0;
}
