/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Column-aligned text tables, the way systemd's tools print them. */

#include <glib.h>

#include "table.h"

struct Table {
        size_t n_columns;
        char **cells;           /* owned; row by row, the header first */
        size_t n_cells;
};

Table *table_new(size_t n_columns) {
        Table *t = g_new0(Table, 1);

        assert(n_columns > 0);
        t->n_columns = n_columns;
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;

        for (size_t i = 0; i < t->n_cells; i++)
                g_free(t->cells[i]);
        g_free(t->cells);
        g_free(t);
        return NULL;
}

void table_add_cell(Table *t, const char *cell) {
        t->cells = g_renew(char *, t->cells, t->n_cells + 1);
        t->cells[t->n_cells++] = g_strdup(cell ?: "-");
}

/* Width in characters, not bytes, so that UTF-8 text lines up. */
static size_t cell_width(const char *cell) {
        return (size_t) g_utf8_strlen(cell, -1);
}

void table_print(const Table *t, FILE *f, bool header) {
        size_t n_rows = t->n_cells / t->n_columns;
        g_autofree size_t *widths = g_new0(size_t, t->n_columns);

        for (size_t i = 0; i < n_rows * t->n_columns; i++)
                widths[i % t->n_columns] = MAX(widths[i % t->n_columns], cell_width(t->cells[i]));

        for (size_t row = header ? 0 : 1; row < n_rows; row++)
                for (size_t col = 0; col < t->n_columns; col++) {
                        const char *cell = t->cells[row * t->n_columns + col];

                        if (col + 1 == t->n_columns) {
                                fprintf(f, "%s\n", cell);
                                continue;
                        }
                        fprintf(f, "%s%*s ", cell, (int) (widths[col] - cell_width(cell)), "");
                }
}
