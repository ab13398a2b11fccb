#!/usr/bin/env python3
"""probes.py BINARY - the USDT probes (src/base/probes.h) are in BINARY.

`readelf -n` lists each probe's note (.note.stapsdt): provider gilheap, every
probe of the table in probes.h at least once, with its argument count; and
each probe site is a nop (what a probe that is not enabled costs), read back
with objdump at the note's address."""
import re
import subprocess
import sys

# name -> argument count, as src/base/probes.h's table
WANT = {
    "gil_take": 2, "gil_drop": 1, "gil_drop_request": 2, "gil_handoff": 1,
    "lock_wait_begin": 1, "lock_wait_end": 3,
    "stw_begin": 1, "stw_stopped": 3, "stw_end": 1,
    "gc_start": 2, "gc_end": 3, "hazard": 3,
}


def main():
    binary = sys.argv[1]
    notes = subprocess.run(["readelf", "-n", binary], check=True, capture_output=True,
                           text=True).stdout
    found = {}
    pat = re.compile(r"Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+).*?\n"
                     r"\s+Arguments:([^\n]*)")
    for prov, name, loc, args in pat.findall(notes):
        if prov != "gilheap":
            sys.exit(f"probe {name}: provider {prov}, not gilheap")
        found.setdefault(name, []).append((int(loc, 16), len(args.split())))
    missing = sorted(set(WANT) - set(found))
    if missing:
        sys.exit(f"{binary}: no probe {', '.join(missing)} in readelf -n")
    extra = sorted(set(found) - set(WANT))
    if extra:
        sys.exit(f"{binary}: probes {', '.join(extra)} are not in probes.h's table")
    for name, sites in sorted(found.items()):
        for loc, nargs in sites:
            if nargs != WANT[name]:
                sys.exit(f"probe {name} at {loc:#x}: {nargs} arguments, expected {WANT[name]}")
        loc = sites[0][0]
        dis = subprocess.run(["objdump", "-d", f"--start-address={loc:#x}",
                              f"--stop-address={loc + 1:#x}", binary], check=True,
                             capture_output=True, text=True).stdout
        if not re.search(rf"^\s*{loc:x}:\s+90\s+nop", dis, re.M):
            sys.exit(f"probe {name} at {loc:#x} is not a nop:\n{dis}")
    total = sum(len(v) for v in found.values())
    print(f"{len(found)} probes at {total} sites, each a nop")


if __name__ == "__main__":
    main()
