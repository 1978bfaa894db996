"""The per-connection memory budget (ussh.connection.Config): what one connection holds is bounded
by its settings whatever the client announces or pipelines; a MemoryError inside a reply leaves no
half reply on the wire. In-process (host_tests/sshpair.py) on CPython."""
import os
import struct

import pytest

from sshpair import Folder, Pair, config, decode, s
from test_sftp_fast import Sftp, FAILURE


def _data_sizes(p, cid):
    return [len(decode(x)[-1]) for x in p.packets() if x[0] == 94 and decode(x)[1] == cid]


def test_outgoing_packets_are_no_larger_than_the_budget_takes():
    # the client would take 32 KB packets; a board announcing 1 KB sends no larger ones either
    p = Pair(config(channel_max_packet=1024, window=4096))
    cid = p.open(max_packet=32768)
    ch = p.conn.channels[p.ids[cid]]
    assert ch.remote_max == 1024
    p.request(cid, b"exec", b"print('x' * 5000)")
    sizes = _data_sizes(p, cid)
    assert sum(sizes) == 5001 and max(sizes) <= 1024, sizes


class _Tight(bytearray):
    # a channel buffer whose n-th growth fails, as a fragmented heap's would
    fail_at = None

    def __iadd__(self, other):
        if self.fail_at is not None:
            self.fail_at -= 1
            if self.fail_at < 0:
                self.fail_at = None
                raise MemoryError()
        return bytearray.__iadd__(self, other)


def test_channel_output_goes_out_of_reused_buffers():
    p = Pair(config(channel_max_packet=1024, window=4096))
    cid = p.open()
    ch = p.conn.channels[p.ids[cid]]
    ch.out(b"a" * 3000)
    ch.flush()
    pkt, spare = ch.pkt, ch.spare
    ch.out(b"b" * 3000)
    ch.flush()
    ch.out(b"c" * 500)
    ch.flush()
    assert ch.pkt is pkt and ch.spare is spare and len(spare) == 0
    got = b"".join(bytes(decode(x)[-1]) for x in p.packets() if x[0] == 94)
    assert got == b"a" * 3000 + b"b" * 3000 + b"c" * 500


def test_a_memory_error_in_a_read_reply_sends_no_half_reply():
    with Folder() as root:
        with open(root + "/f", "wb") as f:
            f.write(bytes(range(256)) * 8)
        c = Sftp(root)
        h = c.handle(3, s(b"f") + struct.pack(">I", 1) + b"\x00\x00\x00\x00")
        ch = c.p.conn.channels[c.p.ids[c.ch]]
        ch.outbuf = _Tight(ch.outbuf)
        ch.outbuf.fail_at = 2  # the header and the length go in; the data does not
        kind, rest = c.call(5, s(h) + struct.pack(">QI", 0, 1000))
        assert kind == 101 and struct.unpack(">I", rest[:4])[0] == FAILURE, (kind, rest)
        # the session goes on: the same READ again gets its data
        kind, rest = c.call(5, s(h) + struct.pack(">QI", 0, 1000))
        assert kind == 103 and rest == s((bytes(range(256)) * 4)[:1000])


def test_channel_input_buffers_are_made_once_and_reused():
    # a board's heap fragments when a buffer of up to a window is made for each batch of input
    p = Pair(config(channel_max_packet=1024, window=4096))
    cid = p.open()
    ch = p.conn.channels[p.ids[cid]]  # no program yet: input waits in the channel
    inbuf, taken = ch.inbuf, ch.taken  # made whole (the window) when the channel opened
    assert len(taken) == 4096
    for i in range(12):
        p.feed(p.data(cid, bytes([65 + i]) * 1000))
        assert ch.inbuf is inbuf
        if i % 2:
            got = ch.take_input()
            assert bytes(got) == bytes([64 + i]) * 1000 + bytes([65 + i]) * 1000
            assert ch.taken is taken
    assert ch.inbuf is inbuf
    assert len(inbuf) == 0 and ch.window >= 2048  # given back: the client may go on


def _board_sftp_with_a_file(root):
    # Sftp's client over a pair with a board's budget (1 KB packets, a 4 KB window), and a handle
    # open for reading on a 51,200-byte file f: (client, handle, the file's bytes)
    data = bytes(range(256)) * 200
    with open(root + "/f", "wb") as f:
        f.write(data)
    c = Sftp.__new__(Sftp)
    c.root = root
    c.p = Pair(config(root=root, channel_max_packet=1024, window=4096))
    c.ch = c.p.open(window=1 << 20)
    c.p.request(c.ch, b"subsystem", b"sftp")
    c.p.events()
    c.rid = 0
    assert c.call(1, b"", rid=False)[0] == 2
    return c, c.handle(3, s(b"f") + struct.pack(">I", 1) + b"\x00\x00\x00\x00"), data


def test_a_long_read_is_streamed_whole_within_the_budget():
    # libssh2 (parallel-ssh) takes a short read in mid-file as a gap: a board whose budget holds
    # 2 KB answers a 32 KB READ whole, streamed through the channel's flow control
    with Folder() as root:
        c, h, data = _board_sftp_with_a_file(root)
        kind, rest = c.call(5, s(h) + struct.pack(">QI", 1000, 32768))
        assert kind == 103 and rest == s(data[1000:33768])
        kind, rest = c.call(5, s(h) + struct.pack(">QI", 40000, 32768))  # up to the end: what is there
        assert kind == 103 and rest == s(data[40000:])
        kind, rest = c.call(5, s(h) + struct.pack(">QI", len(data), 32768))
        assert kind == 101


def test_packets_over_the_announced_size_reuse_buffers_made_at_the_first_data():
    # paramiko sends channel data in packets of up to 4 KB whatever max packet a board announces
    # (it clamps it to 4096): the transport's buffers and the channel's copy are made for the
    # window at the first data, not grown later on a board heap with no free run that long left
    p = Pair(config(channel_max_packet=1024, window=4096))
    cid = p.open()
    ch = p.conn.channels[p.ids[cid]]
    t = p.conn.transport
    p.feed(p.data(cid, b"a" * 100))
    pbuf, taken = t.pbuf, ch.taken
    assert len(pbuf) >= 4096 + 9 and len(taken) >= 4096
    assert bytes(ch.take_input()) == b"a" * 100
    for i in range(6):
        p.feed(p.data(cid, bytes([66 + i]) * 3000))  # within the window, over max packet
        assert bytes(ch.take_input()) == bytes([66 + i]) * 3000
        assert t.pbuf is pbuf and ch.taken is taken


def test_defaults_fit_a_share_of_a_board_heap():
    from ussh import budget

    assert budget.defaults(600 * 1024) == {}  # not a board's heap
    for free, want in ((100 * 1024, 1024), (70 * 1024, 512)):
        d = budget.defaults(free)
        assert d["channel_max_packet"] == want and d["window"] == 4 * want
        assert budget.per_connection(config(**d)) <= free // 3


def test_memory_error_names_the_budget_and_free_heap_ends_the_connection_with_a_reason(monkeypatch):
    # the blocking driver (a board's UART): a MemoryError while a packet is handled ends that
    # connection with a DISCONNECT "out of memory", the log line gives the configured budget and the
    # free heap, and the next client on the same stream is served
    from ussh import budget, connection, stream

    logs = []
    cfg = config(channel_max_packet=1024, window=4096, log=logs.append)
    monkeypatch.setattr(budget, "free_heap", lambda: 12345)  # CPython has no such figure; a board's
    real_feed = connection.Connection.feed
    calls = []

    def feed(self, data):
        if self.peer_version is not None and data and not calls:  # the client's first packet
            calls.append(len(data))
            raise MemoryError("allocating 1560 bytes")
        return real_feed(self, data)

    monkeypatch.setattr(connection.Connection, "feed", feed)

    def served(client):
        data = bytearray(client)
        out = []

        def read(n):
            b = bytes(data[:n])
            data[:n] = b""
            return b

        conn = stream.serve_stream(read, out.append, cfg)
        return conn, b"".join(bytes(x) for x in out)

    kexinit = struct.pack(">IB", 12, 10) + b"\x14" + bytes(10)  # a packet's start: length, padding
    conn, out = served(b"SSH-2.0-first\r\n" + kexinit)
    assert conn.closed and conn.peer_version == b"SSH-2.0-first"
    line = [m for m in logs if "out of memory" in m and "over the" in m]
    assert line and line[0].endswith(
        "out of memory: over the budget %d B a connection (packets of 1024 B, window 4096 B); 12345 B of heap free"
        % budget.per_connection(cfg)), logs
    assert b"out of memory" in out, out  # the DISCONNECT's reason, in the clear before keys
    i = out.index(b"out of memory")
    # SSH_MSG_DISCONNECT (1), SSH_DISCONNECT_BY_APPLICATION (11), the reason's length
    assert out[i - 9] == 1 and struct.unpack(">II", out[i - 8 : i])[0] == 11, out
    # the next client on the stream gets the server's version line and its own key exchange
    monkeypatch.setattr(connection.Connection, "feed", real_feed)
    conn2, out2 = served(b"SSH-2.0-second\r\n")
    assert conn2.peer_version == b"SSH-2.0-second" and out2.startswith(b"SSH-2.0-"), out2



def test_memory_error_lets_the_sessions_state_go_before_telling_the_client(monkeypatch):
    # on the 110 KB board a pty shell ran out with its editor loaded: the log line's module and the
    # DISCONNECT found no room beside the session's state, and the client waited for its timeout.
    # The channels (what the session holds) and the modules it loaded (cfg.unload) are let go first.
    from ussh import budget, connection, stream

    cfg = config(channel_max_packet=1024, window=4096, log=lambda m: None)
    real_feed = connection.Connection.feed
    held, seen = [], []

    def feed(self, data):
        if self.peer_version is not None and data and not held:
            held.append(self)
            self.channels[0] = bytearray(100)  # stands for a channel and its program
            self.sched.deferred.append((self.channels[0], b"shell", b""))
            raise MemoryError("allocating 607 bytes")
        return real_feed(self, data)

    monkeypatch.setattr(connection.Connection, "feed", feed)
    # and the modules a board lets go after each connection (the shell's editor, half loaded)
    import sys
    import types

    import ussh

    cfg.unload = ("ussh.fake_session",)
    monkeypatch.setitem(sys.modules, "ussh.fake_session", types.ModuleType("ussh.fake_session"))
    ussh.fake_session = sys.modules["ussh.fake_session"]  # as an import leaves it (unload takes it)
    monkeypatch.setattr(budget, "free_heap", lambda: seen.append(
        (len(held[0].channels), len(held[0].sched.deferred), "ussh.fake_session" in sys.modules,
         hasattr(ussh, "fake_session"))) or 1)
    conn, out = _serve_a_kexinit(stream, cfg)
    assert conn.closed and seen == [(0, 0, False, False)], seen
    assert b"out of memory" in b"".join(bytes(x) for x in out)


def _serve_a_kexinit(stream, cfg):
    # ussh.stream.serve_stream fed a client's version line and a KEXINIT-typed packet in the clear:
    # (the Connection, what it wrote)
    data = bytearray(b"SSH-2.0-first\r\n" + struct.pack(">IB", 12, 10) + b"\x14" + bytes(10))
    out = []

    def read(n):
        b = bytes(data[:n])
        data[:n] = b""
        return b

    return stream.serve_stream(read, out.append, cfg), out


@pytest.mark.parametrize("torn", [False, True])
def test_memory_error_in_a_half_made_packet_makes_the_disconnects_mac_fail(monkeypatch, torn):
    # a MemoryError inside Transport.pack after the keystream moved on (conn.torn) leaves the
    # client's keystream behind ours: a DISCONNECT with a valid MAC decrypts to garbage there
    # (OpenSSH: "dispatch_protocol_error: type 171", then it waited for its timeout on the 110 KB
    # board). Its MAC is made to fail instead, which ends the client at once.
    from ussh import connection, stream

    cfg = config(log=lambda m: None)
    real_feed = connection.Connection.feed
    calls = []

    def feed(self, data):
        if self.peer_version is not None and data and not calls:
            calls.append(1)
            t = self.transport
            t.mac_len_out = 4
            t.pack = lambda payload: bytearray(b"ciphertext" + bytes(4))  # its MAC: 4 zero bytes
            self.torn = torn
            raise MemoryError("allocating 96 bytes")
        return real_feed(self, data)

    monkeypatch.setattr(connection.Connection, "feed", feed)
    conn, out = _serve_a_kexinit(stream, cfg)
    assert conn.closed and bytes(out[-1]) == b"ciphertext" + (b"\0\0\0\1" if torn else bytes(4)), out


_FRAGMENTED = """
import gc
import sys
sys.path.append(%r)
from heapcut import cut
from ussh.connection import Config, Connection
cfg = Config(channel_max_packet=1024, window=4096)
# a CHANNEL_DATA packet of the window's size (paramiko: 4 KB whatever we announce), no keys yet
data = bytearray(4104)
data[0:6] = b"\\x00\\x00\\x10\\x04\\x04\\x5e"  # length 4100, padding 4, CHANNEL_DATA
data[9:13] = b"\\x00\\x00\\x0f\\xf6"  # 4086 bytes of data
gc.collect()
conn = Connection(cfg)
# the heap cut into small pieces, half of them free: room enough, but no run of 4 KB
held, n = cut(480, 1000)
t = conn.transport
try:
    t.feed(memoryview(data)[:4])
    t.feed(memoryview(data)[4:])
    p = t.read_packet()  # its payload copied out (the channel's data copy, reused)
    print("fed", len(p), p[0], n < 1000)
except MemoryError:
    print("MemoryError", n < 1000)
"""


def test_the_receive_buffer_is_made_for_a_window_sized_packet_when_the_connection_starts():
    # paramiko's 4 KB packets on a board that announced 1 KB: the receive buffer grown to that at
    # the packet, on a heap that earlier connections cut into small pieces, found no free run long
    # enough (Fabric's sftp on the emulated Cortex-M3: MemoryError in transport.feed), nor did the
    # copy of its payload (paramiko's sftp: in transport._payload); both are made that long with
    # the connection, and the packet fits in them
    import runtimes

    out = runtimes.run("unix", _FRAGMENTED % os.path.dirname(os.path.abspath(__file__)), heapsize="256k")
    assert out.strip() == "fed 4095 94 True", out


class _NoRead:
    # a file whose read(n) needs a new buffer (a board heap cut up by earlier sessions: no free
    # run that long) while readinto() fills one it is given
    def __init__(self, f):
        self.f = f

    def read(self, n=-1):
        raise MemoryError("no run of %d bytes" % n)

    def __getattr__(self, name):
        return getattr(self.f, name)


def test_reads_go_through_one_buffer_made_with_the_session():
    # READ replies, held whole or streamed, come out of one buffer the SFTP session made at its
    # start (a soak's 82nd session: "read failed mid-reply, allocating 2049 bytes")
    with Folder() as root:
        c, h, data = _board_sftp_with_a_file(root)
        import gc
        from ussh import sftp

        (session,) = [o for o in gc.get_objects() if isinstance(o, sftp.Session) and o.root.root == root]
        for handle in session.handles.values():
            handle.f = _NoRead(handle.f)
        kind, rest = c.call(5, s(h) + struct.pack(">QI", 100, 1500))  # held whole
        assert kind == 103 and rest == s(data[100:1600]), (kind, rest[:40])
        kind, rest = c.call(5, s(h) + struct.pack(">QI", 1000, 32768))  # streamed
        assert kind == 103 and rest == s(data[1000:33768])
        kind, rest = c.call(5, s(h) + struct.pack(">QI", len(data), 32768))
        assert kind == 101


def test_an_sftp_session_asks_for_no_window_or_packet_sized_buffer_once_its_channel_is_open():
    # the emulated Cortex-M3's matrix (fabric's sftp, OpenSSH 10's scp download), once in a fresh
    # CI run: MemoryError mid-session with 74 KB free, the heap had no free run of 4 KB for the
    # channel's input copy, nor 2 KB for its output buffer. Here the unix port's heap is cut into
    # pieces of 2,000 bytes right after the channel opens (every other one free), and 64 KiB go up
    # and down with paramiko's pipelining (WRITEs collect in the channel while a streamed READ
    # waits for a window of 12 KB): the channel's buffers were made at its open and are never grown
    import runtimes

    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "fragmented_sftp.py")) as f:
        code = "HOST_TESTS = %r\nHOLE = 2000\n" % here + f.read()
    out = runtimes.run("unix", code, heapsize="1M").split()
    assert out[:3] == ["ok", str(65536 + 8 * 1536), "65536"] and int(out[3]) > 50, out
    # and its packets went to the client as they were made: a streamed READ's 32 KB did not
    # collect in the connection's queue (the output of each piece is polled out)
    assert int(out[4]) <= 4, out


def test_a_memory_error_in_a_reply_longer_than_a_packet_ends_the_session_with_no_status_after():
    # a reply longer than a packet (a 2,000-byte READ on 1 KB packets) goes out in pieces: once
    # some of it is out no STATUS may follow (the client would read it as the reply's data), so
    # a MemoryError midway ends the SFTP session and its channel instead
    with Folder() as root:
        c, h, data = _board_sftp_with_a_file(root)
        ch = c.p.conn.channels[c.p.ids[c.ch]]
        ch.spare = _Tight(ch.spare)
        ch.spare.fail_at = 0  # the first packet goes out of outbuf; then the spare has no room
        c.rid += 1
        c.send(bytes([5]) + struct.pack(">I", c.rid) + s(h) + struct.pack(">QI", 0, 2000))
        ev = c.p.events()
        got = b"".join(e[2] for e in ev if e[0] == "data")
        # the header and what went out before the failure, nothing after: no STATUS
        assert got[:9] == struct.pack(">IBI", 2009, 103, c.rid) and 9 < len(got) < 2013, got[:20]
        assert got[13:] == data[: len(got) - 13]
        assert ("close", c.ch) in ev and not c.p.conn.closed, ev  # the session ends, the connection goes on


@pytest.mark.parametrize("torn", [False, True])
def test_out_of_memory_over_tcp_lets_the_state_go_and_sends_no_packet_after_a_torn_one(torn):
    # Connection.out_of_memory as the asyncio server calls it: what the connection holds goes
    # (queued packets, channels, deferred requests); a DISCONNECT is queued in plain order, but
    # after a packet failed half made none is (the socket's close tells the client there: a
    # packet on a keystream ahead of the client's would reach it as garbage)
    from ussh.connection import Connection

    conn = Connection(config(log=lambda m: None))
    conn.outq[:] = [b"queued"]
    conn.channels[0] = bytearray(100)
    conn.sched.deferred.append((conn.channels[0], b"shell", b""))
    conn.torn = torn
    conn.out_of_memory()
    assert conn.closed and not conn.channels and not conn.sched.deferred
    if torn:
        assert conn.outq == []
    else:
        assert len(conn.outq) == 1 and b"out of memory" in bytes(conn.outq[0])
