#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Cockpit page in a real browser.

cockpit-ws (Debian's) serves the installed page on 127.0.0.1 in this namespace; headless
Chromium, driven through chromedriver, logs in as users made for the test. As a member of
group microvm with the example polkit rule, the test creates a VM from the page's form, edits
it, starts it, reads the guest's boot output and types into its serial console, runs commands
through the guest agent, pauses, resumes, snapshots, stops, restores (the guest remembers),
kills and deletes it, and checks each step both in the page and on the bus. As a user without
rights it checks that the page is read-only, and after the rule is taken away from a page that
still shows its buttons, that polkit's refusal is shown and nothing changes. Screenshots go to
$MVM_TEST_OUTPUT/cockpit/.
"""

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

PORT = 9091
BASE = f"http://127.0.0.1:{PORT}"
WS_UNIT = "microvm-test-cockpit-ws.service"
WS_CONFIG = "/run/microvm-test-cockpit"
GROUP = "microvm"
ADMIN = "mvm-cockpit-admin"
VIEWER = "mvm-cockpit-viewer"
RULE = "/etc/polkit-1/rules.d/50-microvm-group.rules"
HOMES = "/var/lib/microvm-test-cockpit-homes"
SNAPSHOTS = f"/var/lib/microvm/snapshots/{ADMIN}"
PREFIX = "ck-"
VM = PREFIX + "web"
VM_VIEW = PREFIX + "view"
# The VM object's properties that are not configuration keys: the form must offer all others.
STATUS_PROPERTIES = {"Name", "State", "Unit", "ConfigFile", "Transient", "MainPID", "StartedAt",
                     "StopReason", "NeedsRestart", "AgentConnected", "Ready", "ReadyAt"}
MANAGER = ["org.microvm.Manager", "/org/microvm/Manager", "org.microvm.Manager"]

source_root = os.environ["MVM_SOURCE_ROOT"]
guest_dir = os.environ["MVM_GUEST_DIR"]
output_dir = os.path.join(os.environ.get("MVM_TEST_OUTPUT", tempfile.gettempdir()), "cockpit")
passwords = {ADMIN: secrets.token_urlsafe(12), VIEWER: secrets.token_urlsafe(12)}
failures = []


def log(message):
    print(message, flush=True)


def run(command, check=True):
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return result


def busctl(*args, check=True):
    result = run(["busctl", "--json=short", *args], check=check)
    return json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else None


def manager(method, signature="", *args, check=True):
    return busctl("call", *MANAGER, method, signature, *map(str, args), check=check)


def vm_names():
    return [vm[0] for vm in manager("ListVMs")["data"][0]]


def vm_path(name):
    return manager("GetVM", "s", name)["data"][0]


def vm_properties(name):
    reply = busctl("call", "org.microvm.Manager", vm_path(name), "org.freedesktop.DBus.Properties",
                   "GetAll", "s", "org.microvm.VM")
    return {key: value["data"] for key, value in reply["data"][0].items()}


def vm_property(name, prop):
    return busctl("get-property", "org.microvm.Manager", vm_path(name), "org.microvm.VM", prop)["data"]


def unit_state(name):
    return run(["systemctl", "show", "--value", "--property=ActiveState", f"microvm@{name}.service"]).stdout.strip()


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (NoSuchElementException, StaleElementReferenceException):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def expect(condition, what):
    if not condition:
        failures.append(what)
        log(f"FAIL: {what}")


def cleanup_vms():
    run(["systemctl", "kill", "--signal=SIGKILL", f"microvm@{PREFIX}*.service"], check=False)
    run(["systemctl", "stop", f"microvm@{PREFIX}*.service"], check=False)
    for name in vm_names():
        if name.startswith(PREFIX):
            manager("DeleteVM", "s", name, check=False)


def set_up():
    cleanup_vms()
    run(["sh", "-c", f"getent group {GROUP} >/dev/null || groupadd --system {GROUP}"])
    for user in (ADMIN, VIEWER):
        run(["userdel", "--remove", user], check=False)
    shutil.rmtree(HOMES, ignore_errors=True)
    remove_snapshots()
    # Homes of the test's own, gone with the users.
    os.makedirs(HOMES, exist_ok=True)
    run(["useradd", "--create-home", f"--home-dir={HOMES}/{ADMIN}", "--groups", f"{GROUP},systemd-journal", ADMIN])
    run(["useradd", "--create-home", f"--home-dir={HOMES}/{VIEWER}", VIEWER])
    for user, password in passwords.items():
        subprocess.run(["chpasswd"], input=f"{user}:{password}\n", text=True, check=True)
    run(["install", "-d", "-o", ADMIN, SNAPSHOTS])
    grant()
    # Cockpit refuses logins over plain HTTP unless told otherwise; TLS would add nothing here.
    os.makedirs(f"{WS_CONFIG}/cockpit", exist_ok=True)
    with open(f"{WS_CONFIG}/cockpit/cockpit.conf", "w") as f:
        f.write("[WebService]\nAllowUnencrypted=true\n")
    run(["systemctl", "stop", WS_UNIT], check=False)
    run(["systemd-run", f"--unit={WS_UNIT}", f"--setenv=XDG_CONFIG_DIRS={WS_CONFIG}",
         "/usr/lib/cockpit/cockpit-ws", "--no-tls", f"--port={PORT}", "--address=127.0.0.1"])
    wait_until(cockpit_answers, 30, "cockpit-ws to answer")
    os.makedirs(output_dir, exist_ok=True)


def cockpit_answers():
    try:
        with urllib.request.urlopen(BASE + "/", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def grant():
    shutil.copy(os.path.join(source_root, "polkit", "50-microvm-group.rules"), RULE)
    time.sleep(2)       # polkitd reads rules when it notices them


def revoke():
    if os.path.exists(RULE):
        os.unlink(RULE)
    time.sleep(2)


def remove_snapshots():
    shutil.rmtree(SNAPSHOTS, ignore_errors=True)
    try:
        os.rmdir(os.path.dirname(SNAPSHOTS))
    except OSError:
        pass            # an administrator's other users have theirs there


def tear_down():
    cleanup_vms()
    run(["systemctl", "stop", WS_UNIT], check=False)
    shutil.rmtree(WS_CONFIG, ignore_errors=True)
    revoke()
    for user in (ADMIN, VIEWER):
        run(["loginctl", "terminate-user", user], check=False)
        run(["userdel", "--remove", user], check=False)
    shutil.rmtree(HOMES, ignore_errors=True)
    remove_snapshots()


class Page:
    """Chromium logged in to Cockpit as one user, looking at the MicroVMs page."""

    def __init__(self, user):
        self.profile = tempfile.mkdtemp(prefix="mvm-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        # Without the networking flags Chromium keeps trying to reach Google's hosts.
        for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1280,1400", f"--user-data-dir={self.profile}"]:
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # Chromium keeps crash reports and settings under $HOME: a home of its own, gone with the profile.
        home = os.path.join(self.profile, "home")
        os.makedirs(home)
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=f"{home}/.config", XDG_CACHE_HOME=f"{home}/.cache")
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver", env=env), options=options)
        self.user = user
        self.login()

    def login(self):
        d = self.driver
        d.get(BASE + "/")
        wait_until(lambda: d.find_element(By.ID, "login-user-input").is_displayed(), 30, "the login form")
        d.find_element(By.ID, "login-user-input").send_keys(self.user)
        d.find_element(By.ID, "login-password-input").send_keys(passwords[self.user])
        d.find_element(By.ID, "login-button").click()
        wait_until(lambda: d.find_elements(By.CSS_SELECTOR, "iframe[name^='cockpit1:']"), 60,
                   f"Cockpit's shell after logging in as {self.user}")
        d.get(BASE + "/microvm")
        menu = wait_until(lambda: [a for a in d.find_elements(By.TAG_NAME, "a") if a.text.strip() == "MicroVMs"],
                          60, "MicroVMs in Cockpit's menu")
        expect(menu, "the shell's menu has MicroVMs")
        frame = wait_until(lambda: d.find_element(By.CSS_SELECTOR, "iframe[name='cockpit1:localhost/microvm']"),
                           60, "the MicroVMs page's frame")
        d.switch_to.frame(frame)
        wait_until(lambda: self.body().get_attribute("data-ready") == "true" or self.alert(), 60, "the page to load")
        if self.alert():
            raise AssertionError(f"the page did not load: {self.alert()}")

    def body(self):
        return self.driver.find_element(By.TAG_NAME, "body")

    def by_id(self, element_id):
        return self.driver.find_element(By.ID, element_id)

    def text(self, element_id):
        return self.by_id(element_id).text

    def alert(self):
        alert = self.by_id("alert")
        return alert.text if alert.is_displayed() else ""

    def row(self, name):
        rows = self.driver.find_elements(By.CSS_SELECTOR, f"#vms tbody tr[data-name='{name}']")
        return rows[0] if rows else None

    def cell(self, name, field):
        row = self.row(name)
        return row.find_element(By.CSS_SELECTOR, f"td[data-field='{field}']").text if row else None

    def wait_cell(self, name, field, value, timeout=30):
        wait_until(lambda: self.cell(name, field) == value, timeout, f"{name}'s {field} to show {value!r} in the table")

    def click(self, element_id):
        button = wait_until(lambda: self.by_id(element_id) if self.by_id(element_id).is_enabled() else None, 30,
                            f"#{element_id} to be enabled")
        button.click()

    def fill(self, element_id, value):
        field = self.by_id(element_id)
        field.clear()
        field.send_keys(value)

    def screenshot(self, name, element_id=None):
        path = os.path.join(output_dir, name + ".png")
        if element_id:
            self.by_id(element_id).screenshot(path)
        else:
            self.driver.save_screenshot(path)
        log(f"screenshot: {path}")

    def close(self):
        for entry in self.driver.get_log("browser"):
            if entry["level"] == "SEVERE" and "/cockpit/login" not in entry["message"]:
                log(f"browser console: {entry['message']}")
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


def check_form(page):
    """The form has a field for every configuration key; a bad name is refused in the form."""
    page.click("create-open")
    fields = {e.get_attribute("data-key") for e in page.driver.find_elements(By.CSS_SELECTOR, "#create-fields [data-key]")}
    probe = PREFIX + "probe"
    manager("CreateVM", "sa{sv}", probe, 1, "Kernel", "s", f"{guest_dir}/vmlinuz")
    keys = set(vm_properties(probe)) - STATUS_PROPERTIES
    manager("DeleteVM", "s", probe)
    expect(fields == keys, f"the form's fields are the configuration keys: form {sorted(fields)}, bus {sorted(keys)}")

    page.fill("create-name", "-bad")
    page.fill("field-Kernel", f"{guest_dir}/vmlinuz")
    page.click("create-submit")
    error = wait_until(lambda: page.text("create-error"), 30, "CreateVM's refusal in the form")
    expect("name" in error.lower() and "InvalidName" in error, f"the form shows microvmd's InvalidName message: {error!r}")
    expect("-bad" not in vm_names(), "the refused VM does not exist")


def create_vm(page, data_image):
    page.fill("create-name", VM)
    page.fill("field-Initrd", f"{guest_dir}/initramfs.cpio.gz")
    page.fill("field-KernelCommandLine", "microvm.shell=1")
    page.fill("field-MemoryMiB", "192")
    page.click("field-Drives-add")
    page.fill("field-Drives-0-Path", data_image)
    page.by_id("field-Drives-0-ReadOnly").click()
    page.screenshot("create-form")
    page.click("create-submit")
    page.wait_cell(VM, "State", "defined")
    expect(page.cell(VM, "MemoryMiB") == "192 MiB", f"the table shows 192 MiB: {page.cell(VM, 'MemoryMiB')!r}")
    props = vm_properties(VM)
    expect(props["MemoryMiB"] == 192 and props["KernelCommandLine"] == "microvm.shell=1"
           and props["Kernel"] == f"{guest_dir}/vmlinuz" and props["Initrd"] == f"{guest_dir}/initramfs.cpio.gz",
           f"the bus has the form's configuration: {props}")
    drives = props["Drives"]
    expect(len(drives) == 1 and drives[0]["Path"]["data"] == data_image and drives[0]["ReadOnly"]["data"] is True,
           f"the bus has the form's read-only drive: {drives}")
    expect(page.text("details-name") == VM, "the new VM is selected")


def live_updates(page):
    """A change made elsewhere (busctl as root) reaches the table through PropertiesChanged, and
    the page does not poll: while it sits open, it calls nothing on microvmd."""
    monitor = subprocess.Popen(["busctl", "monitor", "--json=short",
                                "--match=type='method_call',path_namespace='/org/microvm/Manager'"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(5)
    monitor.terminate()
    calls = [line for line in monitor.communicate()[0].splitlines() if '"method_call"' in line]
    expect(not calls, f"the idle page calls nothing on microvmd in 5 s: {calls}")
    manager("UpdateVM", "sa{sv}", VM, 1, "VCPUs", "u", 2)
    page.wait_cell(VM, "VCPUs", "2", timeout=10)


def snapshot_path():
    """Where the page suggests: the user's own directory, which an administrator made."""
    return f"{SNAPSHOTS}/{VM}.snap"


def run_command(page, command, expected):
    """Runs command in the guest from the command box; its output as the page shows it."""
    wait_until(lambda: page.by_id("exec").is_displayed() and page.by_id("exec-run").is_enabled(), 120,
               "the command box (the guest agent connected)")
    page.fill("exec-command", command)
    page.click("exec-run")
    wait_until(lambda: page.by_id("exec-output").get_attribute("data-state") == "done", 60, f"{command!r} to end")
    output = page.text("exec-output")
    expect(expected in output, f"{command!r} printed {expected!r}: {output!r}")
    return output


def edit_vm(page, data_image):
    """Edit fills the form with the VM's configuration and sends only what changed (UpdateVM)."""
    page.click("vm-edit")
    wait_until(lambda: page.text("create-title") == f"Edit VM {VM}", 10, "the edit form")
    value = lambda element_id: page.by_id(element_id).get_attribute("value")
    expect(value("field-VCPUs") == "2" and value("field-MemoryMiB") == "192"
           and value("field-KernelCommandLine") == "microvm.shell=1", "the form shows the VM's configuration")
    expect(value("field-Drives-0-Path") == data_image and page.by_id("field-Drives-0-ReadOnly").is_selected(),
           "the form shows the VM's drive")
    expect(not page.by_id("create-name").is_enabled(), "the name cannot be edited")
    page.fill("field-MemoryMiB", "160")
    page.click("create-submit")
    page.wait_cell(VM, "MemoryMiB", "160 MiB", timeout=10)
    wait_until(lambda: not page.by_id("create").is_displayed(), 10, "the form to close")
    props = vm_properties(VM)
    drives = props["Drives"]
    expect(props["MemoryMiB"] == 160 and props["VCPUs"] == 2 and props["KernelCommandLine"] == "microvm.shell=1"
           and len(drives) == 1 and drives[0]["ReadOnly"]["data"] is True,
           f"only MemoryMiB changed on the bus: {props}")


def run_vm(page):
    page.click("vm-start")
    page.wait_cell(VM, "State", "running", timeout=180)
    expect(vm_property(VM, "State") == "running", "the bus says running")
    expect(unit_state(VM) == "active", f"microvm@{VM}.service is active: {unit_state(VM)}")
    wait_until(lambda: page.text("details-state") == "running", 10, "the details to say running")

    page.click("console-connect")
    wait_until(lambda: "microvm-guest: ready" in page.text("console"), 180, "the guest's boot output in the console pane")
    wait_until(lambda: page.text("console").rstrip().endswith("#"), 60, "the guest shell's prompt in the console pane")
    page.by_id("console").send_keys("echo console-$((6*7))\n")
    wait_until(lambda: "console-42" in page.text("console"), 30, "the guest's answer in the console pane")
    page.screenshot("console", "details")
    page.screenshot("list")

    wait_until(lambda: page.by_id("exec").is_displayed(), 120, "the command box (the guest agent connected)")
    output = run_command(page, "echo agent-$((6*7)); uname -s", "Linux")
    expect("agent-42" in output and "[exit status 0]" in output, f"the guest command's output and status: {output!r}")

    wait_until(lambda: "microvm-guest: ready" in page.text("boot-log"), 60, "the serial output in the boot log")

    page.click("vm-pause")
    page.wait_cell(VM, "State", "paused")
    expect(vm_property(VM, "State") == "paused", "the bus says paused")
    page.click("vm-resume")
    page.wait_cell(VM, "State", "running")
    expect(vm_property(VM, "State") == "running", "the bus says running again")

    # Something only the guest's memory holds, then a snapshot that keeps it (restored below).
    run_command(page, "echo remembered-$((6*7)) > /tmp/mark; echo marked", "marked")
    expect(page.by_id("vm-snapshot-path").get_attribute("value") == snapshot_path(),
           f"the page suggests the VM's state directory: {page.by_id('vm-snapshot-path').get_attribute('value')!r}")
    page.click("vm-snapshot")
    wait_until(lambda: "Snapshot written" in page.text("details-result"), 60, "the snapshot's confirmation")
    owner = os.stat(snapshot_path()).st_uid
    expect(owner == pwd.getpwnam(ADMIN).pw_uid, f"the snapshot is the caller's: uid {owner}")
    expect(vm_property(VM, "State") == "running", "the VM goes on after the snapshot")

    page.fill("vm-stop-timeout", "20")
    page.click("vm-stop")
    page.wait_cell(VM, "State", "stopped", timeout=60)
    expect(vm_property(VM, "StopReason") == "stop-request", f"the guest shut down: {vm_property(VM, 'StopReason')}")
    expect(unit_state(VM) == "inactive", f"the unit is inactive: {unit_state(VM)}")
    wait_until(lambda: "Console closed" in page.text("console-status"), 30, "the console pane to say it closed")


def refused_start(page):
    """With the rule gone, the page (whose buttons were enabled as it loaded) shows polkit's
    refusal, and the VM stays as it was."""
    revoke()
    page.click("vm-start")
    message = wait_until(page.alert, 30, "the refusal")
    expect("Access denied by polkit" in message and "Traceback" not in message and " at " not in message,
           f"polkit's message is shown: {message!r}")
    time.sleep(1)
    expect(vm_property(VM, "State") == "stopped" and unit_state(VM) == "inactive", "the refused start changed nothing")
    page.screenshot("refused")
    grant()


def restore_and_kill(page):
    """Restored from the snapshot, the guest still has what it had in memory; then it is killed:
    the hypervisor gets SIGKILL through systemd."""
    page.click("vm-restore")
    page.wait_cell(VM, "State", "running", timeout=120)
    wait_until(lambda: "Restored from" in page.text("details-result"), 30, "the restore's confirmation")
    expect(vm_property(VM, "State") == "running" and unit_state(VM) == "active", "the bus says running")
    run_command(page, "cat /tmp/mark", "remembered-42")
    page.click("vm-kill")
    page.wait_cell(VM, "State", "stopped", timeout=60)
    expect(vm_property(VM, "StopReason") == "killed", f"the VM was killed: {vm_property(VM, 'StopReason')}")
    expect(unit_state(VM) in ("inactive", "failed"), f"the unit is down: {unit_state(VM)}")


def delete_vm(page):
    page.click("vm-delete")
    wait_until(lambda: page.by_id("delete-dialog").is_displayed(), 10, "the confirmation")
    expect(VM in page.text("delete-question"), "the confirmation names the VM")
    page.click("delete-cancel")
    time.sleep(1)
    expect(VM in vm_names() and page.row(VM), "Cancel keeps the VM")
    page.click("vm-delete")
    wait_until(lambda: page.by_id("delete-dialog").is_displayed(), 10, "the confirmation")
    page.click("delete-confirm")
    wait_until(lambda: page.row(VM) is None, 30, "the row to go")
    expect(VM not in vm_names(), "the VM is gone from the bus")
    expect(not os.path.exists(f"/etc/microvm/vms/{VM}.vm"), "its key file is gone")
    expect(not page.by_id("details").is_displayed(), "the details close")


def read_only(page):
    """A user polkit gives nothing sees everything and can change nothing."""
    wait_until(lambda: page.cell(VM_VIEW, "State") == "defined", 30, "the VM in the viewer's table")
    notice = page.text("notice")
    expect("Read-only" in notice and "org.microvm.lifecycle" in notice and "org.microvm.manage" in notice,
           f"the page says it is read-only and why: {notice!r}")
    expect(not page.by_id("create-open").is_enabled(), "Create VM is disabled")
    page.row(VM_VIEW).click()
    wait_until(lambda: page.text("details-name") == VM_VIEW, 10, "the details")
    for button in ("vm-start", "vm-delete", "console-connect"):
        expect(not page.by_id(button).is_enabled(), f"#{button} is disabled")
    expect("polkit" in page.by_id("vm-start").get_attribute("title"), "the disabled button says why")
    before = open(f"/etc/microvm/vms/{VM_VIEW}.vm").read()
    page.by_id("vm-start").click()
    time.sleep(1)
    expect(vm_property(VM_VIEW, "State") == "defined" and open(f"/etc/microvm/vms/{VM_VIEW}.vm").read() == before,
           "nothing changed")
    page.screenshot("read-only")


def main():
    set_up()
    data_image = os.path.join(tempfile.mkdtemp(prefix="mvm-cockpit-", dir="/var/lib"), "data.img")
    run(["mkfs.ext4", "-q", "-L", "ckdata", data_image, "4M"])
    os.chmod(os.path.dirname(data_image), 0o755)
    try:
        page = Page(ADMIN)
        try:
            expect(not page.by_id("notice").is_displayed(), "no read-only notice for a user with every right")
            check_form(page)
            create_vm(page, data_image)
            live_updates(page)
            edit_vm(page, data_image)
            run_vm(page)
            refused_start(page)
            restore_and_kill(page)
            delete_vm(page)
        except Exception:
            page.screenshot("failure")
            raise
        finally:
            page.close()

        manager("CreateVM", "sa{sv}", VM_VIEW, 1, "Kernel", "s", f"{guest_dir}/vmlinuz")
        page = Page(VIEWER)
        try:
            read_only(page)
        except Exception:
            page.screenshot("failure-viewer")
            raise
        finally:
            page.close()
    finally:
        tear_down()
        shutil.rmtree(os.path.dirname(data_image), ignore_errors=True)
    if failures:
        log(f"{len(failures)} check(s) failed")
        return 1
    log("cockpit: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
