# Ed25519 signatures (RFC 8032 §5.1) over the field of curve25519.py.
#
# Points are extended twisted Edwards coordinates (X, Y, Z, T) with
# x = X/Z, y = Y/Z, x*y = T/Z (RFC 8032 §5.1.4). A point that is only ever
# added is kept "cached" as (Y+X, Y-X, 2*d*T) when Z = 1, or
# (Y+X, Y-X, 2*d*T, 2*Z). The point formulas are written out inside the
# scalar multiplication loops: a function call per point operation costs
# more than the arithmetic saved by sharing it. Products that only feed
# sums are folded once, x = (x mod 2^255) + 19*(x >> 255), which keeps them
# below 2^261; every value that is multiplied again is reduced with % p.
from ussh.crypto.curve25519 import p, inverse, pow_2_252_3
from ussh.crypto.sha512 import sha512

# RFC 8032 §5.1: d = -121665/121666, 2*d, the group order L, sqrt(-1)
d = 0x52036CEE2B6FFE738CC740797779E89800700A4D4141D8AB75EB4DCA135978A3
d2 = 0x2406D9DC56DFFCE7198E80F2EEF3D13000E0149A8283B156EBD69B9426B2F159
L = 0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED
sqrt_m1 = 0x2B8324804FC1DF0B2B4D00993DFBD7A72F431806AD2FE478C4EE1B274A0EA0B0

# The base point B = (x, 4/5), extended coordinates.
B = (
    0x216936D3CD6E53FEC0A4E231FDD6DC5C692CC7609525A7B2C9562D608F25D51A,
    0x6666666666666666666666666666666666666666666666666666666666666658,
    1,
    0x67875F0FD78B766566EA4E8E64ABE37D20F09F80775152F56DDE8AB3A5B7DDA3,
)

_MASK = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF  # 2^255 - 1

# Signed comb for [k]B, 5 teeth 51 bits apart: with G_j = [2^(51*j)]B, entry
# u (0..15) is G_0 + sum over j = 1..4 of (+G_j if bit j-1 of u else -G_j),
# as affine x then y, 32 bytes little-endian each.
_COMB = (
    b"\x28\x40\x88\xe4\x7d\x37\x5e\xd9\xf3\x47\x6f\x65\xa7\x3b\x5e\xa7"
    b"\x22\x2f\x64\x4f\x03\xc8\x98\xb8\xd5\x3a\xdc\x65\x7e\x11\xe2\x72"
    b"\x41\xfe\x0b\x70\x00\x76\x73\x26\x79\x0f\xa1\xa8\xc2\x8e\xee\xbd"
    b"\x6a\x51\x65\xfc\xd8\xe5\xb7\xaa\x6d\x2e\x91\x44\x84\x19\x19\x32"
    b"\xa4\xb0\x0d\xef\x05\x73\x96\xac\xe9\x8f\x5b\x05\x67\xfd\xf3\xca"
    b"\x81\x4a\xc8\xef\x5c\x03\x41\x56\xd4\x67\xbb\xc6\xdd\x7f\x76\x1e"
    b"\x9c\xbc\xf6\xe8\x33\x70\xb9\x7d\x4d\x14\x54\xea\x13\x3f\x17\x98"
    b"\xce\x09\x87\x7b\x0e\x20\xb6\xfb\xc5\xee\x2c\x72\xbf\x4e\x70\x78"
    b"\xd8\xa9\x9b\x17\xe3\x2e\xbb\x1e\xeb\xc6\x1a\x44\xaf\x43\xf4\x3a"
    b"\xd5\x5a\xb8\xc7\x67\x96\x14\x48\x1b\x66\xc8\x53\xa4\x49\xa2\x50"
    b"\x35\x4a\x34\xc9\x18\x2d\xbe\x70\x4f\xfb\xdb\x7f\xa7\x82\xc4\xf0"
    b"\x98\xe6\xea\x7e\x78\x35\x17\xaf\xd6\x59\x31\xc9\x13\x8e\xfe\x76"
    b"\x6a\x16\x29\xbc\xe8\xd0\xa0\x14\xc2\x4b\xa2\xdc\xf9\x0f\x8e\x3e"
    b"\x04\x04\xef\xae\x8b\x49\x18\xaf\x20\xad\x07\xef\xef\xd6\xbf\x5b"
    b"\xf6\x35\xe5\xb3\xeb\x22\x42\x76\x77\x69\xc3\x98\x14\x0f\xda\x79"
    b"\x27\xc2\xe3\x75\x8b\x6f\xf7\xaa\x4f\x69\x3c\x0b\x1b\xb7\xf5\x7b"
    b"\xef\x18\xf8\x61\xb6\x0a\x7e\xe6\x82\x8c\xa8\x00\x46\x03\xb5\xa1"
    b"\x92\x88\x18\x42\x6c\x3f\x6c\x75\x40\x3c\x07\xaa\x5f\x65\xf4\x01"
    b"\xfe\x26\x9a\x83\x81\x02\xb7\x94\xc0\xf7\x2e\xeb\x56\x17\x43\x79"
    b"\x78\xfb\x78\x03\x3b\x87\x91\x7d\xa4\xc7\x39\x00\x3e\x1a\xac\x77"
    b"\x09\xac\x29\x6f\x50\x8c\x5d\x15\x52\xb5\xcd\x8f\x56\x59\x9b\x40"
    b"\xfd\x49\x44\xe5\x7e\x24\xe7\x07\x82\xe1\x14\x1f\x20\x33\x01\x62"
    b"\x20\x9f\x55\xf2\x3b\xcb\xbb\x3b\x89\xcf\x36\xbd\x17\x65\x00\xc2"
    b"\x1a\x1b\xde\xdb\xe2\xe7\x8f\xd8\xa5\x66\x5d\x3e\xa1\xe3\x6f\x6b"
    b"\x27\x08\xde\x27\xf0\x1f\xc4\x99\x04\xcb\xd9\xa4\x76\x00\x1a\x6f"
    b"\x54\x83\x78\x01\xeb\x0a\x13\xa1\x43\x54\x74\x89\x15\xfb\x1a\x16"
    b"\x1f\xb2\x4e\xda\x18\x0d\xe1\xb0\x94\xcf\x92\xd2\xea\x4b\xe7\xd3"
    b"\x41\x5e\x71\xb2\x05\x81\xba\x44\x77\x82\xc4\xbb\x86\x94\x54\x25"
    b"\x15\xbf\x2f\x44\x54\x98\x10\xc4\x11\xcf\xd3\xe8\x13\x30\x64\xc1"
    b"\xd2\x55\x15\x91\xdb\xce\x94\x17\x04\x80\xb6\x1d\x0a\x6e\x3f\x37"
    b"\x90\xa8\x57\x50\x0d\xfa\xca\x52\x78\xd7\x95\x4b\x39\xb3\xcf\x9f"
    b"\x48\x6b\x2b\x5d\xf2\xbe\x33\x06\xe3\x4f\x64\x7b\x3e\x76\xee\x0a"
    b"\x4e\x3f\x04\xa2\xd7\xbb\x62\x3a\x52\x58\xc4\x81\xa5\xde\xeb\xb5"
    b"\xeb\x8c\x81\x27\xd6\x1b\x46\xcb\xab\x47\x9e\x62\x69\xbf\xc8\x1b"
    b"\x1a\x5b\xe8\x25\x3a\x68\x86\x3b\x71\x59\xcf\xfa\x0e\x54\x45\x22"
    b"\xed\xdb\x6a\x19\x53\x50\xbc\x61\x73\xe5\xbc\xc7\xe5\x9b\x69\x17"
    b"\x5c\xdd\xad\x63\x63\xa4\x9e\x4b\x27\x68\xb6\x2a\xe9\xab\x14\x94"
    b"\x0f\xe4\xf1\x7f\xc7\x2d\xe2\x56\x67\xea\x8d\x00\x89\xab\x99\x1c"
    b"\x2d\x50\xc7\x8a\x24\xd3\x71\x06\x1e\xc1\x46\x1f\x04\xa0\x5b\x08"
    b"\x53\xd3\x0d\x84\x70\x26\xaa\x5b\xdf\x4e\x13\xbd\x7b\xdd\x35\x3b"
    b"\x56\x8f\x40\xb6\x75\x5b\xf5\xb4\x69\xc7\x14\x2a\xa4\x32\x4a\xbe"
    b"\x46\x2a\xfd\x28\xa5\xe2\x7c\x12\xf6\x5d\xb1\xfb\x6e\x35\x98\x1f"
    b"\xf9\x87\xc0\x01\x62\xa9\xcd\x1c\x7a\x70\x00\xdf\x4b\x8d\x01\x9b"
    b"\x12\x07\x3e\xce\xb1\xf6\x16\x3b\x66\xb7\x41\x11\x81\x41\xe9\x1a"
    b"\xf6\x3b\x11\x00\xe1\x3a\xe9\xb8\xd9\xd0\xe0\xd2\x5a\x5b\x0b\x60"
    b"\x87\xc0\xa8\x0f\x33\x1d\x56\x62\xbb\xcc\x8f\xbe\xbc\x8e\xf9\x34"
    b"\xa6\x9b\xba\xf3\xba\x9a\x26\x8a\x41\x30\xca\x92\xce\x25\x65\x98"
    b"\x84\xab\xc4\x1b\x68\xb7\x1c\xb9\x24\xa5\xba\x68\xab\x7f\xf0\x39"
    b"\xd7\x14\x22\x72\x8e\x1f\x48\x4c\x16\x72\x68\xde\xd2\xec\x4b\x45"
    b"\x0f\xc5\x28\xc4\xa8\xa2\x87\x2c\xed\xe0\xe1\x30\xc7\xa8\x23\x48"
    b"\x62\xc1\xcd\x3f\xbd\xa1\x2b\xb2\xf5\x6e\x91\x7c\x8f\x82\x71\xae"
    b"\xb5\xb9\x99\x51\x5f\x04\x40\x66\x27\x55\xf7\x05\xb7\x9a\x5b\x65"
    b"\x69\x69\xd5\xa0\x67\x56\x49\x9a\xa7\xea\xcb\x3d\xf3\xd5\x4a\x51"
    b"\x55\x81\x40\xcb\x90\x9c\x6c\xfa\x24\xb6\xda\xdf\x84\xcb\xc1\x38"
    b"\x64\xd3\x83\xc3\x8b\x45\xae\x67\x5c\x70\xb4\x53\x76\x5d\x71\xc7"
    b"\x46\x8a\x65\x2e\x9a\x02\x9a\xb0\x22\x8a\x91\xcb\xe8\x6f\x17\x7e"
    b"\xf4\x37\x67\xfb\x64\xa0\x8c\x55\xe3\xa2\x36\x6c\xfb\x70\xcb\x8d"
    b"\xa7\x32\x62\x27\x56\x47\x52\x67\x04\x3e\x6c\x6a\x7b\x09\xe1\x1f"
    b"\x9a\xe9\xff\x81\x01\xe4\x19\x0b\x35\x7d\x95\x4d\x4d\x27\xd2\xe4"
    b"\x21\x1a\x0b\x57\x2e\x74\xf5\x71\x67\x62\x8a\x09\x4f\xe0\xbd\x27"
    b"\xa7\xfb\xbd\x49\x15\x6c\x9f\xb8\xdb\xe5\xdf\x69\xea\xc5\xd4\x61"
    b"\x4c\xf5\x66\x7a\x69\xfb\x5d\x57\xb5\xf6\xf6\x1a\xf3\x55\xbe\x08"
    b"\x4d\xcc\xa0\xba\x65\xea\x5d\x58\xdb\xe5\xd7\xdd\xda\xa6\xe2\x74"
    b"\x1c\xf8\x4e\xec\x21\xfa\xb5\xe8\x20\xfb\x0d\x58\xc0\xd3\x79\x55"
)
_comb = None  # _COMB decoded: entry u as 2u+1, its negative as 2u


def _comb_table():
    global _comb
    t = []
    for i in range(0, 1024, 64):
        x = int.from_bytes(_COMB[i : i + 32], "little")
        y = int.from_bytes(_COMB[i + 32 : i + 64], "little")
        t2d = d2 * x % p * y % p
        t.append((y - x + p, y + x, -t2d))
        t.append((y + x, y - x + p, t2d))
    _comb = t
    return t


def _base_mul(k):
    # [k]B for 0 <= k < L. An odd k is written with 255 digits s_i = +-1,
    # k = sum s_i 2^i, where s_i = 2*c_i - 1 for the bits c_i of
    # (k + 2^255 - 1) / 2; column i (digits i, i+51, .., i+204) is then
    # +-entry u of the comb. An even k is done as -[L - k]B.
    P = p
    M = _MASK
    tab = _comb or _comb_table()
    neg = 1 - (k & 1)
    k += neg * (L - k - k)
    c = ((k + M) >> 1).to_bytes(32, "little")
    X = 0
    Y = Z = 1
    T = 0
    for i in range(50, -1, -1):
        if i != 50:
            # doubling, RFC 8032 §5.1.4
            A = X * X
            A = (A & M) + 19 * (A >> 255)
            B = Y * Y
            B = (B & M) + 19 * (B >> 255)
            C = Z * Z
            C = (C & M) + 19 * (C >> 255)
            H = A + B
            E = X + Y
            E = E * E
            E = H - (E & M) - 19 * (E >> 255)
            G = A - B
            F = C + C + G
            X = E * F % P
            Y = G * H % P
            Z = F * G % P
            T = E * H % P
        c_i = (c[i >> 3] >> (i & 7)) & 1
        m = i + 51
        u = (c[m >> 3] >> (m & 7)) & 1
        m += 51
        u |= ((c[m >> 3] >> (m & 7)) & 1) << 1
        m += 51
        u |= ((c[m >> 3] >> (m & 7)) & 1) << 2
        m += 51
        u |= ((c[m >> 3] >> (m & 7)) & 1) << 3
        yp, ym, t2d = tab[((u ^ (15 - 15 * c_i)) << 1) | c_i]
        # addition of an affine cached point, RFC 8032 §5.1.4 with Z2 = 1
        A = (Y - X) * ym
        A = (A & M) + 19 * (A >> 255)
        B = (Y + X) * yp
        B = (B & M) + 19 * (B >> 255)
        C = T * t2d
        C = (C & M) + 19 * (C >> 255)
        D = Z + Z
        E = B - A
        F = D - C
        G = D + C
        H = B + A
        X = E * F % P
        Y = G * H % P
        Z = F * G % P
        T = E * H % P
    neg = 1 - neg - neg
    return (neg * X, Y, Z, neg * T)


def _wnaf(k):
    # width-5 non-adjacent form of 0 <= k < 2^253: digits 0, +-1, .., +-15,
    # least significant first, each nonzero digit followed by four zeros
    b = k.to_bytes(34, "little")
    e = [0] * 256
    i = 0
    carry = 0
    while i < 256:
        v = ((b[i >> 3] | (b[(i >> 3) + 1] << 8)) >> (i & 7)) & 31
        if (v & 1) == carry:
            carry = (v & 1) & carry
            i += 1
            continue
        v += carry
        carry = v >> 4
        e[i] = v - (carry << 5)
        i += 5
    return e


def _odd_multiples(P1):
    # [-15]P1, [-13]P1, .., [-1]P1, [1]P1, .., [15]P1, cached; [v]P1 at
    # index (v + 15) >> 1
    P = p
    X, Y, Z, T = P1
    c1 = ((Y + X) % P, (Y - X) % P, T * d2 % P, 2 * Z % P)
    # [2]P1, RFC 8032 §5.1.4 doubling
    A = X * X % P
    B = Y * Y % P
    C = 2 * Z * Z % P
    H = A + B
    E = X + Y
    E = H - E * E
    G = A - B
    F = C + G
    X2 = E * F % P
    Y2 = G * H % P
    yp2 = (Y2 + X2) % P
    ym2 = (Y2 - X2) % P
    t2d2 = E * H % P * d2 % P
    z22 = 2 * F * G % P
    pos = [c1]
    for _ in range(7):
        # X, Y, Z, T + [2]P1
        A = (Y - X) * ym2 % P
        B = (Y + X) * yp2 % P
        C = T * t2d2 % P
        D = Z * z22 % P
        E = B - A
        F = D - C
        G = D + C
        H = B + A
        X = E * F % P
        Y = G * H % P
        Z = F * G % P
        T = E * H % P
        pos.append(((Y + X) % P, (Y - X) % P, T * d2 % P, 2 * Z % P))
    neg = [(q[1], q[0], -q[2], q[3]) for q in pos]
    neg.reverse()
    return neg + pos


def _double_mul(s1, P1, s2, P2):
    # [s1]P1 + [s2]P2 (Straus: one chain of doublings, width-5 NAF digits)
    P = p
    M = _MASK
    t1 = _odd_multiples(P1)
    t2 = _odd_multiples(P2)
    e1 = _wnaf(s1)
    e2 = _wnaf(s2)
    i = 255
    while i >= 0 and not (e1[i] or e2[i]):
        i -= 1
    X = 0
    Y = Z = 1
    T = 0
    top = i
    while i >= 0:
        v1 = e1[i]
        v2 = e2[i]
        if i != top:
            # doubling, RFC 8032 §5.1.4; T only when an addition follows
            A = X * X
            A = (A & M) + 19 * (A >> 255)
            B = Y * Y
            B = (B & M) + 19 * (B >> 255)
            C = Z * Z
            C = (C & M) + 19 * (C >> 255)
            H = A + B
            E = X + Y
            E = E * E
            E = H - (E & M) - 19 * (E >> 255)
            G = A - B
            F = C + C + G
            X = E * F % P
            Y = G * H % P
            Z = F * G % P
            if v1 or v2:
                T = E * H % P
        for v, t in ((v1, t1), (v2, t2)):
            if v:
                # addition of a cached point, RFC 8032 §5.1.4
                yp, ym, t2d, z2 = t[(v + 15) >> 1]
                A = (Y - X) * ym
                A = (A & M) + 19 * (A >> 255)
                B = (Y + X) * yp
                B = (B & M) + 19 * (B >> 255)
                C = T * t2d
                C = (C & M) + 19 * (C >> 255)
                D = Z * z2
                D = (D & M) + 19 * (D >> 255)
                E = B - A
                F = D - C
                G = D + C
                H = B + A
                X = E * F % P
                Y = G * H % P
                Z = F * G % P
                T = E * H % P
        i -= 1
    return (X, Y, Z, T)


def _encode(P1):
    # RFC 8032 §5.1.2
    X, Y, Z, _ = P1
    zi = inverse(Z)
    x = X * zi % p
    y = Y * zi % p
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decode(s):
    # RFC 8032 §5.1.3; None when s is not the encoding of a point
    y = int.from_bytes(s, "little")
    x_0 = y >> 255
    y &= _MASK
    if y >= p:
        return None
    u = (y * y - 1) % p
    v = (d * y * y + 1) % p
    v3 = v * v % p * v % p
    x = u * v3 % p * pow_2_252_3(u * v3 % p * v3 % p * v % p) % p
    vxx = v * x % p * x % p
    if vxx != u:
        if vxx != p - u:
            return None
        x = x * sqrt_m1 % p
    if x == 0 and x_0:
        return None
    if (x & 1) != x_0:
        x = p - x
    return (x, y, 1, x * y % p)


_key = None  # (seed, s, prefix, A) of the last key used: the host key


def _expand(seed):
    # RFC 8032 §5.1.5: secret scalar s, prefix, public key A
    global _key
    seed = bytes(seed)
    if _key is None or _key[0] != seed:
        h = sha512(seed)
        a = bytearray(h[:32])
        a[0] &= 248
        a[31] = (a[31] & 63) | 64
        s = int.from_bytes(a, "little")
        _key = (seed, s, h[32:], _encode(_base_mul(s % L)))
    return _key


def ed25519_public(seed):
    """The 32-byte Ed25519 public key of a 32-byte private key (seed),
    RFC 8032 §5.1.5."""
    return _expand(seed)[3]


def ed25519_sign(seed, msg):
    """The 64-byte Ed25519 signature R || S of msg under the 32-byte private
    key seed, RFC 8032 §5.1.6."""
    _, s, prefix, A = _expand(seed)
    msg = bytes(msg)
    r = int.from_bytes(sha512(prefix + msg), "little") % L
    R = _encode(_base_mul(r))
    k = int.from_bytes(sha512(R + A + msg), "little") % L
    S = (r + k * s) % L
    return R + S.to_bytes(32, "little")


def ed25519_verify(pub, msg, sig):
    """True when sig is a valid Ed25519 signature of msg under the 32-byte
    public key pub (RFC 8032 §5.1.7); False for anything else, never an
    exception."""
    try:
        for x in (pub, msg, sig):
            if not isinstance(x, (bytes, bytearray, memoryview)):
                return False
        if len(pub) != 32 or len(sig) != 64:
            return False
        pub = bytes(pub)
        sig = bytes(sig)
        S = int.from_bytes(sig[32:], "little")
        if S >= L:
            return False
        A = _decode(pub)
        if A is None:
            return False
        R = sig[:32]
        k = int.from_bytes(sha512(R + pub + bytes(msg)), "little") % L
        # [S]B - [k]A must equal R; comparing encodings also refuses every R
        # that does not decode, as _encode only gives canonical encodings.
        X, Y, Z, T = A
        return _encode(_double_mul(S, B, k, (p - X, Y, Z, p - T))) == R
    except Exception:
        return False
