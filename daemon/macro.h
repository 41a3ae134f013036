/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers every file uses: scoped cleanup, ownership transfer, array sizes. */
#pragma once

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _fallthrough_ __attribute__((fallthrough))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

/* Defines fnp(T *p) for a destructor T fn(T) that takes NULL and returns NULL. */
#define DEFINE_CLEANUP(T, fn)                   \
        static inline void fn##p(T *p) {        \
                if (*p)                         \
                        *p = fn(*p);            \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
        *fd = -EBADF;
}
#define _cleanup_close_ _cleanup_(closep)

static inline void strv_freep(char ***p) {
        if (*p)
                for (char **s = *p; *s; s++)
                        free(*s);
        free(*p);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -EBADF; _t; })

#define ELEMENTSOF(a)                                                                   \
        (__builtin_choose_expr(                                                         \
                !__builtin_types_compatible_p(__typeof__(a), __typeof__(&*(a))),        \
                sizeof(a) / sizeof((a)[0]),                                             \
                (void) 0))

static inline int streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline int streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

/* errno as a negative return value, never 0 even if errno was not set. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#include <dirent.h>
static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* free() that returns NULL, to reset a field in one statement. */
static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* Whether x equals one of the listed values. */
#define IN_SET(x, ...)                                                                  \
        ({                                                                              \
                const __typeof__(x) _values[] = { __VA_ARGS__ };                        \
                bool _found = false;                                                    \
                for (size_t _i = 0; _i < sizeof(_values) / sizeof(_values[0]); _i++)   \
                        if (_values[_i] == (x))                                         \
                                _found = true;                                          \
                _found;                                                                 \
        })
