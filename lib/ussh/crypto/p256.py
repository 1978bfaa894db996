# ECDSA verification over NIST P-256 (secp256r1; SEC 1 v2 §4.1.4, FIPS
# 186-5 §6.4.2, curve from SEC 2 §2.4.2 / RFC 5903 §3.1): y^2 = x^3 - 3x + b.
#
# Points inside the loop are Jacobian (X, Y, Z) with x = X/Z^2, y = Y/Z^3
# (RFC 6090 appendix F); what is added to them is affine (mixed addition).
# u1*G + u2*Q is one interleaved double-and-add over width-5 NAF digits
# (Shamir's trick): u1 is split at bit 128 into u1 = a + b*2^128 so that
# [a]G + [b]G' (G' = [2^128]G) needs only 128 doublings for the G part; the
# odd multiples of G and G' are built on first use. The result's x is
# compared without an inversion: X == r*Z^2 (mod p).
p = pow(2, 256) - pow(2, 224) + pow(2, 192) + pow(2, 96) - 1
n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
b = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)

_TG = None  # [odd multiples of G, odd multiples of G'], affine


def on_curve(x, y):
    """Whether (x, y) is a point of P-256 (SEC 1 §3.2.2.1 steps 2, 3)."""
    return 0 <= x < p and 0 <= y < p and (y * y - x * x * x + 3 * x - b) % p == 0


def decode(q):
    """The affine point of an uncompressed SEC 1 encoding (0x04 || X || Y,
    65 bytes), or None when it is not a point of the curve."""
    if len(q) != 65 or q[0] != 4:
        return None
    x = int.from_bytes(q[1:33], "big")
    y = int.from_bytes(q[33:], "big")
    return (x, y) if on_curve(x, y) else None


def _dbl(P1):
    # dbl-2001-b (a = -3): 3M + 5S
    X, Y, Z = P1
    if not Z:
        return P1
    d = Z * Z % p
    g = Y * Y % p
    be = X * g % p
    al = 3 * (X - d) * (X + d) % p
    X3 = (al * al - 8 * be) % p
    Z3 = ((Y + Z) * (Y + Z) - g - d) % p
    return X3, (al * (4 * be - X3) - 8 * g * g) % p, Z3


def _madd(P1, x2, y2):
    # Jacobian + affine (RFC 6090 appendix F.2 with Z2 = 1)
    X, Y, Z = P1
    if not Z:
        return x2, y2, 1
    zz = Z * Z % p
    H = (x2 * zz - X) % p
    R = (y2 * zz % p * Z - Y) % p
    if not H:
        return _dbl(P1) if not R else (1, 1, 0)
    HH = H * H % p
    HHH = HH * H % p
    V = X * HH % p
    X3 = (R * R - HHH - 2 * V) % p
    return X3, (R * (V - X3) - Y * HHH) % p, Z * H % p


def _add(P1, P2):
    # Jacobian + Jacobian (RFC 6090 appendix F.2), for the table of Q only
    X1, Y1, Z1 = P1
    X2, Y2, Z2 = P2
    z1 = Z1 * Z1 % p
    z2 = Z2 * Z2 % p
    U1 = X1 * z2 % p
    S1 = Y1 * z2 % p * Z2 % p
    H = (X2 * z1 - U1) % p
    R = (Y2 * z1 % p * Z1 - S1) % p
    if not H:
        return _dbl(P1) if not R else (1, 1, 0)
    HH = H * H % p
    HHH = HH * H % p
    V = U1 * HH % p
    X3 = (R * R - HHH - 2 * V) % p
    return X3, (R * (V - X3) - S1 * HHH) % p, Z1 * Z2 % p * H % p


def inverse(a, m):
    """1/a mod m for 0 < a < m, m prime (extended Euclid: on MicroPython
    several times faster than pow(a, m - 2, m))."""
    r0, r1 = a, m
    s0, s1 = 1, 0
    while r1:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        s0, s1 = s1, s0 - q * s1
    return s0 % m


def _affine(pts):
    # Jacobian -> affine with one inversion (Montgomery's trick)
    z = [1]
    for P1 in pts:
        z.append(z[-1] * P1[2] % p)
    inv = inverse(z[-1], p)
    out = [None] * len(pts)
    for i in range(len(pts) - 1, -1, -1):
        zi = inv * z[i] % p
        inv = inv * pts[i][2] % p
        z2 = zi * zi % p
        X, Y, _ = pts[i]
        out[i] = (X * z2 % p, Y * z2 % p * zi % p)
    return out


def _odd(P1):
    # [1]P, [3]P, .., [15]P of an affine point, affine
    P2 = _dbl((P1[0], P1[1], 1))
    t = [(P1[0], P1[1], 1)]
    for _ in range(7):
        t.append(_add(t[-1], P2))
    return _affine(t)


def _wnaf(k):
    # width-5 NAF digits of k >= 0, least significant first
    out = []
    while k:
        d = 0
        if k & 1:
            d = k & 31
            if d > 16:
                d -= 32
            k -= d
        out.append(d)
        k >>= 1
    return out


def _table():
    global _TG
    if _TG is None:
        P1 = (G[0], G[1], 1)
        for _ in range(128):
            P1 = _dbl(P1)
        _TG = [_odd(G), _odd(_affine([P1])[0])]
    return _TG


def verify(Q, digest, r, s):
    """ECDSA verification (SEC 1 §4.1.4) of (r, s) over a 32-byte digest
    with the public point Q = (x, y), already checked to be on the curve."""
    if not (0 < r < n and 0 < s < n):
        return False
    e = int.from_bytes(digest[:32], "big")
    w = inverse(s, n)
    u1 = e * w % n
    u2 = r * w % n
    tg = _table()
    terms = (
        (_wnaf(u1 & (pow(2, 128) - 1)), tg[0]),
        (_wnaf(u1 >> 128), tg[1]),
        (_wnaf(u2), _odd(Q)),
    )
    top = max([len(d) for d, _ in terms])
    R = (1, 1, 0)
    for i in range(top - 1, -1, -1):
        R = _dbl(R)
        for d, t in terms:
            if i < len(d) and d[i]:
                x, y = t[abs(d[i]) >> 1]
                R = _madd(R, x, y if d[i] > 0 else p - y)
    X, _, Z = R
    if not Z:
        return False
    # SEC 1 §4.1.4 steps 6-8: x(R) mod n == r, with x(R) = X / Z^2
    zz = Z * Z % p
    return X == r * zz % p or (r + n < p and X == (r + n) * zz % p)
