# SHA-512 (FIPS 180-4): the runtime's hashlib where it has one, else
# sha512_viper.py where the port has viper, else the pure-Python hash of
# sha512_pure.py (MicroPython ports ship sha256 only); only the one chosen is
# loaded, so the heap of a port with viper holds no pure-Python hash.
from ussh.compat import have_viper, sha512 as _native


def sha512_pure(data):
    """SHA-512 of a bytes-like object, always by the pure-Python code."""
    from .sha512_pure import sha512_pure as f

    return f(data)


def _fast():
    # sha512_viper.py (optional) where the port has viper; compiling its
    # viper code needs heap that a small one may not have: then the pure code
    if have_viper():
        try:
            from .sha512_viper import sha512 as v

            return v
        except (ImportError, MemoryError):
            pass
    from .sha512_pure import sha512_pure as f

    return f


if _native is not None:

    def sha512(data):
        """SHA-512 digest (64 bytes) of a bytes-like object."""
        return _native(data).digest()

else:
    sha512 = _fast()
