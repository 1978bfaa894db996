# Ed25519 signatures (RFC 8032 §5.1) over the field of curve25519.py.
#
# Points are extended twisted Edwards coordinates (X, Y, Z, T) with
# x = X/Z, y = Y/Z, x*y = T/Z (RFC 8032 §5.1.4). A point that is only ever
# added is kept "cached" as (Y+X, Y-X, 2*d*T, 2*Z).
from ussh.crypto.curve25519 import p, inverse, pow_2_252_3
from ussh.crypto.sha512 import sha512

# RFC 8032 §5.1: d = -121665/121666, the group order L, sqrt(-1) mod p
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

_Y_MASK = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF


def _double(P1):
    # RFC 8032 §5.1.4, doubling (a = -1)
    X1, Y1, Z1, _ = P1
    A = X1 * X1 % p
    B = Y1 * Y1 % p
    C = 2 * Z1 * Z1 % p
    H = A + B
    E = X1 + Y1
    E = H - E * E % p
    G = A - B
    F = C + G
    return (E * F % p, G * H % p, F * G % p, E * H % p)


def _add(P1, Q):
    # RFC 8032 §5.1.4 addition, Q cached as (Y+X, Y-X, 2*d*T, 2*Z)
    X1, Y1, Z1, T1 = P1
    yp, ym, t2d, z2 = Q
    A = (Y1 - X1) * ym % p
    B = (Y1 + X1) * yp % p
    C = T1 * t2d % p
    D = Z1 * z2 % p
    E = B - A
    F = D - C
    G = D + C
    H = B + A
    return (E * F % p, G * H % p, F * G % p, E * H % p)


def _cached(P1):
    X, Y, Z, T = P1
    return ((Y + X) % p, (Y - X) % p, d2 * T % p, 2 * Z % p)


def _neg(Q):
    return (Q[1], Q[0], -Q[2], Q[3])


def _table(P1):
    # [1]P .. [8]P, cached
    t = [_cached(P1)]
    Pi = _double(P1)
    t.append(_cached(Pi))
    for _ in range(6):
        Pi = _add(Pi, t[0])
        t.append(_cached(Pi))
    return t


def _digits(s):
    # s < 2^253 as 64 signed radix-16 digits in [-8, 8], least significant first
    e = []
    carry = 0
    for i in range(64):
        v = ((s >> (4 * i)) & 15) + carry
        carry = (v + 8) >> 4
        e.append(v - (carry << 4))
    return e


def _mul2(s1, P1, s2, P2):
    # [s1]P1 + [s2]P2, Straus with shared doublings
    t1 = _table(P1)
    t2 = _table(P2) if s2 else None
    e1 = _digits(s1)
    e2 = _digits(s2)
    R = (0, 1, 1, 0)
    for i in range(63, -1, -1):
        R = _double(_double(_double(_double(R))))
        v = e1[i]
        if v > 0:
            R = _add(R, t1[v - 1])
        elif v < 0:
            R = _add(R, _neg(t1[-v - 1]))
        v = e2[i]
        if v > 0:
            R = _add(R, t2[v - 1])
        elif v < 0:
            R = _add(R, _neg(t2[-v - 1]))
    return R


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
    y &= _Y_MASK
    if y >= p:
        return None
    u = (y * y - 1) % p
    v = (d * y * y + 1) % p
    v3 = v * v * v % p
    x = u * v3 % p * pow_2_252_3(u * v3 * v3 % p * v % p) % p
    vxx = v * x * x % p
    if vxx != u:
        if vxx != p - u:
            return None
        x = x * sqrt_m1 % p
    if x == 0 and x_0:
        return None
    if (x & 1) != x_0:
        x = p - x
    return (x, y, 1, x * y % p)


def _expand(seed):
    # RFC 8032 §5.1.5: the clamped scalar s and the prefix
    h = sha512(seed)
    a = bytearray(h[:32])
    a[0] &= 248
    a[31] = (a[31] & 63) | 64
    return int.from_bytes(a, "little"), h[32:]


def _base_mul(s):
    return _mul2(s, B, 0, B)


def ed25519_public(seed):
    """The 32-byte Ed25519 public key of a 32-byte private key (seed),
    RFC 8032 §5.1.5."""
    s, _ = _expand(seed)
    return _encode(_base_mul(s % L))


def ed25519_sign(seed, msg):
    """The 64-byte Ed25519 signature R || S of msg under the 32-byte private
    key seed, RFC 8032 §5.1.6."""
    s, prefix = _expand(seed)
    A = _encode(_base_mul(s % L))
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
        msg = bytes(msg)
        S = int.from_bytes(sig[32:], "little")
        if S >= L:
            return False
        A = _decode(pub)
        if A is None:
            return False
        R = sig[:32]
        k = int.from_bytes(sha512(R + pub + msg), "little") % L
        # [S]B - [k]A must equal R; comparing encodings rejects any R that
        # does not decode, since _encode only produces canonical encodings.
        X, Y, Z, T = A
        return _encode(_mul2(S, B, k, (p - X, Y, Z, p - T))) == R
    except Exception:
        return False
