/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest agent, from microvmd's side: one peer-to-peer bus connection per running VM on the
 * hypervisor's agent socket, attached to the event loop; nothing here blocks. */

#include <inttypes.h>
#include <stdio.h>

#include "agent-connect.h"
#include "agent-protocol.h"
#include "backend.h"
#include "bus-errors.h"
#include "bus-names.h"
#include "fileio.h"
#include "log.h"
#include "manager.h"
#include "time-util.h"
#include "vm-agent.h"
#include "vm-files.h"

/* How long one Ping may go unanswered before it is sent again: a guest still booting answers when
 * its agent starts, so the wait itself is no error. */
#define AGENT_PING_TIMEOUT_USEC (30 * UINT64_C(1000000))
/* After the connection broke (the hypervisor restarted its socket, the guest's agent restarted),
 * or the guest refused the hybrid vsock (its agent does not listen yet), how soon to connect again. */
#define AGENT_RECONNECT_USEC (500 * UINT64_C(1000))
/* How long the hypervisor may take to answer CONNECT: it answers at once, or closes. */
#define AGENT_HANDSHAKE_TIMEOUT_USEC (5 * UINT64_C(1000000))

static void vm_agent_emit(VM *vm) {
        vm_emit_properties_changed(vm, (const char *[]) { "AgentConnected", "Ready", "ReadyAt", NULL });
}

static int vm_ready_file_path(const VM *vm, char **ret) {
        _cleanup_free_ char *dir = NULL;

        if (vm_runtime_dir(vm->name, &dir) < 0 || asprintf(ret, "%s/" MVM_READY_FILE, dir) < 0)
                return -ENOMEM;
        return 0;
}

/* For the unit's stop, which asks the agent to shut the guest down only where one has answered. */
static void vm_agent_write_ready_file(const VM *vm) {
        _cleanup_free_ char *path = NULL, *line = NULL;
        int r;

        if (vm_ready_file_path(vm, &path) < 0 || access(path, F_OK) >= 0 ||
            asprintf(&line, "%" PRIu64 "\n", vm->ready_at) < 0)
                return;
        r = write_file_atomic(path, line, strlen(line), 0644);
        if (r < 0)
                log_warning_errno(r, "Cannot record that VM %s is ready in %s, ignoring: %m", vm->name, path);
}

static void vm_agent_set_connected(VM *vm, bool connected) {
        bool became_ready = connected && vm->ready_at == 0;
        int r;

        if (vm->agent_connected == connected && !became_ready)
                return;
        vm->agent_connected = connected;
        if (became_ready)
                vm->ready_at = now_usec(CLOCK_REALTIME);
        vm_agent_emit(vm);
        if (!became_ready || !vm->manager || !vm->manager->bus)
                return;

        log_info("VM %s is ready: its guest agent answered.", vm->name);
        vm_agent_write_ready_file(vm);
        r = sd_bus_emit_signal(vm->manager->bus, vm->object_path, MVM_VM_INTERFACE, "Ready", "t", vm->ready_at);
        if (r < 0)
                log_warning_errno(r, "Failed to announce that VM %s is ready, ignoring: %m", vm->name);
}

static void vm_agent_handshake_done(VM *vm) {
        vm->agent_handshake = sd_event_source_disable_unref(vm->agent_handshake);
        vm->agent_handshake_timeout = sd_event_source_disable_unref(vm->agent_handshake_timeout);
        closep(&vm->agent_handshake_fd);
        vm->agent_handshake_fd = -EBADF;
        vm->agent_answer = (VsockHybridAnswer) {};
}

void vm_agent_disconnect(VM *vm) {
        vm_agent_handshake_done(vm);
        vm->agent_ping_slot = sd_bus_slot_unref(vm->agent_ping_slot);
        vm->agent_retry = sd_event_source_disable_unref(vm->agent_retry);
        /* Never flushed: a flush blocks, and waits forever on a guest with no agent. */
        vm->agent_bus = sd_bus_close_unref(vm->agent_bus);
}

static int vm_agent_connect(VM *vm);

static int agent_retry_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        VM *vm = userdata;

        vm->agent_retry = sd_event_source_disable_unref(vm->agent_retry);
        if (vm->state == VM_RUNNING && !vm->agent_bus && vm->agent_handshake_fd < 0)
                (void) vm_agent_connect(vm);
        return 0;
}

/* Gone: a new connection in a moment, while the VM still runs. */
static void vm_agent_lost(VM *vm) {
        int r;

        vm_agent_disconnect(vm);
        vm_agent_set_connected(vm, false);
        if (vm->state != VM_RUNNING || !vm->manager->event)
                return;
        r = sd_event_add_time_relative(vm->manager->event, &vm->agent_retry, CLOCK_MONOTONIC, AGENT_RECONNECT_USEC, 0,
                                       agent_retry_handler, vm);
        if (r < 0)
                log_warning_errno(r, "Cannot schedule reconnecting to the agent of VM %s: %m", vm->name);
}

static int agent_disconnected_handler(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        VM *vm = userdata;

        log_debug("The agent connection of VM %s closed.", vm->name);
        vm_agent_lost(vm);
        return 0;
}

static int vm_agent_ping(VM *vm);

static int agent_ping_handler(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        VM *vm = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        vm->agent_ping_slot = sd_bus_slot_unref(vm->agent_ping_slot);
        if (!e) {
                vm_agent_set_connected(vm, true);
                return 0;
        }
        /* No answer yet: the guest is still booting, or has no agent. Ask again. */
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT) || sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY)) {
                (void) vm_agent_ping(vm);
                return 0;
        }
        log_debug("The agent of VM %s answered Ping with %s: %s", vm->name, e->name, strempty(e->message));
        vm_agent_lost(vm);
        return 0;
}

static int vm_agent_ping(VM *vm) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(vm->agent_bus, &m, NULL, MVM_AGENT_PATH, MVM_AGENT_INTERFACE, "Ping");
        if (r >= 0)
                r = sd_bus_call_async(vm->agent_bus, &vm->agent_ping_slot, m, agent_ping_handler, vm,
                                      AGENT_PING_TIMEOUT_USEC);
        if (r < 0)
                log_debug_errno(r, "Cannot ping the agent of VM %s: %m", vm->name);
        return r;
}

/* With WaitReady=yes the unit's start saw the agent answer first: that is when the VM became ready;
 * after a restart of microvmd, the file it wrote itself says when. */
static void vm_agent_read_ready_file(VM *vm) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        guint64 usec;

        if (vm->ready_at > 0 || vm_ready_file_path(vm, &path) < 0)
                return;
        if (read_file(path, &text, NULL) < 0)
                return;
        if (g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, UINT64_MAX, &usec, NULL))
                vm->ready_at = usec;
}

/* The bus over a connected channel (fd taken). */
static int vm_agent_open_bus(VM *vm, int fd) {
        int r;

        r = agent_bus_new(fd, &vm->agent_bus);
        if (r >= 0)
                r = sd_bus_match_signal_async(vm->agent_bus, NULL, NULL, "/org/freedesktop/DBus/Local",
                                              "org.freedesktop.DBus.Local", "Disconnected",
                                              agent_disconnected_handler, NULL, vm);
        /* Not flushed when the loop exits either (see vm_agent_disconnect()). */
        if (r >= 0)
                r = sd_bus_set_close_on_exit(vm->agent_bus, false);
        if (r >= 0)
                r = sd_bus_attach_event(vm->agent_bus, vm->manager->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_start(vm->agent_bus);
        if (r >= 0)
                r = vm_agent_ping(vm);
        if (r < 0) {
                log_debug_errno(r, "Cannot talk to the agent of VM %s, trying again: %m", vm->name);
                vm_agent_lost(vm);
                return r;
        }
        log_debug("Connected to the agent channel of VM %s.", vm->name);
        return 0;
}

static int agent_handshake_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        VM *vm = userdata;
        int r;

        r = vsock_hybrid_read_answer(fd, &vm->agent_answer);
        if (r == 0)
                return 0;
        if (r < 0) {
                /* Refused: the guest's agent does not listen yet, or the guest has none. */
                if (r == -ECONNREFUSED)
                        log_debug("Nothing listens on vsock port %u in VM %s yet.", MVM_AGENT_VSOCK_PORT, vm->name);
                else
                        log_debug_errno(r, "The hybrid vsock of VM %s answered CONNECT with '%s': %m", vm->name,
                                        vm->agent_answer.line);
                vm_agent_lost(vm);
                return 0;
        }
        fd = TAKE_FD(vm->agent_handshake_fd);
        vm_agent_handshake_done(vm);
        (void) vm_agent_open_bus(vm, fd);
        return 0;
}

static int agent_handshake_timeout_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        VM *vm = userdata;

        log_warning("The hybrid vsock of VM %s did not answer CONNECT within %" PRIu64 " s, trying again.", vm->name,
                    AGENT_HANDSHAKE_TIMEOUT_USEC / 1000000);
        vm_agent_lost(vm);
        return 0;
}

/* Firecracker and cloud-hypervisor: "CONNECT <port>" on their vsock socket, and the answer on the
 * loop; the bus starts once the hypervisor has said OK. */
static int vm_agent_start_handshake(VM *vm, int fd) {
        int r;

        vm->agent_handshake_fd = fd;
        r = vsock_hybrid_send_connect(fd, MVM_AGENT_VSOCK_PORT);
        if (r >= 0)
                r = sd_event_add_io(vm->manager->event, &vm->agent_handshake, fd, EPOLLIN, agent_handshake_handler,
                                    vm);
        if (r >= 0)
                r = sd_event_add_time_relative(vm->manager->event, &vm->agent_handshake_timeout, CLOCK_MONOTONIC,
                                               AGENT_HANDSHAKE_TIMEOUT_USEC, 0, agent_handshake_timeout_handler, vm);
        return r;
}

static int vm_agent_connect(VM *vm) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        const Backend *backend = vm_backend(vm);
        bool over_vsock = backend && backend->agent_over_vsock;
        int fd = -EBADF, r;

        r = vm_runtime_dir(vm->name, &dir);
        if (r < 0 || asprintf(&path, "%s/%s", dir, over_vsock ? MVM_VSOCK_SOCKET : MVM_AGENT_SOCKET) < 0)
                return log_oom();

        r = agent_socket_connect(path, &fd);
        if (r >= 0 && over_vsock)
                r = vm_agent_start_handshake(vm, fd);
        else if (r >= 0)
                r = vm_agent_open_bus(vm, fd);
        if (r < 0) {
                log_debug_errno(r, "Cannot connect to the agent of VM %s at %s, trying again: %m", vm->name, path);
                vm_agent_lost(vm);
                return r;
        }
        return 0;
}

void vm_agent_follow_state(VM *vm) {
        if (!vm->manager || !vm->manager->event)
                return;

        if (vm->state == VM_RUNNING) {
                vm_agent_read_ready_file(vm);
                if (!vm->agent_bus && !vm->agent_retry && vm->agent_handshake_fd < 0)
                        (void) vm_agent_connect(vm);
                if (vm->ready_at > 0)
                        vm_agent_emit(vm);
                return;
        }
        if (vm_state_is_active(vm->state) > 0)
                return;

        /* Stopped: the next start is ready anew. */
        vm_agent_disconnect(vm);
        if (vm->agent_connected || vm->ready_at > 0) {
                vm->agent_connected = false;
                vm->ready_at = 0;
                vm_agent_emit(vm);
        }
}

/* sd_bus_message_copy() of the rest of src into dst, but an array of a fixed-size type (Exec's
 * stdin, stdout and stderr) in one piece: copied element by element, 4 MiB of output took microvmd
 * over 100 ms. */
static int message_copy_rest(sd_bus_message *dst, sd_bus_message *src) {
        for (;;) {
                const char *contents;
                char type;
                int r;

                r = sd_bus_message_peek_type(src, &type, &contents);
                if (r <= 0)
                        return r;
                if (type == SD_BUS_TYPE_ARRAY && strlen(contents) == 1 && strchr("ybnqiuxtd", contents[0])) {
                        const void *p;
                        size_t size;

                        r = sd_bus_message_read_array(src, contents[0], &p, &size);
                        if (r >= 0)
                                r = sd_bus_message_append_array(dst, contents[0], p, size);
                } else
                        r = sd_bus_message_copy(dst, src, /* all= */ false);
                if (r < 0)
                        return r;
        }
}

typedef struct AgentCall {
        sd_bus_message *request;        /* the caller's, answered when the agent is */
        char *vm_name;
        char *method;
} AgentCall;

static void agent_call_free(void *p) {
        AgentCall *c = p;

        sd_bus_message_unref(c->request);
        free(c->vm_name);
        free(c->method);
        free(c);
}

static int agent_call_handler(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        AgentCall *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        int r;

        if (e) {
                /* The agent's own errors are named already; the channel's are ours to name. */
                if (strncmp(e->name, MVM_AGENT_INTERFACE ".Error.", strlen(MVM_AGENT_INTERFACE ".Error.")) == 0)
                        r = sd_bus_reply_method_error(c->request, e);
                else if (sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT) || sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY))
                        r = sd_bus_reply_method_errorf(c->request, MVM_ERROR_AGENT_UNAVAILABLE,
                                                       "The guest agent of VM '%s' did not answer %s in time.",
                                                       c->vm_name, c->method);
                else
                        r = sd_bus_reply_method_errorf(c->request, MVM_ERROR_AGENT_UNAVAILABLE,
                                                       "The guest agent of VM '%s' failed %s: %s", c->vm_name,
                                                       c->method, strempty(e->message));
        } else {
                r = sd_bus_message_new_method_return(c->request, &reply);
                if (r >= 0)
                        r = message_copy_rest(reply, m);
                if (r >= 0)
                        r = sd_bus_send(NULL, reply, NULL);
        }
        if (r < 0)
                log_warning_errno(r, "Cannot answer %s for VM %s, ignoring: %m", c->method, c->vm_name);
        return 0;
}

int vm_agent_forward(VM *vm, sd_bus_message *msg, bool by_name, const char *method, uint64_t timeout_usec,
                     sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        AgentCall *c;
        int r;

        if (vm->state != VM_RUNNING)
                return sd_bus_error_setf(error, MVM_ERROR_INVALID_STATE, "VM '%s' is not running (it is %s).",
                                         vm->name, vm_state_to_string(vm->state));
        if (!vm->agent_bus || !vm->agent_connected)
                return sd_bus_error_setf(error, MVM_ERROR_AGENT_UNAVAILABLE,
                                         "The guest agent of VM '%s' is not connected%s: is microvm-agent running "
                                         "in the guest?", vm->name, vm->ready_at ? " any more" : " (yet)");

        r = sd_bus_message_new_method_call(vm->agent_bus, &call, NULL, MVM_AGENT_PATH, MVM_AGENT_INTERFACE, method);
        if (r < 0)
                return r;
        /* The caller's arguments as they are: the signatures match the agent's by design. */
        r = sd_bus_message_rewind(msg, true);
        if (r >= 0 && by_name)
                r = sd_bus_message_skip(msg, "s");
        if (r >= 0)
                r = message_copy_rest(call, msg);
        if (r < 0)
                return r;

        c = calloc(1, sizeof(AgentCall));
        if (!c)
                return -ENOMEM;
        c->request = sd_bus_message_ref(msg);
        c->vm_name = strdup(vm->name);
        c->method = strdup(method);
        if (!c->vm_name || !c->method) {
                agent_call_free(c);
                return -ENOMEM;
        }

        r = sd_bus_call_async(vm->agent_bus, &slot, call, agent_call_handler, c, timeout_usec);
        if (r < 0) {
                agent_call_free(c);
                return r;
        }
        /* The call lives as long as the connection: a VM that stops fails it with "disconnected". */
        r = sd_bus_slot_set_destroy_callback(slot, agent_call_free);
        if (r >= 0)
                r = sd_bus_slot_set_floating(slot, true);
        if (r < 0)
                return r;
        return 1;
}
