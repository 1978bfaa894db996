"""ussh.pysource on every runtime: whether typed source is whole (the pty shells, ussh.repl and
ussh.lineshell, run it) or goes on (a continuation prompt). One table, the block so far and its
last line; the driver prints the answers as one Python literal."""
import ast

import pytest

from runtimes import RUNTIMES, run

CASES = [
    # (block so far, its last line, goes on)
    ("x = 1", "x = 1", False),
    ("print(1", "print(1", True),
    ("print(1\n", "", True),  # an open bracket goes on at an empty line
    ("print(1\n)", ")", False),
    ('print("(", "[:")', 'print("(", "[:")', False),  # brackets and colons in strings count for nothing
    ("x = 1  # (", "x = 1  # (", False),  # nor in a comment
    ("x = 1 + \\", "x = 1 + \\", True),
    ("for i in range(2):", "for i in range(2):", True),
    ("for i in range(2):\n  print(i)", "  print(i)", True),
    ("for i in range(2):\n  print(i)\n", "", False),  # a compound statement ends at an empty line
    ("for i in range(2):\n  print(i)\n  ", "  ", True),  # not at one of spaces (ussh.repl's auto-indent)
    ("if x:  # x is 1", "if x:  # x is 1", True),  # a comment after the colon
    ("if 1: print(1)", "if 1: print(1)", True),  # a compound keyword first: MicroPython's REPL goes on
    ("@micropython.native", "@micropython.native", True),
    ("x = {1: 2}", "x = {1: 2}", False),
    ("d = {1:", "d = {1:", True),
    ('s = """a', 's = """a', True),  # a triple-quoted string left open
    ('s = """a\n', "", True),  # goes on at an empty line
    ('s = """a\n(b: #"""', '(b: #"""', False),  # and ends at its closing quotes; what it held counts for nothing
    ("s = '''it's\n'''", "'''", False),
    ("s = 'a\\'b'", "s = 'a\\'b'", False),  # an escaped quote
    ("s = 'a\n", "", False),  # a one-quote string ends with its line (the compiler reports it)
    ("x = ('\\\\', 1", "x = ('\\\\', 1", True),  # an escaped backslash, then the bracket open
    ("", "", False),
]

DRIVER = "from ussh.pysource import more\nprint(repr([more(s, t) for s, t in %r]))\n"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_more_table(runtime):
    got = ast.literal_eval(run(runtime, DRIVER % [(s, t) for s, t, _ in CASES]).strip())
    want = [m for _, _, m in CASES]
    wrong = [(CASES[i][0], want[i]) for i in range(len(CASES)) if got[i] != want[i]]
    assert not wrong, wrong


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_dec_replaces_invalid_utf8(runtime):
    out = run(runtime, "from ussh.pysource import dec\nprint([[ord(c) for c in dec(b)] for b in (b'a\\xc3\\xa9', b'a\\xffb')])\n")
    assert ast.literal_eval(out.strip()) == [[97, 0xE9], [97, 63, 98]]
