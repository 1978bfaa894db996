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
_FLUSH_MS = const(50)  # output of a running command reaches the client at least this often
_PREALLOC = const(16384)  # a window up to this is allocated whole at the first data


class ChannelClosed(Exception):
    pass


class Channel:
    def __init__(self, conn, local_id, remote_id, window, max_packet):
        self.conn = conn
        self.id = local_id
        self.remote_id = remote_id
        self.remote_window = window
        self.remote_max = max_packet
        self.window = conn.cfg.window  # what the client may still send us
        self.unacked = 0
        # what the client sent and no program took yet (at most the window we grant): emptied
        # in place, it keeps its room. A board's window (ussh.budget: a few KB) is made whole
        # when the first data comes (channel_data): grown packet by packet, its heap soon had
        # no run that long left
        self.inbuf = bytearray()
        self.sized = False
        self.taken = bytearray()  # what take_input() hands a program, reused
        self.eof_in = False
        self.closed_in = False  # the client sent CLOSE
        self.closed_out = False  # we sent CLOSE
        self.pty = None
        self.started = False
        self.repl = None
        self.interrupt = False
        self.outbuf = bytearray()
        self.spare = None  # the other output buffer, emptied, kept for the next flush
        self.pkt = bytearray()  # one outgoing message (_send), reused
        self.last_flush = ticks_ms()

    # -- data from the client
    def consumed(self, n):
        # RFC 4254 §5.2: give the window back once half of it is used
        self.unacked += n
        if self.unacked >= self.conn.cfg.window // 2 and not self.closed_out:
            self.conn.send(struct.pack(">BII", _MSG_CHANNEL_WINDOW_ADJUST, self.remote_id, self.unacked))
            self.window += self.unacked
            self.unacked = 0

    def take_input(self):
        # a view of the channel's own buffer, valid until the next call: programs (the REPL,
        # SFTP) copy what they keep; no new buffer of up to a window for each batch of input
        n = len(self.inbuf)
        t = self.taken
        if n > len(t):
            t = self.taken = bytearray(n)
        t[:n] = self.inbuf
        self.inbuf[:] = b""
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
                return line.decode()
            self._check()
            self.flush()
            self.conn.wait()

    def read(self, n=-1):
        while not (self.eof_in or self.closed_in) and (n < 0 or len(self.inbuf) < n):
            self._check()
            self.flush()
            self.conn.wait()
        if n < 0 or n > len(self.inbuf):
            n = len(self.inbuf)
        data = bytes(self.inbuf[:n])
        self.inbuf[:n] = b""
        self.consumed(n)
        return data.decode()

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
        t0 = None
        while pos < len(data):
            self._check()
            n = min(len(data) - pos, self.remote_window, self.remote_max)
            if n <= 0 or self.conn.rekeying():
                # RFC 4254 §5.2: wait for WINDOW_ADJUST; RFC 4253 §7.1: and
                # for a key exchange to end rather than hold data. Bounded:
                # the running command holds every other connection.
                if t0 is None:
                    t0 = ticks_ms()
                elif ticks_diff(ticks_ms(), t0) >= self.conn.cfg.send_timeout * 1000:
                    self.conn.lost("client opened no window for %d s" % self.conn.cfg.send_timeout)
                    raise ChannelClosed()
                self.conn.wait()
                continue
            t0 = None
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
    if kind != b"session":
        reason, text = _OPEN_UNKNOWN_CHANNEL_TYPE, "unknown channel type"
    elif len(conn.channels) >= conn.cfg.max_channels:
        reason, text = _OPEN_RESOURCE_SHORTAGE, "too many channels"
    else:
        r.done()
        local_id = 0
        while local_id in conn.channels:
            local_id += 1
        # our packets are no larger than those we take (the connection's budget, Config): a
        # board's heap holds a few of them, whatever the client would accept
        cap = min(max_packet, conn.cfg.max_packet - 64, conn.cfg.channel_max_packet)
        ch = Channel(conn, local_id, remote_id, window, max(1, cap))
        conn.channels[local_id] = ch
        conn.send(struct.pack(">BIIII", _MSG_CHANNEL_OPEN_CONFIRMATION, remote_id, local_id, ch.window, conn.cfg.channel_max_packet))
        return
    conn.send(struct.pack(">BII", _MSG_CHANNEL_OPEN_FAILURE, remote_id, reason) + wire.string(text) + wire.string(b""))


def window_adjust(conn, p):
    r = Reader(p, 1)
    ch = _channel(conn, r)
    n = r.u32()
    r.done()
    ch.remote_window = min(ch.remote_window + n, 0xFFFFFFFF)


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
    if not ch.sized:
        ch.sized = True
        if not ch.inbuf and conn.cfg.window <= _PREALLOC:
            ch.inbuf = bytearray(conn.cfg.window)
            ch.inbuf[:] = b""
    ch.inbuf += memoryview(p)[start : start + n]  # no intermediate copy
    conn.sched.settle()


def channel_eof(conn, p):
    r = Reader(p, 1)
    ch = _channel(conn, r)
    r.done()
    ch.eof_in = True
    conn.sched.settle()


def channel_close(conn, p):
    r = Reader(p, 1)
    ch = _channel(conn, r)
    r.done()
    ch.closed_in = True
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


def ignore(conn, p):
    pass
