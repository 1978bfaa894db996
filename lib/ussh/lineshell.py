# The shell for a heap that cannot hold ussh.repl's line editor (an ESP32
# without PSRAM loading ussh from its flash: tools/qemu_small.py): the same
# Python session on ussh.pyrun's Runner, typed a line at a time. Characters
# echo, Backspace takes back the last one, Enter runs the line; a compound
# statement starts a block that runs at an empty line, open brackets, a
# triple-quoted string or a trailing "\" one that runs once they close.
# Ctrl-C drops the line or block, Ctrl-D on an empty line ends the session.
# No history, cursor keys, completion or paste mode: 1.4 KB of .mpy beside
# ussh.repl's 3.0 KB (both use ussh.pysource's 0.6 KB to tell when typed
# source is whole). A board picks it with cfg.shell = "ussh.lineshell"
# (scheduler).
from ussh.compat import const, version

_ROOM = const(512)
_room = [bytearray(_ROOM)]  # the compiler's room, made before pyrun loads: see Repl._go

from ussh.pyrun import Runner  # noqa: E402
from ussh.pysource import dec as _dec, more  # noqa: E402


class Repl(Runner):
    """ussh.repl.Repl's interface (feed, eof, closed, status) with a
    one-line editor; without a pty, lines run as they complete, unechoed."""

    def __init__(self, out, err, stdin=None, pty=True, globals=None, poll=None, banner=True):
        super().__init__(out, err, pty, globals, poll, self._line)
        self._stdin = stdin
        self._b = bytearray()  # the line being typed
        self._src = ""  # the lines of an unfinished block
        self._cr = False  # the last byte was CR (CR LF is one Enter)
        if pty and banner:
            self._out((version() + "; ussh line shell\r\nCtrl-D to exit\r\n>>> ").encode())

    def feed(self, data):
        """Process client bytes, running what completes; returns self.closed."""
        self._q += data
        if self._busy:  # called from inside running code: input() takes it
            return self.closed
        while not self.closed:
            c = self._key()
            if c == -1:
                break
            if c == 10:
                t = _dec(self._b)
                s = self._src + t
                self._b[:] = b""
                if more(s, t):
                    self._src = s + "\n"
                else:
                    self._src = ""
                    if s.strip():
                        self._go(s + "\n", "single")
                self._prompt()
            elif c == 3:
                self._b[:] = b""
                self._src = ""
                self._eb += b"\r\nKeyboardInterrupt\r\n"
                self._prompt()
            elif c == 4:
                self._eb += b"\r\n"
                if self._src:  # Ctrl-D ends a block, as MicroPython's REPL
                    self._src, s = "", self._src
                    self._go(s, "single")
                    self._prompt()
                else:
                    self.closed = True
        self._flush()
        return self.closed

    def eof(self):
        """The client sent EOF: run what is pending (no pty) and close."""
        self._stdin = None
        if not self._pty and not self.closed and not self._busy:
            s = self._src + _dec(self._b)
            if s.strip():
                self._go(s + "\n", "exec")
        self._flush()
        self.closed = True

    def _go(self, src, mode):
        # the compiler wants a few hundred bytes in one piece (its parser's stack: 512 B on a
        # 32-bit port), which a small board's heap, cut up by the session, may not have: the
        # room held since the import is let go for it, and made again once the code ran
        _room[:] = []
        self._run(src, mode)
        try:
            _room.append(bytearray(_ROOM))
        except MemoryError:
            pass

    def _prompt(self):
        if self._pty and not self.closed:
            self._eb += b"... " if self._src else b">>> "

    def _key(self):
        # the next byte that is not plain text: 10 (Enter), 3, 4, or -1 when
        # none is queued; text and Backspace are taken here, with their echo
        q, pty = self._q, self._pty
        while q:
            c = q[0]
            q[:1] = b""
            cr, self._cr = self._cr, c == 13
            if c == 10 and cr:
                continue
            if c == 13 or c == 10:
                if pty:
                    self._eb += b"\r\n"
                return 10
            if pty and (c == 3 or c == 4 and not self._b):
                return c
            if pty and (c == 8 or c == 127):
                b = self._b
                n = len(b)
                while n and b[n - 1] & 0xC0 == 0x80:  # a UTF-8 character's continuation bytes
                    n -= 1
                if b:
                    b[max(n - 1, 0) :] = b""
                    self._eb += b"\x08 \x08"
            elif c >= 32 or not pty:
                self._b.append(c)
                if pty:
                    self._eb.append(c)
        return -1

    def _line(self):
        # input() and sys.stdin of running code: a typed line with its "\n", "" at EOF
        while True:
            c = self._key()
            if c == -1:
                self._flush()
                self._q += (self._stdin.read(1) if self._stdin else "").encode()
                if not self._q:
                    return ""
            elif c == 10:
                s = _dec(self._b) + "\n"
                self._b[:] = b""
                return s
            elif c == 4:
                return ""
            else:
                self._b[:] = b""
                self._eb += b"\r\n"
                raise KeyboardInterrupt

