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
