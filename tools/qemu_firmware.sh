#!/usr/bin/env bash
# `make firmware`: MicroPython's qemu port for the MPS2-AN385 board (Cortex-M3) from Debian's
# source package, built twice with Debian's arm-none-eabi toolchain:
#   build/qemu/firmware.elf        ussh frozen in (firmware/manifest_qemu.py)
#   build/qemu/firmware-plain.elf  nothing frozen (the size comparison)
#   build/qemu/firmware-small.elf  nothing frozen, a 110 KB heap: an ESP32 without PSRAM as
#                                  `make deploy` leaves it (ussh as .mpy on its filesystem)
# Every build has littlefs (VfsLfs2; no clock on this board: file times are 0): the board's filesystem lives in RAM the firmware does not
# use (0x21000000, the machine's 16 MB "PSRAM", outside the GC heap as a board's flash is;
# tools/qemu.py can back it with a host file so that it survives the emulator).
# The source comes once, by `apt-get source micropython` from Debian $MICROPYTHON_SUITE (default
# trixie: 1.25.0) through a private apt configuration in build/mpsrc/apt (the machine's own apt
# sources are not touched), into build/mpsrc/micropython-*; mpy-cross is built there once. The
# two firmware builds are incremental (build/qemu/build-*): after a change in lib/ussh only the
# frozen modules are compiled again. Needs the packages of the Makefile's FIRMWARE_PACKAGES.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUITE=${MICROPYTHON_SUITE:-trixie}
SRC=build/mpsrc
JOBS=$(nproc 2>/dev/null || echo 2)

if [ ! -f "$SRC/ready" ]; then
  # the Debian mirror this machine's apt uses (tools/apt_mirror.sh; none named here)
  mirror=$(bash tools/apt_mirror.sh)
  echo "fetching MicroPython's source: apt-get source micropython ($SUITE, $mirror)"
  rm -rf "$SRC"
  mkdir -p "$SRC/apt/lists/partial" "$SRC/apt/parts" "$SRC/apt/cache/archives/partial"
  echo "deb-src $mirror $SUITE main" >"$SRC/apt/sources.list"
  apt_opts=(-q -o "Dir::Etc::SourceList=$ROOT/$SRC/apt/sources.list" -o "Dir::Etc::SourceParts=$ROOT/$SRC/apt/parts"
    -o "Dir::State::Lists=$ROOT/$SRC/apt/lists" -o "Dir::Cache=$ROOT/$SRC/apt/cache"
    -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update >"$SRC/apt.log" 2>&1 || { tail -n 20 "$SRC/apt.log" >&2; exit 1; }
  (cd "$SRC" && apt-get "${apt_opts[@]}" source micropython) >>"$SRC/apt.log" 2>&1 \
    || { tail -n 20 "$SRC/apt.log" >&2; exit 1; }
  dir=$(find "$SRC" -maxdepth 1 -type d -name 'micropython-*' | head -n1)
  [ -d "$dir/ports/qemu" ] || { echo "no ports/qemu in $dir" >&2; exit 1; }
  # the +ds source leaves micropython-lib out; the port's build only checks this file exists
  mkdir -p "$dir/lib/micropython-lib" && touch "$dir/lib/micropython-lib/README.md"
  echo "building mpy-cross"
  make -s -j"$JOBS" -C "$dir/mpy-cross" >"$SRC/mpy-cross.log" 2>&1 || { tail -n 30 "$SRC/mpy-cross.log" >&2; exit 1; }
  basename "$dir" >"$SRC/ready"
fi
dir="$SRC/$(cat "$SRC/ready")"

mkdir -p build/qemu
build() {  # build <name> <manifest or empty> [heap bytes]
  local log="build/qemu/$1.log" b="$ROOT/build/qemu/build-$1"
  local opts=(BOARD=MPS2_AN385 FROZEN_MANIFEST="$2" MICROPY_VFS_LFS2=1 LDSCRIPT="$ROOT/firmware/mps2_an385.ld"
    CFLAGS_EXTRA='-D"mp_hal_time_ns()=0ULL"' ${3:+MICROPY_HEAP_SIZE=$3})
  # make does not see changed options (a build made before MICROPY_VFS_LFS2 stayed without
  # littlefs): the options are kept beside the build, which starts afresh when they change
  if [ -d "$b" ] && [ "$(cat "$b.options" 2>/dev/null)" != "${opts[*]}" ]; then rm -rf "$b"; fi
  mkdir -p "$b" && printf '%s' "${opts[*]}" >"$b.options"
  # BUILD is relative to ports/qemu
  if ! make -j"$JOBS" -C "$dir/ports/qemu" BUILD="$b" "${opts[@]}" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "firmware build failed; log in $log" >&2
    exit 1
  fi
}
build ussh "$ROOT/firmware/manifest_qemu.py"
build plain ""
build small "" 112640
cp build/qemu/build-ussh/firmware.elf build/qemu/firmware.elf.tmp && mv build/qemu/firmware.elf.tmp build/qemu/firmware.elf
cp build/qemu/build-plain/firmware.elf build/qemu/firmware-plain.elf
cp build/qemu/build-small/firmware.elf build/qemu/firmware-small.elf
echo "build/qemu/firmware.elf: MicroPython $(cat "$SRC/ready" | sed 's/^micropython-//') for MPS2-AN385, ussh frozen in"
arm-none-eabi-size build/qemu/firmware.elf build/qemu/firmware-plain.elf build/qemu/firmware-small.elf
