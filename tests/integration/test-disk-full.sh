#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A key file that cannot be written (the disk is full) is a named error, SystemFailure, that says
# why; nothing is left behind and an existing key file stays as it was. Runs as root inside the
# private systemd: /etc/microvm/vms becomes a tiny tmpfs for the test.
set -euo pipefail

dir=/etc/microvm/vms
B=(busctl call org.microvm.Manager /org/microvm/Manager org.microvm.Manager)
fail() { echo "FAIL: $*" >&2; exit 1; }

cleanup() {
        systemctl stop microvmd.service 2>/dev/null || true
        umount "$dir" 2>/dev/null || true
        systemctl reset-failed microvmd.service 2>/dev/null || true
}
trap cleanup EXIT

# microvmd sees the mount only if it starts after it.
systemctl stop microvmd.service
mkdir -p "$dir"
mount -t tmpfs -o size=64k,nr_inodes=64 tmpfs "$dir"

"${B[@]}" CreateVM 'sa{sv}' itdf-keep 2 Kernel s /k VCPUs u 2 >/dev/null
before=$(cat "$dir/itdf-keep.vm")

# Fill it to the last byte.
dd if=/dev/zero of="$dir/.fill" bs=4k 2>/dev/null || true

out=$("${B[@]}" CreateVM 'sa{sv}' itdf-new 1 Kernel s /k 2>&1) && fail "CreateVM on a full disk succeeded: $out"
echo "$out" | grep -q "No space left on device" || fail "CreateVM on a full disk: the message does not say why: $out"
echo "$out" | grep -q "The host is at fault" || fail "CreateVM on a full disk: not a SystemFailure: $out"
[ ! -e "$dir/itdf-new.vm" ] || fail "CreateVM on a full disk left itdf-new.vm"
ls -A "$dir" | grep -q '\.tmp' && fail "CreateVM on a full disk left a temporary file: $(ls -A "$dir")"
out=$("${B[@]}" GetVM s itdf-new 2>&1) && fail "GetVM found the VM whose creation failed: $out"
echo "   ok: CreateVM on a full disk: SystemFailure, nothing left"

out=$("${B[@]}" UpdateVM 'sa{sv}' itdf-keep 1 VCPUs u 4 2>&1) && fail "UpdateVM on a full disk succeeded: $out"
echo "$out" | grep -q "No space left on device" || fail "UpdateVM on a full disk: the message does not say why: $out"
[ "$(cat "$dir/itdf-keep.vm")" = "$before" ] || fail "UpdateVM on a full disk changed the key file"
vcpus=$(busctl get-property org.microvm.Manager /org/microvm/Manager/vm/itdf_2dkeep org.microvm.VM VCPUs)
[ "$vcpus" = "u 2" ] || fail "UpdateVM on a full disk changed the property: $vcpus"
ls -A "$dir" | grep -q '\.tmp' && fail "UpdateVM on a full disk left a temporary file: $(ls -A "$dir")"
echo "   ok: UpdateVM on a full disk: SystemFailure, the old file and properties intact"
