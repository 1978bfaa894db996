"""Write lib/ussh/crypto/aes_tab.py: aes_viper.py's AES tables (Te0..Te3 as 16-bit halves, then the
S-box: 4352 bytes), precomputed on CPython from aes_pure._tables(), so a board's first AES key
skips building them and aes_pure's lists (frozen in a firmware the bytes stay in flash).
host_tests/test_aes.py checks the file is what this writes.

usage: python tools/aes_table.py [--check]
"""
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "lib", "ussh", "crypto", "aes_tab.py")


def table():
    sys.path.insert(0, os.path.join(ROOT, "lib"))
    from ussh.crypto import aes_pure

    S, A, B, C, D = aes_pure._tables()
    t = bytearray(4096 + 256)
    for x in range(256):
        # as aes_viper._tables: Te0 = (A, B), Te1 = (C, D), Te2 = (B, A), Te3 = (D, C), (hi, lo)
        struct.pack_into("<HH", t, 4 * x, B[x], A[x])
        struct.pack_into("<HH", t, 1024 + 4 * x, D[x], C[x])
        struct.pack_into("<HH", t, 2048 + 4 * x, A[x], B[x])
        struct.pack_into("<HH", t, 3072 + 4 * x, C[x], D[x])
    t[4096:] = S
    return bytes(t)


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
