"""The client on the emulated Cortex-M3 (no asyncio, sockets or clock): ussh.client_stream over the
board's UART1, which socat joins to OpenSSH's sshd on 127.0.0.1; the board logs in and runs a
command with stdin, and gets its output and exit status."""
import hashlib
import os
import socket
import subprocess
import sys

import pytest

from sshd_fixtures import Lab, free_port
from test_client import known_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import qemu  # noqa: E402

pytestmark = pytest.mark.timeout(400)

CLIENT = """
import ussh.crypto.rand as _r
_rand = _r
_r.set_source(_Pool(%r))
from ussh import client_stream
from ussh.stream import HANGUP
_K = bytearray(4)

def _read(n):
    b = bytearray(n)
    _rx(b, n, _NOCOUNT, HANGUP, len(HANGUP), _K)  # no hang-up comes to a client: all n
    return b

def _write(b):
    _tx(b, len(b), _NOCOUNT)

_STDIN = b"m3" * 3000  # made before the login's buffers cut the heap into pieces: a 6 KB run
c = client_stream.connect(_read, _write, "127.0.0.1", %d, user=%r, key=%r, known_hosts=%r, log=print)
st, out, err = c.exec("sha256sum; echo done >&2; exit 3", stdin=_STDIN)
print("RESULT", st, out.decode().split()[0], err.decode().strip())
print("ALGS", c.conn.algorithms[0].decode(), c.conn.algorithms[2].decode())
c.close()
"""


def test_client_exec_from_the_cortex_m3():
    with Lab() as lab:
        srv = lab.start("sshd")
        with open(lab.client_key, "rb") as f:
            key = f.read()
        uart = free_port()
        with qemu.Board(uart1_port=uart, timeout=300) as b:
            with open(os.path.join(ROOT, "boards", "qemu", "main.py")) as f:
                b.exec(f.read())
            b.exec("_uart_init()")  # on before the first byte comes
            # qemu drops what the board writes on UART1 before its TCP port has a client: the
            # board's version line, written before socat connected on a busy machine, was lost
            # and both sides waited (300 s). So the UART's connection is made and seen to carry
            # a byte from the board before the client starts; only then is sshd joined to it.
            u = socket.create_connection(("127.0.0.1", uart), timeout=30)
            u.settimeout(1)
            for _ in range(60):
                b.exec("_tx(b'!', 1, _NOCOUNT)")
                try:
                    if u.recv(1) == b"!":
                        break
                except socket.timeout:
                    continue
            else:
                raise AssertionError("UART1's connection carried nothing in 60 tries")
            u.settimeout(None)
            bridge = subprocess.Popen(["socat", "FD:%d" % u.fileno(), "TCP:127.0.0.1:%d" % srv.port], pass_fds=(u.fileno(),),
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            u.close()  # socat holds it
            try:
                out = b.exec(CLIENT % (os.urandom(48 + 32 * 31), srv.port, srv.user, key,
                                       known_line(srv).encode()), timeout=300)
            finally:
                bridge.kill()
                bridge.wait(10)
        digest = hashlib.sha256(b"m3" * 3000).hexdigest()
        assert "RESULT 3 %s done" % digest in out, out
        assert "ALGS curve25519-sha256 aes128-ctr" in out, out
        assert "logged in as usshpeer" in out, out
        assert "Accepted publickey for usshpeer" in srv.log()
