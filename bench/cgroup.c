/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A process's cgroup, as the benchmarks look at it: who else is in it, how long it was throttled.
 * On cgroup v2, v1, and both side by side ("hybrid"). */

#include <stdio.h>

#include "cgroup.h"
#include "log.h"
#include "macro.h"
#include "unit.h"

/* Whether the comma-separated list names controller. */
static bool controller_listed(const char *list, const char *controller) {
        size_t n = strlen(controller);

        for (const char *c = list;;) {
                size_t len = strcspn(c, ",");

                if (len == n && strncmp(c, controller, n) == 0)
                        return true;
                if (c[len] == '\0')
                        return false;
                c += len + 1;
        }
}

/* The path of pid's cgroup in one hierarchy, as /proc/PID/cgroup says: controller "" is the
 * unified hierarchy ("0::/path"), else a v1 hierarchy listing that controller ("4:cpu,cpuacct:/path"). */
static int process_cgroup(pid_t pid, const char *controller, char **ret) {
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t size = 0;

        if (asprintf(&path, "/proc/%i/cgroup", (int) pid) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        while (getline(&line, &size, f) >= 0) {
                char *list = strchr(line, ':'), *group;

                if (!list)
                        continue;
                list++;
                group = strchr(list, ':');
                if (!group)
                        continue;
                *group++ = '\0';
                group[strcspn(group, "\n")] = '\0';
                if (controller[0] ? controller_listed(list, controller) : list[0] == '\0') {
                        *ret = strdup(group);
                        return *ret ? 0 : -ENOMEM;
                }
        }
        return -ENOENT;
}

/* ROOT/GROUP/FILE for the first of the roots (NULL-terminated) where that file exists. */
static int cgroup_file(const char *const *roots, const char *group, const char *file, char **ret) {
        for (const char *const *root = roots; *root; root++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s%s/%s", *root, group, file) < 0) {
                        p = NULL;
                        return -ENOMEM;
                }
                if (access(p, F_OK) >= 0) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
        }
        return -ENOENT;
}

int cgroup_others(pid_t pid, uint64_t *ret_count, uint64_t *ret_kib) {
        static const char *const unified[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup", NULL };
        static const char *const named[] = { "/sys/fs/cgroup/systemd", NULL };
        _cleanup_free_ char *group = NULL, *procs = NULL, *line = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        uint64_t count = 0, kib = 0;
        size_t size = 0;
        int r;

        r = process_cgroup(pid, "", &group);
        if (r >= 0)
                r = cgroup_file(unified, group, "cgroup.procs", &procs);
        if (r < 0) {
                group = mfree(group);
                r = process_cgroup(pid, "name=systemd", &group);
                if (r >= 0)
                        r = cgroup_file(named, group, "cgroup.procs", &procs);
        }
        if (r < 0)
                return log_error_errno(r, "Cannot find the cgroup of process %i: %m", (int) pid);

        f = fopen(procs, "re");
        if (!f)
                return log_error_errno(errno, "Failed to open %s: %m", procs);
        while (getline(&line, &size, f) >= 0) {
                unsigned long long other;
                uint64_t rss = 0;
                char *end;

                errno = 0;
                other = strtoull(line, &end, 10);
                if (errno != 0 || end == line)
                        return log_error_errno(EBADMSG, "Bad line in %s: %s", procs, line);
                if ((pid_t) other == pid)
                        continue;
                count++;
                /* One that exits meanwhile counts with what it had: nothing more to read. */
                if (process_rss_kib((pid_t) other, &rss) >= 0)
                        kib += rss;
        }
        *ret_count = count;
        *ret_kib = kib;
        return 0;
}

int cgroup_throttled_usec(pid_t pid, uint64_t *ret) {
        static const struct {
                const char *controller;
                const char *roots[3];
                const char *key;
                uint64_t divisor;
        } places[] = {
                { "cpu", { "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", NULL }, "throttled_time", 1000 },
                { "", { "/sys/fs/cgroup", "/sys/fs/cgroup/unified", NULL }, "throttled_usec", 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(places); i++) {
                _cleanup_free_ char *group = NULL, *stat = NULL, *line = NULL;
                _cleanup_(fclosep) FILE *f = NULL;
                size_t size = 0, klen = strlen(places[i].key);

                if (process_cgroup(pid, places[i].controller, &group) < 0 ||
                    cgroup_file(places[i].roots, group, "cpu.stat", &stat) < 0)
                        continue;
                f = fopen(stat, "re");
                if (!f)
                        continue;
                while (getline(&line, &size, f) >= 0)
                        if (strncmp(line, places[i].key, klen) == 0 && line[klen] == ' ') {
                                *ret = strtoull(line + klen + 1, NULL, 10) / places[i].divisor;
                                return 0;
                        }
        }
        return -ENOENT;
}
