#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets (the `fuzz` preset: clang, GH_FUZZ=ON,
# ASan+UBSan) and runs each for a while over a copy of its corpus.
#
#   bash scripts/fuzz.sh [--merge] [SECONDS] [TARGET...]
#
# SECONDS: how long each target runs (default 60), one after the other, one
# process each. TARGET: scenario, expr (default: every fuzz/fuzz_*.c).
# The committed corpus fuzz/corpus/TARGET/ is only read; the run's corpus,
# logs and any crashing input go to a temporary directory (GH_FUZZ_OUT to
# choose it), which is printed. --merge adds to the committed corpus the
# inputs of the run that reach new coverage (libFuzzer's -merge=1), to be
# reviewed and committed.
#
# Prints libFuzzer's final statistics per target (executions, exec/s, cov:
# and ft: coverage, corpus size). Exits 1 if any target found a crash, a
# leak, undefined behaviour, a timeout (-timeout=5) or an out-of-memory
# (-rss_limit_mb=2048); 2 on bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."

merge=0
secs=60
targets=()
for a in "$@"; do
  case "$a" in
    --merge) merge=1 ;;
    [0-9]*)
      if ! [[ "$a" =~ ^[0-9]+$ ]] || [ "$a" -lt 1 ]; then
        echo "fuzz.sh: SECONDS '$a': expected a whole number of seconds >= 1" >&2; exit 2
      fi
      secs=$a ;;
    -*) echo "fuzz.sh: unknown option '$a' (expected --merge, SECONDS, TARGET...)" >&2; exit 2 ;;
    *)
      if [ ! -f "fuzz/fuzz_$a.c" ]; then
        echo "fuzz.sh: TARGET '$a': no fuzz/fuzz_$a.c (targets: $(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||' | tr '\n' ' '))" >&2
        exit 2
      fi
      targets+=("$a") ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.c; do t=${f#fuzz/fuzz_}; targets+=("${t%.c}"); done
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j2 --target "${targets[@]/#/fuzz_}"

out=${GH_FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/gilheap-fuzz.XXXXXX")}
mkdir -p "$out"
echo "fuzz.sh: ${secs}s per target; corpora, logs and crashes in $out"
# UB aborts (-fno-sanitize-recover); the trace names the line.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${targets[@]}"; do
  bin=build-fuzz/fuzz_$t
  work=$out/$t
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/crashes"
  cp fuzz/corpus/"$t"/* "$work/corpus/" 2>/dev/null || true
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  echo "== fuzz_$t: $(ls "$work/corpus" | wc -l) inputs to start"
  rc=0
  "$bin" "$work/corpus" "${dict[@]}" -max_total_time="$secs" -timeout=5 \
    -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$work/crashes/" >"$work/log" 2>&1 || rc=$?
  # The last status line (#N DONE/pulse: cov, ft, corp, exec/s) and the stats.
  grep -E '^#[0-9]+' "$work/log" | tail -1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
    "$work/log" || true
  echo "corpus: $(ls "$work/corpus" | wc -l) inputs"
  if [ "$rc" -ne 0 ] || [ -n "$(ls "$work/crashes")" ]; then
    echo "fuzz.sh: fuzz_$t FAILED (exit $rc); the report:" >&2
    grep -E -A40 '^==[0-9]+==ERROR|runtime error:|ERROR: libFuzzer|SUMMARY:' "$work/log" | head -80 >&2 || true
    for c in "$work"/crashes/*; do
      [ -e "$c" ] && echo "fuzz.sh: reproduce: $bin $c" >&2
    done
    failed+=("$t")
    continue
  fi
  if [ "$merge" = 1 ]; then
    before=$(ls fuzz/corpus/"$t" | wc -l)
    "$bin" -merge=1 -timeout=5 -rss_limit_mb=2048 -max_len=16384 \
      fuzz/corpus/"$t" "$work/corpus" >"$work/merge.log" 2>&1
    echo "merge: fuzz/corpus/$t $before -> $(ls fuzz/corpus/"$t" | wc -l) inputs"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]} (logs in $out)" >&2
  exit 1
fi
echo "fuzz.sh: no crash, leak, UB, timeout or OOM in ${targets[*]}"
