"""Runs one fidelity workload on the CPython that runs this file.

    python3 driver.py WORKLOAD.py --threads N --duration SECONDS [--cpus 0,1]

A workload file defines
    OPS       statements counted per call of work(..., 1) (what gilheap counts as ops)
    setup()   -> the shared state, made by the main thread before any worker starts
    work(shared, tid, n)   runs its statement block n times

Every run starts worker threads, even at one thread (gilheap's workers are
threads too, and 3.13t immortalises deferred objects when the first
non-main thread starts). The workers meet at a barrier; each then calls
work() in chunks until the main thread's timer sets the stop flag. Prints
one JSON line: ops, seconds, ops_per_s, per-thread ops, the build.
"""
import argparse
import importlib.util
import json
import os
import sys
import sysconfig
import threading
import time

CHUNK = 1000  # iterations per work() call between two looks at the stop flag


def load(path):
    spec = importlib.util.spec_from_file_location("workload", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workload")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--cpus", default="")
    a = ap.parse_args()
    mod = load(a.workload)
    cpus = [int(c) for c in a.cpus.split(",") if c != ""]
    shared = mod.setup()
    stop = False
    counts = [0] * a.threads
    barrier = threading.Barrier(a.threads + 1)

    def run(tid):
        nonlocal stop
        if cpus:  # pid 0: the calling thread (Linux)
            os.sched_setaffinity(0, {cpus[tid % len(cpus)]})
        work = mod.work
        n = 0
        barrier.wait()
        while not stop:
            work(shared, tid, CHUNK)
            n += CHUNK
        counts[tid] = n * mod.OPS

    threads = [threading.Thread(target=run, args=(i,), name=f"worker-{i}") for i in range(a.threads)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    time.sleep(a.duration)
    stop = True
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    gil = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    print(json.dumps({
        "ops": sum(counts), "seconds": secs, "ops_per_s": sum(counts) / secs,
        "per_thread": counts, "version": sys.version.split()[0],
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")), "gil_enabled": gil,
    }))


if __name__ == "__main__":
    main()
