"""App updates on an emulated board, shared by host_tests/test_app_qemu.py (the Cortex-M3,
tools/qemu.py) and host_tests/test_app_pico.py (the Raspberry Pi Pico, tools/pico.py): the
board's flash is a host file, `tools/push.py` reaches the board's UART through a ProxyCommand
to the hang-up bridge (qemu.SSHTarget: a client that leaves mid-packet does not leave the board
mid-stream for the next one), and a reset is the emulator killed (SIGKILL, as a power cut: nothing unmounted) and started
again on that flash. Neither board serves SSH with asyncio, so the app's main.py is imported
before the server (run_app() of boards/qemu/main.py and boards/rp2/uart_ssh.py); a version is
healthy once its import returned (app_healthy_after = 1), or must call ussh.app.confirm()
(app_healthy_after = 0). A test file subclasses AppBoard (start()) and runs the scenarios below
on it."""
import os
import re
import signal
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import qemu  # noqa: E402
from peers import keygen  # noqa: E402

PUSH = os.path.join(ROOT, "tools", "push.py")

V1 = {"main.py": "from helpers import util\nprint('app v1', util.N)\n", "helpers/util.py": "N = 1\n"}
V2 = {"main.py": "from helpers import util\nprint('app v2', util.N)\n", "helpers/util.py": "N = 2\n",
      "extra.py": "X = 2\n"}


def write_app(folder, files):
    for p, text in files.items():
        path = os.path.join(folder, p)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    return folder


class AppBoard:
    """The emulated board with its flash in a host file; boot() = a reset: the emulator started
    on that flash, the app run (its console output in .app_out), SSH served on the UART.
    Subclasses: start() -> a started qemu_login.UartBoard (or pico_login.PicoUart) with the
    board's file system mounted at "/" and this board's keys; timeout: seconds for one step."""

    timeout = 300

    def __init__(self, tmp_path, healthy_after=1):
        self.tmp = tmp_path
        self.flash = str(tmp_path / "flash.img")
        self.host_key = keygen(str(tmp_path / "host"), "board-host")
        self.client_key = keygen(str(tmp_path / "client"), "board-client")
        self.known = str(tmp_path / "known_hosts")
        with open(self.host_key + ".pub") as f:
            line = " ".join(f.read().split()[:2])
        with open(self.known, "w") as f:
            f.write("board %s\n" % line)
        self.healthy_after = healthy_after
        self.ub = None
        self.bridge = None
        self.boots = 0

    def start(self):
        raise NotImplementedError

    def boot(self, healthy_after=None):
        """A reset; healthy_after: a new app_healthy_after in ussh.cfg first."""
        if healthy_after is not None:
            self.healthy_after = healthy_after
            self.boots = 0  # the config is written again
        self.kill()
        self.ub = ub = self.start()
        if not self.boots:
            ub.board.exec("with open('/ussh.cfg', 'w') as f:\n    f.write(%r)\n"
                          % ("root = /\napp_dir = /app\napp_healthy_after = %d\n" % self.healthy_after))
        self.boots += 1
        self.app_out = ub.board.exec("run_app()", self.timeout)
        self.serving = first = ub.serve(forever=True, one_session=False, root="/")
        assert "serving SSH" in first, first
        # clients reach the UART through the bridge (qemu.SSHTarget), which tells the board when
        # one left (ussh.stream.HANGUP) and lets the next one on only once the board answered:
        # straight to the UART's port, a client that left mid-packet left the board reading the
        # next client's version line as the rest of that packet. The bridge reads the console
        # from now on (console()).
        self.bridge = qemu.SSHTarget(ub)
        self.seen = 0
        ub.port = self.bridge.port  # ub.ssh() and push_argv()'s ProxyCommand: the bridge
        return self.app_out

    def kill(self):
        """A power cut: SIGKILL, no unmount."""
        ub, self.ub = self.ub, None
        if ub is None:
            return
        p = ub.board.proc
        if p is not None and p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(30)
        bridge, self.bridge = self.bridge, None
        if bridge is not None:
            bridge.stop()  # its sockets and console thread; then ub.__exit__()
        else:
            ub.__exit__()

    def push_argv(self, folder):
        return [sys.executable, PUSH, "-v", "--classic-kex", "--timeout", str(self.timeout), folder, "board",
                "-i", self.client_key, "--known-hosts", self.known,
                "--proxy-command", "socat - TCP:127.0.0.1:%d" % self.ub.port]

    def push(self, folder, ok=True):
        r = subprocess.run(self.push_argv(folder), capture_output=True, text=True, timeout=self.timeout * 2,
                           env=dict(os.environ, HOME=str(self.tmp)))
        assert (r.returncode == 0) == ok, r.stdout + r.stderr + "\n--- the board's console:\n" + self.console()
        return r.stdout

    def console(self):
        """What the board printed since the last call (its log lines)."""
        text = self.bridge.console_text()
        out, self.seen = text[self.seen :], len(text)
        return out

    def ssh(self, cmd):
        r = self.ub.ssh(cmd, timeout=self.timeout)
        assert r.returncode == 0, r.stdout + r.stderr + "\n--- the board's console:\n" + self.console()
        return r.stdout

    def status(self):
        out = self.ssh("import ussh.app; ussh.app.status()")
        return {k: v.strip() for k, v in re.findall(r"^(\w+): +(.*)$", out, re.M)}


def client_leaving_mid_packet_leaves_a_working_board(qb, tmp_path):
    """A client that leaves in the middle of a packet (its version line, then one byte of a
    packet's length) does not cost the next client its login: the board must not read the next
    version line as the rest of that packet (0x00 "SSH": a length of 5,460,808)."""
    qb.boot()
    s = socket.create_connection(("127.0.0.1", qb.ub.port), timeout=30)
    s.sendall(b"SSH-2.0-leaver\r\n\x00")
    s.close()
    assert qb.ssh("print(6*7)") == "42\n"
    assert "committed version 1" in qb.push(write_app(str(tmp_path / "v1"), V1))


def update_rollback_and_unchanged_push(qb, tmp_path):
    """A good update commits (and an unchanged folder sends nothing); a version that raises at
    import rolls back at that boot, kept for inspection, and the next boot runs the good one."""
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


def never_confirming_version_rolls_back(qb, tmp_path):
    qb.boot()
    qb.push(write_app(str(tmp_path / "v1"), V1))
    assert "app version 1 confirmed" in qb.boot()  # healthy once its import returned
    qb.push(write_app(str(tmp_path / "v2"), V2))
    # from now on a version must call ussh.app.confirm(); version 2 runs but never does
    out = qb.boot(healthy_after=0)
    assert "app v2 2" in out and "confirmed" not in out, out
    out = qb.boot()
    assert "app version 2 -> version 1: reset before it confirmed" in out and "app v1 1" in out, out


def killed_in_the_middle_of_a_push_runs_the_old_version(qb, tmp_path):
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
        p.wait(120)
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
