# AES (FIPS 197) in counter mode (NIST SP 800-38A section 6.5), as SSH's
# aes128-ctr / aes256-ctr use it (RFC 4344 section 4): the initial counter
# block is the IV, read as a 128-bit big-endian integer and incremented by
# one per block, modulo 2^128.
#
# Three keystream backends, chosen once per AESCTR:
#   "ctr"  cryptolib's own CTR mode (mode 6), on ports built with it;
#   "ecb"  cryptolib ECB over a batch of counter blocks (e.g. the unix port);
#   "viper" aes_viper.py, aes_pure.py's tables in viper code (ports with a
#          native emitter and no cryptolib: the qemu port);
#   "pure" aes_pure.py (CPython, the webassembly port).
from ussh.compat import const, cryptolib, have_viper

_MODE_ECB = const(1)
_MODE_CTR = const(6)
# Keystream blocks made per fill: a buffer of 16 * n bytes, and for ECB the
# R and S below, as big; 64 made unix-port ECB 25% faster for 2 KB more RAM
# per AESCTR.
_BLOCKS = const(16)
_PURE_BLOCKS = const(4)


_viper = None  # whether aes_viper.py (optional) loads here; asked once


def _viper_ok():
    global _viper
    if _viper is None:
        _viper = False
        if have_viper():
            try:
                from . import aes_viper  # noqa: F401

                _viper = True
            except ImportError:
                pass
    return _viper


def _xor(d, k):
    # d ^= k over equal-length buffers, as one big-integer operation in C
    # (a viper byte loop measured only 1.2-1.5x faster on the unix port:
    # not worth its .mpy bytes and a second code path).
    n = len(d)
    d[:] = (int.from_bytes(d, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


class AESCTR:
    """AES-CTR keystream for a 16/24/32-byte key and 16-byte initial counter
    block iv. apply(buf, start, end) xors the next end-start keystream bytes
    into buf[start:end] in place (buf: bytearray or writable memoryview);
    the stream continues across calls of any length, so encryption and
    decryption are the same call.

    backend: None (the best available), or "ctr", "ecb", "viper", "pure"
    for tests and benchmarks."""

    def __init__(self, key, iv, backend=None):
        if len(key) not in (16, 24, 32) or len(iv) != 16:
            raise ValueError("AES key/IV size")
        if backend is None:
            backend = "pure"
            if cryptolib:
                try:
                    cryptolib.aes(key, _MODE_CTR, iv)
                    backend = "ctr"
                except (ValueError, OSError):
                    backend = "ecb"
            elif _viper_ok():
                backend = "viper"
        self.backend = backend
        self._ctr = int.from_bytes(iv, "big")
        self._pos = 0
        self._have = 0
        if backend == "ctr":
            self._aes = cryptolib.aes(key, _MODE_CTR, iv)
            return
        if backend == "ecb":
            self._aes = cryptolib.aes(key, _MODE_ECB)
            # R = sum of 2^(128 j) for j < n = _BLOCKS, S = sum of
            # (n-1-j) 2^(128 j): geometric series over B = 2^128 (B - 1 = m).
            n = _BLOCKS  # (a variable: mpy-cross would fold 2^(128 n) into 600 digits)
            m = (1 << 128) - 1
            r = ((1 << 128 * n) - 1) // m
            self._rs = (r, (r - n) // m)
        elif backend == "pure":
            from .aes_pure import expand_key, prepare

            self._rk = prepare(expand_key(key))
        elif backend == "viper":
            from .aes_viper import expand_key

            self._rk = expand_key(key)
        else:
            raise ValueError(backend)
        # the pure backend's blocks cost the same made one batch or several: a small batch
        # (_PURE_BLOCKS), 192 B less for each direction of a connection on a board
        self._ks = memoryview(bytearray(16 * (_PURE_BLOCKS if backend == "pure" else _BLOCKS)))

    def wipe(self):
        """Overwrites the keystream not used yet (the connection or key
        exchange is over). The expanded key is held by cryptolib, or as
        Python ints, which cannot be overwritten."""
        if self.backend != "ctr":
            ks = self._ks
            for i in range(len(ks)):  # in place: no heap (a connection out of memory ends here too)
                ks[i] = 0
            self._pos = self._have = 0

    def apply(self, buf, start=0, end=None):
        """XOR the keystream into buf[start:end] in place."""
        mv = memoryview(buf)
        if end is None:
            end = len(mv)
        if self.backend == "ctr":
            part = mv[start:end]
            self._aes.encrypt(part, part)
            return
        ks = self._ks
        pos = self._pos
        have = self._have
        while start < end:
            if pos == have:
                pos = 0
                have = 16 * self._fill(min(len(ks) >> 4, (end - start + 15) >> 4))
            n = min(end - start, have - pos)
            _xor(mv[start:start + n], ks[pos:pos + n])
            start += n
            pos += n
        self._pos = pos
        self._have = have

    def _fill(self, n):
        # n keystream blocks into self._ks from the counter, which moves on
        # by n, modulo 2^128; fewer at the wrap. Returns how many.
        c = self._ctr
        if self.backend == "pure":
            from .aes_pure import encrypt_ctr

            self._ctr = encrypt_ctr(self._rk, self._ks, c, n)
            return n
        if self.backend == "viper":
            from .aes_viper import encrypt_ctr

            self._ctr = encrypt_ctr(self._rk, self._ks, c, n)
            return n
        # ECB: counter blocks c, c+1, ..., c+n-1 written as one integer
        # c*R + S (R = sum of 2^(128 j), S = the offsets 0..n-1 in the same
        # layout), stopping at the 2^128 wrap, then encrypted with one call.
        c_end = c + n
        if c_end >> 128:
            n -= c_end & (1 << 128) - 1
            c_end = 0
        r, s = self._rs
        shift = 128 * (_BLOCKS - n)
        ks = self._ks[:16 * n]
        ks[:] = (c * (r >> shift) + (s >> shift)).to_bytes(16 * n, "big")
        self._aes.encrypt(ks, ks)
        self._ctr = c_end
        return n
