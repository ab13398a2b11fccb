#!/usr/bin/env python3
"""run_verdict.py - what smoke.sh makes of one `gilheap run`.

    run_verdict.py [--tsan] STATUS JSON_FILE

STATUS is gilheap's exit status, JSON_FILE what it wrote with --json; --tsan
says the binary is the ThreadSanitizer build. Prints one line and exits 0
when the run is acceptable, 1 when it is not:

  pass             exit 0, or exit 1 under an unsafe preset (its hazards are
                   the point); and nothing leaked (alloc.live_after_teardown
                   is 0), unsafe presets exempt.
  starved: ...     on the ThreadSanitizer build only: exit 1 under
                   sync=gil-ticks where the only failed checks are progress
                   checks (`count(op) > 0`, `count(a) + failed(b) > 0`: a sum
                   with at least one count; `count(op, X)` the same), with
                   two threads or more, one
                   of which did no operation at all while another did some,
                   and there is no hazard and no leak. That is the pre-3.2
                   GIL's convoy: the releasing thread wins the lock straight
                   back, and on that slow build a waiter can lose every race
                   of a short run (15 of 40 runs of 200 ms; the plain build:
                   0 of 60). It is what the mode models, not a defect.
  fail: ...        anything else, with the reason.
"""
import json
import re
import sys

# A progress check: a sum of count()/failed() terms compared "> 0", at
# least one of them a count(); each term's op may be followed by a global
# (count(dict.iter, D): the ops on that global).
TERM = r"(?:count|failed)\(\s*[\w.]+\s*(?:,\s*\w+\s*)?\)"
PROGRESS = re.compile(r"^\s*(?:" + TERM + r"\s*\+\s*)*" + TERM + r"\s*>\s*0\s*$")


def is_progress(expr):
    return bool(PROGRESS.match(expr)) and "count(" in expr


def verdict(status, d, tsan=False):
    cfg = d["config"]
    if d["alloc"]["live_after_teardown"] != 0 and not cfg["unsafe"]:
        return False, "fail: leaked (alloc.live_after_teardown = %d)" % d["alloc"]["live_after_teardown"]
    if status == 0:
        return True, "pass"
    if status != 1:
        return False, "fail: exit %d" % status
    if cfg["unsafe"]:
        return True, "pass"
    failed = [c["expr"] for c in d.get("checks", []) if not c["pass"]]
    if d["hazards"]["total"] != 0:
        return False, "fail: %d hazards under a safe preset" % d["hazards"]["total"]
    reason = "fail: checks failed: " + "; ".join(failed or ["(none reported)"])
    if cfg["sync"] != "gil-ticks" or not tsan:
        return False, reason
    threads = d["throughput"]["per_thread"]
    idle = [t for t in threads if t["ops"] == 0]
    busy = [t for t in threads if t["ops"] > 0]
    not_progress = [e for e in failed if not is_progress(e)]
    if not failed or not_progress or not idle or not busy:
        return False, reason
    t = idle[0]
    return True, ("starved: gil-ticks, thread %d (%s) did no operation; GIL waited up to %.0f ms "
                  "over %d switches; failed: %s" % (
                      t["index"], t["role"], d["locks"]["gil"]["wait_max_ns"] / 1e6,
                      d["locks"]["gil"]["switches"], "; ".join(failed)))


def main(argv):
    tsan = len(argv) > 1 and argv[1] == "--tsan"
    if tsan:
        argv = argv[:1] + argv[2:]
    if len(argv) != 3:
        print("usage: run_verdict.py [--tsan] STATUS JSON_FILE", file=sys.stderr)
        return 2
    status = int(argv[1])
    try:
        with open(argv[2]) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        print("fail: exit %d, no readable JSON (%s)" % (status, e))
        return 1
    try:
        ok, line = verdict(status, d, tsan)
    except (KeyError, TypeError) as e:
        print("fail: exit %d, the JSON lacks %s" % (status, e))
        return 1
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
