// SPDX-License-Identifier: LGPL-2.1-or-later
// The table of VMs. It follows microvmd's signals alone, without polling: the VM objects come and
// go with ObjectManager's InterfacesAdded and InterfacesRemoved, their properties change with
// PropertiesChanged, and a state change arrives as the Manager's VMStateChanged as well.

import { client, MANAGER_INTERFACE, MANAGER_PATH, VM_INTERFACE, VM_PATH_PREFIX } from "./bus.js";

const COLUMNS = ["Name", "State", "VCPUs", "MemoryMiB", "Hypervisor", "AgentConnected"];

function cellText(field, value) {
    if (value === undefined || value === null)
        return "";
    if (field === "MemoryMiB")
        return `${value} MiB`;
    if (field === "AgentConnected")
        return value ? "connected" : "—";
    return String(value);
}

export class VMList {
    constructor({ onSelect, onChange }) {
        this.onSelect = onSelect;
        this.onChange = onChange;
        this.body = document.querySelector("#vms tbody");
        this.empty = document.getElementById("vms-empty");
        this.rows = new Map();          // name → <tr>
        this.proxies = new Map();       // name → proxy
        this.selected = null;
        this.pendingSelect = null;
    }

    start() {
        const proxies = client.proxies(VM_INTERFACE, VM_PATH_PREFIX);
        proxies.addEventListener("added", (event, proxy) => this.update(proxy));
        proxies.addEventListener("changed", (event, proxy) => this.update(proxy));
        proxies.addEventListener("removed", (event, proxy) => this.remove(proxy));
        client.subscribe({ path: MANAGER_PATH, interface: MANAGER_INTERFACE, member: "VMStateChanged" },
                         (path, iface, signal, [name, state]) => this.setState(name, state));
        return proxies.wait().then(() => {
            for (const proxy of Object.values(proxies))
                this.update(proxy);
            this.refreshEmpty();
        });
    }

    row(name) {
        let row = this.rows.get(name);
        if (row)
            return row;
        row = document.createElement("tr");
        row.dataset.name = name;
        for (const field of COLUMNS) {
            const cell = document.createElement("td");
            cell.dataset.field = field;
            row.append(cell);
        }
        row.addEventListener("click", () => this.select(name));
        // In order of name, as ListVMs gives them.
        this.body.insertBefore(row, [...this.body.rows].find(other => other.dataset.name > name) ?? null);
        this.rows.set(name, row);
        return row;
    }

    update(proxy) {
        if (!proxy?.valid || !proxy.data?.Name)
            return;
        const name = proxy.data.Name;
        const row = this.row(name);
        this.proxies.set(name, proxy);
        for (const field of COLUMNS)
            row.querySelector(`[data-field="${field}"]`).textContent = cellText(field, proxy.data[field]);
        this.refreshEmpty();
        if (name === this.pendingSelect)
            this.select(name);
        else
            this.onChange(name, proxy);
    }

    setState(name, state) {
        const row = this.rows.get(name);
        if (!row)
            return;
        row.querySelector('[data-field="State"]').textContent = state;
        this.onChange(name, this.proxies.get(name), state);
    }

    remove(proxy) {
        const name = [...this.proxies.entries()].find(([, p]) => p === proxy)?.[0];
        this.rows.get(name)?.remove();
        this.rows.delete(name);
        this.proxies.delete(name);
        this.refreshEmpty();
        if (this.selected === name)
            this.select(null);
    }

    refreshEmpty() {
        this.empty.hidden = this.rows.size > 0;
    }

    // A VM just created may be selected before its object has arrived: it is, once it does.
    select(name) {
        this.pendingSelect = name && !this.rows.has(name) ? name : null;
        this.selected = name && this.rows.has(name) ? name : null;
        for (const [other, row] of this.rows)
            row.classList.toggle("selected", other === this.selected);
        this.onSelect(this.selected, this.selected ? this.proxies.get(this.selected) : null);
    }

    // The state as the table shows it: VMStateChanged may have come before PropertiesChanged.
    stateOf(name) {
        return this.rows.get(name)?.querySelector('[data-field="State"]').textContent ?? "";
    }
}
