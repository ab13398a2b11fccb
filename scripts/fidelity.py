#!/usr/bin/env python3
"""fidelity.py - hold gilheap's ratios against real CPython 3.13 and 3.13t.

Every workload in fidelity/ is written twice: NAME.py, a Python program run by
fidelity/driver.py, and NAME.yaml, the same statements as a gilheap scenario.
This script runs both sides interleaved (round by round, cells in a shuffled
order, each cell a fresh process), with the same thread counts, duration and
pinning, and prints per workload the ops/s of each side, 2T/1T for each build,
ft/gil at one thread, and whether gilheap's scaling is within +-30% of
CPython's.

  python3 scripts/fidelity.py --python PATH/python3.13 --python-ft PATH/python3.13t
  python3 scripts/fidelity.py --gilheap-only          # CI: the gilheap side only

The four sides: CPython 3.13 ("3.13"), CPython 3.13t ("3.13t", run with
PYTHON_GIL=0), gilheap --strategy gil ("gil") and gilheap --strategy ft ("ft").
Exit status: 0 when every cell ran and passed its checks (the +-30% verdict
is reported, not enforced), 1 when a cell failed, 2 on bad arguments.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FID = os.path.join(ROOT, "fidelity")
TOLERANCE = 0.30
# (gilheap side, CPython side) pairs whose scaling is compared.
PAIRS = (("gil", "3.13"), ("ft", "3.13t"))


def die(msg):
    print(f"fidelity.py: {msg}", file=sys.stderr)
    sys.exit(2)


def workloads():
    names = sorted(f[:-5] for f in os.listdir(FID) if f.endswith(".yaml"))
    return [n for n in names if os.path.exists(os.path.join(FID, n + ".py"))]


def run_python(exe, ft, name, threads, duration, cpus):
    env = dict(os.environ)
    if ft:
        env["PYTHON_GIL"] = "0"
    cmd = [exe, os.path.join(FID, "driver.py"), os.path.join(FID, name + ".py"),
           "--threads", str(threads), "--duration", str(duration)]
    if cpus:
        cmd += ["--cpus", ",".join(map(str, cpus))]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60 + 10 * duration)
    if p.returncode != 0:
        return None, f"exit {p.returncode}: {p.stderr.strip()[-300:]}"
    d = json.loads(p.stdout.strip().splitlines()[-1])
    if bool(d["free_threaded"]) != ft or bool(d["gil_enabled"]) == ft:
        return None, (f"{exe} is {'' if d['free_threaded'] else 'not '}a free-threaded build "
                      f"(GIL {'on' if d['gil_enabled'] else 'off'}); expected "
                      f"{'3.13t with the GIL off' if ft else '3.13 with the GIL'}")
    return d["ops_per_s"], None


def run_gilheap(exe, strategy, name, threads, duration, cpus, pin_ok):
    with tempfile.TemporaryDirectory(prefix="gh-fidelity-") as tmp:
        out = os.path.join(tmp, "r.json")
        cmd = [exe, "run", os.path.join(FID, name + ".yaml"), "--strategy", strategy,
               "--threads", str(threads), "--duration", f"{int(duration * 1000)}ms",
               "--json", out, "--quiet"]
        if cpus and pin_ok:
            cmd += ["--cpus", ",".join(map(str, cpus))]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60 + 10 * duration)
        if p.returncode != 0:
            return None, f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-300:]}"
        with open(out) as f:
            d = json.load(f)
    return d["throughput"]["ops_per_sec"], None


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", help="a CPython 3.13 binary (default build)")
    ap.add_argument("--python-ft", help="a CPython 3.13t binary (--disable-gil)")
    ap.add_argument("--gilheap", default=os.path.join(ROOT, "build", "gilheap"))
    ap.add_argument("--gilheap-only", action="store_true",
                    help="run the gilheap side only (no CPython needed)")
    ap.add_argument("--workloads", help="comma-separated names (default: every one in fidelity/)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--duration", type=float, default=1.0, help="seconds per cell")
    ap.add_argument("--cpus", default="0,1",
                    help="pin worker i to the i-th CPU of the list ('none': no pinning)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the cell order")
    ap.add_argument("--json", help="write every cell and the summary to this file")
    ap.add_argument("--markdown", action="store_true", help="print the summary as a markdown table")
    a = ap.parse_args()
    if not a.gilheap_only and not (a.python and a.python_ft):
        die("--python and --python-ft are required (or --gilheap-only)")
    if not os.access(a.gilheap, os.X_OK):
        die(f"--gilheap {a.gilheap}: not an executable (build with scripts/setup.sh)")
    try:
        a.threads = sorted({int(t) for t in a.threads.split(",")})
    except ValueError:
        die(f"--threads {a.threads!r}: expected thread counts separated by commas")
    if a.threads[0] < 1 or 1 not in a.threads:
        die("--threads must include 1 (every ratio is against one thread)")
    if a.repeat < 1 or a.duration <= 0:
        die("--repeat must be at least 1 and --duration positive")
    a.cpus = [] if a.cpus == "none" else [int(c) for c in a.cpus.split(",")]
    allowed = os.sched_getaffinity(0)
    for c in a.cpus:
        if c not in allowed:
            die(f"--cpus: CPU {c} is not in this process's affinity mask {sorted(allowed)}")
    known = workloads()
    a.workloads = a.workloads.split(",") if a.workloads else known
    for w in a.workloads:
        if w not in known:
            die(f"--workloads: no workload {w!r} (known: {', '.join(known)})")
    return a


def med_range(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None, None
    return statistics.median(xs), min(xs), max(xs)


def fmt_rate(x):
    if x is None:
        return "-"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def fmt_ratio(m):
    med, lo, hi = m
    return "-" if med is None else f"{med:.2f} ({lo:.2f}-{hi:.2f})"


def main():
    a = parse_args()
    help_text = subprocess.run([a.gilheap, "run", "--help"], capture_output=True, text=True).stdout
    pin_ok = "--cpus" in help_text
    sides = ["gil", "ft"] if a.gilheap_only else ["3.13", "3.13t", "gil", "ft"]
    cells = [(w, s, t) for w in a.workloads for s in sides for t in a.threads]
    rng = random.Random(a.seed)
    res = {c: [None] * a.repeat for c in cells}
    failures = []
    total = len(cells) * a.repeat
    done = 0
    groups = [(w, s) for w in a.workloads for s in sides]
    for r in range(a.repeat):
        # Interleaved: every round visits every cell once, in a new order.
        # A (workload, side)'s thread counts run back to back, in a new
        # order each round, so the 2T/1T ratio pairs cells seconds apart:
        # this VM's CPUs change speed over minutes.
        rng.shuffle(groups)
        order = []
        for (w, s) in groups:
            ts = list(a.threads)
            rng.shuffle(ts)
            order += [(w, s, t) for t in ts]
        for (w, s, t) in order:
            if s == "3.13":
                v, err = run_python(a.python, False, w, t, a.duration, a.cpus)
            elif s == "3.13t":
                v, err = run_python(a.python_ft, True, w, t, a.duration, a.cpus)
            else:
                v, err = run_gilheap(a.gilheap, s, w, t, a.duration, a.cpus, pin_ok)
            res[(w, s, t)][r] = v
            done += 1
            if err:
                failures.append(f"{w} {s} {t}T round {r + 1}: {err}")
                print(f"fidelity.py: {failures[-1]}", file=sys.stderr)
            if sys.stderr.isatty():
                print(f"\r[{done}/{total}] {w} {s} {t}T      ", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)

    def ratio(w, s1, t1, s2, t2):
        # Paired within a round: one side's thread counts ran back to back;
        # two sides' cells, minutes apart at most.
        return med_range([x / y for x, y in zip(res[(w, s1, t1)], res[(w, s2, t2)])
                          if x is not None and y])

    summary = []
    tmax = a.threads[-1]
    for w in a.workloads:
        row = {"workload": w}
        for s in sides:
            for t in a.threads:
                row[f"{s}_{t}T"] = med_range(res[(w, s, t)])
            row[f"{s}_scaling"] = ratio(w, s, tmax, s, 1)
        if "3.13" in sides:
            row["cpython_ft_over_gil"] = ratio(w, "3.13t", 1, "3.13", 1)
        row["gilheap_ft_over_gil"] = ratio(w, "ft", 1, "gil", 1)
        for gh, cp in PAIRS:
            if cp in sides and row[f"{gh}_scaling"][0] and row[f"{cp}_scaling"][0]:
                off = row[f"{gh}_scaling"][0] / row[f"{cp}_scaling"][0] - 1
                row[f"{gh}_within"] = abs(off) <= TOLERANCE
                row[f"{gh}_off"] = off
        summary.append(row)

    machine = ""
    try:
        with open("/proc/cpuinfo") as f:
            machine = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    head = (f"fidelity: {len(a.workloads)} workloads, threads {','.join(map(str, a.threads))}, "
            f"{a.repeat} interleaved rounds of {a.duration:g} s, "
            f"pinned to CPUs {','.join(map(str, a.cpus)) if a.cpus else 'none'}"
            f"{'' if pin_ok or not a.cpus else ' (CPython only: this gilheap has no --cpus)'}; "
            f"{machine}, {os.cpu_count()} CPUs")
    print(head)
    k = f"{tmax}T/1T"
    if a.markdown:
        cols = ["workload"]
        if "3.13" in sides:
            cols += [f"3.13 1T", f"3.13 {k}", "gil 1T", f"gil {k}", "±30%",
                     "3.13t 1T", f"3.13t {k}", "ft 1T", f"ft {k}", "±30%",
                     "3.13t/3.13 1T", "ft/gil 1T"]
        else:
            cols += ["gil 1T", f"gil {k}", "ft 1T", f"ft {k}", "ft/gil 1T"]
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
    else:
        print(f"{'workload':16} {'side':6} {'1T ops/s':>9} {f'{tmax}T ops/s':>9}  {k + ' (min-max)':20} "
              f"{'vs CPython':>10}")
    for row in summary:
        w = row["workload"]
        if a.markdown:
            def sc(s):
                return fmt_ratio(row[f"{s}_scaling"])

            def ok(gh):
                return ("yes" if row[f"{gh}_within"] else f"no ({row[f'{gh}_off']:+.0%})") \
                    if f"{gh}_within" in row else "-"
            cells_md = [w]
            if "3.13" in sides:
                cells_md += [fmt_rate(row["3.13_1T"][0]), sc("3.13"), fmt_rate(row["gil_1T"][0]),
                             sc("gil"), ok("gil"), fmt_rate(row["3.13t_1T"][0]), sc("3.13t"),
                             fmt_rate(row["ft_1T"][0]), sc("ft"), ok("ft"),
                             fmt_ratio(row["cpython_ft_over_gil"]),
                             fmt_ratio(row["gilheap_ft_over_gil"])]
            else:
                cells_md += [fmt_rate(row["gil_1T"][0]), sc("gil"), fmt_rate(row["ft_1T"][0]),
                             sc("ft"), fmt_ratio(row["gilheap_ft_over_gil"])]
            print("| " + " | ".join(cells_md) + " |")
            continue
        for s in sides:
            verdict = ""
            for gh, cp in PAIRS:
                if s == gh and f"{gh}_within" in row:
                    verdict = ("within" if row[f"{gh}_within"] else "OFF") + f" {row[f'{gh}_off']:+.0%}"
            print(f"{w:16} {s:6} {fmt_rate(row[f'{s}_1T'][0]):>9} {fmt_rate(row[f'{s}_{tmax}T'][0]):>9}  "
                  f"{fmt_ratio(row[f'{s}_scaling']):20} {verdict:>10}")
        extra = f"ft/gil at 1T: gilheap {fmt_ratio(row['gilheap_ft_over_gil'])}"
        if "3.13" in sides:
            extra += f", CPython {fmt_ratio(row['cpython_ft_over_gil'])}"
        print(f"{'':16} {extra}")
    for gh, cp in PAIRS:
        judged = [r for r in summary if f"{gh}_within" in r]
        if judged:
            n_ok = sum(r[f"{gh}_within"] for r in judged)
            print(f"{gh} vs {cp}: {k} within ±{TOLERANCE:.0%} on {n_ok} of {len(judged)} workloads")
    if failures:
        print(f"{len(failures)} cells failed:", *failures, sep="\n  ")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"header": head, "cells": {f"{w} {s} {t}": v for (w, s, t), v in res.items()},
                       "summary": summary, "failures": failures}, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
