# Legacy scp (`scp -O`): the client runs `scp -t TARGET` (upload: we are
# the sink) or `scp -f PATH...` (download: we are the source) and the two
# sides speak rcp's line protocol over the channel: "C0644 SIZE NAME\n" then
# the bytes, "D0755 0 NAME\n" ... "E\n" for folders, "T..." for times; each
# step is acknowledged with a 0 byte, or 1/2 and a message (warning/fatal).
# Files stream in both directions; uploads replace their target only once
# complete (ussh.fs).
import os

from ussh import fs, wire
from ussh.compat import listdir_types

_CHUNK = 16384


class _Fatal(Exception):
    pass


class _Scp:
    def __init__(self, conn, ch, flags):
        self.ch = ch
        self.conn = conn
        self.root = fs.Root(conn.cfg.root)
        self.recursive = "r" in flags
        self.times = "p" in flags
        self.failed = False

    # -- the channel, as bytes
    def _fill(self, n):
        ch = self.ch
        while len(ch.inbuf) < n and not (ch.eof_in or ch.closed_in):
            ch.flush()
            self.conn.wait()
        return min(n, len(ch.inbuf))

    def _take(self, n):
        ch = self.ch
        b = bytes(ch.inbuf[:n])
        ch.inbuf[:n] = b""
        ch.consumed(n)
        return b

    def line(self):
        ch = self.ch
        while True:
            i = ch.inbuf.find(b"\n")
            if i >= 0:
                return self._take(i + 1)
            if len(ch.inbuf) > 4096:
                raise _Fatal("protocol line too long")
            if ch.eof_in or ch.closed_in:
                return self._take(len(ch.inbuf))
            ch.flush()
            self.conn.wait()

    def text(self):
        # a protocol line as text; names are UTF-8
        try:
            return self.line().decode()
        except UnicodeError:
            raise _Fatal("protocol line is not UTF-8")

    def ok(self):
        self.ch.out(b"\0")

    def error(self, msg, fatal=False):
        self.failed = True
        self.ch.out(b"\2" if fatal else b"\1")
        self.ch.out(("scp: %s\n" % msg).encode())

    def response(self):
        # the client's answer to what we sent: 0, or 1/2 and a message
        if not self._fill(1):
            raise _Fatal("")
        b = self._take(1)[0]
        if b == 0:
            return True
        msg = self.line()
        self.failed = True
        if b != 1:
            raise _Fatal("")
        self.conn.log("scp: client: %s" % wire.printable(msg.strip()))
        return False

    # -- upload: scp -t
    def sink(self, target, first=True):
        host = self.root.host(target)
        try:
            isdir = fs.is_dir(os.stat(host)[0])
        except OSError:
            isdir = False
        times = None
        if first:
            self.ok()
        while True:
            if not self._fill(1):
                return
            rec = self.text()
            c = rec[:1]
            if c in "\1\2":
                self.failed = True
                if c == "\2":
                    return
                continue
            if c == "E":
                self.ok()
                return
            if c == "T":
                try:
                    t = rec[1:].split()
                    times = (int(t[2]), int(t[0]))
                except (ValueError, IndexError):
                    raise _Fatal("bad time record")
                self.ok()
                continue
            if c not in "CD":
                raise _Fatal("expected a control record")
            try:
                mode, size, name = rec[1:].rstrip("\n").split(" ", 2)
                size = int(size)
                mode = int(mode, 8)
            except ValueError:
                raise _Fatal("bad record: %s" % rec.strip())
            if "/" in name or name in ("", ".", "..") or size < 0:
                raise _Fatal("unexpected file name: %s" % name)
            dst = target.rstrip("/") + "/" + name if isdir else target
            if c == "D":
                if not self.recursive:
                    raise _Fatal("received a folder without -r")
                try:
                    h = self.root.host(dst)
                    try:
                        st = os.stat(h)
                    except OSError:
                        os.mkdir(h)
                        st = None
                    if st and not fs.is_dir(st[0]):
                        raise _Fatal("%s: not a folder" % dst)
                except (OSError, fs.Refused) as e:
                    raise _Fatal("%s: %s" % (dst, fs.text(e)))
                self.ok()
                self.sink(dst, False)
                continue
            self._receive(dst, size, times)
            times = None

    def _receive(self, dst, size, times):
        f = tmp = err = None
        try:
            h = self.root.host(dst)
            f, tmp = self.root.upload(h)
        except (OSError, fs.Refused) as e:
            err = e
        try:
            self.ok()
            left = size
            ch = self.ch
            # at most half the window we grant: the client may send only window - unacked bytes,
            # and we give the window back once half of it is used (channel.consumed), so waiting
            # for a whole window of data would wait forever (a board's 16 KB window); and no more
            # than two of the packets we take (a board's heap holds the channel's buffer whole)
            cfg = self.conn.cfg
            step = min(_CHUNK, cfg.window // 2, 2 * cfg.channel_max_packet)
            while left:
                n = self._fill(min(left, step))
                if not n:
                    raise _Fatal("")  # the client left mid-file: the target is kept
                if err is None:
                    try:
                        f.write(memoryview(ch.inbuf)[:n])
                    except OSError as e:
                        err = e
                ch.inbuf[:n] = b""
                ch.consumed(n)
                left -= n
            # the sender's status byte after the data; libssh2 (parallel-ssh,
            # curl) sends EOF instead: the file came whole, so it is kept, as
            # OpenSSH's scp (which writes in place) keeps it
            if self._fill(1):
                self.response()
            if err is None:
                t, tmp = tmp, None
                self.root.finish(f, t, h)
                if times and hasattr(os, "utime"):
                    os.utime(h, times)
        except OSError as e:
            err = e
        finally:
            if tmp:
                self.root.finish(f, tmp)
        if err is None:
            self.ok()
        else:
            self.error("%s: %s" % (dst, fs.text(err)))

    # -- download: scp -f
    def source(self, path, host=None):
        try:
            if host is None:
                host = self.root.host(path)
            st = os.stat(host)
        except (OSError, fs.Refused) as e:
            return self.error("%s: %s" % (path, fs.text(e)))
        name = path.rstrip("/").split("/")[-1] or "/"
        mode = st[0] & 0o7777 or (0o755 if fs.is_dir(st[0]) else 0o644)
        if self.times:
            self.ch.out(("T%d 0 %d 0\n" % (st[8], st[7])).encode())
            if not self.response():
                return
        if fs.is_dir(st[0]):
            if not self.recursive:
                return self.error("%s: not a regular file" % path)
            self.ch.out(("D%04o 0 %s\n" % (mode, name)).encode())
            if not self.response():
                return
            for n, t in listdir_types(host):
                if t & 0xF000 != 0xA000:  # symbolic links are not followed
                    self.source(path.rstrip("/") + "/" + n, host + "/" + n)
            self.ch.out(b"E\n")
            self.response()
            return
        try:
            f = open(host, "rb")
        except OSError as e:
            return self.error("%s: %s" % (path, fs.text(e)))
        with f:
            self.ch.out(("C%04o %d %s\n" % (mode, st[6], name)).encode())
            if not self.response():
                return
            left = st[6]
            err = None
            step = min(_CHUNK, self.ch.remote_max)  # one packet at a time: the budget's size
            # one buffer for the file, read into (ch.out copies it): not one per chunk, which a
            # board heap cut up by earlier sessions may have no free run for
            buf = memoryview(bytearray(min(left, step)))
            while left:
                m = min(left, len(buf))
                k = f.readinto(buf[:m]) if err is None else 0
                if not k:  # the file shrank or failed: pad to the size announced
                    err = err or "read error"
                    buf[:m] = bytes(m)
                    k = m
                self.ch.out(buf[:k])
                left -= k
        if err:
            self.error("%s: %s" % (path, err))
        else:
            self.ok()
        self.response()


def _words(cmd):
    # the client's command line: words split at spaces, '...' quoting
    out = []
    w = None
    q = False
    for c in cmd:
        if c == "'":
            q = not q
            w = w or ""
        elif c == " " and not q:
            if w is not None:
                out.append(w)
            w = None
        else:
            w = (w or "") + c
    if w is not None:
        out.append(w)
    return out


def run(conn, ch, cmd):
    """Runs `scp -t`/`scp -f` on the channel; returns the exit status."""
    words = _words(cmd)[1:]
    flags = ""
    while words and words[0].startswith("-"):
        w = words.pop(0)
        if w == "--":
            break
        flags += w[1:]
    s = _Scp(conn, ch, flags)
    try:
        if "t" in flags and len(words) == 1:
            s.sink(words[0])
        elif "f" in flags and words:
            s.response()
            for p in words:
                s.source(p)
        else:
            s.error("usage: scp -t|-f [-r] [-p] PATH", True)
    except _Fatal as e:
        if e.args[0]:
            s.error(e.args[0], True)
        s.failed = True
    except fs.Refused as e:
        s.error(e.args[0], True)
    return 1 if s.failed else 0
