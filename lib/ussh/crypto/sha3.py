# SHA-3 and SHAKE (FIPS 202): Keccak-f[1600] on a 200-byte state (lane i
# in bytes 8i..8i+7, little-endian, FIPS 202 B.1), a sponge, and the four
# functions ML-KEM uses (FIPS 203 section 4.1). The permutation is
# keccak_viper.py's 32-bit viper code where the port has viper, else the
# portable one below on 64-bit Python ints. Loaded only by the post-quantum
# key exchange, never by ussh.crypto itself.
import struct

from ussh.compat import const, have_thumb, have_viper

_M64 = const(0xFFFFFFFFFFFFFFFF)

# FIPS 202 section 3.2.5: the round constants RC[0..23] of iota
_RC = (
    0x1, 0x8082, 0x800000000000808A, 0x8000000080008000, 0x808B, 0x80000001,
    0x8000000080008081, 0x8000000000008009, 0x8A, 0x88, 0x80008009, 0x8000000A,
    0x8000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x80000001, 0x8000000080008008,
)
_RCW = None  # the same as (low, high) 32-bit little-endian words: rc_words()


def rc_words():
    """The round constants as 24 (low, high) pairs of little-endian 32-bit
    words, 192 bytes: the table the fast permutations (keccak_viper.py,
    keccak_thumb.py) read, made from _RC on first use and shared."""
    global _RCW
    if _RCW is None:
        _RCW = bytearray(192)
        for i, rc in enumerate(_RC):
            _RCW[8 * i : 8 * i + 8] = rc.to_bytes(8, "little")
    return _RCW


def keccak_f1600_pure(s):
    """Keccak-f[1600] (FIPS 202 section 3.3) in place on s, the 200-byte
    state; lane (x, y) is lane x + 5*y. Portable: 64-bit Python ints."""
    # One round written out on 25 locals (MicroPython indexes a list far
    # slower than it reads a local): theta's column parities c and their
    # mixes d; rho's rotations and pi's move into b; chi back into a; iota.
    M = _M64
    (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12,
     a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24) = struct.unpack("<25Q", s)
    for rc in _RC:
        c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20
        c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21
        c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22
        c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23
        c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24
        d0 = c4 ^ ((c1 << 1) & M | c1 >> 63)
        d1 = c0 ^ ((c2 << 1) & M | c2 >> 63)
        d2 = c1 ^ ((c3 << 1) & M | c3 >> 63)
        d3 = c2 ^ ((c4 << 1) & M | c4 >> 63)
        d4 = c3 ^ ((c0 << 1) & M | c0 >> 63)
        b0 = a0 ^ d0
        t = a1 ^ d1
        b10 = (t << 1) & M | t >> 63
        t = a2 ^ d2
        b20 = (t << 62) & M | t >> 2
        t = a3 ^ d3
        b5 = (t << 28) & M | t >> 36
        t = a4 ^ d4
        b15 = (t << 27) & M | t >> 37
        t = a5 ^ d0
        b16 = (t << 36) & M | t >> 28
        t = a6 ^ d1
        b1 = (t << 44) & M | t >> 20
        t = a7 ^ d2
        b11 = (t << 6) & M | t >> 58
        t = a8 ^ d3
        b21 = (t << 55) & M | t >> 9
        t = a9 ^ d4
        b6 = (t << 20) & M | t >> 44
        t = a10 ^ d0
        b7 = (t << 3) & M | t >> 61
        t = a11 ^ d1
        b17 = (t << 10) & M | t >> 54
        t = a12 ^ d2
        b2 = (t << 43) & M | t >> 21
        t = a13 ^ d3
        b12 = (t << 25) & M | t >> 39
        t = a14 ^ d4
        b22 = (t << 39) & M | t >> 25
        t = a15 ^ d0
        b23 = (t << 41) & M | t >> 23
        t = a16 ^ d1
        b8 = (t << 45) & M | t >> 19
        t = a17 ^ d2
        b18 = (t << 15) & M | t >> 49
        t = a18 ^ d3
        b3 = (t << 21) & M | t >> 43
        t = a19 ^ d4
        b13 = (t << 8) & M | t >> 56
        t = a20 ^ d0
        b14 = (t << 18) & M | t >> 46
        t = a21 ^ d1
        b24 = (t << 2) & M | t >> 62
        t = a22 ^ d2
        b9 = (t << 61) & M | t >> 3
        t = a23 ^ d3
        b19 = (t << 56) & M | t >> 8
        t = a24 ^ d4
        b4 = (t << 14) & M | t >> 50
        a0 = b0 ^ (b1 ^ M) & b2
        a1 = b1 ^ (b2 ^ M) & b3
        a2 = b2 ^ (b3 ^ M) & b4
        a3 = b3 ^ (b4 ^ M) & b0
        a4 = b4 ^ (b0 ^ M) & b1
        a5 = b5 ^ (b6 ^ M) & b7
        a6 = b6 ^ (b7 ^ M) & b8
        a7 = b7 ^ (b8 ^ M) & b9
        a8 = b8 ^ (b9 ^ M) & b5
        a9 = b9 ^ (b5 ^ M) & b6
        a10 = b10 ^ (b11 ^ M) & b12
        a11 = b11 ^ (b12 ^ M) & b13
        a12 = b12 ^ (b13 ^ M) & b14
        a13 = b13 ^ (b14 ^ M) & b10
        a14 = b14 ^ (b10 ^ M) & b11
        a15 = b15 ^ (b16 ^ M) & b17
        a16 = b16 ^ (b17 ^ M) & b18
        a17 = b17 ^ (b18 ^ M) & b19
        a18 = b18 ^ (b19 ^ M) & b15
        a19 = b19 ^ (b15 ^ M) & b16
        a20 = b20 ^ (b21 ^ M) & b22
        a21 = b21 ^ (b22 ^ M) & b23
        a22 = b22 ^ (b23 ^ M) & b24
        a23 = b23 ^ (b24 ^ M) & b20
        a24 = b24 ^ (b20 ^ M) & b21
        a0 ^= rc
    struct.pack_into("<25Q", s, 0, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12,
                     a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24)


keccak_f1600 = keccak_f1600_pure
KECCAK = "portable"  # which permutation keccak_f1600 is: "thumb", "viper" or "portable"
if have_thumb():
    try:
        # ARM boards: Thumb assembler (keccak_thumb.py, frozen or built for armv6m/armv7m only)
        from ussh.crypto import keccak_thumb as _m

        keccak_f1600 = _m.keccak_f1600
        KECCAK = "thumb"
    except Exception:  # not installed (mip leaves it out), or a port without the inline assembler
        pass
if KECCAK == "portable" and have_viper():
    try:
        from ussh.crypto import keccak_viper as _m

        keccak_f1600 = _m.keccak_f1600
        KECCAK = "viper"
    except ImportError:  # a bytecode-only build (mpy-cross without -march) leaves it out
        pass


def _xor_in(s, block):
    # the next block of input into the first len(block) bytes of the state
    n = len(block)
    s[:n] = (int.from_bytes(s[:n], "little") ^ int.from_bytes(block, "little")).to_bytes(n, "little")


class Sponge:
    """A Keccak[c] sponge (FIPS 202 section 4) absorbing data at once:
    rate in bytes, pad the domain bits with the first pad bit (0x06 for
    SHA-3, 0x1F for SHAKE, section 6 and B.2). read(n) squeezes the next n
    bytes of output, as often as wanted."""

    def __init__(self, rate, pad, data):
        s = bytearray(200)
        mv = memoryview(data)
        n = len(mv)
        off = 0
        while n - off >= rate:
            _xor_in(s, mv[off : off + rate])
            keccak_f1600(s)
            off += rate
        # section 5.1 pad10*1 after the domain bits
        last = bytearray(rate)
        last[: n - off] = mv[off:]
        last[n - off] = pad
        last[rate - 1] |= 0x80
        _xor_in(s, last)
        self.s = s
        self.rate = rate
        self.out = b""
        self.pos = 0

    def read(self, n):
        out = self.out
        pos = self.pos
        if pos + n > len(out):
            s = self.s
            r = self.rate
            parts = [out[pos:]]
            have = len(out) - pos
            while have < n:
                keccak_f1600(s)
                parts.append(bytes(s[:r]))
                have += r
            out = self.out = b"".join(parts)
            pos = 0
        self.pos = pos + n
        return out[pos : pos + n]


def sha3_256(data):
    """SHA3-256(data), 32 bytes (FIPS 202 section 6.1)."""
    return Sponge(136, 0x06, data).read(32)


def sha3_512(data):
    """SHA3-512(data), 64 bytes (FIPS 202 section 6.1)."""
    return Sponge(72, 0x06, data).read(64)


def shake128(data, n):
    """The first n bytes of SHAKE128(data) (FIPS 202 section 6.2)."""
    return Sponge(168, 0x1F, data).read(n)


def shake256(data, n):
    """The first n bytes of SHAKE256(data) (FIPS 202 section 6.2)."""
    return Sponge(136, 0x1F, data).read(n)
