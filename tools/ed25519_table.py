"""Write lib/ussh/crypto/ed25519_tab.py: ed25519.py's tables of multiples of B (3 KB), precomputed
on CPython with ed25519_pure._build(), so a board skips building them (frozen in a firmware they stay
in flash). host_tests/test_ed25519_table.py checks the file is what this writes.

usage: python tools/ed25519_table.py [--check]
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "lib", "ussh", "crypto", "ed25519_tab.py")


def source():
    sys.path.insert(0, os.path.join(ROOT, "lib"))
    from ussh.crypto import ed25519_pure

    tabs = ed25519_pure._build()
    assert [len(t) for t in tabs] == [512, 1024, 512, 1024]
    data = b"".join(bytes(t) for t in tabs)
    lines = [
        "# ed25519.py's tables of multiples of B, precomputed (written by tools/ed25519_table.py:",
        "# do not edit): odd B (8 points), comb 0 (16), odd B' = [2^128]B (8), comb 1 (16), each",
        "# point affine x || y, 32 bytes little-endian each. Optional: without this module",
        "# ed25519_pure.py builds the same on first use. Frozen into a firmware the bytes stay in flash.",
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
            sys.exit(0 if f.read() == text else "%s is not current: run tools/ed25519_table.py" % OUT)
    with open(OUT, "w") as f:
        f.write(text)
    print("wrote", os.path.relpath(OUT, ROOT))
