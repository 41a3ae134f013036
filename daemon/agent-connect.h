/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's end of a guest agent channel: a Unix socket the hypervisor serves (QEMU's chardev
 * socket of a virtio-serial port, or Firecracker's and cloud-hypervisor's hybrid vsock socket),
 * and a peer-to-peer sd-bus client over it. */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

/* Connects to the Unix socket at path; the descriptor is non-blocking. -errno on failure. */
int agent_socket_connect(const char *path, int *ret_fd);

/* The hybrid vsock handshake of Firecracker and cloud-hypervisor, in steps for an event loop. */
/* Sends "CONNECT <port>\n" on a freshly connected socket, whose buffer takes it whole: -EAGAIN
 * otherwise, or -errno. */
int vsock_hybrid_send_connect(int fd, uint32_t port);
/* The answer so far: at most one line, read a byte at a time (what follows is the guest's). */
typedef struct VsockHybridAnswer {
        char line[64];
        size_t length;
} VsockHybridAnswer;
/* Reads what has arrived of the answer: 1 when it is a whole "OK <host port>" line, 0 when more is
 * to come (wait for POLLIN), -ECONNREFUSED when the hypervisor closed the connection (nothing listens
 * on that port in the guest), -EPROTO for any other answer, or -errno. */
int vsock_hybrid_read_answer(int fd, VsockHybridAnswer *answer);
/* Whether a line (without its '\n') is an "OK <host port>" answer: 0, else -EPROTO. */
int vsock_hybrid_parse_answer(const char *line);

/* The hybrid vsock handshake of Firecracker and cloud-hypervisor on a connected socket: sends
 * "CONNECT <port>\n" and reads the "OK <host port>\n" line, waiting at most timeout_usec. Returns 0,
 * -ECONNREFUSED when the hypervisor refused (nothing listens on that port in the guest), -EPROTO for
 * any other answer, -ETIMEDOUT, or -errno. Blocks: for the launcher and the tools, not microvmd. */
int vsock_hybrid_handshake(int fd, uint32_t port, uint64_t timeout_usec);

/* A bus client speaking to the agent on fd (taken, also on failure): no bus daemon, anonymous
 * authentication (the channel has no peer credentials), no descriptor passing. Not yet started:
 * attach it to an event loop or call sd_bus_start(). */
int agent_bus_new(int fd, sd_bus **ret);
