#!/usr/bin/env bash
# build-cpython.sh - build CPython 3.13 twice, with and without the GIL, for
# the fidelity harness (scripts/fidelity.py, docs/fidelity.md).
#
#   bash scripts/build-cpython.sh DIR
#
# Takes the source from Debian trixie's source package python3.13 (3.13.5;
# Debian 12 has no 3.13), builds it once as is and once with --disable-gil,
# and installs DIR/gil/bin/python3.13 and DIR/ft/bin/python3.13t. Plain -O3
# builds (no PGO or LTO, as `./configure` does by default): about 10 minutes
# on 2 cores. Needs root for apt-get (a deb-src entry for trixie is added
# under /etc/apt/sources.list.d; binary packages stay bookworm's).
set -euo pipefail
dir=${1:?usage: build-cpython.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

src_list=/etc/apt/sources.list.d/gilheap-trixie-src.sources
if ! ls "$dir"/python3.13_3.13.*.orig.tar.xz >/dev/null 2>&1; then
  if [ ! -e "$src_list" ]; then
    cat >"$src_list" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  apt-get update -qq
  (cd "$dir" && apt-get source --download-only python3.13)
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends build-essential libffi-dev zlib1g-dev libssl-dev >/dev/null

tarball=$(ls "$dir"/python3.13_3.13.*.orig.tar.xz | head -1)
tar -C "$dir" -xf "$tarball"
srcdir=$(ls -d "$dir"/Python-3.13.* | head -1)
for kind in gil ft; do
  flags=()
  [ "$kind" = ft ] && flags=(--disable-gil)
  mkdir -p "$dir/build-$kind"
  (cd "$dir/build-$kind" &&
     "$srcdir/configure" --prefix="$dir/$kind" "${flags[@]}" >configure.log 2>&1 &&
     make -j"$(nproc)" >make.log 2>&1 &&
     make install >install.log 2>&1)
done
echo "CPython 3.13 (GIL):      $dir/gil/bin/python3.13"
echo "CPython 3.13t (no GIL):  $dir/ft/bin/python3.13t"
