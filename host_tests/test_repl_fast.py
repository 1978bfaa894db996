"""ussh.repl in-process: run_command and the shell's Repl fed keystrokes, table-driven. Fast tier
(test_repl.py runs the same module on every runtime in a subprocess, with a terminal replay)."""
import sshpair  # noqa: F401 (lib/ on the path)
from ussh.repl import Repl, run_command


class Src:
    def __init__(self, t=""):
        self.t = t

    def readline(self):
        i = self.t.find("\n") + 1 or len(self.t)
        r, self.t = self.t[:i], self.t[i:]
        return r

    def read(self, n=-1):
        n = len(self.t) if n < 0 else n
        r, self.t = self.t[:n], self.t[n:]
        return r


def ex(src, stdin=""):
    o, e = [], []
    st = run_command(src, o.append, e.append, Src(stdin))
    return st, b"".join(o), b"".join(e)


# exec source (stdin) -> (status, stdout, text in stderr)
EXECS = (
    ("print(1 + 1)", "", 0, b"2\n", b""),
    ("6 * 7", "", 0, b"42\n", b""),
    ("x = 1", "", 0, b"", b""),
    ("print(input().upper())", "abc\n", 0, b"ABC\n", b""),
    ("import sys; print(sys.stdin.read().upper())", "a\nb", 0, b"A\nB\n", b""),
    ("raise SystemExit(4)", "", 4, b"", b""),
    ("raise SystemExit('bye')", "", 1, b"", b"bye"),
    ("1/0", "", 1, b"", b"ZeroDivisionError"),
    ("def f(:", "", 1, b"", b"SyntaxError"),
    ("input()", "", 1, b"", b"EOFError"),
    ("import sys; sys.stderr.write('e')", "", 0, b"", b"e"),
)


def test_exec_table():
    for src, stdin, status, out, err in EXECS:
        st, o, e = ex(src, stdin)
        assert (st, o) == (status, out), (src, st, o, e)
        assert err in e and (err or not e), (src, e)


def shell(chunks, pty=True, poll=None):
    out = []
    r = Repl(out.append, out.append, Src(), pty=pty, poll=poll)
    for c in chunks:
        r.feed(c)
    return r, b"".join(out)


# keystrokes (pty) -> what must appear in the terminal output
KEYS = (
    ([b"1+2\r"], b"1+2\r\n3\r\n>>> "),
    ([b"1+\x7f*3\r"], b"3\r\n"),  # backspace
    ([b"x = [\r", b"1]\r", b"x\r"], b"[1]\r\n"),  # a continued line
    ([b"if 1:\r", b"print('in')\r", b"\x7f\r"], b"in\r\n"),  # auto-indent; Backspace, Enter runs
    ([b"if 1:\r", b"x = 1\r"], b"...     x = 1\r\n...     "),  # the next line as deep
    ([b"zq_name = 1\r", b"zq\t\r"], b"zq_name\x1b[K\r\n1\r\n"),  # Tab completes a global
    ([b"abc\x03"], b"KeyboardInterrupt\r\n>>> "),  # Ctrl-C cancels the line
    ([b"12\x1b[D3\r"], b"132\r\n"),  # cursor left, insert
    ([b"7\r", b"\x1b[A\r"], b">>> 7\x1b[K\r\n7\r\n"),  # history: the line redrawn
)


def test_shell_keys_table():
    for chunks, want in KEYS:
        r, out = shell(chunks)
        assert want in out, (chunks, out)
        assert not r.closed


def test_shell_ctrl_d_closes_and_globals_persist():
    r, out = shell([b"a = 5\r", b"a * 2\r", b"\x04"])
    assert b"10\r\n" in out and r.closed


def test_shell_without_pty_has_no_echo_or_prompt():
    r, out = shell([b"print('p')\n", b"for i in range(2):\n", b"  print(i)\n"], pty=False)
    assert out == b"p\n"
    r.eof()  # the pending block runs at EOF
    assert r.closed


def test_ctrl_c_from_poll_interrupts_printing_code():
    polls = [b"", b"", b"\x03"]
    r, out = shell([b"while True: print('.')\r", b"\r"], poll=lambda: polls.pop(0) if polls else b"")
    assert b"KeyboardInterrupt" in out and out.count(b".\r\n") == 3 and not r.closed
