# The asyncio driver: listens, accepts, moves bytes between sockets and
# Connection objects, enforces the connection limit and login grace time.
import select
import sys
import socket

from ussh import authkeys, keys
from ussh.compat import asyncio, can_interrupt, peer_name, quickack, print_exception, wait_readable, wait_writable
from ussh.connection import Config, Connection
from ussh.wire import DISCONNECT_BY_APPLICATION, DISCONNECT_TOO_MANY_CONNECTIONS

_EAGAIN = (11, 35)  # Linux, BSD/macOS


def make_config(host_key="ssh_host_ed25519_key", authorized_keys="authorized_keys", log=print, **settings):
    """A Config from file paths: the host key is created when missing; lines
    of authorized_keys that cannot be used are logged with their number."""
    if isinstance(host_key, str):
        host_key = keys.load_or_create(host_key, log)
    if isinstance(authorized_keys, str):
        authorized_keys = authkeys.load(authorized_keys, log)
    return Config(host_key=host_key, authorized_keys=authorized_keys, log=log, **settings)


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


def _send_blocking(sock, conn):
    # Used while a command runs inside the event loop: plain blocking I/O.
    while not _drain(sock, conn):
        p = select.poll()
        p.register(sock, select.POLLOUT)
        p.poll(1000)


def _pump(sock, conn, block):
    try:
        # packets that arrived with the one being handled come first
        if conn.feed(b"") and block:
            return _send_blocking(sock, conn)
        _send_blocking(sock, conn)
        if conn.closed:
            return
        p = select.poll()
        p.register(sock, select.POLLIN)
        if not p.poll(-1 if block else 0):
            return
        data = sock.recv(4096)
        quickack(sock)
    except OSError as e:
        if e.args[0] in _EAGAIN:
            return
        return conn.lost(str(e))
    if not data:
        return conn.lost("closed by client")
    conn.feed(data)
    _send_blocking(sock, conn)


async def _send(sock, conn):
    while not _drain(sock, conn):
        await wait_writable(sock)


class Server:
    """Accepts connections on a socket and serves them with one Config."""

    def __init__(self, cfg, max_connections=8):
        self.cfg = cfg
        self.max_connections = max_connections
        self.active = 0

    async def connection(self, sock, addr):
        cfg = self.cfg
        conn = Connection(cfg, peer_name(addr))
        conn.log("connected")
        conn.pump = lambda block: _pump(sock, conn, block)
        if can_interrupt():  # Ctrl-C for code that never prints
            try:
                from ussh.interrupt import attach
            except ImportError:  # an install without the optional module
                attach = None
            if attach:
                attach(sock, conn)
        try:
            if self.active >= self.max_connections:
                conn.disconnect(DISCONNECT_TOO_MANY_CONNECTIONS, "too many connections")
                await _send(sock, conn)
                return
            self.active += 1
            try:
                while True:
                    await _send(sock, conn)
                    if conn.closed:
                        break
                    if conn.user is None:
                        try:
                            await asyncio.wait_for(wait_readable(sock), cfg.login_grace)
                        except asyncio.TimeoutError:
                            conn.disconnect(DISCONNECT_BY_APPLICATION, "login grace time exceeded")
                            continue
                    else:
                        await wait_readable(sock)
                    try:
                        data = sock.recv(4096)
                        quickack(sock)
                    except OSError as e:
                        if e.args[0] in _EAGAIN:
                            continue
                        raise
                    if not data:
                        conn.lost("closed by client")
                        break
                    conn.feed(data)
            finally:
                self.active -= 1
        except MemoryError:
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
            while True:
                await wait_readable(lsock)
                try:
                    sock, addr = lsock.accept()
                except OSError:
                    continue
                sock.setblocking(False)
                try:  # small packets (window adjusts, acks) go out at once
                    sock.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY
                except (OSError, AttributeError):
                    pass
                asyncio.create_task(self.connection(sock, addr))
        finally:
            lsock.close()


async def serve(host="0.0.0.0", port=22, max_connections=8, **kw):
    """Serve SSH on host:port until cancelled; runs beside other asyncio
    tasks. Keyword arguments are those of make_config and Config."""
    await Server(make_config(**kw), max_connections).serve(host, port)


def run(host="0.0.0.0", port=22, **kw):
    """Blocking: serve SSH forever (for a board's main.py)."""
    asyncio.run(serve(host, port, **kw))
