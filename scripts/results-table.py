#!/usr/bin/env python3
"""results-table.py - the table of every preset on the contention scenarios.

Runs `gilheap compare SCENARIO --strategies ALL --threads 1,2 --repeat 5`
for each contention scenario (each cell a fresh process, as compare does),
and writes one Markdown table: per scenario and preset, the median ops/s at
1 and at 2 threads with the min-max of the repeats, the 2-thread/1-thread
ratio of the medians, and the worst status at 2 threads. The table replaces
what lies between the markers

    <!-- results-table:begin -->  and  <!-- results-table:end -->

in docs/results.md (or --out FILE), with the command line, the machine and
the date above it; --print writes it to stdout instead.

    python3 scripts/results-table.py [--repeat 5] [--duration 2s]
        [--strategies gil,gil-ticks,...] [--bin build/gilheap] [--print]
        [--out docs/results.md] [SCENARIO ...]
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCENARIOS = [
    "shared-list", "private-lists", "dict-read-mostly", "shared-counter",
    "refcount-contention", "refcount-contention-immortal", "refcount-contention-owned",
    "type-instantiation", "producer-consumer", "iterate-while-mutating",
]
BEGIN, END = "<!-- results-table:begin -->", "<!-- results-table:end -->"


def fail(msg):
    print("results-table.py: " + msg, file=sys.stderr)
    sys.exit(2)


def presets(binary):
    out = subprocess.run([binary, "list"], capture_output=True, text=True, check=True).stdout
    names, on = [], False
    for line in out.splitlines():
        if line.startswith("strategies:"):
            on = True
            continue
        if on and line and not line.startswith(" "):
            on = False
        if on and line.startswith("  ") and not line.startswith("   "):
            names.append(line.split()[0])
    return names


def fmt(v):
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.3g}"


def run_compare(binary, scen, strategies, repeat, duration, threads="1,2"):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "c.json")
        cmd = [binary, "compare", scen, "--strategies", ",".join(strategies), "--threads", threads,
               "--repeat", str(repeat), "--duration", duration, "--json", out]
        print("+ " + " ".join(cmd), file=sys.stderr)
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode == 2 and "roles need at least" in p.stderr and threads == "1,2":
            # Roles that need two threads: no 1-thread cell (shown as a dash).
            return run_compare(binary, scen, strategies, repeat, duration, "2")
        # 3: some cell crashed or was refused (sync=none with dict ops and two
        # threads); the others are in the JSON, those rows show a dash.
        if p.returncode not in (0, 1, 3) or not os.path.exists(out):
            fail(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()[:500]}")
        with open(out) as f:
            return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--duration", default="2s")
    ap.add_argument("--strategies", default=None, help="default: every preset of `gilheap list`")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "gilheap"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results.md"))
    ap.add_argument("--print", action="store_true", help="write the table to stdout only")
    ap.add_argument("scenarios", nargs="*")
    a = ap.parse_args()
    if a.repeat < 1:
        fail(f"--repeat: expected an integer >= 1, found {a.repeat}")
    if not os.access(a.bin, os.X_OK):
        fail(f"--bin: {a.bin} is not an executable (build first: bash scripts/setup.sh)")
    strategies = a.strategies.split(",") if a.strategies else presets(a.bin)
    scens = a.scenarios or SCENARIOS
    machine = None
    rows = []
    for scen in scens:
        d = run_compare(a.bin, scen, strategies, a.repeat, a.duration)
        machine = machine or d.get("machine", {})
        by = {(s["strategy"], s["threads"]): s for s in d["summary"]}
        for st in strategies:
            one, two = by.get((st, 1)), by.get((st, 2))
            def cell(s):
                if not s or not s.get("runs"):
                    return "—"
                o = s["ops_per_sec"]
                return f"{fmt(o['median'])} ({fmt(o['min'])}–{fmt(o['max'])})"
            ratio = "—"
            if one and two and one.get("runs") and two.get("runs") and one["ops_per_sec"]["median"]:
                ratio = f"{two['ops_per_sec']['median'] / one['ops_per_sec']['median']:.2f}"
            status = two["status"] if two else "—"
            if two and two.get("unsafe"):
                status += " (unsafe)"
            rows.append(f"| {d['scenario']['name']} | {st} | {cell(one)} | {cell(two)} | {ratio} | {status} |")
    cmdline = "python3 scripts/results-table.py" + (f" --repeat {a.repeat}" if a.repeat != 5 else "") + \
        (f" --duration {a.duration}" if a.duration != "2s" else "")
    cpu = machine.get("cpu", machine.get("cpu_model", "?")) if machine else "?"
    cores = machine.get("cores", "?") if machine else "?"
    lines = [
        BEGIN,
        f"Generated {datetime.date.today().isoformat()} by `{cmdline}` on {cpu}, {cores} cores "
        f"({a.repeat} runs of {a.duration} per cell, each a fresh process; median ops/s and "
        "min–max of the runs; ratio: median at 2 threads over median at 1). 2 threads is this "
        "machine's core count: no figure here is oversubscribed.",
        "",
        "| scenario | preset | 1 thread ops/s | 2 threads ops/s | 2/1 | status at 2 |",
        "|---|---|---|---|---|---|",
        *rows,
        END,
    ]
    text = "\n".join(lines) + "\n"
    if a.print:
        sys.stdout.write(text)
        return
    with open(a.out) as f:
        doc = f.read()
    if BEGIN in doc and END in doc:
        i, j = doc.index(BEGIN), doc.index(END) + len(END)
        doc = doc[:i] + text.rstrip("\n") + doc[j:]
    else:
        fail(f"{a.out}: no {BEGIN} ... {END} markers to replace")
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(doc)
    os.replace(tmp, a.out)
    print(f"results-table.py: wrote {len(rows)} rows to {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
