#!/usr/bin/env bash
# positive-control.sh - how often the unsafe preset is caught, and that it
# never crashes (issue: at least 99 of 100 two-second runs at 2 threads show
# hazards on shared-list, shared-counter and refcount-contention).
#
#   bash scripts/positive-control.sh [--runs N] [--duration D] [--threads T]
#                                    [--bin PATH] [SCENARIO...]
#
# Each run is `gilheap run SCENARIO --strategy unsafe --json F` in its own
# process. A run is "caught" when its JSON says hazards.total > 0; it
# "crashed" when the process died of a signal or left no JSON. Prints one
# line per scenario and exits 1 if any run crashed or the caught rate is
# below 99%.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=100 duration=2s threads=2 bin=build/gilheap
scenarios=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        -*) echo "positive-control.sh: unknown option $1 (expected --runs, --duration, --threads, --bin)" >&2; exit 2 ;;
        *) scenarios+=("$1"); shift ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "positive-control.sh: --runs: expected a positive integer, found '$runs'" >&2; exit 2; }
[[ -x $bin ]] || { echo "positive-control.sh: --bin: $bin is not an executable (build first: bash scripts/setup.sh)" >&2; exit 2; }
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(scenarios/shared-list.yaml scenarios/shared-counter.yaml scenarios/refcount-contention.yaml)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gilheap-pc-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# A private copy: a rebuild during the loop cannot change what is measured.
cp "$bin" "$tmp/gilheap"
bad=0
printf '%-40s %6s %7s %8s  %s\n' scenario runs caught crashed "kinds seen (runs)"
for scen in "${scenarios[@]}"; do
    [[ -f $scen ]] || { echo "positive-control.sh: no such scenario file: $scen" >&2; exit 2; }
    caught=0 crashed=0
    : > "$tmp/kinds"
    for ((i = 1; i <= runs; i++)); do
        rm -f "$tmp/r.json"
        status=0
        "$tmp/gilheap" run "$scen" --strategy unsafe --threads "$threads" --duration "$duration" \
            --seed "$i" --json "$tmp/r.json" --quiet > /dev/null 2> "$tmp/stderr" || status=$?
        if [[ $status -gt 3 || ! -s $tmp/r.json ]]; then
            crashed=$((crashed + 1))
            echo "  run $i: exit $status, $(head -c 300 "$tmp/stderr")" >&2
            continue
        fi
        python3 - "$tmp/r.json" "$tmp/kinds" > "$tmp/caught" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
h = d["hazards"]
with open(sys.argv[2], "a") as f:
    for k, n in h["counts"].items():
        if n:
            f.write(k + "\n")
print(1 if h["total"] > 0 else 0)
PY
        caught=$((caught + $(cat "$tmp/caught")))
    done
    kinds=$(sort "$tmp/kinds" | uniq -c | awk '{printf "%s %s(%d)", sep, $2, $1; sep=","}')
    printf '%-40s %6d %7d %8d  %s\n' "$scen" "$runs" "$caught" "$crashed" "$kinds"
    if [[ $crashed -gt 0 || $((caught * 100)) -lt $((runs * 99)) ]]; then
        bad=1
    fi
done
exit $bad
