# SPDX-License-Identifier: LGPL-2.1-or-later
"""microvm beside libvirt on the same guest, each driven by its own command-line tool, interleaved
round by round: define (microvmctl create / virsh define), start to the guest's ready line
(microvmctl start / virsh start, then the line in the serial log), list (microvmctl list / virsh
list --all), undefine (microvmctl delete / virsh undefine), and the daemons' memory. Runs inside
the private systemd that bench/peers sets up, with microvm installed and libvirtd running."""

import argparse
import os
import statistics
import subprocess
import time

READY = b"microvm-guest: ready"
VIRSH = ["virsh", "-c", "qemu:///system"]


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def timed(cmd):
    start = time.monotonic()
    run(cmd)
    return (time.monotonic() - start) * 1000


def wait_ready(path, start, timeout=120):
    """ms from start until path holds the guest's ready line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                if READY in f.read():
                    return (time.monotonic() - start) * 1000
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    raise RuntimeError(f"no ready line in {path} after {timeout} s")


def rss_kib(unit):
    pid = subprocess.run(["systemctl", "show", "-P", "MainPID", unit], check=True, capture_output=True,
                         text=True).stdout.strip()
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {unit}")


def domain_xml(name, guest, cmdline, serial):
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='microvm'>hvm</type>
    <kernel>{guest}/vmlinuz</kernel>
    <initrd>{guest}/initramfs.cpio.gz</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <!-- As microvm's guests: ACPI, for the power button a graceful stop presses. -->
  <features><acpi/></features>
  <cpu mode='maximum'/>
  <devices>
    <serial type='file'><source path='{serial}'/></serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def microvm_round(i, guest):
    name = f"peer-mvm-{i}"
    t = {}
    t["define"] = timed(["microvmctl", "create", name, f"--set=Kernel={guest}/vmlinuz",
                         f"--set=Initrd={guest}/initramfs.cpio.gz", "--set=MemoryMiB=256", "--set=VCPUs=1"])
    start = time.monotonic()
    run(["microvmctl", "start", name])
    t["start"] = wait_ready(f"/var/lib/microvm/{name}/serial.log", start)
    t["list"] = timed(["microvmctl", "list"])
    run(["microvmctl", "kill", "--signal=KILL", name])
    # Until microvmd has seen the unit go: a running VM cannot be deleted.
    path = "/org/microvm/Manager/vm/" + name.replace("-", "_2d")
    for _ in range(500):
        state = subprocess.run(["busctl", "get-property", "org.microvm.Manager", path, "org.microvm.VM", "State"],
                               capture_output=True, text=True).stdout.split()[-1].strip('"')
        if state not in ("running", "stopping"):
            break
        time.sleep(0.02)
    t["undefine"] = timed(["microvmctl", "delete", name])
    return t


def libvirt_round(i, guest, cmdline, scratch):
    name = f"peer-virt-{i}"
    serial = f"{scratch}/{name}.log"
    xml = f"{scratch}/{name}.xml"
    with open(xml, "w") as f:
        f.write(domain_xml(name, guest, cmdline, serial))
    t = {}
    t["define"] = timed(VIRSH + ["define", xml])
    start = time.monotonic()
    run(VIRSH + ["start", name])
    t["start"] = wait_ready(serial, start)
    t["list"] = timed(VIRSH + ["list", "--all"])
    run(VIRSH + ["destroy", name])
    t["undefine"] = timed(VIRSH + ["undefine", name])
    return t


def figure(summary, name, value, unit, baseline, target):
    ratio = value / baseline
    verdict = "met" if ratio <= target else "MISSED"
    print(f"{name}: {value:.1f} {unit} (target <= {target:g}x libvirt, baseline {baseline:.1f} {unit}, "
          f"ratio {ratio:.2f})")
    if summary:
        with open(summary, "a") as f:
            f.write(f"{name}\t{value:.1f} {unit}\t<= {target:g}x libvirt\t{baseline:.1f} {unit} (libvirt)\t{verdict}\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--guest", required=True)
    p.add_argument("--scratch", required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--summary")
    a = p.parse_args()

    version = subprocess.run(VIRSH + ["version", "--daemon"], capture_output=True, text=True).stdout
    libvirt = next((line.split()[-1] for line in version.splitlines() if "libvirt" in line and "Running" in line),
                   "9.0")
    print(f"== peers: microvm and libvirt {libvirt}, machine microvm, TCG, {a.rounds} rounds interleaved")

    # A first start of each, not measured: the caches (the accelerator probe, the TSC rate) fill.
    microvm_round("warm", a.guest)
    with open("/run/microvm/tsc-khz") as f:
        tsc = f.read().strip()
    # The kernel command line microvm gives the guest, for libvirt's too.
    cmdline = f"console=ttyS0,115200 tsc_early_khz={tsc}"
    libvirt_round("warm", a.guest, cmdline, a.scratch)

    mvm, virt = [], []
    for i in range(a.rounds):
        mvm.append(microvm_round(i, a.guest))
        virt.append(libvirt_round(i, a.guest, cmdline, a.scratch))

    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    figure(a.summary, "define a VM (microvmctl create / virsh define)", med(mvm, "define"), "ms",
           med(virt, "define"), 1.0)
    figure(a.summary, "start to the guest's ready line (CLI)", med(mvm, "start"), "ms", med(virt, "start"), 1.0)
    figure(a.summary, "list VMs (microvmctl list / virsh list --all)", med(mvm, "list"), "ms", med(virt, "list"), 1.0)
    figure(a.summary, "undefine a VM (microvmctl delete / virsh undefine)", med(mvm, "undefine"), "ms",
           med(virt, "undefine"), 1.0)
    figure(a.summary, "daemon RSS, idle (microvmd / libvirtd)", rss_kib("microvmd.service") / 1024, "MiB",
           rss_kib("libvirtd.service") / 1024, 1.0)


if __name__ == "__main__":
    main()
