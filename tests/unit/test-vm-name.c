/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM name rule: what may name a unit instance and a key file. */

#include <criterion/criterion.h>
#include <string.h>

#include "test-util.h"
#include "vm-name.h"

static const struct {
        const char *name;       /* shown in messages */
        const char *value;
        bool ok;
} cases[] = {
        { "web", "web", true },
        { "one letter", "a", true },
        { "leading underscore", "_x", true },
        { "dash and digit", "db-1", true },
        { "dot inside", "a.b", true },
        { "digit first", "1vm", true },
        { "upper case", "Web", true },
        { "trailing dot", "a.", true },
        { "empty", "", false },
        { "dot", ".", false },
        { "dot dot", "..", false },
        { "parent path", "../x", false },
        { "slash", "a/b", false },
        { "leading slash", "/a", false },
        { "leading dash", "-x", false },
        { "hidden", ".hidden", false },
        { "newline", "\n", false },
        { "trailing newline", "web\n", false },
        { "tab", "a\tb", false },
        { "space", "a b", false },
        { "DEL", "a\x7f", false },
        { "non-UTF-8", "\xff", false },
        { "UTF-8", "caf\xc3\xa9", false },
        { "at", "a@b", false },
        { "backslash", "a\\b", false },
        { "unit name", "microvm@web.service", false },
        { "glob", "web*", false },
        { "colon", "a:b", false },
        /* Directories beside the per-VM ones in /run/microvm and /var/lib/microvm. */
        { "reserved vms", "vms", false },
        { "reserved images", "images", false },
        { "vms as a prefix", "vms1", true },
        { "images as a prefix", "images-old", true },
        { "Images in another case", "Images", true },
};

Test(vm_name, table) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                cr_expect_eq(vm_name_is_valid(cases[i].value), cases[i].ok, "%s: expected %s", cases[i].name,
                             cases[i].ok ? "valid" : "invalid");
}

Test(vm_name, null) {
        cr_expect_not(vm_name_is_valid(NULL), "NULL is no name");
}

/* Every length from 0 to past the limit: valid exactly from 1 to MVM_VM_NAME_MAX. */
Test(vm_name, lengths) {
        char buf[301];

        for (size_t n = 0; n < sizeof(buf); n++) {
                memset(buf, 'a', n);
                buf[n] = '\0';
                cr_expect_eq(vm_name_is_valid(buf), n >= 1 && n <= MVM_VM_NAME_MAX, "%zu bytes", n);
        }
        cr_expect_eq(MVM_VM_NAME_MAX, 64, "the documented limit is 64 bytes");
}

/* A name one byte over the limit is refused even when the extra byte would be valid. */
Test(vm_name, limit_is_bytes) {
        char name[MVM_VM_NAME_MAX + 2];

        memset(name, 'x', MVM_VM_NAME_MAX);
        name[MVM_VM_NAME_MAX] = '\0';
        cr_expect(vm_name_is_valid(name), "64 bytes");
        name[MVM_VM_NAME_MAX] = '1';
        name[MVM_VM_NAME_MAX + 1] = '\0';
        cr_expect_not(vm_name_is_valid(name), "65 bytes");
}

/* Each byte on its own, in the middle of a name and first. */
Test(vm_name, every_byte) {
        for (int c = 1; c < 256; c++) {
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                char middle[] = { 'a', (char) c, 'b', '\0' }, first[] = { (char) c, 'b', '\0' };

                cr_expect_eq(vm_name_is_valid(middle), alnum || c == '-' || c == '_' || c == '.',
                             "byte 0x%02x inside a name", c);
                cr_expect_eq(vm_name_is_valid(first), alnum || c == '_', "byte 0x%02x first", c);
        }
}
