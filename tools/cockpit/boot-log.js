// SPDX-License-Identifier: LGPL-2.1-or-later
// The boot log: the journal of the VM's unit, followed as it grows. It holds systemd's messages
// about microvm@NAME.service, the launcher's and the hypervisor's output, and each line of the
// serial console. Read with the user's journal access, or as the administrator when the user
// has turned on Cockpit's administrative access.
/* global cockpit */

const LINES = 300;

export class BootLog {
    constructor() {
        this.pre = document.getElementById("boot-log");
        this.channel = null;
        this.unit = null;
    }

    show(unit) {
        if (unit === this.unit)
            return;
        this.close();
        this.unit = unit;
        this.pre.textContent = "";
        if (!unit)
            return;
        const channel = cockpit.channel({
            payload: "stream",
            spawn: ["journalctl", "--no-pager", "--quiet", "--output=short-precise", `--lines=${LINES}`,
                    "--follow", `--unit=${unit}`],
            superuser: "try",
            err: "message",
        });
        this.channel = channel;
        channel.addEventListener("message", (event, data) => {
            const follow = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
            this.pre.append(data);
            if (follow)
                this.pre.scrollTop = this.pre.scrollHeight;
        });
        channel.addEventListener("close", (event, options) => {
            if (this.channel === channel && options.problem)
                this.pre.append(`\nThe journal cannot be read: ${options.message || options.problem}\n`);
        });
    }

    close() {
        this.channel?.close();
        this.channel = null;
        this.unit = null;
    }
}
