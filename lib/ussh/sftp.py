# SFTP version 3 (draft-ietf-secsh-filexfer-02) as the "sftp" subsystem,
# with OpenSSH's posix-rename, statvfs and fsync extensions: the framing.
# Packets are handled as they complete, each by its handler: those a file's
# transfer uses in sftp_ops.HANDLERS, the others in sftp_dirs.HANDLERS (that
# module imported at the first such request: a transfer never loads it). WRITE data
# goes straight to the file and READ replies are at most _MAX_READ bytes, so
# a session holds a few packets.
import struct

from ussh import fs
from ussh.channel import ChannelClosed
from ussh.compat import ENOENT, const
from ussh.sftp_ops import HANDLERS, File, Status, u32
from ussh.wire import Reader, SSHError

_INIT = const(1)
_WRITE = const(6)
_STATUS = const(101)

# status codes, filexfer-02 §7
_OK = const(0)
_NO_SUCH_FILE = const(2)
_PERMISSION_DENIED = const(3)
_FAILURE = const(4)
_BAD_MESSAGE = const(5)
_OP_UNSUPPORTED = const(8)

_MAX_PACKET = const(34816)  # the largest request held whole (WRITE data is not held)
_MAX_READ = const(32768)

# INIT's extension pairs as sent (name, version; each a string): posix-rename@openssh.com 1,
# statvfs@openssh.com 2, fsync@openssh.com 1 (one constant: no table and join loaded for it)
_EXTENSIONS = (b"\0\0\0\x18posix-rename@openssh.com\0\0\0\x011\0\0\0\x13statvfs@openssh.com\0\0\0\x012"
               b"\0\0\0\x11fsync@openssh.com\0\0\0\x011")


class Session:
    """One SFTP session on a channel: fed the channel's data, answers with
    ch.out."""

    def __init__(self, conn, ch):
        self.ch = ch
        self.root = fs.Root(conn.cfg.root)
        fs.cleanup(conn.cfg.root)
        # a READ's reply up to this is held whole (its data, then the channel's buffer); a
        # longer one is streamed in chunks of it (sftp_ops._read): within the budget either way.
        # A packet's worth: a reply longer than a packet goes out in pieces anyway (send), and
        # two packets' worth left the 110 KB board's upload no 1 KB run
        self.max_read = min(_MAX_READ, conn.cfg.channel_max_packet)
        # what READ reads the file into, made once at the session's first READ and kept: a
        # buffer per request, on a board heap that earlier sessions cut up, soon found no free
        # run of 2 KB (a soak). Not made with the session: an upload never reads, and the 110 KB
        # board, once a transfer's modules are in, had no room for it
        self.chunk = None
        self.log = conn.log
        self.buf = bytearray()
        self.wleft = 0  # data of the current WRITE still to come
        self.wh = self.werr = None
        self.wrid = self.wend = 0
        self.rid = 0  # the request being answered
        self.handles = {}
        self.next_handle = 0
        self.closed = False

    def feed(self, data):
        mv = memoryview(data)
        pos = 0
        end = len(data)
        buf = self.buf
        while not self.closed:
            if self.wleft:
                # the data of a WRITE goes straight to the file
                k = min(self.wleft, end - pos)
                if not k:
                    return
                if self.werr is None:
                    try:
                        self.wh.f.write(mv[pos : pos + k])
                    except OSError as e:
                        self.werr = e
                pos += k
                self.wleft -= k
                if not self.wleft:
                    self._run(self.wrid, self.write_end, None)
                continue
            need = self._need()
            if need < 0:
                self.log("sftp: malformed or oversized packet: ending the session")
                return self.eof()
            if len(buf) < need:
                k = min(need - len(buf), end - pos)
                if not k:
                    return
                buf += mv[pos : pos + k]
                pos += k
                continue
            n = 4 + struct.unpack_from(">I", buf)[0]
            t = buf[4]
            if t == _INIT:
                # filexfer-02 §4: answer with version 3 and our extensions
                self.send(2, 3, _EXTENSIONS)
            else:
                r = Reader(buf, 5, need)
                rid = r.u32() if need >= 9 else 0
                if need < n:  # a WRITE's header: its data follows
                    self.wleft = n - need
                    self.wrid = rid
                    self.write_head(r)
                else:
                    self._run(rid, self._request, (t, r))
                r = None
            buf[:] = b""

    def _need(self):
        # how many bytes to collect: a whole packet, but of a WRITE only its
        # header; -1 for a packet that is too large to hold
        b = self.buf
        if len(b) < 5:
            return 5
        n = 4 + struct.unpack_from(">I", b)[0]
        if b[4] == _WRITE and n > 13:
            n = min(n, 25 + struct.unpack_from(">I", b, 9)[0] if len(b) >= 13 else 13)
        return n if 5 <= n <= _MAX_PACKET else -1

    def _run(self, rid, fn, arg):
        # every failure answers a STATUS
        self.rid = rid
        try:
            fn(arg)
        except Status as e:
            self.status(rid, *e.args)
        except fs.Refused as e:
            self.status(rid, _PERMISSION_DENIED, e.args[0])
        except OSError as e:
            n = e.args[0] if e.args else 0
            if n in ENOENT or n == 20:  # ENOTDIR
                n = _NO_SUCH_FILE
            else:
                n = _PERMISSION_DENIED if n in (1, 13, 30) else _FAILURE
            self.status(rid, n, fs.text(e))
        except SSHError:
            self.status(rid, _BAD_MESSAGE, "malformed request")
        except MemoryError:
            self.status(rid, _FAILURE, "out of memory")
        except ValueError as e:  # a name that is not UTF-8, a bad number...
            self.status(rid, _FAILURE, str(e) or "invalid value")

    def _request(self, a):
        t, r = a
        fn = HANDLERS.get(t)
        if fn is None:  # not one of a transfer's: the folders', the extensions, SETSTAT...
            from ussh.sftp_dirs import HANDLERS as more

            fn = more.get(t)
        if fn is None:
            raise Status(_OP_UNSUPPORTED, "unsupported request %d" % t)
        fn(self, r)

    def write_head(self, r):
        self.werr = Status(_BAD_MESSAGE, "malformed request")  # until the header checks out
        try:
            k = r.string()
            off = r.u64()
            n = r.u32()
            r.done()
        except SSHError:
            return
        if n != self.wleft:
            return
        h = self.wh = self.handles.get(k)
        if not isinstance(h, File):
            self.werr = Status(_FAILURE, "invalid handle")
            return
        if off >> 62:  # as READ: no file here is that large
            self.werr = Status(_FAILURE, "offset too large")
            return
        self.werr = None
        self.wend = off + n
        try:
            if off != h.pos:
                if h.old:  # writes out of order: the old file first
                    from ussh.sftp_dirs import merge

                    merge(h, None)
                h.f.seek(off)
        except OSError as e:
            self.werr = e

    def write_end(self, _):
        e = self.werr
        if e is not None:
            if isinstance(e, OSError):
                self.wh.failed = True  # an upload no longer replaces its target
            raise e
        self.wh.pos = self.wend
        self.status(self.rid, _OK)

    def eof(self):
        # the client left: uploads never closed are dropped, their targets kept
        for h in self.handles.values():
            if isinstance(h, File):
                try:
                    self.root.finish(h.f, h.tmp) if h.tmp else h.f.close()
                except OSError:
                    pass
        self.handles = {}
        self.closed = True

    # -- replies
    def send(self, t, rid, payload, head=b""):
        # one reply whole or not at all: a MemoryError between its header and its data would
        # leave a header that announces bytes which never come (the client's stream is torn)
        ch = self.ch
        m = len(head) + len(payload) + 9
        if len(ch.outbuf) + m > ch.remote_max:
            ch.flush()  # the channel's buffer is never grown past a packet (ussh.channel)
        if m > ch.remote_max:  # longer than a packet (a READ's reply): in pieces, as any output
            try:
                ch.out(struct.pack(">IBI", m - 4, t, rid))
                ch.out(head)
                return ch.out(payload)
            except MemoryError:  # some of it is out: no STATUS can follow, the session ends
                self.closed = True
                raise ChannelClosed()
        b = ch.outbuf
        n = len(b)
        try:
            b += struct.pack(">IBI", len(head) + len(payload) + 5, t, rid)
            b += head
            b += payload
        except MemoryError:
            del b[n:]
            raise
        ch.out(b"")  # flushed as any output is

    def status(self, rid, code, msg="ok"):
        self.send(_STATUS, rid, struct.pack(">I", code) + u32(msg.encode()) + b"\0\0\0\0")


start = Session  # the subsystem's start(conn, channel) (ussh.scheduler)
