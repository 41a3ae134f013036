/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table of backends, and what they share: the checks every KVM-only hypervisor makes and the
 * guest's kernel command line. */

#include <inttypes.h>
#include <stdio.h>

#include "backend.h"
#include "strv.h"

extern const Backend qemu_backend, firecracker_backend, cloud_hypervisor_backend;

const Backend *const backends[] = { &qemu_backend, &firecracker_backend, &cloud_hypervisor_backend, NULL };

const Backend *backend_get(const char *hypervisor) {
        for (size_t i = 0; backends[i]; i++)
                if (streq(backends[i]->name, hypervisor))
                        return backends[i];
        return NULL;
}

int backend_check_config(const Config *c, char **ret_problem) {
        const Backend *b = backend_get(config_get_string(c, CONFIG_HYPERVISOR));

        /* A hypervisor this build lacks is the start's business (HypervisorUnavailable). */
        if (!b)
                return 0;
        if (b->kvm_only && streq(config_get_string(c, CONFIG_ACCELERATOR), "tcg")) {
                if (ret_problem)
                        *ret_problem = g_strdup_printf("Accelerator=tcg: %s runs guests on KVM only; use "
                                                       "Accelerator=auto or kvm, or Hypervisor=qemu for TCG",
                                                       b->display_name);
                return -EINVAL;
        }
        return b->check_config ? b->check_config(c, ret_problem) : 0;
}

int backend_kernel_command_line(const BackendContext *ctx, const char *extra_first, char **ret) {
        const char *extra = config_get_string(ctx->config, CONFIG_KERNEL_COMMAND_LINE);
        _cleanup_strv_free_ char **args = NULL;
        int r;

        /* At 9600 baud the console is a bottleneck; 115200 makes a round trip ~8x faster. */
        r = strv_extend(&args, "console=ttyS0,115200");
        if (r < 0)
                return r;

        /* Under TCG the guest's TSC is the host's. Telling the kernel its rate skips the PIT
         * calibration, which fails under load on a machine with no other timer to fall back
         * to and leaves the guest waiting forever in calibrate_delay. */
        if (ctx->accelerator == ACCELERATOR_TCG && ctx->tsc_khz > 0) {
                r = strv_extendf(&args, "tsc_early_khz=%" PRIu64, ctx->tsc_khz);
                if (r < 0)
                        return r;
        }
        if (extra_first) {
                r = strv_extend(&args, extra_first);
                if (r < 0)
                        return r;
        }
        if (extra[0]) {
                r = strv_extend(&args, extra);
                if (r < 0)
                        return r;
        }

        *ret = strv_join(args, " ");
        return *ret ? 0 : -ENOMEM;
}

const char *accelerator_to_string(Accelerator a) {
        static const char *const table[_ACCELERATOR_MAX] = {
                [ACCELERATOR_KVM] = "kvm",
                [ACCELERATOR_TCG] = "tcg",
        };

        return a >= 0 && a < _ACCELERATOR_MAX ? table[a] : NULL;
}
