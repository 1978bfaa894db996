# AES (FIPS 197) encryption in Python, for the ports without cryptolib
# (CPython, the webassembly port): the "pure" keystream backend of aes.py,
# imported only when that backend is chosen.
import struct
from array import array

from ussh.compat import const

_M32 = const(0xFFFFFFFF)
_M16 = const(0xFFFF)
_M128 = const(0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF)

# Words are kept as 16-bit halves (hi, lo): on a 32-bit port an int of 31
# bits or more is a heap object, and tables of them scatter over the heap
# (1000 such ints left no free run of 633 bytes in a 140 KB heap). The
# four tables of halves are arrays of 16-bit items: 2 KB, where lists of
# 256 ints took 4 KB (an ESP32-sized heap's margin; as fast to index).
_T = None  # [S-box, A, B, C, D], built on first use


def _xtime(b):
    # FIPS 197 section 4.2.1: multiplication by x in GF(2^8).
    return (b << 1) ^ 0x11B if b & 0x80 else b << 1


def _tables():
    # The S-box (FIPS 197 section 5.1.1: the affine map of the inverse in
    # GF(2^8)) from a walk of the multiplicative group: p = 3^i, q = 3^-i.
    # Te0[x] = (2s, s, s, 3s) with s = S[x], each further table rotated
    # right by one byte: SubBytes, ShiftRows and MixColumns (section 5.1)
    # folded into four lookups per column. As halves: A, B = Te0 hi, lo;
    # C, D = Te1 hi, lo; Te2 = (B, A) and Te3 = (D, C).
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
        _T = [
            S,
            array("H", (_xtime(s) << 8 | s for s in S)),
            array("H", (s << 8 | _xtime(s) ^ s for s in S)),
            array("H", ((_xtime(s) ^ s) << 8 | _xtime(s) for s in S)),
            array("H", (s << 8 | s for s in S)),
        ]
    return _T


def _sub_word(S, t):
    return S[t >> 24] << 24 | S[t >> 16 & 255] << 16 | S[t >> 8 & 255] << 8 | S[t & 255]


def expand_key(key, S=None):
    """FIPS 197 section 5.2 KeyExpansion: the 4*(Nr+1) round-key words of a
    16-, 24- or 32-byte key, each as two 16-bit halves (hi, lo). S: the
    S-box where the caller has one (aes_viper's table), else built here."""
    if S is None:
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
    rk = []
    for t in w:
        rk.append(t >> 16)
        rk.append(t & _M16)
    return rk


def prepare(rk):
    """expand_key()'s halves as encrypt_ctr takes them: one array of 16-bit items, made once
    per key. 176 B for AES-128, where the rounds' keys as 8-tuples in a list took 620 B (a
    connection holds two: the 110 KB board's upload had no room for them)."""
    return array("H", rk)


def encrypt_ctr(rk, ks, c, n):
    """FIPS 197 section 5.1 Cipher of the n counter blocks c, c+1, ..
    (mod 2^128) into ks[:16*n]; returns the next counter. rk: prepare()'s
    round keys, or expand_key()'s."""
    S, A, B, C, D = _tables()
    last = len(rk) - 8  # the last round's key
    # the counter as eight 16-bit halves: small ints, where c itself is a
    # heap int that each block would split again
    q = [c >> 16 * (7 - i) & _M16 for i in range(8)]
    for j in range(n):
        # column i is (hi, lo) = (hI, lI); every value stays below 2^16
        h0 = q[0] ^ rk[0]
        l0 = q[1] ^ rk[1]
        h1 = q[2] ^ rk[2]
        l1 = q[3] ^ rk[3]
        h2 = q[4] ^ rk[4]
        l2 = q[5] ^ rk[5]
        h3 = q[6] ^ rk[6]
        l3 = q[7] ^ rk[7]
        k = 8
        while k < last:
            # the bytes of the four lookups: top of column i, second of
            # i+1, third of i+2, last of i+3
            x0 = h0 >> 8
            y0 = h0 & 255
            z0 = l0 >> 8
            w0 = l0 & 255
            x1 = h1 >> 8
            y1 = h1 & 255
            z1 = l1 >> 8
            w1 = l1 & 255
            x2 = h2 >> 8
            y2 = h2 & 255
            z2 = l2 >> 8
            w2 = l2 & 255
            x3 = h3 >> 8
            y3 = h3 & 255
            z3 = l3 >> 8
            w3 = l3 & 255
            h0 = A[x0] ^ C[y1] ^ B[z2] ^ D[w3] ^ rk[k]
            l0 = B[x0] ^ D[y1] ^ A[z2] ^ C[w3] ^ rk[k + 1]
            h1 = A[x1] ^ C[y2] ^ B[z3] ^ D[w0] ^ rk[k + 2]
            l1 = B[x1] ^ D[y2] ^ A[z3] ^ C[w0] ^ rk[k + 3]
            h2 = A[x2] ^ C[y3] ^ B[z0] ^ D[w1] ^ rk[k + 4]
            l2 = B[x2] ^ D[y3] ^ A[z0] ^ C[w1] ^ rk[k + 5]
            h3 = A[x3] ^ C[y0] ^ B[z1] ^ D[w2] ^ rk[k + 6]
            l3 = B[x3] ^ D[y0] ^ A[z1] ^ C[w2] ^ rk[k + 7]
            k += 8
        # last round: SubBytes, ShiftRows, AddRoundKey
        struct.pack_into(
            ">8H",
            ks,
            16 * j,
            (S[h0 >> 8] << 8 | S[h1 & 255]) ^ rk[last],
            (S[l2 >> 8] << 8 | S[l3 & 255]) ^ rk[last + 1],
            (S[h1 >> 8] << 8 | S[h2 & 255]) ^ rk[last + 2],
            (S[l3 >> 8] << 8 | S[l0 & 255]) ^ rk[last + 3],
            (S[h2 >> 8] << 8 | S[h3 & 255]) ^ rk[last + 4],
            (S[l0 >> 8] << 8 | S[l1 & 255]) ^ rk[last + 5],
            (S[h3 >> 8] << 8 | S[h0 & 255]) ^ rk[last + 6],
            (S[l1 >> 8] << 8 | S[l2 & 255]) ^ rk[last + 7],
        )
        # the next counter (mod 2^128)
        i = 7
        while i >= 0:
            v = q[i] + 1 & _M16
            q[i] = v
            if v:
                break
            i -= 1
    return (c + n) & _M128
