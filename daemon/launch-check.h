/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a start needs beyond a valid key file, checked the same way by microvmd (to refuse a
 * StartVM before any unit instance exists) and by the launcher (for systemctl start). */
#pragma once

#include "config.h"

/* A backend for Hypervisor=, and a readable kernel, initrd and every drive. Returns 0, or
 * -errno with the bus error name (static) and a message that says what to fix (free()). */
int launch_check(const Config *c, const char **ret_error_name, char **ret_message);
