# ussh: `make run` starts the server on the virtual board, `make test` runs every test.
# Both install what they need first (Debian packages, the pinned .venv, the npm runner,
# the Debian sid chroot with the OpenSSH 10 client). Setup is stamped in build/stamps: a second
# `make setup` does nothing.
#
#   make setup        install everything (idempotent)
#   make run          ussh on the MicroPython unix port, 127.0.0.1:$(PORT); ssh -p $(PORT) 127.0.0.1
#   make check        the fast tier: in-process tests of the core modules on CPython and the
#                     MicroPython unix port, under a minute, no root, firmware or peers (host_tests/README.md)
#   make test         `make check`, then every host test (pytest host_tests)
#   make bench        benchmarks: crypto on cpython/unix/wasm, login vs Dropbear/sshd/asyncssh
#   make mpy          lib/ussh -> build/mpy/$(BOARD)/ussh/*.mpy and a size table
#                     BOARD=host (-march=host, the unix port), esp32 (xtensawin), rp2 (armv6m),
#                     qemu (armv7m); MPY_MARCH=... overrides the arch, MPY_MARCH=none: bytecode only
#   make sid-chroot   build/sid: Debian sid with OpenSSH 10.x, run via tools/ssh10
#   make interop [TARGET=vboard|qemu|HOST[:PORT]] [IDENTITY=~/.ssh/id_ed25519] [LOGIN_USER=..] [JOBS=1]
#                     every SSH client x operation against a ussh target (default: the virtual board,
#                     started and stopped here): a table, build/interop/report.{html,json,txt}
#   make fuzz         fuzz/run.py: FUZZ_CASES (1000000) in-process fuzz cases over every protocol state,
#                     with coverage of lib/ussh; findings go to fuzz/findings/ (FUZZ_SEED= to repeat a run)
#   make firmware     build/qemu/firmware.elf: MicroPython's qemu port (MPS2-AN385, Cortex-M3) with
#                     ussh frozen in, and firmware-plain.elf without; run by tools/qemu.py
#   make deploy BOARD=esp32|rp2|unix PORT=/dev/ttyUSB0|socket://127.0.0.1:N [WIFI_SSID=.. WIFI_PASSWORD=..]
#                     [SSH_PORT=22] [SSH_NAME=board] [MAX_CONNECTIONS=2] [PASSWORD=..]: ussh, boards/$(BOARD)/*.py,
#                     ussh.cfg, $$HOME/.ssh/*.pub as authorized_keys onto a board through mpremote; the
#                     host key is made on the board (kept on a second run); prints its fingerprint
#   make flash BOARD=esp32 FIRMWARE=file.bin PORT=/dev/ttyUSB0 [ESP_CHIP=esp32s3] [FLASH_DRY_RUN=1]:
#                     esptool erase + write at the chip's offset (FLASH_DRY_RUN=1: print the commands)
#   make soak [SOAK_SESSIONS=1000]: the emulated board through that many sessions (exec, shell, stdin,
#                     sftp, scp both modes, rekey; OpenSSH, paramiko, asyncssh in turn; 64 KiB): failures
#                     and the free heap / largest free block every 50 (tools/soak.py)
#   make vboard / make vboard-stop [VBOARD_DIR=run/vboard VBOARD_PORT=2323]: the virtual board for deploy

VENV := .venv
PY := $(VENV)/bin/python
MICROPYTHON := $(VENV)/bin/micropython
STAMP := build/stamps
APT_PACKAGES := openssh-client openssh-server dropbear-bin socat tmux debootstrap python3-venv
PORT ?= 2222
BOARD ?= host
MPY_MARCH ?=

.PHONY: interop setup check test run bench fuzz mpy sid-chroot firmware clean deploy flash vboard vboard-stop

setup: $(STAMP)/apt $(STAMP)/venv $(STAMP)/npm build/sid/usr/bin/ssh

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
		$(shell find lib/ussh -name '*.py') | $(STAMP)/apt-firmware
	bash tools/qemu_firmware.sh

firmware: build/qemu/firmware.elf

# the fast tier (host_tests/README.md): one in-process test file per core module, each run by pytest
# on CPython and by host_tests/check_mp.py on the MicroPython unix port
CHECK_TESTS := wire transport kex auth channel connection scheduler sftp_fast scp_fast repl_fast
check: $(STAMP)/venv
	@$(PY) -m pytest -q -p no:cacheprovider $(CHECK_TESTS:%=host_tests/test_%.py)
	@MICROPYPATH=lib:host_tests $(MICROPYTHON) host_tests/check_mp.py $(CHECK_TESTS:%=test_%)

test: check setup build/qemu/firmware.elf
	@rc=0; $(PY) -m pytest -q host_tests || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest ran no test: failing"; fi; exit $$rc

FUZZ_CASES ?= 1000000
FUZZ_SEED ?=
fuzz: $(STAMP)/venv
	nice $(PY) fuzz/run.py --cases $(FUZZ_CASES) --coverage $(if $(FUZZ_SEED),--seed $(FUZZ_SEED)) --json fuzz/findings/summary.json

run: setup
	PORT=$(PORT) bash tools/run.sh

bench: setup build/qemu/firmware.elf
	$(PY) bench/run.py

# interop: TARGET is vboard (the virtual board), qemu (the emulated Cortex-M3) or a board's HOST[:PORT]
TARGET ?= vboard
IDENTITY ?=
LOGIN_USER ?=
JOBS ?=
interop: setup $(if $(filter qemu,$(TARGET)),build/qemu/firmware.elf)
	$(PY) tools/interop.py --target '$(TARGET)' $(if $(IDENTITY),--identity '$(IDENTITY)') \
		$(if $(LOGIN_USER),--user '$(LOGIN_USER)') $(if $(JOBS),--jobs $(JOBS))

SOAK_SESSIONS ?= 1000
soak: setup build/qemu/firmware.elf
	nice $(PY) tools/soak.py --sessions $(SOAK_SESSIONS) --json build/soak.json

mpy: $(STAMP)/venv
	$(PY) tools/build_mpy.py --board $(if $(filter unix,$(BOARD)),host,$(BOARD)) $(if $(MPY_MARCH),--march $(MPY_MARCH))

# deploy: PORT is the board's serial device here (or a virtual board's socket://127.0.0.1:N)
WIFI_SSID ?=
WIFI_PASSWORD ?=
PASSWORD ?=
SSH_PORT ?=
SSH_NAME ?=
MAX_CONNECTIONS ?= 2
deploy: export WIFI_SSID := $(WIFI_SSID)
deploy: export WIFI_PASSWORD := $(WIFI_PASSWORD)
deploy: export PASSWORD := $(PASSWORD)
deploy: $(STAMP)/venv
	@case "$(BOARD)" in esp32|rp2|unix) ;; *) echo "make deploy: BOARD=esp32, rp2 or unix (got $(BOARD))"; exit 2;; esac
	@case "$(PORT)" in /*|socket://*|COM*) ;; *) echo "make deploy: PORT=/dev/ttyUSB0 (the board's serial port) or socket://127.0.0.1:N"; exit 2;; esac
	@$(PY) tools/deploy.py --board $(BOARD) --port '$(PORT)' --max-connections $(MAX_CONNECTIONS) \
		$(if $(SSH_PORT),--ssh-port $(SSH_PORT)) $(if $(SSH_NAME),--ssh-name '$(SSH_NAME)')

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

VBOARD_DIR ?= run/vboard
VBOARD_PORT ?= 2323
vboard: $(STAMP)/venv
	$(PY) tools/vboard.py start $(VBOARD_DIR) --port $(VBOARD_PORT)
vboard-stop:
	$(PY) tools/vboard.py stop $(VBOARD_DIR)

clean:
	rm -rf build/mpy build/stamps bench/results
