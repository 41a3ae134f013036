/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Property lines, tables and JSON from GVariant values; timestamps and log tails for people. */

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "config-schema.h"
#include "output.h"
#include "table.h"
#include "variant-json.h"

char *output_value_text(GVariant *v) {
        switch (g_variant_classify(v)) {
        case G_VARIANT_CLASS_VARIANT: {
                g_autoptr(GVariant) inner = g_variant_get_variant(v);
                return output_value_text(inner);
        }
        case G_VARIANT_CLASS_BOOLEAN:
                return g_strdup(g_variant_get_boolean(v) ? "yes" : "no");
        case G_VARIANT_CLASS_STRING:
        case G_VARIANT_CLASS_OBJECT_PATH:
        case G_VARIANT_CLASS_SIGNATURE:
                return g_variant_dup_string(v, NULL);
        default:
                return g_variant_print(v, /* type_annotate= */ FALSE);
        }
}

static int output_json(GVariant *v, JsonMode mode) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
        int r;

        r = variant_to_json(v, &j);
        if (r < 0)
                return r;

        if (mode == JSON_PRETTY)
                flags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
        else
                flags |= JSON_C_TO_STRING_PLAIN;
        puts(json_object_to_json_string_ext(j, flags));
        return 0;
}

static void output_groups(const char *property, GVariant *groups) {
        ConfigSection s = config_section_from_bus_name(property);
        const char *name = s >= 0 ? config_section_get(s)->name : property;
        GVariantIter iter;
        GVariant *group;

        g_variant_iter_init(&iter, groups);
        while ((group = g_variant_iter_next_value(&iter))) {
                g_autoptr(GVariant) owned = group;
                GVariantIter keys;
                const char *key;
                GVariant *value;
                const char *separator = "";

                printf("%s=", name);
                g_variant_iter_init(&keys, group);
                while (g_variant_iter_loop(&keys, "{&sv}", &key, &value)) {
                        g_autofree char *text = output_value_text(value);

                        printf("%s%s=%s", separator, key, text);
                        separator = " ";
                }
                putchar('\n');
        }
}

int output_properties(GVariant *dict, const OutputFormat *f) {
        ConfigKeyId id;
        GVariantIter iter;
        const char *key;
        GVariant *value;

        if (f->json != JSON_OFF)
                return output_json(dict, f->json);

        g_variant_iter_init(&iter, dict);
        while (g_variant_iter_loop(&iter, "{&sv}", &key, &value)) {
                g_autofree char *text = NULL;

                if (g_variant_is_of_type(value, G_VARIANT_TYPE("aa{sv}"))) {
                        output_groups(key, value);
                        continue;
                }
                /* A schema key as its key file has it: a file's contents stay on their line. */
                id = config_key_from_bus_name(key);
                text = id >= 0 && g_variant_is_of_type(value, G_VARIANT_TYPE(config_key_get(id)->type))
                               ? config_value_to_text(id, value)
                               : output_value_text(value);
                printf("%s=%s\n", key, text);
        }
        return 0;
}

static void table_add_row(Table *t, GVariant *row, const Column *columns) {
        for (const Column *c = columns; c->header; c++) {
                g_autoptr(GVariant) v = g_variant_lookup_value(row, c->key, NULL);
                g_autofree char *text = NULL;

                if (v)
                        text = (c->format ?: output_value_text)(v);
                table_add_cell(t, text ?: c->missing);
        }
}

int output_rows(GVariant *rows, const Column *columns, const OutputFormat *f, const char *noun,
                const char *nouns) {
        _cleanup_(table_freep) Table *t = NULL;
        size_t n_columns = 0, n_rows = g_variant_n_children(rows);
        GVariantIter iter;
        GVariant *row;

        if (f->json != JSON_OFF)
                return output_json(rows, f->json);

        if (n_rows == 0) {
                if (f->legend)
                        printf("No %s.\n", nouns);
                return 0;
        }

        while (columns[n_columns].header)
                n_columns++;
        t = table_new(n_columns);
        for (const Column *c = columns; c->header; c++)
                table_add_cell(t, c->header);

        g_variant_iter_init(&iter, rows);
        while ((row = g_variant_iter_next_value(&iter))) {
                table_add_row(t, row, columns);
                g_variant_unref(row);
        }

        table_print(t, stdout, f->legend);
        if (f->legend)
                printf("\n%zu %s listed.\n", n_rows, n_rows == 1 ? noun : nouns);
        return 0;
}

/* An age the way systemctl shows one: its two largest units, "3min 4s", "2d 5h", and
 * milliseconds only under a second. */
static char *format_age(uint64_t usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "d",   UINT64_C(24) * 3600 * G_USEC_PER_SEC },
                { "h",   UINT64_C(3600) * G_USEC_PER_SEC      },
                { "min", UINT64_C(60) * G_USEC_PER_SEC        },
                { "s",   G_USEC_PER_SEC                       },
                { "ms",  1000                                 },
        };

        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                uint64_t n = usec / units[i].usec, rest = usec % units[i].usec;

                if (n == 0)
                        continue;
                /* The second unit, if it is not zero and not below a second. */
                if (i + 2 < ELEMENTSOF(units) && rest >= units[i + 1].usec)
                        return g_strdup_printf("%" PRIu64 "%s %" PRIu64 "%s", n, units[i].suffix,
                                               rest / units[i + 1].usec, units[i + 1].suffix);
                return g_strdup_printf("%" PRIu64 "%s", n, units[i].suffix);
        }
        return g_strdup("0s");
}

char *output_timestamp_relative(uint64_t usec, uint64_t now_usec) {
        g_autoptr(GDateTime) t = NULL;
        g_autofree char *when = NULL, *age = NULL;

        t = g_date_time_new_from_unix_local((gint64) MIN(usec / G_USEC_PER_SEC, (uint64_t) G_MAXINT64));
        when = t ? g_date_time_format(t, "%a %Y-%m-%d %H:%M:%S %Z") : NULL;
        if (!when)
                /* Beyond what GDateTime can show: the number is still the truth. */
                when = g_strdup_printf("@%" PRIu64 " µs", usec);

        if (usec > now_usec)
                return g_strdup_printf("%s; in the future", when);
        age = format_age(now_usec - usec);
        return g_strdup_printf("%s; %s ago", when, age);
}

/* One line of a log, safe for a terminal: invalid UTF-8 becomes U+FFFD, control characters
 * (C0, DEL and C1, which some terminals also obey) but the tab become '?'. */
static char *line_sanitize(const char *line, size_t len) {
        g_autofree char *valid = g_utf8_make_valid(line, (gssize) len);
        GString *s = g_string_sized_new(len);

        for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
                gunichar c = g_utf8_get_char(p);

                if (g_unichar_iscntrl(c) && c != '\t')
                        g_string_append_c(s, '?');
                else
                        g_string_append_unichar(s, c);
        }
        return g_string_free(s, FALSE);
}

#define MVM_TAIL_MAX_BYTES (64 * 1024)

int output_read_tail(const char *path, size_t n_lines, char ***ret) {
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        _cleanup_close_ int fd = -EBADF;
        g_autofree char *buf = NULL;
        const char *p, *end;
        struct stat st;
        size_t size;
        ssize_t n;
        off_t offset;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;

        size = (size_t) MIN(st.st_size, (off_t) MVM_TAIL_MAX_BYTES);
        offset = st.st_size - (off_t) size;
        buf = g_malloc(size + 1);
        n = pread(fd, buf, size, offset);
        if (n < 0)
                return -errno;

        p = buf;
        end = buf + n;
        /* Started in the middle of the file: the first line is only the end of one. */
        if (offset > 0) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));

                if (nl)
                        p = nl + 1;
        }
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = (size_t) ((nl ?: end) - p);

                /* Serial consoles end lines with \r\n. */
                if (len > 0 && p[len - 1] == '\r')
                        len--;
                g_ptr_array_add(lines, line_sanitize(p, len));
                if (lines->len > n_lines)
                        g_ptr_array_remove_index(lines, 0);
                p = nl ? nl + 1 : end;
        }

        g_ptr_array_add(lines, NULL);
        *ret = (char **) g_ptr_array_steal(lines, /* len= */ NULL);
        return 0;
}
