# What the code run by ussh.rawrepl (mpremote over SSH) sees instead of the board's own: its
# sys.stdout/stdin with the .buffer pair that mpremote's remote filesystem speaks over, os
# whose mounts are the channel's, micropython whose kbd_intr(-1) makes 0x03 data, select where
# the port has none (the qemu port), and the one-file file system that long code is compiled
# from as it is read. Loaded with ussh.rawrepl.
try:
    import io

    Base = getattr(io, "IOBase", object)  # select.poll takes IOBase streams on MicroPython
except ImportError:
    Base = object

try:
    import builtins

    execfile = getattr(builtins, "execfile", None)  # MicroPython: compiles from a file as it reads
except ImportError:
    execfile = None

PASTE_AT = "/<stdin>"  # where Paste is mounted while its code runs (the name in tracebacks)


def getcwd():
    try:
        import os

        return os.getcwd()
    except (AttributeError, OSError, ImportError):
        return None


def chdir(p):
    import os

    os.chdir(p)


class Out:
    # sys.stdout (and stderr) of the code: text; .buffer takes bytes
    def __init__(self, r):
        self.r = r
        self.buffer = _OutBin(r)

    def write(self, s):
        b = s.encode() if isinstance(s, str) else bytes(s)
        if self.r.crlf():
            b = b.replace(b"\n", b"\r\n")
        self.r.emit(b, True)
        return len(s)

    def flush(self):
        pass


class _OutBin:
    def __init__(self, r):
        self.r = r

    def write(self, b, n=None):
        b = bytes(b if n is None else memoryview(b)[:n])
        self.r.emit(b, False)
        return len(b)

    def flush(self):
        pass


class In:
    # sys.stdin of the code: text lines; .buffer gives the bytes as they came
    def __init__(self, r):
        self.r = r
        self.buffer = _InBin(r)

    def readline(self):
        return self.r.ch.readline()

    def read(self, n=-1):
        return self.r.ch.read(n)


class _InBin(Base):
    def __init__(self, r):
        self.r = r

    def readinto(self, buf, n=None):
        r = self.r
        n = len(buf) if n is None else min(n, len(buf))
        if not n or not r.wait_in():
            return 0
        ch = r.ch
        k = min(n, len(ch.inbuf))
        buf[:k] = ch.inbuf[:k]
        ch.inbuf[:k] = b""
        ch.consumed(k)
        return k

    def read(self, n=-1):
        r = self.r
        if not r.wait_in():
            return b""
        ch = r.ch
        k = len(ch.inbuf) if n < 0 else min(n, len(ch.inbuf))
        b = bytes(ch.inbuf[:k])
        ch.inbuf[:k] = b""
        ch.consumed(k)
        return b

    def ioctl(self, req, arg):
        if req == 3:  # MP_STREAM_POLL: readable once bytes wait
            return arg & 1 if self.r.wait_in(False) else 0
        return -1

    def block(self, ms):
        # for Select: wait (a while) for input
        return self.r.wait_in(ms != 0)


class Os:
    # os for the code: its mounts are this channel's, undone when it ends
    def __init__(self, r, real):
        self.r, self.real = r, real

    def __getattr__(self, n):
        return getattr(self.real, n)

    def mount(self, fs, path, *a, **kw):
        self.real.mount(fs, path, *a, **kw)
        self.r.mounted(path)

    def umount(self, path):
        self.real.umount(path)
        if path in self.r.mounts:
            self.r.mounts.remove(path)


class Mp:
    # micropython for the code: kbd_intr(-1) (mpremote's mount, around each of its commands)
    # makes 0x03 on this channel data, kbd_intr(3) an interrupt again
    def __init__(self, r, real):
        self.r, self.real = r, real

    def __getattr__(self, n):
        return getattr(self.real, n)

    def kbd_intr(self, c):
        self.r.intr = c == 3


class _Poll:
    def __init__(self):
        self.objs = []

    def register(self, obj, mask=1):
        self.objs.append((obj, mask))

    def unregister(self, obj):
        self.objs = [x for x in self.objs if x[0] is not obj]

    def modify(self, obj, mask):
        self.unregister(obj)
        self.register(obj, mask)

    def poll(self, ms=-1):
        # without a clock: one wait on the first stream that can (a second on the asyncio
        # driver, until bytes come on the UART's), then whatever is ready
        for k in range(2):
            ready = [(o, m & o.ioctl(3, m)) for o, m in self.objs if hasattr(o, "ioctl") and o.ioctl(3, m) & m]
            if ready or k or ms == 0:
                return ready
            for o, m in self.objs:
                if hasattr(o, "block"):
                    o.block(ms)
                    break
        return []

    def ipoll(self, ms=-1, flags=0):
        return iter(self.poll(ms))


class Select:
    # select for ports without it (the qemu port), while the code runs
    POLLIN = 1
    POLLOUT = 4
    POLLERR = 8
    POLLHUP = 16
    poll = _Poll


class Paste:
    # a file system of one file, the code's pieces, mounted for execfile to read
    def __init__(self, parts):
        self.parts = parts

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def stat(self, path):
        return (0x8000, 0, 0, 0, 0, 0, sum([len(p) for p in self.parts]), 0, 0, 0)

    def open(self, path, mode):
        return _PasteFile(self.parts)


class _PasteFile(Base):
    def __init__(self, parts):
        self.parts = parts
        self.pos = 0  # in parts[0]

    def readinto(self, buf):
        n = 0
        ps = self.parts
        while n < len(buf) and ps:
            p = ps[0]
            k = min(len(buf) - n, len(p) - self.pos)
            buf[n : n + k] = p[self.pos : self.pos + k]
            n += k
            self.pos += k
            if self.pos == len(p):
                ps.pop(0)  # read: its memory goes
                self.pos = 0
        return n

    def read(self, n=-1):
        b = bytearray(n if n >= 0 else sum([len(p) for p in self.parts]))
        return bytes(b[: self.readinto(b)])

    def ioctl(self, req, arg):
        return 0 if req == 4 else -1  # MP_STREAM_CLOSE

    def close(self):
        pass
