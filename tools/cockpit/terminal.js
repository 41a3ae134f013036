// SPDX-License-Identifier: LGPL-2.1-or-later
// A small terminal for a serial console in a <pre>: it keeps lines of text, follows carriage
// return, backspace and newline, drops escape sequences (colours, cursor queries), and turns
// keys into the bytes a terminal would send.

const MAX_LINES = 2000;

const KEYS = {
    Enter: "\r", Backspace: "\x7f", Tab: "\t", Escape: "\x1b",
    ArrowUp: "\x1b[A", ArrowDown: "\x1b[B", ArrowRight: "\x1b[C", ArrowLeft: "\x1b[D",
    Home: "\x1b[H", End: "\x1b[F", Delete: "\x1b[3~", PageUp: "\x1b[5~", PageDown: "\x1b[6~",
};

export class Terminal {
    constructor(pre, onInput) {
        this.pre = pre;
        this.onInput = onInput;
        this.clear();
        pre.addEventListener("keydown", event => this.key(event));
        pre.addEventListener("paste", event => {
            event.preventDefault();
            this.onInput?.(event.clipboardData.getData("text").replace(/\r?\n/g, "\r"));
        });
    }

    clear() {
        this.lines = [""];
        this.column = 0;
        this.escape = "";       // "", "esc", "csi" or "string"
        this.render();
    }

    get text() {
        return this.lines.join("\n");
    }

    write(data) {
        for (const c of data) {
            if (this.escape === "esc") {
                this.escape = c === "[" ? "csi" : c === "]" || c === "P" ? "string" : "";
                continue;
            }
            if (this.escape === "csi") {
                if (c >= "@" && c <= "~")
                    this.escape = "";
                continue;
            }
            if (this.escape === "string") {
                if (c === "\x07" || c === "\\")
                    this.escape = "";
                continue;
            }
            this.put(c);
        }
        this.render();
    }

    put(c) {
        const last = this.lines.length - 1;
        switch (c) {
        case "\x1b":
            this.escape = "esc";
            return;
        case "\r":
            this.column = 0;
            return;
        case "\n":
            this.lines.push("");
            if (this.lines.length > MAX_LINES)
                this.lines.splice(0, this.lines.length - MAX_LINES);
            this.column = 0;
            return;
        case "\b":
            this.column = Math.max(0, this.column - 1);
            return;
        case "\t":
            this.put(" ".repeat(8 - this.column % 8));
            return;
        }
        if (c < " " || c === "\x7f")
            return;
        const line = this.lines[last].padEnd(this.column);
        this.lines[last] = line.slice(0, this.column) + c + line.slice(this.column + c.length);
        this.column += c.length;
    }

    render() {
        const follow = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
        this.pre.textContent = this.text;
        if (follow)
            this.pre.scrollTop = this.pre.scrollHeight;
    }

    key(event) {
        if (!this.onInput || event.metaKey || event.isComposing)
            return;
        let data = KEYS[event.key];
        if (!data && event.ctrlKey && !event.altKey && /^[a-z@[\\\]^_]$/i.test(event.key))
            data = String.fromCharCode(event.key.toUpperCase().charCodeAt(0) & 0x1f);
        else if (!data && event.key.length === 1 && !event.ctrlKey)
            data = (event.altKey ? "\x1b" : "") + event.key;
        if (!data)
            return;
        event.preventDefault();
        this.onInput(data);
    }
}
