/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Framing of a D-Bus stream as the client sends it: a NUL byte, SASL lines ending with "BEGIN\r\n",
 * then messages, each a 16-byte fixed header (endianness, type, flags, version 1, body length,
 * serial, header fields length) followed by the header fields padded to 8 bytes and the body.
 * Only the lengths are read, to skip to the next message; sd-bus parses the messages. A NUL byte
 * where a message or a line could start can only be a new connection's first byte; elsewhere (no
 * connection, or a message whose sender went) a new connection shows as NUL and "AUTH " in one
 * piece (a client's first write starts a virtio buffer of its own, and one read never spans two). */

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "agent-frame.h"

/* Longer SASL lines or messages than sd-bus takes are garbage. */
#define FRAME_LINE_MAX 16384
#define FRAME_MESSAGE_MAX (UINT64_C(128) * 1024 * 1024)

/* What every client sends first: a NUL byte, then its first SASL command. */
static const uint8_t connection_start[] = { 0, 'A', 'U', 'T', 'H', ' ' };

void agent_frame_reset(AgentFrame *f) {
        *f = (AgentFrame) { .phase = AGENT_FRAME_NONE };
}

static uint32_t header_u32(const uint8_t *h, size_t offset) {
        const uint8_t *b = h + offset;

        if (h[0] == 'l')
                return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
        return (uint32_t) b[3] | (uint32_t) b[2] << 8 | (uint32_t) b[1] << 16 | (uint32_t) b[0] << 24;
}

/* The length of the message after its fixed header; false if the header is not one. */
static bool header_rest(const uint8_t *h, uint64_t *ret) {
        uint64_t fields, body, total;

        if ((h[0] != 'l' && h[0] != 'B') || h[1] < 1 || h[1] > 4 || h[3] != 1)
                return false;
        body = header_u32(h, 4);
        fields = header_u32(h, 12);
        total = 16 + ((fields + 7) & ~UINT64_C(7)) + body;
        if (total > FRAME_MESSAGE_MAX)
                return false;
        *ret = total - 16;
        return true;
}

void agent_frame_sender_gone(AgentFrame *f) {
        if (f->phase == AGENT_FRAME_MESSAGE && (f->remaining > 0 || f->header_size > 0))
                f->sender_gone = true;
}

static void frame_start(AgentFrame *f, AgentFramePhase phase) {
        agent_frame_reset(f);
        f->phase = phase;
}

size_t agent_frame_scan(AgentFrame *f, const uint8_t *p, size_t n, AgentFrameEvent *ret) {
        size_t i = 0;

        while (i < n) {
                switch (f->phase) {
                case AGENT_FRAME_NONE: {
                        /* Not any NUL: messages of a connection that is gone are full of them. */
                        const uint8_t *s = memmem(p + i, n - i, connection_start, sizeof(connection_start));

                        if (!s) {
                                *ret = AGENT_FRAME_CONTINUE;
                                return n;
                        }
                        f->phase = AGENT_FRAME_START;
                        *ret = AGENT_FRAME_NEW_CONNECTION;
                        return (size_t) (s - p);
                }

                case AGENT_FRAME_START:
                        assert(p[i] == 0);
                        frame_start(f, AGENT_FRAME_AUTH);
                        i++;
                        break;

                case AGENT_FRAME_AUTH:
                        if (p[i] == 0) {
                                /* SASL lines are text: a NUL is the next connection. */
                                f->phase = AGENT_FRAME_START;
                                *ret = AGENT_FRAME_NEW_CONNECTION;
                                return i;
                        }
                        if (p[i] == '\n') {
                                bool begin = f->line_length == 6 && memcmp(f->line, "BEGIN\r", 6) == 0;

                                f->line_length = 0;
                                i++;
                                if (begin)
                                        frame_start(f, AGENT_FRAME_MESSAGE);
                                break;
                        }
                        if (f->line_length >= FRAME_LINE_MAX) {
                                agent_frame_reset(f);
                                *ret = AGENT_FRAME_GARBAGE;
                                return i;
                        }
                        if (f->line_length < sizeof(f->line))
                                f->line[f->line_length] = (char) p[i];
                        f->line_length++;
                        i++;
                        break;

                case AGENT_FRAME_MESSAGE:
                        if (f->sender_gone) {
                                const uint8_t *s = memmem(p + i, n - i, connection_start, sizeof(connection_start));

                                if (s) {
                                        f->phase = AGENT_FRAME_START;
                                        *ret = AGENT_FRAME_NEW_CONNECTION;
                                        return (size_t) (s - p);
                                }
                        }
                        if (f->remaining > 0) {
                                size_t k = n - i < f->remaining ? n - i : (size_t) f->remaining;

                                f->remaining -= k;
                                i += k;
                                if (f->remaining == 0)
                                        f->sender_gone = false;
                                break;
                        }
                        if (f->header_size == 0 && p[i] == 0) {
                                f->phase = AGENT_FRAME_START;
                                *ret = AGENT_FRAME_NEW_CONNECTION;
                                return i;
                        }
                        if (f->header_size == 0 && p[i] != 'l' && p[i] != 'B') {
                                agent_frame_reset(f);
                                *ret = AGENT_FRAME_GARBAGE;
                                return i;
                        }
                        f->header[f->header_size++] = p[i];
                        if (f->header_size == sizeof(f->header)) {
                                if (!header_rest(f->header, &f->remaining)) {
                                        agent_frame_reset(f);
                                        *ret = AGENT_FRAME_GARBAGE;
                                        return i + 1;
                                }
                                f->header_size = 0;
                        }
                        i++;
                        break;

                default:
                        assert(false);
                }
        }
        *ret = AGENT_FRAME_CONTINUE;
        return n;
}
