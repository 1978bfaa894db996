"""ussh.scp (legacy scp, the rcp protocol over exec `scp -t` / `scp -f`) in-process: the client's
side scripted step by step on the in-memory pair. Fast tier (OpenSSH's scp: test_scp.py)."""
from sshpair import Folder, Pair, config, of, s, text


def _exec(root, cmd, steps):
    p = Pair(config(root=root))
    a = p.open()
    p.script = [p.wire(p.eof(a)) if isinstance(x, str) else p.wire(p.data(a, x)) for x in steps]
    p.request(a, b"exec", cmd)
    ev = p.events()
    return text(ev, a), of(ev, a), p


def test_upload_file_and_folder():
    with Folder() as root:
        body = bytes(range(256)) * 70  # more than one chunk
        steps = [b"C0644 %d one.bin\n" % len(body), body + b"\x00", "eof"]
        out, ev, _ = _exec(root, b"scp -t /", steps)
        assert out == b"\x00\x00\x00" and ev[-2:] == [("exit", 100, 0), ("close", 100)]
        assert open(root + "/one.bin", "rb").read() == body
        steps = [b"D0755 0 dir\n", b"C0644 2 a\n", b"hi\x00", b"E\n", "eof"]
        out, ev, _ = _exec(root, b"scp -r -t .", steps)
        assert out == b"\x00" * 5 and ("exit", 100, 0) in ev
        assert open(root + "/dir/a", "rb").read() == b"hi"


def test_download():
    with Folder() as root:
        with open(root + "/f", "wb") as f:
            f.write(b"content")
        out, ev, _ = _exec(root, b"scp -f f", [b"\x00", b"\x00", b"\x00", "eof"])
        assert out == b"C0644 7 f\ncontent\x00"
        assert ("exit", 100, 0) in ev


# command or protocol error -> what the client reads (1: warning, 2: fatal) and the exit status
ERRORS = (
    (b"scp -t", [], b"\x02scp: usage", 1),
    (b"scp -f missing", [b"\x00", "eof"], b"\x01scp: missing", 1),
    (b"scp -t /", [b"X what\n", "eof"], b"\x00\x02", 1),
    (b"scp -t ../up", [b"C0644 1 x\n", b"y\x00", "eof"], b"\x02", 1),
)


def test_errors_table():
    with Folder() as root:
        for cmd, steps, starts, status in ERRORS:
            out, ev, _ = _exec(root, cmd, steps)
            assert out.startswith(starts), (cmd, out)
            assert ("exit", 100, status) in ev, (cmd, ev)


class _NoRead:
    # a file whose read(n) needs a new buffer (a board heap cut up by earlier sessions: no free
    # run that long) while readinto() fills one it is given
    def __init__(self, f):
        self.f = f

    def read(self, n=-1):
        raise MemoryError("no run of %d bytes" % n)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.f.close()

    def __getattr__(self, name):
        return getattr(self.f, name)


def test_download_reads_into_one_buffer():
    from ussh import scp

    with Folder() as root:
        body = bytes(range(256)) * 300  # chunks of the client's max packet
        with open(root + "/f", "wb") as f:
            f.write(body)
        scp.open = lambda *a: _NoRead(open(*a))  # (no pytest fixture: the check tier runs this on MicroPython)
        try:
            out, ev, _ = _exec(root, b"scp -f f", [b"\x00", b"\x00", b"\x00", "eof"])
        finally:
            del scp.open
        assert out == b"C0644 %d f\n" % len(body) + body + b"\x00"
        assert ("exit", 100, 0) in ev
