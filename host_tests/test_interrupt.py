"""Ctrl-C interrupts running code that never prints (lib/ussh/interrupt.py):
in the shell, in an exec with a pty, by a "signal" request; a client that goes
away stops the code; the watcher thread does not multiply. On the MicroPython
unix port (the virtual board) and on CPython."""
import asyncio
import os
import subprocess
import time

import pexpect
import pytest

RUNTIMES = ("unix", "cpython")


@pytest.fixture(params=RUNTIMES)
def srv(request, ussh_server):
    return ussh_server(runtime=request.param)


def _shell(srv, timeout=20):
    argv = srv.ssh_argv("")[:-1]  # no command: an interactive shell with a pty
    child = pexpect.spawn(argv[0], argv[1:], timeout=timeout, encoding="utf-8")
    child.expect(">>> ")
    return child


def _wait_log(srv, text, timeout=20):
    # until the server's log shows text (a command has started), bounded
    deadline = time.monotonic() + timeout
    while text not in srv.log():
        assert time.monotonic() < deadline, "no %r in the log:\n%s" % (text, srv.log())
        time.sleep(0.05)


def _threads(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def test_shell_ctrl_c_stops_a_loop_that_never_prints(srv):
    child = _shell(srv)
    try:
        for _ in range(2):  # twice: the watcher comes back for the next statement
            child.send("while True: pass\r\r")
            child.expect(r"\.\.\. ")
            time.sleep(0.5)  # the loop runs
            child.send("\x03")
            child.expect("KeyboardInterrupt", timeout=10)
            child.expect(">>> ")
        child.send("print('alive')\r")
        child.expect("alive\r\n>>> ")
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, srv.log()


def test_shell_ctrl_c_stops_sleep(srv, request):
    # the unix port's own time.sleep(seconds) waits in select() that only a
    # signal wakes, and its only catchable signal is SIGINT: its sleep_ms,
    # like time.sleep on boards, runs the main thread's pending callbacks
    # (ussh.compat gives the code on the unix port a time whose sleep is sleep_ms's)
    sleep = "time.sleep(30)"
    child = _shell(srv)
    try:
        child.send("import time; %s; print('slept')\r" % sleep)
        time.sleep(0.5)
        t = time.monotonic()
        child.send("\x03")
        child.expect("KeyboardInterrupt", timeout=10)
        child.expect(">>> ")
        assert time.monotonic() - t < 10
        assert "slept" not in child.before
        child.send("print(6*7)\r")
        child.expect("42\r\n>>> ")
    finally:
        child.close(force=True)


def test_shell_ctrl_c_while_printing_keeps_the_connection(srv):
    # the watcher and the REPL's own output poll both see this Ctrl-C: one
    # KeyboardInterrupt, and the encrypted stream stays intact
    child = _shell(srv)
    try:
        for i in range(3):
            child.send("n = 0\r")
            child.expect(">>> ")
            child.send("while True: n += 1; print('spin', n)\r\r")
            child.expect("spin")
            child.send("\x03")
            child.expect("KeyboardInterrupt", timeout=10)
            child.expect(">>> ")
            child.send("print('round', %d)\r" % i)
            child.expect("round %d\r\n>>> " % i)
    finally:
        child.close(force=True)


def test_exec_with_pty_ctrl_c(srv):
    argv = srv.ssh_argv("while True: pass", options=("RequestTTY=force",))
    child = pexpect.spawn(argv[0], argv[1:], timeout=20, encoding="utf-8")
    try:
        _wait_log(srv, "exec 'while True: pass'")
        time.sleep(0.3)
        child.send("\x03")
        child.expect(pexpect.EOF, timeout=10)
        out = child.before
    finally:
        child.close(force=True)
    assert child.exitstatus == 1, out + srv.log()
    assert "KeyboardInterrupt" in out


def test_signal_request_interrupts_exec(srv):
    import asyncssh

    async def main():
        async with asyncssh.connect("127.0.0.1", srv.port, username="board", client_keys=[srv.client_key], known_hosts=None) as conn:
            proc = await conn.create_process("while True: pass")
            await asyncio.sleep(0.5)
            proc.send_signal("INT")
            r = await asyncio.wait_for(proc.wait(), 10)
            assert r.exit_status == 1, (r, srv.log())
            assert "KeyboardInterrupt" in r.stderr
            r = await conn.run("print(6*7)")
            assert (r.stdout, r.exit_status) == ("42\n", 0)

    asyncio.run(asyncio.wait_for(main(), 60))


def test_client_gone_stops_the_code(srv):
    p = subprocess.Popen(srv.ssh_argv("while True: pass"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_log(srv, "exec 'while True: pass'")
        time.sleep(0.3)
    finally:
        p.kill()
        p.wait(10)
    t = time.monotonic()
    r = srv.ssh("print(6*7)", timeout=30)
    assert (r.returncode, r.stdout) == (0, "42\n"), r.stderr + srv.log()
    assert time.monotonic() - t < 15


def test_no_thread_leak(srv):
    assert srv.ssh("print(1)").stdout == "1\n"
    first = _threads(srv.pid)
    for i in range(20):
        r = srv.ssh("print(%d)" % i)
        assert r.stdout == "%d\n" % i, r.stderr + srv.log()
    assert _threads(srv.pid) <= first <= 3, srv.log()
