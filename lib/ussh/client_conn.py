# The client's side of one SSH connection, sans-IO, an optional module of
# ussh.client: the server's Connection (transport, rekeying, held packets,
# DISCONNECT) in its second role. The key exchange is ussh.client_kex's,
# the host key is checked against known_hosts, user authentication is
# publickey with an ed25519 key (RFC 4252 §7), and the channel messages
# go to ussh.client_chan.
import struct

from ussh import client_chan, client_kex, knownhosts, wire
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
        ch = client_chan.new_channel(self)
        self.send(wire.byte(_MSG_CHANNEL_OPEN) + wire.string(kind)
                  + struct.pack(">III", ch.id, self.cfg.window, self.cfg.channel_max_packet) + extra)
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
}
_HANDLERS.update(client_chan.HANDLERS)
