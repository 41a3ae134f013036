/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GVariant to JSON, so that whatever microvmd sends is printed with its natural JSON types. */
#pragma once

#include <glib.h>
#include <json-c/json.h>

#include "json-util.h"

/* Numbers become numbers, booleans booleans, strings and object paths strings, variants their
 * contents, dictionaries with string keys objects, other arrays and tuples arrays, an empty
 * maybe null (which json-c represents as a NULL object). Returns 0 and a new reference
 * (json_object_put()), or -ENOMEM. */
int variant_to_json(GVariant *v, json_object **ret);
