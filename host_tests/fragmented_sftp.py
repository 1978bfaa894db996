"""SFTP uploads and downloads of 64 KiB with a board's budget (1 KB packets, a 4 KB window) on a
heap cut into pieces of HOLE bytes once the channel is open: whatever the session asks for after
that must fit in such a piece (the emulated Cortex-M3's matrix: a channel buffer made or grown
mid-session found no free run of 4 KB with 74 KB free). The client pipelines as paramiko does: the
WRITEs of a second file come while a long READ waits for the client's window, and collect in the
channel. Run on the MicroPython unix port by test_budget.py, with the globals HOST_TESTS (this
folder) and HOLE set before; prints "ok <bytes up> <bytes down> <pieces> <most packets queued>" or the
error."""
import gc
import struct
import sys

sys.path.append(HOST_TESTS)  # noqa: F821 (set by the caller)
from heapcut import cut  # noqa: E402
from sshpair import Folder, Pair, config, s  # noqa: E402
from ussh.compat import sha256  # noqa: E402

SIZE = 65536
READ = 32768  # more than the session's max_read: streamed through the channel's flow control
WRITE = 1536
PIECE = 1000  # the client's channel messages
WINDOW = 12288  # what the client grants the server, again each time it is used up


class Client:
    # the client's side kept within pieces of a packet too: each server packet is read alone,
    # the channel's bytes collect in a buffer made before the heap is cut
    def __init__(self, p, cid):
        self.p, self.cid = p, cid
        ch = p.conn.channels[p.ids[cid]]
        self.win = ch.window  # what the server still grants us
        self.used = 0  # of the window we granted
        self.got = bytearray(SIZE + 4096)
        self.got[:] = b""
        self.most = 0  # packets the server queued at most before its driver sent them
        self.queue = []  # channel messages to send while the server waits for our window
        p.rx.rbuf = bytearray(8192)
        p.rx.rbuf[:] = b""
        p._collect = self.collect
        p.script = [self.step] * 1000

    def collect(self):
        p = self.p
        q = p.conn.outq
        self.most = max(self.most, len(q))
        while q:
            p.rx.feed(q.pop(0))
            while True:
                pk = p.rx.read_packet()
                if pk is None:
                    break
                if pk[0] == 94:
                    n = struct.unpack_from(">I", pk, 5)[0]
                    self.got += memoryview(pk)[9 : 9 + n]
                    self.used += n
                elif pk[0] == 93:
                    self.win += struct.unpack_from(">I", pk, 5)[0]
                elif pk[0] != 99:
                    raise Exception("server sent %r" % bytes(pk[:40]))

    def step(self):
        # the server waits for us: what was queued (pipelined requests), one message a step,
        # then more window
        if self.queue and len(self.queue[0]) <= self.win:
            return self.message(self.queue.pop(0))
        if self.used < WINDOW:
            raise Exception("the server waits with window left")
        self.used = 0
        return self.p.pack(b"\x5d" + struct.pack(">II", self.p.ids[self.cid], WINDOW))

    def message(self, piece):
        if len(piece) > self.win:
            raise Exception("no window: %d" % self.win)
        self.win -= len(piece)
        return self.p.pack(self.p.data(self.cid, piece))

    def request(self, body, later=False, ahead=False):
        # one SFTP request in channel messages of up to PIECE bytes: queued for a wait, or now:
        # ahead of the whole requests queued, else after them
        data = struct.pack(">I", len(body)) + body
        while self.queue and not later and not ahead:
            self.p.send_raw(self.message(self.queue.pop(0)))
        for i in range(0, len(data), PIECE):
            if later:
                self.queue.append(data[i : i + PIECE])
            else:
                self.p.send_raw(self.message(data[i : i + PIECE]))

    def replies(self):
        # the replies that came whole, as (type, request id, the status code or the data's digest)
        g = self.got
        out = []
        pos = 0
        while len(g) - pos >= 4:
            n = struct.unpack_from(">I", g, pos)[0]
            if len(g) - pos < 4 + n:
                break
            kind, rid = g[pos + 4], struct.unpack_from(">I", g, pos + 5)[0]
            rest = memoryview(g)[pos + 9 : pos + 4 + n]
            out.append((kind, rid, sha256(rest[4:]).digest() if kind == 103 else bytes(rest)))
            pos += 4 + n
            rest = None  # (CPython: no view of g while it is cut)
        g[:pos] = b""
        return out


def write(c, rid, h, data, off, later=False):
    c.request(b"\x06" + struct.pack(">I", rid) + h + struct.pack(">Q", off) + s(data[off : off + WRITE]), later)


def main():
    with Folder() as root:
        p = Pair(config(root=root, channel_max_packet=1024, window=4096, log=LOG.append))
        cid = p.open(window=WINDOW, max_packet=32768)
        c = Client(p, cid)
        p.request(cid, b"subsystem", b"sftp")
        data = bytes(range(251)) * (SIZE // 251 + 1)
        data = data[:SIZE]
        digests = [sha256(data[off : off + READ]).digest() for off in range(0, SIZE, READ)]
        gc.collect()
        held, i = cut(HOLE, 4000, 4000)  # noqa: F821 (HOLE: set by the caller)
        c.request(b"\x01\x00\x00\x00\x03")  # INIT
        c.replies()
        handles = []
        for name, rid in ((b"f", 1), (b"g", 2)):  # OPEN for writing
            c.request(b"\x03" + struct.pack(">I", rid) + s(name) + struct.pack(">I", 0x1A) + b"\x00\x00\x00\x00")
            r = c.replies()
            if r[0][0] != 102:
                raise Exception("OPEN: %r" % r)
            handles.append(r[0][2])  # a string already
        for off in range(0, SIZE, WRITE):
            write(c, 3, handles[0], data, off)
            r = c.replies()
            if r != [(101, 3, b"\x00\x00\x00\x00" + r[0][2][4:])]:
                raise Exception("WRITE: %r" % r)
        c.request(b"\x04\x00\x00\x00\x04" + handles[0])  # CLOSE
        c.replies()
        c.request(b"\x03\x00\x00\x00\x05" + s(b"f") + struct.pack(">I", 1) + b"\x00\x00\x00\x00")  # OPEN read
        h = c.replies()[0][2]
        down = up = 0
        offs = list(range(0, SIZE, WRITE))
        for off in range(0, SIZE, READ):
            # the READ's reply waits for our window; meanwhile the WRITEs of g come, as many as
            # the server's window takes
            while c.queue:  # what the last READ's wait left
                p.send_raw(c.message(c.queue.pop(0)))
            for k in range(4):
                if offs:
                    write(c, 6, handles[1], data, offs.pop(0), True)
            c.request(b"\x05\x00\x00\x00\x07" + h + struct.pack(">QI", off, READ), ahead=True)
            for kind, rid, rest in c.replies():
                if kind == 103:
                    if rest != digests[off // READ]:
                        raise Exception("READ at %d: other data" % off)
                    down += READ
                elif (kind, rid, rest[:4]) == (101, 6, b"\x00\x00\x00\x00"):
                    up += WRITE
                else:
                    raise Exception("reply %d to %d: %r" % (kind, rid, rest))
        c.request(b"\x04\x00\x00\x00\x08" + handles[1])  # CLOSE, after what the READs' waits left
        for kind, rid, rest in c.replies():
            if rid == 8:
                continue
            if (kind, rid, rest[:4]) != (101, 6, b"\x00\x00\x00\x00"):
                raise Exception("reply %d to %d: %r" % (kind, rid, rest))
            up += WRITE
        print("ok", SIZE + up, down, i // 2, c.most)


LOG = []
try:
    main()
except Exception as e:  # noqa: BLE001
    print(type(e).__name__, e, LOG[-3:])
