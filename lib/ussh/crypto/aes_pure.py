# AES (FIPS 197) encryption in Python, for the ports without cryptolib
# (CPython, the webassembly port): the "pure" keystream backend of aes.py,
# imported only when that backend is chosen.
import struct

from ussh.compat import const

_M32 = const(0xFFFFFFFF)

_T = None  # [S-box, Te0, Te1, Te2, Te3], built on first use


def _xtime(b):
    # FIPS 197 section 4.2.1: multiplication by x in GF(2^8).
    return (b << 1) ^ 0x11B if b & 0x80 else b << 1


def _tables():
    # The S-box (FIPS 197 section 5.1.1: the affine map of the inverse in
    # GF(2^8)) from a walk of the multiplicative group: p = 3^i, q = 3^-i.
    # Te0[x] = (2s, s, s, 3s) with s = S[x], each further table rotated
    # right by one byte: SubBytes, ShiftRows and MixColumns (section 5.1)
    # folded into four lookups per column.
    global _T
    if _T is None:
        S = bytearray(256)
        S[0] = 0x63
        p = q = 1
        while 1:
            p ^= _xtime(p) & 255
            q ^= q << 1
            q ^= q << 2
            q ^= q << 4
            q &= 255
            if q & 0x80:
                q ^= 9
            y = q | q << 8  # bits 8-k.. of y: q rotated left by k
            S[p] = (q ^ y >> 7 ^ y >> 6 ^ y >> 5 ^ y >> 4) & 255 ^ 0x63
            if p == 1:
                break
        t = [_xtime(s) << 24 | s << 16 | s << 8 | _xtime(s) & 255 ^ s for s in S]
        _T = [S, t]
        for _ in range(3):
            t = [(x >> 8 | x << 24) & _M32 for x in t]
            _T.append(t)
    return _T


def _sub_word(S, t):
    return S[t >> 24] << 24 | S[t >> 16 & 255] << 16 | S[t >> 8 & 255] << 8 | S[t & 255]


def expand_key(key):
    """FIPS 197 section 5.2 KeyExpansion: the 4*(Nr+1) round-key words of a
    16-, 24- or 32-byte key."""
    S = _tables()[0]
    nk = len(key) // 4
    w = list(struct.unpack(">%dI" % nk, key))
    rcon = 1
    for i in range(nk, 4 * nk + 28):
        t = w[i - 1]
        if i % nk == 0:
            # RotWord, SubWord, xor Rcon[i/Nk]
            t = _sub_word(S, (t << 8 | t >> 24) & _M32) ^ rcon << 24
            rcon = _xtime(rcon)
        elif nk > 6 and i % nk == 4:
            t = _sub_word(S, t)
        w.append(w[i - nk] ^ t)
    return w


def encrypt_ctr(rk, ks, c, n):
    """FIPS 197 section 5.1 Cipher of the n counter blocks c, c+1, ..
    (mod 2^128) into ks[:16*n]; returns the next counter."""
    S, t0, t1, t2, t3 = _tables()
    last = len(rk) - 4
    for j in range(n):
        s0 = c >> 96 ^ rk[0]
        s1 = c >> 64 & _M32 ^ rk[1]
        s2 = c >> 32 & _M32 ^ rk[2]
        s3 = c & _M32 ^ rk[3]
        k = 4
        while k < last:
            a = t0[s0 >> 24] ^ t1[s1 >> 16 & 255] ^ t2[s2 >> 8 & 255] ^ t3[s3 & 255] ^ rk[k]
            b = t0[s1 >> 24] ^ t1[s2 >> 16 & 255] ^ t2[s3 >> 8 & 255] ^ t3[s0 & 255] ^ rk[k + 1]
            d = t0[s2 >> 24] ^ t1[s3 >> 16 & 255] ^ t2[s0 >> 8 & 255] ^ t3[s1 & 255] ^ rk[k + 2]
            s3 = t0[s3 >> 24] ^ t1[s0 >> 16 & 255] ^ t2[s1 >> 8 & 255] ^ t3[s2 & 255] ^ rk[k + 3]
            s0 = a
            s1 = b
            s2 = d
            k += 4
        # last round: SubBytes, ShiftRows, AddRoundKey
        struct.pack_into(
            ">IIII",
            ks,
            16 * j,
            _sub_word(S, s0 & 0xFF000000 | s1 & 0xFF0000 | s2 & 0xFF00 | s3 & 255) ^ rk[last],
            _sub_word(S, s1 & 0xFF000000 | s2 & 0xFF0000 | s3 & 0xFF00 | s0 & 255) ^ rk[last + 1],
            _sub_word(S, s2 & 0xFF000000 | s3 & 0xFF0000 | s0 & 0xFF00 | s1 & 255) ^ rk[last + 2],
            _sub_word(S, s3 & 0xFF000000 | s0 & 0xFF0000 | s1 & 0xFF00 | s2 & 255) ^ rk[last + 3],
        )
        c += 1
        if c >> 128:
            c = 0
    return c
