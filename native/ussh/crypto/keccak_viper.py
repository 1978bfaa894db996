# Keccak-f[1600] (FIPS 202 section 3.3) as MicroPython viper code, the fast
# path of sha3.py on ports with a native emitter. The state is sha3.py's
# 200-byte bytearray read as 50 little-endian 32-bit words, lane i in words
# 2i (bits 0-31) and 2i + 1 (bits 32-63), so every operation is on 32 bits:
# the words are read as uint (right shifts are logical on a 32-bit port) and
# bits that a left shift pushes above bit 31 on a 64-bit port are dropped by
# the 32-bit store before anything shifts them right.
import micropython  # noqa: F401 (the compiled source's decorator)

# FIPS 202 section 3.2.5: the round constants as (low, high) 32-bit words, sha3.py's
# table (sha3.rc_words), taken on the first permutation
_RC = None
# [0:25] rho offsets of lanes 0..24; [25:50] pi: where lane i goes;
# [50:60] theta: for word w of a column parity, the words of columns x+1
# and x-1; [60:80] chi: for word w of a row, the same word of lanes x+1, x+2
_TAB = (
    b"\x00\x01\x3e\x1c\x1b\x24\x2c\x06\x37\x14\x03\x0a\x2b\x19\x27\x29\x2d\x0f\x15\x08\x12\x02\x3d\x38\x0e"
    b"\x00\x0a\x14\x05\x0f\x10\x01\x0b\x15\x06\x07\x11\x02\x0c\x16\x17\x08\x12\x03\x0d\x0e\x18\x09\x13\x04"
    b"\x02\x04\x06\x08\x00\x08\x00\x02\x04\x06"
    b"\x02\x03\x04\x05\x06\x07\x08\x09\x00\x01\x04\x05\x06\x07\x08\x09\x00\x01\x02\x03"
)
_T = bytearray(240)  # scratch: B of rho and pi in words 0..49, C of theta in 50..59


# The viper function is in the source, so mpy-cross -march=... (make mpy
# BOARD=..., a frozen firmware) writes its machine code into the .mpy: a
# board compiles nothing at import. From the .py the port's own emitter
# compiles it at import (time and heap at the server's start); a .mpy for
# another arch, or a port without native code, fails to import, and
# sha3.py uses its portable permutation.
@micropython.viper
def _perm(s: ptr32, t: ptr32, rc: ptr32, tab: ptr8):
    for r in range(24):
        # theta: column parities C[x] (words 2x, 2x + 1), then
        # D[x] = C[x - 1] ^ ROT(C[x + 1], 1) into each lane of column x
        w = 0
        while w < 10:
            t[50 + w] = s[w] ^ s[w + 10] ^ s[w + 20] ^ s[w + 30] ^ s[w + 40]
            w += 1
        w = 0
        while w < 10:
            p = 50 + int(tab[50 + (w >> 1)])
            lo = uint(t[p])
            hi = uint(t[p + 1])
            q = 50 + int(tab[55 + (w >> 1)])
            dlo = uint(t[q]) ^ (lo << 1) ^ (hi >> 31)
            dhi = uint(t[q + 1]) ^ (hi << 1) ^ (lo >> 31)
            y = w
            while y < 50:
                s[y] = s[y] ^ dlo
                s[y + 1] = s[y + 1] ^ dhi
                y += 10
            w += 2
        # rho and pi: lane i rotated left by tab[i] into B at lane tab[25 + i]
        i = 0
        while i < 25:
            lo = uint(s[2 * i])
            hi = uint(s[2 * i + 1])
            n = uint(tab[i])
            if n >= uint(32):
                v = lo
                lo = hi
                hi = v
                n -= uint(32)
            if n:
                v = (lo << n) | (hi >> (uint(32) - n))
                hi = (hi << n) | (lo >> (uint(32) - n))
                lo = v
            j = 2 * int(tab[25 + i])
            t[j] = lo
            t[j + 1] = hi
            i += 1
        # chi: A[x] = B[x] ^ (~B[x + 1] & B[x + 2]) along each row
        y = 0
        while y < 50:
            w = 0
            while w < 10:
                s[y + w] = t[y + w] ^ ((t[y + int(tab[60 + w])] ^ -1) & t[y + int(tab[70 + w])])
                w += 1
            y += 10
        # iota
        s[0] = s[0] ^ rc[2 * r]
        s[1] = s[1] ^ rc[2 * r + 1]


def keccak_f1600(s):
    """Keccak-f[1600] in place on s, the 200-byte state (lane i in bytes
    8i..8i+7, little-endian)."""
    global _RC
    if _RC is None:
        from ussh.crypto.sha3 import rc_words

        _RC = rc_words()
    _perm(s, _T, _RC, _TAB)
