"""ussh.server's limits in-process on CPython (asyncio, 127.0.0.1): login_grace=0 is no limit (as
sshd's LoginGraceTime 0), and send_timeout bounds the total time a command waits for a client that
takes its output a little at a time."""
import asyncio
import socket

import sshpair  # noqa: F401 (lib/ on the path)
from sshpair import config
from ussh import server


def _connected():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    c = socket.create_connection(ls.getsockname())
    s, addr = ls.accept()
    ls.close()
    s.setblocking(False)
    return c, s, addr


def test_limit_table():
    t0 = server.ticks_ms()
    rows = (
        (dict(login_grace=0), None, None, None),
        (dict(login_grace=60), None, 60, "login grace time exceeded"),
        (dict(idle_timeout=0), "u", None, "idle timeout"),
        (dict(idle_timeout=5), "u", 5, "idle timeout"),
    )
    for kw, user, want, why in rows:
        conn = server.Connection(config(**kw))
        conn.user = user
        wait, reason = server._limit(conn.cfg, conn, t0)
        assert (wait if wait is None else round(wait)) == want and (want is None and user is None or reason == why), kw


def test_login_grace_zero_is_no_limit():
    c, s, addr = _connected()
    cfg = config(login_grace=0)
    srv = server.Server(cfg)

    async def go():
        task = asyncio.ensure_future(srv.connection(s, addr))
        await asyncio.sleep(0.3)  # the client says nothing yet
        c.settimeout(10)
        c.sendall(b"SSH-2.0-test\r\n")
        got = b""
        while got.count(b"\r\n") < 1 or len(got) < 100:  # our version line and KEXINIT
            got += await asyncio.get_running_loop().run_in_executor(None, c.recv, 4096)
        task.cancel()
        return got

    try:
        got = asyncio.run(go())
    finally:
        c.close()
    assert got.startswith(b"SSH-2.0-ussh")
    assert not cfg.log.has("login grace time exceeded"), list(cfg.log)


class _Sock:
    # takes one byte after each poll, as a client reading a byte now and then
    def __init__(self):
        self.ok = False
        self.got = b""

    def send(self, b):
        if not self.ok:
            raise OSError(11, "EAGAIN")
        self.ok = False
        self.got += bytes(b[:1])
        return 1


def test_send_timeout_counts_every_wait_in_total(monkeypatch):
    clock = [1000]
    sock = _Sock()

    class Poll:
        def register(self, s, ev):
            pass

        def poll(self, ms):
            clock[0] += 400  # under send_timeout=1 each time
            sock.ok = True
            return [(sock, 4)]

    class Select:
        POLLOUT = 4

        @staticmethod
        def poll():
            return Poll()

    from ussh import connection

    monkeypatch.setattr(server, "select", Select)
    for m in (server, connection):
        monkeypatch.setattr(m, "ticks_ms", lambda: clock[0], raising=False)
    conn = server.Connection(config(send_timeout=1))
    conn.outq[:] = [b"x" * 100]
    server._send_blocking(sock, conn)
    assert conn.closed and conn.cfg.log.has("client took no output for 1 s")
    assert len(sock.got) == 2  # a byte after each of the first two waits; the third makes 1.2 s


def test_make_config_is_still_ussh_servers():
    # ussh.server's API since the start: make_config moved to ussh.startup, which the server lets
    # go once the Config is made, so ussh.server keeps a name that imports it when called
    import sys

    from ussh.connection import Config
    from ussh.keys import HostKey

    sys.modules.pop("ussh.startup", None)
    k = HostKey(bytes(range(32)))
    lines = []
    cfg = server.make_config(k, b"ssh-ed25519 AAAA bad\n", log=lines.append, window=4096)
    assert isinstance(cfg, Config) and cfg.host_key is k and cfg.window == 4096
    assert cfg.authorized_keys == [] and any("line 1" in m for m in lines), lines
