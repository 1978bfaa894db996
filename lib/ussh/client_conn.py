# The client's side of one SSH connection, sans-IO, an optional module of
# ussh.client: the server's Connection (transport, rekeying, held packets,
# DISCONNECT) in its second role. The key exchange is ussh.client_kex's,
# the host key is checked against known_hosts, user authentication is
# publickey with an ed25519 key (RFC 4252 §7), and channels are the
# client's (RFC 4254 §5): sessions it opens, forwarded-tcpip ones the
# server opens after a tcpip-forward request (§7.1, §7.2).
import struct

from ussh import client_kex, knownhosts, wire
from ussh.compat import const
from ussh.connection import Connection
from ussh.wire import Reader, SSHError, DISCONNECT_NO_MORE_AUTH_METHODS

_MSG_DISCONNECT = const(1)
_MSG_UNIMPLEMENTED = const(3)
_MSG_KEXINIT = const(20)
_MSG_SERVICE_REQUEST = const(5)
_MSG_USERAUTH_REQUEST = const(50)
_MSG_GLOBAL_REQUEST = const(80)
_MSG_REQUEST_SUCCESS = const(81)
_MSG_REQUEST_FAILURE = const(82)
_MSG_CHANNEL_OPEN = const(90)
_MSG_CHANNEL_OPEN_CONFIRMATION = const(91)
_MSG_CHANNEL_OPEN_FAILURE = const(92)
_MSG_CHANNEL_WINDOW_ADJUST = const(93)
_MSG_CHANNEL_DATA = const(94)
_MSG_CHANNEL_EXTENDED_DATA = const(95)
_MSG_CHANNEL_EOF = const(96)
_MSG_CHANNEL_CLOSE = const(97)
_MSG_CHANNEL_REQUEST = const(98)
_MSG_CHANNEL_SUCCESS = const(99)
_MSG_CHANNEL_FAILURE = const(100)
_OPEN_ADMINISTRATIVELY_PROHIBITED = const(1)


class ClientConfig:
    """Client settings; keyword arguments override the defaults below."""

    log = print
    max_packet = 35000  # RFC 4253 §6.1
    channel_max_packet = 32768  # the largest channel data we accept
    window = 131072  # initial channel window we grant
    rekey_bytes = 1 << 30  # RFC 4253 §9
    legacy_mac = False  # also accept hmac-sha2-256 (encrypt-and-MAC)
    host_key = None  # the server role's; a client has none

    def __init__(self, **kw):
        for k in kw:
            if not hasattr(self, k):
                raise TypeError("unknown setting %s" % k)
            setattr(self, k, kw[k])


class ClientChannel:
    """One channel's state: what arrived (`data`, `ext`: stderr), the
    windows both ways, the replies to requests, exit status."""

    def __init__(self, conn, local_id):
        self.conn = conn
        self.id = local_id
        self.remote_id = None
        self.remote_window = self.remote_max = 0
        self.window = conn.cfg.window
        self.unacked = 0
        self.data = bytearray()
        self.ext = bytearray()
        self.eof_in = self.closed_in = self.closed_out = self.eof_out = False
        self.state = 0  # 0 opening, 1 open, -1 refused (`failure` says why)
        self.failure = None
        self.replies = []  # True/False per request sent with want_reply
        self.exit_status = None
        self.exit_signal = None
        self.collect = False  # give the window back on arrival (exec collects it all)

    def consumed(self, n):
        # RFC 4254 §5.2: the window goes back once half of it is used
        self.unacked += n
        if self.unacked >= self.conn.cfg.window // 2 and not self.closed_out and not self.closed_in:
            self.conn.send(struct.pack(">BII", _MSG_CHANNEL_WINDOW_ADJUST, self.remote_id, self.unacked))
            self.window += self.unacked
            self.unacked = 0

    def take(self, n=-1, ext=False):
        buf = self.ext if ext else self.data
        if n < 0 or n > len(buf):
            n = len(buf)
        out = bytes(buf[:n])
        buf[:n] = b""
        if not self.collect:
            self.consumed(n)
        return out

    def room(self):
        """How many bytes send() may take now (window and packet size)."""
        if self.conn.rekeying() or self.closed_in or self.eof_out:
            return 0
        return min(self.remote_window, self.remote_max)

    def send(self, data):
        """Sends as much of data as the window allows; returns that count."""
        n = min(len(data), self.room())
        if n:
            self.conn.send(struct.pack(">BII", _MSG_CHANNEL_DATA, self.remote_id, n) + data[:n])
            self.remote_window -= n
        return n

    def request(self, name, want_reply=True, extra=b""):
        self.conn.send(struct.pack(">BI", _MSG_CHANNEL_REQUEST, self.remote_id) + wire.string(name)
                       + wire.boolean(want_reply) + extra)

    def send_eof(self):
        if not self.eof_out and not self.closed_out:
            self.eof_out = True
            self.conn.send(struct.pack(">BI", _MSG_CHANNEL_EOF, self.remote_id))

    def close(self):
        if not self.closed_out and self.remote_id is not None:
            self.closed_out = True
            self.conn.send(struct.pack(">BI", _MSG_CHANNEL_CLOSE, self.remote_id))
        if self.closed_in or self.state < 0:
            self.conn.channels.pop(self.id, None)


class ClientConnection(Connection):
    """The client's side of one connection to host:port as `user`, with
    `key` (a keys.HostKey: an ed25519 key pair) and `known` (knownhosts
    entries). on_forward(channel, origin), when set, takes each
    forwarded-tcpip channel the server opens; `user` is set once logged in."""

    def __init__(self, cfg, host, port, user, key, known):
        self.hk_algs = knownhosts.algorithms(known, host, port)
        self.host, self.port, self.login, self.ukey, self.known = host, port, user, key, known
        self.on_forward = None
        self.global_replies = []  # [] slots filled by REQUEST_SUCCESS/FAILURE, in order
        self.kex_count = 0
        self.failure = None  # the SSHError that ended the connection, if ours
        self.reason = None
        self.server_key = None
        self._pre = 0
        Connection.__init__(self, cfg, "%s:%d" % (host, port))

    def _send_kexinit(self):
        self._kexinit = client_kex.kexinit(self)
        self._out(self._kexinit)

    def lost(self, reason="connection lost"):
        if self.reason is None:
            self.reason = reason
        Connection.lost(self, reason)

    def feed(self, data):
        t = self.transport
        if self.peer_version is None:
            t.rbuf += data
            data = b""
            # RFC 4253 §4.2: a server may send other lines before its version
            while t.rbuf[:4] != b"SSH-":
                i = t.rbuf.find(b"\n")
                if i < 0 and b"SSH-".startswith(bytes(t.rbuf[:4])):
                    return 0
                self._pre += 1
                if i < 0 or self._pre > 50:
                    i = len(t.rbuf)
                    if len(t.rbuf) < 1024 and self._pre <= 50:
                        return 0
                    self.lost("not an SSH server")
                    return 0
                t.rbuf[: i + 1] = b""
            try:
                self.peer_version = t.read_version()
            except SSHError as e:
                self.disconnect(e.code, e.reason)
                return 0
            if self.peer_version is None:
                return 0
            self.log("server %s" % wire.printable(self.peer_version))
        return Connection.feed(self, data)

    def check_host_key(self, alg, k_s, h, sig):
        # called by client_kex with the exchange hash; a refusal ends the connection
        try:
            blob, note = knownhosts.check(self.known, self.host, self.port, alg, k_s)
            from ussh.auth import ed25519_signed

            if Reader(blob).string() != b"ssh-ed25519" or not ed25519_signed(blob, h, sig):
                raise knownhosts.HostKeyError("bad host key signature from %s" % self.peer)
        except SSHError as e:
            self.failure = e
            raise
        if self.server_key is None:
            self.log("host key %s: %s" % (wire.printable(alg), note))
        self.server_key = blob

    def _kex_step(self, p):
        Connection._kex_step(self, p)
        if self._kex is None and not self.closed:
            self.kex_count += 1
            if self.kex_count == 1:  # RFC 4252 §1: user auth is a service
                self.send(wire.byte(_MSG_SERVICE_REQUEST) + wire.string(b"ssh-userauth"))

    def _handle(self, p):
        if not p:
            raise SSHError("empty packet")
        n = p[0]
        if n == _MSG_DISCONNECT:
            r = Reader(p, 1)
            r.u32()
            return self.lost("by server: %s" % r.text())
        if self._kex is not None and 20 <= n <= 49:
            return self._kex_step(p)
        if 21 <= n <= 49:
            raise SSHError("unexpected message %d outside key exchange" % n)
        if n == _MSG_KEXINIT:
            if self._kexinit is None:
                self._send_kexinit()
            self._kex = client_kex.exchange(self, p, self._kexinit)
            return self._kex_step(None)
        if self.session_id is None or self._kex is not None:
            if (self.strict and self.first_kex) or n > 4:
                raise SSHError("unexpected message %d during key exchange" % n)
        if n >= _MSG_GLOBAL_REQUEST and self.user is None:
            raise SSHError("connection protocol before authentication")
        h = _HANDLERS.get(n)
        if h is None:
            if n > 7:  # RFC 4253 §11.4
                self.send(struct.pack(">BI", _MSG_UNIMPLEMENTED, (self.transport.seq_in - 1) & 0xFFFFFFFF))
            return
        h(self, p)

    # -- what the driver asks for
    def global_request(self, name, extra=b""):
        """Sends a global request wanting a reply; returns the slot its
        reply fills: [True, rest of the packet] or [False, b""]."""
        slot = []
        self.global_replies.append(slot)
        self.send(wire.byte(_MSG_GLOBAL_REQUEST) + wire.string(name) + wire.boolean(True) + extra)
        return slot

    def open_channel(self, kind, extra=b""):
        local_id = 0
        while local_id in self.channels:
            local_id += 1
        ch = ClientChannel(self, local_id)
        self.channels[local_id] = ch
        self.send(wire.byte(_MSG_CHANNEL_OPEN) + wire.string(kind)
                  + struct.pack(">III", local_id, self.cfg.window, self.cfg.channel_max_packet) + extra)
        return ch


def _service_accept(conn, p):
    # RFC 4252 §7: sign session id || the request, and send it at once
    # (no query first: there is one key)
    key = conn.ukey
    body = b"".join((wire.byte(_MSG_USERAUTH_REQUEST), wire.string(conn.login), wire.string(b"ssh-connection"),
                     wire.string(b"publickey"), wire.boolean(True), wire.string(b"ssh-ed25519"), wire.string(key.blob)))
    conn.send(body + wire.string(key.sign(wire.string(conn.session_id) + body)))


def _auth_failure(conn, p):
    conn.failure = SSHError("publickey %s refused for %s by %s" % (conn.ukey.fingerprint(), conn.login, conn.peer),
                            DISCONNECT_NO_MORE_AUTH_METHODS)
    raise conn.failure


def _auth_success(conn, p):
    conn.user = conn.login
    conn.log("logged in as %s with %s" % (conn.login, conn.ukey.fingerprint()))


def _banner(conn, p):
    conn.log("banner: %s" % wire.printable(Reader(p, 1).string()))


def _global_request(conn, p):
    # hostkeys-00@openssh.com, keepalive@openssh.com...: none is needed here
    r = Reader(p, 1)
    r.string()
    if r.boolean():
        conn.send(wire.byte(_MSG_REQUEST_FAILURE))


def _global_reply(conn, p):
    if not conn.global_replies:
        raise SSHError("reply to no global request")
    conn.global_replies.pop(0).extend((p[0] == _MSG_REQUEST_SUCCESS, p[1:]))


def _chan(conn, r):
    ch = conn.channels.get(r.u32())
    if ch is None:
        raise SSHError("message for an unknown channel")
    return ch


def _channel_open(conn, p):
    # RFC 4254 §7.2: forwarded-tcpip, for a port we asked the server to forward
    r = Reader(p, 1)
    kind = r.string()
    rid, window, max_packet = r.u32(), r.u32(), r.u32()
    if kind == b"forwarded-tcpip" and conn.on_forward is not None:
        addr, port, orig, oport = r.text(), r.u32(), r.text(), r.u32()
        r.done()
        local_id = 0
        while local_id in conn.channels:
            local_id += 1
        ch = ClientChannel(conn, local_id)
        ch.remote_id, ch.remote_window, ch.remote_max, ch.state = rid, window, max(1, min(max_packet, 32768)), 1
        conn.channels[local_id] = ch
        conn.send(struct.pack(">BIIII", _MSG_CHANNEL_OPEN_CONFIRMATION, rid, local_id, ch.window, conn.cfg.channel_max_packet))
        conn.on_forward(ch, (addr, port, orig, oport))
        return
    conn.send(struct.pack(">BII", _MSG_CHANNEL_OPEN_FAILURE, rid, _OPEN_ADMINISTRATIVELY_PROHIBITED)
              + wire.string("not accepted") + wire.string(b""))


def _open_reply(conn, p):
    r = Reader(p, 1)
    ch = _chan(conn, r)
    if ch.state:
        raise SSHError("channel open reply for an open channel")
    if p[0] == _MSG_CHANNEL_OPEN_CONFIRMATION:
        ch.remote_id, ch.remote_window, m = r.u32(), r.u32(), r.u32()
        ch.remote_max = max(1, min(m, conn.cfg.max_packet - 64))
        ch.state = 1
    else:
        code = r.u32()
        ch.failure = "channel refused (%d): %s" % (code, wire.printable(r.string()))
        ch.state = -1
        conn.channels.pop(ch.id, None)


def _window_adjust(conn, p):
    r = Reader(p, 1)
    ch = _chan(conn, r)
    ch.remote_window = min(ch.remote_window + r.u32(), 0xFFFFFFFF)
    r.done()


def _data(conn, p):
    r = Reader(p, 1)
    ch = _chan(conn, r)
    if p[0] == _MSG_CHANNEL_EXTENDED_DATA:
        r.u32()  # RFC 4254 §5.2: 1 is stderr, the only one defined
    n = r.u32()
    if r.pos + n != r.end:
        raise SSHError("bad channel data length")
    if n > ch.window:
        raise SSHError("channel window exceeded")
    ch.window -= n
    (ch.ext if p[0] == _MSG_CHANNEL_EXTENDED_DATA else ch.data).extend(memoryview(p)[r.pos :])
    if ch.collect:
        ch.consumed(n)


def _eof(conn, p):
    _chan(conn, Reader(p, 1)).eof_in = True


def _close(conn, p):
    ch = _chan(conn, Reader(p, 1))
    ch.closed_in = True
    ch.close()  # RFC 4254 §5.3: answered with a CLOSE of ours


def _request(conn, p):
    r = Reader(p, 1)
    ch = _chan(conn, r)
    name = r.string()
    want = r.boolean()
    if name == b"exit-status":  # RFC 4254 §6.10
        ch.exit_status = r.u32()
    elif name == b"exit-signal":
        ch.exit_signal = r.text()
    elif want:  # keepalive@openssh.com and the like
        conn.send(struct.pack(">BI", _MSG_CHANNEL_FAILURE, ch.remote_id))


def _reply(conn, p):
    ch = _chan(conn, Reader(p, 1))
    ch.replies.append(p[0] == _MSG_CHANNEL_SUCCESS)


def _ignore(conn, p):
    pass


_HANDLERS = {
    2: _ignore,
    3: _ignore,
    4: _ignore,
    6: _service_accept,
    7: _ignore,  # EXT_INFO, RFC 8308: nothing in it is needed
    51: _auth_failure,
    52: _auth_success,
    53: _banner,
    _MSG_GLOBAL_REQUEST: _global_request,
    _MSG_REQUEST_SUCCESS: _global_reply,
    _MSG_REQUEST_FAILURE: _global_reply,
    _MSG_CHANNEL_OPEN: _channel_open,
    _MSG_CHANNEL_OPEN_CONFIRMATION: _open_reply,
    _MSG_CHANNEL_OPEN_FAILURE: _open_reply,
    _MSG_CHANNEL_WINDOW_ADJUST: _window_adjust,
    _MSG_CHANNEL_DATA: _data,
    _MSG_CHANNEL_EXTENDED_DATA: _data,
    _MSG_CHANNEL_EOF: _eof,
    _MSG_CHANNEL_CLOSE: _close,
    _MSG_CHANNEL_REQUEST: _request,
    _MSG_CHANNEL_SUCCESS: _reply,
    _MSG_CHANNEL_FAILURE: _reply,
}
