/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring-buffer.h"

int ring_buffer_init(RingBuffer *rb, size_t capacity) {
        *rb = (RingBuffer) { .data = malloc(capacity), .capacity = capacity };
        return rb->data ? 0 : -ENOMEM;
}

void ring_buffer_done(RingBuffer *rb) {
        free(rb->data);
        *rb = (RingBuffer) {};
}

void ring_buffer_clear(RingBuffer *rb) {
        rb->start = rb->length = 0;
}

void ring_buffer_append(RingBuffer *rb, const void *p, size_t n) {
        const uint8_t *b = p;

        if (rb->capacity == 0)
                return;
        /* Only the last capacity bytes can stay. */
        if (n >= rb->capacity) {
                memcpy(rb->data, b + n - rb->capacity, rb->capacity);
                rb->start = 0;
                rb->length = rb->capacity;
                return;
        }

        size_t end = (rb->start + rb->length) % rb->capacity;
        size_t first = rb->capacity - end < n ? rb->capacity - end : n;

        memcpy(rb->data + end, b, first);
        memcpy(rb->data, b + first, n - first);

        if (rb->length + n > rb->capacity) {
                rb->start = (rb->start + rb->length + n - rb->capacity) % rb->capacity;
                rb->length = rb->capacity;
        } else
                rb->length += n;
}

void ring_buffer_peek(const RingBuffer *rb, const uint8_t **ret_p1, size_t *ret_n1, const uint8_t **ret_p2,
                      size_t *ret_n2) {
        size_t first = rb->capacity - rb->start < rb->length ? rb->capacity - rb->start : rb->length;

        *ret_p1 = rb->data + rb->start;
        *ret_n1 = first;
        *ret_p2 = rb->data;
        *ret_n2 = rb->length - first;
}
