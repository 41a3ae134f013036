// SPDX-License-Identifier: LGPL-2.1-or-later
// The selected VM: what it is, the lifecycle and snapshot buttons its state allows, its console,
// the guest command box and its boot log. Buttons polkit does not allow the user stay disabled; a
// call microvmd refuses shows microvmd's message (polkit's refusal among them).

import { callManager, describeError } from "./bus.js";
import { BootLog } from "./boot-log.js";
import { ConsolePane } from "./console.js";
import { ExecBox } from "./exec.js";
import { STATE_DIR } from "./paths.js";
import { deniedTitle } from "./permissions.js";

const FACTS = [
    ["Unit", "Unit"], ["Hypervisor", "Hypervisor"], ["Accelerator", "Accelerator"], ["Kernel", "Kernel"],
    ["Configuration", "ConfigFile"], ["Last stop", "StopReason"], ["Guest ready", "Ready"],
    ["Needs restart", "NeedsRestart"],
];

// Which button each state allows; a start or stop under way allows none.
const ALLOWED = {
    start: ["defined", "stopped", "crashed"],
    stop: ["running", "paused"],
    kill: ["running", "paused", "stopping"],
    pause: ["running"],
    resume: ["paused"],
    delete: ["defined", "stopped", "crashed"],
    // A running VM's changes apply at its next start (NeedsRestart).
    edit: ["defined", "starting", "running", "paused", "stopping", "stopped", "crashed"],
    snapshot: ["running", "paused"],
    restore: ["defined", "stopped", "crashed"],
};

// The right each button needs (see permissions.js).
const RIGHTS = { start: "lifecycle", stop: "lifecycle", kill: "lifecycle", pause: "lifecycle",
                 resume: "lifecycle", delete: "manage", edit: "manage", snapshot: "lifecycle", restore: "lifecycle" };

export class VMDetails {
    constructor(permissions, user, { stateOf, showError, clearError, edit }) {
        this.permissions = permissions;
        // microvmd writes a snapshot only where it may (below its state directory, ProtectSystem=
        // strict) and, for anyone but root, only into a directory the caller owns: one such per
        // user is where the page suggests them.
        this.snapshotDir = `${STATE_DIR}/snapshots/${user}`;
        document.getElementById("snapshot-hint").textContent =
            `Snapshots are written into a directory of yours below ${STATE_DIR}. An administrator ` +
            `makes one with: install -d -o ${user} ${this.snapshotDir}`;
        this.stateOf = stateOf;
        this.showError = showError;
        this.clearError = clearError;
        this.section = document.getElementById("details");
        this.name = null;
        this.proxy = null;
        this.busy = false;
        this.console = new ConsolePane();
        this.exec = new ExecBox();
        this.bootLog = new BootLog();
        this.buttons = Object.fromEntries(Object.keys(ALLOWED).map(verb => [verb, document.getElementById(`vm-${verb}`)]));
        this.buttons.start.addEventListener("click", () => this.run("StartVM", [this.name]));
        this.buttons.stop.addEventListener("click", () => this.stop());
        this.buttons.kill.addEventListener("click", () => this.run("KillVM", [this.name, 9]));
        this.buttons.pause.addEventListener("click", () => this.run("PauseVM", [this.name]));
        this.buttons.resume.addEventListener("click", () => this.run("ResumeVM", [this.name]));
        this.buttons.delete.addEventListener("click", () => this.confirmDelete());
        this.buttons.edit.addEventListener("click", () => edit(this.proxy));
        this.buttons.snapshot.addEventListener("click", () => this.snapshot("SnapshotVM"));
        this.buttons.restore.addEventListener("click", () => this.snapshot("RestoreVM"));
        this.result = document.getElementById("details-result");
        this.snapshotPath = document.getElementById("vm-snapshot-path");
    }

    show(name, proxy) {
        if (name !== this.name) {
            this.clearError();
            this.result.textContent = "";
            this.snapshotPath.value = name ? `${this.snapshotDir}/${name}.snap` : "";
        }
        this.name = name;
        this.proxy = proxy;
        this.section.hidden = !name;
        if (!name) {
            this.console.show(null, false, "");
            this.bootLog.show(null);
            return;
        }
        this.render();
        this.bootLog.show(proxy.data.Unit);
    }

    // A property or the state of the selected VM changed.
    changed(name) {
        if (name === this.name && this.proxy)
            this.render();
    }

    render() {
        const data = this.proxy.data;
        const state = this.stateOf(this.name) || data.State;
        document.getElementById("details-name").textContent = this.name;
        document.getElementById("details-state").textContent = state;
        const facts = document.getElementById("details-facts");
        facts.replaceChildren();
        for (const [label, property] of FACTS) {
            const dt = document.createElement("dt");
            const dd = document.createElement("dd");
            dt.textContent = label;
            dd.textContent = typeof data[property] === "boolean" ? (data[property] ? "yes" : "no") : (data[property] || "—");
            dd.dataset.field = property;
            facts.append(dt, dd);
        }
        for (const [verb, button] of Object.entries(this.buttons)) {
            const title = deniedTitle(this.permissions, RIGHTS[verb]);
            button.disabled = this.busy || Boolean(title) || !ALLOWED[verb].includes(state);
            button.title = title;
        }
        const running = state === "running" || state === "paused";
        this.console.show(this.name, running, deniedTitle(this.permissions, "console"));
        this.exec.show(this.proxy.path, running && data.AgentConnected, deniedTitle(this.permissions, "exec"));
    }

    // Calls method; what it answered, or null after showing why it failed.
    async run(method, args, done) {
        const name = this.name;
        this.clearError();
        this.result.textContent = "";
        this.busy = true;
        this.render();
        try {
            const reply = await callManager(method, args);
            if (name === this.name)
                this.result.textContent = done ? done(reply) : "";
            return reply;
        } catch (error) {
            if (name === this.name)
                this.showError(`${method} ${name}: ${describeError(error)}`);
            return null;
        } finally {
            this.busy = false;
            if (this.name)
                this.render();
        }
    }

    stop() {
        const seconds = Number(document.getElementById("vm-stop-timeout").value || 0);
        if (!Number.isSafeInteger(seconds) || seconds < 0) {
            this.showError("The stop timeout is a whole number of seconds (0: the unit's own).");
            return;
        }
        return this.run("StopVM", [this.name, seconds * 1000000], ([reason]) => `Stopped: ${reason}.`);
    }

    // SnapshotVM or RestoreVM with the path given (microvmd wants it absolute and says so).
    snapshot(method) {
        const path = this.snapshotPath.value.trim();
        if (!path) {
            this.showError("Give the snapshot file's absolute path.");
            return;
        }
        return this.run(method, [this.name, path],
                        () => method === "SnapshotVM" ? `Snapshot written to ${path}.` : `Restored from ${path}.`);
    }

    confirmDelete() {
        const dialog = document.getElementById("delete-dialog");
        const name = this.name;
        document.getElementById("delete-question").textContent =
            `Delete VM ${name}? Its key file is removed; its drive images are not touched.`;
        dialog.addEventListener("close", () => {
            if (dialog.returnValue === "delete" && name === this.name)
                this.run("DeleteVM", [name]);
        }, { once: true });
        dialog.returnValue = "";
        dialog.showModal();
    }
}
