"""ussh.repl on every runtime: exec commands (run_command) and the shell (Repl).

Each test runs a small driver on the runtime; the driver prints Python
literals (one per line) that are checked here. Shell output with a pty is
also replayed through a minimal terminal to check what the user sees.
"""
import ast
import re

import pytest

from runtimes import RUNTIMES, run

PRELUDE = r'''
from ussh.repl import run_command, Repl

class Src:
    def __init__(self, t):
        self.t = t
    def readline(self):
        i = self.t.find("\n") + 1 or len(self.t)
        r = self.t[:i]
        self.t = self.t[i:]
        return r
    def read(self, n=-1):
        if n < 0:
            n = len(self.t)
        r = self.t[:n]
        self.t = self.t[n:]
        return r

def ex(src, stdin=""):
    o = []
    e = []
    st = run_command(src, o.append, e.append, Src(stdin))
    print(repr((st, b"".join(o), b"".join(e))))

def sh(chunks, pty=True, stdin="", poll=None, eof=False, g=None):
    log = []
    err = []
    def e(d):
        log.append(d)
        err.append(d)
    r = Repl(log.append, e, Src(stdin), pty=pty, globals=g, poll=poll)
    closed = [r.feed(c) for c in chunks]
    if eof:
        r.eof()
    print(repr((b"".join(log), b"".join(err), closed, r.closed, r.status)))
    return r, log
'''


def drive(runtime, body):
    out = run(runtime, PRELUDE + body)
    return [ast.literal_eval(line) for line in out.splitlines()]


def screen(data):
    """Render terminal output (printables, UTF-8, CR, LF, ESC[nD, ESC[nC, ESC[K) to its lines."""
    lines = [[]]
    row = col = 0
    for m in re.finditer(rb"\x1b\[(\d*)([A-Za-z])|[\xc0-\xff][\x80-\xbf]*|[\s\S]", data):
        tok = m.group(0)
        if m.group(2):
            n = int(m.group(1) or 1)
            if m.group(2) == b"D":
                col = max(0, col - n)
            elif m.group(2) == b"C":
                col += n
            elif m.group(2) == b"K":
                del lines[row][col:]
            else:
                raise AssertionError("unexpected escape %r" % tok)
        elif tok == b"\r":
            col = 0
        elif tok == b"\n":
            row += 1
            if row == len(lines):
                lines.append([])
        else:
            assert tok[0] >= 0x20, "stray control byte %r" % tok
            line = lines[row]
            line.extend([b" "] * (col - len(line)))
            line[col : col + 1] = [tok]
            col += 1
    return [b"".join(x).decode() for x in lines]


@pytest.fixture(params=RUNTIMES)
def rt(request):
    return request.param


# exec: run_command


def test_exec_print(rt):
    assert drive(rt, "ex('print(\"hi\", 2)')") == [(0, b"hi 2\n", b"")]


def test_exec_expression_repr(rt):
    got = drive(rt, "ex('6*7')\nex('\"a\" + \"b\"')\nex('[1] * 2')")
    assert got == [(0, b"42\n", b""), (0, b"'ab'\n", b""), (0, b"[1, 1]\n", b"")]


def test_exec_none_or_statement_prints_nothing(rt):
    got = drive(rt, "ex('None')\nex('x = 5')\nex('print(\"a\")')")
    assert got == [(0, b"", b""), (0, b"", b""), (0, b"a\n", b"")]


def test_exec_multi_statement_no_echo(rt):
    (got,) = drive(rt, "ex('x = 6\\ny = 7\\nprint(x * y)\\nx * y\\nfor i in range(2): i')")
    assert got == (0, b"42\n", b"")


def test_exec_fresh_globals(rt):
    got = drive(rt, "ex('x = 1')\nex('print(x)')")
    assert got[0][0] == 0
    assert got[1][0] == 1 and b"NameError" in got[1][2]


def test_exec_exception_traceback(rt):
    (st, out, err) = drive(rt, "ex('def f():\\n    raise ValueError(\"bad value\")\\nf()')")[0]
    assert st == 1 and out == b""
    assert err.startswith(b"Traceback (most recent call last):\n")
    assert b'File "<stdin>", line 2' in err and b'File "<stdin>", line 3' in err
    assert err.endswith(b"ValueError: bad value\n")
    assert b"repl.py" not in err


def test_exec_syntax_error(rt):
    (st, out, err) = drive(rt, "ex('x = (1 +')")[0]
    assert st == 1 and out == b""
    assert b"SyntaxError" in err and b'"<stdin>", line ' in err
    assert b"repl.py" not in err and b"During handling" not in err


def test_exec_system_exit(rt):
    got = drive(
        rt,
        "ex('raise SystemExit(3)')\nex('import sys\\nsys.exit()')\nex('raise SystemExit(None)')\n"
        "ex('import sys\\nprint(1)\\nsys.exit(\"bye\")\\nprint(2)')",
    )
    assert got == [(3, b"", b""), (0, b"", b""), (0, b"", b""), (1, b"1\n", b"bye\n")]


def test_exec_input(rt):
    got = drive(
        rt,
        "ex('a = input(\"who? \")\\nb = input()\\nprint(\"hi\", a, b)', 'bob\\nann\\nrest\\n')\n"
        "ex('input()', '')",
    )
    assert got[0] == (0, b"who? hi bob ann\n", b"")
    assert got[1][0] == 1 and b"EOFError" in got[1][2]


def test_exec_stdin_lines_and_read(rt):
    got = drive(
        rt,
        "ex('import sys\\nfor line in sys.stdin:\\n    print(len(line), line.upper(), end=\"\")', 'ab\\ncde\\n')\n"
        "ex('import sys\\nprint(repr(sys.stdin.readline()))\\nprint(repr(sys.stdin.read(3)))\\n"
        "print(repr(sys.stdin.read()))', 'one\\ntwo\\nthree')",
    )
    assert got[0] == (0, b"3 AB\n4 CDE\n", b"")
    assert got[1] == (0, b"'one\\n'\n'two'\n'\\nthree'\n", b"")


def test_exec_print_kwargs_and_streams(rt):
    src = (
        "import sys\\nprint(1, 2, 3, sep='-', end='!\\\\n')\\nprint('x', 'y', sep=None, end=None)\\n"
        "print('oops', 7, file=sys.stderr)\\nsys.stdout.write('w\\\\n')\\nsys.stderr.write('e2\\\\n')\\n"
        "print('f', flush=True)"
    )
    (got,) = drive(rt, 'ex("%s")' % src)
    assert got == (0, b"1-2-3!\nx y\nw\nf\n", b"oops 7\ne2\n")


def test_exec_output_streams(rt):
    # each print reaches out() while the code runs: out() sees the counter
    # the code bumps before each print
    body = """
import sys
class Probe:
    n = 0
sys.modules["probe"] = Probe
o = []
src = "import probe\\nfor i in range(3):\\n    probe.n += 1\\n    print(i)"
st = run_command(src, lambda d: o.append((d, Probe.n)), o.append)
print(repr((st, o)))
"""
    assert drive(rt, body) == [(0, [(b"0\n", 1), (b"1\n", 2), (b"2\n", 3)])]


def test_sys_kept_by_code_works_afterwards(rt):
    # a module (here: sys.modules["kept"]) holding the sys the code saw
    # reaches the real streams once the code has finished
    body = """
import sys
ex("import sys\\nsys.modules['kept'] = sys\\nsys.stdout.write('in\\\\n')")
import kept
print(repr((kept.stdout is sys.stdout, kept.stdin is sys.stdin, kept.platform == sys.platform)))
"""
    assert drive(rt, body) == [(0, b"in\n", b""), (True, True, True)]


# shell with a pty


def test_shell_crlf_split_across_chunks(rt):
    (out, _, _, _, _) = drive(rt, "sh([b'6*7\\r', b'\\n1', b'+1\\r\\n', b'2\\n'])")[0]
    assert screen(out)[-7:] == [">>> 6*7", "42", ">>> 1+1", "2", ">>> 2", "2", ">>> "]


def test_shell_banner_echo_eval(rt):
    (out, err, closed, _, _) = drive(rt, "sh([b'6*7\\r', b'x = 5\\r', b'x + 1\\r'])")[0]
    lines = screen(out)
    assert "ussh" in lines[0] and "Python" in lines[0]
    assert lines[-6:] == [">>> 6*7", "42", ">>> x = 5", ">>> x + 1", "6", ">>> "]
    assert b"\n" not in out.replace(b"\r\n", b"") and closed == [False] * 3 and err == b""


def test_shell_multiline_block(rt):
    # auto-indent as MicroPython's REPL: the body line is pre-indented, Backspace
    # takes a level back, and an empty line runs the block
    (out, _, _, _, _) = drive(
        rt, "sh([b'for i in range(3):\\r', b'print(i * 10)\\r', b'\\x7f\\r', b'i\\r'])"
    )[0]
    assert screen(out)[-9:-1] == [
        ">>> for i in range(3):",
        "...     print(i * 10)",
        "... ",
        "0",
        "10",
        "20",
        ">>> i",
        "2",
    ]


def test_shell_continuation_brackets_quotes_backslash(rt):
    (out, _, _, _, _) = drive(
        rt,
        "sh([b'x = [1,\\r', b'2]\\r', b'x\\r', b's = \"\"\"a\\r', b'b\"\"\"\\r', b's\\r', b'y = 1 + \\\\\\r', b'2\\r', b'y\\r'])",
    )[0]
    lines = screen(out)
    assert "... 2]" in lines and "[1, 2]" in lines and "'a\\nb'" in lines and "3" in lines


def test_shell_backspace(rt):
    (out, _, _, _, _) = drive(rt, "sh([b'6*8\\x7f7\\r', b'1+9\\x08\\x082\\r'])")[0]
    assert screen(out)[-5:] == [">>> 6*7", "42", ">>> 12", "12", ">>> "]


def test_shell_arrows_home_end_delete(rt):
    (out, _, _, _, _) = drive(
        rt,
        "sh([b'6*2\\x1b[D\\x1b[D4\\x1b[C\\x1b[C\\r', b'*2\\x1b[H6\\x1b[F+1\\r', b'91\\x1b[D\\x1b[D\\x1b[3~\\r',"
        " b'5\\x1bOH(\\x1bOF)\\r'])",
    )[0]
    assert screen(out)[-9:] == [">>> 64*2", "128", ">>> 6*2+1", "13", ">>> 1", "1", ">>> (5)", "5", ">>> "]


def test_shell_utf8_editing(rt):
    # a two-byte character is one cursor step and one backspace
    body = r"""sh([b"x = 'h\xc3\xa9'\x1b[D\x1b[D\x7fa\x1b[C\x7f\xc3\xb6\r", b"print(x, len(x))\r"])"""
    (out, _, _, _, _) = drive(rt, body)[0]
    assert screen(out)[-4:] == [">>> x = 'a\u00f6'", ">>> print(x, len(x))", "a\u00f6 2", ">>> "]


def test_shell_emacs_keys(rt):
    (out, _, _, _, _) = drive(
        rt, "sh([b'xyz\\x01\\x0b40+2\\r', b'junk\\x151+1\\r', b'2\\x01(\\x05)*3\\r', b'1\\x02\\x029\\x06\\r'])"
    )[0]
    assert screen(out)[-9:] == [">>> 40+2", "42", ">>> 1+1", "2", ">>> (2)*3", "6", ">>> 91", "91", ">>> "]


def test_shell_history(rt):
    (out, _, _, _, _) = drive(
        rt, "sh([b'6*7\\r', b'1+1\\r', b'\\x1b[A\\x1b[A\\r', b'\\x1b[A\\x1b[A\\x1b[B\\r', b'\\x1b[B\\x1b[B\\r'])"
    )[0]
    assert screen(out)[-10:] == [
        ">>> 6*7", "42", ">>> 1+1", "2", ">>> 6*7", "42", ">>> 6*7", "42", ">>> ", ">>> "
    ]


def test_shell_ctrl_c_cancels_line_and_block(rt):
    (out, err, _, closed, _) = drive(
        rt, "sh([b'1/0', b'\\x03', b'5\\r', b'for i in range(2):\\r', b'print(i)\\x03', b'7\\r'])"
    )[0]
    lines = screen(out)
    assert lines[-10:] == [
        ">>> 1/0", "KeyboardInterrupt", ">>> 5", "5", ">>> for i in range(2):", "...     print(i)",
        "KeyboardInterrupt", ">>> 7", "7", ">>> "
    ]
    assert b"ZeroDivisionError" not in out and err == b"" and not closed


def test_shell_ctrl_c_via_poll_interrupts_loop(rt):
    body = """
n = [0]
def poll():
    n[0] += 1
    return b"x=5\\r\\x03y" if n[0] == 4 else b""
sh([b"i = 0\\r", b"while True:\\rprint(i); i += 1\\r\\x7f\\r", b"=1\\r", b"print(x, y, i)\\r"], poll=poll)
print(n[0])
"""
    got = drive(rt, body)
    (out, err, closed, _, _) = got[0]
    lines = screen(out)
    i = lines.index("... ")
    assert lines[i + 1 : i + 5] == ["0", "1", "2", "3"]
    assert lines[i + 5] == "KeyboardInterrupt" and err == b"KeyboardInterrupt\r\n"
    # bytes around the Ctrl-C stayed as typed input; the session went on
    assert lines[i + 6 :] == [">>> x=5", ">>> y=1", ">>> print(x, y, i)", "5 1 3", ">>> "]
    assert closed == [False] * 4
    assert got[1] > 4  # poll went on being called by the later prints


def test_shell_ctrl_d(rt):
    got = drive(rt, "sh([b'12\\x04', b'\\r', b'\\x04', b'1\\r'])\nsh([b'for i in (1,):\\r', b'i\\r', b'\\x04', b'\\x7f\\x04'])")
    (out, _, closed, isclosed, status) = got[0]
    assert closed == [False, False, True, True] and isclosed and status == 0
    assert screen(out)[-4:] == [">>> 12", "12", ">>> ", ""]  # nothing ran after Ctrl-D
    # Ctrl-D in a block ends the block and runs it, once the line holds nothing, not even
    # its auto-indent (as MicroPython's REPL)
    (out, _, closed, _, _) = got[1]
    assert closed == [False] * 4 and screen(out)[-4:] == ["...     i", "... ", "1", ">>> "]


def test_shell_paste_mode(rt):
    body = r"""
sh([b"\x05", b"def f(x):\r\n\r\n    return x * 2\rprint(f(21))\ry = 1\n", b"\x04", b"y + f(1)\r"])
sh([b"\x05print('no')\r", b"\x03", b"2\r"])
"""
    got = drive(rt, body)
    lines = screen(got[0][0])
    i = lines.index("paste mode; Ctrl-C to cancel, Ctrl-D to finish")
    assert lines[i + 1 :] == [
        "=== def f(x):", "=== ", "===     return x * 2", "=== print(f(21))", "=== y = 1", "=== ",
        "42", ">>> y + f(1)", "3", ">>> "
    ]
    lines = screen(got[1][0])
    assert lines[-5:] == ["=== print('no')", "=== ", ">>> 2", "2", ">>> "]
    assert "no" not in lines


def test_shell_input(rt):
    body = r"""
sh([b"n = input('name? ')\r", b"print('hi', n)\r"], stdin="bob\x7fb\r")
sh([b"n = input()\r", b"print(n * 2)\r"], stdin="ab\rignored")
sh([b"n = input(); print(n)\rtyped ahead\r"], stdin="")
sh([b"input()\r", b"1\r"], stdin="\x04")
sh([b"import sys\r", b"for x in sys.stdin: print(len(x))\r", b"\r", b"input()\r"], stdin="ab\rcde\r\x04x\x03")
"""
    got = drive(rt, body)
    assert screen(got[0][0])[-5:] == [">>> n = input('name? ')", "name? bob", ">>> print('hi', n)", "hi bob", ">>> "]
    assert screen(got[1][0])[-5:-1] == [">>> n = input()", "ab", ">>> print(n * 2)", "abab"]
    assert screen(got[2][0])[-4:-1] == [">>> n = input(); print(n)", "typed ahead", "typed ahead"]
    assert re.search(rb"\nEOFError:? ?\r\n$", got[3][1]) and screen(got[3][0])[-3:] == [">>> 1", "1", ">>> "]
    assert b"repl.py" not in got[3][1]
    assert screen(got[4][0])[-9:-2] == ["... ", "ab", "3", "cde", "4", ">>> input()", "x"]
    assert got[4][1] == b"KeyboardInterrupt\r\n"


def test_shell_input_fed_from_inside_read(rt):
    # an SSH layer may deliver typed bytes through feed() while stdin.read(1) pumps
    body = r"""
class Pump:
    def read(self, n=-1):
        calls.append(n)
        r.feed(b"bob\r")
        return ""
calls = []
log = []
r = Repl(log.append, log.append, Pump())
r.feed(b"n = input('? ')\r")
r.feed(b"print(n * 2)\r")
print(repr((b"".join(log), calls)))
"""
    (out, calls) = drive(rt, body)[0]
    assert screen(out)[-5:] == [">>> n = input('? ')", "? bob", ">>> print(n * 2)", "bobbob", ">>> "]
    assert calls == [1]


def test_shell_streams_and_line_ends(rt):
    body = r"""
sh([b"import sys; sys.stdout.write('a\\nb\\n'); print('c', file=sys.stderr)\r"])
"""
    (out, err, _, _, _) = drive(rt, body)[0]
    assert err == b"c\r\n" and b"a\r\nb\r\n" in out
    assert b"\n" not in out.replace(b"\r\n", b"")


def test_shell_exception_and_globals(rt):
    body = r"""
g = {"preset": 40}
sh([b"def f():\r", b"return 1/0\r", b"\x7f\r", b"f()\r", b"preset + 2\r"], g=g)
print(repr(sorted(k for k in g if not k.startswith("__") and k not in ("print", "input", "_"))))
"""
    got = drive(rt, body)
    (out, err, _, _, _) = got[0]
    assert b"ZeroDivisionError" in err and err.startswith(b"Traceback") and b"repl.py" not in err
    assert screen(out)[-2:] == ["42", ">>> "]
    assert got[1] == ["f", "preset"]


def test_shell_system_exit(rt):
    (out, _, closed, isclosed, status) = drive(rt, "sh([b'1\\r', b'raise SystemExit(5)\\r', b'2\\r'])")[0]
    assert closed == [False, True, True] and isclosed and status == 5
    assert not out.endswith(b">>> ")


# shell without a pty


def test_shell_no_pty_plain(rt):
    body = r"""
sh([b"x=2\nprint(x*3)\n", b"6*", b"7\r\nfor i in range(2):\n print(i)\n\n"], pty=False)
sh([b"if 1:\n print('at eof')"], pty=False, eof=True)
sh([b"1/0\nprint('next')\n"], pty=False)
"""
    got = drive(rt, body)
    assert got[0][0] == b"6\n42\n0\n1\n" and got[0][2] == [False, False, False]
    assert got[1][0] == b"at eof\n" and got[1][3]
    out, err = got[2][0], got[2][1]
    assert b"ZeroDivisionError" in err and out.endswith(b"next\n") and b"\r" not in out


# MicroPython's REPL behaviour (py/repl.c, lib/mp-readline): auto-indent and Tab completion


def test_shell_auto_indent_levels_and_block_end(rt):
    # deeper after ":", as deep as the line before otherwise; two Enters on lines of only the
    # indent give an empty line, and a third runs the block
    (out, _, _, _, _) = drive(
        rt, "sh([b'if 1:\\r', b'if 2:\\r', b'x = 1\\r', b'\\x7fy = 2\\r', b'\\r', b'\\r', b'\\r', b'(x, y)\\r'])"
    )[0]
    assert screen(out)[-10:] == [
        ">>> if 1:", "...     if 2:", "...         x = 1", "...     y = 2", "...     ", "...     ", "... ",
        ">>> (x, y)", "(1, 2)", ">>> "]


def test_shell_backspace_in_indent_removes_a_level(rt):
    # Backspace removes 4 spaces while only spaces (4 or more) are left of the cursor, else one
    (out, _, _, _, _) = drive(
        rt, "sh([b'if 1:\\r', b'if 1:\\r', b'b = 2\\r', b'\\x7fc = 3\\r', b'\\x7f\\r', b'b + c\\r'])")[0]
    assert screen(out)[-8:] == [
        ">>> if 1:", "...     if 1:", "...         b = 2", "...     c = 3", "... ", ">>> b + c", "5", ">>> "]
    (out, _, _, _, _) = drive(rt, "sh([b'if 1:\\r', b'\\x7f  \\x7fw = 4\\r', b'\\r', b'w\\r'])")[0]
    assert screen(out)[-6:] == [">>> if 1:", "...  w = 4", "... ", ">>> w", "4", ">>> "]


def test_shell_no_auto_indent_without_pty(rt):
    (out, _, _, _, _) = drive(rt, "sh([b'for i in range(2):\\n', b'    print(i)\\n', b'\\n'], pty=False)")[0]
    assert out == b"0\n1\n"


def test_shell_tab_completes(rt):
    body = r"""
g = {"abcdef": 1, "abcdeg": 2, "longname_x": 3, "_hidden": 4}
sh([b"longn\t + 1\r", b"abc\t\t\x15", b"import sys\r", b"sys.std\t\x15", b"sys.pa\t\r", b"_hi\t\r",
    b"  \tq = 5\r", b"nosuch.x\t\r"], g=g)
"""
    (out, _, _, _, _) = drive(rt, body)[0]
    lines = screen(out)
    i = lines.index(">>> longname_x + 1")  # one match: completed
    assert lines[i + 1] == "4"
    # several: their common prefix, then (Tab again) the list in 16-column slots, and the line again
    i = lines.index("abcdef          abcdeg")
    assert lines[i - 1] == ">>> abcde" and lines[i + 1] == ">>> import sys"
    i = [n for n, l in enumerate(lines) if l.startswith("stderr          stdin           ")][0]
    assert lines[i - 1] == ">>> sys.std"  # nothing to add: listed at once
    assert lines[i].split() == ["stderr", "stdin"] + (["stdlib_module_names"] if rt == "cpython" else ["stdout"])
    assert lines[lines.index(">>> sys.path") + 1].startswith("[")  # an attribute completed
    assert lines[lines.index(">>> _hidden") + 1] == "4"  # "_" names once "_" is typed
    assert ">>>       q = 5" in lines  # Tab in leading space: 4 spaces (then an IndentationError)
    assert lines[lines.index(">>> nosuch.x") + 1] == "Traceback (most recent call last):"  # nothing to offer


def test_shell_tab_listing_and_import_rules():
    # complete.py alone: the listing layout, "_" names, "import " for a first word matching nothing
    import builtins
    import sys
    from runtimes import LIB
    sys.path.insert(0, LIB)
    try:
        from ussh.complete import complete
    finally:
        sys.path.remove(LIB)
    names = ["argv", "atexit", "byteorder", "exc_info", "executable", "exit", "implementation", "maxsize",
             "modules", "path", "platform", "print_exception"]
    obj = type("S", (), dict.fromkeys(names + ["_private"], 0))
    # MicroPython's REPL lists its sys's attributes exactly so: 16-column slots, rows at most 64 wide
    assert complete("sys.", {"sys": obj}) == ("", [
        "argv            atexit          byteorder       exc_info",
        "executable      exit            implementation  maxsize",
        "modules         path            platform        print_exception"])
    assert complete("sys._p", {"sys": obj}) == ("rivate", ())
    assert complete("", {}) == ("    ", ())
    assert complete("x = ", {"x": 1})[1]  # an empty word: globals and builtins listed
    assert complete("imp", {}) == ("ort ", ())
    assert complete("x = imp", {}) == ("", ())
    assert complete("le", {}) == ("n", ()) and "len" in dir(builtins)
