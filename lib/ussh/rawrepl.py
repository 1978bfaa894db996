# MicroPython's raw REPL on an SSH channel, for the stock mpremote through a
# tunnel: `ssh -N -L 7000:repl:1 board`, then `mpremote connect
# socket://127.0.0.1:7000 ...`. A direct-tcpip channel (RFC 4254 §7.2) whose
# destination host is the reserved name "repl" (any port) is handed here by
# ussh.forward: no TCP connection is made, the channel itself is the board's
# serial line. An optional module, imported at the first such channel.
#
# The protocol as a board's USB serial speaks it (MicroPython's
# shared/runtime/pyexec.c):
# - friendly REPL (where a channel starts, silent until typed at): ussh.repl's
#   with line editing; on an empty line Ctrl-A enters the raw REPL, Ctrl-B
#   prints the banner, Ctrl-D is a soft reset.
# - raw REPL: "raw REPL; CTRL-B to exit\r\n>"; bytes collect until Ctrl-D,
#   then "OK", the code's output, 0x04, the traceback if it raised, 0x04, ">".
#   Ctrl-D on nothing is a soft reset, Ctrl-C empties, Ctrl-B leaves, Ctrl-A
#   starts again.
# - raw-paste (0x05 "A" 0x01 in the raw REPL): "R\x01", a window size (u16,
#   little-endian) and 0x01; the host sends at most two windows ahead and we
#   send 0x01 for each window taken; Ctrl-D ends the code (answered with
#   0x04, then run as above), Ctrl-C drops it.
#
# A soft reset resets the login user's raw REPL state, never the board: the
# globals start empty, modules imported from it are forgotten, a folder
# mounted by `mpremote mount` is unmounted, the working folder is the
# board's again; ussh and every other session go on, boot.py and main.py do
# not run. That state (globals, working folder) lasts from one channel to the
# next until a soft reset, so `mpremote resume` finds it. Code runs with its
# own sys.stdout/stdin (and their .buffer, for mpremote's remote filesystem),
# print and input: its output reaches this channel only.
import gc
import struct
import sys

from ussh import channel, rawrepl_io as rio
from ussh.compat import const, format_exc, redirect, version

_FRIENDLY = const(0)
_RAW = const(1)
_PASTE = const(2)
_WINDOW = const(2048)  # raw-paste flow control: bytes per 0x01
_MSG_CHANNEL_EOF = const(96)
_MSG_CHANNEL_CLOSE = const(97)
_ME = "ussh/rawrepl.py"  # frames of this file are left out of tracebacks
_RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
_LONG = const(1024)  # code longer than this is compiled from its pieces (rawrepl_io.Paste)

_boards = {}  # login user -> _State: a raw REPL's state outlives its channel
_open = []  # RawRepl objects with a mount: undone when their channel is found gone


class _State:
    def __init__(self):
        self.globals = {"__name__": "__main__"}
        self.cwd = None  # the working folder of its code when not the board's
        self.mods = []  # modules its code imported first


def start(conn, remote_id, window, max_packet):
    """ussh.forward's service for "repl": the channel, confirmed."""
    for r in _open[:]:  # mounts of sessions whose connection went without a word
        if r.ch.closed_out or r.conn.closed:
            r.close()
    ch = channel.add(conn, _Channel, remote_id, window, max_packet)
    ch.started = b"repl"
    ch.repl = RawRepl(conn, ch)
    ch.wake = lambda: ch.repl.close() if conn.closed else None  # the asyncio server's end
    channel.confirm(ch)
    conn.log("raw REPL")


class _Channel(channel.Channel):
    # no program status on a direct-tcpip channel: EOF and CLOSE only
    def finish(self, status=0):
        if self.closed_out:
            return
        self.repl.close()
        try:
            self.flush()
        except channel.ChannelClosed:
            pass
        c = self.conn
        if not self.closed_in:
            c.send(struct.pack(">BI", _MSG_CHANNEL_EOF, self.remote_id))
        c.send(struct.pack(">BI", _MSG_CHANNEL_CLOSE, self.remote_id))
        self.closed_out = True
        if self.closed_in:
            c.channels.pop(self.id, None)


class RawRepl:
    """The scheduler's program on a "repl" channel: feed(data), eof(),
    closed; intr tells ussh.interrupt whether 0x03 interrupts the code now."""

    def __init__(self, conn, ch):
        self.conn, self.ch = conn, ch
        self.st = _boards.get(conn.user)
        if self.st is None:
            self.st = _boards[conn.user] = _State()
        self.mode = _FRIENDLY
        self.line = bytearray()  # the raw REPL's code as typed
        self.parts = []  # the code to run, in pieces
        self.closed = False
        self.intr = True
        self.mounts = []
        self.friendly = None  # ussh.repl.Repl, made at the first friendly byte
        io_ = conn.sched.io
        self.emit = io_(self._emit)
        self.wait_in = io_(self._wait_in)
        self.stdout = rio.Out(self)
        self.stdin = rio.In(self)

    # -- the protocol
    def feed(self, data):
        # data: a view of the channel's buffer (Channel.take_input), no copy on a board's heap;
        # valid while nothing takes input again, which only the friendly REPL's code does
        # (its Ctrl-C poll): what follows a byte that may run such code is copied first
        i, n = 0, len(data)
        while i < n and not self.closed:
            if self.mode == _PASTE:
                i = self._paste(data, i)
                continue
            c = data[i]
            i += 1
            if self.mode == _RAW:
                self._raw(c)
            else:
                if c in (4, 10, 13) and i < n and isinstance(data, memoryview):
                    data, i, n = bytes(data[i:]), 0, n - i
                self._friendly(c)
        return self.closed

    def eof(self):
        self.closed = True

    def _w(self, b):
        self.ch.out(b)

    def _raw(self, c):
        ln = self.line
        if c == 1:  # Ctrl-A: raw-paste asked for (0x05 "A" before it), or start again
            if len(ln) == 2 and ln[0] == 5:
                if ln[1] == 0x41:
                    self._w(b"R\x01" + struct.pack("<H", _WINDOW) + b"\x01")
                    self.mode, self.line, self.parts = _PASTE, bytearray(), []
                    return
                self._w(b"R\x00")
            else:
                self._w(_RAW_BANNER)
            self.line = bytearray()
            self._w(b">")
        elif c == 2:  # Ctrl-B: the friendly REPL
            self.line = bytearray()
            self.mode = _FRIENDLY
            self._w(b"\r\n" + _banner() + b">>> ")
        elif c == 3:
            self.line = bytearray()
        elif c == 4:
            self._w(b"OK")
            if not self.line:
                return self._reset()
            self.parts, self.line = [bytes(self.line)], bytearray()
            if self._run():
                self._w(b">")
        else:
            ln.append(c)

    def _paste(self, data, i):
        n = len(data)
        e = i
        while e < n and data[e] != 3 and data[e] != 4:
            e += 1
        if e > i:
            self.parts.append(bytes(data[i:e]))  # pieces: no long run of a board's heap
        if e == n:
            # taken, so room for another window: the code collects here whole anyway, and the
            # channel's window bounds what is in flight. At once after each piece, not after
            # each _WINDOW bytes: the reply also carries the ACK that mpremote's socket (no
            # TCP_NODELAY) waits for before it sends its next write, the 0x04 (40 ms otherwise)
            if e > i:
                self._w(b"\x01")
            return e
        self._w(b"\x04")  # the end seen
        self.mode = _RAW
        if data[e] == 3:
            self.parts = []
            self._w(b"\x04KeyboardInterrupt\n\x04>")
        elif self._run():
            self._w(b">")
        return e + 1

    def _run(self):
        # the raw REPL's execution of the code in self.parts: False when it ended in a soft reset
        g = self.st.globals
        g["print"], g["input"] = self._print, self._input
        e = self._exec()
        if isinstance(e, SystemExit):  # as on a board: a soft reset
            self._w(b"\x04\x04")
            self._reset()
            return False
        self._w(b"\x04")
        if e is not None:
            self._w(format_exc(e, _ME).encode())
        self._w(b"\x04")
        return True

    def _exec(self):
        # the code as pieces (self.parts): longer code is read by the compiler from them
        # through a file system (rawrepl_io.Paste) where the port can (execfile, os.mount), as a board's
        # raw-paste mode compiles it while it arrives: a board's heap, with room enough but
        # fragmented, may have no free run as long as the code (mpremote's mount hook: 5 KB)
        self.ch.flush()  # "OK" or the end's 0x04 out before the code runs, as a board sends them
        self.conn.poll()
        parts, self.parts = self.parts, []
        code = fs = None
        try:
            if rio.execfile is not None and sum([len(p) for p in parts]) > _LONG:
                import os

                fs = rio.Paste(parts)
                os.mount(fs, rio.PASTE_AT)
            else:
                b = b"".join(parts)
                parts = None
                code = compile(b, "<stdin>", "exec")
                b = None
        except (SyntaxError, UnicodeError, ValueError, MemoryError, OSError) as e:  # reported as the code's
            return e
        old = self._enter({"stdin": self.stdin, "stdout": self.stdout, "stderr": self.stdout,
                           "print": self._print, "input": self._input})
        e = None
        try:
            if code is None:
                rio.execfile(rio.PASTE_AT, self.st.globals)
            else:
                exec(code, self.st.globals)
        except BaseException as x:  # noqa: B036 -- user code: report everything
            e = x
        self._leave(old)
        if fs is not None:
            import os

            os.umount(rio.PASTE_AT)
        return e

    def _friendly(self, c):
        r = self.friendly
        if r is None:
            from ussh import repl

            out, err, stdin, poll = self.conn.sched.streams(self.ch)
            r = self.friendly = repl.Repl(out, err, stdin, True, self.st.globals, poll, False)
        if c in (1, 2, 4) and r.idle():
            self._w(b"\r\n")
            if c == 1:
                self.mode = _RAW
                self._w(_RAW_BANNER + b">")
            elif c == 2:
                self._w(_banner() + b">>> ")
            else:
                self._reset()
            return
        g = self.st.globals
        g["print"], g["input"] = r._print, r._input
        if c in (4, 10, 13):  # what may run code: with the session's folder and modules
            old = self._enter(None)
            try:
                r.feed(bytes((c,)))
            finally:
                self._leave(old)
        else:
            r.feed(bytes((c,)))
        if r.closed:  # SystemExit: a soft reset, as on a board
            self._w(b"\r\n")
            self._reset()

    def _reset(self):
        # the soft reset of this login's raw REPL state (see the top)
        self.close()
        st = self.st
        for m in st.mods:
            sys.modules.pop(m, None)
        _boards[self.conn.user] = self.st = _State()
        self.friendly = None
        gc.collect()
        self._w(b"MPY: soft reboot\r\n")
        self._w(_RAW_BANNER + b">" if self.mode == _RAW else _banner() + b">>> ")

    def close(self):
        """Undoes this channel's mounts (its end, a soft reset)."""
        import os

        for p in self.mounts:
            try:
                os.umount(p)
            except (OSError, AttributeError):
                pass
        if self.st.cwd and [p for p in self.mounts if self.st.cwd.startswith(p)]:
            self.st.cwd = None
        self.mounts = []
        if self in _open:
            _open.remove(self)

    # -- around the code: its streams, folder, os and micropython, the modules it imports
    def _enter(self, d):
        self.intr = True
        before = list(sys.modules)
        old = redirect(d) if d else None
        mods = {}
        for name, cls in (("os", rio.Os), ("micropython", rio.Mp)):
            mods[name] = sys.modules.get(name)
            try:
                sys.modules[name] = cls(self, mods[name] or __import__(name))
            except ImportError:  # CPython: no micropython
                pass
        try:
            import select  # noqa: F401
        except ImportError:  # the qemu port: mpremote's mount polls stdin
            mods["select"] = None
            sys.modules["select"] = rio.Select
        here = rio.getcwd()
        st = self.st
        if st.cwd and st.cwd != here:
            try:
                rio.chdir(st.cwd)
            except OSError:  # gone (unmounted)
                st.cwd = None
        return (d is not None, old, before, mods, here)

    def _leave(self, saved):
        redirected, old, before, mods, here = saved
        st = self.st
        now = rio.getcwd()
        st.cwd = now if now != here else None
        if now != here:
            try:
                rio.chdir(here)
            except OSError:
                pass
        for name in mods:
            if mods[name] is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mods[name]
        if redirected:
            redirect(old)
        for m in sys.modules:
            if m not in before and not m.startswith("ussh") and m not in st.mods:
                st.mods.append(m)
        self.intr = True

    # -- what the code's streams do (ussh.rawrepl_io's)
    def crlf(self):
        return self.mode == _FRIENDLY

    def mounted(self, path):
        self.mounts.append(path)
        if self not in _open:
            _open.append(self)

    def _emit(self, b, text):
        ch = self.ch
        ch.out(b)
        if text and self.intr and ch.inbuf.find(b"\x03") >= 0:
            n = len(ch.inbuf)
            ch.inbuf = bytearray(bytes(ch.inbuf).replace(b"\x03", b""))
            ch.consumed(n - len(ch.inbuf))
            raise KeyboardInterrupt

    def _wait_in(self, block=True):
        # True once input waits; False at its end (or when not block and none came)
        ch, conn = self.ch, self.conn
        if not ch.inbuf:
            ch.flush()  # what the code wrote first: the host answers it
            conn.poll()
        while not ch.inbuf:
            if ch.eof_in or ch.closed_in or conn.closed or not block:
                return False
            ch.flush()
            conn.wait()
        return True

    def _print(self, *a, sep=" ", end="\n", file=None, flush=False):
        s = (" " if sep is None else sep).join([str(x) for x in a])
        (self.stdout if file is None else file).write(s + ("\n" if end is None else end))

    def _input(self, prompt=""):
        self.stdout.write(str(prompt))
        s = self.ch.readline()
        if not s:
            raise EOFError
        return s[:-1] if s[-1] == "\n" else s


def _banner():
    return (version() + "; ussh raw REPL\r\nType \"help()\" for more information.\r\n").encode()
