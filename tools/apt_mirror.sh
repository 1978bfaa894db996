#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt already uses: the first non-security URI of
# /etc/apt/sources.list{,.d/*.list,.d/*.sources}. The project names no mirror of its own: with no
# apt source on the machine this fails, saying so, and the caller stops.
# usage: mirror=$(bash tools/apt_mirror.sh) || exit 1
set -euo pipefail
etc=${APT_ETC:-/etc/apt}  # another folder only for the project's own test
mirror=$(cat "$etc"/sources.list "$etc"/sources.list.d/*.list "$etc"/sources.list.d/*.sources 2>/dev/null \
  | grep -v '^\s*#' | grep -v -- '-security' | grep -oE '(https?|file)://[^ ]*/debian/?' | head -n1 || true)
if [ -z "$mirror" ]; then
  echo "no Debian mirror in this machine's apt sources ($etc/sources.list, $etc/sources.list.d/):" \
    "configure apt first; ussh names no mirror of its own" >&2
  exit 1
fi
printf '%s\n' "$mirror"
