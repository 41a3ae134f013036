#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compares one interface of two D-Bus introspection documents.

    compare-introspection.py INTERFACE EXPECTED.xml LIVE.xml

Comments, white space and the order of the interface's members are ignored; the order of
arguments and everything else counts. Prints a diff and exits 1 when they differ, 2 on bad
input.
"""

import difflib
import sys
import xml.etree.ElementTree as ET


class Unusable(Exception):
    pass


def interface(path, name):
    # The default parser drops comments; the DOCTYPE is not fetched.
    root = ET.parse(path).getroot()
    found = [i for i in root.iter("interface") if i.get("name") == name]
    if len(found) != 1:
        raise Unusable(f"{path}: {len(found)} <interface name=\"{name}\"> elements, expected one")
    return found[0]


def canonical(element, depth=0, sort_children=False):
    attrs = "".join(f' {k}="{v}"' for k, v in sorted(element.attrib.items()))
    lines = [f"{'  ' * depth}<{element.tag}{attrs}>"]
    text = (element.text or "").strip()
    if text:
        lines.append(f"{'  ' * (depth + 1)}{text}")
    children = list(element)
    if sort_children:
        children.sort(key=lambda c: (c.tag, c.get("name", "")))
    for child in children:
        lines += canonical(child, depth + 1)
    return lines


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    name, expected_path, live_path = sys.argv[1:]
    try:
        expected = canonical(interface(expected_path, name), sort_children=True)
        live = canonical(interface(live_path, name), sort_children=True)
    except (OSError, ET.ParseError, Unusable) as e:
        print(e, file=sys.stderr)
        return 2
    if expected == live:
        return 0
    sys.stdout.writelines(line + "\n" for line in
                          difflib.unified_diff(expected, live, expected_path, "live", lineterm=""))
    return 1


if __name__ == "__main__":
    sys.exit(main())
