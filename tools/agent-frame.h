/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a D-Bus connection's byte stream from the host stands: in the authentication lines, in a
 * message, or between messages. A virtio-serial port is one stream for every connection the host
 * makes on it, and when the host reconnects faster than the guest notices, the new connection's
 * bytes follow the old one's without a break; this finds the point where the new one starts. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum AgentFramePhase {
        AGENT_FRAME_NONE,       /* no connection: bytes are dropped until one starts ("\0AUTH ") */
        AGENT_FRAME_START,      /* the next byte is the NUL that opens a connection */
        AGENT_FRAME_AUTH,       /* the client's authentication lines, up to BEGIN */
        AGENT_FRAME_MESSAGE,    /* messages */
        _AGENT_FRAME_PHASE_MAX,
        _AGENT_FRAME_PHASE_INVALID = -EINVAL,
} AgentFramePhase;

typedef enum AgentFrameEvent {
        AGENT_FRAME_CONTINUE,           /* all bytes scanned */
        AGENT_FRAME_NEW_CONNECTION,     /* a connection starts at the byte where scanning stopped */
        AGENT_FRAME_GARBAGE,            /* the byte where scanning stopped cannot continue the connection */
        _AGENT_FRAME_EVENT_MAX,
        _AGENT_FRAME_EVENT_INVALID = -EINVAL,
} AgentFrameEvent;

typedef struct AgentFrame {
        AgentFramePhase phase;
        size_t line_length;             /* AUTH: bytes of the current line so far */
        char line[8];                   /* AUTH: its start, to recognise BEGIN */
        uint8_t header[16];             /* MESSAGE: the fixed header of the next message */
        size_t header_size;
        uint64_t remaining;             /* MESSAGE: bytes of the current message still to come */
        bool sender_gone;               /* MESSAGE: the host went in the middle of this message */
} AgentFrame;

/* Back to no connection. */
void agent_frame_reset(AgentFrame *f);

/* The guest saw the host end close. That proves little (the guest learns of connections and data
 * by separate queues, so a new connection's first bytes may come before the news that the old one
 * closed), but a close inside a message means the rest of it will never come: until the message
 * ends, a new connection's first bytes (NUL, "AUTH ") are looked for inside it too. */
void agent_frame_sender_gone(AgentFrame *f);

/* Scans n bytes from the host and returns how many of them belong to the current state: to the
 * connection, or (in AGENT_FRAME_NONE) to nobody. *ret says where it stopped: at the end; at the
 * NUL byte that opens a new connection (AGENT_FRAME_START; scanning on from there enters it); or
 * right after the bytes that broke the connection (AGENT_FRAME_NONE). */
size_t agent_frame_scan(AgentFrame *f, const uint8_t *p, size_t n, AgentFrameEvent *ret);
