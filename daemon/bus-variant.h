/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Moves values between sd-bus messages and GVariant, which models configuration values. */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

/* Reads the next complete value of m as a GVariant (a new, non-floating reference).
 * File descriptors are refused with -EINVAL. */
int bus_message_read_gvariant(sd_bus_message *m, GVariant **ret);

/* Appends v, which must hold only D-Bus types (no maybe types). */
int bus_message_append_gvariant(sd_bus_message *m, GVariant *v);
