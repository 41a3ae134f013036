/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one rule for VM names: what is safe as a unit instance name and as a file name. */
#pragma once

#include <stdbool.h>

#define MVM_VM_NAME_MAX 64

/* 1 to 64 bytes of ASCII letters, digits, '-', '_' and '.', starting with a letter, a digit
 * or '_', and not "vms" or "images" (directories beside the per-VM ones). That excludes "",
 * ".", "..", '/', control characters, a leading '-' and anything that is not plain ASCII, and
 * needs no escaping in "microvm@NAME.service". */
bool vm_name_is_valid(const char *name);

/* A sentence that says what a valid name looks like, for error messages. */
#define MVM_VM_NAME_RULE                                                                        \
        "a VM name is 1 to 64 characters of ASCII letters, digits, '-', '_' and '.', "          \
        "starts with a letter, a digit or '_', and is not 'vms' or 'images'"
