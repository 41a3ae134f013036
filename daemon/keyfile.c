/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Key-file parser and printer, driven by the schema. */

#include <stdarg.h>
#include <stdio.h>

#include "fileio.h"
#include "keyfile.h"

_printf_(4, 5)
static int parse_error(char **ret_error, const char *filename, unsigned line, const char *format, ...) {
        g_autofree char *msg = NULL;
        va_list ap;

        if (ret_error) {
                va_start(ap, format);
                msg = g_strdup_vprintf(format, ap);
                va_end(ap);
                *ret_error = line > 0 ? g_strdup_printf("%s:%u: %s", filename, line, msg)
                                      : g_strdup_printf("%s: %s", filename, msg);
        }
        return -EINVAL;
}

KeyfileLineKind keyfile_classify_line(char *stripped, char **ret_name, char **ret_value) {
        char *eq;

        if (stripped[0] == '\0' || stripped[0] == '#' || stripped[0] == ';')
                return KEYFILE_LINE_COMMENT;

        if (stripped[0] == '[') {
                size_t n = strlen(stripped);

                if (n < 3 || stripped[n - 1] != ']')
                        return KEYFILE_LINE_BAD_HEADER;
                stripped[n - 1] = '\0';
                *ret_name = stripped + 1;
                return KEYFILE_LINE_SECTION;
        }

        eq = strchr(stripped, '=');
        if (!eq)
                return KEYFILE_LINE_BAD;
        *eq = '\0';
        *ret_name = g_strchomp(stripped);
        *ret_value = g_strchug(eq + 1);
        return KEYFILE_LINE_ASSIGNMENT;
}

/* "[VM], [Boot], … or [CloudInit]", from the schema. */
static const char *sections_list(void) {
        static char list[256];

        if (!list[0])
                for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s[%s]",
                                 s == 0 ? "" : s + 1 == _CONFIG_SECTION_MAX ? " or " : ", ",
                                 config_section_get(s)->name);
        return list;
}

/* Hands over the comment lines gathered so far, or NULL if there were none. */
static char *take_comment(GString *pending) {
        char *s;

        if (pending->len == 0)
                return NULL;
        s = g_strndup(pending->str, pending->len);
        g_string_truncate(pending, 0);
        return s;
}

int keyfile_parse(const char *text, const char *filename, Config **ret, char **ret_error) {
        _cleanup_(config_freep) Config *c = config_new();
        g_autoptr(GString) pending = g_string_new(NULL);
        g_auto(GStrv) lines = NULL;
        ConfigSection section = _CONFIG_SECTION_INVALID;
        ConfigGroup *group = NULL;
        g_autofree char *validation = NULL;
        size_t n_lines;
        int r;

        assert(text);
        assert(filename);

        if (!g_utf8_validate(text, -1, NULL))
                return parse_error(ret_error, filename, 0, "not valid UTF-8");

        lines = g_strsplit(text, "\n", -1);
        n_lines = g_strv_length(lines);
        /* A final newline ends the last line; it does not start an empty one. */
        if (n_lines > 0 && lines[n_lines - 1][0] == '\0')
                n_lines--;

        for (size_t i = 0; i < n_lines; i++) {
                unsigned line = (unsigned) i + 1;
                g_autofree char *stripped = g_strstrip(g_strdup(lines[i]));

                char *name, *value;

                switch (keyfile_classify_line(stripped, &name, &value)) {
                case KEYFILE_LINE_COMMENT:
                        g_string_append(pending, lines[i]);
                        g_string_append_c(pending, '\n');
                        continue;

                case KEYFILE_LINE_BAD_HEADER:
                        return parse_error(ret_error, filename, line, "'%s': a section header is [Name]", stripped);

                case KEYFILE_LINE_BAD:
                        return parse_error(ret_error, filename, line, "'%s': expected Key=value", stripped);

                case KEYFILE_LINE_SECTION:
                        section = config_section_from_name(name);
                        if (section < 0)
                                return parse_error(ret_error, filename, line,
                                                   "Unknown section [%s]: use %s", name, sections_list());

                        if (config_section_is_repeatable(section) || c->n_groups[section] == 0) {
                                group = config_section_is_repeatable(section) ? config_append_group(c, section)
                                                                              : config_singleton(c, section);
                                /* A lone blank line before a header is the printer's separator. */
                                group->comment = streq(pending->str, "\n") ? NULL : take_comment(pending);
                                g_string_truncate(pending, 0);
                        } else
                                group = config_singleton(c, section);
                        continue;

                case KEYFILE_LINE_ASSIGNMENT:
                        break;
                }

                if (!group)
                        return parse_error(ret_error, filename, line,
                                           "%s= is outside any section: put it under %s", name,
                                           sections_list());

                ConfigKeyId id = config_key_from_name(section, name);
                if (id < 0)
                        return parse_error(ret_error, filename, line,
                                           "Unknown key %s= in [%s]: see 'microvmctl keys'",
                                           name, config_section_get(section)->name);
                if (group->values[id])
                        return parse_error(ret_error, filename, line, "%s= is set twice in one [%s] section",
                                           name, config_section_get(section)->name);

                g_autoptr(GVariant) v = NULL;
                g_autofree char *problem = NULL;
                r = config_value_from_text(id, value, &v, &problem);
                if (r < 0)
                        return parse_error(ret_error, filename, line, "%s=: %s", name, problem);

                group->values[id] = TAKE_PTR(v);
                group->key_comments[id] = take_comment(pending);
        }

        c->trailer = take_comment(pending);

        r = config_validate(c, &validation);
        if (r < 0)
                return parse_error(ret_error, filename, 0, "%s", validation);

        *ret = TAKE_PTR(c);
        return 0;
}

int keyfile_load(const char *path, Config **ret, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_file(path, &text, &size);
        if (r < 0) {
                if (ret_error)
                        *ret_error = g_strdup_printf("%s: %s", path, strerror(-r));
                return r;
        }
        if (strlen(text) != size)
                return parse_error(ret_error, path, 0, "contains a NUL byte: a key file is text");

        return keyfile_parse(text, path, ret, ret_error);
}

static bool group_is_empty(const ConfigGroup *g) {
        if (g->comment)
                return false;
        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++)
                if (g->values[id] || g->key_comments[id])
                        return false;
        return true;
}

char *keyfile_print(const Config *c) {
        GString *out = g_string_new(NULL);
        bool first = true;

        for (ConfigSection s = 0; s < _CONFIG_SECTION_MAX; s++)
                for (size_t i = 0; i < c->n_groups[s]; i++) {
                        const ConfigGroup *g = &c->groups[s][i];

                        if (!config_section_is_repeatable(s) && group_is_empty(g))
                                continue;

                        if (g->comment)
                                g_string_append(out, g->comment);
                        else if (!first)
                                g_string_append_c(out, '\n');
                        g_string_append_printf(out, "[%s]\n", config_section_get(s)->name);

                        for (ConfigKeyId id = 0; id < _CONFIG_KEY_MAX; id++) {
                                g_autofree char *text = NULL;

                                if (!g->values[id])
                                        continue;
                                text = config_value_to_text(id, g->values[id]);
                                g_string_append(out, strempty(g->key_comments[id]));
                                g_string_append_printf(out, "%s=%s\n", config_key_get(id)->name, text);
                        }
                        first = false;
                }

        g_string_append(out, strempty(c->trailer));
        return g_string_free(out, FALSE);
}
