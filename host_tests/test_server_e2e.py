"""End to end: the stock OpenSSH client, paramiko and asyncssh against ussh
on the MicroPython unix port (the virtual board) and on CPython."""
import asyncio
import hashlib
import os
import re
import subprocess
import time

import pexpect
import pytest

RUNTIMES = ("unix", "cpython")


@pytest.fixture(params=RUNTIMES)
def srv(request, ussh_server):
    return ussh_server(runtime=request.param)


def _stderr(p):
    # the client's own note on a first connection is not the command's output
    return "".join(l for l in p.stderr.splitlines(True) if not l.startswith("Warning: Permanently added"))


def test_exec_print(srv):
    p = srv.ssh("print(6*7)")
    assert (p.returncode, p.stdout, _stderr(p)) == (0, "42\n", ""), srv.log()


def test_exec_expression_prints_repr(srv):
    p = srv.ssh("6*7")
    assert (p.returncode, p.stdout) == (0, "42\n")
    p = srv.ssh("'a' + 'b'")
    assert p.stdout == "'ab'\n"


def test_exec_exception_exit_1_traceback_on_stderr(srv):
    p = srv.ssh("print('before')\n1/0")
    assert p.returncode == 1
    assert p.stdout == "before\n"
    assert "Traceback" in p.stderr and "ZeroDivisionError" in p.stderr


def test_exec_syntax_error(srv):
    p = srv.ssh("def (")
    assert p.returncode == 1 and "SyntaxError" in p.stderr


def test_exec_reads_stdin(srv):
    p = srv.ssh("import sys\nprint(input().upper())\nprint(len(sys.stdin.read()))", input="hello\nworld\nmore\n")
    assert (p.returncode, p.stdout) == (0, "HELLO\n11\n"), p.stderr + srv.log()


def test_rekey_mid_session_keeps_data_intact(srv):
    # RekeyLimit=16K makes the client start a new key exchange every 16 KB, in
    # both directions, while stdin streams up and output streams down.
    lines = ["%06d %s\n" % (i, hashlib.sha256(str(i).encode()).hexdigest()) for i in range(2500)]
    data = "".join(lines)  # ~180 KB
    cmd = (
        "import sys, hashlib, binascii\n"
        "h = hashlib.sha256()\n"
        "n = 0\n"
        "while True:\n"
        "    l = sys.stdin.readline()\n"
        "    if not l: break\n"
        "    h.update(l.encode()); n += 1\n"
        "print(n, binascii.hexlify(h.digest()).decode())\n"
        "for i in range(3000): print('out', i)\n"
    )
    p = srv.ssh(cmd, input=data, options=("RekeyLimit=16K", "LogLevel=DEBUG"), timeout=120)
    assert p.returncode == 0, p.stderr[-2000:] + srv.log()
    out = p.stdout.splitlines()
    assert out[0] == "2500 " + hashlib.sha256(data.encode()).hexdigest()
    assert out[1:] == ["out %d" % i for i in range(3000)]
    assert p.stderr.count("SSH2_MSG_NEWKEYS received") >= 5


def _shell(srv, timeout=20):
    argv = srv.ssh_argv("")[:-1]  # no command: an interactive shell with a pty
    child = pexpect.spawn(argv[0], argv[1:], timeout=timeout, encoding="utf-8")
    child.expect(">>> ")
    return child


def test_shell_with_pty(srv):
    child = _shell(srv)
    try:
        child.send("x = 6*7\r")
        child.expect(">>> ")
        child.send("x\r")
        child.expect("42\r\n>>> ")
        # a multi-line block: auto-indented; Backspace takes the indent back, an empty line runs it
        child.send("for i in range(3):\r")
        child.expect(r"\.\.\.     ")
        child.send("print(i*10)\r\x7f\r")
        child.expect("0\r\n10\r\n20\r\n>>> ")
        # line editing: backspace and left arrow
        child.send("print(12x\x7f3)\r")
        child.expect("123\r\n>>> ")
        child.send("print(45)\x1b[D\x1b[D6\r")
        child.expect("465\r\n>>> ")
        # Ctrl-C cancels the input line
        child.send("abc\x03")
        child.expect(">>> ")
        child.send("print('after')\r")
        child.expect("after\r\n>>> ")
        # Ctrl-C interrupts a running statement
        child.send("while True: print('spin')\r\r")
        child.expect("spin")
        child.send("\x03")
        child.expect("KeyboardInterrupt")
        child.expect(">>> ")
        child.send("print('alive')\r")
        child.expect("alive\r\n>>> ")
        # Ctrl-D on an empty line ends the session
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, srv.log()


def test_shell_without_pty_reads_lines(srv):
    argv = srv.ssh_argv("")[:-1]
    p = subprocess.run(argv, input="x = 2\nprint(x*3)\nfor i in range(2):\n    print(i)\n\n", capture_output=True, text=True, timeout=30)
    assert (p.returncode, p.stdout) == (0, "6\n0\n1\n"), p.stderr + srv.log()


def test_paramiko_exec(srv):
    import paramiko

    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=srv.port, username="board", key_filename=srv.client_key, look_for_keys=False, allow_agent=False, timeout=10)
    try:
        _, out, err = c.exec_command("print(6*7)")
        assert out.read() == b"42\n"
        assert out.channel.recv_exit_status() == 0
        _, out, err = c.exec_command("raise ValueError('x')")
        assert b"ValueError" in err.read()
        assert out.channel.recv_exit_status() == 1
    finally:
        c.close()


def test_asyncssh_exec_and_concurrent_sessions(srv):
    import asyncssh

    async def main():
        async with asyncssh.connect("127.0.0.1", srv.port, username="board", client_keys=[srv.client_key], known_hosts=None) as conn:
            r = await conn.run("print(6*7)")
            assert (r.stdout, r.exit_status) == ("42\n", 0)
            # two sessions on one connection, and a second connection at once
            async with asyncssh.connect("127.0.0.1", srv.port, username="board", client_keys=[srv.client_key], known_hosts=None) as conn2:
                rs = await asyncio.gather(conn.run("print('a')"), conn.run("print('b')"), conn2.run("print('c')"))
            assert [r.stdout for r in rs] == ["a\n", "b\n", "c\n"]

    asyncio.run(asyncio.wait_for(main(), 60))


def _fingerprint_in_log(log):
    m = re.search(r"host key (SHA256:[A-Za-z0-9+/]+)", log)
    assert m, log
    return m.group(1)


def test_host_key_persists_and_fingerprint_matches_ssh_keygen(srv, ussh_server, tmp_path):
    first = _fingerprint_in_log(srv.log())
    out = subprocess.run(["ssh-keygen", "-lf", srv.host_key], capture_output=True, text=True).stdout
    assert out.split()[1] == first
    assert srv.ssh("print(1)").stdout == "1\n"
    srv.stop()
    runtime = "unix" if "micropython" in " ".join(srv.argv) else "cpython"
    again = ussh_server(runtime=runtime, extra_args=("--host-key", srv.host_key))
    assert _fingerprint_in_log(again.log()) == first
    # the client's recorded key still matches: strict checking passes
    p = subprocess.run(
        again.ssh_argv("print(2)", options=("StrictHostKeyChecking=yes", "UserKnownHostsFile=" + srv.known_hosts)),
        capture_output=True, text=True, timeout=30,
    )
    assert p.stdout == "2\n", p.stderr


def test_log_lines(srv):
    srv.ssh("print(1)")
    time.sleep(0.3)
    log = srv.log()
    assert "connected" in log and "auth accepted" in log and "disconnect" in log


def test_openssh10_exec(srv):
    # OpenSSH 10.x (Debian sid chroot), no algorithm options: what most users run today
    p = srv.ssh("print(6*7)", client="ssh10")
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + srv.log()
    p = srv.ssh("import sys\nprint(sys.stdin.read().upper())", input="abc\n", client="ssh10")
    assert p.stdout == "ABC\n\n"
    p = srv.ssh("1/0", client="ssh10")
    assert p.returncode == 1 and "ZeroDivisionError" in p.stderr


def test_openssh10_rekey(srv):
    data = "".join("%05d\n" % i for i in range(20000))  # 120 KB
    p = srv.ssh("import sys\nprint(len(sys.stdin.read()))", input=data, client="ssh10",
                options=("RekeyLimit=16K", "LogLevel=DEBUG"), timeout=120)
    assert p.stdout == "%d\n" % len(data), p.stderr[-2000:]
    assert p.stderr.count("SSH2_MSG_NEWKEYS received") >= 3


def test_server_started_rekey(ussh_server):
    # the server starts a key exchange itself after --rekey-bytes
    srv = ussh_server(runtime="unix", extra_args=("--rekey-bytes", "20000"))
    p = srv.ssh("for i in range(20000): print(i)", options=("LogLevel=DEBUG",), timeout=60)
    assert p.stdout.splitlines() == [str(i) for i in range(20000)], p.stderr[-2000:]
    assert p.stderr.count("SSH2_MSG_KEXINIT received") >= 3


def test_login_grace_time_drops_idle_unauthenticated(ussh_server):
    import socket

    srv = ussh_server(runtime="unix", extra_args=("--login-grace", "2"))
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        s.sendall(b"SSH-2.0-idle\r\n")
        t0 = time.monotonic()
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        waited = time.monotonic() - t0
    finally:
        s.close()
    assert 1.5 < waited < 8
    assert b"login grace time exceeded" in data  # the DISCONNECT's reason, still unencrypted
    assert "login grace time exceeded" in srv.log()
    assert srv.ssh("print(6*7)").stdout == "42\n"


def test_library_api_asyncio_beside_other_tasks(tmp_path):
    # `await ussh.serve(...)` runs beside the user's own tasks on both runtimes
    import runtimes
    from peers import free_port, keygen

    key = keygen(str(tmp_path / "k"))
    port = free_port()
    code = (
        "import asyncio, ussh\n"
        "ticks = []\n"
        "async def other():\n"
        "    while True:\n"
        "        ticks.append(1)\n"
        "        await asyncio.sleep(0.05)\n"
        "async def main():\n"
        "    asyncio.create_task(other())\n"
        "    t = asyncio.create_task(ussh.serve('127.0.0.1', %d, host_key=%r, authorized_keys=%r))\n"
        "    await asyncio.sleep(8)\n"
        "    print('TICKS', len(ticks))\n"
        "asyncio.run(main())\n" % (port, str(tmp_path / "hk"), key + ".pub")
    )
    import threading

    out = {}
    for rt in ("unix", "cpython"):
        th = threading.Thread(target=lambda: out.__setitem__(rt, runtimes.run(rt, code, timeout=30)))
        th.start()
        deadline = time.monotonic() + 6
        p = None
        while time.monotonic() < deadline:
            argv = ["ssh", "-F", "/dev/null", "-p", str(port), "-i", key, "-o", "IdentitiesOnly=yes",
                    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                    "127.0.0.1", "print(6*7)"]
            p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            if p.returncode == 0:
                break
            time.sleep(0.2)
        th.join(40)
        assert p is not None and p.stdout == "42\n", (rt, p and p.stderr)
        assert "TICKS" in out[rt] and int(out[rt].split("TICKS")[1]) > 50, out.get(rt)


def test_exec_command_not_utf8(srv):
    import rawssh

    with rawssh.RawClient(srv.port) as c:
        c.handshake()
        c.login(rawssh.load_private_key(srv.client_key))
        res = c.exec(c.open_session(), b"print('\xff')")
        assert res.status == 1 and b"not UTF-8" in res.stderr
        res = c.exec(c.open_session(), b"print('ok')")
        assert res.stdout == b"ok\n"
