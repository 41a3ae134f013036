/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The errno mapping of our error names, and the answer to a method call whose reply was put off. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-errors.h"
#include "log.h"

const sd_bus_error_map mvm_bus_error_map[] = {
        SD_BUS_ERROR_MAP(MVM_ERROR_NO_SUCH_VM, ENOENT),
        SD_BUS_ERROR_MAP(MVM_ERROR_VM_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(MVM_ERROR_INVALID_CONFIG, EINVAL),
        SD_BUS_ERROR_MAP(MVM_ERROR_INVALID_DRIVE, EMEDIUMTYPE),
        SD_BUS_ERROR_MAP(MVM_ERROR_INVALID_NAME, EINVAL),
        SD_BUS_ERROR_MAP(MVM_ERROR_INVALID_STATE, EBUSY),
        SD_BUS_ERROR_MAP(MVM_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(MVM_ERROR_HYPERVISOR_UNAVAILABLE, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(MVM_ERROR_START_FAILED, EIO),
        SD_BUS_ERROR_MAP(MVM_ERROR_STOP_FAILED, EIO),
        SD_BUS_ERROR_MAP(MVM_ERROR_AGENT_UNAVAILABLE, EHOSTUNREACH),
        SD_BUS_ERROR_MAP(MVM_ERROR_CONSOLE_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(MVM_ERROR_INVALID_SNAPSHOT, EBADMSG),
        SD_BUS_ERROR_MAP(MVM_ERROR_SNAPSHOT_MISMATCH, EXDEV),
        SD_BUS_ERROR_MAP(MVM_ERROR_SNAPSHOT_FAILED, EIO),
        SD_BUS_ERROR_MAP(MVM_ERROR_SYSTEM_FAILURE, EIO),
        SD_BUS_ERROR_MAP_END,
};

int bus_error_system(sd_bus_error *error, int r, const char *format, ...) {
        _cleanup_free_ char *what = NULL;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&what, format, ap);
        va_end(ap);
        if (k < 0)
                what = NULL;

        log_error_errno(r, "%s: %m", what ?: "A request failed");
        return sd_bus_error_setf(error, MVM_ERROR_SYSTEM_FAILURE,
                                 "%s: %s. The host is at fault, not the request: 'journalctl -u microvmd' has details.",
                                 what ?: "A request failed", strerror(abs(r)));
}

void bus_reply_pending(sd_bus_message **request, const char *error_name, const char *format, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        assert(request);

        m = TAKE_PTR(*request);
        if (!m)
                return;
        if (error_name) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                va_list ap;

                va_start(ap, format);
                (void) sd_bus_error_setfv(&error, error_name, format, ap);
                va_end(ap);
                r = sd_bus_reply_method_error(m, &error);
        } else
                r = sd_bus_reply_method_return(m, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to %s, ignoring: %m", sd_bus_message_get_member(m));
}
