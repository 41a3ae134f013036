/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How microvmctl prints what microvmd sends: properties as Key=value lines, lists as tables, and
 * either as JSON with the values' natural types; and the pieces of a status view: points in time
 * and the tail of a VM's serial log. Everything goes to stdout. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum JsonMode {
        JSON_OFF,
        JSON_SHORT,
        JSON_PRETTY,
} JsonMode;

typedef struct OutputFormat {
        JsonMode json;
        bool legend;            /* tables: the header line and the count below */
} OutputFormat;

typedef struct Column {
        const char *header;                     /* NULL ends a list of columns */
        const char *key;                        /* in each row's a{sv} */
        char *(*format)(GVariant *value);       /* NULL: output_value_text() */
        const char *missing;                    /* for rows without the key; NULL: "-" */
} Column;

/* A value the way systemctl show prints it: booleans yes/no, strings bare, numbers in decimal.
 * g_free(). */
char *output_value_text(GVariant *v);

/* An a{sv} as one JSON object, or as Key=value lines; a repeated section's list (aa{sv}) gives one
 * line per group under the section's name, "Drive=Path=/a ReadOnly=no Root=no".
 * Returns 0 or -ENOMEM. */
int output_properties(GVariant *dict, const OutputFormat *f);

/* Rows (aa{sv}) as a JSON array, or as a table of the columns; with the legend, "N <nouns>
 * listed." below it, or "No <nouns>." for none. noun names one row: "VM", "VMs".
 * Returns 0 or -ENOMEM. */
int output_rows(GVariant *rows, const Column *columns, const OutputFormat *f, const char *noun,
                const char *nouns);

/* A point in time, in µs since the epoch, the way systemctl status shows it: "Mon 2025-11-24
 * 11:08:03 UTC; 5min 3s ago" (local time; the age is from now_usec). g_free(). */
char *output_timestamp_relative(uint64_t usec, uint64_t now_usec);

/* The last n_lines lines of the text file at path (of its last 64 KiB at most), without line
 * ends, with invalid UTF-8 and control characters replaced so that whatever a guest wrote cannot
 * drive the terminal. Returns 0 and a NULL-terminated list (g_strfreev()), or -errno. */
int output_read_tail(const char *path, size_t n_lines, char ***ret);
