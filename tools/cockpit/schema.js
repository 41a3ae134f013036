// SPDX-License-Identifier: LGPL-2.1-or-later
// The configuration schema as the installed interface files describe it, so that the configuration
// form has no list of keys of its own: org.microvm.VM.xml (the VM object's introspection data) gives
// each key's D-Bus type and a line of documentation, and the key table at the head of
// org.microvm.Manager.xml says which properties are configuration keys and what they default to.
/* global cockpit */

import { INTERFACES_DIR } from "./paths.js";

function readInterfaceFile(name) {
    return cockpit.file(`${INTERFACES_DIR}/${name}`).read();
}

// Comments are documentation: collapse their lines into one paragraph.
function commentText(node) {
    return node.textContent.split("\n").map(line => line.trim()).filter(line => line).join(" ");
}

// Each <property> of the interface: { name, type, doc }, doc being the comment just before it.
export function parseInterfaceProperties(xml, interfaceName) {
    const doc = new DOMParser().parseFromString(xml, "text/xml");
    const iface = [...doc.getElementsByTagName("interface")].find(i => i.getAttribute("name") === interfaceName);
    if (!iface)
        throw new Error(`The interface file does not describe ${interfaceName}`);

    const properties = [];
    let lastComment = "";
    for (const node of iface.childNodes) {
        if (node.nodeType === Node.COMMENT_NODE) {
            lastComment = commentText(node);
        } else if (node.nodeType === Node.ELEMENT_NODE) {
            if (node.tagName === "property")
                properties.push({ name: node.getAttribute("name"), type: node.getAttribute("type"), doc: lastComment });
            lastComment = "";
        }
    }
    return properties;
}

// The table of configuration keys in the Manager's leading comment: each row is
// "    Key   type   description", continued by more deeply indented lines.
export function parseConfigTable(xml) {
    const start = xml.indexOf("<!--", xml.indexOf("-->") + 3);
    const comment = xml.slice(start, xml.indexOf("-->", start));
    const rows = new Map();
    let current = null;
    for (const line of comment.split("\n")) {
        const row = line.match(/^ {4}([A-Z][A-Za-z]*)\s+(s|b|u|t|aa\{sv\})\s+(.*)$/);
        if (row) {
            current = { name: row[1], type: row[2], description: row[3].trim() };
            rows.set(current.name, current);
        } else if (current && /^ {12,}\S/.test(line)) {
            current.description += " " + line.trim();
        } else {
            current = null;
        }
    }
    return rows;
}

// "default 256", "default false", or a quoted value marked "(default)".
function defaultOf(description) {
    const quoted = description.match(/"([^"]*)" \(default/);
    if (quoted)
        return quoted[1];
    const plain = description.match(/\bdefault:? ([^\s;,()]+)/);
    return plain ? plain[1].replace(/^"(.*)"$/, "$1") : "";
}

// A documentation line that starts by listing quoted words offers exactly those.
function choicesOf(doc) {
    if (!doc.startsWith('"'))
        return [];
    return [...doc.matchAll(/"([a-z]+(?:-[a-z]+)*)"/g)].map(m => m[1]);
}

// A dictionary's members as its documentation lists them: "{Path s, ReadOnly b, ...}".
function membersOf(doc) {
    const braces = doc.match(/\{([^}]*)\}/);
    if (!braces)
        return [];
    return [...braces[1].matchAll(/([A-Z][A-Za-z]*) ([sbut])\b/g)].map(m => ({ name: m[1], type: m[2] }));
}

// Every configuration key in the Manager's order: { name, type, doc, description, default,
// required, choices, members }.
export function configKeys(vmXml, managerXml) {
    const properties = new Map(parseInterfaceProperties(vmXml, "org.microvm.VM").map(p => [p.name, p]));
    const table = parseConfigTable(managerXml);
    const keys = [];
    for (const row of table.values()) {
        const property = properties.get(row.name);
        // A key that is not a property of the VM object would be a bug in the interface files.
        if (!property || property.type !== row.type) {
            console.warn(`microvm: configuration key ${row.name} does not match the VM interface`);
            continue;
        }
        keys.push({
            name: row.name,
            type: property.type,
            doc: property.doc,
            description: row.description,
            default: defaultOf(row.description),
            required: /;\s*required\b/.test(row.description),
            choices: choicesOf(property.doc),
            members: property.type === "aa{sv}" ? membersOf(property.doc) : [],
        });
    }
    return keys;
}

// The paragraph of the Manager's documentation that gives the rule for VM names.
export function nameRule(managerXml) {
    const paragraph = managerXml.match(/\n\s*(A VM name is[^]*?)\n\s*\n/);
    return paragraph ? paragraph[1].split("\n").map(line => line.trim()).join(" ") : "";
}

// { keys: configKeys(), nameRule: nameRule() } from the installed interface files.
export async function loadSchema() {
    const [vmXml, managerXml] = await Promise.all([readInterfaceFile("org.microvm.VM.xml"),
                                                    readInterfaceFile("org.microvm.Manager.xml")]);
    if (!vmXml || !managerXml)
        throw new Error(`microvm's interface files are missing from ${INTERFACES_DIR}`);
    return { keys: configKeys(vmXml, managerXml), nameRule: nameRule(managerXml) };
}
