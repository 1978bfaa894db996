"""ussh.lineshell on every runtime: the small heap's pty shell (a line at a time on
ussh.pyrun's Runner; a board picks it with cfg.shell, tools/qemu_small.py's 110 KB board).
Each driver prints one Python literal per line: (what the client saw, stderr part, feed()'s
results, closed, status)."""
import ast

import pytest

from runtimes import RUNTIMES, run

PRELUDE = r'''
from ussh.lineshell import Repl

class Src:
    def __init__(self, t):
        self.t = t
    def read(self, n=-1):
        r, self.t = self.t[:1], self.t[1:]
        return r

def sh(chunks, pty=True, stdin="", eof=False):
    log = []
    err = []
    def e(d):
        log.append(d)
        err.append(d)
    r = Repl(log.append, e, Src(stdin), pty=pty)
    closed = [r.feed(c) for c in chunks]
    if eof:
        r.eof()
    print(repr((b"".join(log), b"".join(err), closed, r.closed, r.status)))
'''


def drive(runtime, body):
    return [ast.literal_eval(line) for line in run(runtime, PRELUDE + body).splitlines()]


@pytest.fixture(params=RUNTIMES)
def rt(request):
    return request.param


def test_pty_runs_a_line_echoes_and_ends_at_ctrl_d(rt):
    ((out, err, closed, done, status),) = drive(rt, r'sh([b"print(6*7", b"+1)\r\n", b"x = 5\r", b"\nx\r", b"\x04"])')
    head, _, rest = out.partition(b"\r\n>>> ")
    assert b"ussh line shell" in head and b"Ctrl-D" in head
    assert rest == b"print(6*7+1)\r\n43\r\n>>> x = 5\r\n>>> x\r\n5\r\n>>> \r\n"
    assert err == b"" and closed == [False, False, False, False, True] and done and status == 0


def test_block_runs_at_an_empty_line_with_continuation_prompts(rt):
    ((out, _, closed, _, _),) = drive(rt, r'sh([b"for i in range(2):\r", b"  print(i * 3)\r", b"\r", b"(1,\r", b"2)\r"])')
    assert out.endswith(b">>> for i in range(2):\r\n...   print(i * 3)\r\n... \r\n0\r\n3\r\n>>> (1,\r\n... 2)\r\n(1, 2)\r\n>>> ")
    assert closed == [False] * 5


def test_backspace_takes_back_a_character_utf8_too(rt):
    ((out, _, _, _, _),) = drive(rt, 'sh([b"6*8\\x7f7\\r", "\'\\u00e9x\\x7f\\x7f\'\\r".encode()])')
    assert b"6*8\x08 \x087\r\n42\r\n" in out
    assert b"\x08 \x08\x08 \x08'\r\n''\r\n>>> " in out  # 'é' taken back whole (two bytes, one erase each)


def test_ctrl_c_drops_the_line_and_the_block(rt):
    ((out, _, closed, _, _),) = drive(rt, r'sh([b"abc\x03", b"if 1:\r", b"\x03", b"1+1\r"])')
    assert out.count(b"\r\nKeyboardInterrupt\r\n>>> ") == 2 and out.endswith(b"1+1\r\n2\r\n>>> ")
    assert b"NameError" not in out and closed == [False] * 4


def test_ctrl_d_ends_a_block_and_ignores_a_typed_line(rt):
    ((out, _, closed, done, _),) = drive(rt, r'sh([b"if 1:\r", b"  print(9)\r", b"\x04", b"7\x04\r", b"\x04"])')
    assert b"...   print(9)\r\n... \r\n9\r\n>>> 7\r\n7\r\n>>> \r\n" in out
    assert closed == [False, False, False, False, True] and done


def test_errors_and_input_keep_the_session(rt):
    ((out, err, closed, done, status),) = drive(
        rt, r'sh([b"1/0\r", b"x = input(\"? \")\rhello\r", b"x\r", b"raise SystemExit(3)\r"])')
    assert b"ZeroDivisionError" in err and b"lineshell.py" not in err
    assert b"x = input(\"? \")\r\n? hello\r\n>>> x\r\n'hello'\r\n>>> " in out
    assert closed == [False, False, False, True] and done and status == 3


def test_input_reads_stdin_when_nothing_is_queued(rt):
    ((out, _, _, _, _),) = drive(rt, r'sh([b"print(input() * 2)\r"], stdin="ab\r")')
    assert out.endswith(b"print(input() * 2)\r\nab\r\nabab\r\n>>> ")


def test_without_pty_lines_run_unechoed_and_eof_runs_the_rest(rt):
    ((out, err, closed, done, status),) = drive(
        rt, r'sh([b"print(1)\n", b"for i in (2, 3):\n", b"  print(i)\n"], pty=False, eof=True)')
    assert (out, err, done, status) == (b"1\n2\n3\n", b"", True, 0)
    assert closed == [False] * 3


def test_brackets_and_colons_in_strings_and_comments_do_not_open_a_block(rt):
    # a "(" or ":" inside a string or a comment leaves nothing open: the line runs at Enter (it
    # waited for a ")" that never came); a comment after a block's ":" still opens the block
    ((out, _, _, _, _),) = drive(rt, r'''sh([b'print("(", "[:")\r', b"x = 1  # (\r", b"x\r",
        b"if x:  # x is 1\r", b"  print('y')\r", b"\r"])''')
    assert b'>>> print("(", "[:")\r\n( [:\r\n>>> ' in out, out
    assert b">>> x\r\n1\r\n>>> " in out, out
    assert out.endswith(b">>> if x:  # x is 1\r\n...   print('y')\r\n... \r\ny\r\n>>> "), out


def test_a_triple_quoted_string_goes_on_across_lines(rt):
    # ussh.pysource, shared with ussh.repl: a string in triple quotes left open goes on, an empty
    # line and brackets or quotes inside it included, and runs once its quotes close (the line
    # shell's own scan ran the first line: a SyntaxError)
    ((out, err, _, _, _),) = drive(rt, r'''sh([b's = """a (\r', b"\r", b"it's: b\r", b'"""\r', b"print(len(s.split()))\r"])''')
    assert b'>>> s = """a (\r\n... \r\n... it\'s: b\r\n... """\r\n>>> print(len(s.split()))\r\n4\r\n>>> ' in out, out
    assert err == b"", err
