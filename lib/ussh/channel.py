# Connection protocol, RFC 4254: session channels with flow control in both
# directions, channel requests, exec and shell (running Python on the board).
import struct

from ussh import wire
from ussh.compat import const, ticks_ms, ticks_diff
from ussh.wire import Reader, SSHError

_MSG_GLOBAL_REQUEST = const(80)
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

_OPEN_ADMINISTRATIVELY_PROHIBITED = const(1)  # RFC 4254 §5.1
_OPEN_UNKNOWN_CHANNEL_TYPE = const(3)
_OPEN_RESOURCE_SHORTAGE = const(4)
_EXTENDED_DATA_STDERR = const(1)
_MIN_GRANT = const(1024)  # the smallest window add() falls back to
_FLUSH_MS = const(50)  # output of a running command reaches the client at least this often
_FRAMING = const(64)  # packet length, padding, MAC, channel header (ussh.budget)
_PREALLOC = const(16384)  # a window up to this (a board's): the channel's buffers made whole at its open
_TAKE = const(256)  # take_input()'s pieces where its buffer was not made whole at the open


def _whole(b, n):
    # how many bytes b[:n] needs to end on a whole UTF-8 character (n > 0)
    i = n - 1
    while i > 0 and n - i < 4 and b[i] & 0xC0 == 0x80:
        i -= 1
    c = b[i]
    return max(n, i + (2 if c & 0xE0 == 0xC0 else 3 if c & 0xF0 == 0xE0 else 4 if c & 0xF8 == 0xF0 else 1))


def _empty(n):
    b = bytearray(n)
    b[:] = b""  # emptied: it keeps its room
    return b


def _text(b):
    # bytes from the client as text: invalid UTF-8 becomes "?" rather than
    # an exception in the user's code
    try:
        return b.decode()
    except UnicodeError:
        return bytes([x if x < 128 else 63 for x in b]).decode()


class ChannelClosed(Exception):
    pass


class Channel:
    wake = None  # a driver's task serving the channel (ussh.forward): called on its input, window, EOF, CLOSE
    programs = True  # programs use take_input() and out() (a forward's task does neither)
    def __init__(self, conn, local_id, remote_id, window, max_packet, grant=0):
        self.conn = conn
        self.id = local_id
        self.remote_id = remote_id
        self.remote_window = window
        self.remote_max = max_packet
        self.grant = grant or conn.cfg.window  # the window we grant (add() may grant less)
        self.window = self.grant  # what the client may still send us
        self.unacked = 0
        # the input (at most the window we grant), what take_input() hands a program, the output
        # and its spare, one outgoing message: on a board's budget (ussh.budget) made whole here,
        # while the heap still has long free runs, then emptied in place and never grown (made at
        # the first data, or grown, a heap cut up mid-session had no run that long: the emulated
        # Cortex-M3's matrix, MemoryError with 74 KB free)
        # A window of 1 KB, the smallest (a heap at its limit: the 110 KB board's), has them grow
        # with the data, as small as it is (made whole there, an exec's compiling found no room)
        self.inbuf = bytearray()
        self.taken = bytearray()
        self.outbuf = bytearray()
        self.spare = None  # the other output buffer, emptied, kept for the next flush
        self.pkt = bytearray()  # one outgoing message (_send), reused
        if _MIN_GRANT < self.grant <= _PREALLOC:
            self.inbuf = _empty(self.grant)  # a MemoryError: add() tries a smaller window
            if self.programs:
                self.taken = bytearray(self.grant)
                self.outbuf = _empty(max_packet)
                self.spare = _empty(max_packet)
                self.pkt = _empty(max_packet + _FRAMING)
        self.eof_in = False
        self.closed_in = False  # the client sent CLOSE
        self.closed_out = False  # we sent CLOSE
        self.pty = None
        self.started = False
        self.repl = None
        self.interrupt = False
        self.last_flush = ticks_ms()

    # -- data from the client
    def consumed(self, n):
        # RFC 4254 §5.2: give the window back once half of it is used
        self.unacked += n
        if self.unacked >= self.grant // 2 and not self.closed_out:
            self.conn.send(struct.pack(">BII", _MSG_CHANNEL_WINDOW_ADJUST, self.remote_id, self.unacked))
            self.window += self.unacked
            self.unacked = 0

    def take_input(self):
        # a view of the channel's own buffer, valid until the next call: programs (the REPL,
        # SFTP) copy what they keep; no new buffer of up to a window for each batch of input.
        # Where that buffer was not made whole at the open (the smallest window: a heap at its
        # limit), the input is handed on in pieces of at most _TAKE bytes, the rest left queued:
        # a copy of the whole window was 1 KB more in the 110 KB board's upload
        b = self.inbuf
        t = self.taken
        n = min(len(b), max(len(t), _TAKE))
        if n > len(t):
            t = self.taken = bytearray(n)
        t[:n] = memoryview(b)[:n]
        b[:n] = b""
        self.consumed(n)
        return memoryview(t)[:n]

    def readline(self):
        # Blocks (pumping the connection) until a line or EOF arrives.
        while True:
            i = self.inbuf.find(b"\n")
            if i >= 0 or self.eof_in or self.closed_in:
                n = i + 1 if i >= 0 else len(self.inbuf)
                line = bytes(self.inbuf[:n])
                self.inbuf[:n] = b""
                self.consumed(n)
                return _text(line)
            self._check()
            self.flush()
            self.conn.wait()

    def read(self, n=-1):
        # n bytes, more to end a UTF-8 character (a text stream never splits
        # one: read(1) of "é" is "é", not an undecodable first byte)
        b = self.inbuf
        while not (self.eof_in or self.closed_in) and (n < 0 or len(b) < n or n and len(b) < _whole(b, n)):
            self._check()
            self.flush()
            self.conn.wait()
        n = len(b) if n < 0 or n > len(b) else min(len(b), _whole(b, n)) if n else 0
        data = bytes(b[:n])
        b[:n] = b""
        self.consumed(n)
        return _text(data)

    # -- data to the client
    def _check(self):
        if self.closed_in or self.conn.closed:
            raise ChannelClosed()
        if self.interrupt:
            self.interrupt = False
            raise KeyboardInterrupt()

    def _send(self, data, ext):
        mv = memoryview(data)
        pos = 0
        while pos < len(data):
            self._check()
            n = min(len(data) - pos, self.remote_window, self.remote_max)
            if n <= 0 or self.conn.rekeying():
                # RFC 4254 §5.2: wait for WINDOW_ADJUST; RFC 4253 §7.1: and
                # for a key exchange to end rather than hold data. Bounded:
                # the running command holds every other connection, for
                # send_timeout in all (a window granted a byte at a time
                # gains the client nothing)
                t0 = ticks_ms()
                self.conn.wait()
                if self.conn.stalled(t0):
                    self.conn.lost("client opened no window for %d s" % self.conn.cfg.send_timeout)
                    raise ChannelClosed()
                continue
            # the message goes together in a buffer of the channel's, reused: the connection
            # packs (or, during a key exchange, copies) it at once
            b = self.pkt
            if ext:
                b[:] = struct.pack(">BIII", _MSG_CHANNEL_EXTENDED_DATA, self.remote_id, _EXTENDED_DATA_STDERR, n)
            else:
                b[:] = struct.pack(">BII", _MSG_CHANNEL_DATA, self.remote_id, n)
            b += mv[pos : pos + n]
            self.conn.send(b)
            self.remote_window -= n
            pos += n

    def out(self, data):
        # the buffer never grows past a packet (its room): what does not fit goes out first
        n = len(data)
        while len(self.outbuf) + n > self.remote_max:
            k = max(0, self.remote_max - len(self.outbuf))
            self.outbuf += memoryview(data)[:k]
            data = memoryview(data)[k:]
            n -= k
            self.flush()
            self.conn.poll()  # and on to the client: the packets do not collect in outq
        self.outbuf += data
        if len(self.outbuf) >= self.remote_max or ticks_diff(ticks_ms(), self.last_flush) >= _FLUSH_MS:
            self.flush()
            self.conn.poll()

    def err(self, data):
        # With a pty, stderr shares the terminal's stream, as with sshd: two
        # streams would reach the client's terminal out of order.
        if self.pty:
            return self.out(data)
        self.flush()
        self._send(data, True)

    def flush(self):
        if self.outbuf:
            # two buffers in turn, each emptied in place (it keeps its room): output written
            # while this one goes out (a wait for the window) collects in the other
            data = self.outbuf
            self.outbuf = self.spare if self.spare is not None else bytearray()
            self.spare = None
            self._send(data, False)
            data[:] = b""
            self.spare = data
        self.last_flush = ticks_ms()

    def poll(self):
        # For the REPL: bytes typed while a statement runs (Ctrl-C among them)
        self.flush()
        self.conn.poll()
        return bytes(self.take_input())

    def finish(self, status):
        # RFC 4254 §6.10: exit-status, then EOF and CLOSE
        if self.closed_out:
            return
        try:
            self.flush()
        except ChannelClosed:
            pass
        rid = self.remote_id
        if not self.closed_in:
            self.conn.send(struct.pack(">BI", _MSG_CHANNEL_EOF, rid))
            self.conn.send(struct.pack(">BI", _MSG_CHANNEL_REQUEST, rid) + wire.string(b"exit-status") + b"\x00" + wire.u32(status))
        self.conn.send(struct.pack(">BI", _MSG_CHANNEL_CLOSE, rid))
        self.closed_out = True
        if self.closed_in:
            self.conn.channels.pop(self.id, None)


def _channel(conn, r):
    ch = conn.channels.get(r.u32())
    if ch is None:
        raise SSHError("message for an unknown channel")
    return ch


def global_request(conn, p):
    # RFC 4254 §4: ussh offers no global requests (tcpip-forward, keepalive@...)
    r = Reader(p, 1)
    r.string()
    if r.boolean():
        conn.send(wire.byte(_MSG_REQUEST_FAILURE))


def channel_open(conn, p):
    r = Reader(p, 1)
    kind = r.string()
    remote_id = r.u32()
    window = r.u32()
    max_packet = r.u32()
    other = conn.cfg.reg.channel_types.get(kind)  # ussh.plugins: forward's direct-tcpip
    if kind != b"session" and other is None:
        reason, text = _OPEN_UNKNOWN_CHANNEL_TYPE, "unknown channel type"
    elif len(conn.channels) >= conn.cfg.max_channels:
        reason, text = _OPEN_RESOURCE_SHORTAGE, "too many channels"
    elif other is None:
        r.done()
        confirm(add(conn, Channel, remote_id, window, max_packet))
        return
    else:
        refused = __import__(other, None, None, ("request",)).request(conn, r, remote_id, window, max_packet)
        if refused is None:
            return
        reason, text = refused
    refuse(conn, remote_id, reason, text)


def add(conn, cls, remote_id, window, max_packet):
    """A new channel of class cls in conn.channels, not yet confirmed."""
    local_id = 0
    while local_id in conn.channels:
        local_id += 1
    # our packets are no larger than those we take (the connection's budget, Config): a
    # board's heap holds a few of them, whatever the client would accept
    cap = min(max_packet, conn.cfg.max_packet - 64, conn.cfg.channel_max_packet)
    grant = conn.cfg.window
    while True:
        try:
            ch = cls(conn, local_id, remote_id, window, max(1, cap), grant)
            break
        except MemoryError:
            # a heap with the room but no free run that long (fragmented by earlier
            # connections): a smaller window, and so smaller buffers, rather than no channel
            if grant <= _MIN_GRANT:
                raise
            grant //= 2
            conn.log("channel window %d B: the heap has no longer free run" % grant)
    conn.channels[local_id] = ch
    return ch


def confirm(ch):
    ch.conn.send(struct.pack(">BIIII", _MSG_CHANNEL_OPEN_CONFIRMATION, ch.remote_id, ch.id, ch.window,
                             ch.conn.cfg.channel_max_packet))


def refuse(conn, remote_id, reason, text):
    # RFC 4254 §5.1
    conn.send(struct.pack(">BII", _MSG_CHANNEL_OPEN_FAILURE, remote_id, reason) + wire.string(text) + wire.string(b""))


def window_adjust(conn, p):
    r = Reader(p, 1)
    ch = _channel(conn, r)
    n = r.u32()
    r.done()
    ch.remote_window = min(ch.remote_window + n, 0xFFFFFFFF)
    if ch.wake:
        ch.wake()


def channel_data(conn, p):
    r = Reader(p, 1)
    ch = _channel(conn, r)
    if p[0] == _MSG_CHANNEL_EXTENDED_DATA:
        r.u32()  # RFC 4254 §5.2: a client sends none that a session uses
    n = r.u32()
    start = r.pos
    if start + n != r.end:  # the data string must end the packet
        raise SSHError("bad channel data length")
    if n > ch.window:
        raise SSHError("channel window exceeded")
    ch.window -= n
    if ch.eof_in or ch.closed_out or p[0] == _MSG_CHANNEL_EXTENDED_DATA:
        ch.consumed(n)
        return
    if n == 1 and p[start] == 3 and ch.started and ch.repl is None and ch.pty:
        ch.interrupt = True  # Ctrl-C typed into an exec with a pty
    ch.inbuf += memoryview(p)[start : start + n]  # no intermediate copy
    if ch.wake:
        ch.wake()
    conn.sched.settle()


def channel_eof(conn, p):
    r = Reader(p, 1)
    ch = _channel(conn, r)
    r.done()
    ch.eof_in = True
    if ch.wake:
        ch.wake()
    conn.sched.settle()


def channel_close(conn, p):
    r = Reader(p, 1)
    ch = _channel(conn, r)
    r.done()
    ch.closed_in = True
    if ch.wake:
        ch.wake()
    if ch.closed_out:
        conn.channels.pop(ch.id, None)
    elif not ch.started:
        ch.finish(0)  # nothing runs there: at once
    else:
        conn.sched.settle()  # now, or once the code that runs ends


def _pty_req(conn, ch, r):
    if conn.no_pty:  # the key's no-pty or restrict option
        return False
    term = r.string()
    cols = r.u32()
    rows = r.u32()
    r.u32()
    r.u32()
    r.string()  # encoded terminal modes, RFC 4254 §8
    ch.pty = (term, cols, rows)
    return True


def _window_change(conn, ch, r):
    cols = r.u32()
    rows = r.u32()
    if ch.pty:
        ch.pty = (ch.pty[0], cols, rows)
    return True


def _signal(conn, ch, r):
    if r.string() == b"INT":
        ch.interrupt = True
    return True


# Channel request name -> handler(conn, channel, reader) -> accepted.
# Requests that start a program are run by the connection once the reply
# has gone out; the rest are answered here.
_REQUESTS = {
    b"pty-req": _pty_req,
    b"window-change": _window_change,
    b"signal": _signal,
}
_STARTS = (b"exec", b"shell", b"subsystem")


def channel_request(conn, p):
    r = Reader(p, 1)
    ch = _channel(conn, r)
    name = r.string()
    want_reply = r.boolean()
    if name in _STARTS:
        arg = None if name == b"shell" else r.string()
        r.done()
        ok = not ch.started and conn.can_start(name, arg)
        _reply(conn, ch, want_reply, ok)  # the reply goes before any output
        if ok:
            ch.started = name
            conn.sched.start(ch, name, arg)
        return
    handler = _REQUESTS.get(name)
    ok = handler(conn, ch, r) if handler else False  # env, x11, agent...: refused
    _reply(conn, ch, want_reply, ok)


def _reply(conn, ch, want_reply, ok):
    if want_reply and not ch.closed_out:
        conn.send(struct.pack(">BI", _MSG_CHANNEL_SUCCESS if ok else _MSG_CHANNEL_FAILURE, ch.remote_id))


# message number -> handler, taken into connection's table at the first channel message
HANDLERS = {
    _MSG_GLOBAL_REQUEST: global_request,
    _MSG_CHANNEL_OPEN: channel_open,
    _MSG_CHANNEL_WINDOW_ADJUST: window_adjust,
    _MSG_CHANNEL_DATA: channel_data,
    _MSG_CHANNEL_EXTENDED_DATA: channel_data,
    _MSG_CHANNEL_EOF: channel_eof,
    _MSG_CHANNEL_CLOSE: channel_close,
    _MSG_CHANNEL_REQUEST: channel_request,
}
