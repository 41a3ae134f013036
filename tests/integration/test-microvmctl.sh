#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# microvmctl against the installed microvmd: create with --set and --drive, show, list, update,
# create from a key file, delete, and the errors, which must leave no key file behind; then real
# VMs booting the test guest: start, status, the serial console (a terminal in a pty, and a pipe),
# pause and resume, snapshot and restore, logs, stop (graceful, and killed after --timeout), kill,
# and their errors.
#
# MVM_GUEST_DIR names the directory that tools/guest-image/build made (vmlinuz,
# initramfs.cpio.gz); the test fails without it.
set -euo pipefail

guest=${MVM_GUEST_DIR:-}
if [ -z "$guest" ] || [ ! -r "$guest/vmlinuz" ] || [ ! -r "$guest/initramfs.cpio.gz" ]; then
        echo "FAIL: MVM_GUEST_DIR must name the test guest's directory, with vmlinuz and initramfs.cpio.gz" \
             "(build it with tools/guest-image/build DIR); it is '${guest}'." >&2
        exit 1
fi

config_dir=/etc/microvm/vms
vm=ctl-main-$$
vm_file=ctl-file-$$
vm_mixed=ctl-mixed-$$
vm_run=ctl-run-$$
vm_stubborn=ctl-stubborn-$$
missing=ctl-missing-$$
bad=ctl-bad-$$
scratch=$(mktemp -d)
# Where microvmd may write a snapshot (its sandbox leaves it /var/lib/microvm); given relative to it.
snapshot_dir=/var/lib/microvm
snapshot=ctl-snap-$$

# How long a TCG boot of the test guest may take to reach its ready line.
boot_timeout=60

cleanup() {
        local name

        # Running VMs cannot be deleted; a stopped one makes stop fail, which is fine here.
        for name in "$vm_run" "$vm_stubborn"; do
                microvmctl stop --timeout=5 "$name" >/dev/null 2>&1 || true
        done
        microvmctl delete "$vm" "$vm_file" "$vm_mixed" "$vm_run" "$vm_stubborn" >/dev/null 2>&1 || true
        rm -rf "$scratch"
        rm -f /var/lib/microvm/{root,data,other,a,b}.img
        rm -f "$snapshot_dir/$snapshot" "$snapshot_dir/$snapshot.meta"
}
trap cleanup EXIT

step() {
        echo "== $*"
}

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# check_json JSON EXPR: EXPR, a Python expression over j (the parsed JSON), must be true.
check_json() {
        python3 - "$1" "$2" <<'PY' || fail "JSON check failed: $2"
import json, sys
j = json.loads(sys.argv[1])
if not eval("(" + sys.argv[2] + ")"):
    print(f"  {sys.argv[2]} is false for {json.dumps(j)}", file=sys.stderr)
    sys.exit(1)
PY
        echo "   ok: $2"
}

# expect_line FILE LINE: FILE has LINE as a whole line.
expect_line() {
        grep -Fqx -- "$2" "$1" || fail "$1 lacks the line '$2':$(printf '\n%s' "$(cat "$1")")"
}

# expect_fail STATUS FRAGMENT COMMAND...: COMMAND exits with STATUS and says FRAGMENT on stderr.
expect_fail() {
        local status=$1 fragment=$2 err rc=0
        shift 2

        err=$("$@" 2>&1 >/dev/null) || rc=$?
        [ "$rc" -eq "$status" ] || fail "'$*' exited with $rc, not $status (it said: $err)"
        [[ $err == *"$fragment"* ]] || fail "'$*' said '$err', which lacks '$fragment'"
        echo "   ok: $* -> $status, '$fragment'"
}

# prop VM KEY: a property of VM as 'show' prints it.
prop() {
        microvmctl show "$1" | sed -n "s/^$2=//p"
}

# journal_has UNIT TEXT: the unit's journal holds a message with TEXT (journald may lag behind).
journal_has() {
        journalctl -b -q -o cat -u "$1" | grep -qF -- "$2"
}

# agent_ready NAME: the VM's guest agent has answered.
agent_ready() {
        [ "$(prop "$1" Ready)" = yes ]
}

now_ms() {
        echo $(($(date +%s%N) / 1000000))
}

# wait_for TIMEOUT WHAT COMMAND...: runs COMMAND every 0.1 s until it succeeds; fails after
# TIMEOUT seconds. Prints how long it took.
wait_for() {
        local timeout=$1 what=$2 start
        shift 2

        start=$(now_ms)
        until "$@"; do
                (( $(now_ms) - start < timeout * 1000 )) || fail "$what: not within ${timeout} s"
                sleep 0.1
        done
        echo "   ok: $what ($(( $(now_ms) - start )) ms)"
}

serial_log() {
        echo "/var/lib/microvm/$1/serial.log"
}

# expect_serial VM LINE: the serial log of VM has LINE as a whole line (the console ends lines
# with \r\n).
expect_serial() {
        local log
        log=$(serial_log "$1")
        tr -d '\r' <"$log" | grep -Fqx -- "$2" ||
                fail "$log lacks the line '$2'; it ends:$(printf '\n%s' "$(tail -n 20 "$log")")"
        echo "   ok: serial console: $2"
}

# booted VM: the guest's ready line is in the serial log of this boot (a new boot starts the log
# afresh, so the power button line of the boot before must be gone).
booted() {
        local log
        log=$(serial_log "$1")
        grep -q '^microvm-guest: ready uptime=' "$log" 2>/dev/null &&
                ! grep -q '^microvm-guest: power button' "$log"
}

state_is() {
        [ "$(prop "$1" State)" = "$2" ]
}

# console_answers VM COMMAND LINE: COMMAND, piped into 'microvmctl console' of VM, makes the guest's
# console shell print LINE as a whole line. The console is one client's at a time, and microvmd
# may not have seen the last one go yet: ConsoleBusy is tried again for a few seconds.
console_answers() {
        local tries=0 rc out=$scratch/console err=$scratch/console-err
        while :; do
                rc=0
                printf '%s\n' "$2" | timed microvmctl console -q "$1" >"$out" 2>"$err" || rc=$?
                if [ "$rc" -ne 0 ] && grep -qi busy "$err" && (( ++tries < 50 )); then
                        sleep 0.1
                        continue
                fi
                [ "$rc" -eq 0 ] || fail "'$2' | microvmctl console -q $1 exited with $rc: $(cat "$err")"
                [ ! -s "$err" ] || fail "console -q printed on stderr: $(cat "$err")"
                tr -d '\r' <"$out" | grep -Fqx -- "$3" ||
                        fail "the console did not answer '$2' with '$3'; it printed:$(printf '\n%s' "$(cat "$out")")"
                echo "   ok: '$2' -> '$3'"
                return 0
        done
}

# timed COMMAND...: runs COMMAND and prints how long it took to the test's output (fd 3), so that
# what COMMAND prints can still be captured.
exec 3>&1
timed() {
        local start rc=0
        start=$(now_ms)
        "$@" || rc=$?
        echo "   $* took $(( $(now_ms) - start )) ms" >&3
        return $rc
}

# The VM key files, to prove that a failure changed none of them.
key_files() {
        (cd "$config_dir" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

step "version and schema"
microvmctl --version | grep -Eq '^microvmctl [0-9]' || fail "--version"
keys=$(microvmctl keys --json) || fail "keys --json"
check_json "$keys" '[(k["Section"], k["Type"], k["Default"], k["Required"]) for k in j if k["Key"] == "VCPUs"]
                    == [("VM", "u", 1, False)]'
check_json "$keys" '[(k["Required"], "Default" in k) for k in j if k["Key"] == "Kernel"] == [(True, False)]'
microvmctl keys | grep -Eq '^Drive +Root +b +no ' || fail "keys table lacks Drive Root"

step "create $vm with --set and --drive"
mkdir -p /var/lib/microvm
mkfs.ext4 -q -F -L ctl-root /var/lib/microvm/root.img 4M
for image in data other a b; do
        truncate -s 1M "/var/lib/microvm/$image.img"
done
out=$(microvmctl create "$vm" --set VCPUs=2 --set MemoryMiB=512 --set Kernel=/boot/vmlinuz \
        --set Autostart=yes --set KernelCommandLine='console=ttyS0 quiet' \
        --drive Path=/var/lib/microvm/root.img,Root=yes --drive Path=/var/lib/microvm/data.img,ReadOnly=on)
[ -z "$out" ] || fail "create printed '$out'"

step "show --json has typed values"
json=$(microvmctl show --json "$vm") || fail "show --json $vm"
check_json "$json" 'j["Name"] == "'"$vm"'" and j["State"] == "defined"'
check_json "$json" 'j["VCPUs"] == 2 and j["MemoryMiB"] == 512'
check_json "$json" 'j["Autostart"] is True and j["Transient"] is False'
check_json "$json" 'j["Kernel"] == "/boot/vmlinuz" and j["KernelCommandLine"] == "console=ttyS0 quiet"'
check_json "$json" 'j["Hypervisor"] == "qemu" and j["Initrd"] == ""'
check_json "$json" 'j["Drives"] == [{"Path": "/var/lib/microvm/root.img", "ReadOnly": False, "Root": True,
                                     "Format": "auto", "Cache": "writeback", "Discard": False},
                                    {"Path": "/var/lib/microvm/data.img", "ReadOnly": True, "Root": False,
                                     "Format": "auto", "Cache": "writeback", "Discard": False}]'
check_json "$json" '[(d["Type"], d["Label"], d["Format"], d["Size"], d["Problem"]) for d in j["DriveInfo"]]
                    == [("ext4", "ctl-root", "raw", 4194304, ""), ("", "", "raw", 1048576, "")]'

step "show prints Key=value lines, one Drive= line per drive"
microvmctl show "$vm" >"$scratch/show"
expect_line "$scratch/show" "Name=$vm"
expect_line "$scratch/show" "VCPUs=2"
expect_line "$scratch/show" "Autostart=yes"
expect_line "$scratch/show" "KernelCommandLine=console=ttyS0 quiet"
expect_line "$scratch/show" "Drive=Path=/var/lib/microvm/root.img ReadOnly=no Root=yes Format=auto Cache=writeback Discard=no"
expect_line "$scratch/show" "Drive=Path=/var/lib/microvm/data.img ReadOnly=yes Root=no Format=auto Cache=writeback Discard=no"
grep -q "^DriveInfo=Path=/var/lib/microvm/root.img .*Type=ext4 Label=ctl-root " "$scratch/show" ||
        fail "show lacks the root drive's DriveInfo line: $(grep DriveInfo "$scratch/show")"

step "the key file holds what was set"
file="$config_dir/$vm.vm"
[ -f "$file" ] || fail "$file is missing"
for line in '[VM]' 'VCPUs=2' 'MemoryMiB=512' 'Autostart=yes' '[Boot]' 'Kernel=/boot/vmlinuz' \
            'KernelCommandLine=console=ttyS0 quiet' 'Path=/var/lib/microvm/root.img' 'Root=yes' \
            'Path=/var/lib/microvm/data.img' 'ReadOnly=yes'; do
        expect_line "$file" "$line"
done
[ "$(grep -cFx '[Drive]' "$file")" -eq 2 ] || fail "$file does not have two [Drive] sections"
echo "   ok: $file"

step "list and list --json show it"
microvmctl list | grep -Eq "^$vm +defined +- +2 +512M +qemu\$" || fail "list lacks $vm: $(microvmctl list)"
microvmctl list | grep -Eq '^NAME +STATE +PID +VCPUS +MEMORY +HYPERVISOR$' || fail "list has no header"
microvmctl list | grep -Eq '^[0-9]+ VMs? listed\.$' || fail "list has no count"
microvmctl --no-legend | grep -q "^$vm " || fail "microvmctl without a command does not list $vm"
if microvmctl list --no-legend | grep -Eq '^NAME|listed\.$'; then
        fail "list --no-legend printed a legend"
fi
check_json "$(microvmctl list --json)" \
        '{"Name": "'"$vm"'", "State": "defined", "MainPID": 0, "VCPUs": 2, "MemoryMiB": 512,
          "Hypervisor": "qemu"} in j'

step "status of a VM that never ran"
microvmctl status "$vm" >"$scratch/status"
expect_line "$scratch/status" "$vm"
expect_line "$scratch/status" "       State: defined"
expect_line "$scratch/status" "        Unit: microvm@$vm.service"
expect_line "$scratch/status" "      Memory: 512M"
expect_line "$scratch/status" " Config file: $config_dir/$vm.vm"
if grep -Eq 'Main PID|Stop reason|Serial console' "$scratch/status"; then
        fail "status of a VM that never ran shows a PID, a stop reason or a console:$(printf '\n%s' \
                "$(cat "$scratch/status")")"
fi
echo "   ok: no PID, stop reason or console"

step "info"
check_json "$(microvmctl info --json)" \
        'j["VMs"] >= 1 and j["AllocatedVCPUs"] >= 2 and isinstance(j["MemoryMiB"], int)'
microvmctl info | grep -Eq '^AllocatedMemoryMiB=[0-9]+$' || fail "info lacks AllocatedMemoryMiB"

step "update changes only what it is given"
microvmctl update "$vm" --set VCPUs=4
json=$(microvmctl show --json "$vm")
check_json "$json" 'j["VCPUs"] == 4 and j["MemoryMiB"] == 512 and len(j["Drives"]) == 2'
expect_line "$file" "VCPUs=4"

step "cloud-init contents: escaped on the command line and in show, real lines in JSON and the seed's key"
microvmctl update "$vm" --set 'UserData=#cloud-config\nruncmd: [ "echo hi" ]\n' --set LocalHostname=ctl-host
microvmctl show "$vm" >"$scratch/show"
expect_line "$scratch/show" 'UserData=#cloud-config\nruncmd: [ "echo hi" ]\n'
expect_line "$scratch/show" 'LocalHostname=ctl-host'
check_json "$(microvmctl show --json "$vm")" 'j["UserData"] == "#cloud-config\nruncmd: [ \"echo hi\" ]\n"'
expect_line "$file" 'UserData=#cloud-config\nruncmd: [ "echo hi" ]\n'
expect_fail 1 "UserData has the unknown escape" microvmctl update "$vm" --set 'UserData=a\qb'
microvmctl update "$vm" --set UserData= --set LocalHostname=

step "update: a --drive list replaces the drives, --drive= removes them"
microvmctl update "$vm" --drive Path=/var/lib/microvm/other.img
check_json "$(microvmctl show --json "$vm")" \
        'j["Drives"] == [{"Path": "/var/lib/microvm/other.img", "ReadOnly": False, "Root": False,
                          "Format": "auto", "Cache": "writeback", "Discard": False}]'
microvmctl update "$vm" --drive=
check_json "$(microvmctl show --json "$vm")" 'j["Drives"] == [] and j["VCPUs"] == 4'
grep -qFx '[Drive]' "$file" && fail "$file still has a [Drive] section"
microvmctl update "$vm" --drive Path=/var/lib/microvm/root.img,Root=yes

step "create $vm_file from a key file: round trip"
# Each VM's vsock context ID is its own: the copy gets another.
grep -q '^VsockCID=[0-9]' "$file" || fail "$file has no VsockCID assigned"
sed 's/^VsockCID=.*/VsockCID=1000/' "$file" >"$scratch/vm.vm"
microvmctl create "$vm_file" --file "$scratch/vm.vm"
cmp "$scratch/vm.vm" "$config_dir/$vm_file.vm" || fail "$vm_file's key file differs from the one it came from"
echo "   ok: $config_dir/$vm_file.vm is byte for byte the file given"
check_json "$(microvmctl show --json "$vm_file")" \
        'j["VCPUs"] == 4 and j["Autostart"] is True and len(j["Drives"]) == 1'

step "create $vm_mixed: --set and --drive override the key file"
microvmctl create "$vm_mixed" --file "$scratch/vm.vm" --set VCPUs=3 --set VsockCID=0 \
        --drive Path=/var/lib/microvm/a.img --drive Path=/var/lib/microvm/b.img,ReadOnly=yes
check_json "$(microvmctl show --json "$vm_mixed")" \
        'j["VCPUs"] == 3 and j["MemoryMiB"] == 512
         and [d["Path"] for d in j["Drives"]] == ["/var/lib/microvm/a.img", "/var/lib/microvm/b.img"]'

step "errors: bad values, unknown keys and VMs, invalid names; nothing written"
before=$(key_files)
expect_fail 1 "Unknown key 'Foo'" microvmctl create "$bad" --set Kernel=/k --set Foo=1
expect_fail 1 "Unknown key 'Foo'" microvmctl create "$bad" --set Kernel=/k --drive Path=/a,Foo=1
expect_fail 1 "Path is a key of [Drive]" microvmctl create "$bad" --set Path=/a
expect_fail 1 "VCPUs must be between 1 and 256, not 0" microvmctl create "$bad" --set Kernel=/k --set VCPUs=0
expect_fail 1 "VCPUs must be an unsigned decimal number" \
        microvmctl create "$bad" --set Kernel=/k --set VCPUs=abc
expect_fail 1 "Root must be a boolean" microvmctl create "$bad" --set Kernel=/k --drive Path=/a,Root=maybe
expect_fail 1 "Kernel must be an absolute path" microvmctl create "$bad" --set Kernel=vmlinuz
expect_fail 1 "Kernel is required" microvmctl create "$bad" --set VCPUs=1
expect_fail 1 "both have Root=yes" microvmctl create "$bad" --set Kernel=/k \
        --drive Path=/a,Root=yes --drive Path=/b,Root=yes
expect_fail 1 "VCPUs must be between 1 and 256, not 0" microvmctl update "$vm" --set VCPUs=0
expect_fail 1 "VCPUs must be an unsigned decimal number" microvmctl update "$vm" --set VCPUs=abc
expect_fail 1 "Drives[0].Path is required" microvmctl update "$vm" --drive ReadOnly=yes
expect_fail 1 "Drives[0]: '/var/lib/microvm/missing.img' does not exist" \
        microvmctl create "$bad" --set Kernel=/k --drive Path=/var/lib/microvm/missing.img
expect_fail 1 "Drives[1] is the root drive, but '/var/lib/microvm/data.img' holds no filesystem" \
        microvmctl update "$vm" --drive Path=/var/lib/microvm/a.img --drive Path=/var/lib/microvm/data.img,Root=yes
expect_fail 1 "No VM '$missing'" microvmctl show "$missing"
expect_fail 1 "No VM '$missing'" microvmctl update "$missing" --set VCPUs=2
expect_fail 1 "No VM '$missing'" microvmctl delete "$missing"
expect_fail 1 "is not a valid VM name" microvmctl create 'ctl-bad/name' --set Kernel=/k
expect_fail 1 "is not a valid VM name" microvmctl create --set Kernel=/k -- -ctl-bad
expect_fail 1 "is not a valid VM name" microvmctl create $'ctl-bad-\xff' --set Kernel=/k
expect_fail 1 "exists already" microvmctl create "$vm" --set Kernel=/k
expect_fail 1 "$scratch/absent.vm" microvmctl create "$bad" --file "$scratch/absent.vm"
[ "$(key_files)" = "$before" ] || fail "a failed command changed the key files"
[ ! -e "$config_dir/$bad.vm" ] || fail "a failed create left $config_dir/$bad.vm"
echo "   ok: no key file written or changed"

step "usage errors exit 2"
expect_fail 2 "needs a VM name" microvmctl show
expect_fail 2 "Too many arguments" microvmctl show "$vm" "$vm"
expect_fail 2 "Unknown command" microvmctl frobnicate
expect_fail 2 "--set expects KEY=VALUE" microvmctl create "$bad" --set VCPUs
expect_fail 2 "--drive expects KEY=VALUE" microvmctl create "$bad" --drive /a
expect_fail 2 "Nothing to change" microvmctl update "$vm"
expect_fail 2 "apply to 'create' and 'update' only" microvmctl list --set VCPUs=2
expect_fail 2 "--help" microvmctl --no-such-option

step "create $vm_run, which boots the test guest"
microvmctl create "$vm_run" --set Kernel="$guest/vmlinuz" --set Initrd="$guest/initramfs.cpio.gz" \
        --set MemoryMiB=256 --set KernelCommandLine=microvm.shell=1

step "start: running, with a PID, the guest reaches userspace"
out=$(timed microvmctl start "$vm_run")
[ -z "$out" ] || fail "start printed '$out'"
json=$(microvmctl show --json "$vm_run")
check_json "$json" 'j["State"] == "running" and j["MainPID"] > 0 and j["StartedAt"] > 0'
pid=$(prop "$vm_run" MainPID)
[ "$(cat "/proc/$pid/comm")" = qemu-system-x86 ] || fail "MainPID $pid is $(cat "/proc/$pid/comm"), not QEMU"
echo "   ok: MainPID $pid is QEMU"
wait_for "$boot_timeout" "guest ready line in $(serial_log "$vm_run")" booted "$vm_run"

step "status shows it running, its PID and the console"
microvmctl status "$vm_run" >"$scratch/status"
cat "$scratch/status"
grep -Eq '^       State: running since .+; .+ ago$' "$scratch/status" || fail "status lacks 'running since'"
expect_line "$scratch/status" "    Main PID: $pid (qemu-system-x86)"
expect_line "$scratch/status" "  Hypervisor: qemu, accelerator auto"
expect_line "$scratch/status" "Serial console, $(serial_log "$vm_run"):"
grep -Eq '^microvm-guest: ready uptime=' "$scratch/status" || fail "status lacks the guest's ready line"
grep -q 'Stop reason' "$scratch/status" && fail "status of a running VM shows a stop reason"
[ "$(grep -cv '^$' <(sed -n '/^Serial console/,$p' "$scratch/status"))" -le 11 ] ||
        fail "status shows more than 10 console lines"
check_json "$(microvmctl status --json "$vm_run")" \
        'j["MainPID"] == '"$pid"' and any(l.startswith("microvm-guest: ready") for l in j["SerialConsole"])'
microvmctl list | grep -Eq "^$vm_run +running +$pid +1 +256M +qemu\$" ||
        fail "list lacks $vm_run: $(microvmctl list)"
echo "   ok: list shows it running with PID $pid"

step "update while running: status says a restart applies it"
microvmctl update "$vm_run" --set VCPUs=2
[ "$(prop "$vm_run" NeedsRestart)" = yes ] || fail "NeedsRestart is not yes after an update while running"
microvmctl status "$vm_run" | grep -q 'stop and start it to apply the change' ||
        fail "status lacks the restart hint"
echo "   ok: restart hint"

step "errors: start of a running VM"
expect_fail 1 "VM '$vm_run' is running already" microvmctl start "$vm_run"
expect_fail 1 "No VM '$missing'" microvmctl start "$missing"

step "exec: stdin, stdout, stderr and the exit status of a command in the guest"
wait_for "$boot_timeout" "the guest agent of $vm_run" agent_ready "$vm_run"
out=$(printf 'to the guest\n' | microvmctl exec "$vm_run" -- sh -c 'cat; echo err >&2' 2>"$scratch/stderr")
[ "$out" = "to the guest" ] || fail "exec cat printed '$out'"
[ "$(cat "$scratch/stderr")" = err ] || fail "exec's stderr: $(cat "$scratch/stderr")"
rc=0; microvmctl exec "$vm_run" -- sh -c 'exit 7' </dev/null || rc=$?
[ "$rc" = 7 ] || fail "exec of 'exit 7' exited with $rc"
rc=0; microvmctl exec "$vm_run" -- sh -c 'kill -TERM $$' </dev/null || rc=$?
[ "$rc" = 143 ] || fail "exec of a command killed by SIGTERM exited with $rc, not 128 + 15"
echo "   ok: cat, exit 7, SIGTERM -> 143"
expect_fail 255 "No VM '$missing'" microvmctl exec "$missing" -- true
expect_fail 255 "Cannot execute '/no/such'" microvmctl exec "$vm_run" -- /no/such
expect_fail 255 "did not finish in time and was killed after 1000 ms" microvmctl exec --timeout=1 "$vm_run" -- sleep 30
expect_fail 2 "needs" microvmctl exec "$vm_run"

step "console: the guest's shell on a terminal (a pty), raw meanwhile, ^] three times detaches"
timed "${MVM_PYTHON3:-python3}" - "$vm_run" <<'PY' || fail "console on a pty"
import os, select, subprocess, sys, termios, time

name = sys.argv[1]
master, slave = os.openpty()
before = termios.tcgetattr(slave)
p = subprocess.Popen(["microvmctl", "console", name], stdin=slave, stdout=slave, stderr=slave,
                     start_new_session=True)
transcript = b""
unread = b""

def fail(why):
    if p.poll() is None:
        p.kill()
    print(f"   {why}; the terminal showed:\n{transcript.decode(errors='replace')}", file=sys.stderr)
    sys.exit(1)

def expect(text, timeout, poke=None):
    """Reads the terminal until text appears; writes poke every 2 s meanwhile."""
    global transcript, unread
    end = time.monotonic() + timeout
    next_poke = time.monotonic() if poke else None
    while text not in unread:
        now = time.monotonic()
        if now >= end:
            fail(f"no {text!r} within {timeout} s")
        if p.poll() is not None:
            fail(f"microvmctl exited with {p.returncode} before {text!r}")
        if next_poke is not None and now >= next_poke:
            os.write(master, poke)
            next_poke = now + 2
        wait = min(end, next_poke if next_poke is not None else end) - now
        if select.select([master], [], [], max(wait, 0))[0]:
            data = os.read(master, 65536)
            transcript += data
            unread += data
    unread = unread[unread.index(text) + len(text):]
    print(f"   ok: the terminal shows {text.decode()!r}")

expect(f"Connected to the console of VM {name}. Press ^] three times within 1s to disconnect.".encode(), 10)
# A fresh prompt, not only the one replayed; by then the relay runs.
expect(b"microvm# ", 20, poke=b"\r")
during = termios.tcgetattr(slave)
if during[3] & (termios.ICANON | termios.ECHO | termios.ISIG) or during[1] != before[1]:
    fail(f"the terminal is not raw with its output processing kept: {during} (before: {before})")
print("   ok: raw meanwhile, output processing kept")
os.write(master, b"echo console-$((6*7))\r")
expect(b"console-42", 10)
for _ in range(3):
    os.write(master, b"\x1d")
    time.sleep(0.1)
try:
    status = p.wait(10)
except subprocess.TimeoutExpired:
    fail("microvmctl still runs 10 s after ^]^]^]")
while select.select([master], [], [], 0.2)[0]:
    transcript += os.read(master, 65536)
if status != 0:
    fail(f"microvmctl exited with {status} after ^]^]^]")
if f"Disconnected from the console of VM {name}.".encode() not in transcript:
    fail("no 'Disconnected' message")
after = termios.tcgetattr(slave)
if after != before:
    fail(f"the terminal was left changed: {after}, before {before}")
print("   ok: exit 0 after ^]^]^], the terminal as before")
PY

step "console: a pipe's command answered, then it leaves once the console is quiet"
console_answers "$vm_run" 'echo pipe-$((6*7))' pipe-42
wait_for 10 "the serial output in the unit's journal (microvmctl logs)" \
        eval 'microvmctl logs "$vm_run" | grep -qF console-42'

step "pause and resume: State paused, then running, and the guest goes on"
microvmctl pause -v "$vm_run" | grep -qx "Paused VM '$vm_run'." || fail "pause -v"
check_json "$(microvmctl show --json "$vm_run")" 'j["State"] == "paused"'
microvmctl status "$vm_run" | grep -Eq '^       State: paused( since .+)?$' ||
        fail "status does not say paused"
expect_fail 1 "VM '$vm_run' is paused already" microvmctl pause "$vm_run"
timed microvmctl resume "$vm_run"
check_json "$(microvmctl show --json "$vm_run")" 'j["State"] == "running"'
microvmctl status "$vm_run" | grep -Eq '^       State: running since ' || fail "status does not say running"
expect_fail 1 "VM '$vm_run' is not paused (it is running)" microvmctl resume "$vm_run"
microvmctl exec "$vm_run" -- true </dev/null || fail "exec after resume"
echo "   ok: exec after resume"

step "snapshot to a path relative to the current directory"
# The key file as the VM runs again (VCPUs was changed above), or a restore would rightly refuse
# the snapshot as one of another configuration.
microvmctl update "$vm_run" --set VCPUs=1
out=$(cd "$snapshot_dir" && timed microvmctl snapshot -v "$vm_run" "$snapshot")
[ "$out" = "Saved VM '$vm_run' to $snapshot_dir/$snapshot." ] || fail "snapshot -v printed '$out'"
[ -s "$snapshot_dir/$snapshot" ] && [ -s "$snapshot_dir/$snapshot.meta" ] ||
        fail "no $snapshot_dir/$snapshot and .meta: $(ls -l "$snapshot_dir")"
check_json "$(microvmctl show --json "$vm_run")" 'j["State"] == "running"'
echo "   ok: $snapshot_dir/$snapshot, running as before"

step "stop: the guest agent shuts the guest down"
out=$(timed microvmctl stop -v "$vm_run" 2>"$scratch/stderr")
grep -qx "Stopped VM '$vm_run' (stop-request)." <<<"$out" || fail "stop -v printed '$out'"
[ ! -s "$scratch/stderr" ] || fail "stop printed on stderr: $(cat "$scratch/stderr")"
check_json "$(microvmctl show --json "$vm_run")" \
        'j["State"] == "stopped" and j["StopReason"] == "stop-request" and j["MainPID"] == 0'
wait_for 10 "the unit's journal says the agent was asked" journal_has "microvm@$vm_run.service" \
        "Asked the guest agent of VM $vm_run to shut down"
[ ! -e "/proc/$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != qemu-system-x86 ] ||
        fail "QEMU $pid still runs"
microvmctl status "$vm_run" >"$scratch/status"
expect_line "$scratch/status" "       State: stopped"
expect_line "$scratch/status" " Stop reason: stop-request"
grep -q 'Main PID' "$scratch/status" && fail "status of a stopped VM shows a PID"
echo "   ok: stopped, stop-request, through the agent"

step "errors: stop and kill of a stopped VM"
expect_fail 1 "VM '$vm_run' is not running (it is stopped)" microvmctl stop "$vm_run"
expect_fail 1 "VM '$vm_run' is not running (it is stopped)" microvmctl kill "$vm_run"

step "errors: console, pause and snapshot of a stopped VM"
expect_fail 1 "VM '$vm_run' is not running (it is stopped)" microvmctl console "$vm_run" </dev/null
expect_fail 1 "VM '$vm_run' is not running (it is stopped)" microvmctl pause "$vm_run"
expect_fail 1 "VM '$vm_run' is not running (it is stopped)" \
        microvmctl snapshot "$vm_run" "$snapshot_dir/$snapshot-stopped"
[ ! -e "$snapshot_dir/$snapshot-stopped" ] && [ ! -e "$snapshot_dir/$snapshot-stopped.meta" ] ||
        fail "a failed snapshot left a file behind"
microvmctl logs "$vm_run" | grep -qF "Asked the guest agent of VM $vm_run to shut down" ||
        fail "microvmctl logs lacks the unit's stop message"
echo "   ok: logs shows the unit's journal"

step "restore: the guest goes on from the snapshot"
out=$(cd "$snapshot_dir" && timed microvmctl restore -v "$vm_run" "$snapshot")
[ "$out" = "Restored VM '$vm_run' from $snapshot_dir/$snapshot." ] || fail "restore -v printed '$out'"
check_json "$(microvmctl show --json "$vm_run")" 'j["State"] == "running" and j["MainPID"] > 0'
console_answers "$vm_run" 'echo restored-$((6*7))' restored-42
microvmctl kill --signal=KILL "$vm_run"
wait_for 10 "$vm_run stopped after SIGKILL" state_is "$vm_run" stopped

step "kill --signal=KILL of a running VM"
timed microvmctl start "$vm_run"
wait_for "$boot_timeout" "guest ready line after the second start" booted "$vm_run"
pid=$(prop "$vm_run" MainPID)
out=$(microvmctl kill -v --signal=KILL "$vm_run")
[ "$out" = "Sent SIGKILL to VM '$vm_run'." ] || fail "kill -v printed '$out'"
wait_for 10 "$vm_run stopped after SIGKILL" state_is "$vm_run" stopped
check_json "$(microvmctl show --json "$vm_run")" 'j["StopReason"] == "killed" and j["MainPID"] == 0'
microvmctl status "$vm_run" | grep -qx ' Stop reason: killed' || fail "status lacks 'Stop reason: killed'"
echo "   ok: status says killed"

step "stop --timeout of a guest that ignores the power button: killed, with a warning"
microvmctl create "$vm_stubborn" --set Kernel="$guest/vmlinuz" --set Initrd="$guest/initramfs.cpio.gz" \
        --set MemoryMiB=256 --set 'KernelCommandLine=microvm.ignore_powerbutton=1 microvm.agent=0'
timed microvmctl start "$vm_stubborn"
wait_for "$boot_timeout" "guest ready line of $vm_stubborn" booted "$vm_stubborn"
timed microvmctl stop --timeout=2 "$vm_stubborn" >"$scratch/stdout" 2>"$scratch/stderr" ||
        fail "stop --timeout=2 failed: $(cat "$scratch/stderr")"
expect_line "$scratch/stderr" "microvmctl: VM '$vm_stubborn' did not shut down in time and was killed."
[ ! -s "$scratch/stdout" ] || fail "stop printed '$(cat "$scratch/stdout")' without -v"
check_json "$(microvmctl show --json "$vm_stubborn")" \
        'j["State"] == "stopped" and j["StopReason"] == "timeout-kill"'
expect_serial "$vm_stubborn" "microvm-guest: power button pressed, ignored"

step "usage errors of start, stop and kill exit 2"
expect_fail 2 "Unknown signal 'NOPE'" microvmctl kill --signal=NOPE "$vm_run"
expect_fail 2 "Unknown signal 'SIGNOPE'" microvmctl kill -s SIGNOPE "$vm_run"
expect_fail 2 "Unknown signal '0'" microvmctl kill --signal=0 "$vm_run"
expect_fail 2 "--timeout takes a whole number of seconds" microvmctl stop --timeout=0 "$vm_run"
expect_fail 2 "--timeout takes a whole number of seconds" microvmctl stop --timeout=soon "$vm_run"
expect_fail 2 "--timeout applies to 'stop', 'exec' and 'console' only" microvmctl start --timeout=5 "$vm_run"
expect_fail 2 "--signal applies to 'kill' only" microvmctl stop --signal=KILL "$vm_run"
expect_fail 2 "--follow applies to 'logs' only" microvmctl console -f "$vm_run"
expect_fail 2 "--quiet applies to 'console' only" microvmctl logs -q "$vm_run"
expect_fail 2 "needs a VM name and a path" microvmctl snapshot "$vm_run"
expect_fail 2 "Too many arguments" microvmctl restore "$vm_run" a b
expect_fail 2 "needs VM names" microvmctl start
expect_fail 2 "Too many arguments" microvmctl status "$vm_run" "$vm"

step "delete removes them"
microvmctl delete "$vm" "$vm_file" "$vm_mixed" "$vm_run" "$vm_stubborn"
for name in "$vm" "$vm_file" "$vm_mixed" "$vm_run" "$vm_stubborn"; do
        [ ! -e "$config_dir/$name.vm" ] || fail "$config_dir/$name.vm is still there"
        expect_fail 1 "No VM '$name'" microvmctl show "$name"
done
if microvmctl list --no-legend | grep -q "^ctl-[a-z]*-$$ "; then
        fail "list still shows a deleted VM"
fi

echo "PASS"
