#!/usr/bin/env bash
# smoke.sh - the gilheap program end to end on every shipped scenario.
#
#   tests/cli/smoke.sh GILHEAP_BINARY SOURCE_DIR
#
# For every scenarios/*.yaml, under every preset that `gilheap list` shows, at
# 1 and 2 threads, `gilheap run --duration 200ms --json F`, judged by
# tests/cli/run_verdict.py: exit 0 (an unsafe preset may exit 1: its hazards
# are expected), F parses as JSON, and nothing leaks (alloc.live_after_teardown
# is 0: the teardown drops the globals and collects the cycles; unsafe presets
# are exempt). On the TSan build (GH_SANITIZE=thread), a gil-ticks run whose
# only failed checks are progress checks, with a thread that did nothing and
# no hazard, passes with a note: that is the convoy the mode models
# (run_verdict.py says more). A thread count below what a scenario's roles
# need is refused by gilheap (exit 2, "the roles need at least N threads");
# that combination is reported as skipped, not failed. Then one `gilheap
# compare` of shared-list, with --plot (needs gnuplot: scripts/setup.sh
# installs gnuplot-nox).
# Prints "N passed, M failed" last and exits 1 if anything failed.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 GILHEAP_BINARY SOURCE_DIR" >&2
    exit 2
fi
bin=$1
src=$2
[[ -x $bin ]] || { echo "smoke: $bin is not an executable" >&2; exit 2; }
[[ -d $src/scenarios ]] || { echo "smoke: no $src/scenarios directory" >&2; exit 2; }

verdict_py=$(cd "$(dirname "$0")" && pwd)/run_verdict.py
verdict_args=()
[[ ${GH_SANITIZE:-} == thread ]] && verdict_args=(--tsan)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gilheap-smoke-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$src"

passed=0
failed=0
skipped=0
starved=0

json_ok() {
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1"
}

# The presets: the first word of each line of the "strategies:" section.
presets=$("$bin" list | awk '/^strategies:/ {on=1; next} /^[^ ]/ {on=0} on && /^  [^ ]/ {print $1}')
if [[ -z $presets ]]; then
    echo "FAIL gilheap list shows no strategies" >&2
    exit 1
fi

shopt -s nullglob
scenarios=(scenarios/*.yaml)
if [[ ${#scenarios[@]} -eq 0 ]]; then
    echo "FAIL no scenarios in $src/scenarios" >&2
    exit 1
fi

# Under ThreadSanitizer the positive control's races are exactly what TSan
# reports (that is its purpose): the unsafe preset runs with one thread
# only, and the compare below leaves it out.
safe_presets=$presets
if [[ ${GH_SANITIZE:-} == thread ]]; then
    safe_presets=$(echo "$presets" | grep -vx unsafe | tr '\n' ',' | sed 's/,$//')
fi

for scen in "${scenarios[@]}"; do
    for preset in $presets; do
        for threads in 1 2; do
            name="$(basename "$scen" .yaml) --strategy $preset --threads $threads"
            if [[ ${GH_SANITIZE:-} == thread && $preset == unsafe && $threads -gt 1 ]]; then
                skipped=$((skipped + 1))
                echo "skip run $name: the positive control's races under ThreadSanitizer"
                continue
            fi
            out="$tmp/run.json"
            rm -f "$out"
            status=0
            "$bin" run "$scen" --strategy "$preset" --threads "$threads" --duration 200ms \
                --json "$out" --quiet > "$tmp/stdout" 2> "$tmp/stderr" || status=$?
            if [[ $status -eq 2 ]] && grep -q 'the roles need at least' "$tmp/stderr"; then
                skipped=$((skipped + 1))
                echo "skip run $name: $(cat "$tmp/stderr")"
            elif verdict=$(python3 "$verdict_py" "${verdict_args[@]}" "$status" "$out"); then
                passed=$((passed + 1))
                if [[ $verdict == starved:* ]]; then
                    starved=$((starved + 1))
                    echo "note run $name: $verdict"
                fi
            else
                failed=$((failed + 1))
                echo "FAIL run $name: ${verdict:-exit $status, run_verdict.py failed}" >&2
                sed 's/^/    /' "$tmp/stderr" >&2
            fi
        done
    done
done

if [[ -f scenarios/shared-list.yaml ]]; then
    status=0
    strategies=()
    if [[ ${GH_SANITIZE:-} == thread ]]; then
        strategies=(--strategies "$safe_presets")
    fi
    "$bin" compare scenarios/shared-list.yaml "${strategies[@]}" --duration 200ms \
        --json "$tmp/compare.json" --plot "$tmp/compare.png" > "$tmp/stdout" 2> "$tmp/stderr" ||
        status=$?
    if [[ $status -eq 0 ]] && json_ok "$tmp/compare.json" 2> /dev/null &&
        [[ $(head -c 4 "$tmp/compare.png" | od -An -tx1 | tr -d ' \n') == 89504e47 ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL compare scenarios/shared-list.yaml: exit $status" >&2
        sed 's/^/    /' "$tmp/stdout" "$tmp/stderr" >&2
    fi
else
    failed=$((failed + 1))
    echo "FAIL no scenarios/shared-list.yaml to compare" >&2
fi

[[ $skipped -eq 0 ]] || echo "$skipped skipped (too few threads for the scenario's roles, or unsafe under TSan)"
[[ $starved -eq 0 ]] || echo "$starved passed with a thread starved by gil-ticks' convoy (see run_verdict.py)"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
