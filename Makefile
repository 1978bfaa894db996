# ussh: `make run` starts the server on the virtual board, `make test` runs every test.
# Both install what they need first (Debian packages, the pinned .venv, the npm runner).

VENV := .venv
PY := $(VENV)/bin/python
MICROPYTHON := $(VENV)/bin/micropython
STAMP := build/stamps
APT_PACKAGES := openssh-client openssh-server dropbear-bin socat tmux debootstrap

.PHONY: setup test

setup: $(STAMP)/apt $(STAMP)/venv $(STAMP)/npm

$(STAMP)/apt:
	@mkdir -p $(STAMP)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

$(STAMP)/venv: requirements-dev.txt
	@mkdir -p $(STAMP)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

$(STAMP)/npm: tools/wasm/package.json
	@mkdir -p $(STAMP)
	cd tools/wasm && npm install --silent --no-audit --no-fund
	@touch $@

test: setup
	$(PY) -m pytest -q host_tests
