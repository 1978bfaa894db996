# The Python shell behind SSH `shell` (Repl), sans-IO: bytes come in through
# feed(), go out through the out/err callables; the line editor of
# MicroPython's REPL on ussh.pyrun's Runner, which runs the code (and alone
# serves `exec`).
from ussh.compat import const, version
from ussh.pyrun import Runner, run_command  # noqa: F401 (run_command: ussh.repl's API)
from ussh.pysource import dec as _dec, more

_ENTER = const(1)
_INTR = const(3)
_EOF = const(4)
_PASTE = const(5)
_END = const(0x100)  # End key (Ctrl-E on an empty line is paste mode)
_DEL = const(0x101)  # Delete key, ESC [ 3 ~
_HIST = const(20)


class Repl(Runner):
    """An interactive session for an SSH `shell` request: feed() takes what the
    client typed, out(bytes)/err(bytes) get echo, prompts and results. With pty:
    banner, prompts, line editing, history, Ctrl-C/D/E (E: paste mode), "\\r\\n"
    line ends; without: no echo or prompts, each line or block runs when complete.
    Running code's input() and sys.stdin take further typed lines, blocking on
    stdin.read(1) -> str ('' at EOF) when none is queued (feed() then only queues).
    poll() -> bytes (non-blocking) is called on each output write: a 0x03 in it
    raises KeyboardInterrupt in the code, other bytes stay queued. globals persist
    for the session. `closed` turns true after Ctrl-D on an empty line, eof() or
    SystemExit, with `status` the exit status."""

    def __init__(self, out, err, stdin=None, pty=True, globals=None, poll=None, banner=True):
        super().__init__(out, err, pty, globals, poll, self._line)
        self._stdin = stdin
        # _q: typed bytes to process (from _i on), _eb: echo to send, _b: the
        # line being edited, _p: its cursor, _h: history, _hi: index in it, _esc:
        # 1 after ESC, 2 in ESC [ or ESC O, _ea: the n of ESC [ n ~, _src: lines of
        # an unfinished block, _cr: last byte was CR, _paste: in paste mode
        self._b, self._h = bytearray(), []
        self._i = self._p = self._hi = self._esc = self._ea = 0
        self._cr = False
        self._src, self._paste = "", False
        if pty and banner:
            self._out((version() + "; ussh REPL\r\nCtrl-D to exit, Ctrl-E for paste mode\r\n>>> ").encode())

    def feed(self, data):
        """Process client bytes, running what completes; returns self.closed."""
        self._q += data
        if self._busy:  # called from inside running code: input() takes it
            return self.closed
        while not self.closed:
            c = self._next()
            if c < 0:
                break
            r = self._pastekey(c) if self._paste else self._key(c)
            if r == _ENTER:
                self._enter()
            elif r == _INTR:
                self._src = ""
                self._take()
                self._eb += b"\r\nKeyboardInterrupt\r\n"
                self._prompt()
            elif r == _EOF:
                self._eb += b"\r\n"
                if self._src:  # as MicroPython: Ctrl-D ends a block
                    self._go(self._src, "single")
                else:
                    self.closed = True
            elif r == _PASTE and not self._src:
                self._paste = True
                self._eb += b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== "
        self._flush()
        return self.closed

    def idle(self):
        """Whether the prompt waits on an empty line (no block, no paste)."""
        return not (self._b or self._src or self._paste or self._busy)

    def eof(self):
        """The client sent EOF: run what is pending (no pty) and close."""
        self._stdin = None
        if not self._pty and not self.closed and not self._busy:
            self._enter()
            if self._src and not self.closed:
                self._go(self._src, "single")
        self._flush()
        self.closed = True

    def _line(self):
        # input() and sys.stdin of running code: a line from queue or stdin
        while True:
            c = self._next()
            if c < 0:
                self._flush()
                self._q += (self._stdin.read(1) if self._stdin else "").encode()
                if not self._q:  # EOF (a feed() from inside read(1) also counts as input)
                    return ""
                continue
            r = self._key(c)
            if r == _EOF:
                return ""
            if r == _INTR:
                self._take()
                self._eb += b"\r\n"
                raise KeyboardInterrupt
            if r == _ENTER:
                return self._take() + "\n"

    def _next(self):
        # the next typed byte, CR and CR LF read as LF; -1 when none is queued
        q = self._q
        while self._i < len(q):
            c = q[self._i]
            self._i += 1
            if c != 10 or not self._cr:
                self._cr = c == 13
                return 10 if c == 13 else c
            self._cr = False
        q[:] = b""
        self._i = 0
        return -1

    def _prompt(self):
        if self._pty and not self.closed:
            self._eb += b"... " if self._src else b">>> "
            if self._src:
                self._indent()

    def _indent(self):
        # auto-indent a continuation line as MicroPython's REPL does: as deep
        # as the line before, one level (4 spaces) deeper after a ":"; none
        # after two lines of only spaces, so a third Enter ends the block
        ls = self._src.split("\n")
        a = ls[-2]
        if len(ls) > 2 and not a.strip(" ") and not ls[-3].strip(" "):
            return
        n = len(a) - len(a.lstrip(" ")) & ~3
        self._b[:] = b" " * (n + 4 * a.endswith(":"))
        self._p = len(self._b)
        self._eb += self._b

    def _tab(self):
        from ussh.complete import complete

        b, p = self._b, self._p
        add, rows = complete(_dec(b[:p]), self.globals)
        if rows:  # list them, then the prompt and the line again
            self._eb += b"\r\n" + "\r\n".join(rows).encode() + (b"\r\n... " if self._src else b"\r\n>>> ") + b
            self._p = len(b)
            self._to(p)
        if add:
            b[p:p] = add.encode()
            self._p = p + len(add.encode())
            self._redraw(p)

    def _go(self, src, mode):
        self._src = ""
        self._run(src, mode)
        self._prompt()

    def _take(self):
        # the edited line as text, emptying the editor
        s = _dec(self._b)
        self._b[:] = b""
        self._p = 0
        return s

    def _enter(self):
        b, h = self._b, self._h
        if b and self._pty and (not h or h[-1] != b):
            h.append(bytes(b))
            if len(h) > _HIST:
                h.pop(0)
        self._hi = len(h)
        line = self._take()
        src = self._src + line
        if src.strip() and not more(src, line):
            return self._go(src + "\n", "single")
        self._src = src + "\n" if src.strip() else ""
        self._prompt()

    def _pastekey(self, c):
        # paste mode: bytes go to _b as they are
        if c == 3 or c == 4:
            self._paste = False
            self._eb += b"\r\n"
            s = self._take()
            if c == 4:
                self._run(s, "exec")
            self._prompt()
        else:
            self._b.append(c)
            self._eb += b"\r\n=== " if c == 10 else self._b[-1:]

    # line editing (pty only): _key returns _ENTER, _INTR, _EOF, _PASTE or None

    def _to(self, q):
        # move the cursor to q: back over the characters (UTF-8 lead bytes) of
        # _b[q:p] or forward by rewriting _b[p:q]
        b, p = self._b, self._p
        n = len([x for x in b[q:p] if x & 0xC0 != 0x80])
        self._eb += b"\x1b[%dD" % n if n else b[p:q]
        self._p = q

    def _redraw(self, q):
        # the terminal's cursor is at q: rewrite from there, put it back at _p
        p = self._p
        self._eb += self._b[q:] + b"\x1b[K"
        self._p = len(self._b)
        self._to(p)

    def _step(self, p, d):
        # one character left (d = -1) or right (d = 1) of p, within _b
        b = self._b
        p = max(0, min(len(b), p + d))
        while 0 < p < len(b) and b[p] & 0xC0 == 0x80:
            p += d
        return p

    def _key(self, c):
        b, p, n = self._b, self._p, len(self._b)
        if not self._pty:
            if c == 10:
                return _ENTER
            b.append(c)
            return None
        if self._esc == 1:
            self._esc = 2 if c == 0x5B or c == 0x4F else 0
            return None
        if self._esc:
            if 0x30 <= c <= 0x39:
                self._ea = self._ea * 10 + c - 0x30
                return None
            self._esc = 0
            if c == 0x7E:  # ESC [ n ~: 1 and 7 Home, 3 Delete, 4 and 8 End
                c = (0, 1, 0, _DEL, _END, 0, 0, 1, _END)[self._ea % 9]
            else:  # A up, B down, C right, D left, F end, H home
                c = (16, 14, 6, 2, _END, 1, 0)[b"ABCDFH".find(bytes((c,)))]
        if c == 10:
            self._eb += b"\r\n"
            return _ENTER
        if c == 27:
            self._esc, self._ea = 1, 0
        elif c == 3:
            return _INTR
        elif c == 4:
            return None if n else _EOF
        elif c == 5 and not n:
            return _PASTE
        elif c == 1:  # Ctrl-A, Home
            self._to(0)
        elif c == 5 or c == _END:
            self._to(n)
        elif c == 2 or c == 6:  # Ctrl-B left, Ctrl-F right
            self._to(self._step(p, 1 if c == 6 else -1))
        elif c == 8 or c == 127 or c == 11 or c == 21 or c == _DEL:
            # delete _b[q:z]: Backspace, Ctrl-K to the end, Ctrl-U to the start
            q = self._step(p, -1) if c == 8 or c == 127 else 0 if c == 21 else p
            if (c == 8 or c == 127) and p >= 4 and b[:p] == b" " * p:
                q = p - 4  # in the indentation: one level back, as MicroPython's REPL
            z = n if c == 11 else self._step(p, 1) if c == _DEL else p
            self._to(q)
            b[q:z] = b""
            self._redraw(q)
        elif c == 9:
            self._tab()
        elif c == 16 or c == 14:  # Ctrl-P up, Ctrl-N down: history
            i = self._hi + (1 if c == 14 else -1)
            if 0 <= i <= len(self._h):
                self._hi = i
                self._to(0)
                b[:] = (self._h + [b""])[i]
                self._p = len(b)
                self._redraw(0)
        elif 32 <= c < 0x100:
            self._p = p + 1
            if p == n:
                b.append(c)
                self._eb.append(c)
            else:
                b[p:p] = bytes((c,))
                self._redraw(p)
        return None
