/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The key-file parser: any text is parsed or refused with a message; what parses prints back to a
 * key file that parses to the same configuration. */

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "fuzz.h"
#include "keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_freep) Config *c = NULL, *again = NULL;
        g_autofree char *text = g_strndup((const char *) data, size), *error = NULL, *printed = NULL;
        g_autoptr(GVariant) a = NULL, b = NULL;

        if (keyfile_parse(text, "fuzz.vm", &c, &error) < 0) {
                FUZZ_CHECK(error && error[0]);
                return 0;
        }
        printed = keyfile_print(c);
        FUZZ_CHECK(printed);
        g_clear_pointer(&error, g_free);
        if (keyfile_parse(printed, "fuzz.vm", &again, &error) < 0) {
                fprintf(stderr, "printed:\n%s\nrefused: %s\n", printed, error);
                abort();
        }
        a = g_variant_ref_sink(config_to_variant(c, /* effective= */ true));
        b = g_variant_ref_sink(config_to_variant(again, /* effective= */ true));
        FUZZ_CHECK(g_variant_equal(a, b));
        return 0;
}
