/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VM name validation: a name it accepts is what its rule says, and safe where names go: a file name,
 * a unit instance that needs no escaping, and an object path that decodes back to it. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "fuzz.h"
#include "macro.h"
#include "vm-name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *name = strndup((const char *) data, size), *path = NULL, *decoded = NULL;
        size_t n;

        if (!name || !vm_name_is_valid(name))
                return 0;
        n = strlen(name);
        FUZZ_CHECK(n >= 1 && n <= MVM_VM_NAME_MAX);
        FUZZ_CHECK(name[0] != '-' && name[0] != '.');
        FUZZ_CHECK(strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n);
        FUZZ_CHECK(!streq(name, "vms") && !streq(name, "images"));
        FUZZ_CHECK(sd_bus_path_encode("/org/microvm/Manager/vm", name, &path) >= 0);
        FUZZ_CHECK(sd_bus_path_decode(path, "/org/microvm/Manager/vm", &decoded) > 0);
        FUZZ_CHECK(streq(decoded, name));
        return 0;
}
