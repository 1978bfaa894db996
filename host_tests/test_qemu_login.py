"""SSH on the emulated Cortex-M3 (build/qemu/firmware.elf, `make firmware`): boards/qemu/main.py
serves on UART1 with ussh.stream, the host hands it entropy and keys over the raw REPL, and the
stock OpenSSH client logs in through `ProxyCommand=socat - TCP:127.0.0.1:<port>`
(tools/qemu_login.py)."""
import hashlib
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import qemu  # noqa: E402
import qemu_login  # noqa: E402
from qemu_login import UartBoard  # noqa: E402


@pytest.fixture(autouse=True)
def firmware():
    # built by `make test` (setup); missing means the install is broken, not a reason to skip
    assert os.path.exists(qemu.FIRMWARE), "%s missing: make firmware" % qemu.FIRMWARE


def fingerprint(path):
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", path], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return out.split()[1]


def test_openssh_login_over_uart1():
    with UartBoard() as ub:
        first = ub.serve(forever=True)
        assert first.strip() == "ussh: serving SSH on UART1, host key %s" % fingerprint(ub.host_key + ".pub")
        # a key that is not authorized: refused, and the client goes away without a DISCONNECT
        good = ub.client_key
        ub.client_key = qemu_login.keygen(os.path.join(ub.dir, "other"), "other")
        p = ub.ssh("print(1)")
        assert p.returncode == 255 and "Permission denied (publickey)" in p.stderr, p.stderr
        ub.client_key = good
        good_fp, other_fp = fingerprint(good + ".pub"), fingerprint(os.path.join(ub.dir, "other.pub"))
        p = ub.ssh("print(6*7)")
        assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr
        p = ub.ssh("import sys\nprint(sys.platform, sys.maxsize)")  # the emulated board answered
        assert (p.returncode, p.stdout) == (0, "qemu 2147483647\n"), p.stderr
        # the key exchange's and the curves' modules stay after a login (ussh.stream: imported again
        # inside a session, their objects would stay among its buffers; frozen, as here, their code
        # is in flash whatever: ussh.server keeps such a module, telling it by its __file__, the path
        # it was frozen under), the login's own goes
        p = ub.ssh("import sys\nprint([m in sys.modules for m in ('ussh.kex', 'ussh.crypto.ed25519', "
                   "'ussh.crypto.curve25519', 'ussh.auth')], sys.modules['ussh.kex'].__file__)")
        assert (p.returncode, p.stdout) == (0, "[True, True, True, False] ussh/kex.py\n"), p.stderr
        # 24 KB up the UART (window adjusts) and 3000 lines down
        data = "".join("%05d\n" % i for i in range(4000))
        cmd = ("import sys, hashlib, binascii\nh = hashlib.sha256()\nwhile True:\n    l = sys.stdin.readline()\n"
               "    if not l: break\n    h.update(l)\nprint(binascii.hexlify(h.digest()).decode())\n"
               "for i in range(3000): print(i)")
        p = subprocess.run(ub.ssh_argv(cmd), input=data, capture_output=True, text=True, timeout=120)
        out = p.stdout.splitlines()
        assert (p.returncode, out[:1]) == (0, [hashlib.sha256(data.encode()).hexdigest()]), p.stderr[-2000:]
        assert out[1:] == [str(i) for i in range(3000)]
        log = ub.board.read_until(b"exec 'import sys, hashlib")
        # the host key the client saw is the one the host sent
        with open(ub.known_hosts) as f:
            kh = f.read().split()
        with open(ub.host_key + ".pub") as f:
            assert kh[1:3] == f.read().split()[:2]
    lines = log.splitlines()
    assert "ussh: uart1 connected" in lines
    assert any(l.startswith("ussh: uart1 client SSH-2.0-OpenSSH_") for l in lines), log
    assert "ussh: uart1 auth refused for root: key ssh-ed25519 %s not authorized" % other_fp in lines, log
    assert "ussh: uart1 a new client started: the previous one went away" in lines
    assert "ussh: uart1 auth accepted for root with ssh-ed25519 %s" % good_fp in lines
    assert "ussh: uart1 exec 'print(6*7)'" in lines
    assert "ussh: uart1 disconnect: session closed" in lines


def test_login_with_40k_of_heap_held_away():
    # the target: at least 40 KB to spare at the lowest point of a login
    with UartBoard() as ub:
        assert "serving SSH" in ub.serve(ballast=40 * 1024, heap=True)
        p = ub.ssh("print(6*7)")
        log = ub.wait()
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + log
    assert "disconnect: session closed" in log
    assert UartBoard.result(log)["heap"] > 0, log


def test_refuses_to_start_without_entropy():
    # the firmware has no os.urandom: without the host's bytes there is no source at all
    with UartBoard() as ub:
        first = ub.serve(entropy=False)
        rest = ub.wait()
    assert first.strip() == ("ussh: not started: no os.urandom on this port: give ussh an entropy source "
                             "(ussh.crypto.rand.set_source) before starting ussh"), first
    assert rest.strip() == ""


def test_output_of_other_modules_and_help_reach_the_client():
    # code whose globals are not the command's (as an imported module's) prints through the
    # builtin print, which ussh routes to the client while the command runs; help() and
    # micropython.mem_info() print from C on this port (no os.dupterm): ussh's stand-ins answer
    with UartBoard() as ub:
        ub.serve(forever=True)
        cmd = ("g = {}\nexec(\"def f():\\n    print('from a module')\\n    return input('? ')\", g)\n"
               "print(g['f']().upper())\nhelp()\nimport micropython\nmicropython.mem_info()")
        p = subprocess.run(ub.ssh_argv(cmd), input="yes\n", capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr[-2000:]
        assert p.stdout.startswith("from a module\n? YES\nWelcome to MicroPython, over ussh.\n"), p.stdout
        assert "GC: total: " in p.stdout
        p = ub.ssh("print('console is quiet')")
        log = ub.board.read_until(b"console is quiet", timeout=60)
    lines = log.splitlines()  # the console: ussh's log only (which quotes the command)
    assert "from a module" not in lines and not [l for l in lines if l.startswith(("Welcome", "GC:"))], log


# serve_stream's first call writes a version line, then runs out of memory outside its own guard
# (as a MemoryError in serve()'s loop, after the connection wrote); later calls are the real one
_FAIL_ONCE = """
import ussh.stream as _s
_real = _s.serve_stream
_calls = []
def _once(read, write, *a):
    _calls.append(1)
    if len(_calls) > 1:
        return _real(read, write, *a)
    write(b"SSH-2.0-ussh_test\\r\\n")
    raise MemoryError("test: out of memory inside a session, outside the guard")
_s.serve_stream = _once
"""


def test_out_of_memory_inside_a_session_sends_no_second_version_line(tmp_path):
    # the turn-away of a connection that could not start speaks first (our version line and a
    # DISCONNECT in the clear); a connection that had written is inside its session, where a version
    # line reads as a packet length ("SSH-" = 1397966893): its bytes are only dropped to the hang-up
    with UartBoard() as ub:
        ub.board.exec(_FAIL_ONCE)
        assert "serving SSH" in ub.serve(forever=True)
        t = qemu.SSHTarget(ub)  # the bridge: a client that leaves is a hang-up on the UART
        try:
            known = tmp_path / "known_hosts"
            known.write_text(t.known_hosts_line + "\n")
            argv = ["ssh", "-F", "/dev/null", "-i", ub.client_key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                    "-o", "UserKnownHostsFile=%s" % known, "-o", "StrictHostKeyChecking=yes", "-p", str(t.port),
                    "root@127.0.0.1"]
            try:
                p = subprocess.run(argv + ["print(1)"], capture_output=True, text=True, timeout=20)
            except subprocess.TimeoutExpired:
                p = None  # the client waits for our key exchange: nothing more came
            assert p is None, "the client was answered: %s" % p.stderr[-500:]
            p = subprocess.run(argv + ["print(6*7)"], capture_output=True, text=True, timeout=120)
            assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr[-2000:] + t.console_text()[-2000:]
        finally:
            t.stop()
        log = t.console_text()
    assert "ussh: out of memory starting a connection" in log, log[-2000:]
