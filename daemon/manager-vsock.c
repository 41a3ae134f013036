/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vsock context IDs: assigned once, written into the key file, so that a guest keeps its address
 * across restarts of the VM and of microvmd. */

#include <inttypes.h>

#include "manager-vsock.h"

static int compare_cid(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

        return x < y ? -1 : x > y;
}

int manager_assign_vsock_cid(Manager *m, const char *name, Config *c, char **ret_error) {
        uint32_t cid = (uint32_t) config_get_number(c, CONFIG_VSOCK_CID), next = VSOCK_CID_MIN;
        g_autofree uint32_t *used = g_new(uint32_t, m->n_vms + 1);
        size_t n = 0;

        for (size_t i = 0; i < m->n_vms; i++) {
                uint32_t other = (uint32_t) config_get_number(m->vms[i]->config, CONFIG_VSOCK_CID);

                if (streq(m->vms[i]->name, name) || other == 0)
                        continue;
                if (other == cid) {
                        *ret_error = g_strdup_printf("VsockCID: %" PRIu32 " is used by VM '%s': choose another or "
                                                     "give 0 to have one assigned", cid, m->vms[i]->name);
                        return -EINVAL;
                }
                used[n++] = other;
        }
        if (cid != 0)
                return 0;

        /* The lowest gap: walk the sorted IDs in use. */
        qsort(used, n, sizeof(uint32_t), compare_cid);
        for (size_t i = 0; i < n && used[i] <= next; i++)
                if (used[i] == next)
                        next++;
        return config_group_set(config_singleton(c, CONFIG_SECTION_VM), CONFIG_VSOCK_CID, g_variant_new_uint32(next),
                                NULL);
}
