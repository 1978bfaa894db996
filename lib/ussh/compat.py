# Every difference between MicroPython and CPython lives here; nothing else in
# ussh looks at sys.implementation.
import sys

MICROPYTHON = sys.implementation.name == "micropython"

if MICROPYTHON:
    from micropython import const  # noqa: F401
else:

    def const(x):
        return x


try:
    from os import urandom as _urandom
except ImportError:
    _urandom = None


def urandom(n):
    """n bytes from the operating system's random source; raises OSError
    when the port has none (callers then need a board entropy source)."""
    if _urandom is None:
        raise OSError("no os.urandom on this port: give ussh an entropy source")
    return _urandom(n)


try:
    import cryptolib  # MicroPython: AES-ECB/CBC (and CTR on some ports)
except ImportError:
    cryptolib = None

import hashlib

sha256 = hashlib.sha256
sha512 = getattr(hashlib, "sha512", None)  # absent on MicroPython ports

# The native code emitter: @micropython.viper exists on most boards but not on
# the webassembly port; fast paths test this flag and fall back to portable code.
try:
    import micropython

    exec("@micropython.viper\ndef _v(x:int)->int:\n return x\n")
    HAVE_VIPER = True
except Exception:
    HAVE_VIPER = False
