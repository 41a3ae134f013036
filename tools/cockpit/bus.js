// SPDX-License-Identifier: LGPL-2.1-or-later
// microvmd on the system bus, through cockpit-bridge: every call is made with the logged-in
// user's credentials, so polkit decides exactly as it does for busctl.
/* global cockpit */

export const MANAGER_PATH = "/org/microvm/Manager";
export const MANAGER_INTERFACE = "org.microvm.Manager";
export const VM_INTERFACE = "org.microvm.VM";
export const VM_PATH_PREFIX = MANAGER_PATH + "/vm";

export const client = cockpit.dbus("org.microvm.Manager", { bus: "system" });

// StopVM waits for the guest to shut down (up to the unit's 30 s or the timeout given), StartVM
// for the unit's start, Exec for the command: the bus's default 25 s is too short for them.
const LONG_CALL_MS = 15 * 60 * 1000;

export function callManager(method, args) {
    return client.call(MANAGER_PATH, MANAGER_INTERFACE, method, args, { timeout: LONG_CALL_MS });
}

// What to show for a failed call: the error's own message (microvmd's says what to fix; a polkit
// refusal says so), with the D-Bus error's name where the message alone would be ambiguous.
export function describeError(error) {
    if (!error)
        return "Unknown error";
    const message = error.message || error.problem || String(error);
    const name = error.name && error.name.startsWith("org.") ? error.name.replace(/^.*\./, "") : "";
    if (!name || message.toLowerCase().includes(name.toLowerCase()))
        return message;
    return `${message} (${name})`;
}
