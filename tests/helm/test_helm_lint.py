#!/usr/bin/python3
"""Lints the plain YAML of helm/ and checks that every value is documented.

1. yamllint --strict with helm/.yamllint on Chart.yaml, values.yaml, ci/*.yaml and .yamllint
   itself (templates/ are Go templates, not YAML). A control file with a duplicate key and
   trailing spaces must fail the same lint, so a lax config cannot pass everything.
2. Every key of values.yaml (outside example list items) has a comment: on the line(s) just
   above it or at the end of its line.

Usage: test_helm_lint.py HELM_DIR     (needs Debian's yamllint)
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

KEY_RE = re.compile(r"^( *)([A-Za-z0-9_.-]+):(.*)$")
ITEM_RE = re.compile(r"^( *)- ")


def yamllint(config, files, cwd):
    return subprocess.run([sys.executable, "-m", "yamllint", "--strict", "-f", "parsable",
                           "-c", config] + files, cwd=cwd, capture_output=True, text=True)


def undocumented(lines):
    """(line number, key) of keys with no comment above or inline."""
    out = []
    prev = ""  # the previous non-blank line
    in_item = None  # indentation of the list item whose content is being skipped
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item = ITEM_RE.match(line)
        key = KEY_RE.match(line)
        if item:
            indent = len(item.group(1))
            in_item = indent if in_item is None else min(in_item, indent)
        elif key and in_item is not None and len(key.group(1)) <= in_item:
            in_item = None
        if key and in_item is None and not line.lstrip().startswith("#"):
            documented = prev.lstrip().startswith("#") or " # " in key.group(3)
            if not documented:
                out.append((n, key.group(2)))
        prev = line
    return out


def main():
    helm = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.environ["MODQ_SOURCE_DIR"], "helm"))
    config = os.path.join(helm, ".yamllint")
    chart = os.path.join(helm, "modq")
    files = [os.path.join(chart, "Chart.yaml"), os.path.join(chart, "values.yaml"), config]
    files += sorted(glob.glob(os.path.join(chart, "ci", "*.yaml")))
    failed = 0

    r = yamllint(config, files, helm)
    print(("FAIL" if r.returncode else "ok  ") + f": yamllint on {len(files)} files")
    if r.returncode:
        print(r.stdout + r.stderr)
        failed += 1

    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("image:\n  tag: a \nimage:\n  tag: b\n")
        r = yamllint(config, [bad], tmp)
        caught = r.returncode != 0 and "key-duplicates" in r.stdout
        print(("ok  " if caught else "FAIL") + ": control: yamllint rejects a duplicate key")
        failed += not caught

    with open(os.path.join(chart, "values.yaml")) as f:
        missing = undocumented(f.read().splitlines())
    for n, key in missing:
        print(f"FAIL: values.yaml:{n}: {key} has no comment")
    failed += len(missing)
    if undocumented(["a:", "  # b", "  b: 1", "  c: 2  # c"]) != [(1, "a")]:
        print("FAIL: control: an undocumented key was not reported")
        failed += 1

    print(f"{failed} failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
