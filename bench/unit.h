/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the benchmarks ask systemd: start or stop a unit and wait for its job as systemctl does,
 * read a unit's properties; and the resident memory of a process. */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-bus.h>
#include <sys/types.h>

#define SYSTEMD_BUS_NAME        "org.freedesktop.systemd1"
#define SYSTEMD_PATH            "/org/freedesktop/systemd1"
#define SYSTEMD_UNIT_PATH       "/org/freedesktop/systemd1/unit"
#define SYSTEMD_MANAGER_IFACE   "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT_IFACE      "org.freedesktop.systemd1.Unit"
#define SYSTEMD_SERVICE_IFACE   "org.freedesktop.systemd1.Service"
#define PEER_IFACE              "org.freedesktop.DBus.Peer"
#define PROPERTIES_IFACE        "org.freedesktop.DBus.Properties"

/* The job a start or stop waits for, followed through systemd's JobRemoved signal. */
typedef struct UnitJobs {
        sd_bus *bus;            /* borrowed */
        sd_bus_slot *slot;
        char *job;
        bool done;
        bool ok;
        uint64_t done_nsec;
} UnitJobs;

/* Subscribes to systemd and watches JobRemoved on bus. */
int unit_jobs_watch(UnitJobs *j, sd_bus *bus);
void unit_jobs_done(UnitJobs *j);

/* StartUnit or StopUnit (method) with mode "replace", then waits for the job (bounded). Sets
 * *ret_nsec, if not NULL, to the time from sending the call to the job's end. */
int unit_job(UnitJobs *j, const char *method, const char *unit, uint64_t *ret_nsec);

/* The message of error if set, else strerror(-r). */
const char *bus_error_text(const sd_bus_error *error, int r);

int unit_get_u64(sd_bus *bus, const char *unit, const char *interface, const char *property, uint64_t *ret);
/* ret is the unit's MainPID, > 0; -ESRCH when it has none. */
int unit_main_pid(sd_bus *bus, const char *unit, pid_t *ret);

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

/* VmRSS of the process in KiB. */
int process_rss_kib(pid_t pid, uint64_t *ret);
/* The argument vector of a running process (strv_free()). */
int process_argv(pid_t pid, char ***ret);
/* The same for a QEMU started by microvm, to be run again by hand: the files it was handed as
 * descriptors (-kernel /proc/self/fd/N, -add-fd with file=/dev/fdset/K) named by their paths, the
 * one of files (NULL-terminated) that each is. */
int process_argv_by_path(pid_t pid, char *const *files, char ***ret);
/* process_argv_by_path() for a VM of the test guest in the directory guest. */
int guest_argv_by_path(pid_t pid, const char *guest, char ***ret);
