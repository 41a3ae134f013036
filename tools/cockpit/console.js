// SPDX-License-Identifier: LGPL-2.1-or-later
// The serial console pane: "microvmctl console NAME" on a pseudo-terminal, spawned by the user's
// own cockpit-bridge, so that microvmd's OpenConsole sees the user and polkit decides
// (org.microvm.console). The output since the VM started is replayed first; one client may have
// a VM's console at a time.
/* global cockpit */

import { Terminal } from "./terminal.js";

export class ConsolePane {
    constructor() {
        this.channel = null;
        this.name = null;
        this.status = document.getElementById("console-status");
        this.connectButton = document.getElementById("console-connect");
        this.disconnectButton = document.getElementById("console-disconnect");
        this.terminal = new Terminal(document.getElementById("console"), data => this.channel?.send(data));
        this.connectButton.addEventListener("click", () => this.connect());
        this.disconnectButton.addEventListener("click", () => this.disconnect());
    }

    // The VM the pane is for, and whether its console can be opened now.
    // title: why the user may not open it, or "" (permissions.js).
    show(name, available, title) {
        if (name !== this.name) {
            this.disconnect();
            this.terminal.clear();
            this.status.textContent = "";
            this.name = name;
        }
        this.connectButton.disabled = !available || Boolean(title);
        this.connectButton.title = title;
        if (!available && !this.channel && !this.status.textContent)
            this.status.textContent = "The console can be opened while the VM runs.";
    }

    connect() {
        if (this.channel || !this.name)
            return;
        this.terminal.clear();
        this.status.textContent = "Connecting…";
        const channel = cockpit.channel({
            payload: "stream",
            spawn: ["microvmctl", "console", "--quiet", this.name],
            pty: true,
            environ: ["TERM=dumb"],
            window: { rows: 40, cols: 160 },
        });
        this.channel = channel;
        channel.addEventListener("ready", () => {
            if (this.channel === channel)
                this.status.textContent = "Connected: type into the console. ^] three times within 1 s detaches.";
        });
        channel.addEventListener("message", (event, data) => this.terminal.write(data));
        channel.addEventListener("close", (event, options) => {
            if (this.channel !== channel)
                return;
            this.channel = null;
            this.status.textContent = options.problem
                ? `Console closed: ${options.message || options.problem}`
                : "Console closed.";
            this.connectButton.hidden = false;
            this.disconnectButton.hidden = true;
        });
        this.connectButton.hidden = true;
        this.disconnectButton.hidden = false;
        this.terminal.pre.focus();
    }

    disconnect() {
        const channel = this.channel;
        this.channel = null;
        channel?.close();
        this.connectButton.hidden = false;
        this.disconnectButton.hidden = true;
        if (channel)
            this.status.textContent = "Disconnected.";
    }
}
