# The client's channels (RFC 4254 §5), an optional module of ussh.client:
# the state of one channel and the handlers of the channel messages that
# ussh.client_conn's table hands on here. Sessions are channels the client
# opens; forwarded-tcpip ones the server opens after a tcpip-forward
# request (§7.1, §7.2).
import struct

from ussh import wire
from ussh.compat import const
from ussh.wire import Reader, SSHError

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
_DATA_MAX = const(32768)  # a packet's payload every peer must take, RFC 4253 §6.1
_FRAMING = const(64)  # a packet's length, padding, MAC and channel header (ussh.budget)


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


def _cap(conn, m):
    # the data of one packet we send: what the server takes, and no more than we take (our
    # budget, ussh.budget: a board client's packets are made whole in its heap, twice; a 6 KB
    # packet for a server that takes 32 KB found no free run that long on the Cortex-M3)
    return max(1, min(m, _DATA_MAX, conn.cfg.max_packet - _FRAMING, conn.cfg.channel_max_packet))


def new_channel(conn):
    """A ClientChannel under the lowest free local id of conn."""
    local_id = 0
    while local_id in conn.channels:
        local_id += 1
    ch = ClientChannel(conn, local_id)
    conn.channels[local_id] = ch
    return ch


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
        ch = new_channel(conn)
        ch.remote_id, ch.remote_window, ch.remote_max, ch.state = rid, window, _cap(conn, max_packet), 1
        conn.send(struct.pack(">BIIII", _MSG_CHANNEL_OPEN_CONFIRMATION, rid, ch.id, ch.window, conn.cfg.channel_max_packet))
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
        ch.remote_max = _cap(conn, m)
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


HANDLERS = {
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
