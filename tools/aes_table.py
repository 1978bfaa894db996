"""Write lib/ussh/crypto/aes_tab.py: aes_viper.py's AES tables (Te0..Te3 as 16-bit halves, then the
S-box: 4352 bytes), precomputed on CPython by aes_viper._tables' own code, so a board's first AES key
skips building them and aes_pure's lists (frozen in a firmware the bytes stay in flash).
host_tests/test_aes.py checks the file is what this writes.

usage: python tools/aes_table.py [--check]
"""
import ast
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "lib", "ussh", "crypto", "aes_tab.py")


def table():
    # aes_viper._tables itself, run here as where aes_tab.py is not installed (its import fails):
    # CPython cannot import that viper module, so the function alone is taken from its source
    sys.path.insert(0, os.path.join(ROOT, "lib"))
    from ussh.crypto import aes_pure

    path = os.path.join(ROOT, "native", "ussh", "crypto", "aes_viper.py")
    with open(path) as f:
        tree = ast.parse(f.read())
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_tables"]
    ns = {"__name__": "aes_viper", "__package__": "", "aes_pure": aes_pure, "struct": struct, "_T": None}
    exec(compile(ast.Module(body=fn, type_ignores=[]), path, "exec"), ns)
    return bytes(ns["_tables"]())


def source():
    data = table()
    lines = [
        "# aes_viper.py's tables, precomputed (written by tools/aes_table.py: do not edit): Te0..Te3",
        "# (256 words each, as little-endian (lo, hi) 16-bit halves), then the S-box. Optional:",
        "# without this module aes_viper.py builds the same on first use.",
        "TABLE = (",
    ]
    for i in range(0, len(data), 32):
        lines.append('    b"%s"' % "".join("\\x%02x" % c for c in data[i : i + 32]))
    lines.append(")")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = source()
    if "--check" in sys.argv:
        with open(OUT) as f:
            sys.exit(0 if f.read() == text else "%s is not current: run tools/aes_table.py" % OUT)
    with open(OUT, "w") as f:
        f.write(text)
