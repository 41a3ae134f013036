// SPDX-License-Identifier: LGPL-2.1-or-later
// The guest command box: org.microvm.VM.Exec through the guest agent. The command line is run by
// the guest's /bin/sh, so it may use the shell's syntax; its output and status are shown when it
// ends.
/* global cockpit */

import { client, VM_INTERFACE, describeError } from "./bus.js";

// The command's own bound; the call's is a little longer, for the agent's reply.
const EXEC_TIMEOUT_USEC = 5 * 60 * 1000000;
const CALL_TIMEOUT_MS = EXEC_TIMEOUT_USEC / 1000 + 30000;

function decode(base64) {
    const bytes = Uint8Array.from(atob(base64 || ""), c => c.charCodeAt(0));
    return new TextDecoder().decode(bytes);
}

export class ExecBox {
    constructor() {
        this.section = document.getElementById("exec");
        this.input = document.getElementById("exec-command");
        this.run = document.getElementById("exec-run");
        this.output = document.getElementById("exec-output");
        this.path = null;
        document.getElementById("exec-form").addEventListener("submit", event => {
            event.preventDefault();
            this.execute();
        });
    }

    // Shown while the VM's guest agent is connected; title: why the user may not run commands, or
    // "" (permissions.js).
    show(path, agentConnected, title) {
        if (path !== this.path) {
            this.output.textContent = "";
            this.input.value = "";
            this.path = path;
        }
        this.section.hidden = !agentConnected;
        this.run.disabled = Boolean(title);
        this.input.disabled = Boolean(title);
        this.run.title = title;
    }

    async execute() {
        const command = this.input.value.trim();
        const path = this.path;
        if (!command || !path)
            return;
        this.run.disabled = true;
        this.output.textContent = `$ ${command}\n`;
        this.output.dataset.state = "running";
        try {
            const [status, signal, stdout, stderr] = await client.call(
                path, VM_INTERFACE, "Exec",
                [["/bin/sh", "-c", command], [], "", EXEC_TIMEOUT_USEC, 0],
                { timeout: CALL_TIMEOUT_MS });
            if (path !== this.path)
                return;
            this.output.append(decode(stdout), decode(stderr),
                               signal ? `[killed by signal ${signal}]\n` : `[exit status ${status}]\n`);
        } catch (error) {
            if (path === this.path)
                this.output.append(`[${describeError(error)}]\n`);
        } finally {
            if (path === this.path)
                this.output.dataset.state = "done";
            this.run.disabled = false;
        }
    }
}
