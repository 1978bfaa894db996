# ML-KEM-768 (FIPS 203) with its polynomial arithmetic in MicroPython viper
# code: the fast path of mlkem.py on ports with a native emitter (mlkem.py's
# portable code stays the fallback and the oracle its tests compare against).
# A polynomial is 256 coefficients in [0, q) as a 512-byte bytearray read
# through ptr16. Products are reduced the Montgomery way with R = 2^16:
# mont(x) = x R^-1 mod q, in [0, 2q) for 0 <= x < q 2^16, from
# t = (x mod 2^16) * (-q^-1 mod 2^16) mod 2^16 and (x + t q) / 2^16. Every
# intermediate stays below 2^29 and positive, so a 32-bit board and a 64-bit
# port compute the same numbers. The NTT's zetas are kept as zeta R mod q,
# so mont(zeta R * f) is zeta f. With mpy-cross -march=... (make mpy, a
# frozen firmware) this is machine code in the .mpy: no compile at import.
import micropython  # noqa: F401 (the decorator)

from ussh.crypto import sha3

# mlkem.py's _ZETAS (zeta^BitRev7(i) for zeta = 17, section 4.3) times
# R = 2^16 mod q, as little-endian 16-bit words
_ZR = bytearray(
    b"\xed\x08\x0b\x0a\x9a\x0b\x14\x07\xd5\x05\x8e\x05\x1f\x01\xca\x00\x56\x0c\x6e\x02\x29\x06\xb6\x00\xc2\x03\x4f\x08\x3f\x07\xbc\x05"
    b"\x3d\x02\xd4\x07\x08\x01\x7f\x01\xc4\x09\xb2\x05\xbf\x06\x7f\x0c\x58\x0a\xf9\x03\xdc\x02\x60\x02\xfb\x06\x9b\x01\x34\x0c\xde\x06"
    b"\xc7\x04\x8c\x02\xd9\x0a\xf7\x03\xf4\x07\xd3\x05\xe7\x0b\xf9\x06\x04\x02\xf9\x0c\xc1\x0b\x67\x0a\xaf\x06\x77\x08\x7e\x00\xbd\x05"
    b"\xac\x09\xa7\x0c\xf2\x0b\x3e\x03\x6b\x00\x74\x07\x0a\x0c\x4a\x09\x73\x0b\xc1\x03\x1d\x07\x2c\x0a\xc0\x01\xd8\x08\xa5\x02\x06\x08"
    b"\xb2\x08\xae\x01\x2b\x02\x4b\x03\x1e\x08\x67\x03\x0e\x06\x69\x00\xa6\x01\x4b\x02\xb1\x00\x16\x0c\xde\x0b\x35\x0b\x26\x06\x75\x06"
    b"\x0b\x0c\x0a\x03\x87\x04\x6e\x0c\xf8\x09\xcb\x05\xa7\x0a\x5f\x04\xcb\x06\x84\x02\x99\x09\x5d\x01\xa2\x01\x49\x01\x65\x0c\xb6\x0c"
    b"\x31\x03\x49\x04\x5b\x02\x62\x02\x2a\x05\xfc\x07\x48\x07\x80\x01\x42\x08\x79\x0c\xc2\x04\xca\x07\x97\x09\xdc\x00\x5e\x08\x86\x06"
    b"\x60\x08\x07\x07\x03\x08\x1a\x03\x1b\x07\xab\x09\x9b\x09\xde\x01\x95\x0c\xcd\x0b\xe4\x03\xdf\x03\xbe\x03\x4d\x07\xf2\x05\x5c\x06"
)


@micropython.viper
def _ntt(f: ptr16, z: ptr16):
    # Algorithm 9 in place; coefficients stay in [0, q)
    i = 1
    n = 128
    while n >= 2:
        start = 0
        while start < 256:
            w = z[i]
            i += 1
            j = start
            e = start + n
            while j < e:
                x = w * f[j + n]
                t = (x + (((x & 65535) * 3327) & 65535) * 3329) >> 16
                t -= 3329
                t += (t >> 31) & 3329
                a = f[j]
                x = a - t
                f[j + n] = x + ((x >> 31) & 3329)
                x = a + t - 3329
                f[j] = x + ((x >> 31) & 3329)
                j += 1
            start += n + n
        n >>= 1


@micropython.viper
def _intt(f: ptr16, z: ptr16):
    # Algorithm 10 in place, then times 128^-1: mont(f * 512) as 512 = R / 128 mod q
    i = 127
    n = 2
    while n <= 128:
        start = 0
        while start < 256:
            w = z[i]
            i -= 1
            j = start
            e = start + n
            while j < e:
                a = f[j]
                b = f[j + n]
                x = a + b - 3329
                f[j] = x + ((x >> 31) & 3329)
                x = w * (b - a + 3329)
                t = (x + (((x & 65535) * 3327) & 65535) * 3329) >> 16
                t -= 3329
                f[j + n] = t + ((t >> 31) & 3329)
                j += 1
            start += n + n
        n <<= 1
    j = 0
    while j < 256:
        x = f[j] * 512
        t = (x + (((x & 65535) * 3327) & 65535) * 3329) >> 16
        t -= 3329
        f[j] = t + ((t >> 31) & 3329)
        j += 1


@micropython.viper
def _mul_acc(acc: ptr16, a: ptr16, b: ptr16, z: ptr16):
    # acc += (a x b) R^-1 in the NTT domain (Algorithms 11 and 12), each
    # entry growing by less than 2q a call: three calls stay below 2^16.
    # gamma of pair 2i is entry 64 + i/2 of the zetas, of pair 2i + 1 minus it
    i = 0
    while i < 128:
        g = z[64 + (i >> 1)]
        if i & 1:
            g = 3329 - g
        j = i + i
        a0 = a[j]
        a1 = a[j + 1]
        b0 = b[j]
        b1 = b[j + 1]
        x = a1 * b1
        x = (x + (((x & 65535) * 3327) & 65535) * 3329) >> 16
        x = a0 * b0 + x * g
        acc[j] += (x + (((x & 65535) * 3327) & 65535) * 3329) >> 16
        x = a0 * b1 + a1 * b0
        acc[j + 1] += (x + (((x & 65535) * 3327) & 65535) * 3329) >> 16
        i += 1


@micropython.viper
def _fix(f: ptr16, k: int):
    # f = mont(f * k) in [0, q): k = R^2 mod q (1353) turns _mul_acc's sums into values
    j = 0
    while j < 256:
        x = f[j] * k
        t = (x + (((x & 65535) * 3327) & 65535) * 3329) >> 16
        t -= 3329
        f[j] = t + ((t >> 31) & 3329)
        j += 1


@micropython.viper
def _add(f: ptr16, g: ptr16):
    # f += g mod q
    j = 0
    while j < 256:
        x = f[j] + g[j] - 3329
        f[j] = x + ((x >> 31) & 3329)
        j += 1


@micropython.viper
def _rej(f: ptr16, b: ptr8, n: int) -> int:
    # Algorithm 7's loop over one 168-byte SHAKE128 block (the sponge's state):
    # f[n..] gets the 12-bit values below q; returns the new n (at most 256)
    k = 0
    while k < 168:
        c = b[k + 1]
        d = b[k] | ((c & 15) << 8)
        if d < 3329:
            f[n] = d
            n += 1
            if n == 256:
                return n
        d = (c >> 4) | (b[k + 2] << 4)
        if d < 3329:
            f[n] = d
            n += 1
            if n == 256:
                return n
        k += 3
    return n


@micropython.viper
def _cbd(f: ptr16, b: ptr8):
    # Algorithm 8 with eta = 2 on 128 bytes: per nibble (n0 + n1 - n2 - n3) mod q
    k = 0
    while k < 128:
        x = b[k]
        v = (x & 1) + ((x >> 1) & 1) - ((x >> 2) & 1) - ((x >> 3) & 1)
        f[k + k] = v + ((v >> 31) & 3329)
        v = ((x >> 4) & 1) + ((x >> 5) & 1) - ((x >> 6) & 1) - ((x >> 7) & 1)
        f[k + k + 1] = v + ((v >> 31) & 3329)
        k += 1


@micropython.viper
def _enc12(out: ptr8, o: int, f: ptr16):
    # Algorithm 5 with d = 12 at out[o:o + 384]: two coefficients in three bytes
    i = 0
    while i < 256:
        a = f[i]
        b = f[i + 1]
        out[o] = a & 255
        out[o + 1] = (a >> 8) | ((b & 15) << 4)
        out[o + 2] = b >> 4
        o += 3
        i += 2


@micropython.viper
def _dec12(f: ptr16, b: ptr8, o: int) -> int:
    # Algorithm 6 with d = 12 from b[o:o + 384], unreduced; returns the
    # number of coefficients >= q (section 7.2's modulus check)
    bad = 0
    i = 0
    while i < 256:
        c = b[o + 1]
        d = b[o] | ((c & 15) << 8)
        f[i] = d
        bad += (3328 - d) >> 31 & 1
        d = (c >> 4) | (b[o + 2] << 4)
        f[i + 1] = d
        bad += (3328 - d) >> 31 & 1
        o += 3
        i += 2
    return bad


@micropython.viper
def _comp10(out: ptr8, o: int, u: ptr16):
    # Compress_10 and ByteEncode_10 at out[o:o + 320]: four coefficients in five bytes
    i = 0
    while i < 256:
        a = ((u[i] << 10) + 1664) // 3329 & 1023
        b = ((u[i + 1] << 10) + 1664) // 3329 & 1023
        e = ((u[i + 2] << 10) + 1664) // 3329 & 1023
        h = ((u[i + 3] << 10) + 1664) // 3329 & 1023
        out[o] = a & 255
        out[o + 1] = (a >> 8) | ((b & 63) << 2)
        out[o + 2] = (b >> 6) | ((e & 15) << 4)
        out[o + 3] = (e >> 4) | ((h & 3) << 6)
        out[o + 4] = h >> 2
        o += 5
        i += 4


@micropython.viper
def _decomp10(u: ptr16, c: ptr8, o: int):
    # ByteDecode_10 and Decompress_10 of c[o:o + 320]
    i = 0
    while i < 256:
        c1 = c[o + 1]
        c2 = c[o + 2]
        c3 = c[o + 3]
        u[i] = ((c[o] | ((c1 & 3) << 8)) * 3329 + 512) >> 10
        u[i + 1] = (((c1 >> 2) | ((c2 & 15) << 6)) * 3329 + 512) >> 10
        u[i + 2] = (((c2 >> 4) | ((c3 & 63) << 4)) * 3329 + 512) >> 10
        u[i + 3] = (((c3 >> 6) | (c[o + 4] << 2)) * 3329 + 512) >> 10
        o += 5
        i += 4


@micropython.viper
def _comp4(out: ptr8, o: int, v: ptr16, e: ptr16, m: ptr8):
    # v + e2 + Decompress_1(m), Compress_4 and ByteEncode_4 at out[o:o + 128]
    j = 0
    while j < 256:
        bits = m[j >> 3] >> (j & 7)
        a = v[j] + e[j] + 1665 * (bits & 1)
        a -= 3329
        a += (a >> 31) & 3329
        a -= 3329
        a += (a >> 31) & 3329
        b = v[j + 1] + e[j + 1] + 1665 * ((bits >> 1) & 1)
        b -= 3329
        b += (b >> 31) & 3329
        b -= 3329
        b += (b >> 31) & 3329
        out[o] = (((a << 4) + 1664) // 3329 & 15) | ((((b << 4) + 1664) // 3329 & 15) << 4)
        o += 1
        j += 2


@micropython.viper
def _comp1(m: ptr8, c: ptr8, o: int, w: ptr16):
    # w = Decompress_4(v) - w, Compress_1 and ByteEncode_1 into the 32 bytes m
    j = 0
    while j < 256:
        x = c[o]
        a = (((x & 15) * 3329 + 8) >> 4) - w[j]
        a += (a >> 31) & 3329
        b = (((x >> 4) * 3329 + 8) >> 4) - w[j + 1]
        b += (b >> 31) & 3329
        a = ((a << 1) + 1664) // 3329 & 1
        b = ((b << 1) + 1664) // 3329 & 1
        m[j >> 3] |= (a | (b << 1)) << (j & 7)
        o += 1
        j += 2


def _sample(f, rho, i, j):
    # Algorithm 7: SampleNTT(rho || i || j), the sponge's state read in place
    x = sha3.Sponge(168, 0x1F, rho + bytes((i, j)))
    s = x.s
    n = 0
    while n < 256:
        sha3.keccak_f1600(s)
        n = _rej(f, s, n)
    return f


def _cbd_ntt(f, seed, n, ntt):
    # PRF_2(seed, n) = SHAKE256(seed || n, 128) through Algorithm 8, then its NTT
    _cbd(f, sha3.shake256(seed + bytes((n,)), 128))
    if ntt:
        _ntt(f, _ZR)
    return f


def _dot(acc, a, rho, i, vec, transpose):
    # entry i of A_hat o vec (A_hat^T with transpose), reduced into acc
    acc[:] = bytes(512)
    for j in range(3):
        _mul_acc(acc, _sample(a, rho, i, j) if transpose else _sample(a, rho, j, i), vec[j], _ZR)
    _fix(acc, 1353)
    return acc


def _polys(n):
    return [bytearray(512) for _ in range(n)]


def _decode_t(ek):
    # section 7.2: the modulus check on t_hat
    if len(ek) != 1184:
        raise ValueError("ML-KEM-768 encapsulation key length")
    t = _polys(3)
    bad = 0
    for i in range(3):
        bad += _dec12(t[i], ek, 384 * i)
    if bad:
        raise ValueError("ML-KEM encapsulation key fails the modulus check")
    return t


def keygen(d, z):
    """As mlkem.keygen (FIPS 203 Algorithm 16)."""
    g = sha3.sha3_512(d + bytes((3,)))
    rho = g[:32]
    sigma = g[32:]
    s = [_cbd_ntt(f, sigma, i, 1) for i, f in enumerate(_polys(3))]
    ek = bytearray(1184)
    dk = bytearray(1152)
    acc, a, e = _polys(3)
    for i in range(3):
        _add(_dot(acc, a, rho, i, s, False), _cbd_ntt(e, sigma, 3 + i, 1))
        _enc12(ek, 384 * i, acc)
        _enc12(dk, 384 * i, s[i])
    ek[1152:] = rho
    ek = bytes(ek)
    return ek, bytes(dk) + ek + sha3.sha3_256(ek) + z


def _encrypt(t, rho, m, r):
    # Algorithm 14 from t_hat decoded: c = c1 || c2
    y = [_cbd_ntt(f, r, i, 1) for i, f in enumerate(_polys(3))]
    c = bytearray(1088)
    acc, a, e = _polys(3)
    for i in range(3):
        u = _dot(acc, a, rho, i, y, True)
        _intt(u, _ZR)
        _add(u, _cbd_ntt(e, r, 3 + i, 0))
        _comp10(c, 320 * i, u)
    acc[:] = bytes(512)
    for j in range(3):
        _mul_acc(acc, t[j], y[j], _ZR)
    _fix(acc, 1353)
    _intt(acc, _ZR)
    _comp4(c, 960, acc, _cbd_ntt(e, r, 6, 0), m)
    return bytes(c)


def encaps(ek, m):
    """As mlkem.encaps (FIPS 203 Algorithm 17)."""
    t = _decode_t(ek)
    g = sha3.sha3_512(m + sha3.sha3_256(ek))
    return g[:32], _encrypt(t, ek[1152:], m, g[32:])


def decaps(dk, c):
    """As mlkem.decaps (FIPS 203 Algorithm 18)."""
    if len(dk) != 2400 or len(c) != 1088:
        raise ValueError("ML-KEM-768 decapsulation input length")
    c = bytes(c)
    ek = dk[1152:2336]
    if sha3.sha3_256(ek) != dk[2336:2368]:
        raise ValueError("ML-KEM-768 decapsulation key hash check")
    # Algorithm 15: w = NTT^-1(s_hat o NTT(u)), m = Compress_1(v - w)
    acc, u, s = _polys(3)
    for i in range(3):
        _decomp10(u, c, 320 * i)
        _ntt(u, _ZR)
        _dec12(s, dk, 384 * i)
        _mul_acc(acc, s, u, _ZR)
    _fix(acc, 1353)
    _intt(acc, _ZR)
    m = bytearray(32)
    _comp1(m, c, 960, acc)
    m = bytes(m)
    g = sha3.sha3_512(m + dk[2336:2368])
    c2 = _encrypt(_decode_t(ek), ek[1152:], m, g[32:])
    # Algorithm 18 step 9: K_bar = J(z || c), chosen without a branch on c
    k_bar = sha3.shake256(dk[2368:] + c, 32)
    diff = 0
    for x, y in zip(c, c2):
        diff |= x ^ y
    mask = ((diff + 255) >> 8) - 1 & 255
    return bytes([b ^ (mask & (a ^ b)) for a, b in zip(g[:32], k_bar)])
