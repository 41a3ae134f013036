/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A table of text for people: a header line and rows, columns padded to their widest cell. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "macro.h"

typedef struct Table Table;

/* The first row added is the header. */
Table *table_new(size_t n_columns);
Table *table_free(Table *t);
DEFINE_CLEANUP(Table *, table_free);

/* Appends a cell (copied; NULL prints as "-"); rows fill left to right. */
void table_add_cell(Table *t, const char *cell);
/* Prints the header (if header is true) and the rows; the last column is not padded. */
void table_print(const Table *t, FILE *f, bool header);
