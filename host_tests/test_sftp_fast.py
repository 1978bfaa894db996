"""ussh.sftp (framing) and ussh.sftp_ops, sftp_dirs (one handler per request) in-process: SFTP packets over a
channel of the in-memory pair, each request type with its reply, in pieces of any size. Fast tier
(the interop tests with OpenSSH's and paramiko's clients are test_sftp.py)."""
import struct

from sshpair import Folder, Pair, config, s, text

OK, EOF, NO_SUCH_FILE, PERMISSION_DENIED, FAILURE, BAD_MESSAGE, OP_UNSUPPORTED = 0, 1, 2, 3, 4, 5, 8


class Sftp:
    def __init__(self, root):
        self.root = root
        self.p = Pair(config(root=self.root))
        self.ch = self.p.open()
        self.p.request(self.ch, b"subsystem", b"sftp")
        self.p.events()
        self.rid = 0
        v = self.call(1, b"", rid=False)  # INIT, version 3
        assert v[0] == 2 and v[1:5] == b"\x00\x00\x00\x03", v

    def send(self, body, pieces=1):
        # one SFTP packet, in `pieces` channel messages
        data = struct.pack(">I", len(body)) + body
        step = max(1, len(data) // pieces)
        chunks = [data[i : i + step] for i in range(0, len(data), step)]
        self.p.feed(*[self.p.data(self.ch, c) for c in chunks])

    def replies(self):
        out = text(self.p.events(), self.ch)
        got = []
        while out:
            n = struct.unpack(">I", out[:4])[0]
            got.append(out[4 : 4 + n])
            out = out[4 + n :]
        return got

    def call(self, t, body, rid=True, pieces=1):
        self.rid += 1
        self.send(bytes([t]) + (struct.pack(">I", self.rid) if rid else b"") + body, pieces)
        r = self.replies()
        assert len(r) == 1, r
        if rid:
            assert r[0][1:5] == struct.pack(">I", self.rid)
            return r[0][0], r[0][5:]
        return r[0]

    def status(self, t, body, **kw):
        kind, rest = self.call(t, body, **kw)
        assert kind == 101, (kind, rest)
        return struct.unpack(">I", rest[:4])[0]

    def handle(self, t, body):
        kind, rest = self.call(t, body)
        assert kind == 102, (kind, rest)
        return rest[4:]


def test_upload_download_in_pieces_and_attributes():
    with Folder() as root:
        c = Sftp(root)
        h = c.handle(3, s(b"/f.txt") + struct.pack(">I", 2 | 8 | 16) + b"\x00\x00\x00\x00")  # WRITE|CREAT|TRUNC
        data = bytes(range(256)) * 40
        assert c.status(6, s(h) + struct.pack(">Q", 0) + s(data), pieces=7) == OK  # WRITE over 7 messages
        assert c.status(4, s(h)) == OK  # CLOSE: the upload replaces the target now
        assert open(c.root + "/f.txt", "rb").read() == data
        h = c.handle(3, s(b"f.txt") + struct.pack(">I", 1) + b"\x00\x00\x00\x00")
        kind, rest = c.call(5, s(h) + struct.pack(">QI", 100, 50))  # READ 50 at 100
        assert kind == 103 and rest == s(data[100:150])
        kind, rest = c.call(5, s(h) + struct.pack(">QI", len(data), 50))
        assert kind == 101 and struct.unpack(">I", rest[:4])[0] == EOF
        kind, rest = c.call(8, s(h))  # FSTAT
        assert kind == 105 and struct.unpack(">Q", rest[4:12])[0] == len(data)
        assert c.status(4, s(h)) == OK


# (request type, body) -> status: the table of what each operation answers
def _table():
    return (
        (14, s(b"d") + b"\x00\x00\x00\x00", OK),  # MKDIR
        (14, s(b"d") + b"\x00\x00\x00\x00", FAILURE),  # exists
        (18, s(b"d") + s(b"e"), OK),  # RENAME
        (18, s(b"nope") + s(b"x"), NO_SUCH_FILE),
        (15, s(b"e"), OK),  # RMDIR
        (13, s(b"missing"), NO_SUCH_FILE),  # REMOVE
        (17, s(b"missing"), NO_SUCH_FILE),  # STAT
        (4, s(b"no-handle"), FAILURE),  # CLOSE
        (17, s(b".") + b"\x00", BAD_MESSAGE),  # trailing bytes
        (5, s(b"h") + b"\x00", FAILURE),  # a READ of no handle
        (17, s(b"../outside"), PERMISSION_DENIED),
        (13, s(b"/../../etc/passwd"), PERMISSION_DENIED),
        (19, s(b"x"), OP_UNSUPPORTED),  # READLINK
        (200, s(b"nope@example.com"), OP_UNSUPPORTED),
        (9, s(b"missing") + b"\x00\x00\x00\x00", OK),  # SETSTAT without attributes: nothing to apply
    )


def test_status_table():
    with Folder() as root:
        c = Sftp(root)
        for t, body, want in _table():
            assert c.status(t, body) == want, (t, body)


def test_listing_realpath_and_paths_stay_in_the_root():
    with Folder() as root:
        c = Sftp(root)
        for n in range(20):
            open(c.root + "/n%02d" % n, "wb").close()
        kind, rest = c.call(16, s(b"a/../b"))
        assert kind == 104 and rest == b"\x00\x00\x00\x01" + s(b"/b") * 2 + b"\x00\x00\x00\x00"
        h = c.handle(11, s(b"/"))
        names = []
        while True:
            kind, rest = c.call(12, s(h))
            if kind == 101:
                assert struct.unpack(">I", rest[:4])[0] == EOF
                break
            assert kind == 104
            names.append(struct.unpack(">I", rest[:4])[0])
        assert sum(names) == 20 and len(names) == 2  # at most 16 a reply


def test_oversized_packet_ends_the_session_not_the_connection():
    with Folder() as root:
        c = Sftp(root)
        c.p.feed(c.p.data(c.ch, struct.pack(">I", 1 << 20) + b"\x03"))
        assert c.p.log.has("sftp: malformed or oversized packet") and not c.p.conn.closed
        ev = c.p.events()
        assert ev[-1] == ("close", c.ch)
