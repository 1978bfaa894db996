# ML-KEM-768 (FIPS 203): key generation, encapsulation and decapsulation,
# for the post-quantum SSH key exchange. Polynomials are lists of 256 ints
# in [0, q); every intermediate stays below 2^30, so the code does the same
# small-int arithmetic on 32-bit and 64-bit ports. Hashes from sha3.py.
from ussh.compat import const
from ussh.crypto.sha3 import Sponge, sha3_256, sha3_512, shake256

_Q = const(3329)
_K = const(3)  # ML-KEM-768: k = 3, eta1 = eta2 = 2, du = 10, dv = 4 (section 8)
EK_LEN = const(1184)  # 384k + 32
DK_LEN = const(2400)  # 768k + 96
CT_LEN = const(1088)  # 32(du k + dv)

# Section 4.3: zeta^BitRev7(i) mod q for zeta = 17, i = 0..127. The NTT uses
# entries 1..127; MultiplyNTTs' gamma_{2i} = zeta^(2 BitRev7(i) + 1) is
# entry 64 + i/2 of the same table and gamma_{2i+1} = -gamma_{2i}.
_ZETAS = (
    1, 1729, 2580, 3289, 2642, 630, 1897, 848, 1062, 1919, 193, 797, 2786, 3260, 569, 1746,
    296, 2447, 1339, 1476, 3046, 56, 2240, 1333, 1426, 2094, 535, 2882, 2393, 2879, 1974, 821,
    289, 331, 3253, 1756, 1197, 2304, 2277, 2055, 650, 1977, 2513, 632, 2865, 33, 1320, 1915,
    2319, 1435, 807, 452, 1438, 2868, 1534, 2402, 2647, 2617, 1481, 648, 2474, 3110, 1227, 910,
    17, 2761, 583, 2649, 1637, 723, 2288, 1100, 1409, 2662, 3281, 233, 756, 2156, 3015, 3050,
    1703, 1651, 2789, 1789, 1847, 952, 1461, 2687, 939, 2308, 2437, 2388, 733, 2337, 268, 641,
    1584, 2298, 2037, 3220, 375, 2549, 2090, 1645, 1063, 319, 2773, 757, 2099, 561, 2466, 2594,
    2804, 1092, 403, 1026, 1143, 2150, 2775, 886, 1722, 1212, 1874, 1029, 2110, 2935, 885, 2154,
)

# Algorithm 8 with eta = 2 for one nibble n of PRF output: (n0 + n1 - n2 - n3) mod q
_CBD = (0, 1, 1, 2, 3328, 0, 0, 1, 3328, 0, 0, 1, 3327, 3328, 3328, 0)


def _ntt(f):
    # Algorithm 9, in place
    Z = _ZETAS
    q = _Q
    i = 1
    n = 128
    while n >= 2:
        for start in range(0, 256, 2 * n):
            z = Z[i]
            i += 1
            for j in range(start, start + n):
                t = z * f[j + n] % q
                f[j + n] = (f[j] - t) % q
                f[j] = (f[j] + t) % q
        n >>= 1
    return f


def _intt(f):
    # Algorithm 10, in place; 3303 = 128^-1 mod q
    Z = _ZETAS
    q = _Q
    i = 127
    n = 2
    while n <= 128:
        for start in range(0, 256, 2 * n):
            z = Z[i]
            i -= 1
            for j in range(start, start + n):
                t = f[j]
                u = f[j + n]
                f[j] = (t + u) % q
                f[j + n] = z * (u - t) % q
        n <<= 1
    for j in range(256):
        f[j] = f[j] * 3303 % q
    return f


def _mul_acc(acc, a, b):
    # acc += a x b in the NTT domain (Algorithms 11 and 12), unreduced: each
    # call adds below 2 * 2^24 per entry, so three calls stay below 2^30
    Z = _ZETAS
    q = _Q
    for i in range(64):
        g = Z[64 + i]
        j = 4 * i
        a0 = a[j]
        a1 = a[j + 1]
        b0 = b[j]
        b1 = b[j + 1]
        acc[j] += a0 * b0 + a1 * b1 % q * g
        acc[j + 1] += a0 * b1 + a1 * b0
        a0 = a[j + 2]
        a1 = a[j + 3]
        b0 = b[j + 2]
        b1 = b[j + 3]
        acc[j + 2] += a0 * b0 + a1 * b1 % q * (q - g)
        acc[j + 3] += a0 * b1 + a1 * b0


def _dot(rho, i, vec, transpose):
    # entry i of A_hat o vec, or of A_hat^T o vec, reduced; A_hat[i, j] is
    # SampleNTT(rho || j || i) (Algorithm 13 step 4, Algorithm 14 step 5)
    acc = [0] * 256
    for j in range(_K):
        _mul_acc(acc, _sample_ntt(rho + (bytes((i, j)) if transpose else bytes((j, i)))), vec[j])
    q = _Q
    return [x % q for x in acc]


def _sample_ntt(seed):
    # Algorithm 7: rejection sampling from SHAKE128(seed), a block at a time
    x = Sponge(168, 0x1F, seed)
    q = _Q
    f = [0] * 256
    n = 0
    while 1:
        b = x.read(168)
        for k in range(0, 168, 3):
            c1 = b[k + 1]
            d = b[k] | (c1 & 15) << 8
            if d < q:
                f[n] = d
                n += 1
                if n == 256:
                    return f
            d = c1 >> 4 | b[k + 2] << 4
            if d < q:
                f[n] = d
                n += 1
                if n == 256:
                    return f


def _cbd(s, n):
    # Algorithm 8 with eta = 2 on PRF_2(s, n) = SHAKE256(s || n, 128) (section 4.1)
    C = _CBD
    f = []
    for x in shake256(s + bytes((n,)), 128):
        f.append(C[x & 15])
        f.append(C[x >> 4])
    return f


def _add(f, g):
    q = _Q
    return [(x + y) % q for x, y in zip(f, g)]


def _encode12(polys):
    # Algorithm 5 with d = 12: two coefficients in three bytes
    out = bytearray(384 * len(polys))
    o = 0
    for f in polys:
        for i in range(0, 256, 2):
            a = f[i]
            b = f[i + 1]
            out[o] = a & 255
            out[o + 1] = a >> 8 | (b & 15) << 4
            out[o + 2] = b >> 4
            o += 3
    return out


def _decode12(b, off):
    # Algorithm 6 with d = 12, without the reduction mod q: values up to 4095
    # come out as they are, for the caller's modulus check
    f = []
    for k in range(off, off + 384, 3):
        c1 = b[k + 1]
        f.append(b[k] | (c1 & 15) << 8)
        f.append(c1 >> 4 | b[k + 2] << 4)
    return f


def _decode_t(ek):
    # t_hat from an encapsulation key, with section 7.2's modulus check:
    # ByteEncode12(ByteDecode12(ek)) == ek, that is no coefficient >= q
    if len(ek) != EK_LEN:
        raise ValueError("ML-KEM-768 encapsulation key length")
    t = [_decode12(ek, 384 * i) for i in range(_K)]
    for f in t:
        if max(f) >= _Q:
            raise ValueError("ML-KEM encapsulation key fails the modulus check")
    return t


def _pke_keygen(d):
    # Algorithm 13
    g = sha3_512(d + bytes((_K,)))
    rho = g[:32]
    sigma = g[32:]
    s = [_ntt(_cbd(sigma, i)) for i in range(_K)]
    t = []
    for i in range(_K):
        e = _ntt(_cbd(sigma, _K + i))
        t.append(_add(_dot(rho, i, s, False), e))
    return bytes(_encode12(t)) + rho, bytes(_encode12(s))


def _pke_encrypt(t, rho, m, r):
    # Algorithm 14 from t_hat already decoded; returns c = c1 || c2
    q = _Q
    y = [_ntt(_cbd(r, i)) for i in range(_K)]
    c = bytearray(CT_LEN)
    o = 0
    for i in range(_K):
        # u = NTT^-1(A_hat^T o y_hat) + e1, Compress_10 and ByteEncode_10:
        # four coefficients in five bytes
        u = _add(_intt(_dot(rho, i, y, True)), _cbd(r, _K + i))
        for j in range(0, 256, 4):
            a = ((u[j] << 10) + 1664) // q & 1023
            b = ((u[j + 1] << 10) + 1664) // q & 1023
            e = ((u[j + 2] << 10) + 1664) // q & 1023
            h = ((u[j + 3] << 10) + 1664) // q & 1023
            c[o] = a & 255
            c[o + 1] = a >> 8 | (b & 63) << 2
            c[o + 2] = b >> 6 | (e & 15) << 4
            c[o + 3] = e >> 4 | (h & 3) << 6
            c[o + 4] = h >> 2
            o += 5
    acc = [0] * 256
    for j in range(_K):
        _mul_acc(acc, t[j], y[j])
    v = _intt([x % q for x in acc])
    e2 = _cbd(r, 2 * _K)
    for j in range(0, 256, 2):
        # v + e2 + Decompress_1(m), Compress_4 and ByteEncode_4
        bits = m[j >> 3] >> (j & 7)
        a = (v[j] + e2[j] + 1665 * (bits & 1)) % q
        b = (v[j + 1] + e2[j + 1] + 1665 * (bits >> 1 & 1)) % q
        c[o] = ((a << 4) + 1664) // q & 15 | (((b << 4) + 1664) // q & 15) << 4
        o += 1
    return bytes(c)


def _pke_decrypt(dk, c):
    # Algorithm 15; returns m
    q = _Q
    acc = [0] * 256
    o = 0
    for i in range(_K):
        # ByteDecode_10 and Decompress_10 of u, then s_hat o NTT(u)
        u = []
        for k in range(o, o + 320, 5):
            c1 = c[k + 1]
            c2 = c[k + 2]
            c3 = c[k + 3]
            u.append(((c[k] | (c1 & 3) << 8) * q + 512) >> 10)
            u.append(((c1 >> 2 | (c2 & 15) << 6) * q + 512) >> 10)
            u.append(((c2 >> 4 | (c3 & 63) << 4) * q + 512) >> 10)
            u.append(((c3 >> 6 | c[k + 4] << 2) * q + 512) >> 10)
        o += 320
        _mul_acc(acc, _decode12(dk, 384 * i), _ntt(u))
    w = _intt([x % q for x in acc])
    m = bytearray(32)
    for j in range(0, 256, 2):
        # w = v - NTT^-1(...), Compress_1 and ByteEncode_1
        x = c[o]
        o += 1
        a = ((((((x & 15) * q + 8) >> 4) - w[j]) % q << 1) + 1664) // q & 1
        b = ((((((x >> 4) * q + 8) >> 4) - w[j + 1]) % q << 1) + 1664) // q & 1
        m[j >> 3] |= (a | b << 1) << (j & 7)
    return bytes(m)


def keygen(d, z):
    """ML-KEM-768 KeyGen_internal (FIPS 203 Algorithm 16) from the 32-byte
    seeds d and z: (encapsulation key, 1184 bytes; decapsulation key, 2400)."""
    if _fast:
        return _fast.keygen(d, z)
    return keygen_pure(d, z)


def keygen_pure(d, z):
    # keygen() on Python ints: ports without viper, and the tests' oracle
    ek, dk = _pke_keygen(d)
    return ek, dk + ek + sha3_256(ek) + z


def encaps(ek, m):
    """ML-KEM-768 Encaps_internal (FIPS 203 Algorithm 17) with the 32
    random bytes m: (shared key, 32 bytes; ciphertext, 1088 bytes). Raises
    ValueError for a key of the wrong length or failing the modulus check
    (section 7.2)."""
    if _fast:
        return _fast.encaps(ek, m)
    return encaps_pure(ek, m)


def encaps_pure(ek, m):
    # encaps() on Python ints
    t = _decode_t(ek)
    g = sha3_512(m + sha3_256(ek))
    return g[:32], _pke_encrypt(t, ek[1152:], m, g[32:])


def decaps(dk, c):
    """ML-KEM-768 Decaps_internal (FIPS 203 Algorithm 18): the 32-byte
    shared key (the implicit-rejection key for a ciphertext that does not
    re-encrypt). Raises ValueError for the wrong input lengths or a key
    whose hash of ek does not match (section 7.3)."""
    if _fast:
        return _fast.decaps(dk, c)
    return decaps_pure(dk, c)


def decaps_pure(dk, c):
    # decaps() on Python ints
    if len(dk) != DK_LEN or len(c) != CT_LEN:
        raise ValueError("ML-KEM-768 decapsulation input length")
    c = bytes(c)
    ek = dk[1152:2336]
    if sha3_256(ek) != dk[2336:2368]:
        raise ValueError("ML-KEM-768 decapsulation key hash check")
    m = _pke_decrypt(dk, c)
    g = sha3_512(m + dk[2336:2368])
    c2 = _pke_encrypt(_decode_t(ek), ek[1152:], m, g[32:])
    # Algorithm 18 step 9: K_bar = J(z || c), chosen without a branch on c
    k_bar = shake256(dk[2368:] + c, 32)
    diff = 0
    for x, y in zip(c, c2):
        diff |= x ^ y
    mask = ((diff + 255) >> 8) - 1 & 255  # 255 when c == c2, else 0
    return bytes([b ^ (mask & (a ^ b)) for a, b in zip(g[:32], k_bar)])


def _viper():
    # mlkem_viper.py (optional): the polynomial arithmetic in viper code
    # where the port runs it, chosen (and the reason when not) as
    # curve25519.load_fast chooses X25519's; mlkem._fast = False selects the
    # portable code (tests, the bench)
    from ussh.crypto import curve25519

    return curve25519.load_fast("mlkem", "ussh.crypto.mlkem_viper")


_fast = _viper()  # the module mlkem_viper, or False
