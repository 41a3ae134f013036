/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VM name validation; the rule is documented in vm-name.h and the README. */

#include <string.h>

#include "macro.h"
#include "vm-name.h"

static const char *const reserved[] = { "vms", "images" };

static bool char_is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool vm_name_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;

        n = strnlen(name, MVM_VM_NAME_MAX + 1);
        if (n == 0 || n > MVM_VM_NAME_MAX)
                return false;

        /* Not '-' (read as an option) nor '.' (".", "..", hidden files) first. */
        if (!char_is_alnum(name[0]) && name[0] != '_')
                return false;

        for (size_t i = 0; i < n; i++)
                if (!char_is_alnum(name[i]) && !strchr("-_.", name[i]))
                        return false;

        /* Per-VM directories sit beside these in /run/microvm and /var/lib/microvm. */
        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (streq(name, reserved[i]))
                        return false;

        return true;
}
