# The asyncio driver: listens, accepts, moves bytes between sockets and
# Connection objects, enforces the limits: connections at once, login grace
# time, idle timeout, and how long a client may leave our output unread.
import gc
import select
import sys
import socket

from ussh import gate, wire
from ussh.compat import asyncio, collect, peer_name, quickack, print_exception, recv_into, ticks_diff, ticks_ms, wait_readable, wait_writable
from ussh.connection import Connection
from ussh.driver import KEX, LOGIN, START, in_heap, pump, unload, warm
from ussh.wire import DISCONNECT_BY_APPLICATION, DISCONNECT_TOO_MANY_CONNECTIONS

_EAGAIN = (11, 35)  # Linux, BSD/macOS
# what every connection reads lands here first (Connection.feed copies it at
# once): a recv(4096) of its own each time, on a board's heap, soon found no
# free run of 4 KB left (the smallest heap for a login was set by that). Made
# by the first Server: 4 KB, or on a board's budget a packet of its window's
# size, about what a read there asks for (_read: a larger packet, paramiko's
# 4 KB, comes in pieces; the unix port's smallest heap for a login 156 -> 152 KB)
_RBUF = None


def _read(sock, t):
    # bytes waiting on sock as a view of _RBUF, None when none are, b"" at its end.
    # On a board's budget no more than transport t's receive buffer has room for,
    # but at least what its next packet still needs (as _RBUF holds): the client's burst (up to a
    # window of packets) stays in the socket instead of growing that buffer (the
    # smallest heap for a 64 KiB sftp upload on the unix port: 240 KB -> 204 KB)
    n = len(_RBUF)
    if t.rroom:
        n = min(n, max(t.rroom - len(t.rbuf), t.wanted()))
    n = recv_into(sock, _RBUF, n)
    if n is None:
        return None
    return memoryview(_RBUF)[:n] if n else b""


# What the server lets go on a board's budget as a connection gets further (unload), all of it
# bytecode (a module with machine code imported again is never freed on the unix port and an
# ESP32) and none of it frozen (driver.in_heap): the key exchange's protocol once the first
# exchange has its session id (_after_kex; the exchange under way keeps its own until it ends; a
# re-key imports it again), and once a client has logged in the login's code and, where their
# viper code runs, X25519's and Ed25519's bytecode: their arithmetic as programs for fe_viper's
# machine code, which stays, and the 3 KB table, 16 KB of the unix port's small heap, idle until
# a re-key (_after_login). The portable path keeps them: its users' keys' tables (ed25519_pre)
# live in ussh.crypto.ed25519. (ussh.stream lets the key exchange's and the login's go.)
_CURVES = ("ussh.crypto.curve25519", "ussh.crypto.x25519_viper", "ussh.crypto.ed25519", "ussh.crypto.ed25519_viper",
          "ussh.crypto.ed25519_tab")


def _after_kex():
    """The modules the server lets go once the first key exchange has its session id."""
    return in_heap(KEX)


def _after_login():
    """The modules the server lets go once a client has logged in."""
    e = sys.modules.get("ussh.crypto.ed25519")
    return list(LOGIN) + in_heap(KEX + _CURVES if e and e._fast else KEX)


def _phase(conn):
    # how far a connection is: keyed, logged in, its number of channels. Where that
    # changes on a board's budget, the garbage of the step that ended (key exchange,
    # login, a channel's start) is collected before the next step makes its lasting
    # objects: they then fill its holes instead of cutting up the heap's free end (on
    # the unix port the smallest heap for a login and a 64 KiB sftp upload went from
    # 240 KB to 204 KB). A big heap goes without: 1.5 ms of a 13 ms login
    return (conn.session_id is not None) + 2 * (conn.user is not None) + 4 * len(conn.channels)


def _drain(sock, conn):
    # Sends what collects in conn.outq until the socket would block; True
    # once everything went out.
    q = conn.outq
    while q:
        if len(q) > 1:
            q[:] = [b"".join(q)]
        data = q[0]
        try:
            n = sock.send(data)
        except OSError as e:
            if e.args[0] in _EAGAIN:
                return False
            raise
        if n < len(data):
            q[0] = data[n:]  # a partial send: keep the rest
        else:
            q.pop()
    return True


def _stalled(conn):
    # the client kept us waiting send_timeout seconds: drop it (a
    # DISCONNECT could not reach a client that does not read)
    conn.outq[:] = []
    conn.lost("client took no output for %d s" % conn.cfg.send_timeout)


def _send_blocking(sock, conn):
    # Used while a command runs inside the event loop: plain blocking I/O,
    # which holds every other connection, so bounded: the time spent waiting
    # for this client counts towards send_timeout in total (conn.stalled),
    # progress or not: a client taking a byte now and then gains nothing.
    while not _drain(sock, conn):
        t0 = ticks_ms()
        p = select.poll()
        p.register(sock, select.POLLOUT)
        p.poll(1000)
        if conn.stalled(t0):
            return _stalled(conn)


def _recv(sock, t, block):
    # for driver.pump while a command runs inside the event loop
    p = select.poll()
    p.register(sock, select.POLLIN)
    # blocking, but a second at a time: a wait for the client's window is bounded
    if not p.poll(1000 if block else 0):
        return None
    try:
        data = _read(sock, t)
    except OSError as e:
        if e.args[0] in _EAGAIN:
            return None
        raise
    quickack(sock)
    return data


async def _send(sock, conn):
    while not _drain(sock, conn):
        try:
            await asyncio.wait_for(wait_writable(sock), conn.cfg.send_timeout)
        except asyncio.TimeoutError:
            return _stalled(conn)


def _forward(conn, sock, ch, host, port):
    # conn.open_tcp for ssh -L (ussh.forward, imported by its own request)
    from ussh import forward

    asyncio.create_task(forward.run(conn, ch, host, port, lambda: _send(sock, conn)))


def _limit(cfg, conn, t0):
    # (seconds to wait for the client's next bytes, None: no limit; the
    # DISCONNECT reason) before login: login_grace from the connect (t0);
    # after: idle_timeout. 0 is no limit for both, as in sshd_config.
    if conn.user is None:  # the grace time counts from the connect
        if not cfg.login_grace:
            return None, None
        return max(cfg.login_grace - ticks_diff(ticks_ms(), t0) / 1000, 0), "login grace time exceeded"
    return (cfg.idle_timeout or None), "idle timeout"


def _refuse(sock, peer, log, reason, code):
    # Turns a connection away without a Connection (no memory or no place to spare)
    log("ussh: %s disconnect: %s" % (peer, reason))
    try:
        sock.send(wire.refusal(code, reason))
    except OSError:
        pass


class Server:
    """Accepts connections on a socket and serves them with one Config."""

    def __init__(self, cfg, max_connections=8):
        global _RBUF
        self.cfg = cfg
        n = min(4096, max(cfg.channel_max_packet, min(cfg.window, cfg.max_packet)) + 64)
        if _RBUF is None or len(_RBUF) < n:
            _RBUF = bytearray(n)
        self.max_connections = max_connections
        self.active = 0
        self.slots = []  # gate.Slot of each connection
        self.sources = gate.Sources()  # failed logins per source address

    def _evict(self, slot):
        # gate.victim's choice gives way: DISCONNECT (what fits in the
        # socket now), its task cancelled, its slot free at once
        slot.evicted = True
        self.active -= 1
        conn = slot.conn
        conn.disconnect(DISCONNECT_TOO_MANY_CONNECTIONS, "too many connections: an unauthenticated one gave way")
        try:
            _drain(slot.sock, conn)
        except OSError:
            pass
        slot.task.cancel()

    async def _throttle(self, conn, src):
        # gate's growing delay after each failed attempt: Connection.feed
        # stops after a failure (failures_seen); the reply and the next
        # request wait here
        if conn.failures_seen is None:
            return
        while conn.auth_failures > conn.failures_seen and not conn.closed:
            conn.failures_seen += 1
            await asyncio.sleep(self.sources.failed(src, conn.failures_seen, ticks_ms()) / 1000)
            conn.feed(b"")
        if conn.user is not None:
            conn.failures_seen = None  # logged in: the source's failures are forgotten
            self.sources.succeeded(src)

    async def connection(self, sock, addr):
        cfg = self.cfg
        peer = peer_name(addr)
        src = gate.source(peer)
        if cfg.throttle and self.sources.refuse(src, ticks_ms()):  # too many connections that said nothing
            return sock.close()
        if self.active >= self.max_connections:
            v = gate.victim(self.slots, src)
            if v is None:
                _refuse(sock, peer, cfg.log, "too many connections", DISCONNECT_TOO_MANY_CONNECTIONS)
                return sock.close()
            self._evict(v)
        try:
            conn = Connection(cfg, peer)
        except MemoryError:
            gc.collect()
            _refuse(sock, peer, cfg.log, "out of memory", DISCONNECT_BY_APPLICATION)
            return sock.close()
        if cfg.throttle:
            conn.failures_seen = 0  # Connection.feed pauses after a failure: _throttle
        slot = gate.Slot(conn, sock, asyncio.current_task(), src, ticks_ms())
        conn.log("connected")
        conn.pump = lambda block: pump(conn, lambda: _send_blocking(sock, conn), lambda b: _recv(sock, conn.transport, b), block)
        conn.open_tcp = lambda ch, host, port: _forward(conn, sock, ch, host, port)
        # Ctrl-C for code that never prints; not on a board's budget (a small heap, where its
        # modules cost 4.5 KB; a board has none either): code that prints is still interrupted
        # (ch.poll). With serve()'s dropping the start's modules: the unix port's smallest heap
        # for a login 172 KB -> 164 KB (modules from .mpy, bench/footprint.py)
        if not conn.transport.rroom:
            from ussh._compat_rare import can_interrupt

            try:
                from ussh.interrupt import attach
            except ImportError:  # an install without the optional module
                attach = None
            if attach and can_interrupt():
                attach(sock, conn)
        t0 = slot.t0
        phase = 0
        try:
            self.active += 1
            self.slots.append(slot)
            try:
                while True:
                    await _send(sock, conn)
                    if conn.closed:
                        break
                    wait, why = _limit(cfg, conn, t0)
                    k = conn.kex_left(ticks_ms())  # a key exchange the client owes us
                    if k is not None and (wait is None or k < wait):
                        wait, why = k, "key exchange not completed within %d s" % cfg.kex_timeout
                    if wait is not None:
                        try:
                            await asyncio.wait_for(wait_readable(sock), max(wait, 0))
                        except asyncio.TimeoutError:
                            conn.disconnect(DISCONNECT_BY_APPLICATION, why)
                            continue
                    else:
                        await wait_readable(sock)
                    try:
                        data = _read(sock, conn.transport)
                        if data is None:
                            continue
                        quickack(sock)
                    except OSError as e:
                        if e.args[0] in _EAGAIN:
                            continue
                        raise
                    if not data:
                        if cfg.throttle and conn.peer_version is None and not conn.transport.rbuf and self.sources.silent(src, ticks_ms()):
                            conn.log("closed without a word, one too many: this address is turned away for a while")
                        conn.lost("closed by client")
                        break
                    conn.stall = 0  # from here the others wait (send_timeout in total)
                    conn.feed(data)
                    if conn.transport.rroom and _phase(conn) != phase:  # on a board's budget
                        p = _phase(conn)
                        if phase < 1 <= p:
                            unload(_after_kex())  # the session id made
                        if phase < 2 <= p:
                            unload(_after_login())  # logged in
                        phase = p
                        collect()
                    await self._throttle(conn, src)
            finally:
                if not slot.evicted:
                    self.active -= 1
                self.slots.remove(slot)
        except MemoryError:
            # this connection's state and input go, its client is told, the server goes on
            conn.transport.rbuf = bytearray()
            try:
                conn.out_of_memory()
                from ussh import budget

                conn.log("out of memory: over the %s" % budget.describe(conn.cfg, budget.free_heap()))
                await _send(sock, conn)
            except (MemoryError, OSError):
                pass
            conn.lost("out of memory")
        except KeyboardInterrupt:
            # a Ctrl-C meant for user code that landed in ussh's own: it ends
            # this connection, never the server
            conn.lost("interrupted")
        except OSError as e:
            conn.lost("socket error %s" % e)
        except Exception as e:  # a bug in ussh ends this connection only
            conn.disconnect(DISCONNECT_BY_APPLICATION, "internal error")
            conn.log("internal error: %r" % e)
            print_exception(e, sys.stderr)
            try:
                await _send(sock, conn)
            except Exception:
                pass
        finally:
            for ch in list(conn.channels.values()):
                if ch.wake:  # a forwarding task (ussh.forward): it sees the end and closes its socket
                    ch.wake()
            sock.close()

    async def serve(self, host, port):
        try:  # uploads cut short by the previous run (file transfer's journal)
            import os

            os.stat(self.cfg.root + "/.ussh-uploads")
            from ussh import fs

            fs.cleanup(self.cfg.root)
        except (OSError, ImportError):  # none, or a server without file transfer
            pass
        ai = socket.getaddrinfo(host, port)[0]
        lsock = socket.socket(ai[0], socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(ai[-1])
        lsock.listen(4)
        lsock.setblocking(False)
        self.cfg.log("ussh: listening on %s:%d, host key %s" % (host, port, self.cfg.host_key.fingerprint()))
        try:
            warm(self.cfg)  # before the first client (driver.warm)
            collect()  # the start's garbage, before the first connection's objects
            while True:
                await wait_readable(lsock)
                sock = None
                try:
                    sock, addr = lsock.accept()
                    sock.setblocking(False)
                    try:  # small packets (window adjusts, acks) go out at once
                        sock.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY
                    except (OSError, AttributeError):
                        pass
                    asyncio.create_task(self.connection(sock, addr))
                except OSError:
                    if sock is not None:
                        sock.close()
                except MemoryError:  # no room for one more: that one goes, the server stays
                    if sock is not None:
                        sock.close()
                    gc.collect()
                    self.cfg.log("ussh: out of memory: a connection was closed at accept")
        finally:
            lsock.close()


def make_config(*args, **kw):
    """ussh.startup.make_config, imported when called (ussh.startup is let go once the Config
    is made)."""
    from ussh.startup import make_config

    return make_config(*args, **kw)


async def serve(host="0.0.0.0", port=22, max_connections=8, **kw):
    """Serve SSH on host:port until cancelled; runs beside other asyncio
    tasks. Keyword arguments are those of make_config (ussh.startup) and Config."""
    cfg = make_config(**kw)
    # what only the start used goes (driver.START; the authorized_keys entries' class stays with
    # them) and the budget's arithmetic; a later import (cert, a MemoryError's log line) loads
    # them again
    unload(START + ("ussh.budget",))
    await Server(cfg, max_connections).serve(host, port)


def run(host="0.0.0.0", port=22, **kw):
    """Blocking: serve SSH forever (for a board's main.py)."""
    asyncio.run(serve(host, port, **kw))
