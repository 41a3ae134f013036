/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The errno mapping of our error names. */

#include <errno.h>

#include "bus-errors.h"

const sd_bus_error_map mvm_bus_error_map[] = {
        SD_BUS_ERROR_MAP(MVM_ERROR_NO_SUCH_VM, ENOENT),
        SD_BUS_ERROR_MAP(MVM_ERROR_VM_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(MVM_ERROR_INVALID_CONFIG, EINVAL),
        SD_BUS_ERROR_MAP(MVM_ERROR_INVALID_NAME, EINVAL),
        SD_BUS_ERROR_MAP(MVM_ERROR_INVALID_STATE, EBUSY),
        SD_BUS_ERROR_MAP(MVM_ERROR_HYPERVISOR_UNAVAILABLE, EOPNOTSUPP),
        SD_BUS_ERROR_MAP_END,
};
