"""App updates on the emulated Cortex-M3 (tools/qemu.py): the app's slots on the board's flash
(boards/qemu/flash.py, littlefs backed by a host file), `tools/push.py` over SSH on the UART (a
ProxyCommand), a reset = qemu killed and started again on the same flash. No asyncio there: the
app's main.py is imported before the server (boards/qemu/main.py run_app()); a version is
healthy once its import returned (app_healthy_after = 1), or must call ussh.app.confirm()
(app_healthy_after = 0)."""
import os
import re
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import qemu  # noqa: E402
import qemu_login  # noqa: E402
from peers import keygen  # noqa: E402

PUSH = os.path.join(ROOT, "tools", "push.py")
FLASH_BYTES = 1024 * 1024

V1 = {"main.py": "from helpers import util\nprint('app v1', util.N)\n", "helpers/util.py": "N = 1\n"}
V2 = {"main.py": "from helpers import util\nprint('app v2', util.N)\n", "helpers/util.py": "N = 2\n",
      "extra.py": "X = 2\n"}


@pytest.fixture(autouse=True)
def firmware():
    assert os.path.exists(qemu.FIRMWARE), "%s missing: make firmware" % qemu.FIRMWARE


def write_app(folder, files):
    for p, text in files.items():
        path = os.path.join(folder, p)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    return folder


class QBoard:
    """The emulated board with its flash in a host file; boot() = a reset: qemu started on that
    flash, the flash mounted, the app run (its console output in .app_out), SSH served."""

    def __init__(self, tmp_path, healthy_after=1):
        self.tmp = tmp_path
        self.flash = str(tmp_path / "flash.img")
        self.host_key = keygen(str(tmp_path / "host"), "qemu-host")
        self.client_key = keygen(str(tmp_path / "client"), "qemu-client")
        self.known = str(tmp_path / "known_hosts")
        with open(self.host_key + ".pub") as f:
            line = " ".join(f.read().split()[:2])
        with open(self.known, "w") as f:
            f.write("qemu-board %s\n" % line)
        self.healthy_after = healthy_after
        self.ub = None
        self.boots = 0

    def boot(self):
        self.kill()
        self.ub = ub = qemu_login.UartBoard(icount=False, timeout=300, flash=self.flash)
        ub.__enter__()
        ub.host_key, ub.client_key = self.host_key, self.client_key  # the same board across resets
        qemu.mount_flash(ub.board, FLASH_BYTES)
        if not self.boots:
            ub.board.exec("with open('/ussh.cfg', 'w') as f:\n    f.write(%r)\n"
                          % ("root = /\napp_dir = /app\napp_healthy_after = %d\n" % self.healthy_after))
        self.boots += 1
        self.app_out = ub.board.exec("run_app()")
        first = ub.serve(forever=True, one_session=False, root="/")
        assert "serving SSH" in first, first
        return self.app_out

    def kill(self):
        """A power cut: SIGKILL, no unmount."""
        ub, self.ub = self.ub, None
        if ub is None:
            return
        p = ub.board.proc
        if p is not None and p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
        ub.__exit__()

    def push_argv(self, folder):
        return [sys.executable, PUSH, "-v", folder, "qemu-board", "-i", self.client_key, "--known-hosts", self.known,
                "--proxy-command", "socat - TCP:127.0.0.1:%d" % self.ub.port]

    def push(self, folder, ok=True):
        r = subprocess.run(self.push_argv(folder), capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, HOME=str(self.tmp)))
        assert (r.returncode == 0) == ok, r.stdout + r.stderr
        return r.stdout

    def ssh(self, cmd):
        r = self.ub.ssh(cmd, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    def status(self):
        out = self.ssh("import ussh.app; ussh.app.status()")
        return {k: v.strip() for k, v in re.findall(r"^(\w+): +(.*)$", out, re.M)}


@pytest.fixture
def qb(tmp_path):
    b = QBoard(tmp_path)
    yield b
    b.kill()


def test_update_rollback_and_unchanged_push_on_the_emulated_board(qb, tmp_path):
    qb.boot()
    out = qb.push(write_app(str(tmp_path / "v1"), V1))
    assert "+ main.py" in out and "committed version 1" in out, out
    assert "app v1 1" in qb.boot() and "app version 1 confirmed" in qb.app_out
    out = qb.push(str(tmp_path / "v1"))  # unchanged: nothing sent
    assert "nothing changed" in out and "sending" not in out, out
    out = qb.push(write_app(str(tmp_path / "v2"), V2))
    assert re.search(r"^  \+ extra\.py$", out, re.M) and "committed version 2" in out, out
    assert "app v2 2" in qb.boot() and "app version 2 confirmed" in qb.app_out
    st = qb.status()
    assert st["active"] == "version 2 in /app/b" and st["previous"] == "version 1 in /app/a", st
    # version 3 raises at import: back to version 2, SSH serves all the same
    v3 = dict(V2, **{"main.py": "print('app v3 starting')\nraise ValueError('no sensor')\n"})
    qb.push(write_app(str(tmp_path / "v3"), v3))
    out = qb.boot()
    assert "app v3 starting" in out and "app version 3 -> version 2: raised at import: ValueError: no sensor" in out
    st = qb.status()
    assert st["active"] == "version 2 in /app/b" and st["failed"] == "version 3 kept in /app/a", st
    out = qb.boot()
    assert "app v2 2" in out and "v3" not in out


def test_never_confirming_version_rolls_back_on_the_emulated_board(tmp_path):
    qb = QBoard(tmp_path, healthy_after=0)  # a version must call ussh.app.confirm()
    try:
        qb.boot()
        qb.push(write_app(str(tmp_path / "v1"), dict(V1, **{"main.py": V1["main.py"] + "import ussh.app\n"
                                                                                      "ussh.app.confirm()\n"})))
        assert "app version 1 confirmed" in qb.boot()
        qb.push(write_app(str(tmp_path / "v2"), V2))  # runs, never confirms
        assert "app v2 2" in qb.boot() and "confirmed" not in qb.app_out
        out = qb.boot()
        assert "app version 2 -> version 1: reset before it confirmed" in out and "app v1 1" in out, out
    finally:
        qb.kill()


def test_emulator_killed_in_the_middle_of_a_push_runs_the_old_version(qb, tmp_path):
    qb.boot()
    qb.push(write_app(str(tmp_path / "v1"), V1))
    assert "app version 1 confirmed" in qb.boot()
    big = dict(V2, **{"big.bin": "x" * (64 * 1024)})
    v2 = write_app(str(tmp_path / "v2"), big)
    p = subprocess.Popen(qb.push_argv(v2), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=dict(os.environ, HOME=str(tmp_path)))
    seen = []
    try:
        for line in p.stdout:  # the power goes once part of big.bin (first in order) got there
            seen.append(line)
            m = re.match(r"push: big\.bin (\d+) of (\d+) bytes", line)
            if m and 0 < int(m.group(1)) < int(m.group(2)):
                qb.kill()
                break
        seen += p.stdout.readlines()
        p.wait(60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    out = "".join(seen)
    assert re.search(r"big\.bin \d+ of 65536", out) and "committed" not in out and p.returncode != 0, out
    assert "app v1 1" in qb.boot()
    st = qb.status()
    assert st["active"] == "version 1 in /app/a" and st["rollback"] == "none", st
    out = qb.push(v2)
    assert "committed version 2" in out, out
    assert "app v2 2" in qb.boot()
