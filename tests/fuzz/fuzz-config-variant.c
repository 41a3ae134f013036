/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The a{sv} → configuration decoder of CreateVM and UpdateVM. The input is the dictionary in
 * GVariant's text form, so that the corpus reads as what a caller sends; GLib's own parser turns it
 * into the value microvmd would get from the bus. A decoded configuration encodes to a dictionary
 * that decodes again to the same. */

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_freep) Config *c = NULL, *again = NULL;
        g_autofree char *text = g_strndup((const char *) data, size), *error = NULL;
        g_autoptr(GVariant) dict = NULL, encoded = NULL, reencoded = NULL;

        dict = g_variant_parse(G_VARIANT_TYPE("a{sv}"), text, NULL, NULL, NULL);
        if (!dict)
                return 0;
        if (config_from_variant(dict, &c, &error) < 0) {
                FUZZ_CHECK(error && error[0]);
                return 0;
        }
        encoded = g_variant_ref_sink(config_to_variant(c, /* effective= */ false));
        g_clear_pointer(&error, g_free);
        if (config_from_variant(encoded, &again, &error) < 0) {
                g_autofree char *shown = g_variant_print(encoded, TRUE);

                fprintf(stderr, "encoded %s\nrefused: %s\n", shown, error);
                abort();
        }
        reencoded = g_variant_ref_sink(config_to_variant(again, /* effective= */ false));
        FUZZ_CHECK(g_variant_equal(encoded, reencoded));
        return 0;
}
