/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VM configuration values: building, reading, validating and converting to and from a{sv}. */

#include <stdarg.h>

#include "backend.h"
#include "config.h"

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

Config *config_new(void) {
        return g_new0(Config, 1);
}

static void config_group_done(ConfigGroup *g) {
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                g_clear_pointer(&g->values[id], g_variant_unref);
                g_clear_pointer(&g->key_comments[id], g_free);
        }
        g_clear_pointer(&g->comment, g_free);
}

static void config_section_clear(Config *c, ConfigSection s) {
        for (size_t i = 0; i < c->n_groups[s]; i++)
                config_group_done(&c->groups[s][i]);
        g_clear_pointer(&c->groups[s], g_free);
        c->n_groups[s] = 0;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;

        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                config_section_clear(c, s);
        g_free(c->trailer);
        g_free(c);
        return NULL;
}

static void config_group_copy(ConfigGroup *dst, const ConfigGroup *src) {
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                dst->values[id] = src->values[id] ? g_variant_ref(src->values[id]) : NULL;
                dst->key_comments[id] = g_strdup(src->key_comments[id]);
        }
        dst->comment = g_strdup(src->comment);
}

static void config_section_copy(Config *dst, const Config *src, ConfigSection s) {
        dst->n_groups[s] = src->n_groups[s];
        dst->groups[s] = g_new0(ConfigGroup, src->n_groups[s]);
        for (size_t i = 0; i < src->n_groups[s]; i++)
                config_group_copy(&dst->groups[s][i], &src->groups[s][i]);
}

int config_copy(const Config *c, Config **ret) {
        _cleanup_(config_freep) Config *copy = config_new();

        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                config_section_copy(copy, c, s);
        copy->trailer = g_strdup(c->trailer);

        *ret = TAKE_PTR(copy);
        return 0;
}

ConfigGroup *config_append_group(Config *c, ConfigSection section) {
        c->groups[section] = g_renew(ConfigGroup, c->groups[section], c->n_groups[section] + 1);
        memset(&c->groups[section][c->n_groups[section]], 0, sizeof(ConfigGroup));
        return &c->groups[section][c->n_groups[section]++];
}

ConfigGroup *config_singleton(Config *c, ConfigSection section) {
        assert(!config_section_is_repeatable(section));

        if (c->n_groups[section] > 0)
                return &c->groups[section][0];
        return config_append_group(c, section);
}

int config_set(Config *c, ConfigKeyId id, GVariant *value, char **ret_problem) {
        return config_group_set(config_singleton(c, config_key_get(id)->section), id, value, ret_problem);
}

static const ConfigGroup *config_singleton_const(const Config *c, ConfigSection section) {
        return c->n_groups[section] > 0 ? &c->groups[section][0] : NULL;
}

int config_group_set(ConfigGroup *g, ConfigKeyId id, GVariant *value, char **ret_problem) {
        int r;

        r = config_value_check(id, value, ret_problem);
        if (r < 0)
                return r;

        if (g->values[id])
                g_variant_unref(g->values[id]);
        g->values[id] = g_variant_ref_sink(value);
        return 0;
}

GVariant *config_group_get(const ConfigGroup *g, ConfigKeyId id) {
        if (g && g->values[id])
                return g_variant_ref(g->values[id]);
        return config_key_default(id);
}

const char *config_group_get_string(const ConfigGroup *g, ConfigKeyId id, GVariant **holder) {
        *holder = config_group_get(g, id);
        return g_variant_get_string(*holder, NULL);
}

bool config_group_get_bool(const ConfigGroup *g, ConfigKeyId id) {
        g_autoptr(GVariant) v = config_group_get(g, id);

        return g_variant_get_boolean(v);
}

GVariant *config_get(const Config *c, ConfigKeyId id) {
        const ConfigKey *key = config_key_get(id);

        assert(!config_section_is_repeatable(key->section));
        return config_group_get(config_singleton_const(c, key->section), id);
}

const char *config_get_string(const Config *c, ConfigKeyId id) {
        const ConfigKey *key = config_key_get(id);
        const ConfigGroup *g = config_singleton_const(c, key->section);

        assert(key->type[0] == 's');
        /* Borrowed: from the set value, or the schema's default text, which is the value. */
        if (g && g->values[id])
                return g_variant_get_string(g->values[id], NULL);
        return key->default_text;
}

uint64_t config_get_number(const Config *c, ConfigKeyId id) {
        g_autoptr(GVariant) v = config_get(c, id);

        assert(v);
        return g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32) ? g_variant_get_uint32(v) : g_variant_get_uint64(v);
}

bool config_get_bool(const Config *c, ConfigKeyId id) {
        g_autoptr(GVariant) v = config_get(c, id);

        assert(v);
        return g_variant_get_boolean(v);
}

static int config_group_validate(const ConfigGroup *g, ConfigSection s, const char *where, char **ret_error) {
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                const ConfigKey *key = config_key_get(id);

                if (key->section == s && config_key_is_required(id) && !(g && g->values[id]))
                        return fail(ret_error, "%s%s is required (%s)", strempty(where), key->name, key->doc);
        }
        return 0;
}

int config_validate(const Config *c, char **ret_error) {
        const ConfigSection drives = CONFIG_SECTION_DRIVE;
        ssize_t root = -1;
        int r;

        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++) {
                if (!config_section_is_repeatable(s)) {
                        r = config_group_validate(config_singleton_const(c, s), s, NULL, ret_error);
                        if (r < 0)
                                return r;
                        continue;
                }
                for (size_t i = 0; i < c->n_groups[s]; i++) {
                        g_autofree char *where = g_strdup_printf("%s[%zu].", config_section_get(s)->bus_name, i);

                        r = config_group_validate(&c->groups[s][i], s, where, ret_error);
                        if (r < 0)
                                return r;
                }
        }

        for (size_t i = 0; i < c->n_groups[drives]; i++) {
                const ConfigGroup *d = &c->groups[drives][i];
                const char *path = g_variant_get_string(d->values[CONFIG_DRIVE_PATH], NULL);

                g_autoptr(GVariant) is_root = config_group_get(d, CONFIG_DRIVE_ROOT);

                if (g_variant_get_boolean(is_root)) {
                        if (root >= 0)
                                return fail(ret_error, "Drives[%zd] and Drives[%zu] both have Root=yes: "
                                            "at most one drive holds the root file system", root, i);
                        root = (ssize_t) i;
                }
                for (size_t j = 0; j < i; j++)
                        if (streq(path, g_variant_get_string(c->groups[drives][j].values[CONFIG_DRIVE_PATH], NULL)))
                                return fail(ret_error, "Drives[%zu] and Drives[%zu] both use '%s': "
                                            "attach each image once", j, i, path);
        }

        /* Two NICs of one VM cannot share a MAC or a TAP; empty ones are derived distinct. */
        static const ConfigKeyId distinct[] = { CONFIG_NETWORK_MAC_ADDRESS, CONFIG_NETWORK_TAP };
        const ConfigSection nets = CONFIG_SECTION_NETWORK;
        for (size_t k = 0; k < ELEMENTSOF(distinct); k++)
                for (size_t i = 0; i < c->n_groups[nets]; i++) {
                        g_autoptr(GVariant) a = config_group_get(&c->groups[nets][i], distinct[k]);
                        const char *sa = g_variant_get_string(a, NULL);

                        for (size_t j = 0; sa[0] && j < i; j++) {
                                g_autoptr(GVariant) b = config_group_get(&c->groups[nets][j], distinct[k]);

                                if (g_ascii_strcasecmp(sa, g_variant_get_string(b, NULL)) == 0)
                                        return fail(ret_error, "Networks[%zu] and Networks[%zu] both have %s=%s: "
                                                    "give each NIC its own", j, i, config_key_get(distinct[k])->name, sa);
                        }
                }

        /* What the chosen hypervisor cannot do is refused here too, not at the start. */
        return backend_check_config(c, ret_error);
}

/* Fills g from an a{sv} whose keys belong to section s. */
static int config_group_from_variant(ConfigGroup *g, ConfigSection s, GVariant *dict, const char *where,
                                     char **ret_error) {
        GVariantIter iter;
        const char *name;
        GVariant *value;

        g_variant_iter_init(&iter, dict);
        while (g_variant_iter_next(&iter, "{&sv}", &name, &value)) {
                g_autoptr(GVariant) v = value;
                g_autofree char *problem = NULL;
                ConfigKeyId id = config_key_from_name(s, name);

                if (id < 0)
                        return fail(ret_error, "Unknown key '%s%s': see 'microvmctl keys' for the keys of [%s]",
                                    strempty(where), name, config_section_get(s)->name);
                if (g->values[id])
                        return fail(ret_error, "%s%s is given twice: give it once", strempty(where), name);
                if (config_group_set(g, id, v, &problem) < 0)
                        return fail(ret_error, "%s%s: %s", strempty(where), name, problem);
        }
        return 0;
}

static int config_apply_variant(Config *c, GVariant *dict, char **ret_error) {
        bool seen_key[_CONFIG_KEY_MAX] = {}, seen_section[_CONFIG_SECTION_MAX] = {};
        GVariantIter iter;
        const char *name;
        GVariant *value;
        int r;

        if (!g_variant_is_of_type(dict, G_VARIANT_TYPE_VARDICT))
                return fail(ret_error, "The configuration must be of type a{sv}, not %s",
                            g_variant_get_type_string(dict));

        g_variant_iter_init(&iter, dict);
        while (g_variant_iter_next(&iter, "{&sv}", &name, &value)) {
                g_autoptr(GVariant) v = value;
                g_autofree char *problem = NULL;
                ConfigSection s = config_section_from_bus_name(name);

                if (s >= 0) {
                        GVariantIter groups;
                        GVariant *group;

                        if (!g_variant_is_of_type(v, G_VARIANT_TYPE("aa{sv}")))
                                return fail(ret_error, "%s: must be of D-Bus type 'aa{sv}', not '%s'", name,
                                            g_variant_get_type_string(v));
                        /* A dictionary may carry a key twice on the wire; which one would win is a guess. */
                        if (seen_section[s])
                                return fail(ret_error, "%s is given twice: give it once", name);
                        seen_section[s] = true;

                        config_section_clear(c, s);
                        g_variant_iter_init(&groups, v);
                        while ((group = g_variant_iter_next_value(&groups))) {
                                g_autoptr(GVariant) gv = group;
                                g_autofree char *where = g_strdup_printf("%s[%zu].", name, c->n_groups[s]);

                                r = config_group_from_variant(config_append_group(c, s), s, gv, where, ret_error);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }

                ConfigKeyId id = config_key_from_bus_name(name);
                if (id < 0)
                        return fail(ret_error, "Unknown key '%s': see 'microvmctl keys' for the keys microvm knows",
                                    name);

                if (seen_key[id])
                        return fail(ret_error, "%s is given twice: give it once", name);
                seen_key[id] = true;

                r = config_group_set(config_singleton(c, config_key_get(id)->section), id, v, &problem);
                if (r < 0)
                        return fail(ret_error, "%s: %s", name, problem);
        }

        return config_validate(c, ret_error);
}

int config_from_variant(GVariant *dict, Config **ret, char **ret_error) {
        _cleanup_(config_freep) Config *c = config_new();
        int r;

        r = config_apply_variant(c, dict, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int config_update_from_variant(const Config *old, GVariant *dict, Config **ret, char **ret_error) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_copy(old, &c);
        if (r < 0)
                return r;

        r = config_apply_variant(c, dict, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

static GVariant *config_group_to_variant(const ConfigGroup *g, ConfigSection s, bool effective) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                g_autoptr(GVariant) v = NULL;

                if (config_key_get(id)->section != s)
                        continue;
                v = effective ? config_group_get(g, id) : (g && g->values[id] ? g_variant_ref(g->values[id]) : NULL);
                if (v)
                        g_variant_builder_add(&b, "{sv}", config_key_get(id)->name, v);
        }
        return g_variant_builder_end(&b);
}

static GVariant *config_section_to_variant(const Config *c, ConfigSection s, bool effective) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
        for (size_t i = 0; i < c->n_groups[s]; i++)
                g_variant_builder_add_value(&b, config_group_to_variant(&c->groups[s][i], s, effective));
        return g_variant_builder_end(&b);
}

GVariant *config_to_variant(const Config *c, bool effective) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++) {
                if (config_section_is_repeatable(s)) {
                        if (effective || c->n_groups[s] > 0)
                                g_variant_builder_add(&b, "{sv}", config_section_get(s)->bus_name,
                                                      config_section_to_variant(c, s, effective));
                        continue;
                }

                GVariantIter iter;
                const char *name;
                GVariant *value;
                g_autoptr(GVariant) group = g_variant_ref_sink(
                                config_group_to_variant(config_singleton_const(c, s), s, effective));

                g_variant_iter_init(&iter, group);
                while (g_variant_iter_loop(&iter, "{&sv}", &name, &value))
                        g_variant_builder_add(&b, "{sv}", name, value);
        }
        return g_variant_builder_end(&b);
}

GVariant *config_get_property(const Config *c, const char *bus_name) {
        ConfigSection s = config_section_from_bus_name(bus_name);
        ConfigKeyId id;

        if (s >= 0)
                return g_variant_ref_sink(config_section_to_variant(c, s, /* effective= */ true));

        id = config_key_from_bus_name(bus_name);
        if (id < 0)
                return NULL;
        return config_get(c, id);
}

static bool variant_equal_or_null(GVariant *a, GVariant *b) {
        if (!a || !b)
                return a == b;
        return g_variant_equal(a, b);
}

const char **config_changed_properties(const Config *a, const Config *b) {
        const char **names = g_new0(const char *, _CONFIG_KEY_MAX + _CONFIG_SECTION_MAX + 1);
        size_t n = 0;

        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                if (config_section_is_repeatable(s)) {
                        g_autoptr(GVariant) va = config_get_property(a, config_section_get(s)->bus_name);
                        g_autoptr(GVariant) vb = config_get_property(b, config_section_get(s)->bus_name);

                        if (!g_variant_equal(va, vb))
                                names[n++] = config_section_get(s)->bus_name;
                }

        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                if (config_section_is_repeatable(config_key_get(id)->section))
                        continue;

                g_autoptr(GVariant) va = config_get(a, id);
                g_autoptr(GVariant) vb = config_get(b, id);

                if (!variant_equal_or_null(va, vb))
                        names[n++] = config_key_get(id)->name;
        }
        return names;
}
