/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NULL-terminated string arrays, as execve() and sd-bus want them. */
#pragma once

#include <stddef.h>

#include "macro.h"

size_t strv_length(char *const *l);
char **strv_free(char **l);
/* Appends a copy of s (or the formatted string): 0 or -ENOMEM. *l may be NULL. */
int strv_extend(char ***l, const char *s);
/* Appends s itself, which l then owns, also on failure (then freed). */
int strv_consume(char ***l, char *s);
/* Appends copies of every element of other (NULL: none). */
int strv_extend_strv(char ***l, char *const *other);
_printf_(2, 3)
int strv_extendf(char ***l, const char *format, ...);
/* The elements joined by sep (free()), or NULL on allocation failure. */
char *strv_join(char *const *l, const char *sep);
/* Appends copies of the arguments up to a NULL. */
int strv_extend_many(char ***l, ...) __attribute__((sentinel));

/* A NULL-terminated array of the arguments, on the stack. */
#define STRV_MAKE(...) ((char *const[]) { __VA_ARGS__, NULL })
