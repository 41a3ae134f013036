/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Relays a VM's serial console between its stream socket and our standard input and output, the
 * way machinectl's pty forwarder does: a terminal on standard input goes into raw mode for the
 * session and is always put back, and ^] three times within a second ends the session. */
#pragma once

#include <stdint.h>

typedef enum ConsoleRelayEnd {
        CONSOLE_RELAY_ESCAPED,          /* the escape was typed */
        CONSOLE_RELAY_CLOSED,           /* the console closed (the VM stopped, or microvmd let go) */
        CONSOLE_RELAY_INPUT_DONE,       /* standard input ended and then the console was quiet for
                                         * idle_usec, or the terminal hung up */
        CONSOLE_RELAY_OUTPUT_CLOSED,    /* nobody reads our standard output any more */
        CONSOLE_RELAY_SIGNAL,           /* SIGINT, SIGTERM or SIGHUP came */
} ConsoleRelayEnd;

typedef struct ConsoleRelayResult {
        ConsoleRelayEnd end;
        int signo;                      /* CONSOLE_RELAY_SIGNAL: which */
} ConsoleRelayResult;

/* Relays between fd, the console's socket (borrowed; it is made non-blocking), and standard input
 * and output until the session ends. When standard input is a terminal it is in raw mode (output
 * processing kept) meanwhile, and ^]^]^] ends the session; when it is not, its bytes go to the
 * guest as they are, and after its end the output goes on until the console is quiet for
 * idle_usec. SIGINT, SIGTERM and SIGHUP end the session too: they are blocked meanwhile and the
 * caller decides what to do about the one that came. Standard input and output, their flags and
 * the terminal, and the signal mask are as they were when this returns, whatever happened.
 * Returns 0 with *ret filled in, or -errno when reading or writing failed. */
int console_relay_run(int fd, uint64_t idle_usec, ConsoleRelayResult *ret);
