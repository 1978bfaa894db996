# Ed25519's point arithmetic with ints (RFC 8032 §5.1.4), for ed25519.py:
# its fast path where the port runs no viper code, the builder of the tables
# of multiples of B where ed25519_tab.py is not there, and the oracle the
# tests check ed25519_viper.py against. A port with viper does not load it.
#
# A point that is only ever added is kept "cached" as (Y+X, Y-X, 2*d*T,
# 2*Z). Inside _sum, the loop that does the work of every scalar
# multiplication, the point formulas are written out: a call per point
# operation costs more than the arithmetic. Products that only feed sums
# are folded once, x = (x mod 2^255) + 19*(x >> 255), which is cheaper than
# % p and leaves them a few bits above 2^255 (below 2^273); coordinates,
# which are multiplied again, are folded twice (below 2^256; inside _sum).
# The multiples of B that _sum adds are affine (x, y) byte strings, decoded
# entry by entry (tables of big ints would take more RAM than a small board
# has).
from ussh.crypto.curve25519 import p, _MASK, inverse
from ussh.crypto.ed25519 import d2, _comb_digits, _decode, _table


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


def _with_t(tab):
    # (tab, the 2*d*x*y of each of its affine points, 32 bytes each): the
    # affine terms of _sum, which then skips two products per addition
    n = len(tab) >> 6
    tt = bytearray(32 * n)
    for i in range(n):
        x, y, _, t = _point(tab, 64 * i)
        tt[32 * i : 32 * i + 32] = (t * d2 % p).to_bytes(32, "little")
    return tab, tt

# ed25519._table() with the combs _with_t (1 KB), made by ed25519_pre.prepare (idle
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
    # ed25519.py's tables, from B (RFC 8032 §5.1: y = 4/5, x even) along one chain
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
    # (ed25519_viper.sum_terms walks the columns as this loop does, on
    # purpose: the two modules never load together, and sharing the loop
    # would cost a call per column in the login)
    while i >= 0:
        n = 0
        for e, _ in terms:
            if e[i]:
                n += 1
        if i != top:
            # doubling, RFC 8032 §5.1.4; T only when an addition follows
            # (the same steps as ed25519_pre._double, the same last folds
            # as the addition below: written out, since a call per point
            # operation here would cost more than the arithmetic)
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
                # addition, RFC 8032 §5.1.4 (its last folds are the
                # doubling's, written out in both for speed, as above)
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


def _base_mul(k):
    # (X, Y, Z) of [k]B for 0 <= k < L with the comb (ed25519._comb_digits)
    neg, e = _comb_digits(k)
    T = _TT or _table()
    X, Y, Z = _sum(((e[:26], T[1]), (e[26:], T[3])), 25)
    return (1 - neg - neg) * X, Y, Z


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
