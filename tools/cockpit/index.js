// SPDX-License-Identifier: LGPL-2.1-or-later
// The MicroVMs page: the table of VMs, the configuration form and the selected VM's details, all over
// microvmd's bus API with the logged-in user's rights.
/* global cockpit */

import { describeError } from "./bus.js";
import { ConfigForm } from "./config-form.js";
import { deniedTitle, describeDenied, loadPermissions } from "./permissions.js";
import { loadSchema } from "./schema.js";
import { VMDetails } from "./vm-details.js";
import { VMList } from "./vm-list.js";

const alertBox = document.getElementById("alert");

function showError(message) {
    alertBox.textContent = message;
    alertBox.hidden = false;
}

function clearError() {
    alertBox.hidden = true;
}

async function main() {
    const [permissions, user] = await Promise.all([loadPermissions(), cockpit.user()]);
    const notice = document.getElementById("notice");
    notice.textContent = describeDenied(permissions);
    notice.hidden = !notice.textContent;

    let details = null;
    const list = new VMList({
        onSelect: (name, proxy) => details.show(name, proxy),
        onChange: name => details.changed(name),
    });
    const { keys, nameRule } = await loadSchema();
    const form = new ConfigForm(keys, nameRule, { onDone: name => list.select(name) });
    details = new VMDetails(permissions, user.name, {
        stateOf: name => list.stateOf(name), showError, clearError, edit: proxy => form.open(proxy),
    });
    const createOpen = document.getElementById("create-open");
    createOpen.title = deniedTitle(permissions, "manage");
    createOpen.disabled = Boolean(createOpen.title);
    createOpen.addEventListener("click", () => form.open());

    await list.start();
    document.body.dataset.ready = "true";
}

main().catch(error => showError(`The page could not load: ${describeError(error)}`));
