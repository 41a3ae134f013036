/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* KVM probe, accelerator choice and host TSC rate. */

#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <x86intrin.h>

#include "accel.h"
#include "fileio.h"

#define KVM_PROBE_PORT 0x10
#define KVM_PROBE_VALUE 0x42
#define KVM_PROBE_TIMEOUT_MS 1000

static bool cpu_has_hardware_virtualization(void) {
        _cleanup_free_ char *cpuinfo = NULL;
        char *flags;

        if (read_file("/proc/cpuinfo", &cpuinfo, NULL) < 0)
                return false;
        flags = strstr(cpuinfo, "\nflags");
        if (!flags)
                return false;
        flags[strcspn(flags + 1, "\n") + 1] = '\0';
        return strstr(flags, " vmx") || strstr(flags, " svm");
}

/* Runs "mov al, 0x42; out 0x10, al; hlt" in real mode. In a child, because a broken KVM may
 * never return from KVM_RUN. Exit status 0 when the guest reached the out instruction. */
static int kvm_run_tiny_guest(int kvm) {
        static const uint8_t code[] = { 0xb0, KVM_PROBE_VALUE, 0xe6, KVM_PROBE_PORT, 0xf4 };
        struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0x1000, .memory_size = 0x1000 };
        struct kvm_sregs sregs;
        struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
        struct kvm_run *run;
        int vm, vcpu, size;
        void *mem;

        vm = ioctl(kvm, KVM_CREATE_VM, 0);
        if (vm < 0)
                return 1;
        mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
                return 1;
        memcpy(mem, code, sizeof(code));
        region.userspace_addr = (uintptr_t) mem;
        if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
                return 1;

        vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
        size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
        if (vcpu < 0 || size <= 0)
                return 1;
        run = mmap(NULL, (size_t) size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
        if (run == MAP_FAILED)
                return 1;

        if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
                return 1;
        sregs.cs.base = 0;
        sregs.cs.selector = 0;
        if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
                return 1;

        if (ioctl(vcpu, KVM_RUN, 0) < 0)
                return 1;
        if (run->exit_reason != KVM_EXIT_IO || run->io.port != KVM_PROBE_PORT ||
            *((uint8_t *) run + run->io.data_offset) != KVM_PROBE_VALUE)
                return 1;
        return 0;
}

static int wait_bounded(pid_t pid, int timeout_ms, int *ret_status) {
        for (int waited = 0; waited < timeout_ms; waited += 10) {
                pid_t r = waitpid(pid, ret_status, WNOHANG);
                if (r == pid)
                        return 0;
                if (r < 0)
                        return negative_errno();
                (void) nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        return -ETIMEDOUT;
}

int kvm_probe(char **ret_reason) {
        _cleanup_close_ int kvm = -EBADF;
        int version, status, r;
        pid_t pid;

        kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (kvm < 0)
                return asprintf(ret_reason, "/dev/kvm cannot be opened (%m)") < 0 ? -ENOMEM : 0;

        version = ioctl(kvm, KVM_GET_API_VERSION, 0);
        if (version != KVM_API_VERSION)
                return asprintf(ret_reason, "/dev/kvm speaks API version %d, not %d", version,
                                KVM_API_VERSION) < 0 ? -ENOMEM : 0;

        /* A paravirtual KVM (such as a nested kvm_pvm) opens and answers, but hangs ordinary guest
         * kernels; it shows as a CPU without vmx or svm. */
        if (!cpu_has_hardware_virtualization())
                return asprintf(ret_reason, "/dev/kvm exists but the CPU advertises no hardware virtualization "
                                "(vmx or svm), so KVM cannot run an ordinary guest kernel") < 0 ? -ENOMEM : 0;

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                _exit(kvm_run_tiny_guest(kvm));

        r = wait_bounded(pid, KVM_PROBE_TIMEOUT_MS, &status);
        if (r == -ETIMEDOUT)
                return asprintf(ret_reason, "a test guest did not run within %d ms under KVM",
                                KVM_PROBE_TIMEOUT_MS) < 0 ? -ENOMEM : 0;
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return asprintf(ret_reason, "a test guest failed to run under KVM") < 0 ? -ENOMEM : 0;

        return asprintf(ret_reason, "KVM ran a test guest") < 0 ? -ENOMEM : 1;
}

/* The cache holds "kvm REASON" or "tcg REASON" on one line. */
int kvm_probe_read_cache(const char *cache_path, char **ret_reason) {
        _cleanup_free_ char *text = NULL;

        if (read_file(cache_path, &text, NULL) < 0)
                return -ENOENT;
        /* Only the first line counts; anything but a verdict and its reason is no verdict, so the
         * next start probes again and replaces it. */
        text[strcspn(text, "\n")] = '\0';
        if (strlen(text) <= 4 || (strncmp(text, "kvm ", 4) != 0 && strncmp(text, "tcg ", 4) != 0))
                return -ENOENT;
        *ret_reason = strdup(text + 4);
        if (!*ret_reason)
                return -ENOMEM;
        return strncmp(text, "kvm", 3) == 0;
}

static int probe_cached(const char *cache_path, char **ret_reason) {
        _cleanup_free_ char *reason = NULL;
        int r, usable;

        if (cache_path) {
                r = kvm_probe_read_cache(cache_path, ret_reason);
                if (r != -ENOENT)
                        return r;
        }

        usable = kvm_probe(&reason);
        if (usable < 0)
                return usable;

        if (cache_path) {
                _cleanup_free_ char *line = NULL;

                if (asprintf(&line, "%s %s\n", usable ? "kvm" : "tcg", reason) < 0)
                        return -ENOMEM;
                /* A cache we cannot write only costs the next start another probe. */
                r = write_file_atomic(cache_path, line, strlen(line), 0644);
                (void) r;
        }

        *ret_reason = TAKE_PTR(reason);
        return usable;
}

int accelerator_resolve(const char *setting, const char *cache_path, Accelerator *ret, char **ret_reason) {
        _cleanup_free_ char *reason = NULL;
        int usable;

        if (streq(setting, "tcg")) {
                *ret = ACCELERATOR_TCG;
                return asprintf(ret_reason, "tcg, as configured") < 0 ? -ENOMEM : 0;
        }

        usable = probe_cached(cache_path, &reason);
        if (usable < 0)
                return usable;

        if (streq(setting, "kvm")) {
                if (!usable) {
                        *ret_reason = TAKE_PTR(reason);
                        return -EOPNOTSUPP;
                }
                *ret = ACCELERATOR_KVM;
                return asprintf(ret_reason, "kvm, as configured (%s)", reason) < 0 ? -ENOMEM : 0;
        }

        *ret = usable ? ACCELERATOR_KVM : ACCELERATOR_TCG;
        return asprintf(ret_reason, "%s, chosen automatically: %s", usable ? "kvm" : "tcg", reason) < 0 ? -ENOMEM : 0;
}

static uint64_t monotonic_raw_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

uint64_t host_tsc_khz(void) {
        uint64_t t0, c0, t1, c1;

        t0 = monotonic_raw_ns();
        c0 = __rdtsc();
        (void) nanosleep(&(struct timespec) { .tv_nsec = 20 * 1000 * 1000 }, NULL);
        t1 = monotonic_raw_ns();
        c1 = __rdtsc();

        if (t1 <= t0 || c1 <= c0)
                return 0;
        /* cycles per ms = kHz; rounded to the nearest kHz. */
        return ((c1 - c0) * 1000000u + (t1 - t0) / 2) / (t1 - t0);
}
