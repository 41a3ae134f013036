#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Load: 1000 bus calls from 16 clients at once (ListVMs, GetVM, a property read, CreateVM and
# DeleteVM) while 4 VMs boot the test guest. Every answer must be right, every VM must then run
# with its unit active, nothing the clients made may be left, and the stops leave no unit or
# runtime directory. The latencies are printed, not judged here (microvmd may run under
# valgrind): bench/load judges them. The calls are microvm-bench-load's ($MVM_BENCH_LOAD).
set -euo pipefail

guest=${MVM_GUEST_DIR:-}
client=${MVM_BENCH_LOAD:-}
if [ -z "$guest" ] || [ ! -r "$guest/vmlinuz" ] || [ ! -x "$client" ]; then
        echo "FAIL: needs MVM_GUEST_DIR with the test guest and MVM_BENCH_LOAD (microvm-bench-load)" >&2
        exit 1
fi
B=(busctl call org.microvm.Manager /org/microvm/Manager org.microvm.Manager)
vms=4

cleanup() {
        local i name
        for i in $(seq 0 $((vms - 1))); do
                "${B[@]}" StopVM st "load-vm-$i" 1000000 >/dev/null 2>&1 || true
                "${B[@]}" DeleteVM s "load-vm-$i" >/dev/null 2>&1 || true
        done
        for name in $(busctl --json=short call org.microvm.Manager /org/microvm/Manager org.microvm.Manager \
                        ListVMs 2>/dev/null | python3 -c 'import json,sys; [print(v[0]) for v in json.load(sys.stdin)["data"][0]]' \
                        | grep '^load-' || true); do
                "${B[@]}" DeleteVM s "$name" >/dev/null 2>&1 || true
        done
}
trap cleanup EXIT
cleanup

config="{'Kernel': <'$guest/vmlinuz'>, 'Initrd': <'$guest/initramfs.cpio.gz'>, 'KernelCommandLine': <''>}"
"$client" --clients 16 --calls 1000 --vms $vms --vm-config "$config"

cleanup
trap - EXIT
left=$(systemctl list-units --all --no-legend --plain 'microvm@load-*' | wc -l)
if [ "$left" != 0 ]; then
        echo "FAIL: units left after the stops:" >&2
        systemctl list-units --all --no-legend --plain 'microvm@load-*' >&2
        exit 1
fi
if ls -d /run/microvm/load-* 2>/dev/null | grep -q .; then
        echo "FAIL: runtime directories left: $(ls -d /run/microvm/load-*)" >&2
        exit 1
fi
ls /etc/microvm/vms | grep '^load-' && { echo "FAIL: key files left" >&2; exit 1; }
echo "OK"
