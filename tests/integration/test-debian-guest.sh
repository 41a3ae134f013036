#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A guest from a real Debian root filesystem (tools/guest-image/build-debian in
# $MVM_DEBIAN_GUEST_DIR): created and started through the bus API with its ext4 image as the root
# drive and no root= of its own, it boots the cloud kernel with Debian's initramfs and systemd,
# takes its hostname from the cloud-init seed microvm built from LocalHostname=, and shuts down
# cleanly when StopVM asks its agent (a systemd service in the guest), which also runs a command
# for microvmctl exec. The guest's own console lines are asserted.
set -euo pipefail

guest=${MVM_DEBIAN_GUEST_DIR:?MVM_DEBIAN_GUEST_DIR names the Debian guest tools/guest-image/build-debian made}
name=itdeb-$$
host=debian-$$
images=/var/lib/microvm/images/itdeb
log=/var/lib/microvm/$name/serial.log
B=(busctl --timeout=180 call org.microvm.Manager /org/microvm/Manager org.microvm.Manager)
boot_timeout=180

fail() {
        echo "FAIL: $*" >&2
        if [ -f "$log" ]; then
                echo "--- $log:" >&2
                grep -a -v '^\[ *[0-9.]*\]' "$log" | tail -n 40 >&2 || true
        fi
        exit 1
}

cleanup() {
        "${B[@]}" KillVM si "$name" 9 >/dev/null 2>&1 || true
        for _ in $(seq 1 50); do
                systemctl is-active -q "microvm@$name.service" || break
                sleep 0.1
        done
        "${B[@]}" DeleteVM s "$name" >/dev/null 2>&1 || true
        rm -rf "$images"
}
trap cleanup EXIT

for f in rootfs.ext4 vmlinuz initrd.img; do
        [ -f "$guest/$f" ] || fail "no $guest/$f: build it with tools/guest-image/build-debian $guest"
done

# Booting writes to the root (machine-id, /etc/hostname): boot a copy.
mkdir -p "$images"
cp --sparse=always "$guest/rootfs.ext4" "$images/root.ext4"

# wait_line PATTERN SECONDS: the serial log gets a line matching the extended regex.
wait_line() {
        local deadline=$((SECONDS + $2))
        until grep -aEq "$1" "$log" 2>/dev/null; do
                [ "$SECONDS" -lt "$deadline" ] || fail "no line matching '$1' within $2 s"
                sleep 0.5
        done
        echo "   ok: $(grep -aE "$1" "$log" | head -n1)"
}

echo "== create $name: the Debian image as root drive, LocalHostname=$host"
"${B[@]}" CreateVM 'sa{sv}' "$name" 6 \
        Kernel s "$guest/vmlinuz" Initrd s "$guest/initrd.img" MemoryMiB t 512 \
        KernelCommandLine s "" LocalHostname s "$host" \
        Drives aa{sv} 1 2 Path s "$images/root.ext4" Root b true >/dev/null
info=$(busctl get-property org.microvm.Manager "/org/microvm/Manager/vm/${name//-/_2d}" org.microvm.VM DriveInfo)
[[ $info == *'"Type" s "ext4"'* && $info == *'"Label" s "microvm-root"'* ]] ||
        fail "DriveInfo does not show the ext4 root: $info"
echo "   ok: DriveInfo shows ext4, label microvm-root"

echo "== start it"
"${B[@]}" StartVM s "$name" >/dev/null
cmdline=$(journalctl -b -q -o cat -u "microvm@$name.service" | grep -F 'Starting:' | tail -n1)
[[ $cmdline == *"root=/dev/vda rootfstype=ext4"* ]] || fail "no root= from the probe: $cmdline"
echo "   ok: the kernel command line got root=/dev/vda rootfstype=ext4"
[ -f "/var/lib/microvm/$name/cidata.iso" ] || fail "no seed in /var/lib/microvm/$name"

echo "== the guest boots Debian and takes its hostname from the seed"
# The console ends its lines with CR LF.
eol='[[:space:]]*$'
wait_line "^microvm-guest: hostname=$host$eol" "$boot_timeout"
# Said by a unit ordered after multi-user.target, with the hostname systemd then has.
wait_line "^microvm-guest: ready uptime=[0-9.]+ hostname=$host$eol" "$boot_timeout"
grep -aq '^Begin: Mounting root file system' "$log" || fail "the console shows no initramfs-tools"
echo "   ok: Debian's initramfs mounted the root, its systemd reached multi-user.target"

echo "== its agent, a systemd service: Ready, Exec, Signal to a unit"
vm_path=/org/microvm/Manager/vm/${name//-/_2d}
for _ in $(seq 1 600); do
        [ "$(busctl get-property org.microvm.Manager "$vm_path" org.microvm.VM Ready)" = "b true" ] && break
        sleep 0.1
done
[ "$(busctl get-property org.microvm.Manager "$vm_path" org.microvm.VM Ready)" = "b true" ] ||
        fail "the agent of the Debian guest never answered"
out=$(microvmctl exec "$name" -- sh -c 'echo "$(hostname) $(cat /etc/debian_version | cut -d. -f1) $(cat /proc/1/comm)"')
[ "$out" = "$host 12 systemd" ] || fail "exec in the Debian guest printed '$out', not '$host 12 systemd'"
echo "   ok: exec: $out"
"${B[@]}" Signal ssi "$name" microvm-ready.service 1 >/dev/null || fail "Signal to a unit of the guest failed"
echo "   ok: Signal to a unit of the guest's systemd"

echo "== StopVM asks the agent; systemd in the guest shuts down"
reason=$("${B[@]}" StopVM st "$name" 60000000)
[ "$reason" = 's "stop-request"' ] || fail "StopVM returned $reason, not stop-request"
wait_line "^microvm-guest: poweroff$eol" 1
for _ in $(seq 1 100); do
        journalctl -b -q -o cat -u "microvm@$name.service" | grep -q "Asked the guest agent of VM $name to shut down" &&
                break
        sleep 0.1
done
journalctl -b -q -o cat -u "microvm@$name.service" | grep -q "Asked the guest agent of VM $name to shut down" ||
        fail "the stop did not go through the agent"
echo "   ok: stop-request, through the agent and the guest's own poweroff"
