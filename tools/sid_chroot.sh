#!/usr/bin/env bash
# Build the Debian sid chroot build/sid that holds the OpenSSH 10.x client (tools/ssh10 runs it).
# Built once: if build/sid/usr/bin/ssh exists, nothing to do. Uses the Debian mirror this machine's
# apt already uses (first non-security URI in /etc/apt/sources.list{,.d/*}); needs root.
# About 25 s and 260 MB here. Built in build/sid.tmp and renamed, so an interrupted run leaves no half chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/sid/usr/bin/ssh ] && exit 0
mirror=$(bash tools/apt_mirror.sh)
echo "building build/sid (Debian sid + openssh-client) from $mirror"
rm -rf build/sid.tmp
mkdir -p build
start=$(date +%s)
if ! debootstrap --variant=minbase --include=openssh-client sid build/sid.tmp "$mirror" >build/sid-debootstrap.log 2>&1; then
  tail -n 30 build/sid-debootstrap.log >&2
  echo "debootstrap failed; full log in build/sid-debootstrap.log" >&2
  exit 1
fi
mv build/sid.tmp build/sid
echo "build/sid ready in $(( $(date +%s) - start ))s: $(chroot build/sid /usr/bin/ssh -V 2>&1)"
