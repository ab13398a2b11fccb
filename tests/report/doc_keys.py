#!/usr/bin/env python3
"""doc_keys.py GILHEAP SOURCE_DIR - every key the result writers emit is
documented in docs/results.md.

Runs gilheap on scenarios that fill every section (collections, hazards,
counters, rc statistics, a compare), walks the JSON, and fails on a key name
that docs/results.md does not show in backticks. Maps whose keys are data
(op names, lock classes, hazard kinds, generations...) are walked through but
their own keys are not looked up.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

# Keys of these objects are data, not field names.
DATA_MAPS = {"per_op", "latency", "locks", "kinds", "counters", "by_kind", "hazards.kinds",
             "generations"}


def walk(o, path, out):
    if isinstance(o, dict):
        for k, v in o.items():
            parent = path.rsplit(".", 1)[-1] if path else ""
            if parent in DATA_MAPS:
                walk(v, f"{path}.*", out)
                continue
            out.setdefault(k, f"{path}.{k}" if path else k)
            walk(v, f"{path}.{k}" if path else k, out)
    elif isinstance(o, list):
        for v in o:
            walk(v, path + "[]", out)


def main():
    gh, src = sys.argv[1], sys.argv[2]
    doc = open(os.path.join(src, "docs", "results.md")).read()
    documented = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_.]*)(?:\[\])?`", doc))
    documented |= {w for d in list(documented) for w in d.split(".")}
    runs = [
        ["run", "shared-list", "--strategy", "ft", "--threads", "2", "--check"],
        ["run", "gc-under-load", "--strategy", "gil", "--threads", "2"],
        ["run", "gc-under-load", "--strategy", "ft", "--threads", "2"],
        ["run", "shared-counter", "--strategy", "gil", "--threads", "2"],
        ["run", "shared-list", "--strategy", "unsafe", "--threads", "2"],
        ["run", "dict-read-mostly", "--strategy", "locks", "--threads", "2"],
        ["compare", "shared-list", "--strategies", "gil,ft", "--threads", "1,2", "--repeat", "2"],
    ]
    keys = {}
    with tempfile.TemporaryDirectory(prefix="gh-doc-keys-") as tmp:
        for i, args in enumerate(runs):
            out = os.path.join(tmp, f"{i}.json")
            p = subprocess.run([gh] + args + ["--duration", "100ms", "--json", out],
                               cwd=src, capture_output=True, text=True)
            if p.returncode not in (0, 1) or not os.path.exists(out):
                print(f"doc_keys: {' '.join(args)}: exit {p.returncode}: {p.stderr}")
                return 1
            walk(json.load(open(out)), "", keys)
    missing = sorted((path for k, path in keys.items() if k not in documented))
    for m in missing:
        print(f"doc_keys: {m}: the key is not in docs/results.md")
    print(f"doc_keys: {len(keys)} keys, {len(missing)} undocumented")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
