#!/usr/bin/env bash
# setup.sh - install what gilheap needs (Debian 12 packages), configure and build.
#
#   bash scripts/setup.sh [PRESET]      PRESET: default (the default), debug, asan, tsan
#
# Installs only missing packages (needs root for that; prints the apt-get line
# otherwise), then runs `cmake --preset PRESET` and builds. Safe to re-run.
set -euo pipefail
preset=${1:-default}
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config python3
          libyaml-dev libjansson-dev libcriterion-dev libmimalloc-dev liburcu-dev gnuplot-nox help2man
          systemtap-sdt-dev)
if [ "$preset" = tsan ] || [ "${GH_WITH_CLANG:-0}" = 1 ]; then
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: not root; run: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake --preset "$preset" ${GH_CMAKE_ARGS:-} >/dev/null
cmake --build --preset "$preset"
