/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest agent's reading of the host's byte stream on a virtio-serial port (agent-frame.h): fed
 * in pieces as the agent's port is, it accounts for every byte, always makes progress, and stops
 * only where its events say. */

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent-frame.h"
#include "fuzz.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        AgentFrame f = {};
        size_t chunk;

        if (size == 0)
                return 0;
        /* The first byte cuts the rest into reads of that size; bit 7 closes the host's end in
         * the middle. */
        chunk = MAX((size_t) (data[0] & 0x7f), (size_t) 1);
        bool close_midway = data[0] & 0x80;
        data++, size--;

        agent_frame_reset(&f);
        for (size_t off = 0; off < size;) {
                size_t n = MIN(chunk, size - off);
                const uint8_t *p = data + off;

                if (close_midway && off >= size / 2 && off < size / 2 + chunk)
                        agent_frame_sender_gone(&f);
                for (unsigned stuck = 0; n > 0;) {
                        AgentFrameEvent event;
                        size_t k = agent_frame_scan(&f, p, n, &event);

                        FUZZ_CHECK(k <= n);
                        FUZZ_CHECK(event >= 0 && event < _AGENT_FRAME_EVENT_MAX);
                        FUZZ_CHECK(f.phase >= 0 && f.phase < _AGENT_FRAME_PHASE_MAX);
                        /* Stopping early is what the events are for. */
                        FUZZ_CHECK(k == n || event != AGENT_FRAME_CONTINUE);
                        if (event == AGENT_FRAME_NEW_CONNECTION)
                                FUZZ_CHECK(k < n && p[k] == 0);
                        /* Progress, as the agent's port scans on where it stopped: a stop without a
                         * byte taken moves the state on, so the next scan takes some. */
                        stuck = k == 0 ? stuck + 1 : 0;
                        FUZZ_CHECK(stuck < 3);
                        p += k;
                        n -= k;
                        off += k;
                }
        }
        FUZZ_CHECK(f.header_size <= sizeof(f.header));
        return 0;
}
