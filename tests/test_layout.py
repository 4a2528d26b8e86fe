#!/usr/bin/env python3
"""test_layout.py: the architecture the folders show, checked from the includes.

- Arrows between worker/'s folders run one way: the graph of "folder/header.h" includes between
  worker/core, kafka, prepare, desk, api, http, auth, config, obs and dev has no cycle.
- A module's private headers (*_impl.h, *_util.h) are included only inside its own folder, and by
  the white-box tests of that folder (tests/worker/<folder>/) and the fuzz harnesses.
- worker/dev/ (the mock cluster, the demo) is included by no production code: only by
  worker/main.c (for --demo), dev/ itself, tests and benchmarks.
- The libraries stay below the worker: common/ includes nothing of ours but itself, and blur/ and
  policy/ include nothing of worker/.

Usage: test_layout.py SOURCE_DIR. Exit 0 when all hold; 1 with one line per breach.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
PRIVATE = re.compile(r'_(impl|util)\.h$')


def sources(root, top):
    for d, _, files in os.walk(os.path.join(root, top)):
        for f in files:
            if f.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(d, f), root)


def includes(root, path):
    with open(os.path.join(root, path), encoding="utf-8") as f:
        return INCLUDE.findall(f.read())


def find_cycle(graph):
    state = {}

    def visit(n, stack):
        state[n] = 1
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m, stack + [m])
                if c:
                    return c
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            c = visit(n, [n])
            if c:
                return c
    return None


def main(root):
    bad = []
    folders = {d for d in os.listdir(os.path.join(root, "worker"))
               if os.path.isdir(os.path.join(root, "worker", d)) and d != "web"}
    graph = {f: set() for f in folders}
    for path in sources(root, "worker"):
        parts = path.split(os.sep)
        here = parts[1] if len(parts) > 2 else None  # None: worker/main.c
        for inc in includes(root, path):
            head = inc.split("/")[0] if "/" in inc else None
            if head not in folders:
                continue
            if here is not None and head != here:
                graph[here].add(head)
                if PRIVATE.search(inc):
                    bad.append("%s includes %s, private to worker/%s/" % (path, inc, head))
            if head == "dev" and here not in (None, "dev"):
                bad.append("%s includes %s: production code never uses worker/dev/" % (path, inc))
    cycle = find_cycle(graph)
    if cycle:
        bad.append("worker/ folders include each other in a circle: " + " -> ".join(cycle))
    for path in sources(root, "tests"):
        parts = path.split(os.sep)
        for inc in includes(root, path):
            head = inc.split("/")[0] if "/" in inc else None
            if head in folders and PRIVATE.search(inc) and parts[1] != "fuzz" and \
                    not (parts[1] == "worker" and len(parts) > 3 and parts[2] == head):
                bad.append("%s includes %s, private to worker/%s/ and its tests" % (path, inc, head))
    mine = {"worker/" + f for f in folders}
    for lib in ("common", "blur", "policy"):
        for path in sources(root, lib):
            for inc in includes(root, path):
                head = inc.split("/")[0] if "/" in inc else None
                if head in folders or "worker/" + str(head) in mine:
                    bad.append("%s includes %s: a library below the worker" % (path, inc))
                if lib == "common" and inc in ("modq_blur.h", "modq_policy.h"):
                    bad.append("%s includes %s: common/ is below blur/ and policy/" % (path, inc))
    for b in bad:
        print("FAIL: " + b, file=sys.stderr)
    if not bad:
        print("layout ok: %d worker folders, arrows one way (%s)" % (
            len(folders), ", ".join("%s->%s" % (a, ",".join(sorted(b)))
                                    for a, b in sorted(graph.items()) if b)))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
