/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A byte ring of fixed capacity that keeps the newest bytes: the console's memory of what the
 * guest wrote before anyone attached. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct RingBuffer {
        uint8_t *data;
        size_t capacity;
        size_t start;           /* offset of the oldest byte */
        size_t length;
} RingBuffer;

int ring_buffer_init(RingBuffer *rb, size_t capacity);
void ring_buffer_done(RingBuffer *rb);
/* Appends n bytes, dropping the oldest when full. */
void ring_buffer_append(RingBuffer *rb, const void *p, size_t n);
void ring_buffer_clear(RingBuffer *rb);
/* The contents, oldest first, in at most two pieces (the second may be empty). */
void ring_buffer_peek(const RingBuffer *rb, const uint8_t **ret_p1, size_t *ret_n1, const uint8_t **ret_p2,
                      size_t *ret_n2);
