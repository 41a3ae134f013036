// SPDX-License-Identifier: LGPL-2.1-or-later
// The configuration form, for CreateVM and for UpdateVM of a VM: one field per configuration key
// of the schema (schema.js), each with the key's documentation as its help. A field left as it
// was is not sent: on create microvmd's default applies, on edit the key keeps its value (a list
// of drives or NICs is sent whole when any of it changed). What microvmd refuses comes back as
// its own message.
/* global cockpit */

import { callManager, describeError } from "./bus.js";

function element(tag, attributes = {}, children = []) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
        if (name === "text")
            node.textContent = value;
        else
            node.setAttribute(name, value);
    }
    node.append(...children);
    return node;
}

// One input for a value of a basic type; read back by valueOf().
function basicInput(id, type, key) {
    if (type === "b") {
        const box = element("input", { id, type: "checkbox", "data-type": type });
        box.defaultChecked = box.checked = key?.default === "true";
        box.dataset.initial = String(box.checked);
        return box;
    }
    if (type === "u" || type === "t")
        return element("input", { id, type: "number", min: "0", step: "1", placeholder: key?.default ?? "", "data-type": type });
    if (key?.choices.length) {
        const select = element("select", { id, "data-type": type });
        select.append(element("option", { value: "", text: key.default ? `default (${key.default})` : "default" }));
        for (const choice of key.choices)
            select.append(element("option", { value: choice, text: choice }));
        return select;
    }
    // Keys that may hold a file's contents (cloud-init's) get room for them.
    if (key && / or the contents\b/.test(key.description + " " + key.doc))
        return element("textarea", { id, rows: "3", cols: "60", placeholder: "path or contents", "data-type": type });
    return element("input", { id, type: "text", size: "60", placeholder: key?.default ?? "", "data-type": type });
}

// Puts a value into an input and remembers it as the one to compare with.
function setValue(input, value) {
    if (input.dataset.type === "b") {
        input.checked = Boolean(value);
        input.dataset.initial = String(input.checked);
    } else {
        input.value = value === undefined || value === null ? "" : String(value);
        input.dataset.initial = input.value.trim();
    }
}

// The input's value as a variant; unless absolute, null where the input was left as it was.
function valueOf(input, absolute = false) {
    const type = input.dataset.type;
    if (type === "b")
        return !absolute && String(input.checked) === input.dataset.initial ? null : cockpit.variant("b", input.checked);
    const text = input.value.trim();
    if (!absolute && text === (input.dataset.initial ?? ""))
        return null;
    // A number cannot be emptied; a string can (Initrd "" for none).
    if (text === "" && (absolute || type !== "s"))
        return null;
    if (type === "u" || type === "t") {
        const number = Number(text);
        if (!Number.isSafeInteger(number) || number < 0)
            throw new Error(`${input.id.replace(/^field-/, "")}: "${text}" is not a whole number`);
        return cockpit.variant(type, number);
    }
    // Text keeps its own white space only where it may be a file's contents.
    return cockpit.variant("s", input.tagName === "TEXTAREA" ? input.value : text);
}

// A list of dictionaries (Drives, Networks): one row of member inputs per entry, added by its
// button or, on edit, for each entry the VM has.
function listField(key) {
    const entries = element("div", { class: "entries", id: `field-${key.name}` });
    let next = 0;
    entries.addEntry = (values = {}) => {
        const index = next++;
        const row = element("fieldset", { "data-entry": String(index) });
        row.append(element("legend", { text: `${key.name}[${index}]` }));
        for (const member of key.members) {
            const id = `field-${key.name}-${index}-${member.name}`;
            const input = basicInput(id, member.type, null);
            setValue(input, values[member.name]?.v);
            row.append(element("label", { for: id, text: ` ${member.name} ` }), input);
        }
        const remove = element("button", { type: "button", text: "Remove" });
        remove.addEventListener("click", () => row.remove());
        row.append(" ", remove);
        entries.append(row);
    };
    entries.clearEntries = () => {
        entries.replaceChildren();
        delete entries.dataset.initial;
        next = 0;
    };
    const add = element("button", { type: "button", id: `field-${key.name}-add`, text: `Add ${key.name.replace(/s$/, "").toLowerCase()}` });
    add.addEventListener("click", () => entries.addEntry());
    return [entries, add];
}

// Every entry with the members it sets.
function listEntries(container) {
    const list = [];
    for (const row of container.querySelectorAll("fieldset")) {
        const entry = {};
        for (const input of row.querySelectorAll("input")) {
            const value = valueOf(input, true);
            if (value !== null)
                entry[input.id.replace(/^.*-/, "")] = value;
        }
        if (Object.keys(entry).length)
            list.push(entry);
    }
    return list;
}

// The list as a variant, or null where it is as it was.
function listValue(container) {
    const list = listEntries(container);
    const same = JSON.stringify(list) === (container.dataset.initial ?? "[]");
    return same ? null : cockpit.variant("aa{sv}", list);
}

export class ConfigForm {
    constructor(keys, nameRule, { onDone }) {
        this.keys = keys;
        this.onDone = onDone;
        this.editing = null;            // the VM's name on edit
        this.section = document.getElementById("create");
        this.form = document.getElementById("create-form");
        this.title = document.getElementById("create-title");
        this.name = null;
        this.error = document.getElementById("create-error");
        this.submit = document.getElementById("create-submit");
        this.render(nameRule);
        this.form.addEventListener("submit", event => { event.preventDefault(); this.save() });
        document.getElementById("create-cancel").addEventListener("click", () => this.close());
    }

    render(nameRule) {
        const fields = document.getElementById("create-fields");
        fields.replaceChildren();
        this.name = element("input", { id: "create-name", type: "text", size: "40", required: "" });
        fields.append(element("div", { class: "field" }, [
            element("label", { for: "create-name", text: "Name" }),
            this.name,
            element("span", { class: "help", text: nameRule }),
        ]));
        for (const key of this.keys) {
            const id = `field-${key.name}`;
            const row = element("div", { class: "field", "data-key": key.name });
            const label = element("label", { for: id, text: key.name + (key.required ? " *" : "") });
            if (key.type === "aa{sv}") {
                const [entries, add] = listField(key);
                row.append(label, element("div", {}, [entries, add]));
            } else {
                row.append(label, basicInput(id, key.type, key));
            }
            row.append(element("span", { class: "help", text: key.doc }));
            fields.append(row);
        }
    }

    // Empty for a new VM, or filled with the configuration of the VM the proxy is for.
    open(proxy = null) {
        this.clear();
        this.editing = proxy ? proxy.data.Name : null;
        this.title.textContent = proxy ? `Edit VM ${this.editing}` : "Create VM";
        this.submit.textContent = proxy ? "Save" : "Create";
        this.name.value = this.editing ?? "";
        this.name.disabled = Boolean(proxy);
        if (proxy) {
            for (const key of this.keys) {
                const node = document.getElementById(`field-${key.name}`);
                if (key.type === "aa{sv}") {
                    for (const entry of proxy.data[key.name] ?? [])
                        node.addEntry(entry);
                    node.dataset.initial = JSON.stringify(listEntries(node));
                } else {
                    setValue(node, proxy.data[key.name]);
                }
            }
        }
        this.section.hidden = false;
        this.error.hidden = true;
        (proxy ? this.submit : this.name).focus();
    }

    clear() {
        this.form.reset();
        for (const list of this.form.querySelectorAll(".entries"))
            list.clearEntries();
        for (const input of this.form.querySelectorAll("[data-type]")) {
            if (input.dataset.type === "b")
                input.dataset.initial = String(input.checked);
            else
                delete input.dataset.initial;
        }
    }

    close() {
        this.section.hidden = true;
        this.clear();
        this.editing = null;
    }

    config() {
        const config = {};
        for (const key of this.keys) {
            const node = document.getElementById(`field-${key.name}`);
            const value = key.type === "aa{sv}" ? listValue(node) : valueOf(node);
            if (value !== null)
                config[key.name] = value;
        }
        return config;
    }

    async save() {
        const editing = this.editing;
        const name = editing ?? this.name.value.trim();
        this.error.hidden = true;
        this.submit.disabled = true;
        try {
            if (editing)
                await callManager("UpdateVM", [name, this.config()]);
            else
                await callManager("CreateVM", [name, this.config()]);
            this.close();
            this.onDone(name);
        } catch (error) {
            this.error.textContent = describeError(error);
            this.error.hidden = false;
        } finally {
            this.submit.disabled = false;
        }
    }
}
