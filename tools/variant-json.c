/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recursive conversion of GVariant values to json-c objects. */

#include "macro.h"
#include "variant-json.h"

static int dict_to_json(GVariant *dict, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        GVariantIter iter;
        const char *key;
        GVariant *value;
        int r;

        if (!o)
                return -ENOMEM;

        g_variant_iter_init(&iter, dict);
        while (g_variant_iter_next(&iter, "{&s@*}", &key, &value)) {
                g_autoptr(GVariant) owned = value;
                json_object *j;

                r = variant_to_json(value, &j);
                if (r < 0)
                        return r;
                if (json_object_object_add(o, key, j) < 0) {
                        json_object_putp(&j);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(o);
        return 0;
}

/* Arrays other than dictionaries with string keys, tuples and dictionary entries. */
static int children_to_json(GVariant *v, json_object **ret) {
        _cleanup_(json_object_putp) json_object *a = json_object_new_array();
        GVariantIter iter;
        GVariant *child;
        int r;

        if (!a)
                return -ENOMEM;

        g_variant_iter_init(&iter, v);
        while ((child = g_variant_iter_next_value(&iter))) {
                g_autoptr(GVariant) owned = child;
                json_object *j;

                r = variant_to_json(child, &j);
                if (r < 0)
                        return r;
                if (json_object_array_add(a, j) < 0) {
                        json_object_putp(&j);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(a);
        return 0;
}

/* The leaves: never NULL but when out of memory. */
static json_object *basic_to_json(GVariant *v) {
        switch (g_variant_classify(v)) {
        case G_VARIANT_CLASS_BOOLEAN:
                return json_object_new_boolean(g_variant_get_boolean(v));
        case G_VARIANT_CLASS_BYTE:
                return json_object_new_int64(g_variant_get_byte(v));
        case G_VARIANT_CLASS_INT16:
                return json_object_new_int64(g_variant_get_int16(v));
        case G_VARIANT_CLASS_UINT16:
                return json_object_new_int64(g_variant_get_uint16(v));
        case G_VARIANT_CLASS_INT32:
                return json_object_new_int64(g_variant_get_int32(v));
        case G_VARIANT_CLASS_HANDLE:
                return json_object_new_int64(g_variant_get_handle(v));
        case G_VARIANT_CLASS_UINT32:
                return json_object_new_int64(g_variant_get_uint32(v));
        case G_VARIANT_CLASS_INT64:
                return json_object_new_int64(g_variant_get_int64(v));
        case G_VARIANT_CLASS_UINT64:
                return json_object_new_uint64(g_variant_get_uint64(v));
        case G_VARIANT_CLASS_DOUBLE:
                return json_object_new_double(g_variant_get_double(v));
        case G_VARIANT_CLASS_STRING:
        case G_VARIANT_CLASS_OBJECT_PATH:
        case G_VARIANT_CLASS_SIGNATURE:
                return json_object_new_string(g_variant_get_string(v, NULL));
        default:
                assert(!"not a basic GVariant type");
                return NULL;
        }
}

int variant_to_json(GVariant *v, json_object **ret) {
        json_object *j;

        switch (g_variant_classify(v)) {
        case G_VARIANT_CLASS_VARIANT: {
                g_autoptr(GVariant) inner = g_variant_get_variant(v);
                return variant_to_json(inner, ret);
        }
        case G_VARIANT_CLASS_MAYBE: {
                g_autoptr(GVariant) inner = g_variant_get_maybe(v);

                if (!inner) {
                        *ret = NULL;
                        return 0;
                }
                return variant_to_json(inner, ret);
        }
        case G_VARIANT_CLASS_ARRAY:
                if (g_variant_is_of_type(v, G_VARIANT_TYPE("a{s*}")))
                        return dict_to_json(v, ret);
                return children_to_json(v, ret);
        case G_VARIANT_CLASS_TUPLE:
        case G_VARIANT_CLASS_DICT_ENTRY:
                return children_to_json(v, ret);
        default:
                j = basic_to_json(v);
                if (!j)
                        return -ENOMEM;
                *ret = j;
                return 0;
        }
}
