"""Port forwarding on the server side (ssh -L, RFC 4254 §7.2; ussh.forward): a service running
on the virtual board beside ussh, fetched with the stock OpenSSH client through -L; the
destinations a configuration and a key permit (permit_open, restrict, no-port-forwarding,
permitopen=), refused with the right CHANNEL_OPEN_FAILURE reason; a destination where nothing
listens. Against ussh on the unix port and on CPython."""
import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.request

import paramiko
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from peers import Lab, free_port  # noqa: E402

# a small HTTP server on the board (asyncio, beside ussh), started by an SSH command
SERVICE = """
import asyncio, builtins
async def _serve(r, w):
    line = await r.readline()
    if not line:  # a probe that only connected
        w.close()
        return await w.wait_closed()
    while (await r.readline()) not in (b"\\r\\n", b"\\n", b""):
        pass
    head = ("hello from the board " + line.decode().split()[1] + "\\n").encode()
    w.write(("HTTP/1.0 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n" % (len(head) + 200005)).encode())
    w.write(head)
    chunk = b"x" * 20000  # 200 KB in pieces: a board's heap holds no 200 KB string
    for i in range(10):
        w.write(chunk)
        await w.drain()
    w.write(b"\\nend\\n")
    await w.drain()
    w.close()
    await w.wait_closed()  # MicroPython's streams close only here
async def _rude(r, w):  # closes with the request unread: the kernel sends a reset
    await asyncio.sleep(0.3)
    w.write(b"bye")
    await w.drain()
    w.close()
    await w.wait_closed()
async def _start():
    builtins._svc = await asyncio.start_server(_serve, "127.0.0.1", PORT)
    builtins._rude = await asyncio.start_server(_rude, "127.0.0.1", RUDE)
builtins._svc_task = asyncio.create_task(_start())
print("starting")
"""

KEYS = {  # name -> authorized_keys options
    "plain": "",
    "restricted": "restrict",
    "noforward": "no-port-forwarding",
    "permitopen": 'permitopen="127.0.0.1:PORT"',
}


@pytest.fixture(scope="module", params=("unix", "cpython"))
def board(request):
    with Lab() as lab:
        svc_port = free_port()
        keys = lab.authorize({k: v.replace("PORT", str(svc_port)) for k, v in KEYS.items()})
        srv = lab.start("ussh", runtime=request.param)
        srv.client_key = keys["plain"]
        rude_port = free_port()
        p = srv.ssh(SERVICE.replace("PORT", str(svc_port)).replace("RUDE", str(rude_port)))
        assert (p.returncode, p.stdout) == (0, "starting\n"), p.stderr + srv.log()
        srv.svc_port, srv.rude_port, srv.keys = svc_port, rude_port, keys
        _wait_port(svc_port)
        _wait_port(rude_port)
        yield srv


def _wait_port(port, timeout=20):
    end = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def test_ssh_L_reaches_a_service_on_the_board(board):
    local = free_port()
    argv = board.ssh_argv("")[:-1] + ["-N", "-o", "ExitOnForwardFailure=yes",
                                      "-L", "127.0.0.1:%d:127.0.0.1:%d" % (local, board.svc_port)]
    ssh = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_port(local)
        for path in ("/first", "/second"):  # two connections through one SSH session
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (local, path), timeout=60) as r:
                body = r.read()
            lines = body.split(b"\n")
            assert lines[0] == b"hello from the board " + path.encode()
            assert lines[1] == b"x" * 200000 and lines[2] == b"end"  # 200 KB: the windows turn over
    finally:
        ssh.kill()
        ssh.wait(timeout=20)
    log = board.log()
    assert "forward to 127.0.0.1:%d" % board.svc_port in log


def _open(board, key, host, port):
    # a direct-tcpip channel by paramiko; its ChannelException carries the reason code
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", board.port, username="u", key_filename=board.keys[key], look_for_keys=False,
              allow_agent=False, timeout=20)
    try:
        ch = c.get_transport().open_channel("direct-tcpip", (host, port), ("127.0.0.1", 40000), timeout=30)
        ch.settimeout(60)
        ch.sendall(b"GET /paramiko HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = ch.recv(65536)
            if not d:
                break
            data += d
        return data
    finally:
        c.close()


def test_paramiko_direct_tcpip_and_eof(board):
    data = _open(board, "plain", "127.0.0.1", board.svc_port)
    assert b"hello from the board /paramiko" in data and data.endswith(b"\nend\n")
    assert hashlib.sha256(data.split(b"\r\n\r\n", 1)[1].split(b"\n")[1]).hexdigest() == \
        hashlib.sha256(b"x" * 200000).hexdigest()


@pytest.mark.parametrize("key,host,why", [
    ("restricted", None, "port forwarding is not permitted for this key"),
    ("noforward", None, "port forwarding is not permitted for this key"),
    ("permitopen", "other-port", "is not in the key's permitopen"),
    ("plain", "127.0.0.2", "is not permitted (permit_open)"),
])
def test_refused_administratively_prohibited(board, key, host, why):
    port = board.svc_port + 1 if host == "other-port" else board.svc_port
    h = "127.0.0.1" if host in (None, "other-port") else host
    with pytest.raises(paramiko.ChannelException) as e:
        _open(board, key, h, port)
    assert e.value.code == 1  # RFC 4254 §5.1 SSH_OPEN_ADMINISTRATIVELY_PROHIBITED
    assert why in board.log()


def test_permitopen_allows_its_destination(board):
    assert b"hello from the board" in _open(board, "permitopen", "127.0.0.1", board.svc_port)


def test_nothing_listening_is_connect_failed_and_session_goes_on(board):
    with pytest.raises(paramiko.ChannelException) as e:
        _open(board, "plain", "127.0.0.1", free_port())
    assert e.value.code == 2  # SSH_OPEN_CONNECT_FAILED
    p = board.ssh("print(6*7)")
    assert (p.returncode, p.stdout) == (0, "42\n")


def test_service_that_resets_ends_the_channel_cleanly(board):
    # the service closes with the request unread (a TCP reset): the client sees the channel
    # end, whatever of "bye" arrived, and the board logs it without a traceback
    data = _open(board, "plain", "127.0.0.1", board.rude_port)
    assert data in (b"", b"bye")
    log = board.log()
    assert "Traceback" not in log and "Task exception" not in log, log[-2000:]
    p = board.ssh("print(6*7)")
    assert (p.returncode, p.stdout) == (0, "42\n")
