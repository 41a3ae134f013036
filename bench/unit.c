/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit jobs and properties over systemd's bus API, and a process's resident memory, for the
 * benchmark clients. Blocking calls: these are clients, not daemons. */

#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "figure.h"
#include "log.h"
#include "macro.h"
#include "strv.h"
#include "unit.h"

#define JOB_TIMEOUT_NSEC (60 * NSEC_PER_SEC)

const char *bus_error_text(const sd_bus_error *error, int r) {
        return sd_bus_error_is_set(error) ? error->message : strerror(-r);
}

static int match_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        const char *path, *unit, *result;
        UnitJobs *j = userdata;
        uint32_t id;
        int r;

        r = sd_bus_message_read(msg, "uoss", &id, &path, &unit, &result);
        if (r < 0) {
                log_warning_errno(r, "Bad JobRemoved signal, ignoring: %m");
                return 0;
        }
        if (!j->job || !streq(path, j->job))
                return 0;

        j->done_nsec = now_nsec();
        j->done = true;
        j->ok = streq(result, "done");
        if (!j->ok)
                log_error("Job for %s finished with result '%s'.", unit, result);
        return 0;
}

int unit_jobs_watch(UnitJobs *j, sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        j->bus = bus;
        r = sd_bus_match_signal(bus, &j->slot, SYSTEMD_BUS_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "JobRemoved",
                                match_job_removed, j);
        if (r < 0)
                return log_error_errno(r, "Failed to watch systemd's jobs: %m");
        r = sd_bus_call_method(bus, SYSTEMD_BUS_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "Subscribe", &error, NULL,
                               NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to systemd: %s", bus_error_text(&error, r));
        return 0;
}

void unit_jobs_done(UnitJobs *j) {
        j->slot = sd_bus_slot_unref(j->slot);
        j->job = mfree(j->job);
}

int unit_job(UnitJobs *j, const char *method, const char *unit, uint64_t *ret_nsec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *job;
        uint64_t start;
        int r;

        start = now_nsec();
        r = sd_bus_call_method(j->bus, SYSTEMD_BUS_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, method, &error, &reply,
                               "ss", unit, "replace");
        if (r < 0)
                return log_error_errno(r, "%s %s failed: %s", method, unit, bus_error_text(&error, r));
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return log_error_errno(r, "Bad %s reply: %m", method);

        free(j->job);
        j->job = strdup(job);
        if (!j->job)
                return log_oom();
        j->done = false;

        while (!j->done) {
                uint64_t now = now_nsec();

                if (now - start > JOB_TIMEOUT_NSEC)
                        return log_error_errno(ETIMEDOUT, "%s %s: the job did not finish.", method, unit);
                r = sd_bus_process(j->bus, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to process the bus: %m");
                if (r > 0)
                        continue;
                r = sd_bus_wait(j->bus, (JOB_TIMEOUT_NSEC - (now - start)) / NSEC_PER_USEC);
                if (r < 0 && r != -EINTR)
                        return log_error_errno(r, "Failed to wait for the bus: %m");
        }
        j->job = mfree(j->job);
        if (!j->ok)
                return -EIO;

        if (ret_nsec)
                *ret_nsec = j->done_nsec - start;
        return 0;
}

int unit_get_u64(sd_bus *bus, const char *unit, const char *interface, const char *property, uint64_t *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode(SYSTEMD_UNIT_PATH, unit, &path);
        if (r < 0)
                return log_oom();
        r = sd_bus_get_property_trivial(bus, SYSTEMD_BUS_NAME, path, interface, property, &error, 't', ret);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s of %s: %s", property, unit, bus_error_text(&error, r));
        return 0;
}

int unit_main_pid(sd_bus *bus, const char *unit, pid_t *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        uint32_t pid;
        int r;

        r = sd_bus_path_encode(SYSTEMD_UNIT_PATH, unit, &path);
        if (r < 0)
                return log_oom();
        r = sd_bus_get_property_trivial(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_SERVICE_IFACE, "MainPID", &error, 'u',
                                        &pid);
        if (r < 0)
                return log_error_errno(r, "Failed to read MainPID of %s: %s", unit, bus_error_text(&error, r));
        if (pid == 0)
                return log_error_errno(ESRCH, "%s has no main process.", unit);
        *ret = (pid_t) pid;
        return 0;
}

int process_rss_kib(pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t size = 0;

        if (asprintf(&path, "/proc/%i/status", (int) pid) < 0) {
                path = NULL;
                return log_oom();
        }
        f = fopen(path, "re");
        if (!f)
                return log_error_errno(errno, "Failed to open %s: %m", path);

        while (getline(&line, &size, f) >= 0) {
                unsigned long long kib;
                char *end;

                if (strncmp(line, "VmRSS:", 6) != 0)
                        continue;
                errno = 0;
                kib = strtoull(line + 6, &end, 10);
                if (errno != 0 || end == line + 6)
                        return log_error_errno(EBADMSG, "Bad VmRSS line in %s.", path);
                *ret = kib;
                return 0;
        }
        /* Kernel threads and zombies have none. */
        return log_error_errno(ENOENT, "No VmRSS in %s.", path);
}

int process_argv(pid_t pid, char ***ret) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t n;

        if (asprintf(&path, "/proc/%i/cmdline", (int) pid) < 0) {
                path = NULL;
                return log_oom();
        }
        f = fopen(path, "re");
        if (!f)
                return log_error_errno(errno, "Failed to open %s: %m", path);
        data = malloc(65536);
        if (!data)
                return log_oom();
        n = fread(data, 1, 65535, f);
        if (n == 0 || n == 65535)
                return log_error_errno(EBADMSG, "Cannot read the command line in %s.", path);
        data[n] = '\0';

        for (size_t i = 0; i < n; i += strlen(data + i) + 1)
                if (strv_extend(&argv, data + i) < 0)
                        return log_oom();
        *ret = TAKE_PTR(argv);
        return 0;
}

/* Which of files descriptor fd of process pid is (the same inode): its link may name the file
 * relative to a mount this process cannot see. */
static int process_fd_path(pid_t pid, int fd, char *const *files, char **ret) {
        _cleanup_free_ char *link = NULL;
        struct stat a, b;

        if (asprintf(&link, "/proc/%i/fd/%i", (int) pid, fd) < 0)
                return log_oom();
        if (stat(link, &a) < 0)
                return log_error_errno(errno, "Cannot examine %s: %m", link);
        for (char *const *f = files; f && *f; f++)
                if (stat(*f, &b) >= 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                        *ret = strdup(*f);
                        return *ret ? 0 : log_oom();
                }
        return log_error_errno(ENOENT, "%s is none of the files this benchmark gave the VM.", link);
}

int process_argv_by_path(pid_t pid, char *const *files, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL, **out = NULL;
        char *sets[64] = {};
        int r;

        r = process_argv(pid, &argv);
        if (r < 0)
                return r;
        for (size_t i = 0; argv[i]; i++) {
                _cleanup_free_ char *arg = strdup(argv[i]);
                unsigned fd, set;
                char *p;

                if (!arg)
                        return log_oom();
                /* "-add-fd fd=N,set=K": file=/dev/fdset/K below is the file of descriptor N. */
                if (streq(arg, "-add-fd") && argv[i + 1] &&
                    sscanf(argv[i + 1], "fd=%u,set=%u", &fd, &set) == 2 && set < ELEMENTSOF(sets)) {
                        if (!sets[set]) {
                                r = process_fd_path(pid, (int) fd, files, &sets[set]);
                                if (r < 0)
                                        goto done;
                        }
                        i++;
                        continue;
                }
                if ((p = strstr(arg, "/proc/self/fd/")) && sscanf(p, "/proc/self/fd/%u", &fd) == 1) {
                        _cleanup_free_ char *path = NULL, *joined = NULL;

                        r = process_fd_path(pid, (int) fd, files, &path);
                        if (r < 0)
                                goto done;
                        *p = '\0';
                        p += strlen("/proc/self/fd/");
                        p += strspn(p, "0123456789");
                        if (asprintf(&joined, "%s%s%s", arg, path, p) < 0) {
                                r = log_oom();
                                goto done;
                        }
                        free(arg);
                        arg = TAKE_PTR(joined);
                }
                if ((p = strstr(arg, "/dev/fdset/")) && sscanf(p, "/dev/fdset/%u", &set) == 1 &&
                    set < ELEMENTSOF(sets) && sets[set]) {
                        _cleanup_free_ char *joined = NULL;

                        *p = '\0';
                        p += strlen("/dev/fdset/");
                        p += strspn(p, "0123456789");
                        if (asprintf(&joined, "%s%s%s", arg, sets[set], p) < 0) {
                                r = log_oom();
                                goto done;
                        }
                        free(arg);
                        arg = TAKE_PTR(joined);
                }
                if (strv_extend(&out, arg) < 0) {
                        r = log_oom();
                        goto done;
                }
        }
        *ret = TAKE_PTR(out);
        r = 0;
done:
        for (size_t k = 0; k < ELEMENTSOF(sets); k++)
                free(sets[k]);
        return r;
}

int guest_argv_by_path(pid_t pid, const char *guest, char ***ret) {
        _cleanup_free_ char *kernel = NULL, *initrd = NULL;

        if (asprintf(&kernel, "%s/vmlinuz", guest) < 0 || asprintf(&initrd, "%s/initramfs.cpio.gz", guest) < 0)
                return log_oom();
        return process_argv_by_path(pid, (char *const[]) { kernel, initrd, NULL }, ret);
}
