# AES (FIPS 197) in counter mode (NIST SP 800-38A section 6.5), as SSH's
# aes128-ctr / aes256-ctr use it (RFC 4344 section 4): the initial counter
# block is the IV, read as a 128-bit big-endian integer and incremented by
# one per block, modulo 2^128.
#
# Three keystream backends, chosen once per AESCTR:
#   "ctr"  cryptolib's own CTR mode (mode 6), on ports built with it;
#   "ecb"  cryptolib ECB over a batch of counter blocks (e.g. the unix port);
#   "pure" the T-table AES below (CPython, the webassembly port).
import struct

from ussh.compat import const, cryptolib

_MODE_ECB = const(1)
_MODE_CTR = const(6)
_M32 = const(0xFFFFFFFF)
_M128 = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF
_TOP = 0x100000000000000000000000000000000  # 2^128
_ECB_BLOCKS = const(64)  # counter blocks per cryptolib call
_PURE_BLOCKS = const(16)

# FIPS 197 section 5.1.1, Figure 7: the S-box.
_SBOX = (
    b"\x63\x7c\x77\x7b\xf2\x6b\x6f\xc5\x30\x01\x67\x2b\xfe\xd7\xab\x76"
    b"\xca\x82\xc9\x7d\xfa\x59\x47\xf0\xad\xd4\xa2\xaf\x9c\xa4\x72\xc0"
    b"\xb7\xfd\x93\x26\x36\x3f\xf7\xcc\x34\xa5\xe5\xf1\x71\xd8\x31\x15"
    b"\x04\xc7\x23\xc3\x18\x96\x05\x9a\x07\x12\x80\xe2\xeb\x27\xb2\x75"
    b"\x09\x83\x2c\x1a\x1b\x6e\x5a\xa0\x52\x3b\xd6\xb3\x29\xe3\x2f\x84"
    b"\x53\xd1\x00\xed\x20\xfc\xb1\x5b\x6a\xcb\xbe\x39\x4a\x4c\x58\xcf"
    b"\xd0\xef\xaa\xfb\x43\x4d\x33\x85\x45\xf9\x02\x7f\x50\x3c\x9f\xa8"
    b"\x51\xa3\x40\x8f\x92\x9d\x38\xf5\xbc\xb6\xda\x21\x10\xff\xf3\xd2"
    b"\xcd\x0c\x13\xec\x5f\x97\x44\x17\xc4\xa7\x7e\x3d\x64\x5d\x19\x73"
    b"\x60\x81\x4f\xdc\x22\x2a\x90\x88\x46\xee\xb8\x14\xde\x5e\x0b\xdb"
    b"\xe0\x32\x3a\x0a\x49\x06\x24\x5c\xc2\xd3\xac\x62\x91\x95\xe4\x79"
    b"\xe7\xc8\x37\x6d\x8d\xd5\x4e\xa9\x6c\x56\xf4\xea\x65\x7a\xae\x08"
    b"\xba\x78\x25\x2e\x1c\xa6\xb4\xc6\xe8\xdd\x74\x1f\x4b\xbd\x8b\x8a"
    b"\x70\x3e\xb5\x66\x48\x03\xf6\x0e\x61\x35\x57\xb9\x86\xc1\x1d\x9e"
    b"\xe1\xf8\x98\x11\x69\xd9\x8e\x94\x9b\x1e\x87\xe9\xce\x55\x28\xdf"
    b"\x8c\xa1\x89\x0d\xbf\xe6\x42\x68\x41\x99\x2d\x0f\xb0\x54\xbb\x16"
)

_T = None  # T-tables, built from the S-box on first use by the pure backend


def _xtime(b):
    # FIPS 197 section 4.2.1: multiplication by x in GF(2^8).
    return (b << 1) ^ 0x11B if b & 0x80 else b << 1


def _tables():
    # Te0[x] = (2s, s, s, 3s) with s = S[x], each further table rotated right
    # by one byte: SubBytes, ShiftRows and MixColumns (FIPS 197 section 5.1)
    # folded into four lookups per column.
    global _T
    if _T is None:
        t0 = []
        for x in range(256):
            s = _SBOX[x]
            s2 = _xtime(s)
            t0.append(s2 << 24 | s << 16 | s << 8 | (s2 ^ s))
        t1 = [(t >> 8 | t << 24) & _M32 for t in t0]
        t2 = [(t >> 8 | t << 24) & _M32 for t in t1]
        t3 = [(t >> 8 | t << 24) & _M32 for t in t2]
        _T = (t0, t1, t2, t3)
    return _T


def _sub_word(t):
    S = _SBOX
    return S[t >> 24] << 24 | S[(t >> 16) & 255] << 16 | S[(t >> 8) & 255] << 8 | S[t & 255]


def _expand_key(key):
    # FIPS 197 section 5.2 KeyExpansion: the 4*(Nr+1) round-key words for a
    # 16-, 24- or 32-byte key, and Nr.
    nk = len(key) // 4
    nr = nk + 6
    w = [int.from_bytes(key[4 * i:4 * i + 4], "big") for i in range(nk)]
    rcon = 1
    for i in range(nk, 4 * (nr + 1)):
        t = w[i - 1]
        if i % nk == 0:
            # RotWord, SubWord, xor Rcon[i/Nk]
            t = _sub_word((t << 8 | t >> 24) & _M32) ^ (rcon << 24)
            rcon = _xtime(rcon)
        elif nk > 6 and i % nk == 4:
            t = _sub_word(t)
        w.append(w[i - nk] ^ t)
    return w, nr


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

    backend: None (the best available), or "ctr", "ecb", "pure" for tests
    and benchmarks."""

    def __init__(self, key, iv, backend=None):
        if len(key) not in (16, 24, 32) or len(iv) != 16:
            raise ValueError("AES-CTR needs a 16/24/32-byte key, 16-byte IV")
        if backend is None:
            backend = "pure" if cryptolib is None else "ctr"
            if backend == "ctr":
                try:
                    cryptolib.aes(key, _MODE_CTR, iv)
                except (ValueError, OSError):
                    backend = "ecb"
        self.backend = backend
        self._ctr = int.from_bytes(iv, "big")
        self._pos = 0
        self._have = 0
        if backend == "ctr":
            self._aes = cryptolib.aes(key, _MODE_CTR, iv)
            return
        if backend == "ecb":
            self._aes = cryptolib.aes(key, _MODE_ECB)
            self._blocks = _ECB_BLOCKS
            self._fill = self._fill_ecb
            # R = sum of 2^(128 j) for j < n, S = sum of (n-1-j) 2^(128 j):
            # geometric series over B = 2^128.
            n = self._blocks
            r = ((1 << 128 * n) - 1) // _M128
            self._rs = (r, (r - n) // _M128)
        elif backend == "pure":
            self._rk, self._nr = _expand_key(key)
            self._blocks = _PURE_BLOCKS
            self._fill = self._fill_pure
        else:
            raise ValueError("unknown AES-CTR backend")
        self._ks = memoryview(bytearray(16 * self._blocks))

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
                have = 16 * self._fill(min(self._blocks, (end - start + 15) >> 4))
            n = min(end - start, have - pos)
            _xor(mv[start:start + n], ks[pos:pos + n])
            start += n
            pos += n
        self._pos = pos
        self._have = have

    def _fill_ecb(self, n):
        # Counter blocks c, c+1, ..., c+n-1 written as one integer c*R + S
        # (R = sum of 2^(128 j), S = the offsets 0..n-1 in the same layout),
        # stopping at the 2^128 wrap, then encrypted with one ECB call.
        c = self._ctr
        if n > _TOP - c:
            n = _TOP - c
        r, s = self._rs
        shift = 128 * (self._blocks - n)
        if shift:
            r >>= shift
            s >>= shift
        ks = self._ks[:16 * n]
        ks[:] = (c * r + s).to_bytes(16 * n, "big")
        self._aes.encrypt(ks, ks)
        self._ctr = (c + n) & _M128
        return n

    def _fill_pure(self, n):
        # FIPS 197 section 5.1 Cipher on n counter blocks, with the T-table
        # rounds and a final round of SubBytes, ShiftRows, AddRoundKey.
        t0, t1, t2, t3 = _tables()
        rk = self._rk
        last = 4 * self._nr
        ks = self._ks
        c = self._ctr
        pack = struct.pack_into
        for j in range(n):
            s0 = (c >> 96) ^ rk[0]
            s1 = ((c >> 64) & _M32) ^ rk[1]
            s2 = ((c >> 32) & _M32) ^ rk[2]
            s3 = (c & _M32) ^ rk[3]
            k = 4
            while k < last:
                a = t0[s0 >> 24] ^ t1[(s1 >> 16) & 255] ^ t2[(s2 >> 8) & 255] ^ t3[s3 & 255] ^ rk[k]
                b = t0[s1 >> 24] ^ t1[(s2 >> 16) & 255] ^ t2[(s3 >> 8) & 255] ^ t3[s0 & 255] ^ rk[k + 1]
                d = t0[s2 >> 24] ^ t1[(s3 >> 16) & 255] ^ t2[(s0 >> 8) & 255] ^ t3[s1 & 255] ^ rk[k + 2]
                s3 = t0[s3 >> 24] ^ t1[(s0 >> 16) & 255] ^ t2[(s1 >> 8) & 255] ^ t3[s2 & 255] ^ rk[k + 3]
                s0 = a
                s1 = b
                s2 = d
                k += 4
            # Last round without MixColumns: the plain S-box byte sits at
            # byte 0 of Te2, byte 1 of Te3, byte 2 of Te0, byte 3 of Te1.
            a = t2[s0 >> 24] & 0xFF000000 ^ t3[s1 >> 16 & 255] & 0xFF0000
            b = t2[s1 >> 24] & 0xFF000000 ^ t3[s2 >> 16 & 255] & 0xFF0000
            d = t2[s2 >> 24] & 0xFF000000 ^ t3[s3 >> 16 & 255] & 0xFF0000
            e = t2[s3 >> 24] & 0xFF000000 ^ t3[s0 >> 16 & 255] & 0xFF0000
            a ^= t0[s2 >> 8 & 255] & 0xFF00 ^ t1[s3 & 255] & 0xFF ^ rk[last]
            b ^= t0[s3 >> 8 & 255] & 0xFF00 ^ t1[s0 & 255] & 0xFF ^ rk[last + 1]
            d ^= t0[s0 >> 8 & 255] & 0xFF00 ^ t1[s1 & 255] & 0xFF ^ rk[last + 2]
            e ^= t0[s1 >> 8 & 255] & 0xFF00 ^ t1[s2 & 255] & 0xFF ^ rk[last + 3]
            pack(">IIII", ks, 16 * j, a, b, d, e)
            c = (c + 1) & _M128
        self._ctr = c
        return n
