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
