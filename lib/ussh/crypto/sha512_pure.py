# SHA-512 (FIPS 180-4) in pure Python: the hash of ports that have neither a
# hashlib sha512 nor viper code (crypto/sha512.py chooses); loaded only there,
# or when asked for by name (the tests' reference for the fast paths).
import struct

from ussh.compat import const

_M64 = const(0xFFFFFFFFFFFFFFFF)
# x * _R = x | x << 64 for x < 2^64: bits n..n+63 of it are ROTR^n(x).
_R = const(0x10000000000000001)

_K = None  # K0..K79, then H(0), as big-endian bytes (a bytearray)


def _constants():
    # FIPS 180-4 section 4.2.3: K0..K79 are the first 64 bits of the
    # fractional parts of the cube roots of the first eighty primes; section
    # 5.3.5: H(0) is the same of the square roots of the first eight. Worked
    # out on first use (integer Newton steps from above; 1 ms on the unix
    # port): 500 bytes of .mpy less than the table.
    global _K
    if _K is None:
        # one prime at a time, none kept (a list of them grew to 1 KB, one
        # run that a small heap short of room did not have)
        K = bytearray(704)
        i = 0
        n = 1
        while i < 80:
            n += 1
            q = 2
            while q * q <= n and n % q:
                q += 1
            if q * q <= n:  # a divisor: not a prime
                continue
            for k, o in ((3, 8 * i), (2, 640 + 8 * i)):
                if o >= 704:
                    break
                x = n << 64 * k
                r = k + 5 << 64  # above the root: 409^(1/3) < 8, 19^(1/2) < 7
                while 1:
                    s = ((k - 1) * r + x // r ** (k - 1)) // k
                    if s >= r:
                        break
                    r = s
                K[o : o + 8] = (r & _M64).to_bytes(8, "big")
            i += 1
        _K = K
    return _K


def _compress(H, buf, off):
    # FIPS 180-4 section 6.4.2 on the block buf[off:off + 128]. The schedule
    # is kept in 16 words, W[t] at w[t % 16]. Rotations are shifts of
    # x * _R; sigma and SIGMA values keep garbage above bit 63, which only
    # ever meets sums that are reduced mod 2^64 before they are used again.
    m = _M64
    k = _K
    kt = struct.unpack_from  # K[t] read in place: no 8-byte slice for each round
    w = list(kt(">16Q", buf, off))
    a, b, c, d, e, f, g, h = H
    bc = b ^ c
    for t in range(80):
        j = t & 15
        W = w[j]
        if t > 15:
            # W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16] (4.1.3)
            x = w[(j + 1) & 15]
            X = x * _R
            y = w[(j + 14) & 15]
            Y = y * _R
            W = w[j] = (W + w[(j + 9) & 15] + (X >> 1 ^ X >> 8 ^ x >> 7) + (Y >> 19 ^ Y >> 61 ^ y >> 6)) & m
        # T1 = h + SIGMA1(e) + Ch(e, f, g) + K[t] + W[t]
        X = e * _R
        W += h + (X >> 14 ^ X >> 18 ^ X >> 41) + (g ^ e & (f ^ g)) + kt(">Q", k, 8 * t)[0]
        # T2 = SIGMA0(a) + Maj(a, b, c), Maj = b ^ (a ^ b) & (b ^ c)
        X = a * _R
        x = a ^ b
        y = (X >> 28 ^ X >> 34 ^ X >> 39) + (b ^ x & bc)
        bc = x
        h = g
        g = f
        f = e
        e = (d + W) & m
        d = c
        c = b
        b = a
        a = (W + y) & m
    for i, x in enumerate((a, b, c, d, e, f, g, h)):
        H[i] = (H[i] + x) & m


def sha512_pure(data):
    """SHA-512 of a bytes-like object, always by the pure-Python code."""
    # Padding, FIPS 180-4 section 5.1.2: a 1 bit, zeros up to 112 mod 128
    # bytes, the message length in bits as a 128-bit integer.
    n = len(data)
    buf = bytearray(data)
    buf.append(0x80)
    buf.extend(bytes((111 - n) % 128))
    buf.extend((8 * n).to_bytes(16, "big"))
    H = list(struct.unpack_from(">8Q", _constants(), 640))
    for off in range(0, len(buf), 128):
        _compress(H, buf, off)
    return struct.pack(">8Q", *H)
