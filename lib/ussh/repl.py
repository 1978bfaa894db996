# The Python engine behind SSH `exec` (run_command) and `shell` (Repl),
# sans-IO: bytes come in through feed(), go out through the out/err callables.
# User code runs with a globals dict holding ussh's own print, input and
# __repl_print__ (MicroPython's 'single'-mode echo looks that name up), and
# with sys.stdin/stdout/stderr routed through compat.redirect.
from ussh.compat import const, format_exc, redirect, version

_ENTER = const(1)
_INTR = const(3)
_EOF = const(4)
_PASTE = const(5)
_END = const(0x100)  # End key, ESC [ F (Ctrl-E on an empty line is paste mode)
_DEL = const(0x101)  # Delete key, ESC [ 3 ~
_HIST = const(20)
# What starts a compound statement: MicroPython's REPL continues such input
# until an empty line (py/repl.c); ussh uses its heuristic on both runtimes.
_KW = ("if", "while", "for", "try", "with", "def", "class", "async")


def _more(s):
    # True when s is an unfinished statement: open brackets or triple quote,
    # trailing backslash, or a compound statement not ended by an empty line
    n = i = 0
    q = ""
    k = len(s)
    while i < k:
        c = s[i]
        if q:
            if c == "\\":
                i += 1
            elif s.startswith(q, i):
                i += len(q) - 1
                q = ""
            elif c == "\n" and len(q) == 1:
                q = ""
        elif c == "#":
            i = s.find("\n", i)
            if i < 0:
                break
        elif c in "'\"":
            q = c * 3 if s.startswith(c * 3, i) else c
            i += len(q) - 1
        elif c in "([{":
            n += 1
        elif c in ")]}":
            n -= 1
        i += 1
    if len(q) == 3 or n > 0 or s.endswith("\\"):
        return True
    i = 0
    while i < k and (s[i].isalpha() or s[i].isdigit() or s[i] == "_"):
        i += 1
    return (s[:1] == "@" or s[:i] in _KW) and not s.endswith("\n")


def _dec(b):
    try:
        return str(b, "utf-8")
    except UnicodeError:
        return str(bytes([x if x < 128 else 63 for x in b]), "utf-8")


class _Out:
    # sys.stdout/sys.stderr of the running code
    def __init__(self, w, f):
        self.w = w
        self.f = f

    def write(self, s):
        self.w(self.f, s)
        return len(s)

    def flush(self):
        pass


class _In:
    # sys.stdin of the running code, over line(): a line with its "\n", '' at EOF
    def __init__(self, line):
        self.line = line
        self.buf = ""

    def read(self, n=-1):
        b = self.buf
        while n < 0 or len(b) < n:
            s = self.line()
            if not s:
                break
            b += s
        if n < 0:
            n = len(b)
        self.buf = b[n:]
        return b[:n]

    def readline(self):
        b = self.buf
        i = b.find("\n")
        if i < 0:
            b += self.line()
            i = b.find("\n")
        i = len(b) if i < 0 else i + 1
        self.buf = b[i:]
        return b[:i]

    def __iter__(self):
        return self

    def __next__(self):
        s = self.readline()
        if not s:
            raise StopIteration
        return s


class _Engine:
    def __init__(self, out, err, line, pty, g, poll):
        self._out = out
        self._pty = pty
        self._poll = poll
        self._o = _Out(self._wr, out)
        self._e = _Out(self._wr, err)
        self._in = _In(line)
        self._q = bytearray()  # input not yet processed, from self._i on
        self._i = 0
        self._eb = bytearray()  # echo not yet sent
        self._busy = False
        self.closed = False
        self.status = 0
        g = {} if g is None else g
        g.update(print=self._print, input=self._input, __repl_print__=self._show)
        if "__name__" not in g:
            g["__name__"] = "__main__"
        self.globals = g

    def _echo(self, d):
        self._eb += d

    def _flush(self):
        if self._eb:
            self._out(bytes(self._eb))
            self._eb[:] = b""

    def _wr(self, f, d):
        if isinstance(d, str):
            d = d.encode()
        if self._pty:
            d = d.replace(b"\n", b"\r\n")
        self._flush()
        if d:
            f(bytes(d))
        if self._busy and self._poll:
            self._check()

    def _check(self):
        # Ctrl-C typed while code runs: the only place an interrupt is raised.
        # A timer or thread for code that never prints would end up here too.
        d = self._poll()
        if d:
            i = d.find(b"\x03")
            if i < 0:
                self._q += d
            else:
                self._q += d[:i] + d[i + 1 :]
                raise KeyboardInterrupt

    def _print(self, *a, sep=" ", end="\n", file=None, flush=False):
        s = (" " if sep is None else sep).join([str(x) for x in a])
        (self._o if file is None else file).write(s + ("\n" if end is None else end))

    def _input(self, prompt=""):
        if prompt:
            self._o.write(str(prompt))
        s = self._in.readline()
        if not s:
            raise EOFError
        return s[:-1] if s[-1] == "\n" else s

    def _show(self, v):
        if v is not None:
            self.globals["_"] = v
            self._o.write(repr(v) + "\n")

    def _run(self, src, mode):
        # mode: "single", "exec", or "": eval, showing the value, else exec
        self._flush()
        old = redirect(
            {"stdin": self._in, "stdout": self._o, "stderr": self._e, "displayhook": self._show}
        )
        self._busy = True
        e = None
        try:
            c = None
            if not mode:
                try:
                    c = compile(src, "<stdin>", "eval")
                except SyntaxError:
                    mode = "exec"
            if c:
                self._show(eval(c, self.globals))
            else:
                exec(compile(src, "<stdin>", mode), self.globals)
        except BaseException as x:  # noqa: B036 -- user code: report everything
            e = x
        self._busy = False
        redirect(old)
        if e is None:
            return 0
        if isinstance(e, SystemExit):
            self.closed = True
            a = e.args[0] if e.args else None
            if a is None or isinstance(a, int):
                self.status = int(a or 0)
                return self.status
            self._e.write(str(a) + "\n")
            self.status = 1
            return 1
        self._e.write("KeyboardInterrupt\n" if isinstance(e, KeyboardInterrupt) else format_exc(e, 1))
        return 1


def run_command(source, out, err, stdin=None):
    """Run Python source for an SSH `exec` request in a fresh globals dict.

    out(bytes)/err(bytes) receive the program's stdout/stderr; stdin has
    readline() -> str ('' at EOF) and feeds input() and sys.stdin. A lone
    expression prints its repr. Returns the exit status: 0, 1 after an
    uncaught exception (traceback on err), or n for SystemExit(n)."""
    e = _Engine(out, err, stdin.readline if stdin else str, False, None, None)
    return e._run(source, "")


class Repl(_Engine):
    """An interactive session for an SSH `shell` request.

    Repl(out, err, stdin=None, pty=True, globals=None, poll=None)
    feed(data) takes what the client typed; out(bytes)/err(bytes) get echo,
    prompts and results. With pty: banner, prompts, line editing, history,
    Ctrl-C/Ctrl-D/Ctrl-E (paste mode) and "\\r\\n" line ends; without: no
    echo or prompts, each line (or block) runs as it completes.
    While code runs, input() and sys.stdin take further typed lines, blocking
    on stdin.read(1) -> str ('' at EOF) when nothing is queued; poll() -> bytes,
    non-blocking, is called on every output write and a 0x03 in what it returns
    raises KeyboardInterrupt in the code (other bytes stay queued as input).
    globals persist for the session. `closed` turns true after Ctrl-D on an
    empty line, eof() or SystemExit; `status` is then the exit status."""

    def __init__(self, out, err, stdin=None, pty=True, globals=None, poll=None):
        _Engine.__init__(self, out, err, self._line, pty, globals, poll)
        self._stdin = stdin
        self._b = bytearray()  # the line being edited
        self._p = 0  # cursor, index into _b
        self._esc = 0  # 1: after ESC, 2: in ESC [ / ESC O
        self._ea = 0  # numeric argument of ESC [ n ~
        self._cr = False
        self._h = []
        self._hi = 0
        self._src = ""  # the lines of an unfinished block
        self._paste = None
        if pty:
            self._echo(
                (version() + "; ussh REPL\r\nCtrl-D to exit, Ctrl-E for paste mode\r\n>>> ").encode()
            )
            self._flush()

    def feed(self, data):
        """Process client bytes (running what completes); returns self.closed."""
        self._q += data
        if self._busy:  # called from inside running code: input() takes it
            return self.closed
        while not self.closed:
            c = self._next()
            if c < 0:
                break
            if self._paste is not None:
                self._pastekey(c)
                continue
            r = self._key(c)
            if r == _ENTER:
                self._enter()
            elif r == _INTR:
                self._src = ""
                self._b[:] = b""
                self._p = 0
                self._echo(b"\r\nKeyboardInterrupt\r\n")
                self._prompt()
            elif r == _EOF:
                if self._src:  # as MicroPython: Ctrl-D ends a block
                    self._go(self._src, "single")
                else:
                    self._echo(b"\r\n")
                    self.closed = True
            elif r == _PASTE and not self._src:
                self._paste = bytearray()
                self._echo(b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
        self._flush()
        return self.closed

    def eof(self):
        """The client sent EOF: run what is pending (no pty) and close."""
        self._stdin = None
        if not self._pty and not self.closed and not self._busy:
            if self._b:
                self._enter()
            if self._src and not self.closed:
                self._go(self._src, "single")
        self._flush()
        self.closed = True

    def _next(self):
        q = self._q
        i = self._i
        if i < len(q):
            self._i = i + 1
            return q[i]
        q[:] = b""
        self._i = 0
        return -1

    def _prompt(self):
        if self._pty and not self.closed:
            self._echo(b"... " if self._src else b">>> ")

    def _go(self, src, mode):
        self._src = ""
        self._run(src, mode)
        self._prompt()

    def _enter(self):
        b = self._b
        line = _dec(b)
        h = self._h
        if b and self._pty and (not h or h[-1] != b):
            h.append(bytes(b))
            if len(h) > _HIST:
                h.pop(0)
        self._hi = len(h)
        b[:] = b""
        self._p = 0
        src = self._src + line
        if not src.strip():
            self._src = ""
            self._prompt()
        elif _more(src):
            self._src = src + "\n"
            self._prompt()
        else:
            self._go(src + "\n", "single")

    def _line(self):
        # input()/sys.stdin in running code: edit one line from the queue,
        # then from stdin.read(1)
        while True:
            c = self._next()
            if c < 0:
                self._flush()
                d = self._stdin.read(1) if self._stdin else ""
                if not d:
                    return ""
                self._q += d if isinstance(d, bytes) else d.encode()
                continue
            r = self._key(c)
            if r == _ENTER or r == _INTR:
                s = _dec(self._b)
                self._b[:] = b""
                self._p = 0
                if r == _INTR:
                    self._echo(b"\r\n")
                    raise KeyboardInterrupt
                return s + "\n"
            if r == _EOF:
                return ""

    def _pastekey(self, c):
        p = self._paste
        if c == 3 or c == 4:
            self._paste = None
            self._echo(b"\r\n")
            if c == 4:
                self._run(_dec(p), "exec")
            self._prompt()
        elif c == 10 and self._cr:
            self._cr = False
        else:
            self._cr = c == 13
            if c == 13 or c == 10:
                p.append(10)
                self._echo(b"\r\n=== ")
            else:
                p.append(c)
                self._eb.append(c)

    # line editing (pty only); returns _ENTER, _INTR, _EOF, _PASTE or None

    def _cw(self, a, z):
        # characters (not UTF-8 continuation bytes) in _b[a:z]
        n = 0
        for x in self._b[a:z]:
            if x & 0xC0 != 0x80:
                n += 1
        return n

    def _to(self, q):
        # move the cursor to q
        p = self._p
        if q < p:
            self._echo(b"\x1b[%dD" % self._cw(q, p))
        elif q > p:
            self._echo(self._b[p:q])
        self._p = q

    def _redraw(self, q):
        # the terminal's cursor is at q: rewrite from there, put it at _p
        b = self._b
        self._echo(b[q:])
        self._echo(b"\x1b[K")
        n = self._cw(self._p, len(b))
        if n:
            self._echo(b"\x1b[%dD" % n)

    def _step(self, p, d):
        b = self._b
        p += d
        while 0 < p < len(b) and b[p] & 0xC0 == 0x80:
            p += d
        return p

    def _key(self, c):
        b = self._b
        p = self._p
        n = len(b)
        if not self._pty:
            if c == 10:
                return _ENTER
            if c != 13:
                b.append(c)
            return None
        e = self._esc
        if e == 1:
            self._esc = 2 if c == 0x5B or c == 0x4F else 0
            self._ea = 0
            return None
        if e:
            if 0x30 <= c <= 0x39:
                self._ea = self._ea * 10 + c - 0x30
                return None
            self._esc = 0
            if c == 0x7E:
                c = (0, 1, 0, _DEL, _END, 0, 0, 1, _END)[self._ea % 9]
            else:  # A up, B down, C right, D left, F end, H home
                i = b"ABCDFH".find(bytes((c,)))
                c = (16, 14, 6, 2, _END, 1, 0)[i]
        if c == 10 and self._cr:
            self._cr = False
            return None
        self._cr = c == 13
        if c == 13 or c == 10:
            self._echo(b"\r\n")
            return _ENTER
        if c == 27:
            self._esc = 1
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
        elif c == 2:  # Ctrl-B, left
            if p:
                self._to(self._step(p, -1))
        elif c == 6:  # Ctrl-F, right
            if p < n:
                self._to(self._step(p, 1))
        elif c == 8 or c == 127:
            if p:
                q = self._step(p, -1)
                self._to(q)
                b[q:p] = b""
                self._redraw(q)
        elif c == _DEL:
            if p < n:
                b[p : self._step(p, 1)] = b""
                self._redraw(p)
        elif c == 11:  # Ctrl-K
            b[p:] = b""
            self._echo(b"\x1b[K")
        elif c == 21:  # Ctrl-U
            self._to(0)
            b[:p] = b""
            self._redraw(0)
        elif c == 16 or c == 14:  # Ctrl-P / Ctrl-N, history
            i = self._hi + (1 if c == 14 else -1)
            if 0 <= i <= len(self._h):
                self._hi = i
                self._to(0)
                b[:] = self._h[i] if i < len(self._h) else b""
                self._p = len(b)
                self._redraw(0)
        elif c == 9:
            for _ in range(4):
                self._key(32)
        elif c >= 32 and c < 0x100:
            if p == n:
                b.append(c)
                self._eb.append(c)
            else:
                b[p:p] = bytes((c,))
                self._p = p + 1
                self._redraw(p)
            self._p = p + 1
        return None
