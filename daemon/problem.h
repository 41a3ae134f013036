/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How the checks report what to fix: a sentence for the caller, and an error to return. */
#pragma once

#include "macro.h"

/* Sets *ret_message to the formatted sentence (NULL when out of memory) and returns error. */
_printf_(3, 4)
int problem_set(int error, char **ret_message, const char *format, ...);
