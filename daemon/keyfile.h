/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The key-file face of a configuration: systemd-style [Section] and Key=value lines, parsed and
 * printed by the schema. Comments and blank lines stay attached to the key or section that
 * follows them, so a file the printer wrote prints back byte for byte. */
#pragma once

#include "config.h"

/* Parses text. filename is only used in messages, which name "filename:line" and the key.
 * Returns 0, or -EINVAL and the message. The result is validated. */
int keyfile_parse(const char *text, const char *filename, Config **ret, char **ret_error);
/* Reads and parses path: -errno with a message when it cannot be read. */
int keyfile_load(const char *path, Config **ret, char **ret_error);
/* The key-file text of c (g_free). Only the keys that are set are written. */
char *keyfile_print(const Config *c);

typedef enum KeyfileLineKind {
        KEYFILE_LINE_COMMENT,       /* blank, or starting with '#' or ';' */
        KEYFILE_LINE_SECTION,       /* [Name]: *ret_name */
        KEYFILE_LINE_ASSIGNMENT,    /* Key=value: *ret_name, *ret_value, white space trimmed */
        KEYFILE_LINE_BAD_HEADER,
        KEYFILE_LINE_BAD,
} KeyfileLineKind;

/* The syntax of one line, stripped of surrounding white space; splits it in place. Shared by the
 * VM key files and microvmd.conf, so that both read the same way. */
KeyfileLineKind keyfile_classify_line(char *stripped, char **ret_name, char **ret_value);
