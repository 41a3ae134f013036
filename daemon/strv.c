/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* String array helpers. */

#include <stdarg.h>
#include <stdio.h>

#include "strv.h"

size_t strv_length(char *const *l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

char **strv_free(char **l) {
        for (size_t i = 0; l && l[i]; i++)
                free(l[i]);
        free(l);
        return NULL;
}

static int strv_push(char ***l, char *s) {
        size_t n = strv_length(*l);
        char **grown;

        grown = realloc(*l, (n + 2) * sizeof(char *));
        if (!grown) {
                free(s);
                return -ENOMEM;
        }
        grown[n] = s;
        grown[n + 1] = NULL;
        *l = grown;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        return strv_push(l, copy);
}

int strv_consume(char ***l, char *s) {
        return s ? strv_push(l, s) : -ENOMEM;
}

int strv_extend_strv(char ***l, char *const *other) {
        for (size_t i = 0; other && other[i]; i++) {
                int r = strv_extend(l, other[i]);

                if (r < 0)
                        return r;
        }
        return 0;
}

int strv_extendf(char ***l, const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_push(l, s);
}

char *strv_join(char *const *l, const char *sep) {
        size_t n = 1, k = strlen(sep);
        char *s, *p;

        for (size_t i = 0; l && l[i]; i++)
                n += strlen(l[i]) + k;
        s = p = malloc(n);
        if (!s)
                return NULL;
        *p = '\0';
        for (size_t i = 0; l && l[i]; i++) {
                if (i > 0)
                        p = stpcpy(p, sep);
                p = stpcpy(p, l[i]);
        }
        return s;
}

int strv_extend_many(char ***l, ...) {
        va_list ap;
        int r = 0;

        va_start(ap, l);
        for (const char *s; r >= 0 && (s = va_arg(ap, const char *)); )
                r = strv_extend(l, s);
        va_end(ap);
        return r;
}
