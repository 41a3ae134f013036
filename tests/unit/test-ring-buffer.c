/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The console's ring: it keeps the newest bytes in order, whatever the sizes of the appends and
 * wherever the wrap falls. */

#include <criterion/criterion.h>
#include <glib.h>

#include "ring-buffer.h"

static char *contents(const RingBuffer *rb) {
        const uint8_t *p1, *p2;
        size_t n1, n2;
        GString *s = g_string_new(NULL);

        ring_buffer_peek(rb, &p1, &n1, &p2, &n2);
        g_string_append_len(s, (const char *) p1, (gssize) n1);
        g_string_append_len(s, (const char *) p2, (gssize) n2);
        return g_string_free(s, FALSE);
}

Test(ring_buffer, keeps_the_newest) {
        RingBuffer rb;
        g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        cr_assert_eq(ring_buffer_init(&rb, 8), 0);
        a = contents(&rb);
        cr_expect_str_eq(a, "");
        ring_buffer_append(&rb, "abc", 3);
        b = contents(&rb);
        cr_expect_str_eq(b, "abc");
        ring_buffer_append(&rb, "defghij", 7);          /* wraps: 10 bytes into 8 */
        c = contents(&rb);
        cr_expect_str_eq(c, "cdefghij");
        ring_buffer_append(&rb, "0123456789xy", 12);    /* more than it holds at once */
        d = contents(&rb);
        cr_expect_str_eq(d, "456789xy");
        ring_buffer_clear(&rb);
        cr_expect_eq(rb.length, 0u);
        ring_buffer_done(&rb);
}

/* Every append size against a model of the last capacity bytes. */
Test(ring_buffer, model) {
        GString *all = g_string_new(NULL);
        RingBuffer rb;
        unsigned seed = 1;

        cr_assert_eq(ring_buffer_init(&rb, 37), 0);
        for (int i = 0; i < 2000; i++) {
                char chunk[64];
                size_t n = (seed = seed * 1103515245u + 12345u) % sizeof(chunk);
                g_autofree char *got = NULL;

                for (size_t k = 0; k < n; k++)
                        chunk[k] = (char) ('a' + (i + (int) k) % 26);
                ring_buffer_append(&rb, chunk, n);
                g_string_append_len(all, chunk, (gssize) n);

                got = contents(&rb);
                size_t keep = all->len < 37 ? all->len : 37;
                cr_assert_eq(strlen(got), keep, "step %d", i);
                cr_assert_eq(memcmp(got, all->str + all->len - keep, keep), 0, "step %d", i);
        }
        g_string_free(all, TRUE);
        ring_buffer_done(&rb);
}
