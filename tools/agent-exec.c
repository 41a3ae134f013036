/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exec of org.microvm.Agent1. The command runs in a new session (so its process group can be
 * killed whole), and its stdin and output are non-blocking pipes served by the loop. posix_spawnp()
 * starts it: it shares the agent's memory until the exec instead of copying it, which halves the
 * cost of a short command under TCG, and it returns the exec's errno when argv[0] cannot run. */

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

#include "agent-exec.h"
#include "agent-protocol.h"
#include "log.h"

/* How long output is still collected after the command has exited, from what it left running
 * in the background with its stdout or stderr. */
#define EXEC_LINGER_USEC (100 * 1000)

/* What a command finds in its environment unless the call's env sets it. */
static const char *const default_environment[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/root",
        "LANG=C.UTF-8",
};

typedef enum ExecFailure {
        EXEC_FAILURE_NONE,
        EXEC_FAILURE_TIMEOUT,
        EXEC_FAILURE_OUTPUT_TOO_LARGE,
        _EXEC_FAILURE_MAX,
        _EXEC_FAILURE_INVALID = -EINVAL,
} ExecFailure;

/* One of the command's output streams. */
typedef struct ExecOutput {
        int fd;
        sd_event_source *source;
        uint8_t *data;
        size_t size, allocated;
} ExecOutput;

struct AgentExec {
        Agent *agent;                   /* borrowed */
        sd_bus_message *request;        /* the Exec call; also holds the stdin bytes */
        bool abandoned;                 /* its connection is gone: no answer */
        char *command;                  /* argv[0], for messages */

        pid_t pid;
        sd_event_source *child_source;
        bool exited;
        siginfo_t status;

        int stdin_fd;
        sd_event_source *stdin_source;
        const uint8_t *stdin_data;      /* borrowed from request */
        size_t stdin_size, stdin_written;

        ExecOutput output[2];           /* stdout, stderr */
        uint64_t output_max;
        uint64_t timeout_usec;
        sd_event_source *timer_source;  /* the timeout; after the exit, the linger time */
        ExecFailure failure;

        AgentExec *prev, *next;         /* in agent->execs */
};

static void exec_output_close(ExecOutput *o) {
        o->source = sd_event_source_disable_unref(o->source);
        closep(&o->fd);
}

static void exec_stdin_close(AgentExec *e) {
        e->stdin_source = sd_event_source_disable_unref(e->stdin_source);
        closep(&e->stdin_fd);
}

/* SIGKILL for the command's process group, which may outlive the command; for the command alone if
 * the group is gone already. */
static void exec_kill(AgentExec *e) {
        if (e->pid <= 0)
                return;
        if (kill(-e->pid, SIGKILL) < 0 && !e->exited)
                (void) kill(e->pid, SIGKILL);
}

AgentExec *agent_exec_free(AgentExec *e) {
        if (!e)
                return NULL;

        if (e->agent) {
                if (e->prev)
                        e->prev->next = e->next;
                else
                        e->agent->execs = e->next;
                if (e->next)
                        e->next->prev = e->prev;
        }
        /* What it left running in the background after it exited is not ours to stop. */
        if (!e->exited)
                exec_kill(e);
        e->child_source = sd_event_source_disable_unref(e->child_source);
        e->timer_source = sd_event_source_disable_unref(e->timer_source);
        exec_stdin_close(e);
        for (size_t i = 0; i < ELEMENTSOF(e->output); i++) {
                exec_output_close(&e->output[i]);
                free(e->output[i].data);
        }
        sd_bus_message_unref(e->request);
        free(e->command);
        return mfree(e);
}

static int exec_reply(AgentExec *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int exit_status = -1, signal_number = 0, r;

        switch (e->failure) {
        case EXEC_FAILURE_TIMEOUT:
                return sd_bus_reply_method_errorf(e->request, MVM_AGENT_ERROR_TIMEOUT,
                                                  "'%s' did not finish in time and was killed after %" PRIu64 " ms.",
                                                  e->command, e->timeout_usec / 1000);
        case EXEC_FAILURE_OUTPUT_TOO_LARGE:
                return sd_bus_reply_method_errorf(e->request, MVM_AGENT_ERROR_OUTPUT_TOO_LARGE,
                                                  "'%s' wrote more than %" PRIu64 " bytes of output and was killed.",
                                                  e->command, e->output_max);
        case EXEC_FAILURE_NONE:
                break;
        default:
                assert(false);
        }

        if (e->status.si_code == CLD_EXITED)
                exit_status = e->status.si_status;
        else
                signal_number = e->status.si_status;

        r = sd_bus_message_new_method_return(e->request, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "ii", exit_status, signal_number);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(e->output); i++) {
                r = sd_bus_message_append_array(reply, 'y', e->output[i].data, e->output[i].size);
                if (r < 0)
                        return r;
        }
        return sd_bus_send(/* bus= */ NULL, reply, /* cookie= */ NULL);
}

/* Answers and frees the call once its command has exited and its output is complete. */
static void exec_maybe_finish(AgentExec *e) {
        int r;

        if (!e->exited)
                return;
        if (e->failure == EXEC_FAILURE_NONE)
                for (size_t i = 0; i < ELEMENTSOF(e->output); i++)
                        if (e->output[i].fd >= 0)
                                return;

        if (!e->abandoned) {
                r = exec_reply(e);
                if (r < 0)
                        log_debug_errno(r, "Cannot answer Exec of '%s', ignoring: %m", e->command);
        }
        agent_exec_free(e);
}

/* Stops the command for a reason the answer will name; what it wrote is dropped. */
static void exec_fail(AgentExec *e, ExecFailure failure) {
        if (e->failure != EXEC_FAILURE_NONE)
                return;
        e->failure = failure;
        exec_kill(e);
        exec_stdin_close(e);
        for (size_t i = 0; i < ELEMENTSOF(e->output); i++)
                exec_output_close(&e->output[i]);
        e->timer_source = sd_event_source_disable_unref(e->timer_source);
}

/* Reads what the stream holds now. */
static void exec_output_read(AgentExec *e, ExecOutput *o) {
        while (o->fd >= 0) {
                uint64_t total = e->output[0].size + e->output[1].size;
                size_t room;
                ssize_t n;

                if (o->allocated - o->size < 16384) {
                        size_t allocated = o->allocated < 65536 ? 65536 : o->allocated * 2;
                        uint8_t *p = realloc(o->data, allocated);

                        if (!p) {
                                log_oom();
                                exec_output_close(o);
                                return;
                        }
                        o->data = p;
                        o->allocated = allocated;
                }
                /* Never more than one byte past the limit: that byte says it was exceeded. */
                room = o->allocated - o->size;
                if (room > e->output_max - total + 1)
                        room = (size_t) (e->output_max - total + 1);

                n = read(o->fd, o->data + o->size, room);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n < 0) {
                        log_warning_errno(errno, "Cannot read the output of '%s': %m", e->command);
                        exec_output_close(o);
                        return;
                }
                if (n == 0) {
                        exec_output_close(o);
                        return;
                }
                o->size += (size_t) n;
                if (total + (uint64_t) n > e->output_max) {
                        exec_fail(e, EXEC_FAILURE_OUTPUT_TOO_LARGE);
                        return;
                }
        }
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        AgentExec *e = userdata;
        ExecOutput *o = fd == e->output[0].fd ? &e->output[0] : &e->output[1];

        exec_output_read(e, o);
        exec_maybe_finish(e);
        return 0;
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        AgentExec *e = userdata;

        while (e->stdin_written < e->stdin_size) {
                ssize_t n = write(e->stdin_fd, e->stdin_data + e->stdin_written,
                                  e->stdin_size - e->stdin_written);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        /* EPIPE: the command closed its stdin without reading it all. */
                        log_debug_errno(errno, "Cannot write the stdin of '%s', dropping the rest: %m",
                                        e->command);
                        break;
                }
                e->stdin_written += (size_t) n;
        }
        exec_stdin_close(e);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        AgentExec *e = userdata;

        if (!e->exited) {
                exec_fail(e, EXEC_FAILURE_TIMEOUT);
                return 0;
        }
        /* The linger time is up: what is still running in the background keeps its output. */
        for (size_t i = 0; i < ELEMENTSOF(e->output); i++) {
                exec_output_read(e, &e->output[i]);
                exec_output_close(&e->output[i]);
        }
        exec_maybe_finish(e);
        return 0;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        AgentExec *e = userdata;
        int r;

        e->exited = true;
        e->status = *si;

        /* Whatever of stdin it did not read stays unread. */
        exec_stdin_close(e);
        for (size_t i = 0; i < ELEMENTSOF(e->output); i++)
                exec_output_read(e, &e->output[i]);

        if (e->failure == EXEC_FAILURE_NONE && (e->output[0].fd >= 0 || e->output[1].fd >= 0)) {
                e->timer_source = sd_event_source_disable_unref(e->timer_source);
                r = sd_event_add_time_relative(e->agent->event, &e->timer_source, CLOCK_MONOTONIC,
                                               EXEC_LINGER_USEC, /* accuracy= */ 1000, on_timer, e);
                if (r < 0) {
                        log_warning_errno(r, "Cannot wait for the rest of the output of '%s': %m",
                                          e->command);
                        for (size_t i = 0; i < ELEMENTSOF(e->output); i++)
                                exec_output_close(&e->output[i]);
                }
        }
        exec_maybe_finish(e);
        return 0;
}

/* Whether two NAME=VALUE entries set the same NAME. */
static bool environment_same_name(const char *a, const char *b) {
        size_t n = strcspn(a, "=");

        return strncmp(a, b, n) == 0 && b[n] == '=';
}

/* The command's environment: the defaults, then env on top of them (a later entry wins). The
 * strings are borrowed from default_environment and env. */
static int exec_environment(char **env, const char ***ret) {
        size_t n_env = 0, n = 0;
        const char **l;

        while (env && env[n_env])
                n_env++;
        l = calloc(ELEMENTSOF(default_environment) + n_env + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        for (size_t i = 0; i < ELEMENTSOF(default_environment); i++) {
                bool overridden = false;

                for (size_t j = 0; j < n_env && !overridden; j++)
                        overridden = environment_same_name(default_environment[i], env[j]);
                if (!overridden)
                        l[n++] = default_environment[i];
        }
        for (size_t i = 0; i < n_env; i++) {
                bool overridden = false;

                for (size_t j = i + 1; j < n_env && !overridden; j++)
                        overridden = environment_same_name(env[i], env[j]);
                if (!overridden)
                        l[n++] = env[i];
        }
        *ret = l;
        return 0;
}

static void close_pairp(int (*p)[2]) {
        closep(&(*p)[0]);
        closep(&(*p)[1]);
}
#define _cleanup_close_pair_ _cleanup_(close_pairp)

/* Starts the command: 0, or -errno when the system fails; *ret_error is the errno of the exec
 * (0 when it ran). */
static int exec_spawn(AgentExec *e, char **argv, char **env, int *ret_error) {
        _cleanup_free_ const char **envp = NULL;
        _cleanup_close_pair_ int in[2] = { -EBADF, -EBADF }, out[2] = { -EBADF, -EBADF },
                                 err[2] = { -EBADF, -EBADF };
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        sigset_t none, all;
        char **saved_environ;
        int r;

        r = exec_environment(env, &envp);
        if (r < 0)
                return r;
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
                return -errno;
        /* Our ends never block the loop. */
        if (fcntl(in[1], F_SETFL, O_NONBLOCK) < 0 || fcntl(out[0], F_SETFL, O_NONBLOCK) < 0 ||
            fcntl(err[0], F_SETFL, O_NONBLOCK) < 0)
                return -errno;

        r = posix_spawn_file_actions_init(&actions);
        if (r != 0)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&actions);
                return -r;
        }
        /* The agent blocks the signals its loop watches, and ignores SIGPIPE (and whatever its
         * starter ignored): none of that is the command's business, and an ignored signal stays
         * ignored across exec. */
        sigemptyset(&none);
        sigfillset(&all);
        r = posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                    POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0) {
                /* posix_spawnp() looks argv[0] up in the PATH of the agent's own environment:
                 * lend it the command's while it does (the call returns once the child has
                 * exec'd or failed to). */
                saved_environ = environ;
                environ = (char **) envp;
                *ret_error = posix_spawnp(&e->pid, argv[0], &actions, &attr, argv, (char **) envp);
                environ = saved_environ;
        }
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&actions);
        if (r != 0)
                return -r;
        if (*ret_error != 0) {
                e->pid = 0;
                return 0;
        }

        e->stdin_fd = TAKE_FD(in[1]);
        e->output[0].fd = TAKE_FD(out[0]);
        e->output[1].fd = TAKE_FD(err[0]);
        return 0;
}

/* Sets up the loop's sources for a spawned command. */
static int exec_watch(AgentExec *e) {
        sd_event *event = e->agent->event;
        int r;

        r = sd_event_add_child(event, &e->child_source, e->pid, WEXITED, on_child, e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(e->output); i++) {
                r = sd_event_add_io(event, &e->output[i].source, e->output[i].fd, EPOLLIN, on_output, e);
                if (r < 0)
                        return r;
        }
        if (e->stdin_size > 0) {
                r = sd_event_add_io(event, &e->stdin_source, e->stdin_fd, EPOLLOUT, on_stdin, e);
                if (r < 0)
                        return r;
        } else
                exec_stdin_close(e);
        if (e->timeout_usec > 0) {
                r = sd_event_add_time_relative(event, &e->timer_source, CLOCK_MONOTONIC, e->timeout_usec,
                                               /* accuracy= */ 1000, on_timer, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

int agent_exec_start(Agent *a, sd_bus_message *m, sd_bus_error *error) {
        _cleanup_strv_free_ char **argv = NULL, **env = NULL;
        _cleanup_(agent_exec_freep) AgentExec *e = NULL;
        const void *stdin_data;
        size_t stdin_size;
        uint64_t timeout_usec, output_max;
        int spawn_error = 0, r;

        r = sd_bus_message_read_strv(m, &argv);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(m, &env);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(m, 'y', &stdin_data, &stdin_size);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "tt", &timeout_usec, &output_max);
        if (r < 0)
                return r;

        if (!argv || !argv[0] || argv[0][0] == '\0')
                return sd_bus_error_set(error, MVM_AGENT_ERROR_INVALID_ARGUMENT,
                                        "argv is empty: give the command to run as its first element.");
        for (char **s = env; s && *s; s++)
                if (!strchr(*s, '=') || **s == '=')
                        return sd_bus_error_setf(error, MVM_AGENT_ERROR_INVALID_ARGUMENT,
                                                 "Environment entry '%s' is not NAME=VALUE.", *s);

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->stdin_fd = e->output[0].fd = e->output[1].fd = -EBADF;
        e->command = strdup(argv[0]);
        if (!e->command)
                return -ENOMEM;
        e->request = sd_bus_message_ref(m);
        e->stdin_data = stdin_data;
        e->stdin_size = stdin_size;
        e->timeout_usec = timeout_usec;
        e->output_max = output_max > 0 ? output_max : MVM_AGENT_OUTPUT_MAX_DEFAULT;

        r = exec_spawn(e, argv, env, &spawn_error);
        if (r < 0)
                return log_error_errno(r, "Cannot start '%s': %m", e->command);
        if (spawn_error != 0)
                return sd_bus_error_setf(error, MVM_AGENT_ERROR_EXEC_FAILED, "Cannot execute '%s': %s",
                                         e->command, strerror(spawn_error));
        e->agent = a;
        e->next = a->execs;
        if (a->execs)
                a->execs->prev = e;
        a->execs = e;
        r = exec_watch(e);
        if (r < 0)
                return log_error_errno(r, "Cannot watch '%s': %m", e->command);

        log_debug("Started '%s' as process %i.", e->command, (int) e->pid);
        TAKE_PTR(e);
        return 1;
}

void agent_exec_abandon_bus(Agent *a, sd_bus *bus) {
        for (AgentExec *e = a->execs; e; e = e->next)
                if (!e->abandoned && sd_bus_message_get_bus(e->request) == bus) {
                        e->abandoned = true;
                        exec_kill(e);
                }
}
