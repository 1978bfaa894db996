#!/usr/bin/env bash
# `make pico-firmware`: MicroPython's rp2 port for the Raspberry Pi Pico (board RPI_PICO, RP2040)
# from Debian's sources, built twice with Debian's arm-none-eabi toolchain:
#   build/pico/firmware.elf (.uf2)  ussh frozen in (firmware/manifest_pico.py)
#   build/pico/firmware-plain.elf   the same without ussh (firmware/manifest_pico_plain.py)
# Sources, once, through a private apt configuration in build/pico/apt for Debian
# $MICROPYTHON_SUITE (default trixie; the machine's own apt sources are not touched):
#   apt-get source micropython   1.25.0+ds: ports/rp2, but lib/pico-sdk, lib/tinyusb, lib/mbedtls empty
#   apt-get source mbedtls       3.6.x, into lib/mbedtls (the rp2 port always compiles it)
#   apt-get download pico-sdk-source tinyusb-source
#                                the trees of /usr/src/pico-sdk (2.1.1) and /usr/src/tinyusb
#                                (0.18.0), unpacked (dpkg-deb -x, not installed) into lib/
# all into build/pico/src (build/mpsrc, the Cortex-M3's source, is not touched). pico-sdk's
# picotool (which it would git-clone for the .uf2) is configured absent (PICO_NO_PICOTOOL):
# MicroPython's tools/uf2conv.py makes the .uf2 from the .bin. The builds are incremental
# (build/pico/build-*): after a change in lib/ussh only the frozen modules are compiled again.
# Needs the packages of the Makefile's PICO_PACKAGES.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUITE=${MICROPYTHON_SUITE:-trixie}
OUT=build/pico
SRC=$OUT/src
JOBS=$(nproc 2>/dev/null || echo 2)

if [ ! -f "$SRC/ready" ]; then
  mirror=$(bash tools/apt_mirror.sh)  # the mirror this machine's apt uses; none named here
  echo "fetching the Pico's sources from Debian $SUITE ($mirror): micropython, mbedtls, pico-sdk-source, tinyusb-source"
  rm -rf "$SRC" "$OUT/apt"
  mkdir -p "$SRC" "$OUT/apt/lists/partial" "$OUT/apt/parts" "$OUT/apt/cache/archives/partial"
  printf 'deb %s %s main\ndeb-src %s %s main\n' "$mirror" "$SUITE" "$mirror" "$SUITE" >"$OUT/apt/sources.list"
  apt_opts=(-q -o "Dir::Etc::SourceList=$ROOT/$OUT/apt/sources.list" -o "Dir::Etc::SourceParts=$ROOT/$OUT/apt/parts"
    -o "Dir::State::Lists=$ROOT/$OUT/apt/lists" -o "Dir::Cache=$ROOT/$OUT/apt/cache"
    -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root)
  log=$ROOT/$OUT/apt.log
  fail() { tail -n 20 "$log" >&2; echo "$1" >&2; exit 1; }
  apt-get "${apt_opts[@]}" update >"$log" 2>&1 || fail "apt-get update failed"
  (cd "$SRC" && apt-get "${apt_opts[@]}" source micropython mbedtls \
    && apt-get "${apt_opts[@]}" download pico-sdk-source tinyusb-source) >>"$log" 2>&1 \
    || fail "fetching the sources failed"
  mp=$(find "$SRC" -maxdepth 1 -type d -name 'micropython-*' | head -n1)
  tls=$(find "$SRC" -maxdepth 1 -type d -name 'mbedtls-*' | head -n1)
  [ -d "$mp/ports/rp2" ] || fail "no ports/rp2 in $mp"
  [ -f "$tls/include/mbedtls/version.h" ] || fail "no mbedtls tree in $SRC"
  mkdir -p "$SRC/deb"
  for d in "$SRC"/pico-sdk-source_*.deb "$SRC"/tinyusb-source_*.deb; do dpkg-deb -x "$d" "$SRC/deb"; done
  rmdir "$mp/lib/pico-sdk" "$mp/lib/tinyusb" "$mp/lib/mbedtls"
  mv "$SRC/deb/usr/src/pico-sdk" "$mp/lib/pico-sdk"
  mv "$SRC/deb/usr/src/tinyusb" "$mp/lib/tinyusb"
  mv "$tls" "$mp/lib/mbedtls"
  # pico-sdk's lib/tinyusb links to ../../tinyusb (their places under /usr/src): here, its sibling
  rm -f "$mp/lib/pico-sdk/lib/tinyusb" && ln -s ../../tinyusb "$mp/lib/pico-sdk/lib/tinyusb"
  # the +ds source leaves micropython-lib out; the build only checks that this file exists
  mkdir -p "$mp/lib/micropython-lib" && touch "$mp/lib/micropython-lib/README.md"
  rm -rf "$SRC/deb" "$SRC"/*.deb "$SRC"/*.tar.* "$SRC"/*.dsc
  basename "$mp" >"$SRC/ready"
fi
mp="$SRC/$(cat "$SRC/ready")"

# The C stack: 8 KB in MicroPython's rp2 memory map (SCRATCH_X and Y, 0x20040000-0x20042000), right
# above the GC heap, with a 256-byte margin for its recursion check. A rekey to mlkem768x25519 while a
# command reads streamed stdin runs the key exchange inside the command's read (connection.pump):
# over 8 KB deep, and the check's margin let the C frames under its last check and the UART's
# interrupt frames run past the bottom into the top of the GC heap, corrupting it (the board then
# hung or read from a bad address; `make interop TARGET=pico`, OpenSSH 10 rekey). Here the stack is
# 16 KB (the GC heap ends 8 KB lower) and the margin 1 KB, so a deeper call raises RuntimeError
# (maximum recursion depth), which ends one connection, instead of corrupting the heap.
ld="$mp/ports/rp2/memmap_mp_rp2040.ld"
if ! grep -q "ussh: 16 KB stack" "$ld"; then
  sed -i -e 's|^\( *\)__GcHeapEnd = ORIGIN(RAM) + LENGTH(RAM);|\1__GcHeapEnd = ORIGIN(RAM) + LENGTH(RAM) - 8k; /* ussh: 16 KB stack */|' \
    -e 's|^\( *\)__StackBottom = __StackTop - SIZEOF(.stack_dummy);|\1__StackBottom = __GcHeapEnd;|' "$ld"
  grep -q "ussh: 16 KB stack" "$ld" && grep -q "__StackBottom = __GcHeapEnd;" "$ld" || { echo "$ld: stack not enlarged" >&2; exit 1; }
fi
cfg="$mp/ports/rp2/mpconfigport.h"
if ! grep -q "MICROPY_STACK_CHECK_MARGIN *(1024)" "$cfg"; then
  sed -i 's|^#define MICROPY_STACK_CHECK_MARGIN *(256)|#define MICROPY_STACK_CHECK_MARGIN              (1024)|' "$cfg"
  grep -q "MICROPY_STACK_CHECK_MARGIN *(1024)" "$cfg" || { echo "$cfg: stack margin not set" >&2; exit 1; }
fi

build() {  # build <name> <manifest>
  local b="$ROOT/$OUT/build-$1" log="$ROOT/$OUT/$1.log"
  # a build folder copied from elsewhere (another clone or worktree) names that place in its
  # cmake cache, and make would build there: such a folder starts afresh
  if [ -f "$b/CMakeCache.txt" ] && ! grep -qxF "# For build in directory: $b" "$b/CMakeCache.txt"; then rm -rf "$b"; fi
  {
    [ -f "$b/Makefile" ] || cmake -S "$mp/ports/rp2" -B "$b" -DMICROPY_BOARD=RPI_PICO -DPICO_BUILD_DOCS=0 \
      -DPICO_NO_PICOTOOL=1 -DMICROPY_FROZEN_MANIFEST="$2"
    make -j"$JOBS" -C "$b"
  } >"$log" 2>&1 || { tail -n 30 "$log" >&2; echo "Pico firmware build failed; log in $log" >&2; exit 1; }
}
build ussh "$ROOT/firmware/manifest_pico.py"
build plain "$ROOT/firmware/manifest_pico_plain.py"
# the .uf2 a real Pico takes (hold BOOTSEL, plug in, copy it to the RPI-RP2 drive): family rp2040
python3 "$mp/tools/uf2conv.py" -b 0x10000000 -f 0xe48bff56 -c -o "$OUT/firmware.uf2" "$OUT/build-ussh/firmware.bin" >/dev/null
cp "$OUT/build-plain/firmware.elf" "$OUT/firmware-plain.elf"
cp "$OUT/build-ussh/firmware.elf" "$OUT/firmware.elf.tmp" && mv "$OUT/firmware.elf.tmp" "$OUT/firmware.elf"
echo "$OUT/firmware.elf: MicroPython $(sed 's/^micropython-//' "$SRC/ready") for RPI_PICO, ussh frozen in"
arm-none-eabi-size "$OUT/firmware.elf" "$OUT/firmware-plain.elf"
