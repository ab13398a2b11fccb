#!/usr/bin/env bash
# install.sh BUILD_DIR - `cmake --install` into a temporary prefix, then run
# the installed gilheap from a directory with no scenarios: `list` must show
# the shipped scenarios (found under PREFIX/share/gilheap/scenarios), `run`
# must run one by name, and the man page must be there.
set -euo pipefail
build=$1
prefix=$(mktemp -d /tmp/gh-install-XXXXXX)
elsewhere=$(mktemp -d /tmp/gh-install-cwd-XXXXXX)
trap 'rm -rf "$prefix" "$elsewhere"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
fail() { echo "install.sh: $*" >&2; exit 1; }
[ -x "$prefix/bin/gilheap" ] || fail "no $prefix/bin/gilheap"
[ -f "$prefix/share/man/man1/gilheap.1" ] || fail "no man page under $prefix/share/man/man1"
grep -q '^\.TH GILHEAP' "$prefix/share/man/man1/gilheap.1" || fail "gilheap.1 is not a man page"
n=$(ls "$prefix/share/gilheap/scenarios"/*.yaml | wc -l)
[ "$n" -ge 10 ] || fail "only $n scenarios installed"
cd "$elsewhere"
out=$(env -u GH_SCENARIO_DIR "$prefix/bin/gilheap" list)
echo "$out" | grep -q '^  shared-list ' || fail "list does not show shared-list: $out"
echo "$out" | grep -q "$prefix/bin/../share/gilheap/scenarios" || fail "list names no installed directory: $out"
env -u GH_SCENARIO_DIR "$prefix/bin/gilheap" run shared-list --duration 50ms --quiet ||
  fail "run shared-list from the installed tree failed"
echo "install.sh: $n scenarios, man page, list and run from $prefix: ok"
