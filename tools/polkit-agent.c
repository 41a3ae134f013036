/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs pkttyagent as a child while a mutating call is pending. */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "macro.h"
#include "polkit-agent.h"

#define MVM_PKTTYAGENT_PATH "/usr/bin/pkttyagent"

static void exec_agent(int notify_fd) {
        char fd_text[16];

        /* The agent must not outlive us, and must see its notify fd after exec. */
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (fcntl(notify_fd, F_SETFD, 0) < 0)
                _exit(EXIT_FAILURE);
        (void) snprintf(fd_text, sizeof(fd_text), "%i", notify_fd);
        execl(MVM_PKTTYAGENT_PATH, MVM_PKTTYAGENT_PATH, "--notify-fd", fd_text, "--fallback", (char *) NULL);
        _exit(EXIT_FAILURE);
}

int polkit_agent_open(pid_t *ret_pid) {
        _cleanup_close_ int read_fd = -EBADF, write_fd = -EBADF;
        int fds[2];
        char c;
        pid_t pid;

        /* Root passes polkit without asking; without a terminal there is no one to ask. */
        if (geteuid() == 0 || !isatty(STDIN_FILENO) || access(MVM_PKTTYAGENT_PATH, X_OK) < 0) {
                *ret_pid = 0;
                return 0;
        }

        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        read_fd = fds[0];
        write_fd = fds[1];

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                exec_agent(write_fd);

        /* The agent closes its end once registered: a request sent before that would find no
         * agent. EOF also comes if it fails to start, and then polkit simply denies. */
        closep(&write_fd);
        while (read(read_fd, &c, 1) < 0 && errno == EINTR)
                ;

        *ret_pid = pid;
        return 0;
}

void polkit_agent_close(pid_t pid) {
        if (pid <= 0)
                return;

        (void) kill(pid, SIGTERM);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}
