#!/usr/bin/python3
"""Checks that helm/modq's templates and values.yaml agree on the names of values.

Every .Values.A.B... path in templates/*.yaml, templates/*.tpl and templates/NOTES.txt must
exist in values.yaml (a misspelt path renders as empty in Helm, silently); and every key of
values.yaml must be used by some template (directly, or through a parent passed whole, as
toYaml .Values.resources does), so no documented value is dead. A built-in control checks that a
misspelt path is reported.

Usage: test_helm_paths.py CHART_DIR     (needs python3-yaml)
"""
import glob
import os
import re
import sys

import yaml

PATH_RE = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def used_paths(text):
    return {tuple(m.group(1)[1:].split(".")) for m in PATH_RE.finditer(text)}


def missing(values, paths):
    """Paths that do not resolve in values (each step a key of a mapping)."""
    out = []
    for p in sorted(paths):
        node = values
        for k in p:
            if not isinstance(node, dict) or k not in node:
                out.append(".".join(p))
                break
            node = node[k]
    return out


def leaves(values, prefix=()):
    """Every key path of values, down to the first non-mapping (or empty mapping) value."""
    for k, v in values.items():
        if isinstance(v, dict) and v:
            yield prefix + (k,)
            yield from leaves(v, prefix + (k,))
        else:
            yield prefix + (k,)


def main():
    chart = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ["MODQ_SOURCE_DIR"], "helm", "modq")
    with open(os.path.join(chart, "values.yaml")) as f:
        values = yaml.safe_load(f)
    files = sorted(glob.glob(os.path.join(chart, "templates", "*.yaml")) +
                   glob.glob(os.path.join(chart, "templates", "*.tpl")) +
                   glob.glob(os.path.join(chart, "templates", "NOTES.txt")))
    failed = 0
    if not files:
        print(f"FAIL: no templates under {chart}/templates")
        return 1

    used = set()
    for path in files:
        with open(path) as f:
            paths = used_paths(f.read())
        used |= paths
        bad = missing(values, paths)
        for b in bad:
            print(f"FAIL: {os.path.relpath(path, chart)}: .Values.{b} is not in values.yaml")
        failed += len(bad)
    print(f"checked {len(used)} distinct .Values paths in {len(files)} files")

    unused = [".".join(p) for p in leaves(values)
              if not any(p[:len(u)] == u or u[:len(p)] == p for u in used)]
    for u in unused:
        print(f"FAIL: values.yaml: {u} is used by no template")
    failed += len(unused)

    # Control: the checker must see a misspelt path, including with $ and in pipelines.
    control = '{{ $.Values.worker.graceSecond | toJson }} {{- if .Values.kafka.staticMembership }}'
    if missing(values, used_paths(control)) != ["worker.graceSecond"]:
        print("FAIL: control: a misspelt .Values path was not reported")
        failed += 1

    print(f"{failed} failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
