/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json-c with the cleanup idiom. */
#pragma once

#include <json-c/json.h>

static inline void json_object_putp(json_object **o) {
        if (*o)
                (void) json_object_put(*o);
}
