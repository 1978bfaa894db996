# AES (FIPS 197) encryption as MicroPython viper code: the "viper" keystream
# backend of aes.py, for ports with a native emitter and no cryptolib (the
# qemu port: 50 times the pure backend there). aes_pure.py's T-tables and
# round keys as 32-bit words in bytearrays, read through ptr32 and combined
# with xor, & and right shifts only: no value ever exceeds 32 bits, so a
# 64-bit port computes what a 32-bit one does. Words are stored
# little-endian, as every MicroPython target reads them.
import struct

import micropython  # noqa: F401 (the compiled source's decorator)

from ussh.crypto import aes_pure

_T = None  # Te0..Te3 (1 KB each) then the S-box (256 bytes), built on first use

# Machine code in the .mpy (make mpy, a frozen firmware: mpy-cross -march),
# compiled at import from the .py elsewhere, as keccak_viper.py.
@micropython.viper
def _encrypt(b: ptr8, n: int, rk: ptr32, nr: int, te: ptr32, sb: ptr8):
    # FIPS 197 section 5.1 Cipher of the n 16-byte blocks of b, in place
    o = 0
    end = 16 * n
    while o < end:
        s0 = (uint(b[o]) << 24 | uint(b[o + 1]) << 16 | uint(b[o + 2]) << 8 | uint(b[o + 3])) ^ uint(rk[0])
        s1 = (uint(b[o + 4]) << 24 | uint(b[o + 5]) << 16 | uint(b[o + 6]) << 8 | uint(b[o + 7])) ^ uint(rk[1])
        s2 = (uint(b[o + 8]) << 24 | uint(b[o + 9]) << 16 | uint(b[o + 10]) << 8 | uint(b[o + 11])) ^ uint(rk[2])
        s3 = (uint(b[o + 12]) << 24 | uint(b[o + 13]) << 16 | uint(b[o + 14]) << 8 | uint(b[o + 15])) ^ uint(rk[3])
        k = 4
        r = 1
        while r < nr:
            t0 = uint(te[int(s0 >> 24)]) ^ uint(te[256 + int((s1 >> 16) & 255)]) ^ uint(te[512 + int((s2 >> 8) & 255)]) ^ uint(te[768 + int(s3 & 255)]) ^ uint(rk[k])
            t1 = uint(te[int(s1 >> 24)]) ^ uint(te[256 + int((s2 >> 16) & 255)]) ^ uint(te[512 + int((s3 >> 8) & 255)]) ^ uint(te[768 + int(s0 & 255)]) ^ uint(rk[k + 1])
            t2 = uint(te[int(s2 >> 24)]) ^ uint(te[256 + int((s3 >> 16) & 255)]) ^ uint(te[512 + int((s0 >> 8) & 255)]) ^ uint(te[768 + int(s1 & 255)]) ^ uint(rk[k + 2])
            s3 = uint(te[int(s3 >> 24)]) ^ uint(te[256 + int((s0 >> 16) & 255)]) ^ uint(te[512 + int((s1 >> 8) & 255)]) ^ uint(te[768 + int(s2 & 255)]) ^ uint(rk[k + 3])
            s0 = t0
            s1 = t1
            s2 = t2
            k += 4
            r += 1
        # last round: SubBytes, ShiftRows, AddRoundKey, bytes out big-endian
        t0 = (uint(sb[int(s0 >> 24)]) << 24 | uint(sb[int((s1 >> 16) & 255)]) << 16 | uint(sb[int((s2 >> 8) & 255)]) << 8 | uint(sb[int(s3 & 255)])) ^ uint(rk[k])
        t1 = (uint(sb[int(s1 >> 24)]) << 24 | uint(sb[int((s2 >> 16) & 255)]) << 16 | uint(sb[int((s3 >> 8) & 255)]) << 8 | uint(sb[int(s0 & 255)])) ^ uint(rk[k + 1])
        t2 = (uint(sb[int(s2 >> 24)]) << 24 | uint(sb[int((s3 >> 16) & 255)]) << 16 | uint(sb[int((s0 >> 8) & 255)]) << 8 | uint(sb[int(s1 & 255)])) ^ uint(rk[k + 2])
        t3 = (uint(sb[int(s3 >> 24)]) << 24 | uint(sb[int((s0 >> 16) & 255)]) << 16 | uint(sb[int((s1 >> 8) & 255)]) << 8 | uint(sb[int(s2 & 255)])) ^ uint(rk[k + 3])
        b[o] = t0 >> 24
        b[o + 1] = t0 >> 16
        b[o + 2] = t0 >> 8
        b[o + 3] = t0
        b[o + 4] = t1 >> 24
        b[o + 5] = t1 >> 16
        b[o + 6] = t1 >> 8
        b[o + 7] = t1
        b[o + 8] = t2 >> 24
        b[o + 9] = t2 >> 16
        b[o + 10] = t2 >> 8
        b[o + 11] = t2
        b[o + 12] = t3 >> 24
        b[o + 13] = t3 >> 16
        b[o + 14] = t3 >> 8
        b[o + 15] = t3
        o += 16


def _tables():
    # (tools/aes_table.py runs this function's own code on CPython to write aes_tab.py)
    global _T
    if _T is None:
        try:
            # precomputed (aes_tab.py, optional; in flash when frozen), copied to RAM: ptr32
            # reads need an aligned buffer
            from .aes_tab import TABLE

            _T = bytearray(TABLE)
            return _T
        except ImportError:
            pass
        S, A, B, C, D = aes_pure._tables()
        t = bytearray(4096 + 256)
        for x in range(256):
            # Te0 = (A, B), Te1 = (C, D), Te2 = (B, A), Te3 = (D, C) as (hi, lo)
            struct.pack_into("<HH", t, 4 * x, B[x], A[x])
            struct.pack_into("<HH", t, 1024 + 4 * x, D[x], C[x])
            struct.pack_into("<HH", t, 2048 + 4 * x, A[x], B[x])
            struct.pack_into("<HH", t, 3072 + 4 * x, C[x], D[x])
        t[4096:] = S
        _T = t
    return _T


def expand_key(key):
    """FIPS 197 section 5.2 KeyExpansion of a 16-, 24- or 32-byte key: (round
    keys as 32-bit words in a bytearray, number of rounds)."""
    rk = aes_pure.expand_key(key, memoryview(_tables())[4096:])  # (hi, lo) halves
    w = bytearray(2 * len(rk))
    for i in range(0, len(rk), 2):
        struct.pack_into("<HH", w, 2 * i, rk[i + 1], rk[i])
    return w, len(rk) // 8 - 1


def encrypt_ctr(rk, ks, c, n):
    """The n counter blocks c, c+1, .. (mod 2^128) encrypted into ks[:16*n]
    (ks: bytearray or memoryview); returns the next counter. rk: expand_key()."""
    T = _tables()
    for j in range(n):
        ks[16 * j : 16 * j + 16] = c.to_bytes(16, "big")
        c += 1
        if c >> 128:
            c = 0
    _encrypt(ks, n, rk[0], rk[1], T, memoryview(T)[4096:])
    return c
