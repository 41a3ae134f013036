/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recursive conversion between the D-Bus wire values of sd-bus and GVariant. */

#include "bus-variant.h"
#include "macro.h"

static int read_basic(sd_bus_message *m, char type, GVariant **ret) {
        union {
                uint8_t y;
                int b;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
                const char *s;
        } u;
        int r;

        r = sd_bus_message_read_basic(m, type, &u);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;

        switch (type) {
        case 'y': *ret = g_variant_new_byte(u.y); break;
        case 'b': *ret = g_variant_new_boolean(u.b); break;
        case 'n': *ret = g_variant_new_int16(u.n); break;
        case 'q': *ret = g_variant_new_uint16(u.q); break;
        case 'i': *ret = g_variant_new_int32(u.i); break;
        case 'u': *ret = g_variant_new_uint32(u.u); break;
        case 'x': *ret = g_variant_new_int64(u.x); break;
        case 't': *ret = g_variant_new_uint64(u.t); break;
        case 'd': *ret = g_variant_new_double(u.d); break;
        case 's': *ret = g_variant_new_string(u.s); break;
        case 'o': *ret = g_variant_new_object_path(u.s); break;
        case 'g': *ret = g_variant_new_signature(u.s); break;
        default: return -EINVAL;
        }
        g_variant_ref_sink(*ret);
        return 0;
}

static int read_value(sd_bus_message *m, GVariant **ret);

/* Reads the members of the container just entered until its end. */
static int read_members(sd_bus_message *m, const GVariantType *type, GVariant **ret) {
        GVariantBuilder b;
        int r;

        g_variant_builder_init(&b, type);
        for (;;) {
                GVariant *member;

                r = sd_bus_message_at_end(m, /* complete= */ false);
                if (r < 0)
                        goto fail;
                if (r > 0)
                        break;
                r = read_value(m, &member);
                if (r < 0)
                        goto fail;
                g_variant_builder_add_value(&b, member);
                g_variant_unref(member);
        }
        *ret = g_variant_ref_sink(g_variant_builder_end(&b));
        return sd_bus_message_exit_container(m);

fail:
        g_variant_builder_clear(&b);
        return r;
}

static int read_value(sd_bus_message *m, GVariant **ret) {
        g_autofree char *type_string = NULL;
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;

        switch (type) {
        case 'v': {
                g_autoptr(GVariant) inner = NULL;

                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
                r = read_value(m, &inner);
                if (r < 0)
                        return r;
                *ret = g_variant_ref_sink(g_variant_new_variant(inner));
                return sd_bus_message_exit_container(m);
        }
        case 'a':
                type_string = g_strdup_printf("a%s", contents);
                break;
        case 'e':
                type_string = g_strdup_printf("{%s}", contents);
                break;
        case 'r':
                type_string = g_strdup_printf("(%s)", contents);
                break;
        case 'h':
                return -EINVAL;
        default:
                return read_basic(m, type, ret);
        }

        if (!g_variant_type_string_is_valid(type_string))
                return -EINVAL;
        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        return read_members(m, G_VARIANT_TYPE(type_string), ret);
}

int bus_message_read_gvariant(sd_bus_message *m, GVariant **ret) {
        assert(m);
        assert(ret);
        return read_value(m, ret);
}

int bus_message_append_gvariant(sd_bus_message *m, GVariant *v) {
        const char *type = g_variant_get_type_string(v);
        g_autofree char *contents = NULL;
        GVariantIter iter;
        GVariant *child;
        int r;

        switch (g_variant_classify(v)) {
        case G_VARIANT_CLASS_BYTE: return sd_bus_message_append_basic(m, 'y', &(uint8_t) { g_variant_get_byte(v) });
        case G_VARIANT_CLASS_BOOLEAN: return sd_bus_message_append_basic(m, 'b', &(int) { g_variant_get_boolean(v) });
        case G_VARIANT_CLASS_INT16: return sd_bus_message_append_basic(m, 'n', &(int16_t) { g_variant_get_int16(v) });
        case G_VARIANT_CLASS_UINT16: return sd_bus_message_append_basic(m, 'q', &(uint16_t) { g_variant_get_uint16(v) });
        case G_VARIANT_CLASS_INT32: return sd_bus_message_append_basic(m, 'i', &(int32_t) { g_variant_get_int32(v) });
        case G_VARIANT_CLASS_UINT32: return sd_bus_message_append_basic(m, 'u', &(uint32_t) { g_variant_get_uint32(v) });
        case G_VARIANT_CLASS_INT64: return sd_bus_message_append_basic(m, 'x', &(int64_t) { g_variant_get_int64(v) });
        case G_VARIANT_CLASS_UINT64: return sd_bus_message_append_basic(m, 't', &(uint64_t) { g_variant_get_uint64(v) });
        case G_VARIANT_CLASS_DOUBLE: return sd_bus_message_append_basic(m, 'd', &(double) { g_variant_get_double(v) });
        case G_VARIANT_CLASS_STRING: return sd_bus_message_append_basic(m, 's', g_variant_get_string(v, NULL));
        case G_VARIANT_CLASS_OBJECT_PATH: return sd_bus_message_append_basic(m, 'o', g_variant_get_string(v, NULL));
        case G_VARIANT_CLASS_SIGNATURE: return sd_bus_message_append_basic(m, 'g', g_variant_get_string(v, NULL));
        case G_VARIANT_CLASS_VARIANT: {
                g_autoptr(GVariant) inner = g_variant_get_variant(v);

                r = sd_bus_message_open_container(m, 'v', g_variant_get_type_string(inner));
                if (r < 0)
                        return r;
                r = bus_message_append_gvariant(m, inner);
                if (r < 0)
                        return r;
                return sd_bus_message_close_container(m);
        }
        case G_VARIANT_CLASS_ARRAY:
                contents = g_strdup(type + 1);
                r = sd_bus_message_open_container(m, 'a', contents);
                break;
        case G_VARIANT_CLASS_DICT_ENTRY:
                contents = g_strndup(type + 1, strlen(type) - 2);
                r = sd_bus_message_open_container(m, 'e', contents);
                break;
        case G_VARIANT_CLASS_TUPLE:
                contents = g_strndup(type + 1, strlen(type) - 2);
                r = sd_bus_message_open_container(m, 'r', contents);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;

        g_variant_iter_init(&iter, v);
        while ((child = g_variant_iter_next_value(&iter))) {
                r = bus_message_append_gvariant(m, child);
                g_variant_unref(child);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}
