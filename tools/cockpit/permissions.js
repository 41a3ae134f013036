// SPDX-License-Identifier: LGPL-2.1-or-later
// What polkit lets the logged-in user do, asked once as the page loads, so that the page can be
// read-only for a user who may only look. pkcheck asks about a process of the user's own Cockpit
// session, the same subject microvmd's check sees for the bridge. A right polkit would grant
// after authentication ("challenge") counts as granted: microvmd's own check then decides, and
// its refusal is shown as any other error.
/* global cockpit */

export const ACTIONS = {
    manage: "org.microvm.manage",
    lifecycle: "org.microvm.lifecycle",
    exec: "org.microvm.exec",
    console: "org.microvm.console",
};

// pkcheck's exit status: 0 authorized, 2 authorized after authentication, 1 not authorized.
async function check(action) {
    try {
        await cockpit.spawn(["/bin/sh", "-c", 'exec pkcheck --action-id "$1" --process $$', "sh", action],
                            { err: "message" });
        return true;
    } catch (error) {
        return error.exit_status === 2;
    }
}

// { manage: bool, lifecycle: bool, exec: bool, console: bool }
export async function loadPermissions() {
    const names = Object.keys(ACTIONS);
    const results = await Promise.all(names.map(name => check(ACTIONS[name])));
    return Object.fromEntries(names.map((name, i) => [name, results[i]]));
}

// What a control the right is missing for says about it: "" where the user has it.
export function deniedTitle(permissions, right) {
    return permissions[right] ? "" : `polkit does not grant you ${ACTIONS[right]}`;
}

export function describeDenied(permissions) {
    const denied = Object.keys(ACTIONS).filter(name => !permissions[name]).map(name => ACTIONS[name]);
    if (!denied.length)
        return "";
    return `Read-only: polkit does not grant you ${denied.join(", ")}. ` +
           "Ask an administrator for these rights (see microvm's polkit rules) to change VMs here.";
}
