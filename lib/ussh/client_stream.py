"""The blocking client driver, for ports without asyncio (the qemu
Cortex-M3 port: a UART; or a blocking socket): the same ClientConnection as
ussh.client, driven by read(n) and write(b) in one loop.

    c = connect(read, write, "server", 22, user="me", key=key_text, known_hosts=text)
    status, out, err = c.exec("uname -a", stdin=b"")
    c.close()

read(n) blocks until at least one byte is there and returns at most n (b""
at the end of the stream); write(b) writes all of b. host and port name the
server for the known_hosts check only: the stream is already connected.
"""
from ussh import keys, knownhosts
from ussh.client_conn import ClientConfig, ClientConnection
from ussh.wire import SSHError


class StreamClientError(Exception):
    """The connection ended or the server refused; the message says why."""


class StreamClient:
    def __init__(self, read, write, conn):
        self.read = read
        self.write = write
        self.conn = conn

    def _flush(self):
        q = self.conn.outq
        while q:
            self.write(q.pop(0))

    def _turn(self):
        # send what is queued, then read what the server sends next (at most one packet)
        conn = self.conn
        self._flush()
        if conn.closed:
            return
        t = conn.transport
        b = self.read(t.wanted() if t.peer_version is not None else 1)
        if not b:
            conn.lost("closed by server")
            return
        conn.feed(b)
        self._flush()

    def until(self, cond):
        """Reads and handles packets until cond() is true."""
        conn = self.conn
        while not cond():
            if conn.closed:
                try:  # a DISCONNECT of ours, for the server to read
                    self._flush()
                except OSError:
                    pass
                if conn.failure is not None:
                    raise conn.failure
                raise StreamClientError("%s: %s" % (conn.peer, conn.reason or "connection closed"))
            self._turn()

    def exec(self, cmd, stdin=b""):
        """(exit status, stdout bytes, stderr bytes) of cmd; stdin is sent, then EOF."""
        from ussh import wire

        conn = self.conn
        ch = conn.open_channel(b"session")
        self.until(lambda: ch.state)
        if ch.state < 0:
            raise StreamClientError(ch.failure)
        ch.collect = True
        ch.request(b"exec", True, wire.string(cmd))
        self.until(lambda: ch.replies or ch.closed_in)
        if not ch.replies or not ch.replies.pop(0):
            ch.close()
            self._flush()
            raise StreamClientError("%s refused exec %s" % (conn.peer, cmd))
        mv = memoryview(stdin)
        pos = 0
        while pos < len(stdin):
            self.until(lambda: ch.room() or ch.closed_in)
            if ch.closed_in:
                break
            pos += ch.send(mv[pos:])
        ch.send_eof()
        self.until(lambda: ch.closed_in)
        self._flush()
        return ch.exit_status, ch.take(), ch.take(-1, True)

    def close(self):
        if not self.conn.closed:
            self.conn.disconnect(11, "closed by client")
        self._flush()


def connect(read, write, host, port=22, user="root", key=None, known_hosts=b"", log=print, **settings):
    """A logged-in StreamClient over read/write. key: a keys.HostKey or the
    text of an ed25519 private key file; known_hosts: its text or entries."""
    if isinstance(key, (bytes, bytearray, str)):
        from ussh import keyfile

        key = keyfile.parse(key.encode() if isinstance(key, str) else key)
    known = known_hosts if isinstance(known_hosts, list) else knownhosts.parse(known_hosts, log)
    if "channel_max_packet" not in settings and "window" not in settings:
        # a board's heap: packets and window from the free heap, for this one connection
        from ussh import budget

        free = budget.free_heap()
        if free is not None:
            settings.update(budget.defaults(free, 1))
    conn = ClientConnection(ClientConfig(log=log, **settings), host, port, user, key, known)
    c = StreamClient(read, write, conn)
    try:
        c.until(lambda: conn.user is not None)
    except SSHError:
        c._flush()
        raise
    return c
