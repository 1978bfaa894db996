"""SSH on the emulated Raspberry Pi Pico (build/pico/firmware.elf, `make pico-firmware`, run by
tools/pico.py): boards/rp2/uart_ssh.py serves on UART1 with ussh.stream, its keys in the board's
littlefs, its entropy from the board's os.urandom; the stock OpenSSH client logs in through
`ProxyCommand=socat - TCP:127.0.0.1:<port>` (tools/pico_login.py). And `make deploy BOARD=rp2`
(tools/deploy.py, mpremote) over the board's USB CDC port, as on a real Pico, then a login with
what it deployed."""
import hashlib
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import pico  # noqa: E402
import pico_login  # noqa: E402
from peers import keygen  # noqa: E402
from pico_login import PicoUart  # noqa: E402


@pytest.fixture(autouse=True)
def firmware():
    # built by `make test` (pico-firmware); missing means the install is broken, not a reason to skip
    assert os.path.exists(pico.FIRMWARE), "%s missing: make pico-firmware" % pico.FIRMWARE


def fingerprint(path):
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", path], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return out.split()[1]


def test_openssh_login_over_uart1():
    with PicoUart() as ub:
        first = ub.serve(forever=True)
        assert first.strip() == "ussh: serving SSH on UART1 (115200 baud), host key %s" % fingerprint(
            ub.host_key + ".pub")
        # a key that is not authorized: refused
        good = ub.client_key
        ub.client_key = keygen(os.path.join(ub.dir, "other"), "other")
        p = ub.ssh("print(1)")
        assert p.returncode == 255 and "Permission denied (publickey)" in p.stderr, p.stderr
        ub.client_key = good
        good_fp, other_fp = fingerprint(good + ".pub"), fingerprint(os.path.join(ub.dir, "other.pub"))
        p = ub.ssh("import sys\nprint(sys.platform, 6*7)")
        assert (p.returncode, p.stdout) == (0, "rp2 42\n"), p.stderr
        # 12 KB up the UART (more than the 8 KB window: window adjusts) and 1000 lines down
        data = "".join("%05d\n" % i for i in range(2000))
        cmd = ("import sys, hashlib, binascii\nh = hashlib.sha256()\nwhile True:\n    l = sys.stdin.readline()\n"
               "    if not l: break\n    h.update(l)\nprint(binascii.hexlify(h.digest()).decode())\n"
               "for i in range(1000): print(i)")
        p = subprocess.run(ub.ssh_argv(cmd), input=data, capture_output=True, text=True, timeout=300)
        out = p.stdout.splitlines()
        assert (p.returncode, out[:1]) == (0, [hashlib.sha256(data.encode()).hexdigest()]), p.stderr[-2000:]
        assert out[1:] == [str(i) for i in range(1000)]
        log = ub.board.read_until(b"exec 'import sys, hashlib")
        with open(ub.known_hosts) as f:
            kh = f.read().split()
        with open(ub.host_key + ".pub") as f:
            assert kh[1:3] == f.read().split()[:2]
    lines = log.splitlines()
    assert "ussh: uart1 connected" in lines
    assert any(l.startswith("ussh: uart1 client SSH-2.0-OpenSSH_") for l in lines), log
    assert "ussh: uart1 auth refused for root: key ssh-ed25519 %s not authorized" % other_fp in lines, log
    assert "ussh: uart1 auth accepted for root with ssh-ed25519 %s" % good_fp in lines
    assert "ussh: uart1 exec 'import sys\\nprint(sys.platform, 6*7)'" in lines, log


def test_deploy_over_usb_cdc_then_login(tmp_path):
    # `make deploy BOARD=rp2 PORT=...` through mpremote on the board's USB CDC port: ussh as
    # .mpy into :lib/ussh, boards/rp2/*.py, ussh.cfg, authorized_keys from $HOME/.ssh, the host
    # key made on the board; then uart_ssh.py as deployed serves with those files, and the
    # user's key logs in to the host key deploy printed
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    user_key = keygen(str(home / ".ssh" / "id_ed25519"), "user")
    ub = PicoUart()
    ub.dir = str(tmp_path)
    ub.client_key = user_key
    ub.known_hosts = str(tmp_path / "known_hosts")
    with ub.board:
        ub.board.release_usb()
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "deploy.py"), "--board", "rp2", "--port",
                            "socket://127.0.0.1:%d" % ub.board.usb_port], capture_output=True, text=True,
                           env=dict(os.environ, HOME=str(home)), timeout=600)
        assert p.returncode == 0, p.stdout + p.stderr
        fp = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("USSH-FINGERPRINT ")]
        assert "(made on the board)" in p.stdout and len(fp) == 1, p.stdout
        ub.board.connect_usb()
        ub.board._write(b"\r\x03\x03\x01")
        ub.board._read_until(b"raw REPL; CTRL-B to exit\r\n>", 30)
        out = ub.board.exec("import os\nprint(sorted(os.listdir()))\nprint('wire.mpy' in os.listdir('lib/ussh'))\n")
        assert out.splitlines() == [
            "['authorized_keys', 'lib', 'main.py', 'ssh_host_ed25519_key', 'uart_ssh.py', 'ussh.cfg']", "True"]
        ub.board.exec_start("import uart_ssh\nuart_ssh.serve(forever=False)\n")
        first = ub.board.read_until(b"\n", 120)
        assert first.strip() == "ussh: serving SSH on UART1 (115200 baud), host key %s" % fp[0]
        p = ub.ssh("print(6*7)", timeout=300)
        assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr
        log = ub.board.exec_wait(120)
    assert "ussh: uart1 auth accepted for root with ssh-ed25519 %s" % fingerprint(user_key + ".pub") in log
    with open(ub.known_hosts) as f:
        kh = f.read().split()
    assert kh[0] == "board" and fingerprint_of(kh[1:3]) == fp[0]


def fingerprint_of(typ_b64):
    import base64

    return "SHA256:" + base64.b64encode(hashlib.sha256(base64.b64decode(typ_b64[1])).digest()).decode().rstrip("=")


def test_login_heap_lowest_point():
    # the lowest free heap at every read, write and log line of a login: the board keeps a
    # margin (the bench's target, with a 64 KiB upload, is 100 KB)
    p, log, r = pico_login.login(heap=True)
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + log
    assert r["heap"] > 100 * 1024, log


def test_openssh10_rekeys_while_stdin_streams(tmp_path):
    # OpenSSH 10 rekeys (mlkem768x25519-sha256) every 16 KB while 48 KB of stdin stream to a
    # command: each key exchange runs inside the command's read of stdin, the deepest call chain
    # the board has. On MicroPython's 8 KB C stack (its recursion check 256 bytes short of the
    # bottom) it ran into the top of the GC heap and the board hung or crashed; the firmware's
    # stack is 16 KB (tools/pico_firmware.sh). Through the bridge `make interop TARGET=pico` uses,
    # whose hang-up the board answers afterwards.
    import interop_clients as ic

    folder = str(tmp_path)
    os.chmod(folder, 0o755)  # OpenSSH 10 runs chrooted and sees /tmp only (tools/ssh10)
    key = keygen(os.path.join(folder, "id"), "rekey")
    h = pico_login.ssh_target(folder, key + ".pub")
    try:
        kh = os.path.join(folder, "known_hosts")
        with open(kh, "w") as f:
            f.write(h.known_hosts_line + "\n")
        data, want = ic.stdin_data(48 * 1024)
        argv = [ic.SSH10, "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" + kh,
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "RekeyLimit=16K", "-v",
                "-p", str(h.port), "board@127.0.0.1", ic.STDIN_CMD]
        p = subprocess.run(argv, input=data, capture_output=True, text=True, timeout=240)
        assert (p.returncode, p.stdout) == (0, want + "\n"), p.stderr[-3000:] + h.console_text()[-2000:]
        assert "kex: algorithm: mlkem768x25519-sha256" in p.stderr
        assert p.stderr.count("SSH2_MSG_NEWKEYS received") >= 3, p.stderr[-3000:]
        # the board answered the bridge's hang-up and serves the next client
        p = subprocess.run(argv[:-1] + ["print(6*7)"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=120)
        assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr[-3000:] + h.console_text()[-2000:]
    finally:
        h.stop()


# Guest side: uart_ssh.serve()'s UART with a transmitter that stops (write takes nothing) from the
# moment a command sets STUCK[0], until the connection it stalled has ended
_STUCK_UART = """
import io
_m = machine
STUCK = [False]


class _StuckUART(io.IOBase):
    def __init__(self, *a, **kw):
        self.u = _m.UART(*a, **kw)

    def any(self):
        return self.u.any()

    def read(self, n=-1):
        return self.u.read() if n < 0 else self.u.read(n)

    def readinto(self, b):
        return self.u.readinto(b)

    def write(self, b):
        return None if STUCK[0] else self.u.write(b)

    def ioctl(self, req, arg):
        if req != 3:  # MP_STREAM_POLL
            return 0
        return (arg & 1 if self.u.any() else 0) | (0 if STUCK[0] else arg & 4)


class _Machine:
    UART, Pin, mem32 = _StuckUART, _m.Pin, _m.mem32


machine = _Machine
_log0 = _log


def _log(msg):
    if "UART took no byte" in msg:
        STUCK[0] = False
    _log0(msg)
"""


def test_stalled_uart_write_ends_the_connection(tmp_path):
    # a UART that takes no byte for send_timeout seconds ends the connection instead of blocking
    # the board forever; the board then answers the bridge's hang-up and serves the next client.
    # (The disconnect's log line, written while the command's output is the channel, is not on
    # the console: the test's UART, taking bytes again, hands it to the client, as a bad MAC.)
    import qemu

    ub = PicoUart()
    ub.__enter__()
    h = None
    try:
        ub.board.exec(_STUCK_UART)
        first = ub.serve(forever=True, one_session=False, send_timeout=3)
        assert "serving SSH" in first, first
        h = qemu.SSHTarget(ub)
        kh = os.path.join(str(tmp_path), "known_hosts")
        with open(kh, "w") as f:
            f.write(h.known_hosts_line + "\n")
        argv = ["ssh", "-F", "/dev/null", "-i", ub.client_key, "-o", "IdentitiesOnly=yes", "-o",
                "UserKnownHostsFile=" + kh, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                "-p", str(h.port), "board@127.0.0.1"]
        # its output does not come whole: the client waits, or (the test's UART taking bytes again
        # once the connection ended) sees the rest of the connection's bytes as a bad MAC
        try:
            p = subprocess.run(argv + ["import __main__\n__main__.STUCK[0] = True\nprint('x' * 3000)"],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
            assert p.returncode == 255 and "x" * 3000 not in p.stdout, p
        except subprocess.TimeoutExpired:
            pass
        try:
            p = subprocess.run(argv + ["print(6*7)"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=120)
        finally:
            log = h.console_text()
        assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr[-2000:] + log[-2000:]
    finally:
        if h is not None:
            h.stop()
        else:
            ub.__exit__()
