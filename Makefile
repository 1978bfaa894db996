# ussh: `make run` starts the server on the virtual board, `make test` runs every test.
# Both install what they need first (Debian packages, the pinned .venv, the npm runner,
# the Debian sid chroot with the OpenSSH 10 client). Setup is stamped in build/stamps: a second
# `make setup` does nothing.
#
#   make setup        install everything (idempotent)
#   make run          ussh on the MicroPython unix port, 127.0.0.1:$(PORT); ssh -p $(PORT) 127.0.0.1
#   make test         every host test (pytest host_tests)
#   make bench        benchmarks: crypto on cpython/unix/wasm, login vs Dropbear/sshd/asyncssh
#   make mpy          lib/ussh -> build/mpy/$(BOARD)/ussh/*.mpy and a size table
#                     BOARD=host (-march=host, the unix port), esp32 (xtensawin), rp2 (armv6m),
#                     qemu (armv7m); MPY_MARCH=... overrides the arch, MPY_MARCH=none: bytecode only
#   make sid-chroot   build/sid: Debian sid with OpenSSH 10.x, run via tools/ssh10

VENV := .venv
PY := $(VENV)/bin/python
MICROPYTHON := $(VENV)/bin/micropython
STAMP := build/stamps
APT_PACKAGES := openssh-client openssh-server dropbear-bin socat tmux debootstrap python3-venv
PORT ?= 2222
BOARD ?= host
MPY_MARCH ?=

.PHONY: setup test run bench mpy sid-chroot clean

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

test: setup
	@rc=0; $(PY) -m pytest -q host_tests || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest ran no test: failing"; fi; exit $$rc

run: setup
	PORT=$(PORT) bash tools/run.sh

bench: setup
	$(PY) bench/run.py

mpy: $(STAMP)/venv
	$(PY) tools/build_mpy.py --board $(BOARD) $(if $(MPY_MARCH),--march $(MPY_MARCH))

clean:
	rm -rf build/mpy build/stamps bench/results
