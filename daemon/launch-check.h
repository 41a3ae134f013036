/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a VM needs beyond a valid key file, checked the same way by microvmd (to refuse a
 * CreateVM, UpdateVM or StartVM before anything is written or any unit instance exists) and by
 * the launcher (for systemctl start). */
#pragma once

#include "config.h"
#include "drives.h"

/* The files the configuration names: every drive (drives_probe()) and the files of [CloudInit].
 * Returns 0 and, if ret_probes is not NULL, the drives' probes; or -errno with the bus error name
 * (static) and a message that says what to fix (free()). */
int config_check_files(const char *name, const Config *c, DriveProbes *ret_probes, const char **ret_error_name,
                       char **ret_message);

/* config_check_files(), and a backend for Hypervisor= and a readable kernel and initrd. */
int launch_check(const char *name, const Config *c, DriveProbes *ret_probes, const char **ret_error_name,
                 char **ret_message);
