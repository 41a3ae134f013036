/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Choosing the accelerator: KVM only where it really runs a guest, TCG otherwise. */
#pragma once

#include "backend.h"

/* Probes KVM: /dev/kvm opens, speaks API version 12, the CPU advertises hardware
 * virtualization (vmx or svm), and a few bytes of real-mode code run to an I/O exit within a
 * second. Returns 1 (usable) or 0 (not), with a sentence saying why (free()). Blocking: for the
 * launcher, not the daemon. */
int kvm_probe(char **ret_reason);

/* The cached verdict of an earlier probe: 1 (usable) or 0 with the reason, -ENOENT if there is
 * none yet. A file read only: safe for microvmd. */
int kvm_probe_read_cache(const char *cache_path, char **ret_reason);

/* Resolves Accelerator= ("auto", "kvm", "tcg"). The probe's verdict is cached in cache_path (per
 * boot, under /run) so that only the first start after boot pays for it. "kvm" where KVM does
 * not work is -EOPNOTSUPP with the reason. ret_reason says what was chosen and why (free()). */
int accelerator_resolve(const char *setting, const char *cache_path, Accelerator *ret, char **ret_reason);

/* The host's TSC frequency in kHz, from timing the TSC against CLOCK_MONOTONIC_RAW; 0 if it
 * cannot be measured. Takes about 20 ms. */
uint64_t host_tsc_khz(void);
