#!/usr/bin/env bash
# man-include.sh GILHEAP OUT - help2man include file with each command's
# own --help (run, compare, list) as sections of the man page.
set -euo pipefail
gh=$1 out=$2
{
  for cmd in run compare diff list; do
    printf '[%s]\n.nf\n' "$(echo "$cmd" | tr a-z A-Z) COMMAND"
    "$gh" "$cmd" --help | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"
    printf '.fi\n\n'
  done
} >"$out"
