# Ed25519 signatures (RFC 8032 §5.1) over the field of curve25519.py.
#
# Points are extended twisted Edwards coordinates (X, Y, Z, T) with
# x = X/Z, y = Y/Z, x*y = T/Z (RFC 8032 §5.1.4). A point that is only ever
# added is kept "cached" as (Y+X, Y-X, 2*d*T, 2*Z). Inside _sum, the loop
# that does the work of every scalar multiplication, the point formulas are
# written out: a call per point operation costs more than the arithmetic.
# Products that only feed sums are folded once,
# x = (x mod 2^255) + 19*(x >> 255), which is cheaper than % p and leaves
# them a few bits above 2^255 (below 2^273); coordinates, which are
# multiplied again, are folded twice (below 2^256; inside _sum).
# The multiples of B that _sum adds are affine (x, y) byte strings, decoded
# entry by entry (tables of big ints would take more RAM than a small board
# has): 3 KB from ed25519_tab.py where that module is (in flash when frozen),
# else built on first use.
from ussh.crypto.curve25519 import p, _MASK, inverse, pow_2_252_3

from .sha512 import sha512

# RFC 8032 §5.1: d = -121665/121666, 2*d, the group order L, sqrt(-1) =
# 2^((p-1)/4); as little-endian bytes or with pow(), half the .mpy bytes of
# literals (mpy-cross stores a big int as its decimal digits).
d = int.from_bytes(b"\xa3xY\x13\xcaM\xebu\xab\xd8AAM\np\x00\x98\xe8ywy@\xc7\x8cs\xfeo+\xeel\x03R", "little")
d2 = 2 * d % p
L = pow(2, 252) + 27742317777372353535851937790883648493
sqrt_m1 = int.from_bytes(b"\xb0\xa0\x0eJ'\x1b\xee\xc4x\xe4/\xad\x06\x18C/\xa7\xd7\xfb=\x99\x00M+\x0b\xdf\xc1O\x80$\x83+", "little")

# The tables of multiples of B (64 bytes per point), _T = [odd B, comb 0,
# odd B', comb 1]: [1]B, [3]B, .., [15]B and the same for B' = [2^128]B
# (width-5 NAF digits in verification); the signed comb for [k]B, 10 teeth
# 26 bits apart in two tables of 5: with G_j = [2^(26*j)]B, entry u (0..15)
# of comb g (0, 1) is G_5g + the sum over j = 1..4 of (+G_(5g+j) if bit
# j-1 of u else -G_(5g+j)).
_T = None


def _add(P1, P2):
    # RFC 8032 §5.1.4 addition, outside the loop of _sum; complete, so
    # _add(P1, P1) doubles
    X, Y, Z, T = P1
    x, y, z, t = P2
    A = (Y - X) * (y - x) % p
    B = (Y + X) * (y + x) % p
    C = T * d2 % p * t % p
    D = 2 * Z * z % p
    E = B - A
    F = D - C
    G = D + C
    H = B + A
    return E * F % p, G * H % p, F * G % p, E * H % p


def _affine(T, offs, pts):
    # Writes each point as x || y (32 bytes each, little-endian) to T at its
    # offset, with a single inversion: 1/Z_i = (Z_0 .. Z_(i-1)) / (Z_0 .. Z_i).
    n = len(pts)
    z = [1]
    for P1 in pts:
        z.append(z[-1] * P1[2] % p)
    zi = inverse(z[n])
    while n:
        n -= 1
        X, Y, Z, _ = pts[n]
        t = zi * z[n] % p
        zi = zi * Z % p
        o = offs[n]
        T[o : o + 64] = (X * t % p + (Y * t % p << 256)).to_bytes(64, "little")


def _point(T, o):
    # the affine point at T[o:o+64], extended
    x = int.from_bytes(T[o : o + 32], "little")
    y = int.from_bytes(T[o + 32 : o + 64], "little")
    return x, y, 1, x * y % p


def _comb(D):
    # The table of 2^m points from D = [entry 0, A_1, .., A_m]: entry
    # u + 2^(j-1) is entry u + A_j, for u < 2^(j-1); A_j is kept in the slot
    # of entry 2^(j-1) until that is written.
    N = 1 << len(D) - 1
    T = bytearray(64 * N)
    _affine(T, [0] + [32 << j for j in range(1, len(D))], D)
    D.clear()  # (the caller's list) a few extended points less in RAM
    n = 1
    while n < N:
        G = _point(T, 64 * n)
        for a in range(0, n, 4):
            m = range(a, min(n, a + 4))
            _affine(T, [64 * (n + k) for k in m], [_add(_point(T, 64 * k), G) for k in m])
        n += n
    return T


def _table():
    # The tables above: precomputed in ed25519_tab.py (optional; frozen into
    # a firmware it stays in flash, and the first signature or X25519 key
    # skips 135 million Cortex-M3 instructions of building), else built.
    global _T
    if _T is None:
        _T = _load_table() or _build()
    return _T


def _load_table():
    # ed25519_tab.py's table, loaded with this module where the viper code
    # runs (every signature and verification needs it): its one 3 KB object
    # finds a free run while the heap is young; at the first signature (the
    # host key's check, after the server's imports) a small heap had none left
    try:
        from .ed25519_tab import TABLE
    except ImportError:
        return None
    m = memoryview(TABLE)
    return [m[:512], m[512:1536], m[1536:2048], m[2048:3072]]


def _with_t(tab):
    # (tab, the 2*d*x*y of each of its affine points, 32 bytes each): the
    # affine terms of _sum, which then skips two products per addition
    n = len(tab) >> 6
    tt = bytearray(32 * n)
    for i in range(n):
        x, y, _, t = _point(tab, 64 * i)
        tt[32 * i : 32 * i + 32] = (t * d2 % p).to_bytes(32, "little")
    return tab, tt


# _table() with the combs _with_t (1 KB), made by ed25519_pre.prepare (idle
# work, with the users' keys' tables); until then the int code goes without
_TT = None


def _table_t():
    # (the odd multiples, used by the general verification only, go
    # without: 0.5 KB more for a tenth of a verification's additions)
    global _TT
    if _TT is None:
        T = _table()
        _TT = [T[0], _with_t(T[1]), T[2], _with_t(T[3])]
    return _TT


def _build():
    # The tables, from B (RFC 8032 §5.1: y = 4/5, x even) along one chain
    # of doublings P1 = [2^i]B, i = 0..235. Points are kept affine in the
    # tables as soon as they can be, a few extended ones at a time.
    T = []
    P1 = _decode(b"\x58" + b"\x66" * 31)
    for i in range(236):
        j = i // 26 % 5
        if i % 26 == 0:
            # comb g: entry 0 = G_5g - G_5g+1 - .. - G_5g+4, then
            # A_j = 2*G_5g+j
            if j:
                D[0] = _add(D[0], (-P1[0], P1[1], P1[2], -P1[3]))
            else:
                D = [P1]
        if i % 26 == 1 and j:
            D.append(P1)
        if i % 130 == 105:
            T.append(_comb(D))
        # odd multiples of Q = B, B': entry 0 = Q, A_j = [2^j]Q
        if i % 128 == 0:
            O = []
        if i % 128 < 4:
            O.append(P1)
            if len(O) == 4:
                T.append(_comb(O))
        P1 = _add(P1, P1)
    return T


def _sum(terms, top):
    # Sum over the columns i = top..0 of 2^i times the sum of the terms'
    # digits at i (Straus: one chain of doublings for all terms). A term is
    # (digits, points): digits[i] = 0 for none, else 32 + s*(2*j + 1) for
    # s times point j, s = +-1; points are an affine table (bytes-like, or
    # with its points' 2*d*x*y: _with_t) or a list of cached points. Returns (X, Y, Z), each congruent mod p to
    # the coordinate, not reduced: every product that becomes a coordinate
    # is folded twice (a third cheaper than % p on a board), which leaves
    # it in (-2^48, 2^256) whatever the signs of its factors.
    M = _MASK
    D2 = d2
    X = 0
    Y = Z = 1
    T = 0
    i = top
    while i >= 0:
        n = 0
        for e, _ in terms:
            if e[i]:
                n += 1
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
            X = E * F
            X = (X & M) + 19 * (X >> 255)
            X = (X & M) + 19 * (X >> 255)
            Y = G * H
            Y = (Y & M) + 19 * (Y >> 255)
            Y = (Y & M) + 19 * (Y >> 255)
            Z = F * G
            Z = (Z & M) + 19 * (Z >> 255)
            Z = (Z & M) + 19 * (Z >> 255)
            if n:
                T = E * H
                T = (T & M) + 19 * (T >> 255)
                T = (T & M) + 19 * (T >> 255)
        for e, tab in terms:
            v = e[i]
            if v:
                j = abs(v - 32) >> 1
                if type(tab) is list:
                    # -(Y+X, Y-X, 2dT, 2Z) = (Y-X, Y+X, -2dT, 2Z)
                    ypx, ymx, t, D = tab[j]
                    if v < 32:
                        ypx, ymx, t = ymx, ypx, -t
                    D = Z * D
                    D = (D & M) + 19 * (D >> 255)
                else:
                    # affine (x, y), negated by x (and 2*d*x*y by its sign):
                    # the same steps for both signs
                    s = (v > 32) * 2 - 1
                    if type(tab) is tuple:
                        # with 2*d*x*y at hand (_with_t)
                        tab, tt = tab
                        t = int.from_bytes(tt[j << 5 : (j << 5) + 32], "little") * s
                        j <<= 6
                        x = int.from_bytes(tab[j : j + 32], "little") * s
                        y = int.from_bytes(tab[j + 32 : j + 64], "little")
                    else:
                        j <<= 6
                        x = int.from_bytes(tab[j : j + 32], "little") * s
                        y = int.from_bytes(tab[j + 32 : j + 64], "little")
                        t = x * y
                        t = D2 * ((t & M) + 19 * (t >> 255))
                        t = (t & M) + 19 * (t >> 255)
                    ypx = y + x
                    ymx = y - x
                    D = Z + Z
                # addition, RFC 8032 §5.1.4
                A = (Y - X) * ymx
                A = (A & M) + 19 * (A >> 255)
                B = (Y + X) * ypx
                B = (B & M) + 19 * (B >> 255)
                C = T * t
                C = (C & M) + 19 * (C >> 255)
                E = B - A
                F = D - C
                G = D + C
                H = B + A
                X = E * F
                X = (X & M) + 19 * (X >> 255)
                X = (X & M) + 19 * (X >> 255)
                Y = G * H
                Y = (Y & M) + 19 * (Y >> 255)
                Y = (Y & M) + 19 * (Y >> 255)
                Z = F * G
                Z = (Z & M) + 19 * (Z >> 255)
                Z = (Z & M) + 19 * (Z >> 255)
                n -= 1
                if n:
                    T = E * H
                    T = (T & M) + 19 * (T >> 255)
                    T = (T & M) + 19 * (T >> 255)
        i -= 1
    return X, Y, Z


def _comb_digits(k):
    # (neg, digits) of _base_mul: an odd k is written with 260 digits
    # s_i = +-1, k = sum s_i 2^i, where s_i = 2*c_i - 1 for the bits c_i of
    # (k + 2^260 - 1) / 2. Column i (0..25) of the comb is digits
    # i + 26*j, j = 0..9: digits i..i+104 are s_i times entry u of table 0,
    # digits i+130..i+234 are s_(i+130) times entry u' of table 1 (u from
    # the signs of the other four, flipped when s_i = -1). An even k is
    # done as -[L - k]B. Every k takes the same steps.
    neg = 1 - (k & 1)
    k += neg * (L - k - k)
    c = ((k + pow(2, 260) - 1) >> 1).to_bytes(33, "little")
    e = bytearray(52)
    for i in range(52):
        m = i + 104 * (i > 25)  # i, or i - 26 + 130
        s = c[m >> 3] >> (m & 7) & 1
        u = 0
        for j in range(4):
            m += 26
            u |= (c[m >> 3] >> (m & 7) & 1) << j
        e[i] = 32 + (2 * (u ^ (15 - 15 * s)) + 1) * (s + s - 1)
    return neg, e


def _base_mul(k):
    # (X, Y, Z) of [k]B for 0 <= k < L with the comb (_comb_digits)
    neg, e = _comb_digits(k)
    T = _TT or _table()
    X, Y, Z = _sum(((e[:26], T[1]), (e[26:], T[3])), 25)
    return (1 - neg - neg) * X, Y, Z


def _base_sum(k):
    # [k]B as ed25519_viper's sum (in its slots); returns neg
    neg, e = _comb_digits(k)
    T = _table()
    _fast.sum_terms(((e[:26], T[1]), (e[26:], T[3])), 25)
    return neg


def _base_encode(k):
    # the encoding of [k]B, 0 <= k < L
    if _fast:
        return _fast.encode_sum(_base_sum(k))
    return _encode(*_base_mul(k))


def base_u(k):
    """The Montgomery u-coordinate of [k]B (RFC 7748 section 4.1: u = (1 +
    y) / (1 - y) = (Z + Y) / (Z - Y)), 32 bytes, for curve25519.x25519_base."""
    if _fast:
        _base_sum(k)
        return _fast.u_of_sum()
    _, Y, Z = _base_mul(k)
    return ((Z + Y) * inverse(Z - Y) % p).to_bytes(32, "little")


def _wnaf(k, w):
    # width-w non-adjacent form of 0 <= k < 2^253, least significant first:
    # e[i] = 0 for a zero digit, else digit + 32 (digits are odd, below
    # 2^(w-1) in size, each followed by at least w-1 zeros)
    b = k.to_bytes(34, "little")
    e = bytearray(256)
    mask = (1 << w) - 1
    i = 0
    carry = 0
    while i < 256:
        v = ((b[i >> 3] | (b[(i >> 3) + 1] << 8)) >> (i & 7)) & mask
        if (v & 1) == carry:
            carry &= v
            i += 1
            continue
        v += carry
        carry = v >> (w - 1)
        e[i] = v + 32 - (carry << w)
        i += w
    return e


def _odd_multiples(P1):
    # [1]P1, [3]P1, [5]P1, [7]P1, cached, for width-4 NAF digits
    P2 = _add(P1, P1)
    t = []
    while 1:
        X, Y, Z, T = P1
        t.append(((Y + X) % p, (Y - X) % p, T * d2 % p, 2 * Z % p))
        if len(t) == 4:
            return t
        P1 = _add(P1, P2)


def _half_size(k):
    # (u, v) with u = v*k mod L and |u|, |v| < 2^127: the extended Euclidean
    # algorithm on (L, k), stopped halfway; r_i = t_i*k (mod L) all along
    # and |t_i| * r_(i-1) <= L.
    r0 = L
    r1 = k
    t0 = 0
    t1 = 1
    while r1 >> 126:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        t0, t1 = t1, t0 - q * t1
    return r1, t1


def _encode(X, Y, Z):
    # RFC 8032 §5.1.2
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
    if _fast:
        u, vxx, x = _fast.decode_parts(y)
    else:
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
# {32-byte public key: its comb tables} of the keys ed25519_pre.prepare made
# ahead (the users' keys, while the server is idle), and that module's check
_pre = {}
_pre_check = None


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
        _key = (seed, s, h[32:], _base_encode(s % L))
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
    R = _base_encode(r)
    k = int.from_bytes(sha512(R + A + msg), "little") % L
    return R + ((r + k * s) % L).to_bytes(32, "little")


def ed25519_verify(pub, msg, sig):
    """True when sig is a valid Ed25519 signature of msg under the 32-byte
    public key pub (RFC 8032 §5.1.7); False for anything else, never an
    exception but MemoryError."""
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
        tabs = None if _fast else _pre.get(pub)  # a key prepared ahead (ed25519_pre)
        A = tabs or _decode(pub)
        R = _decode(sig[:32])
        if A is None or R is None:
            return False
        k = int.from_bytes(sha512(sig[:32] + pub + bytes(msg)), "little") % L
        if tabs:
            return _pre_check(tabs, S, R, k)
        # RFC 8032 §5.1.7: [8][S]B = [8]R + [8][k]A. With u = v*k mod L from
        # _half_size, v times this is [8]([w]B - [u]A - [v]R) = 0 for
        # w = v*S mod L (8A and 8R are in the group of order L, and v is not
        # 0 mod L), where u and v have half the bits of k: half the doublings.
        # w = w0 + 2^128 w1 is split over B and B' = [2^128]B; the factor 8
        # is three more doublings at the end of the chain.
        u, v = _half_size(k)
        w = v * S % L
        S = w >> 128
        if u > 0:
            A = (-A[0], A[1], A[2], -A[3])
        if v > 0:
            R = (-R[0], R[1], R[2], -R[3])
        T = _table()
        e = ((_wnaf(8 * (w - (S << 128)), 5), T[0]), (_wnaf(8 * S, 5), T[2]))
        if _fast:
            _fast.odd_multiples(A[0] % p, A[1], 18)
            _fast.odd_multiples(R[0] % p, R[1], 34)
            _fast.sum_terms(e + ((_wnaf(8 * abs(u), 4), 18), (_wnaf(8 * abs(v), 4), 34)), 131)
            return _fast.sum_is_identity()
        X, Y, Z = _sum(e + ((_wnaf(8 * abs(u), 4), _odd_multiples(A)), (_wnaf(8 * abs(v), 4), _odd_multiples(R))), 131)
        return X % p == 0 and (Y - Z) % p == 0  # (_sum's results are not reduced)
    except MemoryError:
        raise  # the heap, not the signature: the connection ends saying so (not "bad signature")
    except Exception:
        return False


def _viper():
    # ed25519_viper.py (optional): the point arithmetic on fe_viper.py's
    # field where the port runs viper code (chosen as curve25519 chooses its
    # X25519: see curve25519.fast_paths); else the ints above
    from ussh.crypto import curve25519

    m = curve25519.load_fast("ed25519", "ussh.crypto.ed25519_viper")
    if m:
        m.setup(d, d2)
    return m


_fast = _viper()  # the module ed25519_viper, or False
if _fast:  # (the int code, whose products cut the heap up anyway, loads it at first use:
    _T = _load_table()  # early, a portable 56 KB heap had no run for its sha512 left)
