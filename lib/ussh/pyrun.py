# Running the user's Python: SSH `exec` (run_command) and the base that the
# shell's line editor (ussh.repl's Repl) builds on. User code runs with a
# globals dict holding ussh's own print, input and __repl_print__
# (MicroPython's 'single'-mode echo looks that name up), and with
# sys.stdin/stdout/stderr routed through compat.redirect. An exec loads this
# module only: the editor (history, keys, completion) waits for a shell.
from ussh.compat import format_exc, redirect

ME = ("ussh/pyrun.py", "ussh/repl.py", "ussh/lineshell.py")  # frames of these files are left out of tracebacks


class _Std:
    # sys.stdin/stdout/stderr of the running code: write() goes to w(f, s),
    # reading comes from line(): a line with its "\n", '' at EOF
    def __init__(self, w, f, line=None):
        self.w, self.f, self.line, self.buf = w, f, line, ""

    def write(self, s):
        self.w(self.f, s)
        return len(s)

    def flush(self):
        pass

    def read(self, n=-1):
        s = "."
        while s and (n < 0 or len(self.buf) < n):
            s = self.line()
            self.buf += s
        n = len(self.buf) if n < 0 else n
        s, self.buf = self.buf[:n], self.buf[n:]
        return s

    def readline(self):
        if "\n" not in self.buf:
            self.buf += self.line()
        return self.read(self.buf.find("\n") + 1 or len(self.buf))

    def __iter__(self):
        return self

    def __next__(self):
        s = self.readline()
        if not s:
            raise StopIteration
        return s



def run_command(source, out, err, stdin=None, globals=None):
    """Run Python source for an SSH `exec` request in a fresh globals dict.

    out(bytes)/err(bytes) receive the program's stdout/stderr; stdin has
    readline() -> str ('' at EOF) and feeds input() and sys.stdin. A lone
    expression prints its repr. Returns the exit status: 0, 1 after an
    uncaught exception (traceback on err), or n for SystemExit(n)."""
    return Runner(out, err, False, globals, None, stdin.readline if stdin else str)._run(source, "")


class Runner:
    # runs source (_run) with its output through out/err and its input from
    # line() -> a line with its "\n", "" at EOF; pty: "\r\n" line ends; poll()
    # -> bytes (non-blocking), asked on each output write: a 0x03 in it raises
    # KeyboardInterrupt in the code, other bytes are queued in _q. _eb: echo
    # to send before the next output (the shell's)
    def __init__(self, out, err, pty=False, globals=None, poll=None, line=None):
        self._out, self._pty, self._poll = out, pty, poll
        self._o, self._e, self._in = _Std(self._wr, out), _Std(self._wr, err), _Std(0, 0, line)
        self._q, self._eb = bytearray(), bytearray()
        self.status = 0
        self._busy = self.closed = False
        g = {} if globals is None else globals
        g.update(print=self._print, input=self._input, __repl_print__=self._show)
        g.setdefault("__name__", "__main__")
        self.globals = g

    def _wr(self, f, d):
        d = d.encode().replace(b"\n", b"\r\n") if self._pty else d.encode()
        self._flush()
        if d:
            f(d)
        if self._busy and self._poll:
            # Ctrl-C while code runs is raised here, and only here (a timer
            # for code that never prints would come here too)
            d = self._poll() or b""
            self._q += d.replace(b"\x03", b"")
            if b"\x03" in d:
                raise KeyboardInterrupt

    def _print(self, *a, sep=" ", end="\n", file=None, flush=False):
        s = (" " if sep is None else sep).join([str(x) for x in a])
        (self._o if file is None else file).write(s + ("\n" if end is None else end))

    def _input(self, prompt=""):
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
        # mode: "single", "exec", or "": eval showing the value, else exec
        self._flush()
        old = redirect({"stdin": self._in, "stdout": self._o, "stderr": self._e, "displayhook": self._show,
                        "print": self._print, "input": self._input})
        self._busy = True
        e = c = None
        try:
            if not mode:
                try:
                    c = compile(src, "<stdin>", "eval")
                except SyntaxError:
                    pass
            self._show(eval(c or compile(src, "<stdin>", mode or "exec"), self.globals))
        except BaseException as x:  # noqa: B036 -- user code: report everything
            e = x
        self._busy = False
        redirect(old)
        if e is None:
            return 0
        if isinstance(e, SystemExit):  # ends the session; its status, or 1 after printing it
            a = e.args[0] if e.args else None
            if a is not None and not isinstance(a, int):
                self._e.write(str(a) + "\n")
                a = 1
            self.closed, self.status = True, a or 0
            return self.status
        self._e.write("KeyboardInterrupt\n" if isinstance(e, KeyboardInterrupt) else format_exc(e, ME))
        return 1

    def _flush(self):
        if self._eb:
            self._out(bytes(self._eb))
            self._eb[:] = b""

