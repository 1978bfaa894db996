"""ussh.client: the board as an SSH client, over asyncio sockets (an
optional package: the server never imports it).

    from ussh import client
    c = await client.connect("host", 22, user="me", key="id_ed25519", known_hosts="known_hosts")
    status, out, err = await c.exec("uname -a")
    ch = await c.session(b"exec", b"cat > f")   # a channel as a stream
    await ch.write(b"data"); await ch.eof(); await ch.wait_closed()
    sftp = await c.sftp(); await sftp.put("local", "remote")
    await c.close()

The server's host key must be in known_hosts (a plain line or a
`@cert-authority` line); otherwise connect raises knownhosts.HostKeyError
naming its fingerprint. The key is an ed25519 key (an OpenSSH private key
file without passphrase, its bytes, or a keys.HostKey).
"""
import socket

from ussh import keys, knownhosts, wire
from ussh.client_conn import ClientConfig, ClientConnection
from ussh.compat import asyncio, wait_readable, wait_writable
from ussh.server import _drain
from ussh.wire import SSHError

_EAGAIN = (11, 35)
_EINPROGRESS = (115, 119, 36)  # Linux, lwIP, BSD/macOS


class ClientError(Exception):
    """The connection ended or an operation was refused; the message says why."""


class Client:
    """A logged-in connection; made by connect()."""

    def __init__(self, sock, conn):
        self.sock = sock
        self.conn = conn
        self._ev = asyncio.Event()
        self._task = None

    async def _run(self):
        conn, sock = self.conn, self.sock
        try:
            await self.flush()
            while not conn.closed:
                await wait_readable(sock)
                try:
                    data = sock.recv(16384)
                except OSError as e:
                    if e.args[0] in _EAGAIN:
                        continue
                    raise
                if not data:
                    conn.lost("closed by server")
                    break
                conn.feed(data)
                self._ev.set()
                await self.flush()
        except OSError as e:
            conn.lost("socket error %s" % e)
        except Exception as e:  # a bug ends this connection, never the caller's loop
            conn.disconnect(11, "internal error")
            conn.log("internal error: %r" % e)
        try:
            await self.flush()
        except OSError:
            pass
        sock.close()
        self._ev.set()

    async def flush(self):
        """Sends what the connection has queued."""
        while not _drain(self.sock, self.conn):
            await wait_writable(self.sock)

    def _raise(self):
        c = self.conn
        if c.failure is not None:
            raise c.failure
        raise ClientError("%s: %s" % (c.peer, c.reason or "connection closed"))

    async def until(self, cond):
        """Waits until cond() is true; ClientError when the connection ends first."""
        while not cond():
            if self.conn.closed:
                self._raise()
            self._ev.clear()
            await self._ev.wait()

    async def send(self, payload):
        self.conn.send(payload)
        await self.flush()

    async def global_request(self, name, extra=b""):
        """(accepted, rest of the reply) of a global request, RFC 4254 §4."""
        slot = self.conn.global_request(name, extra)
        await self.flush()
        await self.until(lambda: slot)
        return slot[0], slot[1]

    async def open(self, kind=b"session", extra=b""):
        """A new channel (a Channel stream) of kind; ClientError when refused."""
        ch = self.conn.open_channel(kind, extra)
        await self.flush()
        await self.until(lambda: ch.state)
        if ch.state < 0:
            raise ClientError(ch.failure)
        return Channel(self, ch)

    async def session(self, kind=b"exec", arg=b""):
        """A session channel running arg (kind b"exec" or b"subsystem"; b"shell"
        without arg); ClientError when the server refuses."""
        ch = await self.open()
        extra = wire.string(arg) if kind != b"shell" else b""
        ch.ch.request(kind, True, extra)
        await self.flush()
        await self.until(lambda: ch.ch.replies or ch.ch.closed_in)
        if not ch.ch.replies or not ch.ch.replies.pop(0):
            await ch.close()
            raise ClientError("%s refused: %s %s" % (self.conn.peer, kind.decode(), arg))
        return ch

    async def exec(self, cmd, stdin=b""):
        """Runs cmd: (exit status, stdout bytes, stderr bytes). stdin (bytes)
        is sent, then EOF. The exit status is None when the server sent none."""
        ch = await self.session(b"exec", cmd.encode() if isinstance(cmd, str) else cmd)
        ch.ch.collect = True  # output is kept whole: its window goes back at once
        if stdin:
            await ch.write(stdin)
        await ch.eof()
        await ch.wait_closed()
        return ch.ch.exit_status, ch.ch.take(), ch.ch.take(-1, True)

    async def sftp(self):
        """An SFTP session (ussh.client_sftp.SFTP: put, get, listdir, ...)."""
        from ussh.client_sftp import SFTP

        s = SFTP(await self.session(b"subsystem", b"sftp"))
        await s.init()
        return s

    async def forward_remote(self, port, on_channel, bind="localhost"):
        """Asks the server to listen on bind:port and forward connections
        (tcpip-forward, RFC 4254 §7.1); on_channel(Channel, origin) gets each.
        Returns the port the server listens on (port 0: it chose)."""
        self.conn.on_forward = lambda ch, origin: on_channel(Channel(self, ch), origin)
        ok, rest = await self.global_request(b"tcpip-forward", wire.string(bind) + wire.u32(port))
        if not ok:
            raise ClientError("%s refused to forward %s:%d" % (self.conn.peer, bind, port))
        return wire.Reader(rest).u32() if port == 0 else port

    @property
    def closed(self):
        return self.conn.closed

    async def wait_closed(self):
        """Until the connection ends (the server or the network closed it)."""
        try:
            await self.until(lambda: False)
        except (ClientError, SSHError):
            pass

    async def close(self):
        """Sends DISCONNECT and closes the socket."""
        if not self.conn.closed:
            self.conn.disconnect(11, "closed by client")
            try:
                await self.flush()
            except OSError:
                pass
        t, self._task = self._task, None
        if t is not None:
            t.cancel()
            try:
                await t
            except BaseException:  # CancelledError
                pass
        self.sock.close()
        self._ev.set()


class Channel:
    """A channel as a stream: read() (stdout), read_stderr(), write(),
    eof(), close(), wait_closed(), exit_status."""

    def __init__(self, client, ch):
        self.client = client
        self.ch = ch

    @property
    def exit_status(self):
        return self.ch.exit_status

    async def read(self, n=-1):
        """At least one byte (at most n), or b"" at EOF."""
        ch = self.ch
        await self.client.until(lambda: ch.data or ch.eof_in or ch.closed_in)
        data = ch.take(n)
        await self.client.flush()  # a window adjust, maybe
        return data

    async def read_exactly(self, n):
        out = b""
        while len(out) < n:
            b = await self.read(n - len(out))
            if not b:
                raise ClientError("channel ended after %d of %d bytes" % (len(out), n))
            out += b
        return out

    async def read_stderr(self, n=-1):
        ch = self.ch
        await self.client.until(lambda: ch.ext or ch.eof_in or ch.closed_in)
        data = ch.take(n, True)
        await self.client.flush()
        return data

    async def write(self, data):
        """Sends all of data, waiting for the peer's window."""
        ch = self.ch
        mv = memoryview(data)
        pos = 0
        while pos < len(data):
            await self.client.until(lambda: ch.room() or ch.closed_in or ch.eof_out)
            if ch.closed_in or ch.eof_out:
                raise ClientError("channel closed")
            pos += ch.send(mv[pos:])
            await self.client.flush()

    async def eof(self):
        self.ch.send_eof()
        await self.client.flush()

    async def close(self):
        self.ch.close()
        await self.client.flush()

    async def wait_closed(self):
        """Until the peer closed the channel (then ours goes too)."""
        ch = self.ch
        await self.client.until(lambda: ch.closed_in)
        await self.client.flush()


def _key(key):
    if isinstance(key, str):
        from ussh import keyfile

        return keyfile.load(key)
    if isinstance(key, (bytes, bytearray)):
        from ussh import keyfile

        return keyfile.parse(key)
    return key


async def connect(host, port=22, user="root", key="id_ed25519", known_hosts="known_hosts", log=print, timeout=30, **settings):
    """A logged-in Client to host:port. known_hosts: a path, the file's
    text, or knownhosts entries; settings: those of ClientConfig (window,
    rekey_bytes, ...). Raises knownhosts.HostKeyError (unknown or changed
    host key), ClientError (refused login, lost connection) or OSError."""
    if isinstance(known_hosts, str):
        known = knownhosts.load(known_hosts, log)
    elif isinstance(known_hosts, (bytes, bytearray)):
        known = knownhosts.parse(known_hosts, log)
    else:
        known = known_hosts
    ukey = _key(key)
    ai = socket.getaddrinfo(host, port)[0]
    sock = socket.socket(ai[0], socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        try:
            sock.connect(ai[-1])
        except OSError as e:
            if e.args[0] not in _EINPROGRESS:
                raise
        try:
            sock.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY
        except (OSError, AttributeError):
            pass
        conn = ClientConnection(ClientConfig(log=log, **settings), host, port, user, ukey, known)
        c = Client(sock, conn)
        await asyncio.wait_for(wait_writable(sock), timeout)
        c._task = asyncio.create_task(c._run())
        try:
            await asyncio.wait_for(c.until(lambda: conn.user is not None), timeout)
        except asyncio.TimeoutError:
            conn.disconnect(11, "login timeout")
            raise ClientError("%s: no login within %d s" % (conn.peer, timeout))
        return c
    except BaseException:
        sock.close()
        raise


def run(coro):
    """asyncio.run for the REPL: ussh.client.run(client.connect(...))."""
    return asyncio.run(coro)
