"""lib/ussh/crypto/ed25519_tab.py, the precomputed tables of ed25519.py: current (what
tools/ed25519_table.py writes from ed25519_pure._build()), and used when present."""
import os
import subprocess
import sys

from runtimes import ROOT, run


def test_table_module_is_current():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "ed25519_table.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_built_table_equals_module_on_micropython():
    # the 32-bit-safe build path and the module agree on MicroPython too, and _table() takes
    # the module's bytes (memoryviews, no copy)
    out = run("unix", (
        "from ussh.crypto import ed25519, ed25519_pure\n"
        "from ussh.crypto.ed25519_tab import TABLE\n"
        "t = ed25519._table()\n"
        "print(type(t[0]).__name__, b''.join([bytes(x) for x in t]) == TABLE,\n"
        "      b''.join([bytes(x) for x in ed25519_pure._build()]) == TABLE)\n"))
    assert out.split() == ["memoryview", "True", "True"]
